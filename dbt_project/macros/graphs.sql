{#- Connected components, as two CTEs of a `with recursive` query: `reachable` (node_id,
    reachable_node_id), every node of `nodes` and what it reaches over `edges`
    (from_node_id, to_node_id; list both directions), and `component_anchors` (node_id,
    anchor_key), the smallest anchor_key of `nodes` (node_id, anchor_key) in its component. -#}
{% macro cx_component_anchors(nodes, edges) -%}
reachable (node_id, reachable_node_id) as (

    select
        node_id,
        node_id as reachable_node_id
    from {{ nodes }}
    union
    select
        reachable.node_id,
        {{ edges }}.to_node_id
    from reachable
    inner join {{ edges }}
        on reachable.reachable_node_id = {{ edges }}.from_node_id

),

component_anchors as (

    select
        reachable.node_id,
        min({{ nodes }}.anchor_key) as anchor_key
    from reachable
    inner join {{ nodes }}
        on reachable.reachable_node_id = {{ nodes }}.node_id
    group by reachable.node_id

)
{%- endmacro %}
