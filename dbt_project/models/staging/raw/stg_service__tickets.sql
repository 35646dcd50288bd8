{{ config(materialized='incremental', unique_key='ticket_id') }}

with

source as (

    {{ cx_latest_version(source('raw', 'support_tickets'), ['ticket_ref']) }}

),

renamed as (

    select
        {{ cx_record_id('ticket_ref') }} as ticket_id,
        ticket_ref,
        _feed as feed,
        customer_ref,
        {{ normalize_email('requester_email') }} as email_normalized,
        {{ normalize_phone('requester_phone') }} as phone_e164,
        created_at,
        first_response_at,
        solved_at,
        first_solved_at,
        coalesce(reopen_count, 0) as reopen_count,
        reply_count,
        lower(ticket_status) as ticket_status,
        coalesce(lower(priority), 'normal') as priority,
        coalesce(team, 'unassigned') as team,
        coalesce(lower(ticket_channel), 'unknown') as channel,
        coalesce(lower(touchpoint), 'support') as touchpoint,
        subject,
        lower(satisfaction) as satisfaction,
        source_first_reply_minutes,
        source_first_reply_business_minutes,
        source_first_resolution_minutes,
        source_full_resolution_minutes,
        source_full_resolution_business_minutes,
        _loaded_at

    from source

)

select * from renamed
