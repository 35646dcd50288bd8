-- Where a source tool exports its own value of a metric (METRICS.md), how often ours differs
-- and by how much, per metric and feed. Read by the reconciliation asset checks.
with

tickets as (select * from {{ ref('fct_tickets') }}),

responses as (select * from {{ ref('fct_survey_responses') }}),

compared as (

    {{ reconcile_with_source(
        'tickets', 'first_reply_minutes', 'first_response_minutes', 'source_first_reply_minutes'
    ) }}
    union all
    {{ reconcile_with_source(
        'tickets', 'first_reply_business_minutes',
        'first_response_business_minutes', 'source_first_reply_business_minutes'
    ) }}
    union all
    {{ reconcile_with_source(
        'tickets', 'first_resolution_minutes', 'first_resolution_minutes', 'source_first_resolution_minutes'
    ) }}
    union all
    {{ reconcile_with_source(
        'tickets', 'full_resolution_minutes', 'resolution_minutes', 'source_full_resolution_minutes'
    ) }}
    union all
    {{ reconcile_with_source(
        'tickets', 'full_resolution_business_minutes',
        'resolution_business_minutes', 'source_full_resolution_business_minutes'
    ) }}
    union all
    {{ reconcile_with_source('responses', 'nps_group', 'nps_category', 'source_nps_group', is_numeric=false) }}

),

final as (

    select
        metric_name,
        feed,
        records_compared,
        records_differing,
        {{ pct('records_differing', 'records_compared') }} as differing_pct,
        records_missing_ours,
        records_missing_source,
        cast(mean_abs_difference as {{ dbt.type_float() }}) as mean_abs_difference,
        cast(max_abs_difference as {{ dbt.type_float() }}) as max_abs_difference
    from compared

)

select * from final
