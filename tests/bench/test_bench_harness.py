"""The benchmark harness end to end at a tiny scale: every stage timed, the floor, the ratios.

Timings themselves are not asserted (they belong to `make bench`, not to tests); the test
checks that the harness measures what it claims to: both refreshes succeed through the real
Dagster job, every stage has a positive time, and the one-more-day files really are new rows.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from bench.run import STAGES, render_markdown, run_benchmark
from bench.world import write_next_day
from ingestion.demo import FEEDS, generate_demo_world

pytestmark = pytest.mark.e2e


def test_next_day_replays_the_last_day_with_new_ids(tmp_path: Path) -> None:
    end = date(2025, 6, 30)
    generate_demo_world(tmp_path / "landing", scale=0.2, seed=5, end_date=end)
    rows = write_next_day(tmp_path / "landing", tmp_path / "delta", end)
    assert set(rows) == set(FEEDS)
    assert sum(rows.values()) > 0
    orders = (tmp_path / "delta/demo_crm_orders/demo_crm_orders_2025-07-01.csv").read_text()
    data_rows = orders.splitlines()[1:]
    assert len(data_rows) == rows["demo_crm_orders"]
    for line in data_rows:
        order_id, _, created_at = line.split(",")[:3]
        assert order_id.endswith("-D1")
        assert created_at.startswith("2025-06-30")  # the day after the world's last day


def test_harness_reports_every_stage_the_floor_and_the_ratios(tmp_path: Path) -> None:
    results, json_path = run_benchmark(
        0.01, cache_root=tmp_path / "cache", results_root=tmp_path / "results"
    )
    assert json.loads(json_path.read_text())["sf"] == 0.01
    assert (tmp_path / "cache/sf0.01/landing").is_dir()
    for run in ("full", "incremental"):
        report = results[run]
        assert report["success"], f"{run} refresh failed: {report['log']}"
        for stage in STAGES:
            assert report["stages"][stage] > 0, (run, stage)
        assert report["wall_seconds"] >= sum(report["stages"].values())
        assert report["peak_rss_bytes"] > 0
        assert report["rows_per_second"]["ingest"] > 0
        assert report["dbt"]["nodes"], "no per-node dbt timings"
    assert results["full"]["rows_landed"] == results["world"]["rows"]
    assert results["incremental"]["rows_landed"] == sum(results["world"]["delta_rows"].values())
    # the new day's rows were loaded, not recognised as files already seen
    assert results["incremental"]["ingest_detail"]["rows_loaded"] > 0
    assert results["floor"]["rows"] == results["world"]["rows"]
    assert results["floor"]["seconds"] > 0
    assert results["ratios"]["full_over_floor"] > 1
    assert results["ratios"]["incremental_over_full"] > 0
    markdown = (tmp_path / "results/latest.md").read_text()
    assert markdown == render_markdown(results)
    assert "full ÷ floor" in markdown
