{#- The golden record, incremental by customer (int_customer_attributes_survived and
    dim_customers, unique_key customer_id). A build writes again the customers whose inputs
    changed since the model's last build and keeps the others' rows.

    Identity resolution only merges customers while it runs incrementally (a split rebuilds
    it, and these models with it, in full): a customer merged into another keeps no record,
    so no build writes it again, and delete+insert would leave its row. The post-hook
    `cx_delete_gone_keys` (macros/incremental.sql) deletes the customers missing from the
    model's population. -#}

{#- Each customer with a CRM account (the population of int_customer_attributes_survived). -#}
{% macro cx_crm_customers() -%}
    select records.customer_id
    from {{ ref('stg_crm__customers') }} as crm_customers
    inner join {{ ref('int_records_resolved') }} as records
        on crm_customers.crm_record_id = records.record_id
{%- endmacro %}

{#- Each resolved customer (the population of dim_customers). -#}
{% macro cx_resolved_customers() -%}
    select customer_id from {{ ref('int_records_resolved') }}
{%- endmacro %}

