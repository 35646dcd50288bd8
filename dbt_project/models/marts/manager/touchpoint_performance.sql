-- Touchpoint × channel × team × ISO week: survey, ticket and call metrics side by side, every
-- rate with its numerator and denominator, NPS with its margin and a low-sample flag, change
-- versus the previous week with a significance flag, and what customers talked about.
-- Rows with team = 'all' total every team of the touchpoint × channel; survey metrics and
-- topics live only there (a survey answer is not attributed to a team).
with

responses as (select * from {{ ref('fct_survey_responses') }}),

tickets as (select * from {{ ref('fct_tickets') }}),

calls as (select * from {{ ref('fct_calls') }}),

feedback_topics as (select * from {{ ref('fct_feedback_topics') }}),

survey_weekly as (

    select
        touchpoint,
        channel,
        'all' as team,
        {{ iso_week_start('submitted_at') }} as week_start,
        count(*) as survey_responses,
        count(nps_score) as nps_responses,
        sum(case when is_promoter then 1 else 0 end) as promoters,
        sum(case when is_passive then 1 else 0 end) as passives,
        sum(case when is_detractor then 1 else 0 end) as detractors,
        count(csat_score) as csat_responses,
        sum(case when is_csat_satisfied then 1 else 0 end) as csat_satisfied,
        count(ces_score) as ces_responses,
        avg(ces_score) as ces_mean,
        sum(case when is_ces_easy then 1 else 0 end) as ces_easy
    from responses
    group by 1, 2, 3, 4

),

ticket_weekly as (

    select
        touchpoint,
        channel,
        case when grouping(team) = 1 then 'all' else team end as team,
        {{ iso_week_start('created_at') }} as week_start,
        count(*) as tickets,
        percentile_cont(0.5) within group (order by first_response_minutes) as first_response_median_minutes,
        percentile_cont(0.9) within group (order by first_response_minutes) as first_response_p90_minutes,
        percentile_cont(0.5) within group (order by resolution_minutes) as resolution_median_minutes,
        percentile_cont(0.9) within group (order by resolution_minutes) as resolution_p90_minutes,
        sum(case when is_resolved then 1 else 0 end) as tickets_resolved,
        sum(case when is_first_contact_resolution then 1 else 0 end) as fcr_tickets,
        sum(case when is_one_touch then 1 else 0 end) as one_touch_tickets,
        sum(case when is_resolved and reopen_count > 0 then 1 else 0 end) as reopened_tickets,
        sum(case when is_sla_breached then 1 else 0 end) as sla_breaches,
        count(is_sla_breached) as sla_evaluated,
        sum(case when is_repeat_contact then 1 else 0 end) as repeat_contacts,
        sum(case when satisfaction = 'good' then 1 else 0 end) as ticket_ratings_good,
        sum(case when satisfaction in ('good', 'bad') then 1 else 0 end) as ticket_ratings
    from tickets
    -- sqlfluff's DuckDB dialect cannot parse grouping sets
    group by grouping sets (  -- noqa: AM06,PRS
        (touchpoint, channel, team, {{ iso_week_start('created_at') }}),
        (touchpoint, channel, {{ iso_week_start('created_at') }})
    )

),

call_weekly as (

    select
        touchpoint,
        'phone' as channel,
        case when grouping(queue) = 1 then 'all' else coalesce(queue, 'unassigned') end as team,
        {{ iso_week_start('started_at') }} as week_start,
        count(*) as calls_offered,
        sum(case when is_abandoned then 1 else 0 end) as calls_abandoned,
        sum(case when is_answered_within_service_level then 1 else 0 end) as calls_within_service_level,
        avg(handle_seconds) as average_handle_seconds
    from calls
    -- sqlfluff's DuckDB dialect cannot parse grouping sets
    group by grouping sets (  -- noqa: AM06,PRS
        (touchpoint, queue, {{ iso_week_start('started_at') }}),
        (touchpoint, {{ iso_week_start('started_at') }})
    )

),

topic_mentions as (

    select
        touchpoint,
        channel,
        {{ iso_week_start('occurred_at') }} as week_start,
        topic,
        count(distinct feedback_id) as mentions
    from feedback_topics
    group by 1, 2, 3, 4

),

topic_ranked as (

    select
        *,
        row_number() over (
            partition by touchpoint, channel, week_start
            order by mentions desc, topic asc
        ) as topic_rank
    from topic_mentions

),

top_topics as (

    select
        touchpoint,
        channel,
        'all' as team,
        week_start,
        {{ dbt.listagg(
            "topic || ' (' || cast(mentions as " ~ dbt.type_string() ~ ") || ')'", "', '", "order by topic_rank"
        ) }} as top_topics
    from topic_ranked
    where topic_rank <= 3
    group by 1, 2, 3, 4

),

keys as (

    select touchpoint, channel, team, week_start from survey_weekly
    union
    select touchpoint, channel, team, week_start from ticket_weekly
    union
    select touchpoint, channel, team, week_start from call_weekly

),

joined as (

    select
        keys.touchpoint,
        keys.channel,
        keys.team,
        keys.week_start,
        coalesce(survey_weekly.survey_responses, 0) as survey_responses,
        coalesce(survey_weekly.nps_responses, 0) as nps_responses,
        coalesce(survey_weekly.promoters, 0) as promoters,
        coalesce(survey_weekly.passives, 0) as passives,
        coalesce(survey_weekly.detractors, 0) as detractors,
        coalesce(survey_weekly.csat_responses, 0) as csat_responses,
        coalesce(survey_weekly.csat_satisfied, 0) as csat_satisfied,
        coalesce(survey_weekly.ces_responses, 0) as ces_responses,
        survey_weekly.ces_mean,
        coalesce(survey_weekly.ces_easy, 0) as ces_easy,
        top_topics.top_topics,
        coalesce(ticket_weekly.tickets, 0) as tickets,
        ticket_weekly.first_response_median_minutes,
        ticket_weekly.first_response_p90_minutes,
        ticket_weekly.resolution_median_minutes,
        ticket_weekly.resolution_p90_minutes,
        coalesce(ticket_weekly.tickets_resolved, 0) as tickets_resolved,
        coalesce(ticket_weekly.fcr_tickets, 0) as fcr_tickets,
        coalesce(ticket_weekly.one_touch_tickets, 0) as one_touch_tickets,
        coalesce(ticket_weekly.reopened_tickets, 0) as reopened_tickets,
        coalesce(ticket_weekly.sla_breaches, 0) as sla_breaches,
        coalesce(ticket_weekly.sla_evaluated, 0) as sla_evaluated,
        coalesce(ticket_weekly.repeat_contacts, 0) as repeat_contacts,
        coalesce(ticket_weekly.ticket_ratings_good, 0) as ticket_ratings_good,
        coalesce(ticket_weekly.ticket_ratings, 0) as ticket_ratings,
        coalesce(call_weekly.calls_offered, 0) as calls_offered,
        coalesce(call_weekly.calls_abandoned, 0) as calls_abandoned,
        coalesce(call_weekly.calls_within_service_level, 0) as calls_within_service_level,
        call_weekly.average_handle_seconds
    from keys
    left join survey_weekly
        on
            keys.touchpoint = survey_weekly.touchpoint
            and keys.channel = survey_weekly.channel
            and keys.team = survey_weekly.team
            and keys.week_start = survey_weekly.week_start
    left join top_topics
        on
            keys.touchpoint = top_topics.touchpoint
            and keys.channel = top_topics.channel
            and keys.team = top_topics.team
            and keys.week_start = top_topics.week_start
    left join ticket_weekly
        on
            keys.touchpoint = ticket_weekly.touchpoint
            and keys.channel = ticket_weekly.channel
            and keys.team = ticket_weekly.team
            and keys.week_start = ticket_weekly.week_start
    left join call_weekly
        on
            keys.touchpoint = call_weekly.touchpoint
            and keys.channel = call_weekly.channel
            and keys.team = call_weekly.team
            and keys.week_start = call_weekly.week_start

),

scored as (

    select
        *,
        {{ nps('promoters', 'detractors', 'nps_responses') }} as nps,
        {{ nps_margin_of_error('promoters', 'detractors', 'nps_responses') }} as nps_margin_of_error,
        {{ pct('csat_satisfied', 'csat_responses') }} as csat_pct,
        {{ pct_margin_of_error('csat_satisfied', 'csat_responses') }} as csat_margin_of_error
    from joined

),

-- the same touchpoint × channel × team one week earlier (null when it had no row that week)
with_previous_week as (

    select
        *,
        lag(week_start) over (partition by touchpoint, channel, team order by week_start) as previous_row_week,
        lag(nps) over (partition by touchpoint, channel, team order by week_start) as previous_row_nps,
        lag(nps_margin_of_error) over (partition by touchpoint, channel, team order by week_start)
            as previous_row_nps_margin,
        lag(nps_responses) over (partition by touchpoint, channel, team order by week_start)
            as previous_row_nps_responses,
        lag(csat_pct) over (partition by touchpoint, channel, team order by week_start) as previous_row_csat_pct,
        lag(csat_margin_of_error) over (partition by touchpoint, channel, team order by week_start)
            as previous_row_csat_margin,
        lag(csat_responses) over (partition by touchpoint, channel, team order by week_start)
            as previous_row_csat_responses
    from scored

),

compared as (

    select
        *,
        case when previous_row_week = {{ dbt.dateadd('day', -7, 'week_start') }} then previous_row_nps end
            as nps_previous_week,
        case when previous_row_week = {{ dbt.dateadd('day', -7, 'week_start') }} then previous_row_nps_margin end
            as nps_margin_previous_week,
        case when previous_row_week = {{ dbt.dateadd('day', -7, 'week_start') }} then previous_row_nps_responses end
            as nps_responses_previous_week,
        case when previous_row_week = {{ dbt.dateadd('day', -7, 'week_start') }} then previous_row_csat_pct end
            as csat_pct_previous_week,
        case when previous_row_week = {{ dbt.dateadd('day', -7, 'week_start') }} then previous_row_csat_margin end
            as csat_margin_previous_week,
        case when previous_row_week = {{ dbt.dateadd('day', -7, 'week_start') }} then previous_row_csat_responses end
            as csat_responses_previous_week
    from with_previous_week

),

final as (

    select
        touchpoint,
        channel,
        team,
        week_start,
        survey_responses,
        nps_responses,
        promoters,
        passives,
        detractors,
        nps,
        nps_margin_of_error,
        {{ is_low_sample('nps_responses') }} as is_low_sample,
        nps_previous_week,
        nps - nps_previous_week as nps_change_vs_previous_week,
        {{ is_change_significant(
            'nps', 'nps_previous_week', 'nps_margin_of_error', 'nps_margin_previous_week',
            'nps_responses', 'nps_responses_previous_week'
        ) }} as is_nps_change_significant,
        csat_satisfied,
        csat_responses,
        csat_pct,
        csat_pct - csat_pct_previous_week as csat_change_vs_previous_week,
        {{ is_change_significant(
            'csat_pct', 'csat_pct_previous_week', 'csat_margin_of_error', 'csat_margin_previous_week',
            'csat_responses', 'csat_responses_previous_week'
        ) }} as is_csat_change_significant,
        ces_responses,
        round(ces_mean, 2) as ces_mean,
        ces_easy,
        {{ pct('ces_easy', 'ces_responses') }} as ces_easy_pct,
        top_topics,
        tickets,
        first_response_median_minutes,
        first_response_p90_minutes,
        resolution_median_minutes,
        resolution_p90_minutes,
        fcr_tickets,
        tickets_resolved,
        {{ pct('fcr_tickets', 'tickets_resolved') }} as fcr_pct,
        one_touch_tickets,
        {{ pct('one_touch_tickets', 'tickets_resolved') }} as one_touch_pct,
        reopened_tickets,
        {{ pct('reopened_tickets', 'tickets_resolved') }} as reopened_pct,
        sla_breaches,
        sla_evaluated,
        {{ pct('sla_breaches', 'sla_evaluated') }} as sla_breach_pct,
        repeat_contacts,
        {{ pct('repeat_contacts', 'tickets') }} as repeat_contact_pct,
        ticket_ratings_good,
        ticket_ratings,
        {{ pct('ticket_ratings_good', 'ticket_ratings') }} as ticket_csat_pct,
        calls_offered,
        calls_abandoned,
        {{ pct('calls_abandoned', 'calls_offered') }} as call_abandonment_pct,
        calls_within_service_level,
        {{ pct('calls_within_service_level', 'calls_offered') }} as call_service_level_pct,
        round(average_handle_seconds, 1) as average_handle_seconds
    from compared

)

select * from final
