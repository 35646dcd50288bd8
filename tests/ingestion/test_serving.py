"""publish_serving: the BI file and the role tables' Parquet files are replaced whole or not
at all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from ingestion import paths, serving
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


def _role_warehouse(path: Path, nps: int) -> Path:
    """Role tables in two schemas (one with a HUGEINT count, as DuckDB's sum() makes them),
    plus core and ops tables that stay out of the Parquet export."""
    _warehouse(path, nps)
    con = duckdb.connect(str(path))
    con.execute("create schema executive; create schema core")
    con.execute(
        "create table executive.cx_scorecard as select cast(date '2026-01-01' + to_months(i) "
        "as date) as month_start, sum(i)::hugeint as promoters "
        "from range(5) as months(i) group by i"
    )
    con.execute("create table core.dim_customers as select 'c1' as customer_id")
    con.close()
    return path


def _parquet_rows(parquet_dir: Path) -> dict[str, int]:
    con = duckdb.connect()
    try:
        return {
            f"{file.parent.name}.{file.stem}": con.execute(
                "select count(*) from read_parquet(?)", [str(file)]
            ).fetchone()[0]
            for file in sorted(parquet_dir.glob("*/*.parquet"))
        }
    finally:
        con.close()


def test_role_tables_are_published_as_parquet_with_the_serving_row_counts(tmp_path: Path) -> None:
    warehouse = _role_warehouse(tmp_path / "warehouse.duckdb", nps=12)
    parquet_dir = tmp_path / "serving_parquet"

    report = publish_serving(warehouse, tmp_path / "serving.duckdb", parquet_dir=parquet_dir)

    assert _parquet_rows(parquet_dir) == {
        "executive.cx_scorecard": 5,
        "manager.touchpoint_performance": 1,
    }
    con = duckdb.connect(str(report.serving_path), read_only=True)
    for table, rows in _parquet_rows(parquet_dir).items():
        assert con.execute(f"select count(*) from {table}").fetchone() == (rows,)
    con.close()
    assert report.parquet_files == {
        "executive.cx_scorecard": parquet_dir / "executive" / "cx_scorecard.parquet",
        "manager.touchpoint_performance": parquet_dir
        / "manager"
        / "touchpoint_performance.parquet",
    }
    types = duckdb.sql(
        f"describe select * from '{parquet_dir / 'executive' / 'cx_scorecard.parquet'}'"
    ).fetchall()
    # Parquet has no 128-bit integer: a HUGEINT count is written as BIGINT, not DOUBLE
    assert [(name, type_) for name, type_, *_ in types] == [
        ("month_start", "DATE"),
        ("promoters", "BIGINT"),
    ]
    assert not list(tmp_path.glob(".serving_parquet.*.tmp"))


def test_failed_publish_leaves_the_previous_parquet_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = _role_warehouse(tmp_path / "warehouse.duckdb", nps=12)
    serving_file = tmp_path / "serving.duckdb"
    parquet_dir = tmp_path / "serving_parquet"
    publish_serving(warehouse, serving_file, parquet_dir=parquet_dir)
    before = {file: file.read_bytes() for file in parquet_dir.glob("*/*.parquet")}
    serving_before = serving_file.read_bytes()
    con = duckdb.connect(str(warehouse))
    con.execute("update manager.touchpoint_performance set nps = 40")
    con.execute("update executive.cx_scorecard set promoters = promoters + 1")
    con.close()
    exported: list[str] = []

    def export_then_fail(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
        # the first role table is written to the staging folder, the second one fails
        if exported:
            raise OSError("disk full")
        exported.append(table)
        return f"select * from {schema}.{table}"

    monkeypatch.setattr(serving, "_parquet_select", export_then_fail)
    with pytest.raises(OSError, match="disk full"):
        publish_serving(warehouse, serving_file, parquet_dir=parquet_dir)

    assert exported
    assert {file: file.read_bytes() for file in parquet_dir.glob("*/*.parquet")} == before
    assert serving_file.read_bytes() == serving_before
    assert not list(tmp_path.glob(".serving*.tmp"))


def test_only_changed_tables_are_copied_and_the_others_are_kept(tmp_path: Path) -> None:
    warehouse = _role_warehouse(tmp_path / "warehouse.duckdb", nps=12)
    serving_file = tmp_path / "serving.duckdb"
    parquet_dir = tmp_path / "serving_parquet"
    first = publish_serving(warehouse, serving_file, parquet_dir=parquet_dir)
    con = duckdb.connect(str(warehouse))
    con.execute("update manager.touchpoint_performance set nps = 40")
    con.close()

    second = publish_serving(warehouse, serving_file, parquet_dir=parquet_dir)

    assert set(first.copied) == set(first.row_counts)
    assert second.copied == ("manager.touchpoint_performance",)
    con = duckdb.connect(str(serving_file), read_only=True)
    assert con.execute("select nps from manager.touchpoint_performance").fetchone() == (40,)
    assert con.execute("select count(*) from executive.cx_scorecard").fetchone() == (5,)
    assert con.execute("select customer_id from core.dim_customers").fetchall() == [("c1",)]
    copied = con.execute(
        "select table_name from ops.publication where is_copied order by 1"
    ).fetchall()
    con.close()
    assert copied == [("manager.touchpoint_performance",)]
    nps = duckdb.connect().execute(
        "select nps from read_parquet(?)",
        [str(parquet_dir / "manager" / "touchpoint_performance.parquet")],
    )
    assert nps.fetchone() == (40,)


def test_a_table_no_longer_published_loses_its_parquet_file(tmp_path: Path) -> None:
    warehouse = _role_warehouse(tmp_path / "warehouse.duckdb", nps=12)
    parquet_dir = tmp_path / "serving_parquet"
    publish_serving(warehouse, tmp_path / "serving.duckdb", parquet_dir=parquet_dir)
    con = duckdb.connect(str(warehouse))
    con.execute("drop table manager.touchpoint_performance")
    con.close()

    publish_serving(warehouse, tmp_path / "serving.duckdb", parquet_dir=parquet_dir)

    assert set(_parquet_rows(parquet_dir)) == {"executive.cx_scorecard"}


def test_without_a_parquet_folder_nothing_is_written(tmp_path: Path) -> None:
    warehouse = _role_warehouse(tmp_path / "warehouse.duckdb", nps=12)

    report = publish_serving(warehouse, tmp_path / "serving.duckdb")

    assert report.parquet_files == {}
    assert not (tmp_path / "serving_parquet").exists()


@pytest.mark.parametrize(
    ("setting", "enabled"),
    [(None, True), ("", True), ("1", True), ("On", True), ("false", False), ("0", False)],
)
def test_parquet_setting(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, enabled: bool
) -> None:
    if setting is None:
        monkeypatch.delenv("CXMART_PUBLISH_PARQUET", raising=False)
    else:
        monkeypatch.setenv("CXMART_PUBLISH_PARQUET", setting)
    assert paths.publish_parquet() is enabled


def test_unknown_parquet_setting_names_the_allowed_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXMART_PUBLISH_PARQUET", "sometimes")
    with pytest.raises(ValueError, match=r"CXMART_PUBLISH_PARQUET='sometimes': expected one of 1"):
        paths.publish_parquet()


def test_a_publication_where_most_rows_changed_starts_from_a_new_file(tmp_path: Path) -> None:
    warehouse = _role_warehouse(tmp_path / "warehouse.duckdb", nps=12)
    serving_file = tmp_path / "serving.duckdb"
    publish_serving(warehouse, serving_file)
    con = duckdb.connect(str(warehouse))
    con.execute("update executive.cx_scorecard set promoters = promoters + 1")  # 5 of 8 rows
    con.close()
    previous = serving._published_state(serving_file)
    assert not serving._worth_reusing(
        previous, serving._survey_warehouse(warehouse, serving.PUBLISHED_SCHEMAS, previous)
    )

    report = publish_serving(warehouse, serving_file)

    assert set(report.copied) == set(report.row_counts)  # a new file: every table copied
    con = duckdb.connect(str(serving_file), read_only=True)
    assert con.execute("select sum(promoters) from executive.cx_scorecard").fetchone() == (15,)
    con.close()


def test_a_publication_after_an_erasure_writes_a_new_file(tmp_path: Path) -> None:
    """Replaced tables leave their old blocks in a copied file: after an erasure, the erased
    person's bytes must not ride along into the new serving file."""
    warehouse = _role_warehouse(tmp_path / "warehouse.duckdb", nps=12)
    con = duckdb.connect(str(warehouse))
    con.execute("create table ops.erasure_log as select 'r1' as request_ref")
    con.close()
    serving_file = tmp_path / "serving.duckdb"
    publish_serving(warehouse, serving_file)
    con = duckdb.connect(str(warehouse))
    con.execute("delete from core.dim_customers where customer_id = 'c1'")
    con.execute("insert into ops.erasure_log values ('r2')")
    con.close()

    report = publish_serving(warehouse, serving_file)

    assert set(report.copied) == set(report.row_counts)


def _stamped_warehouse(path: Path) -> Path:
    """A core fact as an incremental dbt model leaves it: 1,000 orders built by a first run,
    its rows stamped `_built_at`, and dbt's build log naming its unique_key."""
    _role_warehouse(path, nps=12)
    con = duckdb.connect(str(path))
    con.execute(
        "create table core.fct_orders as select 'o' || i as order_id, i * 1.5 as amount, "
        "timestamp '2026-01-01 06:00' as _built_at from range(1000) as orders(i)"
    )
    con.execute(
        "create schema dbt_state; create table dbt_state.incremental_builds as "
        "select 'fct_orders' as model_name, timestamp '2026-01-01 06:05' as finished_at, "
        "'order_id' as unique_key"
    )
    con.close()
    return path


def _rebuild_orders(warehouse: Path, statements: str) -> None:
    """A second run: replace some orders' rows, stamped with the new build's start."""
    con = duckdb.connect(str(warehouse))
    con.execute(statements)
    con.execute("insert into dbt_state.incremental_builds values ('fct_orders', now(), 'order_id')")
    con.close()


def _published_then_rebuilt(tmp_path: Path, statements: str) -> tuple[Path, Path]:
    """A first publication of the stamped warehouse, then a second run's `statements`."""
    warehouse = _stamped_warehouse(tmp_path / "warehouse.duckdb")
    serving_file = tmp_path / "serving.duckdb"
    publish_serving(warehouse, serving_file)
    _rebuild_orders(warehouse, statements)
    return warehouse, serving_file


def _published_orders(serving_file: Path, warehouse: Path) -> tuple[list[tuple], list[tuple]]:
    query = "select * exclude (_built_at) from core.fct_orders order by order_id"
    with duckdb.connect(str(serving_file), read_only=True) as con:
        published = con.execute(query).fetchall()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        built = con.execute(query).fetchall()
    return published, built


def test_a_stamped_table_is_patched_with_the_rows_built_since(tmp_path: Path) -> None:
    warehouse = _stamped_warehouse(tmp_path / "warehouse.duckdb")
    serving_file = tmp_path / "serving.duckdb"
    first = publish_serving(warehouse, serving_file)
    _rebuild_orders(
        warehouse,
        "delete from core.fct_orders where order_id = 'o7';"
        "insert into core.fct_orders select *, timestamp '2026-01-02 06:00' "
        "from (values ('o7', 99.0), ('o1000', 1.0), ('o1001', 2.0))",
    )

    second = publish_serving(warehouse, serving_file)

    assert "core.fct_orders" in first.copied and not first.patched
    assert second.patched == {"core.fct_orders": 3}  # o7 rebuilt, two new
    published, built = _published_orders(serving_file, warehouse)
    assert published == built
    assert ("o7", 99.0) in published and len(published) == 1002
    with duckdb.connect(str(serving_file), read_only=True) as con:
        assert con.execute(
            "select rows_written, built_through from ops.publication "
            "where table_name = 'core.fct_orders'"
        ).fetchone() == (3, datetime(2026, 1, 2, 6, 0))


def test_a_key_no_longer_built_is_deleted_from_the_patched_table(tmp_path: Path) -> None:
    """A customer merged into another is deleted, not built again: its rows go too."""
    warehouse, serving_file = _published_then_rebuilt(
        tmp_path,
        "delete from core.fct_orders where order_id = 'o3';"
        "insert into core.fct_orders values ('o1000', 1.0, timestamp '2026-01-02 06:00')",
    )

    report = publish_serving(warehouse, serving_file)

    assert report.patched == {"core.fct_orders": 1}
    published, built = _published_orders(serving_file, warehouse)
    assert published == built
    assert "o3" not in {row[0] for row in published}


def test_a_row_changed_without_a_new_stamp_copies_the_table_whole(tmp_path: Path) -> None:
    """A patch must add up to the warehouse's fingerprint: a row changed outside a build
    (its stamp unchanged) would survive it, so the table is copied whole instead."""
    warehouse, serving_file = _published_then_rebuilt(
        tmp_path,
        "update core.fct_orders set amount = 0 where order_id = 'o3';"
        "insert into core.fct_orders values ('o1000', 1.0, timestamp '2026-01-02 06:00')",
    )

    report = publish_serving(warehouse, serving_file)

    assert "core.fct_orders" in report.copied and report.patched == {}
    published, built = _published_orders(serving_file, warehouse)
    assert published == built
    assert ("o3", 0) in published


def test_a_patch_replaces_every_row_of_a_key_rebuilt_or_gone(tmp_path: Path) -> None:
    """A key of several columns can hold several rows (an identity record's links): a key
    built again loses all its old rows, and so does a key gone from the warehouse."""
    warehouse = _stamped_warehouse(tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "create table core.fct_identity_links as select 'r' || i // 6 as record_id, "
            "['email', 'phone'][i % 2 + 1] as identifier_type, 'l' || i as identifier_value, "
            "timestamp '2026-01-01 06:00' as _built_at from range(600) as links(i)"
        )
        con.execute(
            "insert into dbt_state.incremental_builds values "
            "('fct_identity_links', timestamp '2026-01-01 06:05', 'record_id, identifier_type')"
        )
    serving_file = tmp_path / "serving.duckdb"
    publish_serving(warehouse, serving_file)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from core.fct_identity_links where record_id in ('r5', 'r6')")
        con.execute(
            "insert into core.fct_identity_links values "
            "('r5', 'email', 'l-new', timestamp '2026-01-02 06:00')"
        )

    report = publish_serving(warehouse, serving_file)

    assert report.patched == {"core.fct_identity_links": 1}
    tables = ["core.fct_identity_links"]
    assert _contents(serving_file, tables) == _contents(warehouse, tables)


# a second and a third build: rows rebuilt and added in the stamped fact, and a change to a
# table that is copied whole (each publication's change must reach a file two publications old)
SECOND_BUILD = (
    "delete from core.fct_orders where order_id = 'o7';"
    "insert into core.fct_orders select *, timestamp '2026-01-02 06:00' "
    "from (values ('o7', 99.0), ('o1000', 1.0));"
    "insert into core.dim_customers values ('c2')"
)
THIRD_BUILD = (
    "delete from core.fct_orders where order_id = 'o8';"
    "insert into core.fct_orders select *, timestamp '2026-01-03 06:00' "
    "from (values ('o8', 42.0), ('o1001', 2.0));"
    "update manager.touchpoint_performance set nps = 40"
)
ORDERS = "select count(*), sum(amount) from core.fct_orders"


def _standby(serving_file: Path) -> Path:
    return serving_file.with_name(f".{serving_file.name}.standby")


def _contents(database: Path, tables: list[str]) -> dict[str, list[tuple]]:
    with duckdb.connect(str(database), read_only=True) as con:
        return {
            table: con.execute(f"select * from {table} order by all").fetchall() for table in tables
        }


def _assert_serves_the_warehouse(serving_file: Path, warehouse: Path) -> None:
    with duckdb.connect(str(serving_file), read_only=True) as con:
        tables = [
            table for (table,) in con.execute("select table_name from ops.publication").fetchall()
        ]
    assert "core.fct_orders" in tables
    assert _contents(serving_file, tables) == _contents(warehouse, tables)


def _published_twice(tmp_path: Path) -> tuple[Path, Path]:
    """Two publications of the stamped warehouse (the second after SECOND_BUILD): the first
    file is the standby. Then THIRD_BUILD, for a third publication to start from it."""
    warehouse = _stamped_warehouse(tmp_path / "warehouse.duckdb")
    serving_file = tmp_path / "serving.duckdb"
    publish_serving(warehouse, serving_file)
    _rebuild_orders(warehouse, SECOND_BUILD)
    publish_serving(warehouse, serving_file)
    _rebuild_orders(warehouse, THIRD_BUILD)
    return warehouse, serving_file


def test_the_replaced_file_is_kept_as_standby_and_a_later_publication_starts_from_it(
    tmp_path: Path,
) -> None:
    warehouse = _stamped_warehouse(tmp_path / "warehouse.duckdb")
    serving_file = tmp_path / "serving.duckdb"
    first = publish_serving(warehouse, serving_file)
    first_file = serving_file.stat().st_ino
    _rebuild_orders(warehouse, SECOND_BUILD)
    second = publish_serving(warehouse, serving_file)
    second_file = serving_file.stat().st_ino
    assert _standby(serving_file).stat().st_ino == first_file
    _rebuild_orders(warehouse, THIRD_BUILD)

    third = publish_serving(warehouse, serving_file)

    assert (first.started_from, second.started_from, third.started_from) == (
        "new",
        "copy",
        "standby",
    )
    assert serving_file.stat().st_ino == first_file  # the standby, brought up to date
    assert _standby(serving_file).stat().st_ino == second_file
    # by difference against the first publication: both builds' rows, and the table the
    # second publication changed
    assert third.patched == {"core.fct_orders": 4}
    assert set(third.copied) == {
        "core.fct_orders",
        "core.dim_customers",
        "manager.touchpoint_performance",
    }
    _assert_serves_the_warehouse(serving_file, warehouse)
    with duckdb.connect(str(serving_file), read_only=True) as con:
        assert con.execute("select distinct started_from from ops.publication").fetchall() == [
            ("standby",)
        ]
    assert not list(tmp_path.glob(".serving.duckdb.*.tmp"))


def test_a_failed_publication_from_the_standby_leaves_serving_and_the_next_one_copies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse, serving_file = _published_twice(tmp_path)
    before = serving_file.read_bytes()

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(serving, "_patch_table", fail)
    with pytest.raises(OSError, match="disk full"):
        publish_serving(warehouse, serving_file)
    monkeypatch.undo()

    assert serving_file.read_bytes() == before
    # the standby it had started to write is gone, with every staging file
    assert sorted(path.name for path in tmp_path.glob(".serving*")) == []
    report = publish_serving(warehouse, serving_file)
    assert report.started_from == "copy"
    _assert_serves_the_warehouse(serving_file, warehouse)


def test_a_failure_hashing_the_warehouse_beside_the_patches_fails_the_publication(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stamped tables are hashed in a thread while the standby is patched: an error
    there reaches the publication, which leaves the serving file as it was."""
    warehouse, serving_file = _published_twice(tmp_path)
    before = serving_file.read_bytes()

    def fail(self: object, table: str) -> None:
        raise duckdb.IOException(f"could not read {table}")

    monkeypatch.setattr(serving._WarehouseState, "_hash", fail)
    with pytest.raises(duckdb.IOException, match=r"could not read core\.fct_orders"):
        publish_serving(warehouse, serving_file)
    monkeypatch.undo()

    assert serving_file.read_bytes() == before
    assert sorted(path.name for path in tmp_path.glob(".serving*")) == []
    publish_serving(warehouse, serving_file)
    _assert_serves_the_warehouse(serving_file, warehouse)


# publish_serving in a process that kills itself at the n-th call of `<module>.<function>`
KILLED_PUBLICATION = """
import os, signal, sys
from pathlib import Path
from ingestion import serving

module, name, nth = {"serving": serving, "os": os}[sys.argv[3]], sys.argv[4], int(sys.argv[5])
real, calls = getattr(module, name), []

def kill_at_nth_call(*args, **kwargs):
    calls.append(args)
    if len(calls) == nth:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*args, **kwargs)

setattr(module, name, kill_at_nth_call)
serving.publish_serving(Path(sys.argv[1]), Path(sys.argv[2]))
"""


@pytest.mark.parametrize(
    ("module", "function", "nth", "swapped"),
    [
        ("serving", "_patch_table", 1, False),  # while writing the standby
        ("os", "replace", 2, False),  # the new file complete, about to be swapped in
        ("os", "replace", 3, True),  # swapped in, the old file not yet the standby
    ],
)
def test_a_killed_publication_leaves_a_whole_serving_file_and_no_live_standby(
    tmp_path: Path, module: str, function: str, nth: int, swapped: bool
) -> None:
    warehouse, serving_file = _published_twice(tmp_path)
    tables = ["core.fct_orders", "core.dim_customers", "manager.touchpoint_performance"]
    published, built = _contents(serving_file, tables), _contents(warehouse, tables)
    arguments = [str(warehouse), str(serving_file), module, function, str(nth)]

    killed = subprocess.run(
        [sys.executable, "-c", KILLED_PUBLICATION, *arguments],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        timeout=120,
    )

    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    assert _contents(serving_file, tables) == (built if swapped else published)
    standby = _standby(serving_file)
    assert not standby.exists() or not os.path.samefile(standby, serving_file)
    publish_serving(warehouse, serving_file)
    _assert_serves_the_warehouse(serving_file, warehouse)
    assert not os.path.samefile(standby, serving_file)
    assert [path.name for path in tmp_path.glob(".serving*")] == [standby.name]


# a BI reader: one read-only connection, queried again at each line on stdin
READER = """
import sys
import duckdb

con = duckdb.connect(sys.argv[1], read_only=True)
for _ in sys.stdin:
    print(con.execute(sys.argv[2]).fetchone(), flush=True)
"""


def _ask(reader: subprocess.Popen[str]) -> str:
    assert reader.stdin is not None and reader.stdout is not None
    reader.stdin.write("\n")
    reader.stdin.flush()
    return reader.stdout.readline().strip()


def test_a_standby_a_reader_in_another_process_holds_is_not_written(tmp_path: Path) -> None:
    """The reader's file becomes the standby at the next publication; the one after cannot
    lock it for writing, so it starts from a copy and the reader keeps its snapshot."""
    warehouse = _stamped_warehouse(tmp_path / "warehouse.duckdb")
    serving_file = tmp_path / "serving.duckdb"
    publish_serving(warehouse, serving_file)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(serving_file), ORDERS],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        snapshot = _ask(reader)
        _rebuild_orders(warehouse, SECOND_BUILD)
        second = publish_serving(warehouse, serving_file)
        _rebuild_orders(warehouse, THIRD_BUILD)
        third = publish_serving(warehouse, serving_file)
        assert _ask(reader) == snapshot
    finally:
        assert reader.stdin is not None
        reader.stdin.close()
        reader.wait(timeout=30)

    assert snapshot.startswith("(1000, ")
    assert (second.started_from, third.started_from) == ("copy", "copy")
    _assert_serves_the_warehouse(serving_file, warehouse)
    assert _standby(serving_file).exists()  # the second file: the third swap kept it


def test_a_standby_a_reader_in_this_process_holds_is_not_written(tmp_path: Path) -> None:
    """File locks do not conflict within a process: its own open files are looked at."""
    warehouse = _stamped_warehouse(tmp_path / "warehouse.duckdb")
    serving_file = tmp_path / "serving.duckdb"
    publish_serving(warehouse, serving_file)
    reader = duckdb.connect(str(serving_file), read_only=True)
    snapshot = reader.execute(ORDERS).fetchone()
    _rebuild_orders(warehouse, SECOND_BUILD)
    publish_serving(warehouse, serving_file)
    # c2 leaves again: a publication that took the reader's file for the published one
    # (which has c2) would see dim_customers unchanged and keep c2
    _rebuild_orders(
        warehouse, THIRD_BUILD + "; delete from core.dim_customers where customer_id = 'c2'"
    )

    third = publish_serving(warehouse, serving_file)

    assert reader.execute(ORDERS).fetchone() == snapshot
    reader.close()  # before reading serving.duckdb: DuckDB would hand back the reader's file
    assert third.started_from == "copy"
    _assert_serves_the_warehouse(serving_file, warehouse)


def test_a_standby_that_is_the_live_file_is_not_written(tmp_path: Path) -> None:
    warehouse = _stamped_warehouse(tmp_path / "warehouse.duckdb")
    serving_file = tmp_path / "serving.duckdb"
    publish_serving(warehouse, serving_file)
    os.link(serving_file, _standby(serving_file))
    _rebuild_orders(warehouse, SECOND_BUILD)

    report = publish_serving(warehouse, serving_file)

    assert report.started_from == "copy"
    _assert_serves_the_warehouse(serving_file, warehouse)
    assert not os.path.samefile(_standby(serving_file), serving_file)


def test_an_erasure_deletes_the_standby_and_keeps_none(tmp_path: Path) -> None:
    """The standby and the file an erasure replaces hold the erased person's rows."""
    warehouse = _stamped_warehouse(tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table ops.erasure_log as select 'r1' as request_ref")
    serving_file = tmp_path / "serving.duckdb"
    publish_serving(warehouse, serving_file)
    _rebuild_orders(warehouse, SECOND_BUILD)
    publish_serving(warehouse, serving_file)
    assert _standby(serving_file).exists()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from core.dim_customers where customer_id = 'c1'")
        con.execute("insert into ops.erasure_log values ('r2')")

    erasing = publish_serving(warehouse, serving_file)

    assert erasing.started_from == "new"
    assert not _standby(serving_file).exists()
    erased_file = serving_file.stat().st_ino
    _rebuild_orders(warehouse, THIRD_BUILD)
    after = publish_serving(warehouse, serving_file)
    assert after.started_from == "copy"  # no standby to start from
    assert _standby(serving_file).stat().st_ino == erased_file  # written after the erasure
    _assert_serves_the_warehouse(serving_file, warehouse)
