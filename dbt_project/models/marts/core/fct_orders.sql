with

orders as (select * from {{ ref('stg_crm__orders') }}),

records as (select * from {{ ref('int_records_resolved') }}),

payments as (select * from {{ ref('stg_crm__payments') }}),

paid as (

    select
        order_ref,
        sum(paid_amount) as paid_amount
    from payments
    group by order_ref

),

final as (

    select
        orders.order_id,
        records.customer_id,
        orders.order_ref,
        orders.feed,
        orders.ordered_at,
        orders.ordered_date,
        coalesce(orders.order_amount, paid.paid_amount) as order_amount,
        orders.currency,
        orders.order_status,
        orders.sales_channel,
        orders.is_canceled
    from orders
    left join records
        on orders.order_id = records.record_id
    left join paid
        on orders.order_ref = paid.order_ref

)

select * from final
