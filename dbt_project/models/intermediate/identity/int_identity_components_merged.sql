-- Customers: the exact-match components, merged where the fuzzy rule paired two of their
-- CRM accounts (transitively). A merged customer is named after the most authoritative
-- anchor among its components, so a customer the fuzzy rule leaves alone keeps the
-- customer_id the exact rules gave it.
with recursive

components as (select * from {{ ref('int_identity_components_resolved') }}),

fuzzy_pairs as (select * from {{ ref('int_identity_fuzzy_pairs_matched') }}),

-- each component once: the row of its anchor node (a filter where grouping 3 M nodes into
-- 1 M components cost 0.7 s at SF10)
exact_components as (

    select
        component_id,
        anchor_key
    from components
    where node_id = anchor_node_id

),

component_edges as (

    select
        component_id as from_node_id,
        matched_component_id as to_node_id
    from fuzzy_pairs
    union
    select
        matched_component_id,
        component_id
    from fuzzy_pairs

),

linked_components as (

    select
        component_id as node_id,
        anchor_key
    from exact_components
    where component_id in (select component_edges.from_node_id from component_edges)

),

{{ cx_component_anchors('linked_components', 'component_edges') }},

final as (

    select
        exact_components.component_id,
        substr(coalesce(component_anchors.anchor_key, exact_components.anchor_key), 5) as anchor_node_id,
        {{ dbt.hash('substr(coalesce(component_anchors.anchor_key, exact_components.anchor_key), 5)') }}
            as customer_id,
        component_anchors.node_id is not null as is_fuzzy_merged
    from exact_components
    left join component_anchors
        on exact_components.component_id = component_anchors.node_id

)

select * from final
