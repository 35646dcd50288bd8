-- One row per invitation with whether it was answered: response rates are attributed to
-- the send date (METRICS.md). Incremental (macros/incremental.sql): an invitation is
-- rebuilt when it landed again, when a response to it landed, or when identity resolution
-- moved it to another customer.
{{ config(materialized='incremental', unique_key='invitation_id') }}

with

records as (

    {{ cx_resolved_records(['survey_invitation']) }}

),

{% if is_incremental() %}

touched as (

    select invitation_id
    from {{ ref('stg_survey__invitations') }}
    where _loaded_at >= {{ cx_incremental_since() }}
    union
    select invitations.invitation_id
    from {{ ref('stg_survey__invitations') }} as invitations
    inner join {{ ref('stg_survey__responses') }} as responses
        on invitations.invitation_ref = responses.invitation_ref
    where responses._loaded_at >= {{ cx_incremental_since() }}
    union
    {{ cx_customer_changed_keys('invitation_id') }}

),

{% endif %}

invitations as (

    select *
    from {{ ref('stg_survey__invitations') }}
    {% if is_incremental() %}
    where invitation_id in (select touched.invitation_id from touched)
    {% endif %}

),

responses as (

    select *
    from {{ ref('stg_survey__responses') }}
    {% if is_incremental() %}
    where invitation_ref in (select invitations.invitation_ref from invitations)
    {% endif %}

),

answers as (

    select
        invitation_ref,
        count(*) as response_count,
        max(case when is_finished then 1 else 0 end) = 1 as has_completed_response
    from responses
    where invitation_ref is not null
    group by invitation_ref

),

final as (

    select
        invitations.invitation_id,
        records.customer_id,
        invitations.invitation_ref,
        invitations.feed,
        invitations.survey_ref,
        invitations.sent_at,
        invitations.sent_date,
        invitations.invitation_channel,
        invitations.touchpoint,
        coalesce(answers.response_count, 0) > 0 as is_started,
        coalesce(answers.has_completed_response, false) as is_completed,
        {{ cx_built_at() }}
    from invitations
    left join answers
        on invitations.invitation_ref = answers.invitation_ref
    left join records
        on invitations.invitation_id = records.record_id

)

select * from final
