-- Service contacts (tickets and calls) of each customer in time order, with the gap to the
-- previous and next contact on any channel: the basis of FCR and repeat contact.
with

tickets as (select * from {{ ref('int_tickets_unioned') }}),

calls as (select * from {{ ref('stg_service__calls') }}),

records as (select * from {{ ref('int_records_resolved') }}),

contacts as (

    select ticket_id as contact_id, 'ticket' as contact_type, created_at as contacted_at
    from tickets
    union all
    select call_id, 'call', started_at
    from calls

),

resolved as (

    select
        contacts.*,
        records.customer_id
    from contacts
    left join records
        on contacts.contact_id = records.record_id

),

sequenced as (

    select
        contact_id,
        contact_type,
        customer_id,
        contacted_at,
        case
            when customer_id is not null then
                lag(contacted_at) over (partition by customer_id order by contacted_at, contact_id)
        end as previous_contact_at,
        case
            when customer_id is not null then
                lead(contacted_at) over (partition by customer_id order by contacted_at, contact_id)
        end as next_contact_at
    from resolved

),

final as (

    select
        *,
        coalesce(
            previous_contact_at >= {{ dbt.dateadd('day', -var('repeat_contact_window_days'), 'contacted_at') }},
            false
        ) as is_repeat_contact,
        coalesce(
            next_contact_at <= {{ dbt.dateadd('day', var('repeat_contact_window_days'), 'contacted_at') }},
            false
        ) as has_next_contact_in_window
    from sequenced

)

select * from final
