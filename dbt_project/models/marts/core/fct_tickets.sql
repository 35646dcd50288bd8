-- One row per support ticket with the service metrics of METRICS.md (calendar minutes).
with

tickets as (select * from {{ ref('int_tickets_unioned') }}),

contacts as (select * from {{ ref('int_contacts_sequenced') }}),

sla_targets as (select * from {{ ref('sla_targets') }}),

measured as (

    select
        tickets.*,
        contacts.customer_id,
        contacts.is_repeat_contact,
        contacts.has_next_contact_in_window,
        {{ elapsed_minutes('tickets.created_at', 'tickets.first_response_at') }}
            as first_response_minutes,
        {{ elapsed_minutes('tickets.created_at', 'tickets.solved_at') }}
            as resolution_minutes,
        tickets.solved_at is not null
        and coalesce(tickets.ticket_status, 'solved') in ('solved', 'closed') as is_resolved,
        sla_targets.first_response_target_minutes
    from tickets
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
        solved_at,
        ticket_status,
        priority,
        team,
        channel,
        touchpoint,
        subject,
        satisfaction,
        first_response_minutes,
        resolution_minutes,
        source_first_reply_minutes,
        reopen_count,
        reply_count,
        is_agent_created,
        is_resolved,
        is_resolved and reply_count = 1 as is_one_touch,
        is_resolved and reopen_count = 0 and not has_next_contact_in_window as is_first_contact_resolution,
        is_repeat_contact,
        first_response_target_minutes,
        -- null while no response yet and the target has not passed
        case
            when first_response_minutes is not null
                then first_response_minutes > first_response_target_minutes
            when
                {{ dbt.datediff('created_at', cx_now(), 'minute') }}
                > first_response_target_minutes
                then true
        end as is_sla_breached
    from measured

)

select * from final
