{{ config(materialized='incremental', unique_key='call_id') }}

with

source as (

    {{ cx_latest_version(source('raw', 'calls'), ['call_ref']) }}

),

renamed as (

    select
        {{ cx_record_id('call_ref') }} as call_id,
        call_ref,
        _feed as feed,
        customer_ref,
        {{ normalize_phone('caller_phone') }} as phone_e164,
        coalesce(queue, 'unassigned') as queue,
        started_at,
        coalesce(wait_seconds, 0) as wait_seconds,
        coalesce(talk_seconds, 0) as talk_seconds,
        coalesce(hold_seconds, 0) as hold_seconds,
        coalesce(wrap_seconds, 0) as wrap_seconds,
        coalesce(is_abandoned, false) as is_abandoned,
        agent_ref,
        coalesce(lower(touchpoint), 'support') as touchpoint,
        _loaded_at

    from source

)

select * from renamed
