-- Driver ratings in long format: one row per response × attribute, beside the response's NPS.
-- Incremental (macros/incremental.sql), response by response: the ratings of a response
-- are rebuilt when a rating or the response landed again, or when identity resolution moved
-- the response to another customer.
{{ config(materialized='incremental', unique_key='response_id') }}
-- depends_on: {{ ref('stg_survey__responses') }}
-- depends_on: {{ ref('int_records_resolved') }}

with

{% if is_incremental() %}

touched as (

    select response_id
    from {{ ref('stg_survey__driver_ratings') }}
    where _loaded_at >= {{ cx_incremental_since() }}
    union
    select response_id
    from {{ ref('stg_survey__responses') }}
    where _loaded_at >= {{ cx_incremental_since() }}
    union
    {{ cx_customer_changed_keys('response_id') }}

),

{% endif %}

ratings as (

    select *
    from {{ ref('stg_survey__driver_ratings') }}
    {% if is_incremental() %}
    where response_id in (select touched.response_id from touched)
    {% endif %}

),

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
        responses.nps_score,
        {{ cx_built_at() }}
    from ratings
    inner join responses
        on ratings.response_id = responses.response_id

)

select * from final
