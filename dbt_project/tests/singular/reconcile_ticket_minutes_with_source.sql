{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'fct_tickets'}}}) }}
-- Reconciliation (METRICS.md): where the help desk exports its own minutes, ours should agree.
-- A warning, not an error: a tool may count another event, or business hours on a schedule
-- other than the one declared here (seed `business_hours`, var `business_timezone`).
{%- set measures = [
    ('first reply', 'first_response_minutes', 'source_first_reply_minutes'),
    ('first reply, business', 'first_response_business_minutes', 'source_first_reply_business_minutes'),
    ('first resolution', 'first_resolution_minutes', 'source_first_resolution_minutes'),
    ('full resolution', 'resolution_minutes', 'source_full_resolution_minutes'),
    ('full resolution, business', 'resolution_business_minutes', 'source_full_resolution_business_minutes'),
] %}
with

tickets as (select * from {{ ref('fct_tickets') }}),

compared as (
    {% for measure, ours, theirs in measures %}
        select
            ticket_id,
            '{{ measure }}' as measure,
            {{ ours }} as ours,
            {{ theirs }} as theirs
        from tickets
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

final as (

    select * from compared
    where
        ours is not null
        and theirs is not null
        and ours <> theirs

)

select * from final
