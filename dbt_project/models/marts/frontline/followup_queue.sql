-- The closed loop for frontline staff: every open case (one per customer and reason) and the
-- cases closed in the last `followup_lookback_days`, with the owner team from the declared
-- routing rules, a priority score and contact details only where the customer consented.
with

cases as (select * from {{ ref('fct_followup_cases') }}),

customers as (select * from {{ ref('dim_customers') }}),

routing_rules as (select * from {{ ref('routing_rules') }}),

queued as (

    select * from cases
    where
        status = 'open'
        or closed_at >= {{ dbt.dateadd('day', -var('followup_lookback_days'), cx_now()) }}

),

routed as (

    select
        queued.case_id,
        routing_rules.owner_team,
        row_number() over (partition by queued.case_id order by routing_rules.rule_order) as rule_rank
    from queued
    left join customers
        on queued.customer_id = customers.customer_id
    inner join routing_rules
        on
            routing_rules.touchpoint in ('*', queued.touchpoint)
            and routing_rules.channel in ('*', queued.channel)
            and routing_rules.region in ('*', customers.region)

),

final as (

    select
        queued.case_id,
        queued.customer_id,
        queued.reason,
        queued.trigger_type,
        queued.trigger_id,
        queued.trigger_score,
        queued.trigger_count,
        queued.verbatim,
        queued.topic,
        queued.sentiment_label,
        queued.touchpoint,
        queued.channel,
        coalesce(routed.owner_team, 'unrouted') as owner_team,
        queued.opened_at,
        queued.due_at,
        queued.is_overdue,
        queued.status,
        queued.closed_at,
        queued.closing_outcome,
        queued.is_followup_sla_met,
        least(
            100,
            case queued.reason
                when 'detractor' then 40 + 5 * (6 - coalesce(queued.trigger_score, 6))
                when 'low_csat' then 50 + 10 * (2 - coalesce(queued.trigger_score, 2))
                when 'bad_ticket_rating' then 50
                else 40
            end
            + case customers.value_tier when 'high' then 20 when 'medium' then 10 when 'low' then 5 else 0 end
            + case when queued.is_overdue then 10 else 0 end
        ) as priority_score,
        customers.value_tier,
        customers.revenue_t12m as customer_revenue_t12m,
        customers.segment,
        customers.has_contact_consent,
        case
            when customers.has_contact_consent
                then trim(coalesce(customers.first_name, '') || ' ' || coalesce(customers.last_name, ''))
        end as contact_name,
        case when customers.has_contact_consent then customers.email end as contact_email,
        case when customers.has_contact_consent then customers.phone end as contact_phone
    from queued
    inner join customers
        on queued.customer_id = customers.customer_id
    left join routed
        on queued.case_id = routed.case_id and routed.rule_rank = 1

)

select * from final
