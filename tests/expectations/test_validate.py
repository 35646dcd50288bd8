"""validate(): GX really reads the DuckDB tables, read-only, and lets go of the file after.

Each test plants a known defect and asserts GX saw exactly the planted rows: the known
GX-on-DuckDB pitfall (results dropped before they are fetched) would show up as missing
counts and samples, never as these numbers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from expectations import (
    FailedExpectation,
    RowCountAtLeast,
    TableSuite,
    ValidationOutcome,
    held_open,
    suite_for,
    validate,
)
from ingestion.entities import ENTITIES
from ingestion.warehouse import connect as connect_warehouse

GOOD_ROWS = 50

# Valid values for columns with a domain; other columns get a value by type.
DOMAIN_VALUES: dict[str, str] = {
    "nps_score": "i % 11",
    "csat_score": "1 + i % 5",
    "ces_score": "1 + i % 7",
    "rating": "1 + i % 10",
    "scale_min": "1",
    "scale_max": "10",
    "satisfaction": "['good', 'bad', 'offered', 'unoffered'][1 + i % 4]",
    "priority": "['low', 'normal', 'high', 'urgent'][1 + i % 4]",
    "identifier_type": "['email', 'phone', 'crm'][1 + i % 3]",
    "event_type": "['created', 'comment', 'status_change'][1 + i % 3]",
    "author_role": "['end_user', 'agent', 'system'][1 + i % 3]",
    "status_from": "['new', 'open', 'pending', 'solved'][1 + i % 4]",
    "status_to": "['open', 'pending', 'solved', 'closed'][1 + i % 4]",
}
TYPE_VALUES: dict[str, str] = {
    "varchar": "'{column}-' || i",
    "integer": "i % 7",
    "decimal": "i * 1.25",
    "timestamp": "timestamp '2024-03-01 09:00:00' + i * interval 1 minute",
    "boolean": "i % 2 = 0",
}
LINEAGE_VALUES: dict[str, str] = {
    "_feed": "'demo_feed'",
    "_source_file": "'demo_feed/export.csv'",
    "_file_sha256": "'sha-1'",
    "_row_number": "i + 1",
    "_loaded_at": "timestamp '2024-03-02 00:00:00'",
    "_extra": "null",
}


def insert_good_rows(con: duckdb.DuckDBPyConnection, entity_name: str, rows: int) -> None:
    entity = ENTITIES[entity_name]
    columns = {
        canonical.name: DOMAIN_VALUES.get(canonical.name)
        or TYPE_VALUES[canonical.type].format(column=canonical.name)
        for canonical in entity.fields
    } | LINEAGE_VALUES
    con.execute(
        f"insert into raw.{entity_name} ({', '.join(columns)}) "
        f"select {', '.join(columns.values())} from range({rows}) as numbers(i)"
    )


def raw_warehouse(path: Path, rows: int = GOOD_ROWS) -> Path:
    con = connect_warehouse(path)
    try:
        for entity_name in ENTITIES:
            insert_good_rows(con, entity_name, rows)
    finally:
        con.close()
    return path


ROLE_TABLES_SQL = """
create schema frontline;
create schema manager;
create schema executive;
create table frontline.followup_queue as
select
    'case-' || i as case_id,
    'customer-' || i as customer_id,
    ['detractor', 'low_csat', 'bad_ticket_rating', 'repeat_complaint'][1 + i % 4] as reason,
    timestamp '2024-03-01 09:00:00' + i * interval 1 hour as opened_at,
    timestamp '2024-03-04 09:00:00' + i * interval 1 hour as due_at,
    i % 3 = 0 as is_overdue,
    'customer_care' as owner_team,
    (i * 7) % 101 as priority_score,
    'open' as status
from range(40) as numbers(i);
create table manager.touchpoint_performance as
select
    ['delivery', 'checkout', 'support'][1 + i % 3] as touchpoint,
    ['web', 'store'][1 + i % 2] as channel,
    'all' as team,
    date '2024-01-01' + ((i // 6) * 7)::integer as week_start,
    case when i % 5 = 0 then null else (i * 13) % 201 - 100 end as nps,
    i % 9 as nps_responses,
    (i * 3) % 101 as csat_pct,
    i % 9 < 5 as is_low_sample
from range(36) as numbers(i);
create table manager.driver_importance as
select
    ['delivery', 'checkout'][1 + i % 2] as touchpoint,
    'all' as period,
    'attribute-' || i as attribute,
    1.0 / (1 + i) as relative_importance,
    (i % 10) / 10.0 as r_squared,
    1 + i // 2 as importance_rank
from range(12) as numbers(i);
create table executive.cx_scorecard as
select
    date '2024-01-01' + to_months(i) as month_start,
    -20 + i * 3 as nps,
    30.5 + i as response_rate_pct,
    1000.0 * i as revenue_at_risk,
    50.0 + i as csat_pct,
    40.0 + i as ces_easy_pct,
    20 + i as pain_point_verbatims,
    10 + i as top_pain_point_1_mentions,
    5 + i as top_pain_point_2_mentions,
    5 as top_pain_point_3_mentions
from range(12) as numbers(i);
create table executive.journey_stage_scores as
select
    date '2024-01-01' + to_months(i // 6) as month_start,
    ['discover', 'onboard', 'buy', 'receive', 'use', 'get_help'][1 + i % 6] as journey_stage,
    case when i % 6 = 0 then null else (i * 17) % 201 - 100 end as nps,
    (i * 7) % 40 as nps_responses,
    (i * 7) % 40 < 30 as is_low_sample
from range(24) as numbers(i);
"""


def role_warehouse(path: Path) -> Path:
    con = duckdb.connect(str(path))
    try:
        con.execute(ROLE_TABLES_SQL)
    finally:
        con.close()
    return path


def plant(path: Path, *statements: str) -> None:
    con = duckdb.connect(str(path))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


def only_failure(outcome: ValidationOutcome) -> FailedExpectation:
    assert not outcome.success
    assert len(outcome.failed) == 1, outcome.summary()
    return outcome.failed[0]


@pytest.fixture(scope="module")
def good_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return raw_warehouse(tmp_path_factory.mktemp("raw") / "warehouse.duckdb")


@pytest.fixture(scope="module")
def good_roles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return role_warehouse(tmp_path_factory.mktemp("roles") / "warehouse.duckdb")


@pytest.mark.parametrize("entity_name", sorted(ENTITIES))
def test_good_raw_table_passes_with_its_rows_counted(good_raw: Path, entity_name: str) -> None:
    outcome = validate(good_raw, f"raw.{entity_name}")

    assert outcome.success, outcome.summary()
    assert outcome.row_count == GOOD_ROWS
    assert outcome.evaluated >= 8
    assert outcome.failed == ()


@pytest.mark.parametrize(
    "table",
    [
        "frontline.followup_queue",
        "manager.touchpoint_performance",
        "manager.driver_importance",
        "executive.cx_scorecard",
        "executive.journey_stage_scores",
    ],
)
def test_good_role_table_passes(good_roles: Path, table: str) -> None:
    outcome = validate(good_roles, table)

    assert outcome.success, outcome.summary()
    assert outcome.row_count is not None and outcome.row_count > 0


def test_out_of_scale_nps_is_caught_with_the_planted_value(tmp_path: Path) -> None:
    warehouse = raw_warehouse(tmp_path / "warehouse.duckdb")
    plant(warehouse, "update raw.survey_responses set nps_score = 11 where _row_number = 7")

    failure = only_failure(validate(warehouse, "raw.survey_responses"))

    assert failure.expectation == "expect_column_values_to_be_between"
    assert failure.column == "nps_score"
    assert failure.unexpected_count == 1
    assert failure.element_count == GOOD_ROWS
    assert failure.unexpected_sample == (11,)
    assert "raw.survey_responses.nps_score: 1 of 50 rows" in failure.describe(
        "raw.survey_responses"
    )


def test_every_planted_row_is_counted_on_a_larger_table(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    con = connect_warehouse(warehouse)
    try:
        insert_good_rows(con, "calls", 20_000)
        con.execute("update raw.calls set wait_seconds = -1 where _row_number % 541 = 0")
    finally:
        con.close()

    outcome = validate(warehouse, "raw.calls", sample_size=3)
    failure = only_failure(outcome)

    assert outcome.row_count == 20_000
    assert (failure.column, failure.unexpected_count) == ("wait_seconds", 20_000 // 541)
    assert failure.unexpected_sample == (-1, -1, -1)


def test_a_landed_row_stored_twice_is_caught(tmp_path: Path) -> None:
    warehouse = raw_warehouse(tmp_path / "warehouse.duckdb")
    plant(
        warehouse,
        "insert into raw.support_tickets select * from raw.support_tickets where _row_number = 3",
    )

    failure = only_failure(validate(warehouse, "raw.support_tickets"))

    assert failure.expectation == "expect_compound_columns_to_be_unique"
    assert failure.column == "_file_sha256, _row_number"
    assert failure.unexpected_count == 2


def test_a_key_repeated_inside_one_export_is_kept_as_landed(tmp_path: Path) -> None:
    warehouse = raw_warehouse(tmp_path / "warehouse.duckdb")
    plant(
        warehouse, "update raw.support_tickets set ticket_ref = 'T-1' where _row_number in (3, 9)"
    )

    outcome = validate(warehouse, "raw.support_tickets")

    assert outcome.success, outcome.summary()


def test_same_key_in_two_delivered_files_is_a_new_version_not_a_duplicate(tmp_path: Path) -> None:
    warehouse = raw_warehouse(tmp_path / "warehouse.duckdb")
    plant(
        warehouse,
        "insert into raw.support_tickets select * replace ('sha-2' as _file_sha256) "
        "from raw.support_tickets",
    )

    outcome = validate(warehouse, "raw.support_tickets")

    assert outcome.success, outcome.summary()
    assert outcome.row_count == 2 * GOOD_ROWS


def test_duplicate_driver_rating_for_one_response_and_attribute_is_caught(tmp_path: Path) -> None:
    warehouse = raw_warehouse(tmp_path / "warehouse.duckdb")
    plant(
        warehouse,
        "insert into raw.survey_driver_ratings select * from raw.survey_driver_ratings "
        "where _row_number = 1 and attribute = (select min(attribute) from "
        "raw.survey_driver_ratings where _row_number = 1)",
    )

    failure = only_failure(validate(warehouse, "raw.survey_driver_ratings"))

    assert failure.column == "_file_sha256, _row_number, attribute"
    assert failure.unexpected_count == 2


def test_null_key_is_caught(tmp_path: Path) -> None:
    warehouse = raw_warehouse(tmp_path / "warehouse.duckdb")
    plant(warehouse, "update raw.calls set call_ref = null where _row_number = 5")

    failure = only_failure(validate(warehouse, "raw.calls"))

    assert failure.expectation == "expect_column_values_to_not_be_null"
    assert failure.column == "call_ref"
    assert failure.unexpected_count == 1


def test_empty_table_fails_on_row_count(tmp_path: Path) -> None:
    # raw tables may be empty (a deployment declares only the feeds it has); a deployment
    # that must never publish without web sessions raises the minimum, as here
    warehouse = raw_warehouse(tmp_path / "warehouse.duckdb")
    plant(warehouse, "delete from raw.web_sessions")
    suite = suite_for("raw.web_sessions")
    strict = TableSuite(suite.table, (RowCountAtLeast(1), *suite.checks[1:]))

    outcome = validate(warehouse, "raw.web_sessions", suite=strict)
    failure = only_failure(outcome)

    assert failure.expectation == "expect_table_row_count_to_be_between"
    assert failure.observed == 0
    assert outcome.row_count == 0


def test_bad_values_in_text_domains_are_sampled(tmp_path: Path) -> None:
    warehouse = raw_warehouse(tmp_path / "warehouse.duckdb")
    plant(warehouse, "update raw.support_tickets set priority = 'P1' where _row_number <= 2")

    failure = only_failure(validate(warehouse, "raw.support_tickets"))

    assert (failure.column, failure.unexpected_sample) == ("priority", ("P1", "P1"))


@pytest.mark.parametrize(
    ("table", "defect", "column", "unexpected"),
    [
        (
            "frontline.followup_queue",
            "update frontline.followup_queue set due_at = opened_at - interval 1 day "
            "where case_id = 'case-3'",
            "due_at, opened_at",
            1,
        ),
        (
            "frontline.followup_queue",
            "update frontline.followup_queue set priority_score = 101 where case_id = 'case-1'",
            "priority_score",
            1,
        ),
        (
            "frontline.followup_queue",
            "update frontline.followup_queue set owner_team = null where case_id = 'case-4'",
            "owner_team",
            1,
        ),
        (
            "frontline.followup_queue",
            "update frontline.followup_queue set is_overdue = null where case_id = 'case-2'",
            "is_overdue",
            1,
        ),
        (
            "manager.touchpoint_performance",
            "insert into manager.touchpoint_performance "
            "select * from manager.touchpoint_performance limit 1",
            "touchpoint, channel, team, week_start",
            2,
        ),
        (
            "manager.driver_importance",
            "update manager.driver_importance set relative_importance = 1.5 "
            "where attribute = 'attribute-0'",
            "relative_importance",
            1,
        ),
        (
            "executive.cx_scorecard",
            "update executive.cx_scorecard set nps = -101 where nps = -20",
            "nps",
            1,
        ),
        (
            "executive.cx_scorecard",
            "update executive.cx_scorecard set top_pain_point_2_mentions = 99 where nps = -20",
            "top_pain_point_1_mentions, top_pain_point_2_mentions",
            1,
        ),
        (
            "executive.journey_stage_scores",
            "update executive.journey_stage_scores set journey_stage = 'buy' "
            "where journey_stage = 'use' and month_start = date '2024-01-01'",
            "month_start, journey_stage",
            2,
        ),
    ],
)
def test_role_table_defect_is_caught(
    tmp_path: Path, table: str, defect: str, column: str, unexpected: int
) -> None:
    warehouse = role_warehouse(tmp_path / "warehouse.duckdb")
    plant(warehouse, defect)

    failure = only_failure(validate(warehouse, table))

    assert failure.column == column
    assert failure.unexpected_count == unexpected


def test_missing_table_fails_with_its_name(tmp_path: Path) -> None:
    warehouse = raw_warehouse(tmp_path / "warehouse.duckdb")

    failure = only_failure(validate(warehouse, "frontline.followup_queue"))

    assert failure.expectation == "table_exists"
    assert failure.error is not None and "frontline.followup_queue does not exist" in failure.error


def test_missing_column_fails_instead_of_passing(tmp_path: Path) -> None:
    warehouse = role_warehouse(tmp_path / "warehouse.duckdb")
    plant(warehouse, "alter table executive.cx_scorecard drop column revenue_at_risk")

    failure = only_failure(validate(warehouse, "executive.cx_scorecard"))

    assert failure.column == "revenue_at_risk"
    assert failure.error is not None


def test_missing_file_raises_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.duckdb"

    with pytest.raises(FileNotFoundError, match=r"raw\.calls.*nowhere\.duckdb"):
        validate(missing, "raw.calls")
    assert not missing.exists()


def test_every_connection_is_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warehouse = raw_warehouse(tmp_path / "warehouse.duckdb")
    opened: list[dict[str, Any]] = []
    real_connect: Callable[..., duckdb.DuckDBPyConnection] = duckdb.connect

    def spy(database: str = ":memory:", *args: Any, **kwargs: Any) -> duckdb.DuckDBPyConnection:
        opened.append({"database": database, **kwargs})
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", spy)
    assert validate(warehouse, "raw.calls").success

    file_opens = [call for call in opened if call["database"] == str(warehouse)]
    assert len(file_opens) >= 2  # the existence probe and GX's own connection(s)
    assert all(call.get("read_only") is True for call in file_opens)


def test_file_is_free_for_a_writer_right_after(tmp_path: Path) -> None:
    warehouse = raw_warehouse(tmp_path / "warehouse.duckdb")
    assert validate(warehouse, "raw.calls").success

    # Same process: DuckDB refuses a read-write open while a read-only one is still alive.
    con = duckdb.connect(str(warehouse))
    con.execute("delete from raw.calls where _row_number = 1")
    con.close()
    assert validate(warehouse, "raw.crm_orders").success
    # Another process: it needs the file lock, which a lingering connection would hold.
    writer = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
        "con.execute('delete from raw.crm_orders where _row_number = 1'); con.close()"
    )
    subprocess.run([sys.executable, "-c", writer, str(warehouse)], check=True, timeout=60)

    assert validate(warehouse, "raw.calls").row_count == GOOD_ROWS - 1


def test_metadata_is_json_serializable(tmp_path: Path) -> None:
    warehouse = role_warehouse(tmp_path / "warehouse.duckdb")
    plant(
        warehouse,
        "update frontline.followup_queue set due_at = opened_at - interval 1 day "
        "where case_id = 'case-3'",
    )

    metadata = validate(warehouse, "frontline.followup_queue").as_metadata()
    round_trip = json.loads(json.dumps(metadata))

    assert round_trip["success"] is False
    assert round_trip["row_count"] == 40
    assert round_trip["failures"][0]["column"] == "due_at, opened_at"
    assert "frontline.followup_queue.due_at, opened_at" in round_trip["summary"]


def test_tables_validated_while_the_file_is_held_open_then_it_is_free(tmp_path: Path) -> None:
    """`held_open` keeps one read-only connection across several validations: their
    outcomes are the same, and once the block ends the file takes a writer again."""
    warehouse = raw_warehouse(tmp_path / "warehouse.duckdb")
    with held_open(warehouse):
        outcomes = [validate(warehouse, f"raw.{name}") for name in ("calls", "crm_orders")]
        with pytest.raises(duckdb.ConnectionException):  # held: no read-write open meanwhile
            duckdb.connect(str(warehouse))

    assert [outcome.success for outcome in outcomes] == [True, True]
    assert [outcome.row_count for outcome in outcomes] == [GOOD_ROWS, GOOD_ROWS]
    con = duckdb.connect(str(warehouse))
    con.execute("delete from raw.calls where _row_number = 1")
    con.close()
    assert validate(warehouse, "raw.calls").row_count == GOOD_ROWS - 1


def test_holding_a_missing_file_open_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "warehouse.duckdb"
    with held_open(missing):
        pass
    assert not missing.exists()
