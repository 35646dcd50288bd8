{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'fct_tickets'}}}) }}
-- Reconciliation (METRICS.md): where the help desk exports its own first-reply minutes, ours
-- should agree. A warning, not an error: a tool may count business hours or another event.
select
    ticket_id,
    first_response_minutes,
    source_first_reply_minutes
from {{ ref('fct_tickets') }}
where first_response_minutes is not null
    and source_first_reply_minutes is not null
    and first_response_minutes <> source_first_reply_minutes
