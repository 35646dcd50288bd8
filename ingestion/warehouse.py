"""The build file's landing zone: `raw.<entity>` tables and the `ops` bookkeeping tables.

`raw` tables follow `ingestion.entities` exactly (canonical fields + lineage columns); the
other schemas (staging, core, role schemas) are dbt's. `ensure_schemas` is idempotent and
adds columns a newer entity definition introduced, so an existing warehouse keeps its rows.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingestion import paths
from ingestion.entities import DUCKDB_TYPES, ENTITIES, LINEAGE_COLUMNS

SCHEMAS: tuple[str, ...] = ("raw", "ops")

MANIFEST_STATUSES: tuple[str, ...] = ("loaded", "partially_loaded", "quarantined", "replaced")

OPS_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    # One row per distinct landed file content; the sha256 makes loads exactly-once.
    "file_manifest": (
        ("file_sha256", "VARCHAR PRIMARY KEY"),
        ("feed", "VARCHAR NOT NULL"),
        ("entity", "VARCHAR NOT NULL"),
        ("source_file", "VARCHAR NOT NULL"),
        ("file_name", "VARCHAR NOT NULL"),
        ("file_size_bytes", "BIGINT NOT NULL"),
        ("source_timezone", "VARCHAR"),
        ("rows_read", "BIGINT"),
        ("rows_loaded", "BIGINT"),
        ("rows_quarantined", "BIGINT"),
        ("status", "VARCHAR NOT NULL"),
        ("reason", "VARCHAR"),
        ("loaded_at", "TIMESTAMP NOT NULL"),
        ("run_id", "VARCHAR"),
    ),
    # One row per problem: a bad row with two bad cells gives two rows; row_number NULL = file.
    "quarantine": (
        ("feed", "VARCHAR NOT NULL"),
        ("source_file", "VARCHAR NOT NULL"),
        ("file_sha256", "VARCHAR NOT NULL"),
        ("row_number", "BIGINT"),
        ("column_name", "VARCHAR"),
        ("raw_value", "VARCHAR"),
        ("reason", "VARCHAR NOT NULL"),
        ("quarantined_at", "TIMESTAMP NOT NULL"),
    ),
    "run_log": (
        ("run_id", "VARCHAR NOT NULL"),
        ("stage", "VARCHAR NOT NULL"),
        ("started_at", "TIMESTAMP NOT NULL"),
        ("finished_at", "TIMESTAMP"),
        ("status", "VARCHAR NOT NULL"),
        ("detail", "JSON"),
    ),
    # One row per compaction of the serving standby (ingestion/compaction.py): compacted, or
    # in use by a reader, or none to compact
    "compactions": (
        ("compacted_at", "TIMESTAMP NOT NULL"),
        ("standby", "VARCHAR NOT NULL"),
        ("seconds", "DOUBLE"),
        ("blocks_before", "BIGINT"),
        ("blocks_after", "BIGINT"),
    ),
    # One row per erasure request when first applied, and again on every refresh that erased
    # re-delivered rows of the person (ingestion/erasure.py). Identifiers only as sha256.
    "erasure_log": (
        ("request_ref", "VARCHAR NOT NULL"),
        ("requested_at", "TIMESTAMP"),
        ("identifier_hashes", "VARCHAR[] NOT NULL"),
        ("status", "VARCHAR NOT NULL"),
        ("rows_deleted", "BIGINT NOT NULL"),
        ("rows_deleted_by_table", "JSON NOT NULL"),
        ("applied_at", "TIMESTAMP NOT NULL"),
    ),
    # One row per passing Great Expectations validation of a raw table: the rows landed up to
    # `validated_through` passed the suite whose checks hash to `suite_digest`. The next
    # refresh validates only rows landed after it (all rows again when the suite changed).
    "raw_validations": (
        ("table_name", "VARCHAR NOT NULL"),
        ("suite_digest", "VARCHAR NOT NULL"),
        ("validated_through", "TIMESTAMP NOT NULL"),
        ("rows_validated", "BIGINT NOT NULL"),
        ("validated_at", "TIMESTAMP NOT NULL"),
    ),
    # Each landed file's sha256 with the stat signature it was computed for (device, inode,
    # size, modification and change times): a refresh hashes a file again only when its
    # signature changed, instead of reading every landed file, day after day. A change of
    # content changes the change time, which no program can set back.
    "landed_file_hashes": (
        ("source_file", "VARCHAR PRIMARY KEY"),
        ("stat_signature", "VARCHAR NOT NULL"),
        ("file_sha256", "VARCHAR NOT NULL"),
        ("hashed_at", "TIMESTAMP NOT NULL"),
    ),
    # Declared score scales per feed, so marts never mix a 5-point with a 7-point scale.
    "feed_scales": (
        ("feed", "VARCHAR NOT NULL"),
        ("entity", "VARCHAR NOT NULL"),
        ("field", "VARCHAR NOT NULL"),
        ("scale_min", "BIGINT NOT NULL"),
        ("scale_max", "BIGINT NOT NULL"),
        ("polarity", "VARCHAR NOT NULL"),
    ),
}

# Columns an earlier release defined in an ops table and this one no longer writes: dropped
# when found, since a NOT NULL one would refuse every new row. Only cxmart's own logs, never
# raw tables (whose columns hold landed data).
RETIRED_OPS_COLUMNS: dict[str, tuple[str, ...]] = {
    # the compaction of the warehouse, given up in session 21 (ingestion/compaction.py)
    "compactions": (
        "warehouse_seconds",
        "warehouse_blocks_before",
        "warehouse_blocks_after",
        "standby_seconds",
    ),
}


# ops.quarantine has one row per problem; this view has one per (file, column, kind of
# problem): the reason without the offending value, how many rows, and one example.
QUARANTINE_SUMMARY_SQL = """
create or replace view ops.quarantine_summary as
select
    quarantine.feed,
    quarantine.source_file as file,
    case
        when quarantine.file_sha256 = '' then 'refused'
        else coalesce(manifest.status, 'unknown')
    end as file_status,
    case when quarantine.row_number is null then 'file' else 'row' end as scope,
    quarantine.column_name,
    regexp_replace(quarantine.reason, '(?s), got ''.*$', '') as reason,
    count(distinct quarantine.row_number) as rows,
    min(quarantine.row_number) as first_row,
    min(quarantine.raw_value) as example_value,
    max(quarantine.quarantined_at) as last_quarantined_at
from ops.quarantine as quarantine
left join ops.file_manifest as manifest
    on quarantine.file_sha256 = manifest.file_sha256
group by all
"""


def quote_identifier(identifier: str) -> str:
    """A DuckDB identifier, safe for any text (spaces, quotes, unicode)."""
    return '"' + identifier.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A DuckDB string literal, safe for any text."""
    return "'" + text.replace("'", "''") + "'"


def raw_table(entity: str) -> str:
    return f"raw.{quote_identifier(entity)}"


def raw_columns(entity: str) -> tuple[tuple[str, str], ...]:
    """(name, DuckDB type) of `raw.<entity>`: canonical fields, then lineage columns."""
    fields = tuple(
        (canonical.name, DUCKDB_TYPES[canonical.type]) for canonical in ENTITIES[entity].fields
    )
    return fields + LINEAGE_COLUMNS


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    found = con.execute(
        "select count(*) from information_schema.tables "
        "where table_catalog = current_database() and table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(found and found[0])


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the warehouse file with raw and ops tables in place. Its
    checkpoints leave out DuckDB's vacuum, which the compaction makes (paths.DEFERRED_VACUUM;
    dbt's profile sets the same)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), config={**paths.duckdb_config(), **paths.DEFERRED_VACUUM})
    try:
        ensure_schemas(con)
    except BaseException:
        con.close()
        raise
    return con


def ensure_schemas(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw and ops schemas and tables if missing; add newly defined columns."""
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    for entity in ENTITIES:
        _ensure_table(con, "raw", entity, raw_columns(entity))
    for table, columns in OPS_TABLES.items():
        _ensure_table(con, "ops", table, columns)
    for table, retired in RETIRED_OPS_COLUMNS.items():
        for name in retired:
            con.execute(f"alter table ops.{table} drop column if exists {quote_identifier(name)}")
    con.execute(QUARANTINE_SUMMARY_SQL)


def _ensure_table(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, columns: tuple[tuple[str, str], ...]
) -> None:
    qualified = f"{schema}.{quote_identifier(table)}"
    column_list = ",\n    ".join(
        f"{quote_identifier(name)} {definition}" for name, definition in columns
    )
    con.execute(f"create table if not exists {qualified} (\n    {column_list}\n)")
    existing = {
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns "
            "where table_catalog = current_database() and table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    }
    for name, definition in columns:
        if name not in existing:
            # Constraints cannot be added to existing rows; the type is what matters here.
            column_type = definition.split(" NOT NULL")[0].split(" PRIMARY KEY")[0]
            con.execute(
                f"alter table {qualified} add column {quote_identifier(name)} {column_type}"
            )
