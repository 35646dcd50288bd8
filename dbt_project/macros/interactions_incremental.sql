{#- fct_interactions, incremental: tickets and calls come from models rebuilt in full, so
    their interactions are compared with the ones written, and the ones gone upstream are
    deleted (a post-hook, `cx_delete_gone_keys`). -#}

{% macro cx_service_contact_ids() -%}
    select ticket_id as interaction_id from {{ ref('fct_tickets') }}
    union all
    select call_id from {{ ref('fct_calls') }}
{%- endmacro %}

{% macro cx_service_contact_scope() -%}
    interaction_type in ('ticket', 'call')
{%- endmacro %}
