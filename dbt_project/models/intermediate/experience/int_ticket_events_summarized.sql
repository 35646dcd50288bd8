-- Service metrics of each ticket from its event history, as METRICS.md defines them:
-- - a customer message is a public `created` or `comment` event by the end user;
-- - an agent response is a public agent comment that follows a customer message: internal
--   notes never count, and an agent-created ticket's opening comment (a phone follow-up) is no
--   response, so its first response is the agent's first public comment after the customer's
--   first message, or null while the customer has not written;
-- - agent responses with no customer message between them (a chat burst) count as one reply;
-- - a solve is a change into solved/closed from another status; a reopen a change out of it;
--   solved_at is the last solve, kept only while the latest status is solved or closed.
-- Events in the same second keep creation first, then the export's row order.
-- Incremental: a ticket is summarized again, from all its events, when one of its events
-- landed since the last build, or moved to another ticket in a later version.
-- depends_on: {{ source('raw', 'ticket_events') }}
{{ config(
    materialized='incremental',
    unique_key='ticket_id',
    post_hook=["{{ cx_delete_gone_keys('ticket_id', cx_event_ticket_ids()) }}"],
) }}

with

events as (

    select * from {{ ref('stg_service__ticket_events') }}
    {% if is_incremental() %}
    where ticket_feed || ':' || ticket_ref in ({{ cx_event_tickets_landed() }})
    {% endif %}

),

sequenced as (

    select
        ticket_feed,
        ticket_ref,
        event_at,
        event_type,
        author_role,
        status_to,
        row_number() over (
            partition by ticket_feed, ticket_ref
            order by
                event_at,
                case when event_type = 'created' then 0 else 1 end,
                source_row_number,
                event_ref
        ) as event_sequence,
        event_type in ('created', 'comment')
        and is_public
        and author_role in ('end_user', 'agent') as is_public_message,
        event_type in ('created', 'comment')
        and is_public
        and author_role = 'end_user' as is_customer_message,
        event_type = 'comment'
        and is_public
        and author_role = 'agent' as is_public_agent_comment,
        event_type = 'status_change'
        and status_to in ('solved', 'closed')
        and coalesce(status_from, 'none') not in ('solved', 'closed') as is_solve,
        event_type = 'status_change'
        and status_from in ('solved', 'closed')
        and status_to in ('new', 'open', 'pending', 'hold') as is_reopen
    from events

),

conversation as (

    select
        *,
        -- replies answering the same customer message share this number
        sum(case when is_customer_message then 1 else 0 end) over (
            partition by ticket_feed, ticket_ref
            order by event_sequence
            rows between unbounded preceding and current row
        ) as customer_messages_so_far,
        min(case when is_public_message then event_sequence end) over (
            partition by ticket_feed, ticket_ref
        ) as first_public_message_sequence,
        max(case when status_to is not null then event_sequence end) over (
            partition by ticket_feed, ticket_ref
        ) as last_status_sequence
    from sequenced

),

responses as (

    select
        *,
        is_public_agent_comment and customer_messages_so_far > 0 as is_agent_response
    from conversation

),

summarized as (

    select
        ticket_feed,
        ticket_ref,
        coalesce(
            min(case when event_type = 'created' then event_at end),
            min(event_at)
        ) as created_at,
        coalesce(
            max(case when event_sequence = first_public_message_sequence then author_role end)
            = 'agent',
            false
        ) as is_agent_created,
        min(case when is_agent_response then event_at end) as first_response_at,
        count(distinct case when is_agent_response then customer_messages_so_far end)
            as reply_count,
        min(case when is_solve then event_at end) as first_solved_at,
        max(case when is_solve then event_at end) as last_solved_at,
        max(case when event_sequence = last_status_sequence then status_to end) as latest_status,
        count(case when is_reopen then 1 end) as reopen_count,
        count(*) as event_count
    from responses
    group by ticket_feed, ticket_ref

),

final as (

    select
        ticket_feed || ':' || ticket_ref as ticket_id,
        ticket_feed as feed,
        ticket_ref,
        created_at,
        is_agent_created,
        first_response_at,
        reply_count,
        first_solved_at,
        case when latest_status in ('solved', 'closed') then last_solved_at end as solved_at,
        reopen_count,
        latest_status,
        event_count
    from summarized

)

select * from final
