{#- The latest delivered version of each record of a raw table: a corrected re-export of a
    record supersedes the earlier one (same feed and key; later load or later row wins).
    In an incremental build, only the rows landed since the model's last build. -#}
{% macro cx_latest_version(relation, key_columns) -%}
    select *
    from (
        select
            *,
            row_number() over (
                partition by _feed, {{ key_columns | join(', ') }}
                order by _loaded_at desc, _file_sha256 desc, _row_number desc
            ) as _version_rank
        from {{ relation }}
        {%- if is_incremental() %}
        -- a later load always wins, so the rows landed since the last build are the new
        -- latest versions of their keys (macros/incremental.sql)
        where _loaded_at >= {{ cx_incremental_since() }}
        {%- endif %}
    ) as versions
    where _version_rank = 1
{%- endmacro %}

{#- A record id unique across feeds: the feed name and the source's own id. -#}
{% macro cx_record_id(ref_column) -%}
    _feed || ':' || {{ ref_column }}
{%- endmacro %}
