{#- A rate's published parts must make sense: 0 <= numerator <= denominator. -#}
{% test numerator_within_denominator(model, column_name, denominator) %}
    select *
    from {{ model }}
    where {{ column_name }} < 0 or {{ column_name }} > {{ denominator }}
{% endtest %}
