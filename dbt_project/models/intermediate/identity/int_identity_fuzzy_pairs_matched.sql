-- The fuzzy rule (name_and_postcode): pairs of CRM accounts in the same postcode whose given
-- names and family names are each at least the rule's min_similarity alike. It applies
-- after the exact rules, so it only pairs accounts the exact rules left in different
-- components; it compares nothing when it is disabled, and skips a postcode holding more
-- accounts than identity_fuzzy_max_records_per_postcode (every pair of a block is compared).
with

crm_customers as (select * from {{ ref('stg_crm__customers') }}),

identifiers as (select * from {{ ref('int_identifiers_collected') }}),

components as (select * from {{ ref('int_identity_components_resolved') }}),

rules as (select * from {{ ref('int_identity_rules_enabled') }}),

fuzzy_rule as (

    select
        rule_name,
        min_similarity
    from rules
    where rule_name = 'name_and_postcode'

),

account_components as (

    select
        identifiers.record_id,
        min(components.component_id) as component_id
    from identifiers
    inner join components
        on identifiers.node_id = components.node_id
    where identifiers.record_type = 'crm_customer'
    group by identifiers.record_id

),

accounts as (

    select
        crm_customers.crm_record_id as record_id,
        account_components.component_id,
        fuzzy_rule.rule_name,
        fuzzy_rule.min_similarity,
        {{ cx_postcode_key('crm_customers.postcode') }} as postcode_key,
        {{ cx_name_key('crm_customers.first_name') }} as first_name_key,
        {{ cx_name_key('crm_customers.last_name') }} as last_name_key
    from crm_customers
    inner join account_components
        on crm_customers.crm_record_id = account_components.record_id
    -- no enabled fuzzy rule, no account to compare
    cross join fuzzy_rule

),

comparable as (

    select * from accounts
    where postcode_key is not null and first_name_key is not null and last_name_key is not null

),

blocks as (

    select postcode_key
    from comparable
    group by postcode_key
    having count(*) between 2 and {{ var('identity_fuzzy_max_records_per_postcode') }}

),

candidate_pairs as (

    select
        account.rule_name,
        account.min_similarity,
        account.postcode_key,
        account.record_id,
        account.component_id,
        other_account.record_id as matched_record_id,
        other_account.component_id as matched_component_id,
        {{ cx_name_similarity('account.first_name_key', 'other_account.first_name_key') }}
            as first_name_similarity,
        {{ cx_name_similarity('account.last_name_key', 'other_account.last_name_key') }}
            as last_name_similarity
    from comparable as account
    inner join blocks
        on account.postcode_key = blocks.postcode_key
    inner join comparable as other_account
        on
            account.postcode_key = other_account.postcode_key
            and account.record_id < other_account.record_id
            and account.component_id <> other_account.component_id

),

final as (

    select
        rule_name,
        record_id,
        matched_record_id,
        component_id,
        matched_component_id,
        postcode_key,
        first_name_similarity,
        last_name_similarity,
        least(first_name_similarity, last_name_similarity) as similarity_score
    from candidate_pairs
    where least(first_name_similarity, last_name_similarity) >= min_similarity

)

select * from final
