{{ config(meta={'dagster': {'ref': {'name': 'cx_scorecard'}}}) }}
-- depends_on: {{ ref('touchpoint_performance') }}
-- depends_on: {{ ref('cx_scorecard') }}
-- depends_on: {{ ref('journey_stage_scores') }}
-- Privacy by role: manager and executive tables carry no names, emails, phones or free ids.
select table_schema, table_name, column_name
from information_schema.columns
where
    table_schema in ('manager', 'executive')
    and (
        column_name like '%name%' and column_name not in ('table_name')
        or column_name like '%email%'
        or column_name like '%phone%'
        or column_name like '%customer_ref%'
        or column_name = 'customer_id'
    )
