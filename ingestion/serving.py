"""Publish the BI-facing `serving.duckdb`: write → audit → publish.

The serving file is rebuilt beside the build file from the published schemas, then swapped in
with an atomic rename. BI clients never open `warehouse.duckdb`; a client holding the old
serving file keeps reading its snapshot, a new connection sees the new one, and a failure at
any point leaves the previous serving file untouched.

For tools that prefer files, the role tables can also be published as one Parquet file each
(`serving_parquet/<schema>/<table>.parquet`), staged the same way: written into a folder
beside the published one and moved over the previous file with an atomic rename per file.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from ingestion import paths

PUBLISHED_SCHEMAS: tuple[str, ...] = ("core", "frontline", "manager", "executive", "ops")
# the role tables: what the Parquet export writes (core and ops stay in serving.duckdb)
PARQUET_SCHEMAS: tuple[str, ...] = ("frontline", "manager", "executive")


@dataclass(frozen=True)
class PublishReport:
    serving_path: Path
    published_at: datetime
    row_counts: dict[str, int] = field(default_factory=dict)
    parquet_files: dict[str, Path] = field(default_factory=dict)
    # the tables copied by this publication; the others were unchanged and kept
    copied: tuple[str, ...] = ()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _staging_path(published: Path) -> Path:
    return published.with_name(f".{published.name}.{os.getpid()}.tmp")


def _remove_leftovers(published: Path) -> None:
    """Staging files or folders of a publication killed mid-way (one publisher at a time)."""
    for stale in published.parent.glob(f".{published.name}.*.tmp"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


def publish_serving(
    warehouse: Path,
    serving: Path,
    schemas: tuple[str, ...] = PUBLISHED_SCHEMAS,
    parquet_dir: Path | None = None,
) -> PublishReport:
    """Copy every table of `schemas` from the warehouse into a new serving file, atomically.

    Only the tables whose content changed since the last publication are copied: a table is
    copied again when its fingerprint (columns, row count and a hash of every row) differs
    from the one recorded in the published file's ops.publication. The new file starts as a
    copy of the published one when most rows are unchanged (`_worth_reusing`: never after an
    erasure, nor when the copy would be mostly free space), else empty.

    With `parquet_dir`, the tables of PARQUET_SCHEMAS are also exported from the new file as
    `<parquet_dir>/<schema>/<table>.parquet`. The files are staged before serving.duckdb is
    swapped in and each one replaces its predecessor only after that swap: a failed
    publication leaves both the previous serving file and the previous Parquet files.
    """
    if not warehouse.exists():
        raise FileNotFoundError(f"{warehouse}: no warehouse to publish from; run a refresh first")
    _remove_leftovers(serving)
    staging_file = _staging_path(serving)
    staging_parquet: Path | None = None
    if parquet_dir is not None:
        _remove_leftovers(parquet_dir)
        staging_parquet = _staging_path(parquet_dir)
    published_at = datetime.now(UTC).replace(tzinfo=None)
    current = _warehouse_fingerprints(warehouse, schemas)
    previous = _published_fingerprints(serving)
    con = _open_staging(serving if _worth_reusing(previous, current) else None, staging_file)
    try:
        copied = _copy_published_tables(con, warehouse, schemas, published_at, current, previous)
        row_counts = {table: _rows(fingerprint) for table, fingerprint in sorted(current.items())}
        staged = _export_parquet(con, row_counts, staging_parquet) if staging_parquet else {}
        con.execute("checkpoint")
    except BaseException:
        con.close()
        staging_file.unlink(missing_ok=True)
        if staging_parquet is not None:
            shutil.rmtree(staging_parquet, ignore_errors=True)
        raise
    con.close()
    os.replace(staging_file, serving)
    parquet_files: dict[str, Path] = {}
    if parquet_dir is not None and staging_parquet is not None:
        parquet_files = _swap_in_parquet(staged, staging_parquet, parquet_dir, schemas)
    return PublishReport(
        serving_path=serving,
        published_at=published_at,
        row_counts=row_counts,
        parquet_files=parquet_files,
        copied=tuple(copied),
    )


def _open_staging(reuse: Path | None, staging_file: Path) -> duckdb.DuckDBPyConnection:
    """The staging file: a copy of the published file `reuse`, or a new file when None or
    when that copy is more free space than data."""
    config = {"memory_limit": paths.duckdb_memory_limit()}
    if reuse is not None:
        shutil.copyfile(reuse, staging_file)
        con = duckdb.connect(str(staging_file), config=config)
        free_blocks, total_blocks = con.execute(
            "select free_blocks, total_blocks from pragma_database_size()"
        ).fetchone()
        if 2 * free_blocks <= total_blocks:
            return con
        con.close()  # mostly free space: start over
        staging_file.unlink()
    return duckdb.connect(str(staging_file), config=config)


def _rows(fingerprint: str) -> int:
    return int(fingerprint.split(":", 1)[0])


# A new row here means rows of a person were erased since the last publication.
ERASURE_LOG = "ops.erasure_log"


def _worth_reusing(previous: dict[str, str], current: dict[str, str]) -> bool:
    """Start from a copy of the published file when at least half of the rows to publish
    are in tables that did not change; otherwise copying it costs more than it saves.

    Never after an erasure: a replaced table's old blocks stay in the file as free space,
    so a copy could still hold the erased person's bytes. A new file holds only live rows."""
    if previous.get(ERASURE_LOG) != current.get(ERASURE_LOG):
        return False
    total = sum(_rows(fingerprint) for fingerprint in current.values())
    unchanged = sum(
        _rows(fingerprint)
        for table, fingerprint in current.items()
        if previous.get(table) == fingerprint
    )
    return bool(previous) and 2 * unchanged >= total


def _warehouse_fingerprints(warehouse: Path, schemas: tuple[str, ...]) -> dict[str, str]:
    """Per `<schema>.<table>` of the published schemas: its columns, row count and the sum
    of its row hashes — equal fingerprints mean equal content (up to a hash collision)."""
    con = duckdb.connect(
        str(warehouse), read_only=True, config={"memory_limit": paths.duckdb_memory_limit()}
    )
    try:
        schema_list = ", ".join(_literal(schema) for schema in schemas)
        fingerprints: dict[str, str] = {}
        for schema, table, columns in con.execute(
            "select t.schema_name, t.table_name, string_agg(c.column_name || ' ' || "
            "c.data_type, ', ' order by c.column_index) "
            "from duckdb_tables() as t inner join duckdb_columns() as c "
            "on c.database_name = t.database_name and c.schema_name = t.schema_name "
            "and c.table_name = t.table_name "
            f"where t.database_name = current_database() and t.schema_name in ({schema_list}) "
            "group by all order by 1, 2"
        ).fetchall():
            rows, hashed = con.execute(
                f"select count(*), coalesce(sum(hash(t)::hugeint), 0) "
                f"from {_quote(schema)}.{_quote(table)} as t"
            ).fetchone()
            fingerprints[f"{schema}.{table}"] = f"{rows}:{hashed}:{columns}"
        return fingerprints
    finally:
        con.close()


def _published_fingerprints(serving: Path) -> dict[str, str]:
    """What the published file says it holds (empty for a file from before fingerprints)."""
    if not serving.exists():
        return {}
    con = duckdb.connect(str(serving), read_only=True)
    try:
        recorded = con.execute(
            "select count(*) from duckdb_columns() where schema_name = 'ops' "
            "and table_name = 'publication' and column_name = 'fingerprint'"
        ).fetchone()[0]
        if not recorded:
            return {}
        return dict(con.execute("select table_name, fingerprint from ops.publication").fetchall())
    finally:
        con.close()


def _copy_published_tables(
    con: duckdb.DuckDBPyConnection,
    warehouse: Path,
    schemas: tuple[str, ...],
    published_at: datetime,
    current: dict[str, str],
    previous: dict[str, str],
) -> list[str]:
    """Every table of `current` not in `con` or changed since `previous`, and every view,
    of `schemas` into `con`, then ops.publication; returns the tables copied."""
    con.execute(f"attach {_literal(str(warehouse))} as warehouse (read_only)")
    schema_list = ", ".join(_literal(schema) for schema in schemas)
    tables = sorted(current)
    present = {
        f"{schema}.{table}"
        for schema, table in con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where database_name = current_database()"
        ).fetchall()
    }
    # tables no longer published, and every view (re-created below from the warehouse's)
    for qualified in sorted(present - set(tables) - {"ops.publication"}):
        schema, table = qualified.split(".", 1)
        con.execute(f"drop table {_quote(schema)}.{_quote(table)}")
    for schema, view in con.execute(
        "select schema_name, view_name from duckdb_views() "
        "where database_name = current_database() and not internal"
    ).fetchall():
        con.execute(f"drop view {_quote(schema)}.{_quote(view)}")
    copied = [
        qualified
        for qualified in tables
        if qualified not in present or previous.get(qualified) != current[qualified]
    ]
    for qualified in copied:
        schema, table = qualified.split(".", 1)
        target = f"{_quote(schema)}.{_quote(table)}"
        con.execute(f"create schema if not exists {_quote(schema)}")
        con.execute(f"create or replace table {target} as select * from warehouse.{target}")
    # views over published tables (ops.quarantine_summary) are re-created, not copied
    views = con.execute(
        "select sql from duckdb_views() where database_name = 'warehouse' "
        f"and not internal and schema_name in ({schema_list})"
    ).fetchall()
    for (view_sql,) in views:
        con.execute(view_sql)
    con.execute("create schema if not exists ops")
    con.execute(
        "create or replace table ops.publication as "
        "select ? as published_at, unnest(?) as table_name, unnest(?) as row_count, "
        "unnest(?) as fingerprint, unnest(?) as is_copied",
        [
            published_at,
            tables,
            [_rows(current[qualified]) for qualified in tables],
            [current[qualified] for qualified in tables],
            [qualified in copied for qualified in tables],
        ],
    )
    con.execute("detach warehouse")
    return copied


def _parquet_select(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    """The table's columns, HUGEINT counts cast to BIGINT: Parquet has no 128-bit integer and
    DuckDB would write them as DOUBLE; a count beyond BIGINT fails the export loudly."""
    columns = con.execute(
        "select column_name, data_type from duckdb_columns() "
        "where database_name = current_database() and schema_name = ? and table_name = ? "
        "order by column_index",
        [schema, table],
    ).fetchall()
    select_list = ", ".join(
        f"cast({_quote(name)} as bigint) as {_quote(name)}"
        if data_type == "HUGEINT"
        else _quote(name)
        for name, data_type in columns
    )
    return f"select {select_list} from {_quote(schema)}.{_quote(table)}"


def _export_parquet(
    con: duckdb.DuckDBPyConnection, row_counts: dict[str, int], staging_dir: Path
) -> dict[str, Path]:
    """The role tables of the new serving file as Parquet files under `staging_dir`.

    Every role table is exported, changed or not: role tables are small, and a file written
    while the export was switched off, or by an older publication, is never left stale."""
    staged: dict[str, Path] = {}
    for qualified in row_counts:
        schema, table = qualified.split(".", 1)
        if schema not in PARQUET_SCHEMAS:
            continue
        target = staging_dir / schema / f"{table}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"copy ({_parquet_select(con, schema, table)}) to {_literal(str(target))} "
            "(format parquet)"
        )
        staged[qualified] = target
    return staged


def _swap_in_parquet(
    staged: dict[str, Path], staging_dir: Path, parquet_dir: Path, schemas: tuple[str, ...]
) -> dict[str, Path]:
    """Move each staged file over its predecessor (atomic per file), then drop the files of
    role tables that are no longer published, so no stale table lingers among fresh ones."""
    published: dict[str, Path] = {}
    for qualified, staged_file in staged.items():
        target = parquet_dir / staged_file.relative_to(staging_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged_file, target)
        published[qualified] = target
    current = set(published.values())
    for schema in set(PARQUET_SCHEMAS) & set(schemas):
        for previous in (parquet_dir / schema).glob("*.parquet"):
            if previous not in current:
                previous.unlink()
    shutil.rmtree(staging_dir, ignore_errors=True)
    return published


ROLE_TABLES: tuple[str, ...] = (
    "frontline.followup_queue",
    "manager.touchpoint_performance",
    "manager.driver_importance",
    "executive.cx_scorecard",
    "executive.journey_stage_scores",
)


def _fmt(value: object, suffix: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float | Decimal):
        return f"{value:,.1f}{suffix}"
    return f"{value}{suffix}" if not isinstance(value, int) else f"{value:,}{suffix}"


def summarize_serving(serving: Path) -> str:
    """A short, human summary of a published serving file (what `make run` prints)."""
    con = duckdb.connect(str(serving), read_only=True)
    try:
        lines = [f"Published {serving}"]
        lines.append("Role tables (rows):")
        for table in ROLE_TABLES:
            count = con.execute(f"select count(*) from {table}").fetchone()[0]
            lines.append(f"  {table:<34} {count:>10,}")
        queue = con.execute(
            "select count(*), count(*) filter (where is_overdue), "
            "count(*) filter (where reason = 'detractor') from frontline.followup_queue"
        ).fetchone()
        lines.append(
            f"Follow-up queue: {queue[0]:,} open cases, {queue[1]:,} overdue, "
            f"{queue[2]:,} from detractors"
        )
        month = con.execute(
            "select month_start, nps, nps_margin_of_error, nps_responses, csat_pct, "
            "response_rate_pct, revenue_at_risk, is_low_sample, top_pain_point_1, "
            "top_pain_point_1_mentions, pain_point_verbatims from executive.cx_scorecard "
            "where nps_responses > 0 order by month_start desc limit 1"
        ).fetchone()
        if month:
            low = " (low sample)" if month[7] else ""
            lines.append(
                f"Latest month {month[0]}: NPS {_fmt(month[1])} ± {_fmt(month[2])} "
                f"(n={month[3]:,}){low}, CSAT {_fmt(month[4], '%')}, "
                f"response rate {_fmt(month[5], '%')}, revenue at risk {_fmt(month[6])}"
            )
            if month[8]:
                lines.append(
                    f"Top pain point: {month[8]} ({month[9]:,} of {month[10]:,} detractor / "
                    "low-CSAT verbatims)"
                )
        worst = con.execute(
            "select touchpoint, 100.0 * (sum(promoters) - sum(detractors)) / sum(nps_responses) "
            "from manager.touchpoint_performance group by touchpoint "
            "having sum(nps_responses) >= 30 order by 2 limit 1"
        ).fetchone()
        if worst:
            lines.append(f"Lowest-NPS touchpoint: {worst[0]} ({worst[1]:.1f})")
        top_driver = con.execute(
            "select attribute, relative_importance from manager.driver_importance "
            "where touchpoint = 'all' and period = 'all' order by importance_rank limit 1"
        ).fetchone()
        if top_driver:
            lines.append(
                f"Top NPS driver: {top_driver[0]} "
                f"({100 * top_driver[1]:.0f}% of explained variance)"
            )
        files = con.execute(
            "select count(*), count(*) filter (where status = 'quarantined'), "
            "coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0) "
            "from ops.file_manifest where status <> 'replaced'"
        ).fetchone()
        lines.append(
            f"Ingested {files[0]:,} files ({files[1]:,} quarantined whole), {files[2]:,} rows "
            f"loaded, {files[3]:,} rows quarantined (see ops.quarantine_summary)"
        )
        has_erasure_log = con.execute(
            "select count(*) from duckdb_tables() "
            "where schema_name = 'ops' and table_name = 'erasure_log'"
        ).fetchone()[0]
        if has_erasure_log:
            erasures = con.execute(
                "select count(*) filter (where status = 'applied'), "
                "count(*) filter (where status <> 'applied'), coalesce(sum(rows_deleted), 0) "
                "from (select request_ref, arg_max(status, applied_at) as status, "
                "sum(rows_deleted) as rows_deleted from ops.erasure_log group by request_ref)"
            ).fetchone()
            if erasures[0] or erasures[1]:
                lines.append(
                    f"Erasure requests: {erasures[0]:,} applied ({erasures[2]:,} rows erased), "
                    f"{erasures[1]:,} not applicable (see ops.erasure_log)"
                )
        return "\n".join(lines)
    finally:
        con.close()
