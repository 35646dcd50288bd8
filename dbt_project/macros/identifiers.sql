{#- Identifier normalization shared by every source: the rules identity resolution keys on. -#}

{% macro normalize_email(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{#- E.164 for North American numbers: digits only, drop an international 00 prefix,
    prefix the country code 1 to ten-digit national numbers. -#}
{% macro normalize_phone(column) -%}
    case
        when length({{ cx_phone_digits(column) }}) = 10
            then '+1' || {{ cx_phone_digits(column) }}
        when length({{ cx_phone_digits(column) }}) between 11 and 15
            then '+' || {{ cx_phone_digits(column) }}
    end
{%- endmacro %}

{% macro cx_phone_digits(column) -%}
    {{ cx_strip_prefix(cx_regexp_replace(column, '[^0-9]', ''), '00') }}
{%- endmacro %}

{% macro cx_strip_prefix(expression, prefix) -%}
    (case
        when {{ expression }} like '{{ prefix }}%'
            then substr({{ expression }}, {{ prefix | length + 1 }})
        else {{ expression }}
    end)
{%- endmacro %}

{% macro cx_regexp_replace(expression, pattern, replacement) -%}
    {{ return(adapter.dispatch('cx_regexp_replace', 'cxmart')(expression, pattern, replacement)) }}
{%- endmacro %}

{% macro default__cx_regexp_replace(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}
