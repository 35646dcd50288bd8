{#- Incremental models. A model materialized `incremental` reads only the raw rows landed
    since its last successful build (`cx_incremental_since()`) and replaces the rows of the
    keys they touch (delete+insert on the model's unique_key).

    The watermark is the load time (`_loaded_at`), not an event time: a late-arriving record
    (an order from last month in today's file) is new by its load time, so no lookback window
    is needed and none can be too short.

    Every build of an incremental model is logged in dbt_state.incremental_builds (post-hook
    `cx_record_incremental_build`). The next build is incremental only while that log says
    the raw tables are append-only since: if rows loaded before the last build are gone (a
    re-delivered file replaced its predecessor, an erasure removed a person), the model is
    rebuilt in full (`should_full_refresh` below), as it is with `--full-refresh`, when the
    log has no entry for it, or when the relation is still a view. Code changes are the
    orchestrator's concern: it passes `--full-refresh` when the project changed
    (orchestration/incremental.py). -#}

{% macro cx_incremental_state_relation() -%}
    dbt_state.incremental_builds
{%- endmacro %}

{#- Each incremental model's decision of this run (full or incremental, and why), taken once:
    dbt asks should_full_refresh() several times per model (compiling, materializing, the
    post-hook), and a check that reads the model's own table would answer differently once
    the model is built. -#}
{% macro cx_incremental_decisions_relation() -%}
    dbt_state.incremental_decisions
{%- endmacro %}

{#- on-run-start: the build log exists before any model reads it; it keeps 30 days and
    each model's last build. -#}
{% macro cx_create_incremental_state() -%}
    create schema if not exists dbt_state;
    create table if not exists {{ cx_incremental_state_relation() }} (
        model_name varchar not null,
        built_from timestamp not null,
        raw_rows_before bigint not null,
        finished_at timestamp not null
    );
    -- logs written before this column existed were incremental unless told otherwise
    alter table {{ cx_incremental_state_relation() }} add column if not exists rebuilt_in_full boolean;
    -- the model's unique_key (comma-separated): publication replaces the published rows of
    -- the keys a build wrote (ingestion/serving.py)
    alter table {{ cx_incremental_state_relation() }} add column if not exists unique_key varchar;
    -- the build's now (cx_now()): a model with a moving window (dim_customers' 12-month
    -- value) finds what the window let in or out since its last build
    alter table {{ cx_incremental_state_relation() }} add column if not exists built_as_of timestamp;
    create table if not exists {{ cx_incremental_decisions_relation() }} (
        model_name varchar not null,
        run_started_at timestamp not null,
        rebuilt_in_full boolean not null,
        reason varchar
    );
    delete from {{ cx_incremental_decisions_relation() }}
    where run_started_at < {{ cx_run_started_at() }} - interval 30 day;
    delete from {{ cx_incremental_state_relation() }}
    where
        built_from < {{ cx_run_started_at() }} - interval 30 day
        and (model_name, built_from) not in (
            select (model_name, max(built_from))
            from {{ cx_incremental_state_relation() }}
            group by model_name
        )
{%- endmacro %}

{#- The raw tables the watermark applies to: every raw source that records its load time. -#}
{% macro cx_loaded_raw_tables() -%}
    {%- set tables = [] -%}
    {%- for source in graph.sources.values()
        if source.source_name == 'raw' and '_loaded_at' in source.columns -%}
        {%- do tables.append(source.schema ~ '.' ~ source.identifier) -%}
    {%- endfor -%}
    {{ return(tables | sort) }}
{%- endmacro %}

{#- Number of raw rows loaded before `timestamp_sql`: it can only grow while raw tables are
    append-only. -#}
{% macro cx_raw_rows_before(timestamp_sql) -%}
    ({% for table in cx_loaded_raw_tables() -%}
        (select count(*) from {{ table }} where _loaded_at < {{ timestamp_sql }})
        {%- if not loop.last %} + {% endif %}
    {%- endfor %})
{%- endmacro %}

{% macro cx_run_started_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#- post-hook of every model; logs incremental ones. All rows this build read were loaded
    before the dbt command started: the next build reads from that instant on. -#}
{% macro cx_record_incremental_build() -%}
    {%- if model.config.materialized == 'incremental' -%}
        insert into {{ cx_incremental_state_relation() }}
            (model_name, built_from, raw_rows_before, finished_at, rebuilt_in_full, unique_key,
            built_as_of)
        select
            '{{ this.identifier }}',
            {{ cx_run_started_at() }},
            {{ cx_raw_rows_before(cx_run_started_at()) }},
            current_timestamp,
            {{ should_full_refresh() }},
            '{{ cx_unique_key_list() }}',
            {{ cx_now() }}
    {%- endif -%}
{%- endmacro %}

{#- The model's unique_key as one comma-separated string (dbt takes a column or a list). -#}
{% macro cx_unique_key_list() -%}
    {%- set key = model.config.unique_key -%}
    {{- '' if key is none else (key if key is string else key | join(',')) -}}
{%- endmacro %}

{#- The `_built_at` column of a published incremental model: every row it writes carries the
    start of its build, so the publisher copies only the rows written since it last
    published (ingestion/serving.py) instead of the whole table. -#}
{% macro cx_built_at() -%}
    {{ cx_run_started_at() }} as _built_at
{%- endmacro %}

{#- The model's last logged build before this run: (built_from, raw_rows_before,
    built_as_of), or none; built_as_of is none for a build logged before the column existed.
    A post-hook asks after this run's build is logged: the answer is the one the model's SQL
    was compiled with. -#}
{% macro cx_last_incremental_build() -%}
    {%- set found = run_query(
        "select cast(built_from as varchar), raw_rows_before, cast(built_as_of as varchar) from "
        ~ cx_incremental_state_relation()
        ~ " where model_name = '" ~ this.identifier ~ "' and built_from < " ~ cx_run_started_at()
        ~ " order by built_from desc limit 1"
    ) -%}
    {{ return(found.rows[0] if found.rows | length > 0 else none) }}
{%- endmacro %}

{#- SQL for the instant this model's rows are new from (only inside is_incremental()). -#}
{% macro cx_incremental_since() -%}
    {%- set last = cx_last_incremental_build() -%}
    {%- if last is none -%}
        {{ exceptions.raise_compiler_error(
            "cx_incremental_since() outside an incremental build of " ~ this) }}
    {%- endif -%}
    cast('{{ last[0] }}' as timestamp)
{%- endmacro %}

{#- Why the model must be rebuilt in full although dbt would build it incrementally, or none:
    - it has no build log (never built, or built before the log existed);
    - raw rows loaded before its last build changed (raw tables were not append-only);
    - an incremental model it reads was rebuilt in full since (rows may be gone there, and
      reading the rows landed since would never remove them here);
    - its strategy is cx_record_key and its table has no record_key column yet;
    - a model-specific check, named by the config `cx_full_rebuild_check`, gives a reason
      (the identity graph lost an edge: macros/identity_incremental.sql; the fuzzy rule
      changed: macros/fuzzy_incremental.sql). -#}
{% macro cx_full_rebuild_reason() -%}
    {%- set existing = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) -%}
    {%- if existing is none -%}
        {{ return('no table yet') }}
    {%- endif -%}
    {%- set last = cx_last_incremental_build() -%}
    {%- if last is none -%}
        {{ return('no build log') }}
    {%- endif -%}
    {%- set counted = run_query(
        "select " ~ cx_raw_rows_before("cast('" ~ last[0] ~ "' as timestamp)")
    ) -%}
    {%- if counted.rows[0][0] != last[1] -%}
        {{ return("raw rows loaded before its last build changed ("
            ~ last[1] ~ " → " ~ counted.rows[0][0] ~ ")") }}
    {%- endif -%}
    {%- set parents = [] -%}
    {%- for unique_id in model.depends_on.nodes
        if unique_id in graph.nodes and graph.nodes[unique_id].config.materialized == 'incremental' -%}
        {%- do parents.append(graph.nodes[unique_id].alias) -%}
    {%- endfor -%}
    {%- if parents -%}
        {%- set rebuilt = run_query(
            "select string_agg(distinct model_name, ', ' order by model_name) from "
            ~ cx_incremental_state_relation()
            ~ " where rebuilt_in_full and built_from > cast('" ~ last[0] ~ "' as timestamp)"
            ~ " and model_name in ('" ~ parents | join("', '") ~ "')"
        ) -%}
        {%- if rebuilt.rows[0][0] is not none -%}
            {{ return(rebuilt.rows[0][0] ~ " rebuilt in full since its last build") }}
        {%- endif -%}
    {%- endif -%}
    {#- the strategy cx_record_key finds the rows it replaces by record_key, which only a full
        build writes into a table from before it (macros/identity_incremental.sql) -#}
    {%- if config.get('incremental_strategy') == 'cx_record_key'
        and 'record_key' not in (adapter.get_columns_in_relation(existing) | map(attribute='name') | list) -%}
        {{ return('its rows carry no record_key') }}
    {%- endif -%}
    {%- set check = config.get('cx_full_rebuild_check') -%}
    {%- if check == 'identity_graph_shrank' -%}
        {{ return(cx_identity_graph_shrank(cx_incremental_since())) }}
    {%- elif check == 'fuzzy_rule_changed' -%}
        {{ return(cx_fuzzy_rule_changed()) }}
    {%- elif check == 'fuzzy_merges_unrecorded' -%}
        {{ return(cx_identity_fuzzy_merges_unrecorded()) }}
    {%- elif check is not none -%}
        {{ exceptions.raise_compiler_error(this ~ ": unknown cx_full_rebuild_check '" ~ check ~ "'") }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- This run's decision for the model: taken (and logged) once, then read back. -#}
{% macro cx_incremental_decision() -%}
    {%- set key = " where model_name = '" ~ this.identifier ~ "' and run_started_at = "
        ~ cx_run_started_at() -%}
    {%- set taken = run_query(
        "select rebuilt_in_full from " ~ cx_incremental_decisions_relation() ~ key) -%}
    {%- if taken.rows | length > 0 -%}
        {{ return(taken.rows[0][0]) }}
    {%- endif -%}
    {%- set reason = cx_full_rebuild_reason() -%}
    {%- if reason is not none -%}
        {{ log(this ~ ": " ~ reason ~ "; rebuilding in full", info=true) }}
    {%- endif -%}
    {#- only a run or build records it; compiling (dbt compile, docs) writes nothing -#}
    {%- if flags.WHICH in ('run', 'build') -%}
        {%- do run_query(
            "insert into " ~ cx_incremental_decisions_relation() ~ " values ('"
            ~ this.identifier ~ "', " ~ cx_run_started_at() ~ ", "
            ~ (reason is not none) ~ ", " ~ ("null" if reason is none else "'" ~ reason | replace("'", "''") ~ "'")
            ~ ")") -%}
    {%- endif -%}
    {{ return(reason is not none) }}
{%- endmacro %}

{#- dbt's own macro (is_incremental() and the incremental materialization both ask it),
    extended: an incremental model is rebuilt in full for any cx_full_rebuild_reason(),
    unless its config says full_refresh=false. -#}
{% macro should_full_refresh() -%}
    {%- set configured = config.get('full_refresh') -%}
    {%- if configured is not none -%}
        {#- a model that says (full_refresh=false: the follow-up cases) keeps its history -#}
        {{ return(configured) }}
    {%- endif -%}
    {%- if flags.FULL_REFRESH -%}
        {{ return(true) }}
    {%- endif -%}
    {%- if execute and model.config.materialized == 'incremental' -%}
        {{ return(cx_incremental_decision()) }}
    {%- endif -%}
    {{ return(false) }}
{%- endmacro %}
{#- Keys of `this` whose record identity resolution moved to another customer since the
    model's last build: int_records_resolved writes a record again, with _resolved_at, only
    when it is new or its customer changed (and is rebuilt in full, and its readers with it,
    when a record can lose its customer). -#}
{% macro cx_customer_changed_keys(key_column) -%}
    select records.record_id as {{ key_column }}
    from {{ ref('int_records_resolved') }} as records
    -- written in a build after this model's last one (_resolved_at is a build's start)
    where records._resolved_at > {{ cx_incremental_since() }}
{%- endmacro %}

{#- Post-hook of an incremental model: after an incremental build, delete the rows whose
    `key_column` `population_sql` (a query with that column) no longer holds, within
    `scope` (a condition) if given. delete+insert replaces the rows of the keys a build
    writes; a key that is gone upstream (a conversation threaded into another) is written
    by none, and would stay. -#}
{% macro cx_delete_gone_keys(key_column, population_sql, scope=none) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where
            {{ key_column }} not in (
                -- a null in a not-in list would match nothing, and delete nothing
                select population.{{ key_column }} from ({{ population_sql }}) as population
                where population.{{ key_column }} is not null
            )
            {%- if scope %} and {{ scope }}{% endif %}
    {%- endif -%}
{%- endmacro %}
