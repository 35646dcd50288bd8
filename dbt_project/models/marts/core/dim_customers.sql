-- One row per resolved customer: the golden record built by the declared survivorship
-- policies (int_customer_attributes_survived; consent is contactable only when every CRM
-- account consents), contacts from any linked source for customers without CRM ones, and
-- the trailing-12-month value. Incremental by customer (macros/customers_incremental.sql):
-- only the customers whose inputs changed are built again.
{{ config(
    materialized='incremental',
    unique_key='customer_id',
    post_hook=["{{ cx_delete_emptied_customers('source_record_count') }}"],
) }}

{%- set record_moves_known = is_incremental() and cx_record_moves_known() %}
{#- the now of the last build, when logged: the orders the 12-month window took in or let go
    of since are then known, and only the touched customers' orders are summed -#}
{%- set last_build = cx_last_incremental_build() if is_incremental() else none %}
{%- set last_as_of = last_build[2] if last_build is not none else none %}
{%- set value_window_start = dbt.dateadd('month', -12, cx_now()) %}
{%- set order_value_columns %}
        customer_id,
        count(*) as lifetime_order_count,
        sum(case
            when ordered_at >= {{ value_window_start }} and not is_canceled
                then order_amount
            else 0
        end) as revenue_t12m,
        min(ordered_at) as first_ordered_at,
        max(ordered_at) as last_ordered_at
{%- endset %}

with

-- not materialized: read where used (DuckDB would first copy a table read more than once;
-- 18 M records at SF10, the incremental build 8.5 → 4.8 s)
records as not materialized (select * from {{ ref('int_records_resolved') }}),

survived as not materialized (select * from {{ ref('int_customer_attributes_survived') }}),

fuzzy_pairs as (select * from {{ ref('int_identity_fuzzy_pairs_matched') }}),

merged_components as (select * from {{ ref('int_identity_components_merged') }}),

orders as (select * from {{ ref('fct_orders') }}),

{% if not record_moves_known %}

-- every customer's count of records; an incremental build reads it only when the records
-- moved since are not all known (macros/customers_incremental.sql)
all_customers as (

    select
        customer_id,
        count(*) as source_record_count
    from records
    group by customer_id

),

{% endif %}

-- a fuzzy pair's accounts are the customer its component merged into (read from the
-- components, not from the 18 M records)
fuzzy_matched as (

    select distinct merged_components.customer_id
    from fuzzy_pairs
    inner join merged_components
        on fuzzy_pairs.component_id = merged_components.component_id

),

{% if last_as_of is none %}

-- every customer's order value; an incremental build compares it with the written one when
-- the last build's now is not logged
all_order_values as (

    select {{ order_value_columns }}
    from orders
    where customer_id is not null
    group by customer_id

),

{% endif %}

{% if is_incremental() %}

-- the records collected since this model's last build
collected_again as (

    select identifiers.record_id
    from {{ ref('int_identifiers_collected') }} as identifiers  -- noqa: AL05
    where identifiers._loaded_at >= {{ cx_incremental_since() }}

),

-- customers whose golden record may have changed since this model's last build
touched as (

    -- a record of theirs is new or moved to them
    select customer_id
    from records
    where _resolved_at > {{ cx_incremental_since() }}
    union
    -- a record of theirs was collected again (it landed again: its contacts may differ);
    -- read from the table itself, whose rows cx_record_lookup reads by rowid
    select records.customer_id
    from {{ ref('int_records_resolved') }} as records  -- noqa: AL05
    where {{ cx_record_lookup('records', 'collected_again', ref('int_records_resolved')) }}
    union
    -- their CRM attributes were chosen again
    select customer_id
    from survived
    where _built_at > {{ cx_incremental_since() }}
    union
    -- they lost a record to another customer
    {% if record_moves_known %}
    {{ cx_customers_that_lost_records('records') }}
    {% else %}
    select coalesce(all_customers.customer_id, built.customer_id) as customer_id
    from all_customers
    full outer join {{ this }} as built
        on all_customers.customer_id = built.customer_id
    where all_customers.source_record_count is distinct from built.source_record_count
    {% endif %}
    union
    -- their order value changed: an order of theirs was built since, or the 12-month window
    -- moved over one of theirs
    {% if last_as_of is none %}
    select built.customer_id
    from {{ this }} as built
    left join all_order_values
        on built.customer_id = all_order_values.customer_id
    where
        coalesce(all_order_values.lifetime_order_count, 0) is distinct from built.lifetime_order_count
        or coalesce(all_order_values.revenue_t12m, 0) is distinct from built.revenue_t12m
        or all_order_values.first_ordered_at is distinct from built.first_ordered_at
        or all_order_values.last_ordered_at is distinct from built.last_ordered_at
    {% else %}
    {%- set last_window_start = dbt.dateadd(
        'month', -12, "cast('" ~ last_as_of ~ "' as " ~ dbt.type_timestamp() ~ ")") %}
    select customer_id
    from orders
    where _built_at > {{ cx_incremental_since() }}
    union
    -- every written row was right for the last build's window: an order counts in one window
    -- and not in the other when it falls between their starts (either way: as_of can go back)
    select customer_id
    from orders
    where
        not is_canceled
        and ordered_at >= least({{ last_window_start }}, {{ value_window_start }})
        and ordered_at < greatest({{ last_window_start }}, {{ value_window_start }})
    {% endif %}
    union
    -- a fuzzy match of theirs appeared or went
    select built.customer_id
    from {{ this }} as built
    left join fuzzy_matched
        on built.customer_id = fuzzy_matched.customer_id
    where built.has_fuzzy_match is distinct from (fuzzy_matched.customer_id is not null)

),

touched_customers as (

    select distinct customer_id
    from touched
    where customer_id is not null

),

-- their records, read once for their counts and their fallback contacts
touched_records as materialized (

    select
        record_id,
        customer_id
    from records
    where customer_id in (select touched_customers.customer_id from touched_customers)

),

-- counted only for them (DuckDB would count every customer's records before a join)
touched_counts as (

    select
        customer_id,
        count(*) as source_record_count
    from touched_records
    group by customer_id

),

{% endif %}

-- the order value of the customers written
order_values as (

    {% if last_as_of is none %}
    select * from all_order_values
    {% else %}
    -- the touched customers' orders only (SF10: a few thousand customers of 1 M)
    select {{ order_value_columns }}
    from orders
    where customer_id in (select touched_customers.customer_id from touched_customers)
    group by customer_id
    {% endif %}

),

customers as (

    {% if is_incremental() %}
    -- a customer left with no record (merged into another) is written with none, and
    -- deleted by the post-hook
    select
        touched_customers.customer_id,
        coalesce(touched_counts.source_record_count, 0) as source_record_count
    from touched_customers
    left join touched_counts
        on touched_customers.customer_id = touched_counts.customer_id
    {% else %}
    select * from all_customers
    {% endif %}

),

-- customers whose CRM accounts give no email or no phone (or who have no CRM account: known
-- only from surveys or service channels); only their records fall back on the email or
-- phone of their other records (SF10: 10 k customers of 1 M)
fallback_customers as (

    select customers.customer_id
    from customers
    left join survived
        on customers.customer_id = survived.customer_id
    where survived.email is null or survived.phone is null

),

fallback_records as (

    select
        records.record_id,
        records.customer_id
    from {% if is_incremental() %}touched_records{% else %}records{% endif %} as records
    where records.customer_id in (select fallback_customers.customer_id from fallback_customers)

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
    from (
        -- a semi-join first: joined directly, DuckDB may build its hash table on the 15 M
        -- identifiers instead of the few fallback records (SF10 incremental: 5.3 → 3.1 s)
        select *
        from {{ ref('int_identifiers_collected') }} as identifiers  -- noqa: AL05
        where
            identifiers.identifier_type in ('email', 'phone')  -- noqa: RF03
            -- an incremental build's few records by key (cx_record_lookup); a full build
            -- looks up every fallback customer's records, where the key buys nothing
            {% if is_incremental() %}
            and {{ cx_record_lookup('identifiers', 'fallback_records', ref('int_identifiers_collected')) }}
            {% else %}
            and identifiers.record_id in (select fallback_records.record_id from fallback_records)
            {% endif %}
    ) as identifiers
    inner join fallback_records
        on identifiers.record_id = fallback_records.record_id

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
        order_value.last_ordered_at,
        {{ cx_built_at() }}
    from customers
    left join survived
        on customers.customer_id = survived.customer_id
    left join fallback_contacts
        on customers.customer_id = fallback_contacts.customer_id
    left join fuzzy_matched
        on customers.customer_id = fuzzy_matched.customer_id
    left join order_values as order_value
        on customers.customer_id = order_value.customer_id

)

select * from final
