-- Every identifier every record carries, one row per record × identifier, credited to the
-- first enabled identity rule (int_identity_rules_enabled) that links on it. A rule only
-- says which value of which record it reads; its identifier type (the seed's) names the
-- node, so rules of one type (a CRM id on a CRM account, on a survey, on a reviewed order)
-- link to each other.
with

rules as (select * from {{ ref('int_identity_rules_enabled') }}),

crm_customers as (select * from {{ ref('stg_crm__customers') }}),

crm_orders as (select * from {{ ref('stg_crm__orders') }}),

survey_invitations as (select * from {{ ref('stg_survey__invitations') }}),

survey_responses as (select * from {{ ref('stg_survey__responses') }}),

tickets as (select * from {{ ref('int_tickets_unioned') }}),

calls as (select * from {{ ref('stg_service__calls') }}),

web_sessions as (select * from {{ ref('stg_web__sessions') }}),

record_identifiers as (

    select
        crm_record_id as record_id,
        'crm_customer' as record_type,
        'crm_id' as rule_name,
        customer_ref as identifier_value
    from crm_customers
    union all
    select crm_record_id, 'crm_customer', 'email', email_normalized from crm_customers
    union all
    select crm_record_id, 'crm_customer', 'phone', phone_e164 from crm_customers
    union all
    -- a source's own person id: accounts sharing it are one person (scoped to its feed)
    select crm_record_id, 'crm_customer', 'source_person_id', feed || ':' || person_ref from crm_customers
    where person_ref is not null
    union all
    select order_id, 'order', 'crm_id', customer_ref from crm_orders
    union all
    select invitation_id, 'survey_invitation', 'survey_external_reference', customer_ref from survey_invitations
    union all
    select invitation_id, 'survey_invitation', 'email', email_normalized from survey_invitations
    union all
    select invitation_id, 'survey_invitation', 'phone', phone_e164 from survey_invitations
    union all
    select response_id, 'survey_response', 'survey_external_reference', customer_ref from survey_responses
    union all
    select response_id, 'survey_response', 'email', email_normalized from survey_responses
    union all
    select response_id, 'survey_response', 'phone', phone_e164 from survey_responses
    union all
    -- a post-purchase review belongs to the buyer of the order it reviews
    select survey_responses.response_id, 'survey_response', 'reviewed_order', crm_orders.customer_ref
    from survey_responses
    inner join crm_orders on survey_responses.order_ref = crm_orders.order_ref
    union all
    select ticket_id, 'ticket', 'crm_id', customer_ref from tickets
    union all
    select ticket_id, 'ticket', 'email', email_normalized from tickets
    union all
    select ticket_id, 'ticket', 'phone', phone_e164 from tickets
    union all
    select ticket_id, 'ticket', 'social_handle', social_handle from tickets
    union all
    select call_id, 'call', 'crm_id', customer_ref from calls
    union all
    select call_id, 'call', 'phone', phone_e164 from calls
    union all
    select session_id, 'web_session', 'crm_id', customer_ref from web_sessions
    union all
    select session_id, 'web_session', 'email', email_normalized from web_sessions

),

present as (

    select
        record_identifiers.record_id,
        record_identifiers.record_type,
        record_identifiers.rule_name,
        rules.rule_order,
        rules.identifier_type,
        record_identifiers.identifier_value,
        rules.identifier_type || ':' || record_identifiers.identifier_value as node_id
    from record_identifiers
    -- a disabled rule links nothing: its identifiers are not collected
    inner join rules
        on record_identifiers.rule_name = rules.rule_name
    where record_identifiers.identifier_value is not null and record_identifiers.identifier_value <> ''

),

-- rules apply in order: an identifier two rules find on one record is credited to the first
credited as (

    -- one group per record and identifier (a record id names one record type, a node id one
    -- identifier type and value): grouping spills to disk where a window over millions of
    -- rows would not, and keeps the memory of a large build bounded
    select
        present.record_id,
        present.record_type,
        present.node_id,
        present.identifier_type,
        present.identifier_value,
        min(present.rule_order) as rule_order
    from present
    group by
        present.record_id,
        present.record_type,
        present.node_id,
        present.identifier_type,
        present.identifier_value

),

-- an email or phone shared by many CRM accounts is a placeholder (a shop's own address,
-- 000-000-0000), not a person: it must not merge those accounts
junk_identifiers as (

    select node_id
    from credited
    where record_type = 'crm_customer' and identifier_type <> 'crm'
    group by node_id
    having count(*) > {{ var('identity_max_records_per_identifier') }}

),

final as (

    select
        credited.record_id,
        credited.record_type,
        rules.rule_name,
        credited.rule_order,
        credited.identifier_type,
        credited.identifier_value,
        credited.node_id
    from credited
    inner join rules
        on credited.rule_order = rules.rule_order
    left join junk_identifiers
        on credited.node_id = junk_identifiers.node_id
    where junk_identifiers.node_id is null

)

select * from final
