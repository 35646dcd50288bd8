{{ config(meta={'dagster': {'ref': {'name': 'touchpoint_performance'}}}) }}
-- Promoters, passives and detractors partition the valid NPS answers, in every role table.
select 'touchpoint_performance' as role_table, touchpoint || '/' || channel || '/' || week_start as grain
from {{ ref('touchpoint_performance') }}
where promoters + passives + detractors <> nps_responses
union all
select 'cx_scorecard', cast(month_start as {{ dbt.type_string() }})
from {{ ref('cx_scorecard') }}
where promoters + passives + detractors <> nps_responses
union all
select 'journey_stage_scores', cast(month_start as {{ dbt.type_string() }}) || '/' || journey_stage
from {{ ref('journey_stage_scores') }}
where promoters + passives + detractors <> nps_responses
