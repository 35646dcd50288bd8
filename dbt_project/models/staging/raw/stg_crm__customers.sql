{{ config(materialized='incremental', unique_key='crm_record_id') }}

with

source as (

    {{ cx_latest_version(source('raw', 'crm_customers'), ['customer_ref']) }}

),

renamed as (

    select
        {{ cx_record_id('customer_ref') }} as crm_record_id,
        customer_ref,
        nullif(trim(person_ref), '') as person_ref,
        _feed as feed,
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        {{ normalize_email('email') }} as email_normalized,
        {{ normalize_phone('phone') }} as phone_e164,
        email as email_as_exported,
        phone as phone_as_exported,
        nullif(trim(country), '') as country,
        nullif(trim(region), '') as region,
        nullif(trim(city), '') as city,
        nullif(trim(postcode), '') as postcode,
        lower(nullif(trim(segment), '')) as segment,
        signed_up_at,
        coalesce(has_contact_consent, false) as has_contact_consent,
        coalesce(is_churned, false) as is_churned,
        churned_at,
        _loaded_at as loaded_at,
        _loaded_at

    from source

)

select * from renamed
