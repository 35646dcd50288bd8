"""publish_serving: the BI file is replaced whole or not at all."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ingestion.serving import publish_serving


def _warehouse(path: Path, nps: int) -> Path:
    con = duckdb.connect(str(path))
    con.execute("create schema manager; create schema intermediate; create schema ops")
    con.execute(
        "create table manager.touchpoint_performance as "
        f"select 'delivery' as touchpoint, {nps} as nps"
    )
    con.execute("create table intermediate.int_hidden as select 1 as x")
    con.execute("create table ops.file_manifest as select 'abc' as file_sha256")
    con.close()
    return path


def test_publish_copies_published_schemas_only(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path / "warehouse.duckdb", nps=12)
    serving = tmp_path / "serving.duckdb"

    report = publish_serving(warehouse, serving)

    con = duckdb.connect(str(serving), read_only=True)
    assert con.execute("select nps from manager.touchpoint_performance").fetchone() == (12,)
    tables = {
        row[0]
        for row in con.execute("select table_schema from information_schema.tables").fetchall()
    }
    assert "intermediate" not in tables
    assert con.execute("select count(*) from ops.publication").fetchone() == (2,)
    con.close()
    assert report.row_counts["manager.touchpoint_performance"] == 1
    assert not list(tmp_path.glob(".serving.duckdb.*.tmp"))


def test_reader_of_old_file_keeps_its_snapshot_while_new_one_is_swapped_in(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path / "warehouse.duckdb", nps=12)
    serving = tmp_path / "serving.duckdb"
    publish_serving(warehouse, serving)
    reader = duckdb.connect(str(serving), read_only=True)

    con = duckdb.connect(str(warehouse))
    con.execute("update manager.touchpoint_performance set nps = 40")
    con.close()
    publish_serving(warehouse, serving)

    assert reader.execute("select nps from manager.touchpoint_performance").fetchone() == (12,)
    reader.close()
    fresh = duckdb.connect(str(serving), read_only=True)
    assert fresh.execute("select nps from manager.touchpoint_performance").fetchone() == (40,)
    fresh.close()


def test_failed_publish_leaves_previous_serving_file(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path / "warehouse.duckdb", nps=12)
    serving = tmp_path / "serving.duckdb"
    publish_serving(warehouse, serving)
    before = serving.read_bytes()

    with pytest.raises(FileNotFoundError, match="no warehouse to publish from"):
        publish_serving(tmp_path / "missing.duckdb", serving)

    assert serving.read_bytes() == before
