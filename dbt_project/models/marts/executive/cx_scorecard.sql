-- One row per calendar month: headline experience KPIs with margins and trend, response
-- rate, service outcomes, revenue at risk, churn by NPS category and the month's top pain
-- points (topics of detractor / low-CSAT verbatims). No personal data.
with

-- not materialized: read where used (DuckDB would first copy every column of a table read
-- more than once, the comments included)
responses as not materialized (select * from {{ ref('fct_survey_responses') }}),

invitations as (select * from {{ ref('fct_survey_invitations') }}),

tickets as (select * from {{ ref('fct_tickets') }}),

calls as (select * from {{ ref('fct_calls') }}),

orders as (select * from {{ ref('fct_orders') }}),

customers as (select * from {{ ref('dim_customers') }}),

-- the cases themselves, not the frontline queue made of them: the same open cases, and the
-- scorecard need not wait for the queue to be built
followups as (select * from {{ ref('fct_followup_cases') }}),

topics as (select * from {{ ref('fct_feedback_topics') }}),

months as (

    select distinct {{ month_start('submitted_at') }} as month_start from responses
    union
    select distinct {{ month_start('created_at') }} from tickets

),

month_bounds as (

    select
        month_start,
        {{ dbt.dateadd('month', 1, 'month_start') }} as next_month_start
    from months

),

survey_monthly as (

    select
        {{ month_start('submitted_at') }} as month_start,
        count(*) as survey_responses,
        count(nps_score) as nps_responses,
        sum(case when is_promoter then 1 else 0 end) as promoters,
        sum(case when is_passive then 1 else 0 end) as passives,
        sum(case when is_detractor then 1 else 0 end) as detractors,
        count(csat_score) as csat_responses,
        sum(case when is_csat_satisfied then 1 else 0 end) as csat_satisfied,
        count(ces_score) as ces_responses,
        sum(case when is_ces_easy then 1 else 0 end) as ces_easy,
        avg(ces_score) as ces_mean
    from responses
    group by 1

),

invitation_monthly as (

    select
        {{ month_start('sent_at') }} as month_start,
        count(*) as invitations_sent,
        sum(case when is_started then 1 else 0 end) as invitations_started,
        sum(case when is_completed then 1 else 0 end) as invitations_completed
    from invitations
    group by 1

),

service_monthly as (

    select
        {{ month_start('created_at') }} as month_start,
        count(*) as tickets,
        percentile_cont(0.5) within group (order by first_response_minutes) as first_response_median_minutes,
        sum(case when is_resolved then 1 else 0 end) as tickets_resolved,
        sum(case when is_first_contact_resolution then 1 else 0 end) as fcr_tickets
    from tickets
    group by 1

),

call_monthly as (

    select
        {{ month_start('started_at') }} as month_start,
        count(*) as calls_offered,
        sum(case when is_abandoned then 1 else 0 end) as calls_abandoned
    from calls
    group by 1

),

-- each customer's last NPS category of each month they answered in (the latest response,
-- ties broken by the highest response_id)...
monthly_categories as (

    select
        customer_id,
        {{ month_start('submitted_at') }} as answered_month,
        arg_max(nps_category, (submitted_at, response_id)) as nps_category
    from responses
    where nps_category is not null and customer_id is not null
    group by 1, 2

),

-- ...holds as their latest category until the next month they answered in
category_spans as (

    select
        customer_id,
        nps_category,
        answered_month,
        lead(answered_month) over (partition by customer_id order by answered_month) as next_answered_month
    from monthly_categories

),

-- customers whose latest NPS category as of a month's end is detractor
latest_detractors as (

    select
        month_bounds.month_start,
        category_spans.customer_id
    from category_spans
    inner join month_bounds
        on
            category_spans.answered_month <= month_bounds.month_start
            and (
                category_spans.next_answered_month is null
                or category_spans.next_answered_month > month_bounds.month_start
            )
    where category_spans.nps_category = 'detractor'

),

-- customers holding an overdue follow-up are at risk now, i.e. in the current month
overdue_holders as (

    select distinct
        {{ month_start(cx_now()) }} as month_start,
        customer_id
    from followups
    where is_overdue

),

at_risk_customers as (

    select month_start, customer_id from latest_detractors
    union
    select month_start, customer_id from overdue_holders

),

risk_counts as (

    select
        month_start,
        count(*) as customers_at_risk
    from at_risk_customers
    group by 1

),

-- the trailing-12-month revenue of the customers at risk, as of the month's end: summed by
-- month straight from their orders (a customer is at risk once in a month)
revenue_at_risk as (

    select
        at_risk_customers.month_start,
        sum(orders.order_amount) as revenue_at_risk
    from at_risk_customers
    inner join month_bounds
        on at_risk_customers.month_start = month_bounds.month_start
    inner join orders
        on
            at_risk_customers.customer_id = orders.customer_id
            and month_bounds.next_month_start > orders.ordered_at
            and orders.ordered_at >= {{ dbt.dateadd('month', -12, 'month_bounds.next_month_start') }}
    where not orders.is_canceled
    group by 1

),

risk_monthly as (

    select
        risk_counts.month_start,
        risk_counts.customers_at_risk,
        coalesce(revenue_at_risk.revenue_at_risk, 0) as revenue_at_risk
    from risk_counts
    left join revenue_at_risk
        on risk_counts.month_start = revenue_at_risk.month_start

),

-- churn within 90 days after a response, by the response's NPS category
churn_outcomes as (

    select
        {{ month_start('responses.submitted_at') }} as month_start,
        responses.nps_category,
        count(*) as respondents,
        sum(case
            when
                customers.churned_at >= responses.submitted_at
                and customers.churned_at < {{ dbt.dateadd('day', 90, 'responses.submitted_at') }}
                then 1
            else 0
        end) as churned_within_90d
    from responses
    inner join customers
        on responses.customer_id = customers.customer_id
    where responses.nps_category is not null
    group by 1, 2

),

churn_monthly as (

    select
        month_start,
        sum(case when nps_category = 'detractor' then churned_within_90d else 0 end) as detractors_churned,
        sum(case when nps_category = 'detractor' then respondents else 0 end) as detractor_respondents,
        sum(case when nps_category = 'passive' then churned_within_90d else 0 end) as passives_churned,
        sum(case when nps_category = 'passive' then respondents else 0 end) as passive_respondents,
        sum(case when nps_category = 'promoter' then churned_within_90d else 0 end) as promoters_churned,
        sum(case when nps_category = 'promoter' then respondents else 0 end) as promoter_respondents
    from churn_outcomes
    group by 1

),

-- the verbatims pain points are measured on: detractors' and low-CSAT (<= 2, the follow-up
-- rule) comments; the text itself never leaves core
detractor_verbatims as (

    select
        response_id,
        {{ month_start('submitted_at') }} as month_start
    from responses
    where (is_detractor or csat_score <= 2) and comment is not null

),

pain_point_monthly as (

    select
        month_start,
        count(*) as pain_point_verbatims
    from detractor_verbatims
    group by 1

),

pain_point_mentions as (

    select
        detractor_verbatims.month_start,
        topics.topic,
        count(distinct detractor_verbatims.response_id) as mentions,
        max(topics.taxonomy_version) as taxonomy_version
    from detractor_verbatims
    inner join topics
        on
            detractor_verbatims.response_id = topics.feedback_id
            and topics.source_entity = 'survey_responses'
    group by 1, 2

),

-- most mentioned first; ties broken by topic name so the ranking never depends on scan order
ranked_pain_points as (

    select
        *,
        row_number() over (partition by month_start order by mentions desc, topic asc) as pain_point_rank
    from pain_point_mentions

),

top_pain_points as (

    select
        month_start,
        {%- for rank in range(1, 4) %}
        max(case when pain_point_rank = {{ rank }} then topic end) as top_pain_point_{{ rank }},
        max(case when pain_point_rank = {{ rank }} then mentions end) as top_pain_point_{{ rank }}_mentions,
        {%- endfor %}
        max(taxonomy_version) as pain_point_taxonomy_version
    from ranked_pain_points
    group by 1

),

joined as (

    select
        month_bounds.month_start,
        coalesce(survey_monthly.survey_responses, 0) as survey_responses,
        coalesce(survey_monthly.nps_responses, 0) as nps_responses,
        coalesce(survey_monthly.promoters, 0) as promoters,
        coalesce(survey_monthly.passives, 0) as passives,
        coalesce(survey_monthly.detractors, 0) as detractors,
        coalesce(survey_monthly.csat_responses, 0) as csat_responses,
        coalesce(survey_monthly.csat_satisfied, 0) as csat_satisfied,
        coalesce(survey_monthly.ces_responses, 0) as ces_responses,
        coalesce(survey_monthly.ces_easy, 0) as ces_easy,
        survey_monthly.ces_mean,
        coalesce(invitation_monthly.invitations_sent, 0) as invitations_sent,
        coalesce(invitation_monthly.invitations_started, 0) as invitations_started,
        coalesce(invitation_monthly.invitations_completed, 0) as invitations_completed,
        coalesce(service_monthly.tickets, 0) as tickets,
        service_monthly.first_response_median_minutes,
        coalesce(service_monthly.tickets_resolved, 0) as tickets_resolved,
        coalesce(service_monthly.fcr_tickets, 0) as fcr_tickets,
        coalesce(call_monthly.calls_offered, 0) as calls_offered,
        coalesce(call_monthly.calls_abandoned, 0) as calls_abandoned,
        coalesce(risk_monthly.customers_at_risk, 0) as customers_at_risk,
        coalesce(risk_monthly.revenue_at_risk, 0) as revenue_at_risk,
        coalesce(churn_monthly.detractors_churned, 0) as detractors_churned,
        coalesce(churn_monthly.detractor_respondents, 0) as detractor_respondents,
        coalesce(churn_monthly.passives_churned, 0) as passives_churned,
        coalesce(churn_monthly.passive_respondents, 0) as passive_respondents,
        coalesce(churn_monthly.promoters_churned, 0) as promoters_churned,
        coalesce(churn_monthly.promoter_respondents, 0) as promoter_respondents,
        coalesce(pain_point_monthly.pain_point_verbatims, 0) as pain_point_verbatims,
        {%- for rank in range(1, 4) %}
        top_pain_points.top_pain_point_{{ rank }},
        coalesce(top_pain_points.top_pain_point_{{ rank }}_mentions, 0) as top_pain_point_{{ rank }}_mentions,
        {%- endfor %}
        top_pain_points.pain_point_taxonomy_version
    from month_bounds
    left join survey_monthly on month_bounds.month_start = survey_monthly.month_start
    left join invitation_monthly on month_bounds.month_start = invitation_monthly.month_start
    left join service_monthly on month_bounds.month_start = service_monthly.month_start
    left join call_monthly on month_bounds.month_start = call_monthly.month_start
    left join risk_monthly on month_bounds.month_start = risk_monthly.month_start
    left join churn_monthly on month_bounds.month_start = churn_monthly.month_start
    left join pain_point_monthly on month_bounds.month_start = pain_point_monthly.month_start
    left join top_pain_points on month_bounds.month_start = top_pain_points.month_start

),

scored as (

    select
        *,
        {{ nps_with_margin() }},
        {{ pct('csat_satisfied', 'csat_responses') }} as csat_pct
    from joined

),

final as (

    select
        month_start,
        survey_responses,
        nps_responses,
        promoters,
        passives,
        detractors,
        nps,
        nps_margin_of_error,
        is_low_sample,
        {{ change_vs_previous_month('nps') }} as nps_change_vs_previous_month,
        csat_satisfied,
        csat_responses,
        csat_pct,
        {{ change_vs_previous_month('csat_pct') }} as csat_change_vs_previous_month,
        ces_responses,
        round(ces_mean, 2) as ces_mean,
        ces_easy,
        {{ pct('ces_easy', 'ces_responses') }} as ces_easy_pct,
        invitations_completed,
        invitations_sent,
        {{ pct('invitations_completed', 'invitations_sent') }} as response_rate_pct,
        invitations_started,
        {{ pct('invitations_started', 'invitations_sent') }} as started_rate_pct,
        {{ pct('invitations_completed', 'invitations_started') }} as completion_rate_pct,
        tickets,
        first_response_median_minutes,
        fcr_tickets,
        tickets_resolved,
        {{ pct('fcr_tickets', 'tickets_resolved') }} as fcr_pct,
        calls_abandoned,
        calls_offered,
        {{ pct('calls_abandoned', 'calls_offered') }} as call_abandonment_pct,
        customers_at_risk,
        revenue_at_risk,
        detractors_churned,
        detractor_respondents,
        {{ pct('detractors_churned', 'detractor_respondents') }} as detractor_churn_pct,
        passives_churned,
        passive_respondents,
        {{ pct('passives_churned', 'passive_respondents') }} as passive_churn_pct,
        promoters_churned,
        promoter_respondents,
        {{ pct('promoters_churned', 'promoter_respondents') }} as promoter_churn_pct,
        pain_point_verbatims,
        {%- for rank in range(1, 4) %}
        top_pain_point_{{ rank }},
        top_pain_point_{{ rank }}_mentions,
        {%- endfor %}
        pain_point_taxonomy_version
    from scored

)

select * from final
