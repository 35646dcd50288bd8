-- Service contacts (tickets and calls) of each customer in time order, with the gap to the
-- previous and next contact on any channel: the basis of FCR and repeat contact.
-- Incremental (macros/contacts_incremental.sql): a contact's flags depend on the customer's
-- other contacts, so a build sequences again every contact of the customers that gained, lost
-- or moved a contact since the last one, and keeps the other customers' rows.
{{ config(
    materialized='incremental',
    unique_key='contact_id',
    post_hook=["{{ cx_delete_gone_keys('contact_id', cx_service_contacts()) }}"],
) }}

with

contacts as (

    {{ cx_service_contacts() }}

),

{% if is_incremental() %}

{{ cx_contacts_to_sequence('contacts') }}

{% else %}

records as (

    {{ cx_resolved_records(['ticket', 'call']) }}

),

resolved as (

    select
        contacts.*,
        records.customer_id
    from contacts
    left join records
        on contacts.contact_id = records.record_id

),

{% endif %}

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
        ) as has_next_contact_in_window,
        {{ cx_built_at() }}
    from sequenced

)

select * from final
