"""The deferred vacuum and the compaction that does it."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from ingestion import compaction, paths, serving, warehouse

NOW = datetime(2026, 3, 1, 6, 0)


def _row_groups(path: Path, table: str) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            f"select count(distinct row_group_id) from pragma_storage_info('{table}')"
        ).fetchone()[0]


def _appended_daily(con: duckdb.DuckDBPyConnection, days: int = 8) -> None:
    """A table as an incremental model leaves it: a first build, then a small append and a
    checkpoint per day, each leaving a partly filled row group at its end."""
    con.execute(
        "create table main.facts as select i as fact_id, md5(i::varchar) as payload "
        "from range(300000) as t(i)"
    )
    con.execute("checkpoint")
    for day in range(days):
        con.execute(
            "insert into main.facts select 1000000 + ? * 20000 + i, md5(i::varchar) "
            "from range(20000) as t(i)",
            [day],
        )
        con.execute("checkpoint")


def _contents(path: Path) -> tuple[int, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "select count(*), sum(hash(fact_id, payload)) from main.facts"
        ).fetchone()


def test_the_warehouse_defers_the_vacuum_to_the_compaction(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    con = warehouse.connect(path)
    _appended_daily(con)
    con.close()
    contents = _contents(path)
    assert _row_groups(path, "main.facts") >= 3 + 8  # one per daily append

    report = compaction.compact(path, tmp_path / "serving.duckdb", NOW)

    assert report.warehouse_seconds is not None
    assert _row_groups(path, "main.facts") <= 4  # 460,000 rows in 122,880-row groups
    assert _contents(path) == contents


def test_the_publication_defers_the_vacuum_of_the_file_it_writes(tmp_path: Path) -> None:
    con = serving._connect(tmp_path / "staging.duckdb")
    try:
        _appended_daily(con)
    finally:
        con.close()
    assert _row_groups(tmp_path / "staging.duckdb", "main.facts") >= 3 + 8


def test_a_compaction_is_due_every_compaction_days_from_the_first_load(
    tmp_path: Path,
) -> None:
    path = tmp_path / "warehouse.duckdb"
    assert not compaction.compaction_due(path, NOW, 7)  # no warehouse yet
    warehouse.connect(path).close()
    assert not compaction.compaction_due(path, NOW, 7)  # nothing loaded
    with warehouse.connect(path) as con:
        con.execute(
            "insert into ops.file_manifest (file_sha256, feed, entity, source_file, file_name, "
            "file_size_bytes, status, loaded_at) "
            "values ('ab', 'crm', 'customers', 'a.csv', 'a.csv', 10, 'loaded', ?)",
            [NOW - timedelta(days=6)],
        )
    assert not compaction.compaction_due(path, NOW, 7)  # the first build is compact
    assert compaction.compaction_due(path, NOW + timedelta(days=1), 7)
    compaction.compact(path, tmp_path / "serving.duckdb", NOW + timedelta(days=1))
    assert not compaction.compaction_due(path, NOW + timedelta(days=7, hours=23), 7)
    assert compaction.compaction_due(path, NOW + timedelta(days=8), 7)
    assert compaction.compaction_due(path, NOW, 0)


def _fragmented_standby(tmp_path: Path) -> tuple[Path, Path]:
    """A warehouse and a serving file whose standby has a fragmented table."""
    path = tmp_path / "warehouse.duckdb"
    warehouse.connect(path).close()
    serving_file = tmp_path / "serving.duckdb"
    standby = serving.standby_path(serving_file)
    con = serving._connect(standby)  # as a publication writes it: the vacuum deferred
    _appended_daily(con)
    con.close()
    with duckdb.connect(str(serving_file)) as con:
        con.execute("create table main.facts as select 1 as fact_id, 'x' as payload")
    return path, serving_file


def test_the_compaction_merges_the_row_groups_of_the_serving_standby(tmp_path: Path) -> None:
    path, serving_file = _fragmented_standby(tmp_path)
    standby = serving.standby_path(serving_file)
    contents = _contents(standby)

    assert _row_groups(standby, "main.facts") >= 3 + 8  # one per daily append

    report = compaction.compact(path, serving_file, NOW)

    assert report.standby == "compacted"
    assert _row_groups(standby, "main.facts") <= 4  # 460,000 rows in 122,880-row groups
    assert _contents(standby) == contents
    with duckdb.connect(str(path), read_only=True) as con:
        logged = con.execute(
            "select compacted_at, standby, blocks_before, blocks_after from ops.compactions"
        ).fetchall()
    assert logged == [(NOW, "compacted", report.blocks_before, report.blocks_after)]


def test_a_compaction_log_of_the_earlier_release_takes_the_new_rows(tmp_path: Path) -> None:
    """A warehouse whose ops.compactions still has the warehouse's columns (NOT NULL) from
    the release that compacted the warehouse too: they are dropped, the history stays."""
    path, serving_file = _fragmented_standby(tmp_path)
    earlier = NOW - timedelta(days=8)
    with duckdb.connect(str(path)) as con:
        con.execute("drop table ops.compactions")
        con.execute(
            "create table ops.compactions (compacted_at timestamp not null, "
            "warehouse_seconds double not null, warehouse_blocks_before bigint not null, "
            "warehouse_blocks_after bigint not null, standby varchar not null, "
            "standby_seconds double)"
        )
        con.execute("insert into ops.compactions values (?, 1.5, 10, 8, 'none', null)", [earlier])

    report = compaction.compact(path, serving_file, NOW)

    assert report.standby == "compacted"
    assert compaction.last_compacted_at(path) == NOW
    with duckdb.connect(str(path), read_only=True) as con:
        logged = con.execute("select compacted_at, standby from ops.compactions order by 1")
        assert logged.fetchall() == [(earlier, "none"), (NOW, "compacted")]


# a BI reader that opened the file, then waits for a line on stdin before it lets go
HOLD = """
import sys
import duckdb

con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("select count(*) from main.facts").fetchone()[0], flush=True)
sys.stdin.readline()
"""


def test_a_standby_a_reader_holds_is_left_for_the_next_compaction(tmp_path: Path) -> None:
    path, serving_file = _fragmented_standby(tmp_path)
    standby = serving.standby_path(serving_file)
    before = standby.read_bytes()
    reader = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(standby)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "460000"
        report = compaction.compact(path, serving_file, NOW)
    finally:
        reader.communicate("\n", timeout=60)

    assert report.standby == "in use"
    assert standby.read_bytes() == before
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select standby from ops.compactions").fetchall() == [("in use",)]


@pytest.mark.parametrize(("setting", "days"), [(None, 7), ("0", 0), (" 14 ", 14)])
def test_compaction_days_setting(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, days: int
) -> None:
    if setting is None:
        monkeypatch.delenv("CXMART_COMPACTION_DAYS", raising=False)
    else:
        monkeypatch.setenv("CXMART_COMPACTION_DAYS", setting)
    assert paths.compaction_days() == days


def test_a_compaction_days_setting_that_is_no_number_of_days_says_what_it_expects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CXMART_COMPACTION_DAYS", "weekly")
    with pytest.raises(ValueError, match=r"CXMART_COMPACTION_DAYS='weekly': expected a whole"):
        paths.compaction_days()
