{#- The attributes rated in core.fct_driver_ratings, when the model that pivots them compiles
    (after fct_driver_ratings is built). -#}
{% macro cx_driver_attributes() -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set found = run_query(
        "select distinct attribute from " ~ ref('fct_driver_ratings')
        ~ " where attribute is not null order by attribute"
    ) -%}
    {{ return(found.columns[0].values() | list) }}
{%- endmacro %}

{#- The quoted column of an attribute's ratings in int_driver_ratings_by_response; its name is
    `rating__<attribute>` (analytics/key_drivers.py reads it by that name). -#}
{% macro cx_driver_rating_column(attribute) -%}
    "{{ ('rating__' ~ attribute) | replace('"', '""') }}"
{%- endmacro %}
