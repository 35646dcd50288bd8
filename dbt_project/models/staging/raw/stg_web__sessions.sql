{{ config(materialized='incremental', unique_key='session_id') }}

with

source as (

    {{ cx_latest_version(source('raw', 'web_sessions'), ['session_ref']) }}

),

renamed as (

    select
        {{ cx_record_id('session_ref') }} as session_id,
        session_ref,
        _feed as feed,
        customer_ref,
        {{ normalize_email('email') }} as email_normalized,
        started_at,
        ended_at,
        page_views,
        lower(device) as device,
        landing_page,
        coalesce(lower(touchpoint), 'browse') as touchpoint,
        _loaded_at

    from source

)

select * from renamed
