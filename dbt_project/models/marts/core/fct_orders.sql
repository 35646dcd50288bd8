-- One row per order with its customer; the amount falls back on the payments. Incremental
-- (macros/incremental.sql): an order is rebuilt when it landed again, when a payment of it
-- landed, or when identity resolution moved it to another customer.
{{ config(materialized='incremental', unique_key='order_id') }}

with

records as (

    {{ cx_resolved_records(['order']) }}

),

{% if is_incremental() %}

touched as (

    select order_id
    from {{ ref('stg_crm__orders') }}
    where _loaded_at >= {{ cx_incremental_since() }}
    union
    select orders.order_id
    from {{ ref('stg_crm__orders') }} as orders
    inner join {{ ref('stg_crm__payments') }} as payments
        on orders.order_ref = payments.order_ref
    where payments._loaded_at >= {{ cx_incremental_since() }}
    union
    {{ cx_customer_changed_keys('order_id') }}

),

{% endif %}

orders as (

    select *
    from {{ ref('stg_crm__orders') }}
    {% if is_incremental() %}
    where order_id in (select touched.order_id from touched)
    {% endif %}

),

payments as (

    select *
    from {{ ref('stg_crm__payments') }}
    {% if is_incremental() %}
    where order_ref in (select orders.order_ref from orders)
    {% endif %}

),

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
        orders.is_canceled,
        {{ cx_built_at() }}
    from orders
    left join records
        on orders.order_id = records.record_id
    left join paid
        on orders.order_ref = paid.order_ref

)

select * from final
