-- One row per call offered to a queue, with handle time and service-level flags.
-- Incremental: a call is written again when it landed again or its contact (customer and
-- repeat flag) was sequenced again since the last build.
{{ config(materialized='incremental', unique_key='call_id') }}

with

calls as (

    select *
    from {{ ref('stg_service__calls') }}
    {% if is_incremental() %}
    where
        _loaded_at >= {{ cx_incremental_since() }}
        or call_id in (
            select contacts.contact_id from {{ ref('int_contacts_sequenced') }} as contacts
            where contacts.contact_type = 'call' and contacts._built_at > {{ cx_incremental_since() }}
        )
    {% endif %}

),

contacts as (select * from {{ ref('int_contacts_sequenced') }}),

final as (

    select
        calls.call_id,
        contacts.customer_id,
        calls.call_ref,
        calls.feed,
        calls.queue,
        calls.touchpoint,
        calls.started_at,
        cast(calls.started_at as date) as started_date,
        calls.wait_seconds,
        calls.talk_seconds,
        calls.hold_seconds,
        calls.wrap_seconds,
        case
            when not calls.is_abandoned
                then calls.talk_seconds + calls.hold_seconds + calls.wrap_seconds
        end as handle_seconds,
        calls.is_abandoned,
        not calls.is_abandoned and calls.wait_seconds <= 20 as is_answered_within_service_level,
        contacts.is_repeat_contact,
        calls.agent_ref,
        {{ cx_built_at() }}
    from calls
    left join contacts
        on calls.call_id = contacts.contact_id

)

select * from final
