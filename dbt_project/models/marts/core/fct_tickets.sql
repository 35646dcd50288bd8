-- One row per support ticket with the service metrics of METRICS.md, in whole elapsed minutes
-- and in business minutes of the declared schedule (core.dim_business_windows).
-- Incremental: only the tickets changed or affected since the last build are measured again
-- (macros/tickets_incremental.sql).
{{ config(
    materialized='incremental',
    unique_key='ticket_id',
    post_hook=["{{ cx_delete_gone_keys('ticket_id', cx_ticket_ids()) }}"],
) }}

with

unioned as (select * from {{ ref('int_tickets_unioned') }}),

contacts as (select * from {{ ref('int_contacts_sequenced') }}),

sla_targets as (select * from {{ ref('sla_targets') }}),

business_windows as (select * from {{ ref('dim_business_windows') }}),

dates as (select * from {{ ref('dim_dates') }}),

tickets as (

    select * from unioned
    {% if is_incremental() %}
    where ticket_id in ({{ cx_tickets_to_measure('unioned', 'contacts', 'business_windows') }})
    {% endif %}

),

business_clock_dates as (

    {{ business_clock_dates('business_windows', 'dates') }}

),

business_clock as (

    select
        tickets.ticket_id,
        {{ business_clock_seconds('created_window', 'tickets.created_at') }} as created_clock_seconds,
        {{ business_clock_seconds('first_response_window', 'tickets.first_response_at') }}
            as first_response_clock_seconds,
        {{ business_clock_seconds('first_solved_window', 'tickets.first_solved_at') }}
            as first_solved_clock_seconds,
        {{ business_clock_seconds('solved_window', 'tickets.solved_at') }} as solved_clock_seconds
    from tickets
    left join business_clock_dates as created_window
        on {{ business_clock_window('created_window', 'tickets.created_at') }}
    left join business_clock_dates as first_response_window
        on {{ business_clock_window('first_response_window', 'tickets.first_response_at') }}
    left join business_clock_dates as first_solved_window
        on {{ business_clock_window('first_solved_window', 'tickets.first_solved_at') }}
    left join business_clock_dates as solved_window
        on {{ business_clock_window('solved_window', 'tickets.solved_at') }}

),

now_clock as (

    select {{ business_clock_seconds('business_clock_dates', cx_now()) }} as now_clock_seconds
    from business_clock_dates
    where {{ business_clock_window('business_clock_dates', cx_now()) }}

),

measured as (

    select
        tickets.*,
        contacts.customer_id,
        contacts.is_repeat_contact,
        contacts.has_next_contact_in_window,
        {{ elapsed_minutes('tickets.created_at', 'tickets.first_response_at') }}
            as first_response_minutes,
        {{ business_minutes('business_clock.created_clock_seconds', 'business_clock.first_response_clock_seconds') }}
            as first_response_business_minutes,
        {{ elapsed_minutes('tickets.created_at', 'tickets.first_solved_at') }}
            as first_resolution_minutes,
        {{ business_minutes('business_clock.created_clock_seconds', 'business_clock.first_solved_clock_seconds') }}
            as first_resolution_business_minutes,
        {{ elapsed_minutes('tickets.created_at', 'tickets.solved_at') }}
            as resolution_minutes,
        {{ business_minutes('business_clock.created_clock_seconds', 'business_clock.solved_clock_seconds') }}
            as resolution_business_minutes,
        {{ business_minutes('business_clock.created_clock_seconds', 'now_clock.now_clock_seconds') }}
            as business_minutes_open_so_far,
        tickets.solved_at is not null
        and coalesce(tickets.ticket_status, 'solved') in ('solved', 'closed') as is_resolved,
        sla_targets.first_response_target_minutes
    from tickets
    inner join business_clock
        on tickets.ticket_id = business_clock.ticket_id
    left join now_clock
        on true
    left join contacts
        on tickets.ticket_id = contacts.contact_id
    left join sla_targets
        on tickets.priority = sla_targets.priority

),

final as (

    select
        ticket_id,
        customer_id,
        ticket_ref,
        feed,
        ticket_source,
        created_at,
        cast(created_at as date) as created_date,
        first_response_at,
        first_solved_at,
        solved_at,
        ticket_status,
        priority,
        team,
        channel,
        touchpoint,
        subject,
        satisfaction,
        first_response_minutes,
        first_response_business_minutes,
        first_resolution_minutes,
        first_resolution_business_minutes,
        resolution_minutes,
        resolution_business_minutes,
        source_first_reply_minutes,
        source_first_reply_business_minutes,
        source_first_resolution_minutes,
        source_full_resolution_minutes,
        source_full_resolution_business_minutes,
        reopen_count,
        reply_count,
        is_agent_created,
        is_resolved,
        is_resolved and reply_count = 1 as is_one_touch,
        is_resolved and reopen_count = 0 and not has_next_contact_in_window as is_first_contact_resolution,
        is_repeat_contact,
        first_response_target_minutes,
        -- in business minutes; null while unanswered and the target has not passed yet
        case
            when first_response_at is not null
                then first_response_business_minutes > first_response_target_minutes
            when business_minutes_open_so_far > first_response_target_minutes
                then true
        end as is_sla_breached,
        {{ cx_built_at() }}
    from measured

)

select * from final
