{#- Metric formulas, written once (METRICS.md). Rates return null on an empty denominator. -#}

{% macro nps_category(score) -%}
    case
        when {{ score }} between 0 and 6 then 'detractor'
        when {{ score }} between 7 and 8 then 'passive'
        when {{ score }} between 9 and 10 then 'promoter'
    end
{%- endmacro %}

{% macro nps(promoters, detractors, answers) -%}
    case
        when {{ answers }} > 0
            then round(100.0 * ({{ promoters }} - {{ detractors }}) / {{ answers }}, 2)
    end
{%- endmacro %}

{#- 95 % margin of error of NPS, in NPS points. -#}
{% macro nps_margin_of_error(promoters, detractors, answers) -%}
    case
        when {{ answers }} > 0
            then round(
                100.0 * 1.96 * sqrt(greatest(0.0,
                    (
                        1.0 * {{ promoters }} / {{ answers }}
                        + 1.0 * {{ detractors }} / {{ answers }}
                        - power(1.0 * ({{ promoters }} - {{ detractors }}) / {{ answers }}, 2)
                    ) / {{ answers }}
                )),
                2
            )
    end
{%- endmacro %}

{% macro pct(numerator, denominator) -%}
    case
        when {{ denominator }} > 0
            then round(100.0 * {{ numerator }} / {{ denominator }}, 2)
    end
{%- endmacro %}

{% macro is_low_sample(answers) -%}
    ({{ answers }} < {{ var('low_sample_threshold') }})
{%- endmacro %}

{#- A week-over-week (or month-over-month) change is significant at 95 % when it exceeds the
    combined margin of error of both periods (two independent samples), and both periods have
    enough answers for the normal approximation. Null when a period has no value. -#}
{% macro is_change_significant(value, previous_value, margin, previous_margin, answers, previous_answers) -%}
    case
        when {{ value }} is not null and {{ previous_value }} is not null
            then
                not {{ is_low_sample(answers) }}
                and not {{ is_low_sample(previous_answers) }}
                and abs({{ value }} - {{ previous_value }})
                > sqrt(power({{ margin }}, 2) + power({{ previous_margin }}, 2))
    end
{%- endmacro %}

{#- 95 % margin of error of a percentage (normal approximation), in percentage points. -#}
{% macro pct_margin_of_error(numerator, denominator) -%}
    case
        when {{ denominator }} > 0
            then round(
                100.0 * 1.96 * sqrt(
                    (1.0 * {{ numerator }} / {{ denominator }})
                    * (1 - 1.0 * {{ numerator }} / {{ denominator }})
                    / {{ denominator }}
                ),
                2
            )
    end
{%- endmacro %}

{#- What every published NPS carries (METRICS.md reporting rules): the score, its 95 % margin
    of error and the low-sample flag, as the columns nps, nps_margin_of_error, is_low_sample. -#}
{% macro nps_with_margin(promoters='promoters', detractors='detractors', answers='nps_responses') -%}
    {{ nps(promoters, detractors, answers) }} as nps,
    {{ nps_margin_of_error(promoters, detractors, answers) }} as nps_margin_of_error,
    {{ is_low_sample(answers) }} as is_low_sample
{%- endmacro %}

{#- A metric minus its value in the previous calendar month, rounded like the metrics (rows
    ordered by month_column, optionally per partition); null when the previous month has no
    row, so a gap is never compared across. -#}
{% macro change_vs_previous_month(metric, month_column='month_start', partition_by=none) -%}
    {%- set window -%}
        over ({% if partition_by %}partition by {{ partition_by }} {% endif %}order by {{ month_column }})
    {%- endset -%}
    case
        when lag({{ month_column }}) {{ window }} = {{ dbt.dateadd('month', -1, month_column) }}
            then round({{ metric }} - lag({{ metric }}) {{ window }}, 2)
    end
{%- endmacro %}
