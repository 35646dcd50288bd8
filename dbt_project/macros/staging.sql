{#- The latest delivered version of each record of a raw table: a corrected re-export of a
    record supersedes the earlier one (same feed and key; later load or later row wins). -#}
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
    ) as versions
    where _version_rank = 1
{%- endmacro %}

{#- A record id unique across feeds: the feed name and the source's own id. -#}
{% macro cx_record_id(ref_column) -%}
    _feed || ':' || {{ ref_column }}
{%- endmacro %}
