{#- The golden record, incremental by customer (int_customer_attributes_survived and
    dim_customers, unique_key customer_id). A build writes again the customers whose inputs
    changed since the model's last build and keeps the others' rows.

    Identity resolution only merges customers while it runs incrementally (a split rebuilds
    it, and these models with it, in full): a customer merged into another keeps no record,
    so nothing would write it again, and delete+insert would leave its row. Such a customer
    lost a record, so it is among the customers a build writes again, with a count of 0
    records: the post-hook `cx_delete_emptied_customers` deletes those rows before the build
    commits. -#}

{#- True when the customers that lost a record since this model's last build can be read
    from int_records_resolved._previous_customer_id: the column keeps only the move of the
    build that wrote the row, so it holds every move only while int_records_resolved was
    built at most once since (this run's build). Otherwise (this model failed or was left
    out of a run) the model compares every customer's count of records with its own. -#}
{% macro cx_record_moves_known() -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set builds = run_query(
        "select count(*) from " ~ cx_incremental_state_relation()
        ~ " where model_name = 'int_records_resolved' and built_from > "
        ~ cx_incremental_since()
    ) -%}
    {{ return(builds.rows[0][0] <= 1) }}
{%- endmacro %}

{#- The customers (column customer_id) that lost a record to another customer since this
    model's last build, when `cx_record_moves_known()`: the previous customer of each record
    of `records` (a relation with int_records_resolved's columns) resolved since. -#}
{% macro cx_customers_that_lost_records(records) -%}
    select {{ records }}._previous_customer_id as customer_id
    from {{ records }}
    where
        {{ records }}._resolved_at > {{ cx_incremental_since() }}
        and {{ records }}._previous_customer_id is not null
{%- endmacro %}

{#- Post-hook: delete the customers this build wrote with no record left (`count_column`
    0): merged into another customer. Their ids are logged (`cx_delete_logged`): the
    relationships tests on dim_customers, scoped to the rows no passing run checked, also
    check the rows that still name them. -#}
{% macro cx_delete_emptied_customers(count_column) -%}
    {{ cx_delete_logged('customer_id', count_column ~ ' = 0') }}
{%- endmacro %}
