-- The identity rules of this build, in the order they apply: the declared rules
-- (seeds/identity_rules.csv) that are enabled there and not switched off with the var
-- identity_disabled_rules (a list of rule names, or one name).
{%- set disabled_rules = var('identity_disabled_rules') or [] %}
{%- if disabled_rules is string %}{% set disabled_rules = [disabled_rules] %}{% endif %}
with

identity_rules as (select * from {{ ref('identity_rules') }}),

final as (

    select
        rule_order,
        rule_name,
        identifier_type,
        match_method,
        confidence,
        min_similarity,
        description
    from identity_rules
    where
        is_enabled
        -- '' (no rule's name) keeps the list valid when no rule is switched off
        and rule_name not in (''{% for rule_name in disabled_rules %}, '{{ rule_name }}'{% endfor %})

)

select * from final
