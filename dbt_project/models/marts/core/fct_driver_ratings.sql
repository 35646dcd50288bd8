-- Driver ratings in long format: one row per response × attribute, beside the response's NPS.
with

ratings as (select * from {{ ref('stg_survey__driver_ratings') }}),

responses as (select * from {{ ref('fct_survey_responses') }}),

final as (

    select
        ratings.response_id || ':' || ratings.attribute as driver_rating_id,
        ratings.response_id,
        responses.customer_id,
        responses.touchpoint,
        responses.submitted_at,
        ratings.attribute,
        ratings.rating,
        ratings.scale_min,
        ratings.scale_max,
        ratings.rating_normalized,
        responses.nps_score
    from ratings
    inner join responses
        on ratings.response_id = responses.response_id

)

select * from final
