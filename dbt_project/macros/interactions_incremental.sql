{#- fct_interactions, incremental: tickets come from a model rebuilt in full, so their
    interactions are compared with the ones written, and the ones gone upstream (a
    conversation threaded into another) are deleted (a post-hook, `cx_delete_gone_keys`).
    Calls are stamped (_built_at) and lose rows only in a full build, which rebuilds this
    model in full too. -#}

{% macro cx_ticket_ids() -%}
    select ticket_id as interaction_id from {{ ref('fct_tickets') }}
{%- endmacro %}

{% macro cx_ticket_scope() -%}
    interaction_type = 'ticket'
{%- endmacro %}
