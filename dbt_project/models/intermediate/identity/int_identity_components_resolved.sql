-- Deterministic identity resolution: identifiers that appear on one record belong to one
-- person; the connected components of that graph are customers. Each component is named
-- after its most authoritative identifier (a CRM id before an email before a phone).
with recursive

identifiers as (select * from {{ ref('int_identifiers_collected') }}),

record_anchors as (

    select
        record_id,
        min(node_id) as anchor_node_id
    from identifiers
    group by record_id

),

edges as (

    select distinct
        record_anchors.anchor_node_id as from_node_id,
        identifiers.node_id as to_node_id
    from identifiers
    inner join record_anchors
        on identifiers.record_id = record_anchors.record_id
    where identifiers.node_id <> record_anchors.anchor_node_id

),

undirected_edges as (

    select from_node_id, to_node_id from edges
    union
    select to_node_id, from_node_id from edges

),

nodes as (

    select distinct node_id, identifier_type from identifiers

),

reachable (node_id, reachable_node_id) as (

    select
        node_id,
        node_id as reachable_node_id
    from nodes
    union
    select
        reachable.node_id,
        undirected_edges.to_node_id
    from reachable
    inner join undirected_edges
        on reachable.reachable_node_id = undirected_edges.from_node_id

),

ranked_members as (

    select
        reachable.node_id,
        case nodes.identifier_type when 'crm' then 1 when 'person' then 2 when 'email' then 3 else 4 end
            as authority_rank,
        reachable.reachable_node_id
    from reachable
    inner join nodes
        on reachable.reachable_node_id = nodes.node_id

),

component_anchor as (

    select
        node_id,
        min(cast(authority_rank as {{ dbt.type_string() }}) || reachable_node_id) as anchor_key
    from ranked_members
    group by node_id

),

final as (

    select
        component_anchor.node_id,
        nodes.identifier_type,
        substr(component_anchor.anchor_key, 2) as anchor_node_id,
        {{ dbt.hash('substr(component_anchor.anchor_key, 2)') }} as customer_id
    from component_anchor
    inner join nodes
        on component_anchor.node_id = nodes.node_id

)

select * from final
