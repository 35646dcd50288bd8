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

{#- A postcode as the fuzzy identity rule blocks on: letters and digits only, upper case
    ("m5v 3l9" and "M5V-3L9" are one postcode); null when nothing is left. -#}
{% macro cx_postcode_key(column) -%}
    nullif(upper({{ cx_regexp_replace(column, '[^0-9A-Za-z]', '') }}), '')
{%- endmacro %}

{#- A name as the fuzzy identity rule compares it: accents stripped, lower case, letters a-z
    only ("O'Brien" = "obrien", "JOÃO" = "joao"); null when nothing is left, so names
    written without Latin letters are never fuzzy-matched. -#}
{% macro cx_name_key(column) -%}
    nullif({{ cx_regexp_replace('lower(' ~ cx_strip_accents(column) ~ ')', '[^a-z]', '') }}, '')
{%- endmacro %}

{% macro cx_strip_accents(expression) -%}
    {{ return(adapter.dispatch('cx_strip_accents', 'cxmart')(expression)) }}
{%- endmacro %}

{% macro default__cx_strip_accents(expression) -%}
    strip_accents({{ expression }})
{%- endmacro %}

{#- Similarity of two names in [0, 1], 1 = the same: Jaro-Winkler, which forgives a typo or
    two letters swapped more than a difference near the start of the name. -#}
{% macro cx_name_similarity(left_name, right_name) -%}
    {{ return(adapter.dispatch('cx_name_similarity', 'cxmart')(left_name, right_name)) }}
{%- endmacro %}

{% macro default__cx_name_similarity(left_name, right_name) -%}
    jaro_winkler_similarity({{ left_name }}, {{ right_name }})
{%- endmacro %}
