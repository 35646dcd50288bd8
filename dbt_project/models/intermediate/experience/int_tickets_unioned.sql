-- Every service case in one shape: help-desk tickets and conversations threaded into tickets.
with

helpdesk_tickets as (select * from {{ ref('stg_service__tickets') }}),

conversation_tickets as (select * from {{ ref('int_conversation_tickets') }}),

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
        first_response_at,
        solved_at,
        reopen_count,
        reply_count,
        ticket_status,
        priority,
        team,
        channel,
        touchpoint,
        subject,
        satisfaction,
        source_first_reply_minutes
    from helpdesk_tickets
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
        null as solved_at,
        0 as reopen_count,
        reply_count,
        'open' as ticket_status,
        'normal' as priority,
        team,
        channel,
        touchpoint,
        subject,
        null as satisfaction,
        null as source_first_reply_minutes
    from conversation_tickets

)

select * from unioned
