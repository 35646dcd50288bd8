{#- A data test configured `where: latest_build` checks only the rows no passing run of it
    has checked: the rows the model's latest build wrote (its largest `_built_at`: every row
    after a full build, the rows written after an incremental one), and those written by
    any build since the test last passed (a build whose tests failed published nothing, and
    its rows are checked again by the next). Only for checks a build cannot break in rows it
    did not write:
    - uniqueness of the key an incremental build replaces rows by (delete+insert removes the
      key's old rows before inserting its new ones), or of a column that key determines;
    - a relationship to a parent that loses rows only in a full build, or by a post-hook
      that logs the keys it deletes (`cx_delete_logged`: dim_customers deletes a customer
      merged into another). Such a test also checks the child rows naming a key the parent
      lost since the test last passed, and every child row when the parent was rebuilt in
      full since.
    `where: latest_resolution` does the same by `_resolved_at`, the stamp of
    int_records_resolved (the rows its latest build wrote: the records new or moved).
    `where: latest_loads` does it for an incremental staging model, whose rows carry the
    load time of their raw row instead of a build stamp: its latest build wrote the rows
    loaded since the build before it (dbt_state.incremental_builds), or every row when it
    was a full build or no build before it is logged; the rows loaded since the test last
    passed are checked too, or every row when the model was rebuilt in full since.
    `where: latest_annotation` does the same by `_annotated_at`, the stamp of the text
    annotations (ingestion/text/annotate.py replaces every row of a verbatim it annotates
    again: a key repeats only among the rows of one annotation).
    A test that never passed (or whose passes are not recorded) checks every row.
    Any other `where` is dbt's own. -#}

{% macro cx_test_passes_relation() -%}
    dbt_state.test_passes
{%- endmacro %}

{% macro cx_removed_keys_relation() -%}
    dbt_state.removed_keys
{%- endmacro %}

{#- on-run-start: each data test's last pass (the start of the run it passed in) and the
    keys post-hooks deleted from models (`cx_delete_logged`). -#}
{% macro cx_create_test_state() -%}
    create schema if not exists dbt_state;
    create table if not exists {{ cx_test_passes_relation() }} (
        test_id varchar not null,
        passed_at timestamp not null
    );
    create table if not exists {{ cx_removed_keys_relation() }} (
        model_name varchar not null,
        key_column varchar not null,
        key_value varchar not null,
        removed_at timestamp not null
    )
{%- endmacro %}

{#- on-run-end: the data tests that passed in this run passed at its start (the rows they
    read were all written by then). Removed keys every scoped relationship test has
    passed since are forgotten. -#}
{% macro cx_record_test_passes(results) -%}
    {%- if not execute or flags.WHICH not in ('build', 'test') -%}
        {{ return('') }}
    {%- endif -%}
    {%- set passed = [] -%}
    {%- for result in results
        if result.node.resource_type == 'test' and result.status == 'pass' -%}
        {%- do passed.append("'" ~ result.node.unique_id ~ "'") -%}
    {%- endfor -%}
    {%- set scoped = [] -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'test' and cx_scopes_removed_parent_keys(node) -%}
        {%- do scoped.append("'" ~ node.unique_id ~ "'") -%}
    {%- endfor -%}
    {%- if passed %}
    delete from {{ cx_test_passes_relation() }} where test_id in ({{ passed | join(', ') }});
    insert into {{ cx_test_passes_relation() }}
    select unnest([{{ passed | join(', ') }}]), {{ cx_run_started_at() }};
    {%- endif %}
    {%- if scoped %}
    delete from {{ cx_removed_keys_relation() }}
    where removed_at <= (
        select case when count(distinct test_id) = {{ scoped | length }} then min(passed_at) end
        from {{ cx_test_passes_relation() }}
        where test_id in ({{ scoped | join(', ') }})
    )
    {%- endif %}
{%- endmacro %}

{#- The scopes above, each with the column its rows are stamped by. -#}
{% macro cx_test_scope_stamps() -%}
    {{ return({
        'latest_build': '_built_at',
        'latest_resolution': '_resolved_at',
        'latest_loads': '_loaded_at',
        'latest_annotation': '_annotated_at',
    }) }}
{%- endmacro %}

{#- Whether a test node is a relationships test scoped by `where` (its checks include the
    keys its parent lost). -#}
{% macro cx_scopes_removed_parent_keys(node) -%}
    {{ return(
        (node.get('test_metadata') or {}).get('name') == 'relationships'
        and node.get('config', {}).get('where') in cx_test_scope_stamps()
    ) }}
{%- endmacro %}

{#- The start of the run this test last passed in, or none. -#}
{% macro cx_test_last_pass() -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set state = adapter.get_relation(database=target.database, schema='dbt_state', identifier='test_passes') -%}
    {%- if state is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set found = run_query(
        "select cast(max(passed_at) as varchar) from " ~ cx_test_passes_relation()
        ~ " where test_id = '" ~ model.unique_id ~ "'"
    ) -%}
    {{ return(found.rows[0][0]) }}
{%- endmacro %}

{#- For a scoped relationships test: `(parent node, parent key column, child column)`. -#}
{% macro cx_relationship_parent(relation) -%}
    {%- set kwargs = model.test_metadata.kwargs -%}
    {%- set parents = [] -%}
    {%- for unique_id in model.depends_on.nodes
        if unique_id in graph.nodes and graph.nodes[unique_id].alias != relation.identifier -%}
        {%- do parents.append(graph.nodes[unique_id]) -%}
    {%- endfor -%}
    {%- if parents | length != 1 -%}
        {{ exceptions.raise_compiler_error(model.unique_id ~ ": cannot tell the parent of a scoped relationships test") }}
    {%- endif -%}
    {{ return((parents[0], kwargs.field, kwargs.column_name)) }}
{%- endmacro %}

{#- The extra rows a scoped relationships test checks: '' (none), a condition on the child
    (`or <column> in (keys the parent lost)`), or none: every row (the parent was rebuilt in
    full since the test last passed). -#}
{% macro cx_removed_parent_keys_condition(relation, last_pass) -%}
    {%- if not (execute and cx_scopes_removed_parent_keys(model)) -%}
        {{ return('') }}
    {%- endif -%}
    {%- set parent_node, field, column = cx_relationship_parent(relation) -%}
    {%- set parent = parent_node.alias -%}
    {%- for hook in parent_node.config.get('post-hook', []) if cx_deletes_unlogged(hook.sql) -%}
        {#- a parent deleting keys without logging them may have lost any row -#}
        {{ return(none) }}
    {%- endfor -%}
    {%- set found = run_query(
        "select"
        ~ " (select count(*) from " ~ cx_incremental_state_relation()
        ~ " where model_name = '" ~ parent ~ "' and rebuilt_in_full"
        ~ " and built_from > cast('" ~ last_pass ~ "' as timestamp)),"
        ~ " (select count(*) from " ~ cx_removed_keys_relation()
        ~ " where model_name = '" ~ parent ~ "' and key_column = '" ~ field ~ "'"
        ~ " and removed_at > cast('" ~ last_pass ~ "' as timestamp))"
    ) -%}
    {%- if found.rows[0][0] > 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if found.rows[0][1] == 0 -%}
        {{ return('') }}
    {%- endif -%}
    {%- set condition -%}
        or {{ column }} in (
            select key_value from {{ cx_removed_keys_relation() }}
            where
                model_name = '{{ parent }}' and key_column = '{{ field }}'
                and removed_at > cast('{{ last_pass }}' as timestamp)
        )
    {%- endset -%}
    {{ return(condition) }}
{%- endmacro %}

{#- Whether a post-hook deletes rows without logging their keys: every cx_delete* hook but
    cx_delete_logged and the hooks made of it. -#}
{% macro cx_deletes_unlogged(hook_sql) -%}
    {%- set logging = ['cx_delete_logged', 'cx_delete_emptied_customers'] -%}
    {{ return('cx_delete' in hook_sql and not (logging | select('in', hook_sql) | list)) }}
{%- endmacro %}

{#- Post-hook of an incremental model: delete the rows where `condition` holds, after
    logging their `key_column` as removed by this build (dbt_state.removed_keys), so that
    the scoped relationships tests on the model check the child rows naming them. A full
    build forgets the model's logged keys instead: the tests check every child row after
    it, and an erasure (which rebuilds in full) leaves no id of the person behind. -#}
{% macro cx_delete_logged(key_column, condition) -%}
    {%- if is_incremental() -%}
        insert into {{ cx_removed_keys_relation() }}
        select '{{ this.identifier }}', '{{ key_column }}', {{ key_column }}, {{ cx_run_started_at() }}
        from {{ this }}
        where {{ condition }};
        delete from {{ this }} where {{ condition }}
    {%- else -%}
        delete from {{ cx_removed_keys_relation() }} where model_name = '{{ this.identifier }}'
    {%- endif -%}
{%- endmacro %}

{% macro get_where_subquery(relation) -%}
    {%- set scope = config.get('where') -%}
    {%- if scope not in cx_test_scope_stamps() -%}
        {{ return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) }}
    {%- endif -%}
    {%- set last_pass = cx_test_last_pass() -%}
    {%- set parent_keys = cx_removed_parent_keys_condition(relation, last_pass) if last_pass else none -%}
    {%- if last_pass is none or parent_keys is none -%}
        {#- never passed, or the parent may have lost any row: every row -#}
        {{ return(relation) }}
    {%- endif -%}
    {%- set stamp = cx_test_scope_stamps()[scope] -%}
    {%- if scope != 'latest_loads' -%}
        {#- the rows written since the pass, or else the latest build's, as a constant bound
            (a filter DuckDB can skip row groups by, where a subquery is a join) -#}
        {%- set bound = run_query(
            "select cast(coalesce(min(" ~ stamp ~ ") filter (where " ~ stamp ~ " > cast('"
            ~ last_pass ~ "' as timestamp)), max(" ~ stamp ~ ")) as varchar) from " ~ relation
        ).rows[0][0] -%}
        {%- set unchecked -%}
            (select * from {{ relation }} where
                {{ stamp }} >= cast({{ "'" ~ bound ~ "'" if bound else 'null' }} as timestamp)
                {{ parent_keys }}) dbt_subquery
        {%- endset -%}
        {{ return(unchecked) }}
    {%- endif -%}
    {%- set since_query -%}
        select cast(coalesce((
            with builds as (
                select built_from, rebuilt_in_full
                from {{ cx_incremental_state_relation() }}
                where model_name = '{{ relation.identifier }}'
            ),
            -- a build reads the rows loaded since the build before it: the builds since the
            -- test last passed read the rows loaded since the build it passed on, the latest
            -- build those since the build before it
            unchecked as (
                select least(
                    coalesce(
                        (select max(built_from) from builds
                         where built_from <= cast('{{ last_pass }}' as timestamp)),
                        cast('-infinity' as timestamp)),
                    coalesce(
                        (select built_from from builds order by built_from desc limit 1 offset 1),
                        cast('-infinity' as timestamp))
                ) as loaded_since
            )
            select loaded_since
            from unchecked
            -- a full build since rewrote every row
            where not exists (
                select 1 from builds
                where builds.rebuilt_in_full and builds.built_from > unchecked.loaded_since
            )
        ), cast('-infinity' as timestamp)) as varchar)
    {%- endset -%}
    {%- set loaded_since = run_query(since_query).rows[0][0] -%}
    {%- set loaded -%}
        (select * from {{ relation }} where
            {{ stamp }} >= cast('{{ loaded_since }}' as timestamp)
            {{ parent_keys }}) dbt_subquery
    {%- endset -%}
    {{ return(loaded) }}
{%- endmacro %}

{#- dbt's relationships test, but when the child rows are few (a test scoped to the latest
    build, above, of an incremental build) the parent rows are first narrowed to the values
    they name: joined directly, DuckDB builds its hash table on the whole parent (SF10:
    fct_identity_links.record_id against the 18 M records of int_records_resolved, 1.9 → 0.7 s
    of CPU). With many child rows (a whole table, or the latest build of a full one) dbt's
    join is the cheaper one. -#}
{% macro duckdb__test_relationships(model, column_name, to, field) %}
{%- set few_rows = 1000000 -%}
{%- set child_rows = few_rows -%}
{%- if execute and config.get('where') in cx_test_scope_stamps() -%}
    {%- set counted = run_query(
        "select count(*) from (select 1 from " ~ model ~ " where " ~ column_name
        ~ " is not null limit " ~ few_rows ~ ")"
    ) -%}
    {%- set child_rows = counted.rows[0][0] -%}
{%- endif -%}
{%- if child_rows >= few_rows -%}
    {{ return(dbt.default__test_relationships(model, column_name, to, field)) }}
{%- endif %}
with child as materialized (
    select {{ column_name }} as from_field
    from {{ model }}
    where {{ column_name }} is not null
),

parent as (
    select {{ field }} as to_field
    from {{ to }}
    where {{ field }} in (select child.from_field from child)
)

select child.from_field
from child
left join parent
    on child.from_field = parent.to_field
where parent.to_field is null
{% endmacro %}
