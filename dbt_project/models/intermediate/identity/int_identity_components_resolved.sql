-- Identity resolution by the exact rules: identifiers that appear on one record belong to
-- one person; the connected components of that graph are the exact-match customers. Each
-- component is anchored on its most authoritative identifier: the identifier type whose
-- first rule comes first in the declared order (a CRM id before a person id before an
-- email before a phone before a social handle), then the smallest value.
--
-- The graph's edges are int_identity_edges: each record links the node it is anchored on to
-- every other node it carries.
--
-- Incremental: while the graph only grows (macros/identity_incremental.sql), components only
-- merge. The components holding an identifier of a record collected again since the last
-- build are resolved again, over their kept edges and the landed records' new ones; the
-- others stay. SF10, the model's query alone on a landed day: 2.5 s when it read the
-- identifiers of every record in scope (2.2 M of 27 M rows) and grouped them by record,
-- 1.2 s over the edges.
{{ config(materialized='incremental', unique_key='node_id') }}

with recursive

rules as (select * from {{ ref('int_identity_rules_enabled') }}),

{% if is_incremental() %}

landed_nodes as (

    select distinct
        node_id,
        identifier_type
    from {{ ref('int_identifiers_collected') }}
    where _loaded_at >= {{ cx_incremental_since() }}

),

-- the nodes whose component may change: the landed ones, and every node of a component
-- holding one (a record's identifiers are all in one component, so every record with an
-- identifier here has them all here)
scope_nodes as (

    select node_id from landed_nodes
    union
    select node_id
    from {{ this }}
    where component_id in (
        select previous.component_id
        from {{ this }} as previous
        inner join landed_nodes
            on previous.node_id = landed_nodes.node_id
    )

),

typed_nodes as (

    select
        previous.node_id,
        previous.identifier_type
    from {{ this }} as previous
    where previous.node_id in (select scope_nodes.node_id from scope_nodes)
    union
    select
        node_id,
        identifier_type
    from landed_nodes

),

-- an edge joins two nodes of one record, so of one component: both ends are in scope or
-- neither is (materialized: read twice below)
edges as materialized (

    select
        from_node_id,
        to_node_id
    from {{ ref('int_identity_edges') }}
    where from_node_id in (select scope_nodes.node_id from scope_nodes)

),

{% else %}

typed_nodes as (

    select distinct
        node_id,
        identifier_type
    from {{ ref('int_identifiers_collected') }}

),

edges as (select from_node_id, to_node_id from {{ ref('int_identity_edges') }}),

{% endif %}

-- materialized: the recursion reads it at every step (SF10 alone: 1.2 s, against 2.4–2.6 s
-- when each step scanned the edges table again)
undirected_edges as materialized (

    select from_node_id, to_node_id from edges
    union
    select to_node_id, from_node_id from edges

),

identifier_authority as (

    select
        identifier_type,
        min(rule_order) as authority_rank
    from rules
    group by identifier_type

),

nodes as (

    select
        typed_nodes.node_id,
        typed_nodes.identifier_type,
        -- fixed width, so that text order is rank order: '1001crm:…' < '1005email:…'
        cast(1000 + identifier_authority.authority_rank as {{ dbt.type_string() }})
        || typed_nodes.node_id as anchor_key
    from typed_nodes
    inner join identifier_authority
        on typed_nodes.identifier_type = identifier_authority.identifier_type

),

{{ cx_component_anchors('nodes', 'undirected_edges') }},

resolved as (

    select
        component_anchors.node_id,
        nodes.identifier_type,
        component_anchors.anchor_key,
        substr(component_anchors.anchor_key, 5) as anchor_node_id,
        {{ dbt.hash('substr(component_anchors.anchor_key, 5)') }} as component_id
    from component_anchors
    inner join nodes
        on component_anchors.node_id = nodes.node_id

),

final as (

    select
        resolved.*,
        -- when the node joined its component (a component is named after its anchor, so one
        -- that merged has another id): the records anchored on the nodes that moved since are
        -- resolved again (int_records_resolved)
        {% if is_incremental() %}
        case
            when previous.component_id = resolved.component_id then previous._moved_at
            else {{ cx_run_started_at() }}
        end as _moved_at
        {% else %}
        {{ cx_run_started_at() }} as _moved_at
        {% endif %}
    from resolved
    {% if is_incremental() %}
    left join {{ this }} as previous
        on resolved.node_id = previous.node_id
    {% endif %}

)

select * from final
