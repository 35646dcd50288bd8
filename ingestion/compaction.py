"""Compaction: DuckDB's vacuum of the serving standby and of the warehouse, which every
connection writing them defers.

At each checkpoint DuckDB rewrites adjacent row groups whose live rows fit in fewer: the
partly filled row groups every append leaves at the end of a table, and row groups thinned
by deletes. It does so over every table of the file, whatever the checkpoint was for. A
publication that patches the standby appends to the end of every incremental fact and
deletes their replaced rows, so its final checkpoint rewrote the end of each: 3.2–4.1 s of a
14–17 s SF10 publication (see the README, *The serving file's vacuum deferred*).

So the publication's staging connection sets `max_vacuum_tasks = 0`
(`paths.DEFERRED_VACUUM`), and the publish step compacts the serving standby (the file the
next publication patches) after the swap, when the last compaction is
`CXMART_COMPACTION_DAYS` old: the published numbers never wait for it. A compaction opens
the file with the vacuum allowed, writes a scratch table (a checkpoint with nothing to write
does nothing) and checkpoints: every table's row groups are merged. The live serving file,
which BI readers may hold, is compacted as the standby of a later compaction; a standby a
reader still holds is left for the next one.

The warehouse is vacuumed by the same compaction, after the standby: its writers (dbt's
profile, `warehouse.connect`) defer the vacuum too. An incremental dbt build writes little
and checkpoints once, after its last model, and the build waits for that checkpoint; the
vacuum was most of it (about 6 s of it at SF10 against 1.2–1.4 s without). Deferred in dbt
alone it moved to the next connection that wrote the warehouse (see the README,
*Checkpoints*).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import duckdb

from ingestion import paths, serving, warehouse

COMPACTION_LOG = "ops.compactions"

StandbyOutcome = Literal["compacted", "in use", "none"]


@dataclass(frozen=True)
class CompactionReport:
    compacted_at: datetime
    standby: StandbyOutcome
    seconds: float | None
    # DuckDB's used blocks (256 KiB each) of the standby before and after
    blocks_before: int | None
    blocks_after: int | None
    # how long the warehouse's vacuum took (None: not made)
    warehouse_seconds: float | None = None


def last_compacted_at(warehouse_path: Path) -> datetime | None:
    """When the serving standby was last compacted or, never compacted, when the warehouse's
    first file was loaded (a first publication writes compact tables); None when nothing was
    loaded yet. Kept in the warehouse's ops.compactions."""
    if not warehouse_path.exists():
        return None
    con = duckdb.connect(str(warehouse_path), read_only=True, config=paths.duckdb_config())
    try:
        if warehouse.table_exists(con, "ops", "compactions"):
            (last,) = con.execute(f"select max(compacted_at) from {COMPACTION_LOG}").fetchone()
            if last is not None:
                return last
        if not warehouse.table_exists(con, "ops", "file_manifest"):
            return None
        return con.execute("select min(loaded_at) from ops.file_manifest").fetchone()[0]
    finally:
        con.close()


def compaction_due(warehouse_path: Path, now: datetime, every_days: int) -> bool:
    """Whether a refresh at `now` compacts: the last compaction (or the first load) is
    `every_days` old. Every refresh compacts with 0 days."""
    if every_days == 0:
        return True
    last = last_compacted_at(warehouse_path)
    return last is not None and now - last >= timedelta(days=every_days)


def _used_blocks(con: duckdb.DuckDBPyConnection) -> int:
    total, free = con.execute(
        "select total_blocks, free_blocks from pragma_database_size() "
        "where database_name = current_database()"
    ).fetchone()
    return int(total) - int(free)


def _vacuum(con: duckdb.DuckDBPyConnection) -> None:
    """Checkpoint `con`'s file with the vacuum allowed (DuckDB's default number of tasks)."""
    con.execute("reset max_vacuum_tasks")
    con.execute("create table main.cxmart_compaction_scratch (x integer)")
    con.execute("drop table main.cxmart_compaction_scratch")
    con.execute("checkpoint")


def _compact_standby(serving_path: Path, now: datetime) -> CompactionReport:
    standby = serving.standby_path(serving_path)
    if not standby.exists() or (serving_path.exists() and os.path.samefile(standby, serving_path)):
        return CompactionReport(now, "none", None, None, None)
    if serving.open_here(standby):  # a reader in this process (locks only bar others)
        return CompactionReport(now, "in use", None, None, None)
    started = time.perf_counter()
    try:
        con = duckdb.connect(str(standby), config=paths.duckdb_config())
    except duckdb.IOException:  # "Could not set lock on file": a reader has it open
        return CompactionReport(now, "in use", None, None, None)
    try:
        before = _used_blocks(con)
        _vacuum(con)
        after = _used_blocks(con)
    finally:
        con.close()
    return CompactionReport(now, "compacted", time.perf_counter() - started, before, after)


def compact(warehouse_path: Path, serving_path: Path, now: datetime) -> CompactionReport:
    """Vacuum the serving standby, log it in the warehouse's ops.compactions (a standby in use
    or absent is logged too: the next compaction is as far away either way), then vacuum
    the warehouse, whose checkpoint also writes the log."""
    report = _compact_standby(serving_path, now)
    with warehouse.connect(warehouse_path) as con:
        con.execute(
            f"insert into {COMPACTION_LOG} "
            "(compacted_at, standby, seconds, blocks_before, blocks_after) values (?, ?, ?, ?, ?)",
            [now, report.standby, report.seconds, report.blocks_before, report.blocks_after],
        )
        started = time.perf_counter()
        _vacuum(con)
        warehouse_seconds = time.perf_counter() - started
    return replace(report, warehouse_seconds=warehouse_seconds)
