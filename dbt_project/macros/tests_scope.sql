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
    Any other `where` is dbt's own. -#}
{% macro get_where_subquery(relation) -%}
    {%- set stamp = {'latest_build': '_built_at', 'latest_resolution': '_resolved_at'}.get(config.get('where')) -%}
    {%- if stamp -%}
        {%- set latest -%}
            (select * from {{ relation }} where {{ stamp }} = (select max({{ stamp }}) from {{ relation }})) dbt_subquery
        {%- endset -%}
        {{ return(latest) }}
    {%- endif -%}
    {{ return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) }}
{%- endmacro %}
