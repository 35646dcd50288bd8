{{ config(materialized='incremental', unique_key='response_id') }}

with

source as (

    {{ cx_latest_version(source('raw', 'survey_responses'), ['response_ref']) }}

),

renamed as (

    select
        {{ cx_record_id('response_ref') }} as response_id,
        response_ref,
        _feed as feed,
        invitation_ref,
        survey_ref,
        customer_ref,
        order_ref,
        {{ normalize_email('email') }} as email_normalized,
        {{ normalize_phone('phone') }} as phone_e164,
        started_at,
        submitted_at,
        cast(submitted_at as date) as submitted_date,
        coalesce(is_finished, true) as is_finished,
        coalesce(lower(touchpoint), 'unknown') as touchpoint,
        coalesce(lower(channel), 'unknown') as channel,
        nps_score,
        csat_score,
        ces_score,
        nullif(trim(comment), '') as comment,
        lower(language) as language,
        lower(source_nps_group) as source_nps_group,
        _loaded_at

    from source

)

select * from renamed
