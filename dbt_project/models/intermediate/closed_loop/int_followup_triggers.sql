-- Every piece of feedback that calls for a follow-up (METRICS.md closed loop): an NPS
-- detractor, a CSAT of 2 or less, a ticket rated bad, a repeat complaint.
with

responses as (select * from {{ ref('fct_survey_responses') }}),

tickets as (select * from {{ ref('fct_tickets') }}),

triggers as (

    select
        customer_id,
        'detractor' as reason,
        'survey_response' as trigger_type,
        response_id as trigger_id,
        submitted_at as triggered_at,
        nps_score as trigger_score,
        comment as verbatim,
        primary_topic as topic,
        sentiment_label,
        touchpoint,
        channel
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
        0, subject, null, null, touchpoint, channel
    from tickets
    where satisfaction = 'bad'
    union all
    select
        customer_id, 'repeat_complaint', 'ticket', ticket_id, created_at, null, subject,
        null, null, touchpoint, channel
    from tickets
    where is_repeat_contact

),

final as (

    select * from triggers
    where customer_id is not null

)

select * from final
