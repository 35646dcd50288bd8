"""Compaction: DuckDB's vacuum, which a refresh defers, done every few days.

At each checkpoint DuckDB rewrites adjacent row groups whose live rows fit in fewer: the
partly filled row groups that every append leaves at the end of a table, and row groups
thinned by deletes. It does so over every table of the file, whatever the checkpoint was
for. In a refresh that appends to every incremental table and checkpoints several times,
that is most of the cost of the checkpoints: on a kept SF10 home, an incremental refresh took
76.6–79.9 s with the vacuum deferred against 92.8–93.5 s with it (see the README).

So every read-write connection of a refresh sets `max_vacuum_tasks = 0`
(`paths.DEFERRED_VACUUM`, and dbt's profiles.yml), and the publish step compacts after the
serving file is swapped in, when the last compaction is `CXMART_COMPACTION_DAYS` old: the
published numbers never wait for it. A compaction opens the file with the vacuum allowed,
writes a scratch table (a checkpoint with nothing to write does nothing) and checkpoints:
every table's row groups are merged. It compacts the warehouse and the serving standby (the
file the next publication patches); the live serving file, which BI readers may hold, is
compacted as the standby of a later compaction. A standby a reader still holds is left for
the next one.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
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
    warehouse_seconds: float
    # DuckDB's used blocks (256 KiB each) of the warehouse before and after
    warehouse_blocks_before: int
    warehouse_blocks_after: int
    standby: StandbyOutcome
    standby_seconds: float | None


def last_compacted_at(warehouse_path: Path) -> datetime | None:
    """When the warehouse was last compacted or, never compacted, when its first file was
    loaded (the tables of a first build are compact); None when nothing was loaded yet."""
    if not warehouse_path.exists():
        return None
    con = duckdb.connect(str(warehouse_path), read_only=True, config=paths.duckdb_config(True))
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


def _compact_standby(serving_path: Path) -> tuple[StandbyOutcome, float | None]:
    standby = serving.standby_path(serving_path)
    if not standby.exists() or (serving_path.exists() and os.path.samefile(standby, serving_path)):
        return "none", None
    if serving.open_here(standby):  # a reader in this process (locks only bar others)
        return "in use", None
    started = time.perf_counter()
    try:
        con = duckdb.connect(str(standby), config=paths.duckdb_config())
    except duckdb.IOException:  # "Could not set lock on file": a reader still has it open
        return "in use", None
    try:
        _vacuum(con)
    finally:
        con.close()
    return "compacted", time.perf_counter() - started


def compact(warehouse_path: Path, serving_path: Path, now: datetime) -> CompactionReport:
    """Vacuum the warehouse and the serving standby, and log it in ops.compactions."""
    started = time.perf_counter()
    con = warehouse.connect(warehouse_path)
    try:
        before = _used_blocks(con)
        _vacuum(con)
        after = _used_blocks(con)
        seconds = time.perf_counter() - started
        standby, standby_seconds = _compact_standby(serving_path)
        report = CompactionReport(now, seconds, before, after, standby, standby_seconds)
        con.execute(
            f"insert into {COMPACTION_LOG} values (?, ?, ?, ?, ?, ?)",
            [now, seconds, before, after, standby, standby_seconds],
        )
        return report
    finally:
        con.close()
