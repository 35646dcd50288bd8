{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false) }}
-- depends_on: {{ ref('stg_crm__followup_outcomes') }}
-- The closed loop's memory: every case ever opened, appended once and never rewritten, so a
-- case survives the feedback leaving the look-back window and a closed case stays closed.
-- full_refresh=false: `dbt build --full-refresh` must not forget the cases staff work on.
-- A case opens on the earliest recent trigger of a customer × reason that has no open case
-- (none yet, or the latest one was closed before that trigger); later triggers join it.
with

triggers as (select * from {{ ref('int_followup_triggers') }}),

recent_triggers as (

    select * from triggers
    where
        triggered_at >= {{ dbt.dateadd('day', -var('followup_lookback_days'), cx_now()) }}
        and triggered_at <= {{ cx_now() }}

),

{% if is_incremental() %}

outcomes as (select * from {{ ref('stg_crm__followup_outcomes') }}),

closures as (

    select
        case_id,
        min(outcome_at) as closed_at
    from outcomes
    where outcome_status in ('contacted', 'closed')
    group by case_id

),

latest_cases as (

    select
        opened.customer_id,
        opened.reason,
        opened.opened_at,
        closures.closed_at,
        row_number() over (
            partition by opened.customer_id, opened.reason
            order by opened.opened_at desc, opened.case_id desc
        ) as recency_rank
    from {{ this }} as opened
    left join closures
        on opened.case_id = closures.case_id

),

candidates as (

    select recent_triggers.*
    from recent_triggers
    left join latest_cases
        on
            recent_triggers.customer_id = latest_cases.customer_id
            and recent_triggers.reason = latest_cases.reason
            and latest_cases.recency_rank = 1
    where
        latest_cases.customer_id is null
        or (latest_cases.closed_at is not null and recent_triggers.triggered_at > latest_cases.closed_at)

),

{% else %}

candidates as (

    select * from recent_triggers

),

{% endif %}

first_candidates as (

    select
        *,
        row_number() over (
            partition by customer_id, reason
            order by triggered_at, trigger_id
        ) as arrival_rank
    from candidates

),

final as (

    select
        {{ dbt.hash("customer_id || ':' || reason || ':' || trigger_id") }} as case_id,
        customer_id,
        reason,
        trigger_type,
        trigger_id,
        trigger_score,
        verbatim,
        topic,
        sentiment_label,
        touchpoint,
        channel,
        triggered_at as opened_at,
        {{ cx_now() }} as first_queued_at
    from first_candidates
    where arrival_rank = 1

)

select * from final
