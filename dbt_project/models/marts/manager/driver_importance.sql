-- Relative importance of each driver attribute for NPS, per touchpoint and overall: the
-- share of explained variance (squared correlation of the rating with the NPS score).
with

ratings as (select * from {{ ref('fct_driver_ratings') }}),

scored as (

    select touchpoint, attribute, rating, nps_score
    from ratings
    where nps_score is not null
    union all
    select 'all', attribute, rating, nps_score
    from ratings
    where nps_score is not null

),

correlated as (

    select
        touchpoint,
        attribute,
        count(*) as rated_responses,
        corr(rating, nps_score) as correlation_with_nps,
        avg(rating) as mean_rating
    from scored
    group by touchpoint, attribute

),

explained as (

    select
        *,
        coalesce(correlation_with_nps * correlation_with_nps, 0) as r_squared
    from correlated

),

final as (

    select
        touchpoint,
        attribute,
        rated_responses,
        round(mean_rating, 3) as mean_rating,
        round(correlation_with_nps, 4) as correlation_with_nps,
        round(r_squared, 4) as r_squared,
        round(
            case
                when sum(r_squared) over (partition by touchpoint) > 0
                    then r_squared / sum(r_squared) over (partition by touchpoint)
                else 0
            end,
            4
        ) as relative_importance,
        case
            when correlation_with_nps > 0 then 'positive'
            when correlation_with_nps < 0 then 'negative'
            else 'none'
        end as direction,
        row_number() over (partition by touchpoint order by r_squared desc, attribute asc) as importance_rank,
        {{ is_low_sample('rated_responses') }} as is_low_sample
    from explained

)

select * from final
