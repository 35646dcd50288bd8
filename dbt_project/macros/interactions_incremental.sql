{#- fct_interactions, incremental: a ticket gone upstream (a conversation threaded into
    another) leaves fct_tickets in an incremental build, so its interaction is deleted too (a
    post-hook, `cx_delete_gone_keys`). Every other source loses rows only in a full build,
    which rebuilds this model in full too. -#}

{% macro cx_ticket_interaction_ids() -%}
    select ticket_id as interaction_id from {{ ref('fct_tickets') }}
{%- endmacro %}

{% macro cx_ticket_scope() -%}
    interaction_type = 'ticket'
{%- endmacro %}
