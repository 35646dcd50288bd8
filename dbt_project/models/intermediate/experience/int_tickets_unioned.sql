-- Every service case in one shape: help-desk tickets and conversations threaded into tickets.
-- A ticket never reopened was solved once, so its first solve is its last; exports without a
-- first-solve time (Zendesk) leave it unknown only for reopened tickets.
--
-- A view: its readers either take a day's landed tickets (int_identifiers_collected) or
-- read every ticket once (fct_tickets' comparison, int_contacts_sequenced), and computing
-- the union where read costs them no more than reading a table did, while writing the 1 M
-- tickets again on every refresh cost 2–3 s at SF10, at the head of the identity chain.
{{ config(materialized='view') }}

with

helpdesk_tickets as (select * from {{ ref('stg_service__tickets') }}),

conversation_tickets as (select * from {{ ref('int_conversation_tickets') }}),

ticket_event_metrics as (select * from {{ ref('int_ticket_events_summarized') }}),

-- A help-desk ticket with an event history takes its service metrics from the events, not
-- from the summary export: the history of the same feed and ticket_ref.
helpdesk_tickets_with_events as (

    select
        helpdesk_tickets.*,
        ticket_event_metrics.ticket_id is not null as has_event_history,
        ticket_event_metrics.first_response_at as event_first_response_at,
        ticket_event_metrics.first_solved_at as event_first_solved_at,
        ticket_event_metrics.solved_at as event_solved_at,
        ticket_event_metrics.reopen_count as event_reopen_count,
        ticket_event_metrics.reply_count as event_reply_count,
        ticket_event_metrics.is_agent_created as event_is_agent_created
    from helpdesk_tickets
    left join ticket_event_metrics
        on
            helpdesk_tickets.feed = ticket_event_metrics.feed
            and helpdesk_tickets.ticket_ref = ticket_event_metrics.ticket_ref

),

unioned as (

    select
        ticket_id,
        ticket_ref,
        feed,
        'helpdesk' as ticket_source,
        customer_ref,
        email_normalized,
        phone_e164,
        cast(null as {{ dbt.type_string() }}) as social_handle,
        created_at,
        case when has_event_history then event_first_response_at else first_response_at end
            as first_response_at,
        case
            when has_event_history then event_first_solved_at
            else coalesce(first_solved_at, case when reopen_count = 0 then solved_at end)
        end as first_solved_at,
        case when has_event_history then event_solved_at else solved_at end as solved_at,
        case when has_event_history then event_reopen_count else reopen_count end as reopen_count,
        case when has_event_history then event_reply_count else reply_count end as reply_count,
        event_is_agent_created as is_agent_created,
        ticket_status,
        priority,
        team,
        channel,
        touchpoint,
        subject,
        satisfaction,
        source_first_reply_minutes,
        source_first_reply_business_minutes,
        source_first_resolution_minutes,
        source_full_resolution_minutes,
        source_full_resolution_business_minutes,
        -- when the row the ticket's customer identifiers come from landed
        _loaded_at
    from helpdesk_tickets_with_events
    union all
    select
        ticket_id,
        ticket_ref,
        feed,
        'conversation' as ticket_source,
        null as customer_ref,
        null as email_normalized,
        null as phone_e164,
        lower(requester_ref) as social_handle,
        created_at,
        first_response_at,
        null as first_solved_at,
        null as solved_at,
        0 as reopen_count,
        reply_count,
        false as is_agent_created,
        'open' as ticket_status,
        'normal' as priority,
        team,
        channel,
        touchpoint,
        subject,
        null as satisfaction,
        null as source_first_reply_minutes,
        null as source_first_reply_business_minutes,
        null as source_first_resolution_minutes,
        null as source_full_resolution_minutes,
        null as source_full_resolution_business_minutes,
        _loaded_at
    from conversation_tickets

)

select * from unioned
