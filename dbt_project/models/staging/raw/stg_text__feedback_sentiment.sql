with

source as (

    select * from {{ source('raw', 'feedback_sentiment') }}

),

renamed as (

    select
        feed || ':' || source_ref as feedback_id,
        source_entity,
        language as detected_language,
        sentiment_score,
        sentiment_label,
        method as sentiment_method,
        lexicon_version,
        _annotated_at

    from source

)

select * from renamed
