-- The business calendar: weekends and declared holidays are not working days.
-- business_day_number counts working days, so "N business days later" is a lookup.
with

holidays as (select * from {{ ref('holidays') }}),

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
        holidays.holiday_date is not null as is_holiday
    from days
    left join holidays
        on days.date_day = holidays.holiday_date

),

final as (

    select
        *,
        not is_weekend and not is_holiday as is_business_day,
        sum(case when not is_weekend and not is_holiday then 1 else 0 end)
            over (order by date_day rows between unbounded preceding and current row)
            as business_day_number
    from flagged

)

select * from final
