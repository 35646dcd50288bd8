-- METRICS.md: one open follow-up case per customer and reason.
select customer_id, reason, count(*) as open_cases
from {{ ref('followup_queue') }}
where status = 'open'
group by customer_id, reason
having count(*) > 1
