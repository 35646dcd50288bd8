-- The fuzzy rule's comparisons (name_and_postcode), kept from build to build: one row per CRM
-- account of the identity graph and other account of its postcode whose given names and
-- family names are each at least the rule's min_similarity alike (each pair twice, once
-- from either side), or one row with no match. An account is compared with the accounts of
-- its postcode block only while the block holds between 2 and
-- identity_fuzzy_max_records_per_postcode comparable accounts (is_block_compared: every
-- pair of a block is compared). int_identity_fuzzy_pairs_matched keeps the pairs the exact
-- rules left in different components.
--
-- Incremental (macros/fuzzy_incremental.sql): a day's landed accounts are compared again
-- with their blocks, instead of every pair of every block (27 M pairs at SF10).
{{ config(
    materialized='incremental',
    unique_key='record_id',
    cx_full_rebuild_check='fuzzy_rule_changed',
) }}

with

fuzzy_rule as (

    select min_similarity
    from {{ ref('int_identity_rules_enabled') }}
    where rule_name = 'name_and_postcode'

),

keyed as (

    select
        crm.crm_record_id as record_id,
        crm._loaded_at,
        fuzzy_rule.min_similarity,
        {{ cx_postcode_key('crm.postcode') }} as postcode_key,
        {{ cx_name_key('crm.first_name') }} as first_name_key,
        {{ cx_name_key('crm.last_name') }} as last_name_key
    from {{ ref('stg_crm__customers') }} as crm
    -- no enabled fuzzy rule, nothing comparable
    left join fuzzy_rule on true
    -- an account with no identifier is in no component: it is no customer to merge
    where crm.crm_record_id in (
        select anchors.record_id
        from {{ ref('int_identity_record_anchors') }} as anchors
        where anchors.record_type = 'crm_customer'
    )

),

-- every account, with a postcode key only when it can be compared
accounts as (

    select
        record_id,
        _loaded_at,
        min_similarity,
        first_name_key,
        last_name_key,
        case
            when min_similarity is not null and first_name_key is not null and last_name_key is not null
                then postcode_key
        end as postcode_key
    from keyed

),

blocks as (

    select
        postcode_key,
        count(*) between 2 and {{ var('identity_fuzzy_max_records_per_postcode') }} as is_compared
    from accounts
    where postcode_key is not null
    group by postcode_key

),

{% if is_incremental() %}

{{ cx_fuzzy_accounts_to_compare('accounts', 'blocks') }},

{% else %}

compared as (select record_id from accounts),

matches as (

    {{ cx_fuzzy_alike('accounts', 'blocks', '<') }}

),

both_ways as (

    select * from matches
    union all
    select
        matched_record_id,
        record_id,
        first_name_similarity,
        last_name_similarity
    from matches

),

{% endif %}

final as (

    select
        accounts.record_id,
        accounts.postcode_key,
        coalesce(blocks.is_compared, false) as is_block_compared,
        accounts.min_similarity,
        both_ways.matched_record_id,
        both_ways.first_name_similarity,
        both_ways.last_name_similarity
    from accounts
    left join blocks
        on accounts.postcode_key = blocks.postcode_key
    left join both_ways
        on accounts.record_id = both_ways.record_id
    where accounts.record_id in (select compared.record_id from compared)

)

select * from final
