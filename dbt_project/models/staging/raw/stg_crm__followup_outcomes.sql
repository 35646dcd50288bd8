{{ config(materialized='incremental', unique_key='outcome_id') }}

with

source as (

    {{ cx_latest_version(source('raw', 'followup_outcomes'), ['outcome_ref']) }}

),

renamed as (

    select
        {{ cx_record_id('outcome_ref') }} as outcome_id,
        outcome_ref,
        _feed as feed,
        trim(case_ref) as case_id,
        outcome_at,
        lower(trim(outcome_status)) as outcome_status,
        agent_ref,
        outcome_note,
        _loaded_at

    from source

)

select * from renamed
