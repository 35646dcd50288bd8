-- The driver ratings one row per response: its touchpoint, time and NPS score and one column
-- per rated attribute (`rating__<attribute>`), what the key-driver analysis fits its
-- regressions on (analytics/key_drivers.py: 2 M responses instead of 9 M ratings at SF10).
-- Incremental by response: the responses whose ratings were built since are written again
-- (fct_driver_ratings replaces a response's ratings together). An attribute rated for the
-- first time adds its column, empty for the responses before, which did not rate it.
{{ config(materialized='incremental', unique_key='response_id') }}

{%- set attributes = cx_driver_attributes() %}

with

ratings as (

    select * from {{ ref('fct_driver_ratings') }}
    {% if is_incremental() %}
    where _built_at > {{ cx_incremental_since() }}
    {% endif %}

),

final as (

    select
        response_id,
        -- a response's rows share its touchpoint, time and score
        any_value(touchpoint) as touchpoint,
        any_value(submitted_at) as submitted_at,
        any_value(nps_score) as nps_score,
        {%- for attribute in attributes %}
        max(case when attribute = '{{ attribute | replace("'", "''") }}' then rating end)
            as {{ cx_driver_rating_column(attribute) }},
        {%- endfor %}
        {{ cx_built_at() }}
    from ratings
    group by response_id

)

select * from final
