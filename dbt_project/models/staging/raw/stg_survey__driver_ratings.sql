{{ config(materialized='incremental', unique_key=['response_id', 'attribute']) }}

with

source as (

    {{ cx_latest_version(source('raw', 'survey_driver_ratings'), ['response_ref', 'attribute']) }}

),

renamed as (

    select
        {{ cx_record_id('response_ref') }} as response_id,
        lower(attribute) as attribute,
        rating,
        scale_min,
        scale_max,
        -- ratings on different scales are compared on 0..1
        case
            when scale_max > scale_min
                then 1.0 * (rating - scale_min) / (scale_max - scale_min)
        end as rating_normalized,
        _loaded_at

    from source

)

select * from renamed
