with

source as (

    select * from {{ source('raw', 'feedback_topics') }}

),

renamed as (

    select
        feed || ':' || source_ref || ':' || topic as feedback_topic_id,
        feed || ':' || source_ref as feedback_id,
        source_entity,
        topic,
        confidence,
        taxonomy_version,
        method as topic_method,
        _annotated_at

    from source

)

select * from renamed
