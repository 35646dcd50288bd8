-- Every source record → its customer_id (records without any identifier get none).
with

identifiers as (select * from {{ ref('int_identifiers_collected') }}),

components as (select * from {{ ref('int_identity_components_resolved') }}),

customers as (select * from {{ ref('int_identity_components_merged') }}),

final as (

    select
        identifiers.record_id,
        min(identifiers.record_type) as record_type,
        min(customers.customer_id) as customer_id
    from identifiers
    inner join components
        on identifiers.node_id = components.node_id
    inner join customers
        on components.component_id = customers.component_id
    group by identifiers.record_id

)

select * from final
