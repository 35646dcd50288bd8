-- One row per calendar month × customer-journey stage: NPS with margin, low-sample flag and
-- change against the previous month. Touchpoints map to stages in seeds/journey_stages.csv;
-- every declared stage gets a row in every month with survey responses (null NPS when the
-- stage had no answers), 'unknown' only when responses fell there. No personal data.
with

responses as (select * from {{ ref('fct_survey_responses') }}),

journey_stages as (select * from {{ ref('journey_stages') }}),

stages as (

    select
        journey_stage,
        min(stage_order) as stage_order
    from journey_stages
    group by 1

),

months as (

    select distinct {{ month_start('submitted_at') }} as month_start
    from responses

),

staged_responses as (

    select
        {{ month_start('responses.submitted_at') }} as month_start,
        coalesce(journey_stages.journey_stage, 'unknown') as journey_stage,
        responses.nps_score,
        responses.is_promoter,
        responses.is_passive,
        responses.is_detractor
    from responses
    left join journey_stages
        on responses.touchpoint = journey_stages.touchpoint

),

stage_grid as (

    select
        months.month_start,
        stages.journey_stage,
        stages.stage_order
    from months
    cross join stages

),

-- counted over the grid, so a stage without answers keeps its row with zero answers
stage_monthly as (

    select
        stage_grid.month_start,
        stage_grid.journey_stage,
        stage_grid.stage_order,
        count(staged_responses.nps_score) as nps_responses,
        count(case when staged_responses.is_promoter then 1 end) as promoters,
        count(case when staged_responses.is_passive then 1 end) as passives,
        count(case when staged_responses.is_detractor then 1 end) as detractors
    from stage_grid
    left join staged_responses
        on
            stage_grid.month_start = staged_responses.month_start
            and stage_grid.journey_stage = staged_responses.journey_stage
    group by 1, 2, 3
    having stage_grid.journey_stage <> 'unknown' or count(staged_responses.nps_score) > 0

),

scored as (

    select
        *,
        {{ nps_with_margin() }}
    from stage_monthly

),

final as (

    select
        *,
        {{ change_vs_previous_month('nps', partition_by='journey_stage') }} as nps_change_vs_previous_month
    from scored

)

select * from final
