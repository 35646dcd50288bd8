{{ config(meta={'dagster': {'ref': {'name': 'touchpoint_performance'}}}) }}
-- Components sum to totals: per touchpoint × channel × week, the team rows' tickets and calls
-- add up to the 'all' row, and survey answers appear on the 'all' row only.
with

performance as (select * from {{ ref('touchpoint_performance') }}),

by_team as (

    select
        touchpoint,
        channel,
        week_start,
        sum(tickets) as tickets,
        sum(tickets_resolved) as tickets_resolved,
        sum(calls_offered) as calls_offered,
        sum(survey_responses) as survey_responses
    from performance
    where team <> 'all'
    group by 1, 2, 3

),

final as (

    select
        totals.touchpoint,
        totals.channel,
        totals.week_start,
        totals.tickets,
        by_team.tickets as team_tickets
    from performance as totals
    left join by_team
        on
            totals.touchpoint = by_team.touchpoint
            and totals.channel = by_team.channel
            and totals.week_start = by_team.week_start
    where
        totals.team = 'all'
        and (
            totals.tickets <> coalesce(by_team.tickets, 0)
            or totals.tickets_resolved <> coalesce(by_team.tickets_resolved, 0)
            or totals.calls_offered <> coalesce(by_team.calls_offered, 0)
            or coalesce(by_team.survey_responses, 0) <> 0
        )

)

select * from final
