-- Touchpoint × channel × ISO week: survey, ticket and call metrics side by side, every rate
-- with its numerator and denominator, NPS with its margin and a low-sample flag.
with

responses as (select * from {{ ref('fct_survey_responses') }}),

tickets as (select * from {{ ref('fct_tickets') }}),

calls as (select * from {{ ref('fct_calls') }}),

survey_weekly as (

    select
        touchpoint,
        channel,
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
    group by 1, 2, 3

),

ticket_weekly as (

    select
        touchpoint,
        channel,
        {{ iso_week_start('created_at') }} as week_start,
        count(*) as tickets,
        percentile_cont(0.5) within group (order by first_response_minutes) as first_response_median_minutes,
        percentile_cont(0.9) within group (order by first_response_minutes) as first_response_p90_minutes,
        percentile_cont(0.5) within group (order by resolution_minutes) as resolution_median_minutes,
        sum(case when is_resolved then 1 else 0 end) as tickets_resolved,
        sum(case when is_first_contact_resolution then 1 else 0 end) as fcr_tickets,
        sum(case when is_sla_breached then 1 else 0 end) as sla_breaches,
        count(is_sla_breached) as sla_evaluated,
        sum(case when is_repeat_contact then 1 else 0 end) as repeat_contacts
    from tickets
    group by 1, 2, 3

),

call_weekly as (

    select
        touchpoint,
        'phone' as channel,
        {{ iso_week_start('started_at') }} as week_start,
        count(*) as calls_offered,
        sum(case when is_abandoned then 1 else 0 end) as calls_abandoned,
        sum(case when is_answered_within_service_level then 1 else 0 end) as calls_within_service_level,
        avg(handle_seconds) as average_handle_seconds
    from calls
    group by 1, 2, 3

),

keys as (

    select touchpoint, channel, week_start from survey_weekly
    union
    select touchpoint, channel, week_start from ticket_weekly
    union
    select touchpoint, channel, week_start from call_weekly

),

joined as (

    select
        keys.touchpoint,
        keys.channel,
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
        coalesce(ticket_weekly.tickets, 0) as tickets,
        ticket_weekly.first_response_median_minutes,
        ticket_weekly.first_response_p90_minutes,
        ticket_weekly.resolution_median_minutes,
        coalesce(ticket_weekly.tickets_resolved, 0) as tickets_resolved,
        coalesce(ticket_weekly.fcr_tickets, 0) as fcr_tickets,
        coalesce(ticket_weekly.sla_breaches, 0) as sla_breaches,
        coalesce(ticket_weekly.sla_evaluated, 0) as sla_evaluated,
        coalesce(ticket_weekly.repeat_contacts, 0) as repeat_contacts,
        coalesce(call_weekly.calls_offered, 0) as calls_offered,
        coalesce(call_weekly.calls_abandoned, 0) as calls_abandoned,
        coalesce(call_weekly.calls_within_service_level, 0) as calls_within_service_level,
        call_weekly.average_handle_seconds
    from keys
    left join survey_weekly
        on
            keys.touchpoint = survey_weekly.touchpoint
            and keys.channel = survey_weekly.channel
            and keys.week_start = survey_weekly.week_start
    left join ticket_weekly
        on
            keys.touchpoint = ticket_weekly.touchpoint
            and keys.channel = ticket_weekly.channel
            and keys.week_start = ticket_weekly.week_start
    left join call_weekly
        on
            keys.touchpoint = call_weekly.touchpoint
            and keys.channel = call_weekly.channel
            and keys.week_start = call_weekly.week_start

),

final as (

    select
        touchpoint,
        channel,
        week_start,
        survey_responses,
        nps_responses,
        promoters,
        passives,
        detractors,
        {{ nps('promoters', 'detractors', 'nps_responses') }} as nps,
        {{ nps_margin_of_error('promoters', 'detractors', 'nps_responses') }} as nps_margin_of_error,
        {{ is_low_sample('nps_responses') }} as is_low_sample,
        csat_satisfied,
        csat_responses,
        {{ pct('csat_satisfied', 'csat_responses') }} as csat_pct,
        ces_responses,
        round(ces_mean, 2) as ces_mean,
        ces_easy,
        {{ pct('ces_easy', 'ces_responses') }} as ces_easy_pct,
        tickets,
        first_response_median_minutes,
        first_response_p90_minutes,
        resolution_median_minutes,
        fcr_tickets,
        tickets_resolved,
        {{ pct('fcr_tickets', 'tickets_resolved') }} as fcr_pct,
        sla_breaches,
        sla_evaluated,
        {{ pct('sla_breaches', 'sla_evaluated') }} as sla_breach_pct,
        repeat_contacts,
        {{ pct('repeat_contacts', 'tickets') }} as repeat_contact_pct,
        calls_offered,
        calls_abandoned,
        {{ pct('calls_abandoned', 'calls_offered') }} as call_abandonment_pct,
        calls_within_service_level,
        {{ pct('calls_within_service_level', 'calls_offered') }} as call_service_level_pct,
        round(average_handle_seconds, 1) as average_handle_seconds
    from joined

)

select * from final
