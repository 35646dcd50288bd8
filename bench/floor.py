"""The floor: a bare DuckDB load of the same files, which no ingestion can beat.

Each landed file becomes one table through DuckDB's own readers with auto-detection
(`read_csv` / `read_json`), in a fresh database file that is checkpointed at the end. No
hashing, mapping, typing rules, quarantine, lineage, dbt or checks: only read and write.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from bench.probes import PeakMemory


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
    literal = "'" + str(path).replace("'", "''") + "'"
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


def floor_load(landing: Path, database: Path) -> FloorResult:
    """Load every file under `landing/<feed>/` into its own table of `database`; time it all."""
    files = sorted(path for path in landing.rglob("*") if path.is_file())
    feeds: dict[str, dict[str, Any]] = {}
    with PeakMemory() as memory:
        started = time.perf_counter()
        con = duckdb.connect(str(database))
        try:
            for index, path in enumerate(files):
                file_started = time.perf_counter()
                table = f"floor_{index}"
                detection = _load(con, table, path)
                rows = con.execute(f"select count(*) from {table}").fetchone()[0]  # type: ignore[index]
                feed = path.parent.name
                entry = feeds.setdefault(feed, {"seconds": 0.0, "rows": 0, "detection": []})
                entry["detection"].append(detection)
                entry["seconds"] += time.perf_counter() - file_started
                entry["rows"] += rows
            con.execute("checkpoint")
        finally:
            con.close()
        seconds = time.perf_counter() - started
    return FloorResult(
        seconds=seconds,
        rows=int(sum(entry["rows"] for entry in feeds.values())),
        peak_rss_bytes=memory.peak_bytes,
        feeds=feeds,
    )
