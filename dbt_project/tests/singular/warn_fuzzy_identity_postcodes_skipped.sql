{{ config(severity='warn') }}
-- The fuzzy rule skips a postcode holding more CRM accounts than
-- identity_fuzzy_max_records_per_postcode (every pair of a postcode is compared). A row
-- here is a postcode whose look-alike accounts were not compared: a placeholder address,
-- or a var set too low for this CRM.
with

crm_customers as (select * from {{ ref('stg_crm__customers') }}),

final as (

    select
        {{ cx_postcode_key('postcode') }} as postcode_key,
        count(*) as crm_accounts
    from crm_customers
    where
        {{ cx_postcode_key('postcode') }} is not null
        and {{ cx_name_key('first_name') }} is not null
        and {{ cx_name_key('last_name') }} is not null
    group by {{ cx_postcode_key('postcode') }}
    having count(*) > {{ var('identity_fuzzy_max_records_per_postcode') }}

)

select * from final
