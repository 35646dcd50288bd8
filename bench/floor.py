"""The floors: what bare DuckDB takes for the reading and writing a refresh cannot avoid.

`floor_load`, the floor of the issue's target, is a bare load of the same files, which no
ingestion can beat. Each landed file becomes one table through DuckDB's own readers with
auto-detection (`read_csv` / `read_json`), in a fresh database file that is checkpointed at
the end. No hashing, mapping, typing rules, quarantine, lineage, dbt or checks: only read
and write.

`write_floor` is the same for the other end of a refresh: a bare copy of tables it wrote
(those of the dbt build, or the published ones) into a fresh file. It computes nothing: it
is what writing those rows costs DuckDB on this machine, which no build of them can beat.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from bench.probes import PeakMemory
from ingestion import paths
from ingestion.warehouse import quote_identifier, quote_literal


@dataclass
class FloorResult:
    seconds: float
    rows: int
    peak_rss_bytes: int
    feeds: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "rows": self.rows,
            "rows_per_second": self.rows_per_second,
            "peak_rss_bytes": self.peak_rss_bytes,
            "feeds": self.feeds,
        }


def _reader(path: Path, *, scan_all: bool = False) -> str:
    literal = quote_literal(str(path))
    sample = ", sample_size = -1" if scan_all else ""
    if path.suffix in (".ndjson", ".jsonl", ".json"):
        return f"read_json({literal}, format = 'newline_delimited'{sample})"
    return f"read_csv({literal}{sample})"


def _load(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> str:
    """Auto-detected types from a sample; when a later row contradicts the sample (the demo's
    unparseable ticket date), detect from every row instead, as a person would."""
    try:
        con.execute(f"create table {table} as select * from {_reader(path)}")
        return "sampled"
    except duckdb.ConversionException:
        con.execute(f"create table {table} as select * from {_reader(path, scan_all=True)}")
        return "full scan"


def _timed(
    database: Path,
    fill: Callable[[duckdb.DuckDBPyConnection], dict[str, dict[str, Any]]],
    config: dict[str, Any] | None = None,
) -> FloorResult:
    """Time `fill` writing into `database`, a new file checkpointed at the end, with the peak
    memory; `fill` returns what it wrote, each part with its seconds and rows."""
    with PeakMemory() as memory:
        started = time.perf_counter()
        con = duckdb.connect(str(database), config=config or {})
        try:
            parts = fill(con)
            con.execute("checkpoint")
        finally:
            con.close()
        seconds = time.perf_counter() - started
    return FloorResult(
        seconds=seconds,
        rows=int(sum(part["rows"] for part in parts.values())),
        peak_rss_bytes=memory.peak_bytes,
        feeds=parts,
    )


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"select count(*) from {table}").fetchone()[0]  # type: ignore[index]


def floor_load(landing: Path, database: Path) -> FloorResult:
    """Load every file under `landing/<feed>/` into its own table of `database`; time it all."""
    files = sorted(path for path in landing.rglob("*") if path.is_file())

    def load(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
        feeds: dict[str, dict[str, Any]] = {}
        for index, path in enumerate(files):
            file_started = time.perf_counter()
            table = f"floor_{index}"
            detection = _load(con, table, path)
            entry = feeds.setdefault(path.parent.name, {"seconds": 0.0, "rows": 0, "detection": []})
            entry["detection"].append(detection)
            entry["rows"] += _rows(con, table)
            entry["seconds"] += time.perf_counter() - file_started
        return feeds

    return _timed(database, load)


def write_floor(warehouse: Path, database: Path, tables: Sequence[str]) -> FloorResult:
    """Copy each `<schema>.<table>` of `warehouse` into `database`; time it all. Per table
    (the `feeds` of the result): seconds and rows.

    With a refresh's DuckDB settings: its memory cap (`CXMART_DUCKDB_MEMORY_LIMIT`) and, as
    in dbt's profile, no insertion order kept. Uncapped, DuckDB may use 80 % of the
    machine's memory: the SF10 copy of the build's tables peaked at 15.3 GiB."""

    def copy(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
        copied: dict[str, dict[str, Any]] = {}
        con.execute(f"attach {quote_literal(str(warehouse))} as warehouse (read_only)")
        for qualified in tables:
            table_started = time.perf_counter()
            schema, table = (quote_identifier(part) for part in qualified.split(".", 1))
            con.execute(f"create schema if not exists {schema}")
            con.execute(
                f"create table {schema}.{table} as select * from warehouse.{schema}.{table}"
            )
            rows = _rows(con, f"{schema}.{table}")
            copied[qualified] = {"seconds": time.perf_counter() - table_started, "rows": rows}
        con.execute("detach warehouse")
        return copied

    return _timed(database, copy, {**paths.duckdb_config(), "preserve_insertion_order": False})
