-- The declared schedule must make sense once in UTC: every window closes after it opens
-- (seed `business_hours`: closes_at after opens_at) and before the next one opens.
select
    business_date,
    window_start_at,
    window_end_at,
    next_window_start_at
from {{ ref('dim_business_windows') }}
where
    window_end_at <= window_start_at
    or window_end_at > next_window_start_at
