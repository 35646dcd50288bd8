{#- A data test configured `where: latest_build` checks only the rows the model's latest
    build wrote (its largest `_built_at`): every row after a full build, the rows written
    after an incremental one. Only for checks a build cannot break in rows it did not write:
    - uniqueness of the key an incremental build replaces rows by (delete+insert removes the
      key's old rows before inserting its new ones), or of a column that key determines;
    - a relationship to a parent that loses rows only in a full build, which rebuilds the
      child in full too (an incremental model whose incremental parent was rebuilt in full
      is: macros/incremental.sql). A parent that can lose rows in an incremental build
      (dim_customers: a customer merged into another) keeps a whole-table test.
    `where: latest_resolution` does the same by `_resolved_at`, the stamp of
    int_records_resolved (the rows its latest build wrote: the records new or moved).
    `where: latest_loads` does it for an incremental staging model, whose rows carry the
    load time of their raw row instead of a build stamp: its latest build wrote the rows
    loaded since the build before it (dbt_state.incremental_builds), or every row when it
    was a full build or no build before it is logged.
    Any other `where` is dbt's own. -#}
{% macro get_where_subquery(relation) -%}
    {%- set stamp = {'latest_build': '_built_at', 'latest_resolution': '_resolved_at'}.get(config.get('where')) -%}
    {%- if stamp -%}
        {%- set latest -%}
            (select * from {{ relation }} where {{ stamp }} = (select max({{ stamp }}) from {{ relation }})) dbt_subquery
        {%- endset -%}
        {{ return(latest) }}
    {%- endif -%}
    {%- if config.get('where') == 'latest_loads' -%}
        {%- set loaded -%}
            (select * from {{ relation }} where _loaded_at >= coalesce((
                with builds as (
                    select
                        built_from,
                        rebuilt_in_full,
                        row_number() over (order by built_from desc) as recency
                    from {{ cx_incremental_state_relation() }}
                    where model_name = '{{ relation.identifier }}'
                )
                select previous.built_from
                from builds as latest
                inner join builds as previous
                    on latest.recency = 1 and previous.recency = 2
                where latest.rebuilt_in_full is not true
            ), cast('-infinity' as timestamp))) dbt_subquery
        {%- endset -%}
        {{ return(loaded) }}
    {%- endif -%}
    {{ return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) }}
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
{%- if execute and config.get('where') in ('latest_build', 'latest_resolution') -%}
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
