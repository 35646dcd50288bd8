-- Every source record → its customer_id (records without any identifier get none): the
-- customer of its anchor's component (all identifiers of a record are in one component).
-- Incremental: only the records that are new or moved to another customer are written, and
-- _resolved_at says when; the facts rebuild the rows of the records moved since their last
-- build from it (macros/incremental.sql, cx_customer_changed_keys) instead of comparing
-- every row with this table. Only the records whose customer can have changed are resolved
-- again (macros/identity_incremental.sql, cx_identity_anchors_to_resolve). A moved record
-- keeps the customer it had before in _previous_customer_id: dim_customers finds the
-- customers that lost a record from it instead of counting every customer's records.
-- depends_on: {{ ref('int_identifiers_collected') }}
{{ config(
    materialized='incremental',
    unique_key='record_id',
    incremental_strategy='cx_record_key',
    cx_full_rebuild_check='fuzzy_merges_unrecorded',
    post_hook=["{{ cx_identity_store_fuzzy_merges() }}"],
) }}

with

record_anchors as (

    {% if is_incremental() %}
    {{ cx_identity_anchors_to_resolve(ref('int_identity_record_anchors')) }}
    {% else %}
    select * from {{ ref('int_identity_record_anchors') }}
    {% endif %}

),

components as (select * from {{ ref('int_identity_components_resolved') }}),

customers as (select * from {{ ref('int_identity_components_merged') }}),

resolved as (

    select
        record_anchors.record_id,
        record_anchors.record_type,
        customers.customer_id
    from record_anchors
    inner join components
        on record_anchors.anchor_node_id = components.node_id
    inner join customers
        on components.component_id = customers.component_id

),

final as (

    select
        resolved.record_id,
        {{ cx_record_key('resolved.record_id') }} as record_key,
        resolved.record_type,
        resolved.customer_id,
        {{ cx_run_started_at() }} as _resolved_at,
        {% if is_incremental() %}previous.customer_id{% else %}cast(null as varchar){% endif %}
            as _previous_customer_id
    from resolved
    {% if is_incremental() %}
    -- while the graph only grows, records are never dropped: a full rebuild drops them
    left join (
        select previous.record_id, previous.customer_id
        from {{ this }} as previous
        where {{ cx_record_lookup('previous', 'resolved', this) }}
    ) as previous
        on resolved.record_id = previous.record_id
    where previous.customer_id is distinct from resolved.customer_id
    {% endif %}

)

select * from final
-- written in record-type order: each fact looks up only its own type's records
-- (cx_resolved_records), and DuckDB skips the row groups holding other types
order by record_type
