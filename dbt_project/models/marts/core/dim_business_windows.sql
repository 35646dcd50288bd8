-- The declared business schedule in UTC: one window per working day, opening and closing at
-- the local times of seed `business_hours` in the time zone `business_timezone`, so the UTC
-- hours move with daylight saving time. The running sum of window lengths is the business
-- clock that business minutes and due times are read from (macros/business_time.sql).
with

dates as (select * from {{ ref('dim_dates') }}),

business_hours as (select * from {{ ref('business_hours') }}),

schedule as (

    select
        iso_day_of_week,
        extract(hour from opens_at) * 60 + extract(minute from opens_at) as opens_minute_of_day,
        extract(hour from closes_at) * 60 + extract(minute from closes_at) as closes_minute_of_day
    from business_hours

),

local_windows as (

    select
        dates.date_day as business_date,
        dates.iso_day_of_week,
        {{ dbt.dateadd(
            'minute', 'schedule.opens_minute_of_day', 'cast(dates.date_day as ' ~ dbt.type_timestamp() ~ ')'
        ) }} as window_start_local,
        {{ dbt.dateadd(
            'minute', 'schedule.closes_minute_of_day', 'cast(dates.date_day as ' ~ dbt.type_timestamp() ~ ')'
        ) }} as window_end_local
    from dates
    inner join schedule
        on dates.iso_day_of_week = schedule.iso_day_of_week
    where dates.is_business_day

),

utc_windows as (

    select
        business_date,
        iso_day_of_week,
        window_start_local,
        window_end_local,
        {{ cx_local_to_utc('window_start_local') }} as window_start_at,
        {{ cx_local_to_utc('window_end_local') }} as window_end_at
    from local_windows

),

sized_windows as (

    select
        *,
        {{ dbt.datediff('window_start_at', 'window_end_at', 'second') }}
            as window_seconds
    from utc_windows

),

final as (

    select
        business_date,
        iso_day_of_week,
        window_start_local,
        window_end_local,
        window_start_at,
        window_end_at,
        window_seconds,
        cast(coalesce(sum(window_seconds) over (
            order by business_date rows between unbounded preceding and 1 preceding
        ), 0) as {{ dbt.type_bigint() }}) as business_seconds_before,
        lead(window_start_at) over (order by business_date) as next_window_start_at
    from sized_windows

)

select * from final
