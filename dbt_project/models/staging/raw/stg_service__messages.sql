{{ config(materialized='incremental', unique_key='message_id') }}

-- Conversation messages (social, messaging): one row per message. Reply ids exported as
-- floats by some tools ("3.0") are normalized back to the id they reference.
with

source as (

    {{ cx_latest_version(source('raw', 'conversation_messages'), ['message_ref']) }}

),

renamed as (

    select
        {{ cx_record_id('message_ref') }} as message_id,
        message_ref,
        _feed as feed,
        nullif({{ cx_regexp_replace('trim(in_reply_to_ref)', '\\.0$', '') }}, '') as in_reply_to_ref,
        author_ref,
        is_inbound,
        sent_at,
        message_text,
        coalesce(lower(channel), 'social') as channel,
        coalesce(lower(touchpoint), 'support') as touchpoint,
        _loaded_at

    from source

)

select * from renamed
