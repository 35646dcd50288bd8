{#- Business time (METRICS.md): the declared schedule is the seed `business_hours` (opening
    hours per ISO weekday, local wall time), the var `business_timezone` and the seed
    `holidays`; core.dim_business_windows turns it into one UTC window per working day.

    Business time is read off a business clock: the business seconds elapsed from the
    calendar's first window to a moment. Between two moments it is the difference of their
    readings, i.e. exactly the seconds of overlap with the windows, found with one window per
    moment instead of one row per window a span crosses. -#}

{#- A wall-clock time in the business time zone → the UTC timestamp of that instant. -#}
{% macro cx_local_to_utc(local_timestamp) -%}
    {{ return(adapter.dispatch('cx_local_to_utc', 'cxmart')(local_timestamp)) }}
{%- endmacro %}

{#- DuckDB (ICU): timezone(zone, TIMESTAMP) reads a wall-clock time in `zone`;
    timezone('UTC', TIMESTAMPTZ) gives the UTC wall clock, whatever the session's TimeZone. -#}
{% macro duckdb__cx_local_to_utc(local_timestamp) -%}
    timezone('UTC', timezone('{{ var("business_timezone") }}', {{ local_timestamp }}))
{%- endmacro %}

{#- Postgres and others with the standard `at time zone`. -#}
{% macro default__cx_local_to_utc(local_timestamp) -%}
    (({{ local_timestamp }}) at time zone '{{ var("business_timezone") }}') at time zone 'UTC'
{%- endmacro %}

{#- The windows whose clock runs on each calendar date of `dates` (a window's clock runs from
    its opening to the next one's), keyed `clock_date`. Reading the clock joins on the moment's
    UTC date first: an equi-join every planner runs fast, where a bare two-sided range join may
    run as a nested loop (DuckDB: 60 s instead of 0.5 s for 1M tickets). -#}
{% macro business_clock_dates(windows, dates) -%}
    select
        {{ dates }}.date_day as clock_date,
        {{ windows }}.*
    from {{ dates }}
    inner join {{ windows }}
        on
            {{ windows }}.window_start_at
            < {{ dbt.dateadd('day', 1, 'cast(' ~ dates ~ '.date_day as ' ~ dbt.type_timestamp() ~ ')') }}
            and cast({{ dates }}.date_day as {{ dbt.type_timestamp() }}) < {{ windows }}.next_window_start_at
{%- endmacro %}

{#- Join condition on a business_clock_dates relation: the window whose clock reads
    `moment_at` — the last one that opened at or before it. Moments before the calendar's first
    window or after its last opening match nothing (no reading). -#}
{% macro business_clock_window(clock_dates, moment_at) -%}
    {{ clock_dates }}.clock_date = cast({{ moment_at }} as date)
    and {{ clock_dates }}.window_start_at <= {{ moment_at }}
    and {{ moment_at }} < {{ clock_dates }}.next_window_start_at
{%- endmacro %}

{#- The business clock at `moment_at`, in seconds; use with business_clock_window. A moment
    outside hours reads like the last closing (and the next opening). -#}
{% macro business_clock_seconds(windows, moment_at) -%}
    {{ windows }}.business_seconds_before
    + least({{ dbt.datediff(windows ~ '.window_start_at', moment_at, 'second') }}, {{ windows }}.window_seconds)
{%- endmacro %}

{#- Whole business minutes between two clock readings (floor of the overlapping seconds / 60,
    as help desks report them); null when either reading is null. -#}
{% macro business_minutes(start_clock_seconds, end_clock_seconds) -%}
    cast(floor(({{ end_clock_seconds }} - {{ start_clock_seconds }}) / 60.0) as {{ dbt.type_bigint() }})
{%- endmacro %}

{#- Join condition, the inverse: the window in which the clock reaches `clock_seconds`. A
    reading at a window's end resolves to that closing time, not to the next opening. -#}
{% macro business_clock_reaching_window(windows, clock_seconds) -%}
    {{ windows }}.business_seconds_before < {{ clock_seconds }}
    and {{ clock_seconds }} <= {{ windows }}.business_seconds_before + {{ windows }}.window_seconds
{%- endmacro %}

{#- The UTC moment at which the clock reaches `clock_seconds`; use with
    business_clock_reaching_window. -#}
{% macro business_clock_moment(windows, clock_seconds) -%}
    {{ dbt.dateadd(
        'second',
        clock_seconds ~ ' - ' ~ windows ~ '.business_seconds_before',
        windows ~ '.window_start_at'
    ) }}
{%- endmacro %}
