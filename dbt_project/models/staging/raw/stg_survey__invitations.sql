{{ config(materialized='incremental', unique_key='invitation_id') }}

with

source as (

    {{ cx_latest_version(source('raw', 'survey_invitations'), ['invitation_ref']) }}

),

renamed as (

    select
        {{ cx_record_id('invitation_ref') }} as invitation_id,
        invitation_ref,
        _feed as feed,
        survey_ref,
        customer_ref,
        {{ normalize_email('email') }} as email_normalized,
        {{ normalize_phone('phone') }} as phone_e164,
        sent_at,
        cast(sent_at as date) as sent_date,
        lower(invitation_channel) as invitation_channel,
        lower(touchpoint) as touchpoint,
        _loaded_at

    from source

)

select * from renamed
