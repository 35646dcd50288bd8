"""Publish the BI-facing `serving.duckdb`: write → audit → publish.

The serving file is rebuilt beside the build file from the published schemas, then swapped in
with an atomic rename. BI clients never open `warehouse.duckdb`; a client holding the old
serving file keeps reading its snapshot, a new connection sees the new one, and a failure at
any point leaves the previous serving file untouched.

The file replaced by a swap is kept beside it as the standby (`.serving.duckdb.standby`): the
next publication brings it up to date by difference instead of copying the published file,
unless a reader still has it open or an erasure happened since (see `_take_standby`).

For tools that prefer files, the role tables can also be published as one Parquet file each
(`serving_parquet/<schema>/<table>.parquet`), staged the same way: written into a folder
beside the published one and moved over the previous file with an atomic rename per file.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

import duckdb

from ingestion import paths

PUBLISHED_SCHEMAS: tuple[str, ...] = ("core", "frontline", "manager", "executive", "ops")
# the role tables: what the Parquet export writes (core and ops stay in serving.duckdb)
PARQUET_SCHEMAS: tuple[str, ...] = ("frontline", "manager", "executive")

StartedFrom = Literal["standby", "copy", "new"]


@dataclass(frozen=True)
class PublishReport:
    serving_path: Path
    published_at: datetime
    row_counts: dict[str, int] = field(default_factory=dict)
    parquet_files: dict[str, Path] = field(default_factory=dict)
    # the tables copied by this publication; the others were unchanged and kept
    copied: tuple[str, ...] = ()
    # of those, the tables patched rather than copied whole: rows written per table
    patched: dict[str, int] = field(default_factory=dict)
    # what the new file started from: the standby, a copy of the published file, or nothing
    started_from: StartedFrom = "new"


# A published table whose rows carry this stamp (the start of the dbt build that wrote the
# row: cx_built_at() in dbt_project/macros/incremental.sql) is updated by difference.
BUILD_STAMP = "_built_at"
# dbt's log of incremental builds, which names each model's unique_key
BUILD_LOG = "dbt_state.incremental_builds"


@dataclass(frozen=True)
class TableState:
    """One published table: as the warehouse holds it now, or as a publication recorded it.

    Its `fingerprint` is its columns, row count and the sum of its row hashes (`row_hash`,
    None while the warehouse's table is still being hashed). A table with a build stamp also
    has `built_through` (its newest stamp), its `key` (the columns a build replaces rows by)
    and `rows_built_since` (rows stamped after the published `built_through`, the rows a
    publication by difference writes)."""

    columns: str
    rows: int
    row_hash: int | None = None
    built_through: datetime | None = None
    key: tuple[str, ...] = ()
    rows_built_since: int | None = None

    @classmethod
    def recorded(cls, fingerprint: str, built_through: datetime | None) -> TableState:
        rows, row_hash, columns = fingerprint.split(":", 2)
        return cls(columns, int(rows), int(row_hash), built_through)

    @property
    def fingerprint(self) -> str | None:
        if self.row_hash is None:
            return None
        return f"{self.rows}:{self.row_hash}:{self.columns}"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _staging_path(published: Path) -> Path:
    return published.with_name(f".{published.name}.{os.getpid()}.tmp")


def standby_path(published: Path) -> Path:
    """The file the last swap replaced, kept for the next publication to start from. Not a
    leftover: `_remove_leftovers` removes only names ending in .tmp."""
    return published.with_name(f".{published.name}.standby")


def _connect(database: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    # the file a publication writes defers DuckDB's vacuum to the compaction (paths)
    config = (
        paths.duckdb_config() if read_only else {**paths.duckdb_config(), **paths.DEFERRED_VACUUM}
    )
    return duckdb.connect(str(database), read_only=read_only, config=config)


def _discard(con: duckdb.DuckDBPyConnection | None, staging_file: Path) -> None:
    if con is not None:
        con.close()
    staging_file.unlink(missing_ok=True)


def _remove_leftovers(published: Path) -> None:
    """Staging files or folders of a publication killed mid-way (one publisher at a time),
    and DuckDB's write-ahead log of a staging file: a later staging file of the same name
    (a process id reused) would replay it."""
    for pattern in (f".{published.name}.*.tmp", f".{published.name}.*.tmp.wal"):
        for stale in published.parent.glob(pattern):
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

    Only the tables whose content changed since the file the new one starts from was
    published are written: a table is written again when its fingerprint (columns, row
    count and a hash of every row) differs from the one recorded in that file's
    ops.publication. The new file starts from an earlier published file when that saves
    copying most rows (`_worth_reusing`: never after an erasure, nor when the file would be
    mostly free space): the standby (the file published before the current one, kept by the
    last swap, see `_take_standby`) when it qualifies, else a copy of the published file;
    otherwise it starts empty.

    In a reused file, a table whose rows carry a build stamp (`_built_at`) is patched: the
    rows of the keys built since that file was published replace its rows, and the result
    must add up to the warehouse's fingerprint, else the table is copied whole.

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
    previous = _published_state(serving)
    con = _take_standby(serving, staging_file)
    try:
        start = _recorded_state(con) if con is not None else previous
        # the warehouse is surveyed once, counting the rows built since the file the
        # publication starts from; should the standby not qualify, the copy's count is
        # overstated (rows built since an older publication), never understated
        survey = _survey_warehouse(warehouse, schemas, start)
        started_from: StartedFrom = "standby"
        if con is None or not _worth_reusing(start, survey):
            _discard(con, staging_file)
            reuse = serving if _worth_reusing(previous, survey) else None
            con, started_from = _open_staging(reuse, staging_file)
            start = previous
        con.execute(f"attach {_literal(str(warehouse))} as warehouse (read_only)")
        with _WarehouseState(con, survey) as current:
            copied, patched = _copy_published_tables(
                con, schemas, published_at, current, start, started_from
            )
        con.execute("detach warehouse")
        row_counts = {table: current.state(table).rows for table in current.tables}
        staged = _export_parquet(con, row_counts, staging_parquet) if staging_parquet else {}
        con.execute("checkpoint")
    except BaseException:
        _discard(con, staging_file)
        if staging_parquet is not None:
            shutil.rmtree(staging_parquet, ignore_errors=True)
        raise
    con.close()
    _swap_in(staging_file, serving, keep_standby=not _erased(previous, survey))
    parquet_files: dict[str, Path] = {}
    if parquet_dir is not None and staging_parquet is not None:
        parquet_files = _swap_in_parquet(staged, staging_parquet, parquet_dir, schemas)
    return PublishReport(
        serving_path=serving,
        published_at=published_at,
        row_counts=row_counts,
        parquet_files=parquet_files,
        copied=tuple(copied),
        patched=patched,
        started_from=started_from,
    )


def _mostly_data(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the file holds more data than free space: one that does not is not worth
    reusing (replaced tables leave their blocks free, and a new file holds only live rows)."""
    free_blocks, total_blocks = con.execute(
        "select free_blocks, total_blocks from pragma_database_size()"
    ).fetchone()
    return 2 * free_blocks <= total_blocks


def open_here(path: Path) -> bool:
    """Whether this process has `path` open, as one of /proc/self/fd; without /proc (not
    Linux) it cannot tell, and answers yes."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        return True
    target = path.stat()
    for fd in fds.iterdir():
        try:
            if os.path.samestat(fd.stat(), target):
                return True
        except OSError:  # closed since it was listed (the listing's own descriptor)
            continue
    return False


def _take_standby(serving: Path, staging_file: Path) -> duckdb.DuckDBPyConnection | None:
    """The standby, renamed to the staging path and opened read-write, or None when there is
    none to take. Either way no standby is left: one not taken is deleted (the swap keeps a
    new one), and a publication killed while writing it leaves a leftover, not a standby.

    A BI reader that opened serving.duckdb before the last swap still reads the standby, and
    its snapshot must not change: a reader in another process holds a shared lock on the
    file, so the read-write open fails; locks do not conflict within a process, so a reader
    in this one is looked for among this process's open files. A standby that is the live
    file (which the swap never leaves) or mostly free space is not taken either."""
    standby = standby_path(serving)
    if not standby.exists():
        return None
    if (serving.exists() and os.path.samefile(standby, serving)) or open_here(standby):
        standby.unlink()
        return None
    os.replace(standby, staging_file)
    try:
        con = _connect(staging_file)
    except duckdb.IOException:  # "Could not set lock on file": a reader has it open
        staging_file.unlink()
        return None
    if _mostly_data(con):
        return con
    _discard(con, staging_file)
    return None


def _open_staging(
    reuse: Path | None, staging_file: Path
) -> tuple[duckdb.DuckDBPyConnection, StartedFrom]:
    """The staging file: a copy of the published file `reuse`, or a new file when None or
    when that copy is more free space than data."""
    if reuse is not None:
        shutil.copyfile(reuse, staging_file)
        con = _connect(staging_file)
        if _mostly_data(con):
            return con, "copy"
        _discard(con, staging_file)  # mostly free space: start over
    return _connect(staging_file), "new"


def _swap_in(staging_file: Path, serving: Path, keep_standby: bool) -> None:
    """Rename the staging file over `serving` and, with `keep_standby`, keep the file it
    replaces as the standby.

    The replaced file is linked under a leftover name before the swap and renamed to the
    standby after it: `serving` exists at every moment, and a crash in between leaves a
    leftover (removed by the next publication), never a standby that is the live file."""
    if not keep_standby or not serving.exists():
        os.replace(staging_file, serving)
        return
    link = serving.with_name(f".{serving.name}.{os.getpid()}.standby.tmp")
    os.link(serving, link)
    os.replace(staging_file, serving)
    os.replace(link, standby_path(serving))


# A new row here means rows of a person were erased since the last publication.
ERASURE_LOG = "ops.erasure_log"


def _patchable(now: TableState, then: TableState | None) -> bool:
    """Whether a copy of the published table (`then`) can be brought up to date by
    difference: it has a key and a build stamp, the same columns as then, and a recorded
    newest stamp."""
    return (
        bool(now.key)
        and now.rows_built_since is not None
        and then is not None
        and then.built_through is not None
        and then.columns == now.columns
    )


def _rows_to_write(now: TableState, then: TableState | None) -> int:
    """Rows a publication starting from a copy of the published file writes for a table: at
    most, while the table is not hashed yet (a stamped table with no rows built since
    counts none)."""
    if then is not None and now.fingerprint is not None and then.fingerprint == now.fingerprint:
        return 0
    if _patchable(now, then):
        return min(now.rows, now.rows_built_since or 0)
    return now.rows


def _erased(previous: dict[str, TableState], current: dict[str, TableState]) -> bool:
    """Whether rows of a person were erased since `previous` was published (the erasure log
    changed), or it cannot tell (`previous` predates fingerprints)."""
    was, now = previous.get(ERASURE_LOG), current.get(ERASURE_LOG)
    return (was.fingerprint if was else None) != (now.fingerprint if now else None)


def _worth_reusing(previous: dict[str, TableState], current: dict[str, TableState]) -> bool:
    """Start from the published file `previous` describes (a copy, or the standby) when it
    leaves at most half of the rows to publish to write (tables changed and not patchable,
    rows built since); otherwise reusing it costs more than it saves.

    Never after an erasure: a replaced table's old blocks stay in the file as free space,
    so a reused file could still hold the erased person's bytes. A new file holds only live
    rows. (The erasure log only grows: an erasure since the published file is one since the
    older standby too.)"""
    if not previous or _erased(previous, current):
        return False
    total = sum(state.rows for state in current.values())
    to_write = sum(_rows_to_write(now, previous.get(table)) for table, now in current.items())
    return 2 * to_write <= total


def _columns(con: duckdb.DuckDBPyConnection, qualified: str) -> set[str]:
    """The column names of `<schema>.<table>` in the connection's database (none if absent)."""
    schema, table = qualified.split(".", 1)
    return {
        column
        for (column,) in con.execute(
            "select column_name from duckdb_columns() where database_name = current_database() "
            "and schema_name = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    }


def _build_keys(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, ...]]:
    """Each incremental model's unique_key as its last logged build names it."""
    if "unique_key" not in _columns(con, BUILD_LOG):
        return {}
    return {
        model: tuple(column.strip() for column in key.split(","))
        for model, key in con.execute(
            f"select model_name, arg_max(unique_key, finished_at) from {BUILD_LOG} group by 1"
        ).fetchall()
        if key
    }


def _survey_warehouse(
    warehouse: Path, schemas: tuple[str, ...], previous: dict[str, TableState]
) -> dict[str, TableState]:
    """Per `<schema>.<table>` of the published schemas: its columns and rows and, for a table
    with a build stamp, its newest stamp, key and the rows stamped after the previous
    publication's newest stamp. The tables without a stamp (small: seeds, role tables, the
    ops tables) are hashed here too; the stamped ones, most of the rows, by
    `_WarehouseState` while the publication writes."""
    con = _connect(warehouse, read_only=True)
    try:
        schema_list = ", ".join(_literal(schema) for schema in schemas)
        keys = _build_keys(con)
        states: dict[str, TableState] = {}
        for schema, table, columns, stamped in con.execute(
            "select t.schema_name, t.table_name, string_agg(c.column_name || ' ' || "
            "c.data_type, ', ' order by c.column_index), "
            f"bool_or(c.column_name = {_literal(BUILD_STAMP)}) "
            "from duckdb_tables() as t inner join duckdb_columns() as c "
            "on c.database_name = t.database_name and c.schema_name = t.schema_name "
            "and c.table_name = t.table_name "
            f"where t.database_name = current_database() and t.schema_name in ({schema_list}) "
            "group by all order by 1, 2"
        ).fetchall():
            qualified = f"{schema}.{table}"
            relation = f"{_quote(schema)}.{_quote(table)}"
            if not stamped:
                rows, hashed = con.execute(_HASH_ROWS.format(relation=relation)).fetchone()
                states[qualified] = TableState(columns, rows, int(hashed))
                continue
            then = previous.get(qualified)
            since = then.built_through if then is not None else None
            rows, built_through, built_since = con.execute(
                f"select count(*), max({BUILD_STAMP}), "
                f"count(*) filter (where {BUILD_STAMP} > ? or ? is null) from {relation}",
                [since, since],
            ).fetchone()
            states[qualified] = TableState(
                columns, rows, None, built_through, keys.get(table, ()), built_since
            )
        return states
    finally:
        con.close()


# a table's row count and the sum of its row hashes: with its columns, its fingerprint
# (equal fingerprints mean equal content, up to a hash collision); the stamped tables'
# query in _WarehouseState._hash is this one with their newest stamp
_HASH_ROWS = "select count(*), coalesce(sum(hash(t)::hugeint), 0) from {relation} as t"


class _WarehouseState:
    """The warehouse's published tables during a publication, on the staging connection
    `con` (the warehouse attached as `warehouse`): what `survey` says, and each stamped
    table's rows hashed in a thread, table after table in name order, while the publication
    patches or copies the tables before it. Hashing reads every row and the patches leave a
    core idle (bound by reading the files and by their commits), so the two overlap.

    `state(table)` is the table's whole state, waiting for its hash; the rows and newest
    stamp come from the same scan, so that a table's recorded state is the content copied.
    Leaving the block stops the hashing (a failed publication does not wait for it)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, survey: dict[str, TableState]) -> None:
        self.survey = survey
        self.tables = sorted(survey)
        self._states = {
            table: state for table, state in survey.items() if state.row_hash is not None
        }
        self._cursor = con.cursor()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cxmart-row-hashes")
        self._hashing = {
            table: self._pool.submit(self._hash, table)
            for table in self.tables
            if survey[table].row_hash is None
        }

    def _hash(self, table: str) -> TableState:
        schema, name = table.split(".", 1)
        relation = f"warehouse.{_quote(schema)}.{_quote(name)}"
        rows, hashed, built_through = self._cursor.execute(
            f"select count(*), coalesce(sum(hash(t)::hugeint), 0), max({BUILD_STAMP}) "
            f"from {relation} as t"
        ).fetchone()
        return replace(
            self.survey[table], rows=rows, row_hash=int(hashed), built_through=built_through
        )

    def state(self, table: str) -> TableState:
        if table in self._hashing:
            self._states[table] = self._hashing.pop(table).result()
        return self._states[table]

    def __enter__(self) -> _WarehouseState:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for pending in self._hashing.values():
            pending.cancel()
        if self._hashing:
            self._cursor.interrupt()
        self._pool.shutdown(wait=True)
        self._cursor.close()


def _published_state(serving: Path) -> dict[str, TableState]:
    """What the published file says it holds (empty for a file from before fingerprints).

    Attached rather than connected to: DuckDB gives a connection to a path this process
    already has open the database it opened then, which for a reader still on an older
    serving file is that older file."""
    if not serving.exists():
        return {}
    with duckdb.connect() as con:
        con.execute(f"attach {_literal(str(serving))} as published (read_only)")
        con.execute("use published")
        return _recorded_state(con)


def _recorded_state(con: duckdb.DuckDBPyConnection) -> dict[str, TableState]:
    """What the connection's database recorded in ops.publication when it was published."""
    recorded = _columns(con, "ops.publication")
    if "fingerprint" not in recorded:
        return {}
    built_through = "built_through" if "built_through" in recorded else "null"
    return {
        table: TableState.recorded(fingerprint, stamp)
        for table, fingerprint, stamp in con.execute(
            f"select table_name, fingerprint, {built_through} from ops.publication"
        ).fetchall()
    }


def _patch_table(
    con: duckdb.DuckDBPyConnection, qualified: str, then: TableState, current: _WarehouseState
) -> int | None:
    """Bring the staged copy of `qualified` up to date by difference: delete the rows of the
    keys built since `then.built_through` and of the keys the warehouse no longer has (a
    customer merged into another), insert the warehouse's rows built since. Returns the rows
    inserted, or None (nothing changed) when the result would not add up to the warehouse's
    fingerprint: a row changed without being built again.

    The stale rows are collected as rowids (a join on the key columns only), so that hashing
    and deleting them takes no second join. A rowid holds only until the table changes:
    collecting, checking and replacing the rows is one transaction. The warehouse's hash of
    the table is waited for only to check the sums."""
    schema, table = qualified.split(".", 1)
    target = f"{_quote(schema)}.{_quote(table)}"
    key = ", ".join(_quote(column) for column in current.survey[qualified].key)
    con.execute("begin")
    con.execute(
        f"create or replace temp table built as select * from warehouse.{target} "
        f"where {BUILD_STAMP} > ?",
        [then.built_through],
    )
    con.execute(
        f"create or replace temp table stale_rows as select {target}.rowid as row_id "
        f"from {target} semi join built using ({key})"
    )
    new_rows, new_hash = con.execute(_HASH_ROWS.format(relation="built")).fetchone()

    def adds_up() -> bool:
        stale_rows, stale_hash = con.execute(
            f"select count(*), coalesce(sum(hash(t)::hugeint), 0) from {target} as t "
            "where rowid in (select row_id from stale_rows)"
        ).fetchone()
        now = current.state(qualified)
        assert then.row_hash is not None and now.row_hash is not None
        return (
            then.rows - stale_rows + new_rows == now.rows
            and then.row_hash - stale_hash + new_hash == now.row_hash
        )

    fits = adds_up()
    if not fits:  # only then look for keys gone from the warehouse: a scan of both tables
        con.execute(
            f"insert into stale_rows select {target}.rowid from {target} "
            f"anti join warehouse.{target} using ({key})"
        )
        fits = adds_up()
    if fits:
        con.execute(f"delete from {target} where rowid in (select row_id from stale_rows)")
        con.execute(f"insert into {target} by name select * from built")
    con.execute("drop table built; drop table stale_rows")
    con.execute("commit")
    return new_rows if fits else None


def _copy_published_tables(
    con: duckdb.DuckDBPyConnection,
    schemas: tuple[str, ...],
    published_at: datetime,
    current: _WarehouseState,
    previous: dict[str, TableState],
    started_from: StartedFrom,
) -> tuple[list[str], dict[str, int]]:
    """Every table of `current` not in `con` or changed since `previous` (what `con`'s file
    recorded when it was published), and every view, of `schemas` from the attached
    warehouse into `con`, then ops.publication; returns the tables written and, of those,
    the ones patched by difference with the rows each received."""
    schema_list = ", ".join(_literal(schema) for schema in schemas)
    tables = current.tables
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
    copied: list[str] = []
    patched: dict[str, int] = {}
    for qualified in tables:
        then, surveyed = previous.get(qualified), current.survey[qualified]
        # a table with rows built since is changed (their stamps are new); any other may
        # have lost rows or been edited, which only its hash tells
        if (
            qualified in present
            and then is not None
            and not surveyed.rows_built_since
            and current.state(qualified).fingerprint == then.fingerprint
        ):
            continue
        copied.append(qualified)
        if qualified in present and _patchable(surveyed, then):
            assert then is not None
            written = _patch_table(con, qualified, then, current)
            if written is not None:
                patched[qualified] = written
                continue
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
    states = [current.state(qualified) for qualified in tables]
    con.execute("create schema if not exists ops")
    con.execute(
        "create or replace table ops.publication as "
        "select ? as published_at, unnest(?) as table_name, unnest(?) as row_count, "
        "unnest(?) as fingerprint, unnest(?) as is_copied, unnest(?) as rows_written, "
        "unnest(?::timestamp[]) as built_through, ? as started_from",
        [
            published_at,
            tables,
            [state.rows for state in states],
            [state.fingerprint for state in states],
            [qualified in copied for qualified in tables],
            [
                patched.get(qualified, state.rows) if qualified in copied else 0
                for qualified, state in zip(tables, states, strict=True)
            ],
            [state.built_through for state in states],
            started_from,
        ],
    )
    return copied, patched


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
        # every file landed so far, not only this refresh's (a file is loaded once)
        lines.append(
            f"Files landed so far: {files[0]:,} ({files[1]:,} quarantined whole), {files[2]:,} "
            f"rows loaded, {files[3]:,} rows quarantined (see ops.quarantine_summary)"
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
