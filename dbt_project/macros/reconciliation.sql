{#- One reconciliation row per feed: how often our value differs from the value the source
    tool exported for the same record, and by how much (numeric metrics only). Records where
    either side is missing are counted apart, never as differences. -#}
{% macro reconcile_with_source(relation, metric_name, ours, theirs, is_numeric=true) -%}
    select
        '{{ metric_name }}' as metric_name,
        feed,
        count(case when {{ ours }} is not null and {{ theirs }} is not null then 1 end)
            as records_compared,
        count(case when {{ ours }} <> {{ theirs }} then 1 end) as records_differing,
        count(case when {{ ours }} is null and {{ theirs }} is not null then 1 end)
            as records_missing_ours,
        count(case when {{ ours }} is not null and {{ theirs }} is null then 1 end)
            as records_missing_source,
        {% if is_numeric -%}
            avg(case when {{ ours }} <> {{ theirs }} then abs({{ ours }} - {{ theirs }}) end)
        {%- else -%}
            cast(null as {{ dbt.type_float() }})
        {%- endif %} as mean_abs_difference,
        {% if is_numeric -%}
            max(abs({{ ours }} - {{ theirs }}))
        {%- else -%}
            cast(null as {{ dbt.type_float() }})
        {%- endif %} as max_abs_difference
    from {{ relation }}
    group by feed
    having count({{ theirs }}) > 0
{%- endmacro %}
