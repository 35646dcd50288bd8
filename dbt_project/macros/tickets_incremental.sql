{#- fct_tickets, incremental. A ticket is measured again when:
    - its row in int_tickets_unioned differs from the one written (its help-desk row, event
      history or conversation changed: that model is rebuilt in full, so its rows are
      compared, which costs a fraction of measuring every ticket);
    - its contact was sequenced again (customer, repeat and next-contact flags);
    - its SLA verdict is still open (null): it depends on now;
    - one of its moments fell off the business calendar (dim_dates starts 1,100 days before
      the build), which a full build reads as no business minutes, while some are written.
    A ticket gone from int_tickets_unioned (a conversation threaded into another) is deleted
    by a post-hook. -#}

{% macro cx_ticket_source_columns() -%}
    ticket_id, ticket_ref, feed, ticket_source, created_at, first_response_at, first_solved_at,
    solved_at, reopen_count, reply_count, is_agent_created, ticket_status, priority, team,
    channel, touchpoint, subject, satisfaction, source_first_reply_minutes,
    source_first_reply_business_minutes, source_first_resolution_minutes,
    source_full_resolution_minutes, source_full_resolution_business_minutes
{%- endmacro %}

{% macro cx_tickets_to_measure(tickets, contacts, business_windows) -%}
    select ticket_id from (
        select {{ cx_ticket_source_columns() }} from {{ tickets }}
        except
        select {{ cx_ticket_source_columns() }} from {{ this }}
    )
    union
    select contact_id from {{ contacts }}
    where contact_type = 'ticket' and _built_at > {{ cx_incremental_since() }}
    union
    select ticket_id from {{ this }}
    where is_sla_breached is null
    union
    select ticket_id from {{ this }}
    where
        least(created_at, first_response_at, first_solved_at, solved_at)
        < (select min(window_start_at) from {{ business_windows }})
        and (
            first_response_business_minutes is not null
            or first_resolution_business_minutes is not null
            or resolution_business_minutes is not null
            or is_sla_breached is not null
        )
{%- endmacro %}

{% macro cx_ticket_ids() -%}
    select ticket_id from {{ ref('int_tickets_unioned') }}
{%- endmacro %}
