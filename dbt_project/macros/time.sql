{#- "Now" for the build: the as_of var when set (tests, backfills), else the instant the dbt
    command started, in UTC like every timestamp of the warehouse. One instant for the whole
    build (a model built minutes after another counts overdue cases and moving windows from
    the same now), and not the session's local time: `current_timestamp` cast to a timestamp
    is the machine's wall clock, hours off the data's UTC on a machine outside UTC. -#}
{% macro cx_now() -%}
    {%- if var('as_of') -%}
        cast('{{ var("as_of") }}' as {{ dbt.type_timestamp() }})
    {%- else -%}
        {{ cx_run_started_at() }}
    {%- endif -%}
{%- endmacro %}

{% macro iso_week_start(column) -%}
    cast({{ dbt.date_trunc('week', column) }} as date)
{%- endmacro %}

{% macro month_start(column) -%}
    cast({{ dbt.date_trunc('month', column) }} as date)
{%- endmacro %}

{#- One row per day from start_date to end_date inclusive, column date_day. -#}
{% macro cx_date_spine(start_date, end_date) -%}
    {{ return(adapter.dispatch('cx_date_spine', 'cxmart')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__cx_date_spine(start_date, end_date) -%}
    select cast(range as date) as date_day
    from range(cast({{ start_date }} as date), cast({{ end_date }} as date) + interval 1 day, interval 1 day)
{%- endmacro %}

{% macro postgres__cx_date_spine(start_date, end_date) -%}
    select cast(day_ts as date) as date_day
    from generate_series(cast({{ start_date }} as date), cast({{ end_date }} as date), interval '1 day') as day_ts
{%- endmacro %}

{#- Whole minutes elapsed between two timestamps (floor of the seconds / 60), as help desks
    report them; dbt.datediff('minute') counts minute boundaries crossed instead, which
    disagrees with the source tool by one minute about half of the time. -#}
{% macro elapsed_minutes(start_column, end_column) -%}
    cast(floor({{ dbt.datediff(start_column, end_column, 'second') }} / 60.0) as {{ dbt.type_bigint() }})
{%- endmacro %}
