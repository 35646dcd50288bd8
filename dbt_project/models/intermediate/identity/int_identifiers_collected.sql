-- Every identifier every record carries, one row per record × identifier, credited to the
-- first enabled identity rule (int_identity_rules_enabled) that links on it. A rule only
-- says which value of which record it reads; its identifier type (the seed's) names the
-- node, so rules of one type (a CRM id on a CRM account, on a survey, on a reviewed order)
-- link to each other. Incremental (macros/identity_incremental.sql): the records a landed
-- row touches are collected again, unless a landed row takes an edge away from the graph.
{{ config(
    materialized='incremental',
    unique_key='record_id',
    incremental_strategy='cx_record_key',
    cx_full_rebuild_check='identity_graph_shrank',
    post_hook=["{{ cx_identity_store_state() }}"],
) }}

with

record_identifiers as (

    {{ cx_identity_record_identifiers(cx_incremental_since() if is_incremental() else none) }}

),

record_rules as (

    {{ cx_identity_record_rules() }}

),

-- not materialized: each part below reads only the rows it needs, where one table of every
-- row would be written first (SF10: 27 M rows)
present as not materialized (

    select
        present.*,
        -- a pair the list does not know is grouped: slower, never wrong
        coalesce(record_rules.shares_type, true) as shares_type
    from ({{ cx_identity_nodes_present('record_identifiers') }}) as present
    left join record_rules
        on present.record_type = record_rules.record_type and present.rule_name = record_rules.rule_name

),

-- rules apply in order: an identifier two rules find on one record is credited to the first.
-- Only records read by two rules of one identifier type (record_rules.shares_type) can carry
-- one twice, so only their rows are grouped (SF10 full build: 31 s against 52 s for grouping
-- all 27 M rows)
{%- set node_of_record = ['record_id', 'record_type', 'node_id', 'identifier_type', 'identifier_value'] %}

credited as (

    select
        {%- for column in node_of_record %}
        present.{{ column }},
        {%- endfor %}
        present.rule_order,
        present._loaded_at
    from present
    where not present.shares_type
    union all
    -- one group per record and identifier (a record id names one record type, a node id one
    -- identifier type and value): grouping spills to disk where a window over millions of
    -- rows would not, and keeps the memory of a large build bounded
    select
        {%- for column in node_of_record %}
        present.{{ column }},
        {%- endfor %}
        min(present.rule_order) as rule_order,
        max(present._loaded_at) as _loaded_at
    from present
    where present.shares_type
    group by all

),

-- placeholders (macros/identity_incremental.sql, cx_identity_junk_nodes): counted from the
-- CRM accounts' rows in a full build (a count of distinct records, which needs them grouped by
-- nothing else); an incremental build only runs while they are the last build's
junk_identifiers as (

    {% if is_incremental() %}
    select node_id from {{ cx_identity_junk_relation() }}
    {% else %}
    {{ cx_identity_junk_nodes('present') }}
    {% endif %}

),

final as (

    select
        credited.record_id,
        {{ cx_record_key('credited.record_id') }} as record_key,
        credited.record_type,
        rules.rule_name,
        credited.rule_order,
        credited.identifier_type,
        credited.identifier_value,
        credited.node_id,
        -- when the last row behind this identifier of this record landed
        credited._loaded_at,
        {{ cx_built_at() }}
    from credited
    inner join {{ ref('int_identity_rules_enabled') }} as rules
        on credited.rule_order = rules.rule_order
    left join junk_identifiers
        on credited.node_id = junk_identifiers.node_id
    where junk_identifiers.node_id is null

)

select * from final
