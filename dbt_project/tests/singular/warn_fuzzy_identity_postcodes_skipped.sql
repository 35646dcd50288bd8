{{ config(severity='warn') }}
-- The fuzzy rule skips a postcode holding more comparable CRM accounts than
-- identity_fuzzy_max_records_per_postcode (every pair of a postcode is compared). A row
-- here is a postcode whose look-alike accounts were not compared: a placeholder address,
-- or a var set too low for this CRM. Read from the rule's own comparisons, which say which
-- blocks it compared: not from the staged accounts, where the test would hold up the
-- identity chain at the start of every build (SF10: 0.5–0.7 s of normalizing 1 M names).
with

compared as (select * from {{ ref('int_identity_accounts_compared') }}),

final as (

    select
        postcode_key,
        count(distinct record_id) as crm_accounts
    from compared
    where postcode_key is not null and not is_block_compared
    group by postcode_key
    having count(distinct record_id) > {{ var('identity_fuzzy_max_records_per_postcode') }}

)

select * from final
