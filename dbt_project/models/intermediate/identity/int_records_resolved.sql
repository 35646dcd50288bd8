-- Every source record → its customer_id (records without any identifier get none).
with

identifiers as (select * from {{ ref('int_identifiers_collected') }}),

components as (select * from {{ ref('int_identity_components_resolved') }}),

final as (

    select
        identifiers.record_id,
        min(identifiers.record_type) as record_type,
        min(components.customer_id) as customer_id
    from identifiers
    inner join components
        on identifiers.node_id = components.node_id
    group by identifiers.record_id

)

select * from final
