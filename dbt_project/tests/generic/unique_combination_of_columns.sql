{#- A compound primary key: no two rows share the combination of columns.

    Grouping millions of rows by several text columns is slow (13 s for the 27 M links at
    SF10 in a full build); rows that share the combination share its hash, so the rows are
    first grouped by a 64-bit hash of it, and only those of a hash seen twice (none, unless
    a key repeats or two keys collide) are grouped by the columns themselves. -#}
{% test unique_combination_of_columns(model, columns) %}
    with repeated_hashes as (

        select hash({{ columns | join(', ') }}) as combination_hash
        from {{ model }}
        group by 1
        having count(*) > 1

    )

    select {{ columns | join(', ') }}, count(*) as duplicate_rows
    from {{ model }}
    where hash({{ columns | join(', ') }}) in (select combination_hash from repeated_hashes)
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
