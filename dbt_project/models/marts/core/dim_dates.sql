-- The business calendar: a day is a working day when the declared schedule (seed
-- `business_hours`) opens on its weekday and it is not a declared holiday (seed `holidays`).
-- business_day_number counts working days, so "N business days later" is a lookup.
with

holidays as (select * from {{ ref('holidays') }}),

business_hours as (select * from {{ ref('business_hours') }}),

days as (

    {{ cx_date_spine(dbt.dateadd('day', -1100, cx_now()), dbt.dateadd('day', 400, cx_now())) }}

),

flagged as (

    select
        days.date_day,
        {{ iso_week_start('days.date_day') }} as iso_week_start_date,
        {{ month_start('days.date_day') }} as month_start_date,
        extract(isodow from days.date_day) as iso_day_of_week,
        extract(isodow from days.date_day) >= 6 as is_weekend,
        holidays.holiday_date is not null as is_holiday,
        business_hours.iso_day_of_week is not null as has_opening_hours
    from days
    left join holidays
        on days.date_day = holidays.holiday_date
    left join business_hours
        on extract(isodow from days.date_day) = business_hours.iso_day_of_week

),

final as (

    select
        date_day,
        iso_week_start_date,
        month_start_date,
        iso_day_of_week,
        is_weekend,
        is_holiday,
        has_opening_hours and not is_holiday as is_business_day,
        sum(case when has_opening_hours and not is_holiday then 1 else 0 end)
            over (order by date_day rows between unbounded preceding and current row)
            as business_day_number
    from flagged

)

select * from final
