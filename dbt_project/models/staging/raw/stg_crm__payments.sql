{{ config(materialized='incremental', unique_key='payment_id') }}

with

source as (

    {{ cx_latest_version(source('raw', 'crm_payments'), ['payment_ref']) }}

),

renamed as (

    select
        {{ cx_record_id('payment_ref') }} as payment_id,
        payment_ref,
        order_ref,
        _feed as feed,
        paid_amount,
        lower(payment_method) as payment_method,
        installments,
        _loaded_at

    from source

)

select * from renamed
