-- Every golden-record attribute has one policy, and a policy it can take. Contact consent
-- allows only all_true: a customer who opted out (or never answered) on any account stays
-- uncontactable, whatever else is declared.
with

survivorship_rules as (select * from {{ ref('survivorship_rules') }}),

record_choosing_attributes as (

    select 'customer_ref' as attribute
    union all
    select 'name'
    union all
    select 'email'
    union all
    select 'phone'
    union all
    select 'address'
    union all
    select 'segment'

),

record_choosing_policies as (

    select 'latest_non_empty' as policy
    union all
    select 'earliest_non_empty'
    union all
    select 'source_priority'

),

allowed as (

    select
        record_choosing_attributes.attribute,
        record_choosing_policies.policy
    from record_choosing_attributes
    cross join record_choosing_policies
    union all
    select 'first_signed_up_at', 'earliest'
    union all
    select 'has_contact_consent', 'all_true'
    union all
    select 'is_churned', 'any_true'
    union all
    select 'is_churned', 'all_true'
    union all
    select 'churned_at', 'latest'
    union all
    select 'churned_at', 'earliest'

),

final as (

    select
        survivorship_rules.attribute,
        survivorship_rules.policy,
        'policy not allowed for this attribute' as problem
    from survivorship_rules
    left join allowed
        on survivorship_rules.attribute = allowed.attribute and survivorship_rules.policy = allowed.policy
    where allowed.attribute is null
    union all
    select distinct
        allowed.attribute,
        cast(null as {{ dbt.type_string() }}) as policy,
        'attribute without a policy' as problem
    from allowed
    left join survivorship_rules
        on allowed.attribute = survivorship_rules.attribute
    where survivorship_rules.attribute is null

)

select * from final
