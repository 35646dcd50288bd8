"""Raw GX checks validate the rows landed since the last passing validation, under the
same suite; everything else is validated again."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from expectations import RAW_SUITES, RowCountAtLeast, validate
from expectations.pending import pending_rows, record_passed
from ingestion.warehouse import connect


def _land_call(con: duckdb.DuckDBPyConnection, ref: str, wait: int, loaded_at: str) -> None:
    con.execute(
        "insert into raw.calls (call_ref, started_at, wait_seconds, _feed, _source_file,"
        " _file_sha256, _row_number, _loaded_at) values (?, ?, ?, 'calls', 'calls.csv', ?, 1, ?)",
        [ref, loaded_at, wait, f"sha-{ref}", loaded_at],
    )


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    connect(path).close()
    return path


def test_only_rows_landed_after_the_last_pass_are_pending(warehouse: Path) -> None:
    con = connect(warehouse)
    _land_call(con, "c1", 30, "2026-01-01 09:00:00")
    first = pending_rows(con, "calls")
    assert (first.rows, first.where) == (1, None)  # never validated: the whole table
    record_passed(con, [first])
    _land_call(con, "c2", 40, "2026-01-02 09:00:00")

    second = pending_rows(con, "calls")

    assert second.rows == 1
    assert second.validated_through == datetime(2026, 1, 1, 9)
    assert second.landed_through == datetime(2026, 1, 2, 9)
    con.close()


def test_a_bad_row_stays_pending_until_a_pass_records_it(warehouse: Path) -> None:
    con = connect(warehouse)
    _land_call(con, "c1", 30, "2026-01-01 09:00:00")
    record_passed(con, [pending_rows(con, "calls")])
    _land_call(con, "c2", -5, "2026-01-02 09:00:00")  # a negative wait breaks the suite
    pending = pending_rows(con, "calls")
    con.close()

    outcome = validate(warehouse, "raw.calls", where=pending.where)

    assert not outcome.success
    assert outcome.row_count == 1  # only the new row was read
    con = connect(warehouse)
    assert pending_rows(con, "calls").rows == 1  # nothing recorded: still pending
    con.close()


def test_nothing_new_means_nothing_to_validate(warehouse: Path) -> None:
    con = connect(warehouse)
    _land_call(con, "c1", 30, "2026-01-01 09:00:00")
    record_passed(con, [pending_rows(con, "calls")])

    pending = pending_rows(con, "calls")
    con.close()

    assert pending.rows == 0 and pending.already_validated


def test_a_changed_suite_validates_the_whole_table_again(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = connect(warehouse)
    _land_call(con, "c1", 30, "2026-01-01 09:00:00")
    record_passed(con, [pending_rows(con, "calls")])
    suite = RAW_SUITES["raw.calls"]
    monkeypatch.setitem(RAW_SUITES, "raw.calls", replace(suite, checks=suite.checks[:-1]))

    pending = pending_rows(con, "calls")
    con.close()

    assert (pending.rows, pending.where) == (1, None)


def test_a_table_that_never_received_a_row_is_not_validated(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = connect(warehouse)
    empty = pending_rows(con, "calls")
    assert (empty.rows, empty.validated_through) == (0, None)
    # the raw suites ask for no rows: an empty table passes them without reading it
    assert empty.already_validated

    suite = RAW_SUITES["raw.calls"]
    monkeypatch.setitem(
        RAW_SUITES, "raw.calls", replace(suite, checks=(RowCountAtLeast(1), *suite.checks[1:]))
    )
    asking = pending_rows(con, "calls")
    con.close()

    # a suite that asks for rows is run on the empty table, and fails it
    assert not asking.already_validated
    assert not validate(warehouse, "raw.calls", suite=RAW_SUITES["raw.calls"]).success
