{#- int_contacts_sequenced, incremental. A contact's previous and next contact are the
    customer's, so a build sequences again every contact of each customer touched since the
    last build, and only those:
    - a contact new, gone (a conversation threaded into another), or with another time;
    - a contact whose record was resolved to another customer (int_records_resolved writes
      only the records new or moved, stamped _resolved_at).
    Both the customer a touched contact had and the one it has now are touched. Comparing
    every contact's time with the one written is one join of two narrow tables; finding a
    customer's contacts needs no scan of the resolved records. -#}

{#- Every service contact: the population of int_contacts_sequenced. -#}
{% macro cx_service_contacts() -%}
    select ticket_id as contact_id, 'ticket' as contact_type, created_at as contacted_at
    from {{ ref('int_tickets_unioned') }}
    union all
    select call_id, 'call', started_at
    from {{ ref('stg_service__calls') }}
{%- endmacro %}

{#- CTEs ending in `resolved`: the contacts to sequence again, with their current customer. -#}
{% macro cx_contacts_to_sequence(contacts) -%}
compared as (

    select
        coalesce({{ contacts }}.contact_id, written.contact_id) as contact_id,
        {{ contacts }}.contact_type,
        {{ contacts }}.contacted_at,
        written.customer_id as written_customer_id,
        written.contact_id is null as is_new,
        {{ contacts }}.contact_id is null as is_gone,
        (
            {{ contacts }}.contacted_at is distinct from written.contacted_at
            or {{ contacts }}.contact_type is distinct from written.contact_type
        ) as is_changed
    from {{ contacts }}
    full join {{ this }} as written
        on {{ contacts }}.contact_id = written.contact_id

),

-- the records resolved since (a contact's is when it is new, or moved to another customer)
resolved_since as (

    select
        records.record_id as contact_id,
        records.customer_id
    from {{ ref('int_records_resolved') }} as records
    where records._resolved_at > {{ cx_incremental_since() }}

),

-- and the customer of a new contact whose record was resolved before (a ticket id seen
-- again): usually none, and then no resolved record is read
moved as (

    select * from resolved_since
    union all
    select
        records.record_id,
        records.customer_id
    from ({{ cx_resolved_records(['ticket', 'call']) }}) as records
    where records.record_id in (
        select compared.contact_id from compared
        where
            compared.is_new
            and compared.contact_id not in (select resolved_since.contact_id from resolved_since)
    )

),

current_customers as (

    select
        compared.*,
        case
            when moved.contact_id is not null then moved.customer_id
            else compared.written_customer_id
        end as customer_id,
        compared.is_changed or moved.contact_id is not null as is_touched
    from compared
    left join moved
        on compared.contact_id = moved.contact_id

),

touched_customers as (

    select customer_id from current_customers
    where is_touched and customer_id is not null
    union
    select written_customer_id from current_customers
    where is_touched and written_customer_id is not null

),

resolved as (

    select
        contact_id,
        contact_type,
        contacted_at,
        customer_id
    from current_customers
    where
        not is_gone
        and (
            is_touched
            or customer_id in (select touched_customers.customer_id from touched_customers)
        )

),
{%- endmacro %}
