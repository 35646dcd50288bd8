{#- fct_feedback_topics, incremental. A verbatim's topic row is written again when:
    - its annotation differs from the one written (annotations are loaded without a load
      time per row, and a taxonomy change annotates the same verbatims again in place, so
      they are compared, one pass over two narrow tables);
    - its response or ticket was built since the last build (customer, touchpoint, time).
    A topic row whose annotation or verbatim is gone (a conversation ticket threaded into
    another leaves fct_tickets in an incremental build) is deleted by a post-hook. -#}

{% macro cx_feedback_topic_columns() -%}
    feedback_topic_id, feedback_id, source_entity, topic, confidence, taxonomy_version,
    topic_method
{%- endmacro %}

{% macro cx_feedback_topics_to_write(topics) -%}
    select feedback_topic_id from (
        select {{ cx_feedback_topic_columns() }} from {{ topics }}
        except
        select {{ cx_feedback_topic_columns() }} from {{ this }}
    )
    union
    select topics.feedback_topic_id
    from {{ topics }} as topics
    where topics.feedback_id in (
        select response_id from {{ ref('fct_survey_responses') }}
        where _built_at > {{ cx_incremental_since() }}
        union all
        select ticket_id from {{ ref('fct_tickets') }}
        where _built_at > {{ cx_incremental_since() }}
    )
{%- endmacro %}

{#- The topic rows there are now: annotations of a verbatim that exists. -#}
{% macro cx_feedback_topic_ids() -%}
    select topics.feedback_topic_id
    from {{ ref('stg_text__feedback_topics') }} as topics
    where topics.feedback_id in (
        select response_id from {{ ref('fct_survey_responses') }}
        union all
        select ticket_id from {{ ref('fct_tickets') }}
    )
{%- endmacro %}
