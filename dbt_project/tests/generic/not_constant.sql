{#- A metric that takes one single value on every row of a table with enough rows is almost
    always a silent bug (a join that zeroes it, a filter that empties a numerator), not a fact.
    Nulls are ignored: a metric whose source feed is absent is null, not constant. -#}
{% test not_constant(model, column_name, min_rows=10) %}
    select
        count({{ column_name }}) as rows_with_value,
        count(distinct {{ column_name }}) as distinct_values,
        min({{ column_name }}) as only_value
    from {{ model }}
    having count({{ column_name }}) >= {{ min_rows }}
        and count(distinct {{ column_name }}) = 1
{% endtest %}
