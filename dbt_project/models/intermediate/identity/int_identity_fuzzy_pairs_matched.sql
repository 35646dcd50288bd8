-- The fuzzy rule (name_and_postcode): pairs of CRM accounts in the same postcode whose given
-- names and family names are each at least the rule's min_similarity alike
-- (int_identity_accounts_compared, which skips a postcode holding more accounts than
-- identity_fuzzy_max_records_per_postcode). It applies after the exact rules, so it only
-- pairs accounts the exact rules left in different components; it pairs nothing when it is
-- disabled.
with

rules as (select * from {{ ref('int_identity_rules_enabled') }}),

compared as (select * from {{ ref('int_identity_accounts_compared') }}),

-- each pair once, from its smaller record id
alike as (

    select *
    from compared
    where record_id < matched_record_id

),

paired_records as (

    select record_id from alike
    union
    select matched_record_id from alike

),

-- the paired accounts' components, read only for them (one list: DuckDB joins all 18 M
-- anchors at SF10 before an `or` of two lists)
account_components as (

    select
        anchors.record_id,
        components.component_id
    from {{ ref('int_identity_record_anchors') }} as anchors
    inner join {{ ref('int_identity_components_resolved') }} as components
        on anchors.anchor_node_id = components.node_id
    where
        -- the fuzzy rule pairs CRM accounts only
        anchors.record_type = 'crm_customer'
        and anchors.record_id in (select paired_records.record_id from paired_records)

),

final as (

    select
        rules.rule_name,
        alike.record_id,
        alike.matched_record_id,
        account.component_id,
        other_account.component_id as matched_component_id,
        alike.postcode_key,
        alike.first_name_similarity,
        alike.last_name_similarity,
        least(alike.first_name_similarity, alike.last_name_similarity) as similarity_score
    from alike
    inner join rules
        on rules.rule_name = 'name_and_postcode'
    inner join account_components as account
        on alike.record_id = account.record_id
    inner join account_components as other_account
        on alike.matched_record_id = other_account.record_id
    where account.component_id <> other_account.component_id

)

select * from final
