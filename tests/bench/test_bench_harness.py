"""The benchmark harness end to end at a tiny scale: every stage timed, the floor, the ratios.

Timings themselves are not asserted (they belong to `make bench`, not to tests); the test
checks that the harness measures what it claims to: the three refreshes succeed through the
real Dagster job, every stage has a positive time, the one-more-day files (both days) really
are new rows, and the second incremental publishes from the standby. The report is checked on
tiny synthetic results.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bench.floor import write_floor
from bench.probes import PAGE_BYTES, _process_tree, tree_rss_bytes
from bench.run import STAGES, _floor_lines, render_markdown, run_benchmark
from bench.world import write_next_day
from ingestion.demo import FEEDS, generate_demo_world


@pytest.mark.e2e
def test_next_days_replay_the_last_day_with_new_ids(tmp_path: Path) -> None:
    end = date(2025, 6, 30)
    generate_demo_world(tmp_path / "landing", scale=0.2, seed=5, end_date=end)
    first = write_next_day(tmp_path / "landing", tmp_path / "delta", end)
    second = write_next_day(tmp_path / "landing", tmp_path / "delta2", end, days=2)
    assert set(first) == set(FEEDS)
    assert sum(first.values()) > 0
    assert second == first  # the same last day, replayed again
    for days, folder, rows in ((1, "delta", first), (2, "delta2", second)):
        file_day = (end + timedelta(days=days)).isoformat()
        assert sorted(path.name for path in (tmp_path / folder).rglob("*.*")) == sorted(
            f"{feed}_{file_day}.{extension}" for feed, extension in FEEDS.items()
        )
        orders = tmp_path / folder / f"demo_crm_orders/demo_crm_orders_{file_day}.csv"
        data_rows = orders.read_text().splitlines()[1:]
        assert len(data_rows) == rows["demo_crm_orders"]
        # the world's last day is the one before end_date: replayed `days` later
        replayed_day = (end + timedelta(days=days - 1)).isoformat()
        for line in data_rows:
            order_id, _, created_at = line.split(",")[:3]
            assert order_id.endswith(f"-D{days}")
            assert created_at.startswith(replayed_day)
    # a replayed response answers an invitation replayed with it, on the same day
    delta2 = tmp_path / "delta2"
    with (delta2 / "demo_survey_responses/demo_survey_responses_2025-07-02.csv").open() as f:
        responses = list(csv.DictReader(f))
    with (delta2 / "demo_survey_invitations/demo_survey_invitations_2025-07-02.csv").open() as f:
        invitations = {row["InviteId"] for row in csv.DictReader(f)}
    assert responses
    assert all(row["ResponseId"].endswith("-D2") for row in responses)
    assert {row["InviteId"] for row in responses} <= invitations
    assert all(invite.endswith("-D2") for invite in invitations)


def _run(seconds: float, rows: int, success: bool = True) -> dict[str, Any]:
    """A run report with only what the Markdown reads, every part taking `seconds`."""
    return {
        "success": success,
        "rows_landed": rows,
        "stages": {stage: seconds for stage in STAGES},
        "orchestration_overhead_seconds": seconds,
        "wall_seconds": (len(STAGES) + 1) * seconds,
        "peak_rss_bytes": 2**30,
        "rows_per_second": {
            "ingest": rows / seconds,
            "total": rows / ((len(STAGES) + 1) * seconds),
        },
        "publication_started_from": "standby",
        "ingest_detail": {
            "load_seconds": seconds,
            "raw_gx_seconds": seconds,
            "role_gx_seconds": seconds,
            "feeds": {
                "demo_calls": {"seconds": seconds, "rows_loaded": rows, "rows_quarantined": 0}
            },
        },
        "dbt": {
            "models_seconds": seconds,
            "tests_seconds": seconds,
            "nodes": [{"unique_id": "model.cxmart.fct_calls", "seconds": seconds}],
        },
    }


def test_markdown_reports_the_second_incremental_beside_the_first() -> None:
    results = {
        "sf": 0.01,
        "started_at": "2025-07-03T00:00:00+00:00",
        "world": {
            "scale": 0.5,
            "seed": 42,
            "end_date": "2025-06-30",
            "rows": 1000,
            "feed_rows": {"demo_calls": 1000},
            "delta_rows": {"demo_calls": 10},
            "delta2_rows": {"demo_calls": 11},
            "bytes": 2**20,
        },
        "machine": {
            "usable_cores": 2,
            "cpu": "test cpu",
            "memory_bytes": 2**33,
            "platform": "test",
            "python": "3.11",
            "versions": {"duckdb": "1"},
            "git_commit": "abc",
            "git_dirty": False,
        },
        "load_average": {"start": [1.0, 1.0, 1.0], "end": [1.0, 1.0, 1.0]},
        "floor": {"rows": 1000, "seconds": 1.0, "peak_rss_bytes": 2**28, "feeds": {}},
        "full": _run(4.0, 1000),
        "incremental": _run(2.0, 10),
        "incremental_2": _run(1.0, 11, success=False),
        "ratios": {
            "full_over_floor": 20.0,
            "incremental_over_full": 0.5,
            "second_incremental_over_full": 0.25,
        },
    }
    markdown = render_markdown(results)
    lines = markdown.splitlines()
    (first,) = [line for line in lines if line.startswith("| incremental (+1 day) |")]
    (second,) = [line for line in lines if line.startswith("| incremental (+1 more day)")]
    assert first.split(" | ")[1:3] == ["10", "2.00"]  # rows, ingest s
    assert second.startswith("| incremental (+1 more day) **FAILED** | 11 | 1.00 ")
    assert second.endswith(" | 6.00 | 1.00 GiB | 11 | 2 |")  # total s, RSS, rows/s
    cells = second.split(" | ")
    assert sum(float(cell) for cell in cells[2:8]) == float(cells[8])  # the stages add up
    assert "then one more: 11 rows" in markdown
    assert "**incremental ÷ full = 50 %**" in markdown
    assert "**second incremental ÷ full = 25 %**" in markdown
    assert "| part | full s | incremental s | second incremental s |" in markdown
    assert "| dbt: models (sum of node times) | 4.00 | 2.00 | 1.00 |" in markdown
    assert "| all three |" not in markdown  # no write floors measured: no floors table


def _floor(seconds: float, tables: dict[str, int]) -> dict[str, Any]:
    return {
        "seconds": seconds,
        "rows": sum(tables.values()),
        "peak_rss_bytes": 2**29,
        "feeds": {
            table: {"seconds": seconds / len(tables), "rows": rows}
            for table, rows in tables.items()
        },
    }


def test_markdown_puts_each_floor_beside_its_stage() -> None:
    full = _run(4.0, 1000)  # every stage 4 s, 24 s in all
    results = {
        "floor": _floor(2.0, {"demo_calls": 1000}),
        "write_floors": {
            "built": _floor(1.0, {"core.fct_calls": 900, "intermediate.int_calls": 900}),
            "published": _floor(0.5, {"core.fct_calls": 900}),
        },
        "full": full,
    }
    lines = _floor_lines(results)
    rows = {line.split(" | ")[0]: line.split(" | ")[1:] for line in lines if line.startswith("| ")}
    # rows, seconds, peak, the stage, its seconds, stage ÷ floor
    assert rows["| load: each file into a table (the floor above)"] == [
        "1,000",
        "2.00",
        "0.50 GiB",
        "ingest",
        "4.00",
        "2.0× |",
    ]
    assert rows["| write: a copy of the 2 tables the dbt build wrote"] == [
        "1,800",
        "1.00",
        "0.50 GiB",
        "dbt",
        "4.00",
        "4.0× |",
    ]
    assert rows["| write: a copy of the 1 published tables"][3:] == ["publish", "4.00", "8.0× |"]
    # the full refresh against the three floors together: 24 s against 3.5 s
    assert lines[-1] == "| all three | | 3.50 | | full refresh | 24.00 | 6.9× |"


def test_write_floor_copies_every_row_of_the_tables_it_is_given(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema core; create schema intermediate")
        con.execute("create table core.fct_calls as select range as call_id from range(1234)")
        con.execute("create table intermediate.int_calls as select range as call_id from range(7)")
    floor = write_floor(warehouse, tmp_path / "floor.duckdb", ["core.fct_calls"])
    assert floor.rows == 1234
    assert floor.feeds["core.fct_calls"]["rows"] == 1234
    with duckdb.connect(str(tmp_path / "floor.duckdb"), read_only=True) as con:
        assert con.execute("select sum(call_id) from core.fct_calls").fetchone() == (
            sum(range(1234)),
        )
        # only the tables asked for
        assert con.execute("select count(*) from duckdb_tables()").fetchone() == (1,)


@pytest.mark.e2e
def test_harness_reports_every_stage_the_floor_and_the_ratios(tmp_path: Path) -> None:
    results, json_path = run_benchmark(
        0.01, cache_root=tmp_path / "cache", results_root=tmp_path / "results"
    )
    assert json.loads(json_path.read_text())["sf"] == 0.01
    assert (tmp_path / "cache/sf0.01/landing").is_dir()
    for run in ("full", "incremental", "incremental_2"):
        report = results[run]
        assert report["success"], f"{run} refresh failed: {report['log']}"
        # every step of the job is counted in a stage of the table, none left out of it
        assert set(report["stages"]) == set(STAGES), run
        for stage in STAGES:
            assert report["stages"][stage] > 0, (run, stage)
        assert report["wall_seconds"] >= sum(report["stages"].values())
        assert report["peak_rss_bytes"] > 0
        assert report["rows_per_second"]["ingest"] > 0
        assert report["dbt"]["nodes"], "no per-node dbt timings"
    assert results["full"]["rows_landed"] == results["world"]["rows"]
    assert results["incremental"]["rows_landed"] == sum(results["world"]["delta_rows"].values())
    assert results["incremental_2"]["rows_landed"] == sum(results["world"]["delta2_rows"].values())
    # the new days' rows were loaded, not recognised as files already seen
    assert results["incremental"]["ingest_detail"]["rows_loaded"] > 0
    assert results["incremental_2"]["ingest_detail"]["rows_loaded"] > 0
    # only the first incremental has no standby to start its publication from
    assert results["incremental"]["publication_started_from"] != "standby"
    assert results["incremental_2"]["publication_started_from"] == "standby"
    # the compaction the refreshes defer, timed after them: the standby it leaves compacted
    assert results["compaction"]["standby"] == "compacted"
    assert results["compaction"]["seconds"] >= results["compaction"]["standby_seconds"] > 0
    assert results["floor"]["rows"] == results["world"]["rows"]
    assert results["floor"]["seconds"] > 0
    assert results["ratios"]["full_over_floor"] > 1
    assert results["ratios"]["incremental_over_full"] > 0
    assert results["ratios"]["second_incremental_over_full"] > 0
    # the write floors, measured on the full refresh's warehouse: the dbt build's tables
    # (not its views, not raw.*) and the published ones (the key drivers, written in Python)
    built, published = (
        set(results["write_floors"][name]["feeds"]) for name in ("built", "published")
    )
    assert {"core.fct_interactions", "intermediate.int_records_resolved"} <= built
    assert not any(table.startswith("raw.") for table in built)
    assert "manager.driver_importance" in published - built
    assert not any(table.startswith(("intermediate.", "staging.")) for table in published)
    for name in ("built", "published"):
        assert results["write_floors"][name]["rows"] > 0
        assert results["write_floors"][name]["seconds"] > 0
    assert 0 < results["ratios"]["full_over_floors"] < results["ratios"]["full_over_floor"]
    markdown = (tmp_path / "results/latest.md").read_text()
    assert markdown == render_markdown(results)
    assert "full ÷ floor" in markdown
    assert any(line.startswith("| all three | |") for line in markdown.splitlines())
    assert "Compaction (DuckDB's vacuum of the serving standby and of the warehouse" in markdown
    assert results["compaction"]["warehouse_seconds"] > 0
    # what cxmart-dbt's checkpoint after the last model did, from dbt's log
    (checkpoint,) = [
        note for note in results["incremental"]["dbt"]["notes"] if "checkpoint" in note
    ]
    assert f"cxmart-dbt, incremental: {checkpoint}" in markdown


def test_peak_memory_counts_the_child_processes() -> None:
    # dbt runs as a child process: its memory is the refresh's
    script = (
        "import time; block = bytearray(200 * 1024 * 1024); "
        "print('allocated', flush=True); time.sleep(30)"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "allocated"
        assert child.pid in _process_tree(os.getpid())
        own_bytes = int(Path("/proc/self/statm").read_text().split()[1]) * PAGE_BYTES
        assert tree_rss_bytes() - own_bytes >= 200 * 1024 * 1024
    finally:
        child.kill()
        child.communicate()
