-- One row per invitation with whether it was answered: response rates are attributed to
-- the send date (METRICS.md).
with

invitations as (select * from {{ ref('stg_survey__invitations') }}),

responses as (select * from {{ ref('stg_survey__responses') }}),

records as (select * from {{ ref('int_records_resolved') }}),

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
        coalesce(answers.has_completed_response, false) as is_completed
    from invitations
    left join answers
        on invitations.invitation_ref = answers.invitation_ref
    left join records
        on invitations.invitation_id = records.record_id

)

select * from final
