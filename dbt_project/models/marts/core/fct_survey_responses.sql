-- One row per survey response with its customer and the NPS / CSAT / CES classifications
-- of METRICS.md. Scores outside their declared scale never get here (quarantined on load).
-- Incremental (macros/incremental.sql): a response is rebuilt when it landed again, when its
-- invitation landed, or when identity resolution moved it to another customer. Its text
-- annotations change only with its text or with the lexicon and taxonomy, which are part
-- of the code a change of which rebuilds everything (orchestration/incremental.py).
{{ config(materialized='incremental', unique_key='response_id') }}

with

-- not materialized: read where used (DuckDB would first copy the 5 M invitations at SF10)
invitations as not materialized (select * from {{ ref('stg_survey__invitations') }}),

records as (

    {{ cx_resolved_records(['survey_response']) }}

),

{% if is_incremental() %}

touched as (

    select response_id
    from {{ ref('stg_survey__responses') }}
    where _loaded_at >= {{ cx_incremental_since() }}
    union
    select responses.response_id
    from {{ ref('stg_survey__responses') }} as responses
    inner join invitations
        on responses.invitation_ref = invitations.invitation_ref
    where invitations._loaded_at >= {{ cx_incremental_since() }}
    union
    {{ cx_customer_changed_keys('response_id') }}

),

{% endif %}

responses as (

    select *
    from {{ ref('stg_survey__responses') }}
    {% if is_incremental() %}
    where response_id in (select touched.response_id from touched)
    {% endif %}

),

sentiment as (

    select *
    from {{ ref('stg_text__feedback_sentiment') }}
    {% if is_incremental() %}
    where feedback_id in (select responses.response_id from responses)
    {% endif %}

),

topics as (

    select *
    from {{ ref('stg_text__feedback_topics') }}
    {% if is_incremental() %}
    where feedback_id in (select responses.response_id from responses)
    {% endif %}

),

-- the verbatim's most confident topic (ties: alphabetical)
primary_topics as (

    select
        feedback_id,
        topic
    from (
        select
            feedback_id,
            topic,
            row_number() over (partition by feedback_id order by confidence desc, topic asc) as topic_rank
        from topics
    ) as ranked
    where topic_rank = 1

),

final as (

    select
        responses.response_id,
        records.customer_id,
        invitations.invitation_id,
        responses.response_ref,
        responses.feed,
        responses.survey_ref,
        invitations.sent_at as invitation_sent_at,
        responses.started_at,
        responses.submitted_at,
        responses.submitted_date,
        responses.is_finished,
        responses.touchpoint,
        responses.channel,
        responses.nps_score,
        {{ nps_category('responses.nps_score') }} as nps_category,
        responses.nps_score >= 9 as is_promoter,
        responses.nps_score between 7 and 8 as is_passive,
        responses.nps_score <= 6 as is_detractor,
        responses.csat_score,
        responses.csat_score >= 4 as is_csat_satisfied,
        responses.ces_score,
        responses.ces_score >= 5 as is_ces_easy,
        responses.comment,
        responses.language,
        sentiment.sentiment_score,
        sentiment.sentiment_label,
        primary_topics.topic as primary_topic,
        responses.source_nps_group,
        {{ cx_built_at() }}
    from responses
    left join invitations
        on responses.invitation_ref = invitations.invitation_ref
    left join records
        on responses.response_id = records.record_id
    left join sentiment
        on responses.response_id = sentiment.feedback_id
    left join primary_topics
        on responses.response_id = primary_topics.feedback_id

)

select * from final
