{{ config(materialized='incremental', unique_key='order_id') }}

with

source as (

    {{ cx_latest_version(source('raw', 'crm_orders'), ['order_ref']) }}

),

renamed as (

    select
        {{ cx_record_id('order_ref') }} as order_id,
        order_ref,
        customer_ref,
        _feed as feed,
        ordered_at,
        cast(ordered_at as date) as ordered_date,
        order_amount,
        upper(currency) as currency,
        lower(order_status) as order_status,
        lower(sales_channel) as sales_channel,
        lower(coalesce(order_status, '')) in ('canceled', 'cancelled', 'unavailable') as is_canceled,
        _loaded_at

    from source

)

select * from renamed
