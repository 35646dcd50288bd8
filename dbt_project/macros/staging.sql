{#- The latest delivered version of each record of a raw table: a corrected re-export of a
    record supersedes the earlier one (same feed and key; later load or later row wins).
    In an incremental build, only the rows landed since the model's last build.

    Most keys have one version, so only the keys with several are ranked: counting rows by
    key is lighter than a window over every row, which carries every column through it (the
    nine staging queries at SF10: 30.0 s against 42.7 s). The superseded rows are dropped by
    rowid, so `relation` must be a table. -#}
{% macro cx_latest_version(relation, key_columns) -%}
    {#- a later load always wins, so in an incremental build the rows landed since the last
        build are the new latest versions of their keys (macros/incremental.sql) -#}
    {%- set since = cx_incremental_since() if is_incremental() else none -%}
    select landed.*
    from {{ relation }} as landed
    anti join (
        select versions.row_id
        from (
            select
                keyed.rowid as row_id,
                row_number() over (
                    partition by keyed._feed
                    {%- for column in key_columns %}, keyed.{{ column }}{% endfor %}
                    order by keyed._loaded_at desc, keyed._file_sha256 desc, keyed._row_number desc
                ) as version_rank
            from {{ relation }} as keyed
            semi join (
                select _feed, {{ key_columns | join(', ') }}
                from {{ relation }}
                {%- if since %}
                where _loaded_at >= {{ since }}
                {%- endif %}
                group by all
                having count(*) > 1
            ) as repeated
                on keyed._feed = repeated._feed
                {%- for column in key_columns %}
                and keyed.{{ column }} is not distinct from repeated.{{ column }}
                {%- endfor %}
            {%- if since %}
            where keyed._loaded_at >= {{ since }}
            {%- endif %}
        ) as versions
        where versions.version_rank > 1
    ) as superseded
        on landed.rowid = superseded.row_id
    {%- if since %}
    where landed._loaded_at >= {{ since }}
    {%- endif %}
{%- endmacro %}

{#- A record id unique across feeds: the feed name and the source's own id. -#}
{% macro cx_record_id(ref_column) -%}
    _feed || ':' || {{ ref_column }}
{%- endmacro %}
