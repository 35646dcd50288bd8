-- One row per verbatim × topic (survey comments and ticket subjects), with the customer,
-- touchpoint and time of the feedback: what customers talk about, by taxonomy version.
-- Incremental: only the topic rows of verbatims annotated or built since the last build are
-- written (macros/feedback_topics_incremental.sql).
-- depends_on: {{ ref('stg_text__feedback_sentiment') }}
{{ config(
    materialized='incremental',
    unique_key='feedback_topic_id',
    post_hook=["{{ cx_delete_unwritten_feedback_topics() }}"],
) }}

with

annotations as (select * from {{ ref('stg_text__feedback_topics') }}),

topics as (

    select * from annotations
    {% if is_incremental() %}
    where feedback_id in ({{ cx_feedback_to_write() }})
    {% endif %}

),

responses as (select * from {{ ref('fct_survey_responses') }}),

tickets as (select * from {{ ref('fct_tickets') }}),

feedback as (

    select
        response_id as feedback_id,
        customer_id,
        touchpoint,
        channel,
        submitted_at as occurred_at,
        sentiment_label
    from responses
    union all
    select
        ticket_id,
        customer_id,
        touchpoint,
        channel,
        created_at,
        null as sentiment_label
    from tickets

),

final as (

    select
        topics.feedback_topic_id,
        topics.feedback_id,
        topics.source_entity,
        feedback.customer_id,
        feedback.touchpoint,
        feedback.channel,
        feedback.occurred_at,
        feedback.sentiment_label,
        topics.topic,
        topics.confidence,
        topics.taxonomy_version,
        topics.topic_method,
        {{ cx_built_at() }}
    from topics
    inner join feedback
        on topics.feedback_id = feedback.feedback_id

)

select * from final
