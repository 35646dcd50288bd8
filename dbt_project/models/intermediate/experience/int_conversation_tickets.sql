-- Conversations (a customer message and the replies chained to it) as tickets: created at
-- the customer's first message, first response at the brand's first later reply.
with recursive

messages as (select * from {{ ref('stg_service__messages') }}),

roots as (

    select messages.*
    from messages
    left join messages as parents
        on
            messages.in_reply_to_ref = parents.message_ref
            and messages.feed = parents.feed
    where parents.message_ref is null

),

threads (feed, message_ref, root_ref, depth) as (

    select
        feed,
        message_ref,
        message_ref as root_ref,
        0 as depth
    from roots
    union all
    select
        messages.feed,
        messages.message_ref,
        threads.root_ref,
        threads.depth + 1 as depth
    from messages
    inner join threads
        on
            messages.in_reply_to_ref = threads.message_ref
            and messages.feed = threads.feed
    where threads.depth < 200

),

threaded as (

    select
        messages.*,
        threads.root_ref
    from messages
    inner join threads
        on
            messages.feed = threads.feed
            and messages.message_ref = threads.message_ref

),

opened as (

    select
        feed,
        root_ref,
        min(case when is_inbound then sent_at end) as created_at
    from threaded
    group by feed, root_ref

),

summarized as (

    select
        threaded.feed,
        threaded.root_ref,
        opened.created_at,
        min(case when not threaded.is_inbound and threaded.sent_at >= opened.created_at then threaded.sent_at end)
            as first_response_at,
        sum(case when not threaded.is_inbound then 1 else 0 end) as reply_count,
        min(case when threaded.is_inbound and threaded.sent_at = opened.created_at then threaded.author_ref end)
            as requester_ref,
        min(case when not threaded.is_inbound then threaded.author_ref end) as team,
        min(threaded.channel) as channel,
        min(threaded.touchpoint) as touchpoint,
        min(case when threaded.message_ref = threaded.root_ref then threaded.message_text end) as subject,
        max(threaded._loaded_at) as _loaded_at
    from threaded
    inner join opened
        on
            threaded.feed = opened.feed
            and threaded.root_ref = opened.root_ref
    where opened.created_at is not null
    group by threaded.feed, threaded.root_ref, opened.created_at

),

final as (

    select
        feed || ':conversation:' || root_ref as ticket_id,
        root_ref as ticket_ref,
        feed,
        requester_ref,
        created_at,
        first_response_at,
        reply_count,
        coalesce(team, 'unassigned') as team,
        channel,
        touchpoint,
        subject,
        -- when the thread's last message landed
        _loaded_at
    from summarized

)

select * from final
