-- Every identifier every record carries, one row per record × identifier: the evidence
-- identity resolution links on (CRM id, normalized email, E.164 phone).
with

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
        'crm' as identifier_type,
        customer_ref as identifier_value
    from crm_customers
    union all
    select crm_record_id, 'crm_customer', 'email', email_normalized from crm_customers
    union all
    select crm_record_id, 'crm_customer', 'phone', phone_e164 from crm_customers
    union all
    -- a source's own person id: accounts sharing it are one person (scoped to its feed)
    select crm_record_id, 'crm_customer', 'person', feed || ':' || person_ref from crm_customers
    where person_ref is not null
    union all
    select order_id, 'order', 'crm', customer_ref from crm_orders
    union all
    select invitation_id, 'survey_invitation', 'crm', customer_ref from survey_invitations
    union all
    select invitation_id, 'survey_invitation', 'email', email_normalized from survey_invitations
    union all
    select invitation_id, 'survey_invitation', 'phone', phone_e164 from survey_invitations
    union all
    select response_id, 'survey_response', 'crm', customer_ref from survey_responses
    union all
    select response_id, 'survey_response', 'email', email_normalized from survey_responses
    union all
    select response_id, 'survey_response', 'phone', phone_e164 from survey_responses
    union all
    -- a post-purchase review belongs to the buyer of the order it reviews
    select survey_responses.response_id, 'survey_response', 'crm', crm_orders.customer_ref
    from survey_responses
    inner join crm_orders on survey_responses.order_ref = crm_orders.order_ref
    union all
    select ticket_id, 'ticket', 'crm', customer_ref from tickets
    union all
    select ticket_id, 'ticket', 'email', email_normalized from tickets
    union all
    select ticket_id, 'ticket', 'phone', phone_e164 from tickets
    union all
    select ticket_id, 'ticket', 'social', social_handle from tickets
    union all
    select call_id, 'call', 'crm', customer_ref from calls
    union all
    select call_id, 'call', 'phone', phone_e164 from calls
    union all
    select session_id, 'web_session', 'crm', customer_ref from web_sessions
    union all
    select session_id, 'web_session', 'email', email_normalized from web_sessions

),

present as (

    select
        record_id,
        record_type,
        identifier_type,
        identifier_value,
        identifier_type || ':' || identifier_value as node_id
    from record_identifiers
    where identifier_value is not null and identifier_value <> ''

),

-- an email or phone shared by many CRM accounts is a placeholder (a shop's own address,
-- 000-000-0000), not a person: it must not merge those accounts
junk_identifiers as (

    select node_id
    from present
    where record_type = 'crm_customer' and identifier_type <> 'crm'
    group by node_id
    having count(distinct record_id) > {{ var('identity_max_records_per_identifier') }}

),

final as (

    select present.*
    from present
    left join junk_identifiers
        on present.node_id = junk_identifiers.node_id
    where junk_identifiers.node_id is null

)

select * from final
