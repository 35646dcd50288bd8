{#- fct_feedback_topics, incremental. A verbatim's topic rows are written again when:
    - it was annotated since the last build (`_annotated_at` of its topic or sentiment rows:
      its raw row landed again, or the taxonomy or the lexicon changed and every verbatim
      was annotated again; a verbatim left with no topic still has its sentiment row);
    - its response or ticket was built since (customer, touchpoint, time).
    Its rows this build did not write (the topics it lost, or every topic of a verbatim
    that is gone) are deleted by a post-hook, as are the rows of a ticket gone from
    fct_tickets (a conversation threaded into another, which nothing stamps). -#}

{#- The verbatims whose topic rows are written again. -#}
{% macro cx_feedback_to_write() -%}
    {%- set since = cx_incremental_since() -%}
    select feedback_id from {{ ref('stg_text__feedback_topics') }}
    where _annotated_at > {{ since }}
    union
    select feedback_id from {{ ref('stg_text__feedback_sentiment') }}
    where _annotated_at > {{ since }}
    union
    select response_id from {{ ref('fct_survey_responses') }}
    where _built_at > {{ since }}
    union
    select ticket_id from {{ ref('fct_tickets') }}
    where _built_at > {{ since }}
{%- endmacro %}

{#- Post-hook: after an incremental build, the rows of a verbatim written again that this
    build did not write, and the rows of tickets no longer in fct_tickets. -#}
{% macro cx_delete_unwritten_feedback_topics() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where
            (
                _built_at < {{ cx_run_started_at() }}
                and feedback_id in ({{ cx_feedback_to_write() }})
            )
            or (
                source_entity = 'support_tickets'
                and feedback_id not in (
                    -- a null in a not-in list would match nothing, and delete nothing
                    select ticket_id from {{ ref('fct_tickets') }} where ticket_id is not null
                )
            )
    {%- endif -%}
{%- endmacro %}
