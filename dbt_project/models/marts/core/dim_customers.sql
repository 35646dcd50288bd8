-- One row per resolved customer: the golden record from the customer's CRM records
-- (the most recently signed-up record wins, then the latest load), consent that honours
-- any opt-out, and the trailing-12-month value.
with

records as (select * from {{ ref('int_records_resolved') }}),

identifiers as (select * from {{ ref('int_identifiers_collected') }}),

crm_customers as (select * from {{ ref('stg_crm__customers') }}),

orders as (select * from {{ ref('fct_orders') }}),

customers as (

    select
        customer_id,
        count(case when record_type = 'crm_customer' then 1 end) as crm_record_count,
        count(*) as source_record_count
    from records
    group by customer_id

),

crm_ranked as (

    select
        records.customer_id,
        crm_customers.*,
        row_number() over (
            partition by records.customer_id
            order by
                crm_customers.signed_up_at desc nulls last, crm_customers.loaded_at desc,
                crm_customers.crm_record_id asc
        ) as survivorship_rank
    from crm_customers
    inner join records
        on crm_customers.crm_record_id = records.record_id

),

golden as (

    select * from crm_ranked
    where survivorship_rank = 1

),

crm_flags as (

    select
        customer_id,
        min(case when has_contact_consent then 1 else 0 end) = 1 as has_contact_consent,
        max(case when is_churned then 1 else 0 end) = 1 as is_churned,
        max(churned_at) as churned_at,
        min(signed_up_at) as first_signed_up_at
    from crm_ranked
    group by customer_id

),

-- customers known only from surveys or service channels: their own email / phone
fallback_contacts as (

    select
        records.customer_id,
        min(case when identifiers.identifier_type = 'email' then identifiers.identifier_value end) as email,
        min(case when identifiers.identifier_type = 'phone' then identifiers.identifier_value end) as phone
    from identifiers
    inner join records
        on identifiers.record_id = records.record_id
    group by records.customer_id

),

order_value as (

    select
        customer_id,
        count(*) as lifetime_order_count,
        sum(case
            when ordered_at >= {{ dbt.dateadd('month', -12, cx_now()) }} and not is_canceled
                then order_amount
            else 0
        end) as revenue_t12m,
        min(ordered_at) as first_ordered_at,
        max(ordered_at) as last_ordered_at
    from orders
    where customer_id is not null
    group by customer_id

),

final as (

    select
        customers.customer_id,
        golden.customer_ref as primary_customer_ref,
        golden.first_name,
        golden.last_name,
        coalesce(golden.email_normalized, fallback_contacts.email) as email,
        coalesce(golden.phone_e164, fallback_contacts.phone) as phone,
        golden.country,
        golden.region,
        golden.city,
        golden.postcode,
        coalesce(golden.segment, 'unknown') as segment,
        crm_flags.first_signed_up_at,
        coalesce(crm_flags.has_contact_consent, false) as has_contact_consent,
        coalesce(crm_flags.is_churned, false) as is_churned,
        crm_flags.churned_at,
        golden.customer_id is not null as is_in_crm,
        customers.crm_record_count,
        customers.source_record_count,
        coalesce(order_value.lifetime_order_count, 0) as lifetime_order_count,
        coalesce(order_value.revenue_t12m, 0) as revenue_t12m,
        case
            when coalesce(order_value.revenue_t12m, 0) >= 1000 then 'high'
            when coalesce(order_value.revenue_t12m, 0) >= 250 then 'medium'
            when coalesce(order_value.revenue_t12m, 0) > 0 then 'low'
            else 'none'
        end as value_tier,
        order_value.first_ordered_at,
        order_value.last_ordered_at
    from customers
    left join golden
        on customers.customer_id = golden.customer_id
    left join crm_flags
        on customers.customer_id = crm_flags.customer_id
    left join fallback_contacts
        on customers.customer_id = fallback_contacts.customer_id
    left join order_value
        on customers.customer_id = order_value.customer_id

)

select * from final
