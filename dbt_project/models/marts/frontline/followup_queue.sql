-- The closed loop: one open case per customer and reason (METRICS.md), from feedback of the
-- last `followup_lookback_days`, due 48 business hours (of the declared schedule,
-- core.dim_business_windows) after the feedback was submitted.
-- Contact details only where the customer consented.
with

responses as (select * from {{ ref('fct_survey_responses') }}),

tickets as (select * from {{ ref('fct_tickets') }}),

customers as (select * from {{ ref('dim_customers') }}),

business_windows as (select * from {{ ref('dim_business_windows') }}),

dates as (select * from {{ ref('dim_dates') }}),

business_clock_dates as (

    {{ business_clock_dates('business_windows', 'dates') }}

),

triggers as (

    select
        customer_id, 'detractor' as reason, 'survey_response' as trigger_type,
        response_id as trigger_id, submitted_at as triggered_at, nps_score as trigger_score,
        comment as verbatim, primary_topic as topic, sentiment_label, touchpoint, channel
    from responses
    where is_detractor
    union all
    select
        customer_id, 'low_csat', 'survey_response', response_id, submitted_at, csat_score,
        comment, primary_topic, sentiment_label, touchpoint, channel
    from responses
    where csat_score <= 2
    union all
    select
        customer_id, 'bad_ticket_rating', 'ticket', ticket_id, coalesce(solved_at, created_at),
        null, subject, null, null, touchpoint, channel
    from tickets
    where satisfaction = 'bad'
    union all
    select
        customer_id, 'repeat_complaint', 'ticket', ticket_id, created_at, null, subject,
        null, null, touchpoint, channel
    from tickets
    where is_repeat_contact

),

recent_triggers as (

    select
        *,
        row_number() over (
            partition by customer_id, reason
            order by triggered_at desc, trigger_id desc
        ) as recency_rank,
        count(*) over (partition by customer_id, reason) as trigger_count
    from triggers
    where
        customer_id is not null
        and triggered_at >= {{ dbt.dateadd('day', -var('followup_lookback_days'), cx_now()) }}
        and triggered_at <= {{ cx_now() }}

),

cases as (

    select * from recent_triggers
    where recency_rank = 1

),

-- Due when the business clock has run `followup_due_business_hours` past the feedback:
-- feedback outside working hours starts counting at the next opening.
due_clock as (

    select
        cases.customer_id,
        cases.reason,
        {{ business_clock_seconds('business_clock_dates', 'cases.triggered_at') }}
        + {{ var('followup_due_business_hours') }} * 3600 as due_clock_seconds
    from cases
    left join business_clock_dates
        on {{ business_clock_window('business_clock_dates', 'cases.triggered_at') }}

),

due_times as (

    select
        due_clock.customer_id,
        due_clock.reason,
        {{ business_clock_moment('business_windows', 'due_clock.due_clock_seconds') }} as due_at
    from due_clock
    left join business_windows
        on {{ business_clock_reaching_window('business_windows', 'due_clock.due_clock_seconds') }}

),

scheduled as (

    select
        cases.*,
        due_times.due_at
    from cases
    inner join due_times
        on
            cases.customer_id = due_times.customer_id
            and cases.reason = due_times.reason

),

final as (

    select
        {{ dbt.hash("scheduled.customer_id || ':' || scheduled.reason") }} as case_id,
        scheduled.customer_id,
        scheduled.reason,
        scheduled.trigger_type,
        scheduled.trigger_id,
        scheduled.trigger_score,
        scheduled.trigger_count,
        scheduled.verbatim,
        scheduled.topic,
        scheduled.sentiment_label,
        scheduled.touchpoint,
        scheduled.channel,
        scheduled.triggered_at as opened_at,
        scheduled.due_at,
        scheduled.due_at < {{ cx_now() }} as is_overdue,
        'open' as status,
        least(
            100,
            case scheduled.reason
                when 'detractor' then 40 + 5 * (6 - coalesce(scheduled.trigger_score, 6))
                when 'low_csat' then 50 + 10 * (2 - coalesce(scheduled.trigger_score, 2))
                when 'bad_ticket_rating' then 50
                else 40
            end
            + case customers.value_tier when 'high' then 20 when 'medium' then 10 when 'low' then 5 else 0 end
            + case when scheduled.due_at < {{ cx_now() }} then 10 else 0 end
        ) as priority_score,
        customers.value_tier,
        customers.revenue_t12m as customer_revenue_t12m,
        customers.segment,
        customers.has_contact_consent,
        case
            when customers.has_contact_consent
                then trim(coalesce(customers.first_name, '') || ' ' || coalesce(customers.last_name, ''))
        end as contact_name,
        case when customers.has_contact_consent then customers.email end as contact_email,
        case when customers.has_contact_consent then customers.phone end as contact_phone
    from scheduled
    inner join customers
        on scheduled.customer_id = customers.customer_id

)

select * from final
