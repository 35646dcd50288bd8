-- One row per resolved customer: the golden record built by the declared survivorship
-- policies (int_customer_attributes_survived; consent is contactable only when every CRM
-- account consents), contacts from any linked source for customers without CRM ones, and
-- the trailing-12-month value.
with

records as (select * from {{ ref('int_records_resolved') }}),

identifiers as (select * from {{ ref('int_identifiers_collected') }}),

survived as (select * from {{ ref('int_customer_attributes_survived') }}),

fuzzy_pairs as (select * from {{ ref('int_identity_fuzzy_pairs_matched') }}),

orders as (select * from {{ ref('fct_orders') }}),

customers as (

    select
        customer_id,
        count(*) as source_record_count
    from records
    group by customer_id

),

-- the records of customers whose CRM accounts give no email or no phone (or who have no CRM
-- account: known only from surveys or service channels); only these fall back on the email
-- or phone of their other records
fallback_records as (

    select records.*
    from records
    left join survived
        on records.customer_id = survived.customer_id
    where survived.email is null or survived.phone is null

),

fallback_candidates as (

    select
        fallback_records.customer_id,
        identifiers.identifier_type,
        identifiers.identifier_value,
        identifiers.record_id,
        row_number() over (
            partition by fallback_records.customer_id, identifiers.identifier_type
            order by identifiers.identifier_value, identifiers.record_id
        ) as candidate_rank
    from identifiers
    inner join fallback_records
        on identifiers.record_id = fallback_records.record_id
    where identifiers.identifier_type in ('email', 'phone')

),

fallback_contacts as (

    select
        customer_id,
        max(case when identifier_type = 'email' then identifier_value end) as email,
        max(case when identifier_type = 'email' then record_id end) as email_record_id,
        max(case when identifier_type = 'phone' then identifier_value end) as phone,
        max(case when identifier_type = 'phone' then record_id end) as phone_record_id
    from fallback_candidates
    where candidate_rank = 1
    group by customer_id

),

fuzzy_matched as (

    select distinct records.customer_id
    from fuzzy_pairs
    inner join records
        on fuzzy_pairs.record_id = records.record_id

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
        survived.primary_customer_ref,
        survived.first_name,
        survived.last_name,
        coalesce(survived.email, fallback_contacts.email) as email,
        coalesce(survived.phone, fallback_contacts.phone) as phone,
        survived.country,
        survived.region,
        survived.city,
        survived.postcode,
        coalesce(survived.segment, 'unknown') as segment,
        survived.first_signed_up_at,
        coalesce(survived.has_contact_consent, false) as has_contact_consent,
        coalesce(survived.is_churned, false) as is_churned,
        survived.churned_at,
        survived.customer_id is not null as is_in_crm,
        coalesce(survived.crm_record_count, 0) as crm_record_count,
        customers.source_record_count,
        survived.primary_record_id,
        survived.name_source_record_id,
        case
            when survived.email is not null then survived.email_source_record_id
            else fallback_contacts.email_record_id
        end as email_source_record_id,
        case
            when survived.phone is not null then survived.phone_source_record_id
            else fallback_contacts.phone_record_id
        end as phone_source_record_id,
        survived.address_source_record_id,
        fuzzy_matched.customer_id is not null as has_fuzzy_match,
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
    left join survived
        on customers.customer_id = survived.customer_id
    left join fallback_contacts
        on customers.customer_id = fallback_contacts.customer_id
    left join fuzzy_matched
        on customers.customer_id = fuzzy_matched.customer_id
    left join order_value
        on customers.customer_id = order_value.customer_id

)

select * from final
