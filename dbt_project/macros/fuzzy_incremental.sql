{#- int_identity_accounts_compared, incremental. A landed account may have changed its name or
    postcode, so a build compares again, each with every account of its block:
    - the accounts landed since;
    - the accounts alike a landed account, before (its rows) or now: their rows name it;
    - every account of a block compared before and no longer, or the other way round (an
      account moving in or out took it across identity_fuzzy_max_records_per_postcode, or
      the limit changed).
    Every other account keeps its rows: neither it nor anything it was compared with changed.
    A change of the rule's min_similarity, or the rule switched on or off, rebuilds the model
    in full (cx_fuzzy_rule_changed). -#}

{#- The alike accounts of `accounts` (a CTE: record_id, postcode_key, null when the account
    cannot be compared, the name keys and min_similarity) within the compared `blocks`
    (postcode_key, is_compared): record_id, matched_record_id and the two similarities, for
    the pairs whose record ids compare by `operator` ('<': each pair once; '<>': from either
    side), and only for the accounts of `scope` (a CTE of record_id) if given. -#}
{% macro cx_fuzzy_alike(accounts, blocks, operator, scope=none) -%}
    select
        scored.record_id,
        scored.matched_record_id,
        scored.first_name_similarity,
        scored.last_name_similarity
    from (
        select
            account.record_id,
            account.min_similarity,
            other_account.record_id as matched_record_id,
            {{ cx_name_similarity('account.first_name_key', 'other_account.first_name_key') }}
                as first_name_similarity,
            {{ cx_name_similarity('account.last_name_key', 'other_account.last_name_key') }}
                as last_name_similarity
        from {{ accounts }} as account
        inner join {{ blocks }} as block
            on account.postcode_key = block.postcode_key
        inner join {{ accounts }} as other_account
            on
                account.postcode_key = other_account.postcode_key
                and account.record_id {{ operator }} other_account.record_id
        where
            block.is_compared
            {%- if scope is not none %}
            and account.record_id in (select {{ scope }}.record_id from {{ scope }})
            {%- endif %}
    ) as scored
    where least(scored.first_name_similarity, scored.last_name_similarity) >= scored.min_similarity
{%- endmacro %}

{#- The incremental build's CTEs `compared` (the accounts whose rows are written again) and
    `both_ways` (their matches, from their side). -#}
{% macro cx_fuzzy_accounts_to_compare(accounts, blocks) -%}
    landed as (

        select record_id
        from {{ accounts }}
        where _loaded_at >= {{ cx_incremental_since() }}

    ),

    previous as (select * from {{ this }}),

    flipped_blocks as (

        select previous.postcode_key
        from previous
        left join {{ blocks }} as block
            on previous.postcode_key = block.postcode_key
        where
            previous.postcode_key is not null
            and previous.is_block_compared <> coalesce(block.is_compared, false)

    ),

    first_scope as (

        select record_id from landed
        union
        -- the rows of a landed account name the accounts that were alike it
        select previous.matched_record_id
        from previous
        where
            previous.record_id in (select landed.record_id from landed)
            and previous.matched_record_id is not null
        union
        select record_id
        from {{ accounts }}
        where postcode_key in (select flipped_blocks.postcode_key from flipped_blocks)

    ),

    first_matches as (

        {{ cx_fuzzy_alike(accounts, blocks, '<>', 'first_scope') }}

    ),

    -- accounts alike a landed account now, whose rows must name it
    second_scope as (

        select first_matches.matched_record_id as record_id
        from first_matches
        where first_matches.record_id in (select landed.record_id from landed)
        except
        select record_id from first_scope

    ),

    compared as (

        select record_id from first_scope
        union all
        select record_id from second_scope

    ),

    both_ways as (

        select * from first_matches
        union all
        {{ cx_fuzzy_alike(accounts, blocks, '<>', 'second_scope') }}

    )
{%- endmacro %}

{#- cx_full_rebuild_check of int_identity_accounts_compared: why its rows no longer answer to
    the fuzzy rule (it was switched on or off, or its min_similarity changed), or none. -#}
{% macro cx_fuzzy_rule_changed() -%}
    {%- set found = run_query(
        "select count(*) from (select distinct min_similarity from " ~ this ~ ") as built
        where built.min_similarity is distinct from (
            select rules.min_similarity from " ~ ref('int_identity_rules_enabled') ~ " as rules
            where rules.rule_name = 'name_and_postcode'
        )"
    ).rows[0][0] -%}
    {{ return("the fuzzy rule changed" if found > 0 else none) }}
{%- endmacro %}
