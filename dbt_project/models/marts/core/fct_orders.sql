with

orders as (select * from {{ ref('stg_crm__orders') }}),

records as (select * from {{ ref('int_records_resolved') }}),

final as (

    select
        orders.order_id,
        records.customer_id,
        orders.order_ref,
        orders.feed,
        orders.ordered_at,
        orders.ordered_date,
        orders.order_amount,
        orders.currency,
        orders.order_status,
        orders.sales_channel,
        orders.is_canceled
    from orders
    left join records
        on orders.order_id = records.record_id

)

select * from final
