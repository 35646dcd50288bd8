{{ config(meta={'dagster': {'ref': {'name': 'journey_stage_scores'}}}) }}
-- Every NPS answer of a month lands in exactly one journey stage: the stages' answers and
-- promoters add up to the scorecard's (a touchpoint the seed forgets falls in 'unknown').
with

stages as (select * from {{ ref('journey_stage_scores') }}),

scorecard as (select * from {{ ref('cx_scorecard') }}),

stage_totals as (

    select
        month_start,
        sum(nps_responses) as nps_responses,
        sum(promoters) as promoters,
        sum(detractors) as detractors
    from stages
    group by 1

),

final as (

    select
        scorecard.month_start,
        scorecard.nps_responses,
        stage_totals.nps_responses as stage_nps_responses
    from scorecard
    left join stage_totals
        on scorecard.month_start = stage_totals.month_start
    where
        coalesce(stage_totals.nps_responses, 0) <> scorecard.nps_responses
        or coalesce(stage_totals.promoters, 0) <> scorecard.promoters
        or coalesce(stage_totals.detractors, 0) <> scorecard.detractors

)

select * from final
