{{ config(materialized='incremental', unique_key='event_id') }}

-- Ticket event histories (help-desk audits, activities, chat transcripts): one row per event.
-- `ticket_feed` is the feed whose summary rows these tickets have, so event-derived metrics
-- meet the summary ticket on the same feed and ticket_ref.
with

source as (

    {{ cx_latest_version(source('raw', 'ticket_events'), ['event_ref']) }}

),

renamed as (

    select
        {{ cx_record_id('event_ref') }} as event_id,
        event_ref,
        _feed as feed,
        coalesce(ticket_feed, _feed) as ticket_feed,
        ticket_ref,
        event_at,
        lower(event_type) as event_type,
        coalesce(lower(author_role), 'system') as author_role,
        -- exports without a visibility flag (chat transcripts) only hold public messages
        coalesce(is_public, true) as is_public,
        lower(status_from) as status_from,
        lower(status_to) as status_to,
        lower(channel) as channel,
        _row_number as source_row_number,
        _loaded_at

    from source

)

select * from renamed
