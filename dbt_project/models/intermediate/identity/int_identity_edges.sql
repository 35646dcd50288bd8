-- The edges of the identity graph, each pair of identifier nodes once: a record links the
-- node it is anchored on (int_identity_record_anchors) to every other node it carries. The
-- exact components (int_identity_components_resolved) are the connected components of these
-- edges; at SF10, 2.2 M pairs stand for the 27 M identifier rows of 18 M records.
--
-- Incremental: the records collected again since the last build add the pairs not kept yet.
-- None is ever taken away while the graph only grows (macros/identity_incremental.sql): a
-- record that loses an identifier rebuilds identity in full, so a pair kept from a record's
-- former anchor still joins two nodes that record carries.
{{ config(materialized='incremental', incremental_strategy='append') }}

with

identifiers as (

    select
        record_id,
        node_id
    from {{ ref('int_identifiers_collected') }}
    {% if is_incremental() %}
    where _loaded_at >= {{ cx_incremental_since() }}
    {% endif %}

),

anchors as (

    select
        record_id,
        anchor_node_id
    from {{ ref('int_identity_record_anchors') }}
    {% if is_incremental() %}
    -- all rows of a record land together: its anchor is as new as its identifiers
    where _loaded_at >= {{ cx_incremental_since() }}
    {% endif %}

),

pairs as (

    select distinct
        anchors.anchor_node_id as from_node_id,
        identifiers.node_id as to_node_id
    from identifiers
    inner join anchors
        on identifiers.record_id = anchors.record_id
    where identifiers.node_id <> anchors.anchor_node_id

)

select pairs.*
from pairs
{% if is_incremental() %}
where
    not exists (
        select 1
        from {{ this }} as kept
        where
            kept.from_node_id = pairs.from_node_id
            and kept.to_node_id = pairs.to_node_id
    )
{% endif %}
