-- Every service case in one shape: help-desk tickets and conversations threaded into tickets.
-- A ticket never reopened was solved once, so its first solve is its last; exports without a
-- first-solve time (Zendesk) leave it unknown only for reopened tickets.
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
        coalesce(first_solved_at, case when reopen_count = 0 then solved_at end) as first_solved_at,
        reopen_count,
        reply_count,
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
        source_full_resolution_business_minutes
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
        null as first_solved_at,
        0 as reopen_count,
        reply_count,
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
        null as source_full_resolution_business_minutes
    from conversation_tickets

)

select * from unioned
