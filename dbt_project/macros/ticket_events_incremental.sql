{#- int_ticket_events_summarized, incremental. A ticket's metrics come from its whole event
    history, so a build summarizes again every ticket an event landed since touches: the
    ticket of each version of the event (a later version can move an event to another
    ticket, which loses it), read from the raw rows. A ticket left with no event is deleted
    by a post-hook. -#}

{% macro cx_event_tickets_landed() -%}
    select coalesce(versions.ticket_feed, versions._feed) || ':' || versions.ticket_ref
    from {{ source('raw', 'ticket_events') }} as versions
    where exists (
        select 1
        from {{ source('raw', 'ticket_events') }} as landed
        where
            landed._loaded_at >= {{ cx_incremental_since() }}
            and landed._feed = versions._feed
            and landed.event_ref = versions.event_ref
    )
{%- endmacro %}

{% macro cx_event_ticket_ids() -%}
    select distinct ticket_feed || ':' || ticket_ref as ticket_id
    from {{ ref('stg_service__ticket_events') }}
{%- endmacro %}
