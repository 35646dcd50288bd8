"""The publish asset's compaction, after the swap: due or not, and when it fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ingestion import compaction, paths, warehouse
from orchestration.publish import serving_duckdb
from orchestration.resources import CxmartHome


def _loaded_days_ago(home: Path, days: int) -> None:
    """A warehouse whose first file was loaded `days` ago, with one published table."""
    with warehouse.connect(paths.warehouse_path(home)) as con:
        con.execute(
            "insert into ops.file_manifest (file_sha256, feed, entity, source_file, file_name, "
            "file_size_bytes, status, loaded_at) "
            "values ('ab', 'crm', 'customers', 'a.csv', 'a.csv', 10, 'loaded', ?)",
            [datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)],
        )
        con.execute("create schema core; create table core.dim_dates as select 1 as date_key")


def _publish(home: Path) -> dg.MaterializeResult:
    result = dg.materialize(
        [serving_duckdb],
        resources={"cxmart": CxmartHome(home=str(home), publish_parquet=False)},
    )
    assert result.success
    (materialization,) = result.asset_materializations_for_node("serving__serving_duckdb")
    return materialization.metadata


def _compactions(home: Path) -> int:
    with duckdb.connect(str(paths.warehouse_path(home)), read_only=True) as con:
        return con.execute("select count(*) from ops.compactions").fetchone()[0]


@pytest.mark.parametrize(("days", "compacted"), [(3, False), (8, True)])
def test_the_publish_step_compacts_once_the_last_compaction_is_a_week_old(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, days: int, compacted: bool
) -> None:
    monkeypatch.delenv("CXMART_COMPACTION_DAYS", raising=False)
    _loaded_days_ago(tmp_path, days)

    metadata = _publish(tmp_path)

    assert metadata["compacted"].value is compacted
    assert _compactions(tmp_path) == int(compacted)
    # a compaction vacuums the warehouse too, and says how long it took
    assert ("warehouse_vacuum_seconds" in metadata) is compacted
    assert paths.serving_path(tmp_path).exists()


def test_a_failed_compaction_leaves_the_publication_standing_and_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CXMART_COMPACTION_DAYS", raising=False)
    _loaded_days_ago(tmp_path, 8)

    def fail(*args: object) -> None:
        raise duckdb.IOException("No space left on device")

    monkeypatch.setattr(compaction, "compact", fail)
    metadata = _publish(tmp_path)
    assert metadata["compacted"].value is False
    assert "No space left on device" in metadata["compaction_error"].value
    with duckdb.connect(str(paths.serving_path(tmp_path)), read_only=True) as con:
        assert con.execute("select date_key from core.dim_dates").fetchall() == [(1,)]
    monkeypatch.undo()

    assert _publish(tmp_path)["compacted"].value is True  # the next publication retries


def test_a_bad_compaction_setting_fails_before_anything_is_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CXMART_COMPACTION_DAYS", "-1")
    _loaded_days_ago(tmp_path, 8)
    with pytest.raises(ValueError, match="CXMART_COMPACTION_DAYS='-1'"):
        dg.materialize(
            [serving_duckdb],
            resources={"cxmart": CxmartHome(home=str(tmp_path), publish_parquet=False)},
        )
    assert not paths.serving_path(tmp_path).exists()
