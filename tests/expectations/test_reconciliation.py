"""Reading core.metric_reconciliation into what the Dagster check shows a person."""

from pathlib import Path

import duckdb

from expectations.reconciliation import read_reconciliation, reconciliation_metadata


def _warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema core")
    con.execute(
        "create table core.metric_reconciliation as select * from (values"
        " ('first_reply_minutes', 'zendesk', 4210, 3, 0.07, 2, 0, 1.33, 2.0),"
        " ('nps_group', 'qualtrics', 900, 0, 0.0, 0, 0, null, null)"
        ") as t(metric_name, feed, records_compared, records_differing, differing_pct,"
        " records_missing_ours, records_missing_source, mean_abs_difference,"
        " max_abs_difference)"
    )
    con.close()
    return path


def test_differences_are_counted_and_described(tmp_path: Path) -> None:
    rows = read_reconciliation(_warehouse(tmp_path), ("first_reply_minutes",))

    assert [row.metric_name for row in rows] == ["first_reply_minutes"]
    assert not rows[0].agrees
    assert rows[0].describe() == (
        "first_reply_minutes on zendesk: 3 of 4,210 records differ from the tool's value"
        " (0.07 %, mean 1.3, max 2); 2 exported values have no cxmart value"
    )
    metadata = reconciliation_metadata(rows)
    assert metadata["records_compared"] == 4210
    assert metadata["records_differing"] == 3


def test_agreeing_categories_pass(tmp_path: Path) -> None:
    rows = read_reconciliation(_warehouse(tmp_path), ("nps_group",))

    assert [row.agrees for row in rows] == [True]
    assert rows[0].describe() == (
        "nps_group on qualtrics: 0 of 900 records differ from the tool's value"
    )


def test_a_warehouse_without_the_table_has_nothing_to_reconcile(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()

    assert read_reconciliation(path, ("nps_group",)) == []
    assert reconciliation_metadata([])["findings"] == "no exported values to compare"
