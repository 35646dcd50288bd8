-- Every source record → its customer_id (records without any identifier get none): the
-- customer of its anchor's component (all identifiers of a record are in one component).
with

record_anchors as (select * from {{ ref('int_identity_record_anchors') }}),

components as (select * from {{ ref('int_identity_components_resolved') }}),

customers as (select * from {{ ref('int_identity_components_merged') }}),

final as (

    select
        record_anchors.record_id,
        record_anchors.record_type,
        customers.customer_id
    from record_anchors
    inner join components
        on record_anchors.anchor_node_id = components.node_id
    inner join customers
        on components.component_id = customers.component_id

)

select * from final
