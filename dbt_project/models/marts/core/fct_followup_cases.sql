-- Every follow-up case ever opened and where it stands (METRICS.md closed loop): closed when
-- the case tool reports the customer contacted (or the case closed), SLA met when contacted
-- before due, overdue when open past due, recovered when the customer's next rating after
-- closure beats the one that opened the case.
with

opened_cases as (select * from {{ ref('int_followup_cases_opened') }}),

triggers as (select * from {{ ref('int_followup_triggers') }}),

outcomes as (select * from {{ ref('stg_crm__followup_outcomes') }}),

responses as (select * from {{ ref('fct_survey_responses') }}),

tickets as (select * from {{ ref('fct_tickets') }}),

business_windows as (select * from {{ ref('dim_business_windows') }}),

dates as (select * from {{ ref('dim_dates') }}),

business_clock_dates as (

    {{ business_clock_dates('business_windows', 'dates') }}

),

-- the opening trigger resolved today: identity resolution may have moved its customer
current_owner as (

    select
        opened_cases.*,
        coalesce(triggers.customer_id, opened_cases.customer_id) as current_customer_id
    from opened_cases
    left join triggers
        on
            opened_cases.trigger_id = triggers.trigger_id
            and opened_cases.reason = triggers.reason

),

closures as (

    select
        case_id,
        outcome_at as closed_at,
        outcome_status as closing_outcome,
        agent_ref as closed_by,
        row_number() over (partition by case_id order by outcome_at, outcome_id) as closure_rank
    from outcomes
    where outcome_status in ('contacted', 'closed')

),

attempts as (

    select
        case_id,
        count(*) as outcome_count,
        max(outcome_at) as last_outcome_at
    from outcomes
    group by case_id

),

-- later feedback of the same customer and reason while the case is open joins the case
case_triggers as (

    select
        current_owner.case_id,
        count(*) as trigger_count,
        max(triggers.triggered_at) as last_triggered_at
    from current_owner
    left join closures
        on current_owner.case_id = closures.case_id and closures.closure_rank = 1
    inner join triggers
        on
            current_owner.current_customer_id = triggers.customer_id
            and current_owner.reason = triggers.reason
            and current_owner.opened_at <= triggers.triggered_at
            and triggers.triggered_at <= coalesce(closures.closed_at, {{ cx_now() }})
    group by current_owner.case_id

),

-- due when the business clock has run `followup_due_business_hours` past the feedback:
-- feedback outside working hours starts counting at the next opening
due_clock as (

    select
        current_owner.case_id,
        {{ business_clock_seconds('business_clock_dates', 'current_owner.opened_at') }}
        + {{ var('followup_due_business_hours') }} * 3600 as due_clock_seconds
    from current_owner
    left join business_clock_dates
        on {{ business_clock_window('business_clock_dates', 'current_owner.opened_at') }}

),

due_times as (

    select
        due_clock.case_id,
        {{ business_clock_moment('business_windows', 'due_clock.due_clock_seconds') }} as due_at
    from due_clock
    left join business_windows
        on {{ business_clock_reaching_window('business_windows', 'due_clock.due_clock_seconds') }}

),

-- the customer's ratings on the scale of each reason: NPS, CSAT, ticket rating (bad 0, good 1)
ratings as (

    select customer_id, 'detractor' as reason, submitted_at as rated_at, response_id as rating_id, nps_score as score
    from responses
    where nps_score is not null
    union all
    select customer_id, 'low_csat', submitted_at, response_id, csat_score
    from responses
    where csat_score is not null
    union all
    select customer_id, 'bad_ticket_rating', coalesce(solved_at, created_at), ticket_id, (satisfaction = 'good')::int
    from tickets
    where satisfaction in ('good', 'bad')

),

next_ratings as (

    select
        current_owner.case_id,
        ratings.rated_at as next_rated_at,
        ratings.score as next_rating_score,
        row_number() over (
            partition by current_owner.case_id
            order by ratings.rated_at, ratings.rating_id
        ) as rating_rank
    from current_owner
    inner join closures
        on current_owner.case_id = closures.case_id and closures.closure_rank = 1
    inner join ratings
        on
            current_owner.current_customer_id = ratings.customer_id
            and current_owner.reason = ratings.reason
            and closures.closed_at < ratings.rated_at

),

joined as (

    select
        current_owner.case_id,
        current_owner.current_customer_id as customer_id,
        current_owner.reason,
        current_owner.trigger_type,
        current_owner.trigger_id,
        current_owner.trigger_score,
        coalesce(case_triggers.trigger_count, 1) as trigger_count,
        coalesce(case_triggers.last_triggered_at, current_owner.opened_at) as last_triggered_at,
        current_owner.verbatim,
        current_owner.topic,
        current_owner.sentiment_label,
        current_owner.touchpoint,
        current_owner.channel,
        current_owner.opened_at,
        current_owner.first_queued_at,
        due_times.due_at,
        case when closures.case_id is null then 'open' else 'closed' end as status,
        closures.closed_at,
        closures.closing_outcome,
        closures.closed_by,
        coalesce(attempts.outcome_count, 0) as outcome_count,
        attempts.last_outcome_at,
        next_ratings.next_rated_at,
        next_ratings.next_rating_score
    from current_owner
    left join case_triggers
        on current_owner.case_id = case_triggers.case_id
    left join due_times
        on current_owner.case_id = due_times.case_id
    left join closures
        on current_owner.case_id = closures.case_id and closures.closure_rank = 1
    left join attempts
        on current_owner.case_id = attempts.case_id
    left join next_ratings
        on current_owner.case_id = next_ratings.case_id and next_ratings.rating_rank = 1

),

final as (

    select
        *,
        status = 'open' and due_at < {{ cx_now() }} as is_overdue,
        -- METRICS.md: met when the customer was contacted before due; null while open in time
        case
            when closing_outcome = 'contacted' then closed_at <= due_at
            when status = 'closed' or due_at < {{ cx_now() }} then false
        end as is_followup_sla_met,
        -- null until a rating arrives after closure, and for reasons without a rating
        case
            when next_rating_score is not null and trigger_score is not null
                then next_rating_score > trigger_score
        end as is_recovered
    from joined

)

select * from final
