-- The evidence of identity resolution, one row per link an enabled rule made: a record
-- carries an identifier (exact rules; records carrying the same identifier are one
-- customer), or two CRM accounts look alike (fuzzy rule, with its similarity score).
-- "Why are these two records one customer?": follow the links of that customer_id from
-- one record to the other, through the identifiers they share and the fuzzy pairs.
-- Incremental (macros/incremental.sql): a record's links are rebuilt when it was collected
-- again, when it moved to another customer, or when it has or had a fuzzy pair.
{{ config(materialized='incremental', unique_key='record_id') }}

with

{% if is_incremental() %}

touched as (

    select record_id
    from {{ ref('int_identifiers_collected') }}
    where _loaded_at >= {{ cx_incremental_since() }}
    union
    {{ cx_customer_changed_keys('record_id') }}
    union
    -- the accounts with a fuzzy pair, now or at the last build (a few thousand at SF10):
    -- rebuilding their links is cheaper than finding which pairs changed
    select record_id from {{ ref('int_identity_fuzzy_pairs_matched') }}
    union
    select record_id
    from {{ this }}
    where linked_record_id is not null

),

{% endif %}

-- the import CTEs scan the tables themselves: cx_record_lookup reads their rows by rowid
identifiers as (

    select *
    from {{ ref('int_identifiers_collected') }} as identifiers  -- noqa: AL05
    {% if is_incremental() %}
    where {{ cx_record_lookup('identifiers', 'touched', ref('int_identifiers_collected')) }}
    {% endif %}

),

fuzzy_pairs as (

    select *
    from {{ ref('int_identity_fuzzy_pairs_matched') }}
    {% if is_incremental() %}
    where record_id in (select touched.record_id from touched)
    {% endif %}

),

records as (

    select *
    from {{ ref('int_records_resolved') }} as records  -- noqa: AL05
    {% if is_incremental() %}
    where {{ cx_record_lookup('records', 'touched', ref('int_records_resolved')) }}
    {% endif %}

),

rules as (select * from {{ ref('int_identity_rules_enabled') }}),

exact_links as (

    select
        rule_name,
        record_id,
        record_type,
        cast(null as {{ dbt.type_string() }}) as linked_record_id,
        identifier_value
    from identifiers

),

fuzzy_links as (

    select
        rule_name,
        record_id,
        'crm_customer' as record_type,
        matched_record_id as linked_record_id,
        postcode_key as identifier_value
    from fuzzy_pairs

),

links as (

    select * from exact_links
    union all
    select * from fuzzy_links

),

final as (

    select
        records.customer_id,
        rules.rule_order,
        links.rule_name,
        rules.match_method,
        rules.confidence,
        links.record_id,
        links.record_type,
        links.linked_record_id,
        rules.identifier_type,
        links.identifier_value,
        fuzzy_pairs.similarity_score,
        {{ cx_built_at() }}
    from links
    inner join rules
        on links.rule_name = rules.rule_name
    inner join records
        on links.record_id = records.record_id
    left join fuzzy_pairs
        on links.record_id = fuzzy_pairs.record_id and links.linked_record_id = fuzzy_pairs.matched_record_id

)

select * from final
