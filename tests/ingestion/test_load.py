"""Landed files into raw.*: typed, UTC, exactly once, bad rows and files quarantined."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingestion import load
from ingestion.load import IngestReport, ingest_landing
from ingestion.registry import Feed, load_registry
from ingestion.warehouse import connect

TICKETS_YAML = """\
name: demo_tickets
family: channel
entity: support_tickets
file_pattern: "*.csv"
timezone: America/New_York
columns:
  ticket_ref: Id
  created_at: Created at
  reopen_count: Reopens
  subject: Subject
  satisfaction: Satisfaction Score
values:
  satisfaction: {Good: good, Bad: bad, "Not Offered": unoffered}
"""

TICKETS_CSV = (
    "Id,Created at,Reopens,Subject,Satisfaction Score,Assignee\n"
    'T1,2024-03-10 02:30:00,0,"  Late parcel, ""again""  ",Good,ann\n'
    "T2,2024-01-15 12:00:00,2,Refund,Not Offered,bob\n"
    "T3,2024-07-01 12:00:00,,   ,Bad,\n"
)

SURVEY_YAML = """\
name: demo_survey
family: survey
entity: survey_responses
columns:
  response_ref: ResponseId
  submitted_at: RecordedDate
  nps_score: Q1
  comment: Q2_TEXT
scales:
  nps_score: {min: 0, max: 10}
drivers:
  scale: {min: 1, max: 5}
  columns: {wait_time: Q5_1, staff_knowledge: "Q5 2"}
"""

SURVEY_CSV = (
    "ResponseId,RecordedDate,Q1,Q2_TEXT,Q5_1,Q5 2\n"
    "R1,2024-05-01 10:00:00,9,great,4,5\n"
    "R2,2024-05-01 11:00:00,11,too high,3,3\n"
    "R3,2024-05-01 12:00:00,3,slow,1,\n"
    "R4,2024-05-01 13:00:00,7,meh,6,2\n"
)


class World:
    """A temporary data home with a registry, landing folders and an open warehouse."""

    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.sources = root / "sources"
        self.sources.mkdir(parents=True)
        self.con = connect(self.home / "warehouse.duckdb")

    def declare(self, name: str, text: str) -> None:
        (self.sources / f"{name}.yml").write_text(text, encoding="utf-8")

    def land(self, feed: str, file_name: str, content: str | bytes) -> Path:
        path = self.home / "landing" / feed / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def feeds(self) -> list[Feed]:
        return load_registry(self.sources)

    def ingest(self) -> IngestReport:
        return ingest_landing(self.con, self.home, self.feeds())

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def count(self, table: str) -> int:
        return int(self.rows(f"select count(*) from {table}")[0][0])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path)
    yield world
    world.con.close()


def test_good_file_loads_typed_in_utc_with_lineage(world: World) -> None:
    world.declare("tickets", TICKETS_YAML)
    landed = world.land("demo_tickets", "tickets_1.csv", TICKETS_CSV)

    report = world.ingest()

    assert [(o.file, o.status, o.rows_loaded) for o in report.files] == [
        ("tickets_1.csv", "loaded", 3)
    ]
    rows = world.rows(
        "select ticket_ref, created_at, reopen_count, subject, satisfaction, _feed, "
        "_source_file, _file_sha256, _row_number, _extra from raw.support_tickets "
        "order by _row_number"
    )
    sha = hashlib.sha256(landed.read_bytes()).hexdigest()
    assert rows == [
        # 02:30 does not exist in New York on 2024-03-10 (clocks jump 02:00 -> 03:00);
        # ICU reads it with the pre-jump offset (EST, -5): 07:30 UTC.
        (
            "T1",
            datetime(2024, 3, 10, 7, 30),
            0,
            '  Late parcel, "again"  ',
            "good",
            "demo_tickets",
            "demo_tickets/tickets_1.csv",
            sha,
            1,
            '{"Assignee":"ann"}',
        ),
        # EST (UTC-5) in January, EDT (UTC-4) in July
        (
            "T2",
            datetime(2024, 1, 15, 17, 0),
            2,
            "Refund",
            "unoffered",
            "demo_tickets",
            "demo_tickets/tickets_1.csv",
            sha,
            2,
            '{"Assignee":"bob"}',
        ),
        (
            "T3",
            datetime(2024, 7, 1, 16, 0),
            None,
            None,  # whitespace-only cell -> NULL
            "bad",
            "demo_tickets",
            "demo_tickets/tickets_1.csv",
            sha,
            3,
            '{"Assignee":null}',
        ),
    ]
    manifest = world.rows(
        "select file_sha256, source_file, file_size_bytes, source_timezone, rows_read, "
        "rows_loaded, rows_quarantined, status from ops.file_manifest"
    )
    assert manifest == [
        (
            sha,
            "demo_tickets/tickets_1.csv",
            landed.stat().st_size,
            "America/New_York",
            3,
            3,
            0,
            "loaded",
        )
    ]
    assert report.table_metadata("support_tickets")["dagster/row_count"] == 3
    run = world.rows("select stage, status, detail from ops.run_log")
    assert run[0][:2] == ("ingest", "succeeded")
    assert json.loads(str(run[0][2]))["rows_loaded"] == {"support_tickets": 3}


def test_second_ingest_loads_nothing(world: World) -> None:
    world.declare("tickets", TICKETS_YAML)
    world.land("demo_tickets", "tickets_1.csv", TICKETS_CSV)
    world.ingest()

    again = world.ingest()

    assert [o.status for o in again.files] == ["already_loaded"]
    assert world.count("raw.support_tickets") == 3
    assert world.count("ops.file_manifest") == 1
    assert world.count("ops.run_log") == 2


def test_an_unchanged_file_is_not_read_again_to_be_hashed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load, "RACY_CHANGE_NS", 0)  # files here are seconds old
    hashed: list[str] = []
    hash_file = load.file_sha256
    monkeypatch.setattr(
        load, "file_sha256", lambda path: hashed.append(path.name) or hash_file(path)
    )
    world.declare("tickets", TICKETS_YAML)
    world.land("demo_tickets", "tickets_1.csv", TICKETS_CSV)
    world.ingest()

    again = world.ingest()

    assert hashed == ["tickets_1.csv"]
    assert [o.status for o in again.files] == ["already_loaded"]
    assert world.rows("select source_file from ops.landed_file_hashes") == [
        ("demo_tickets/tickets_1.csv",)
    ]


def test_a_file_rewritten_in_place_with_its_old_size_and_time_is_hashed_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load, "RACY_CHANGE_NS", 0)
    world.declare("tickets", TICKETS_YAML)
    path = world.land("demo_tickets", "tickets_1.csv", TICKETS_CSV)
    world.ingest()
    before = path.stat()
    # same size, same modification time: only the change time tells
    path.write_text(TICKETS_CSV.replace("Refund", "Reform"), encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))

    again = world.ingest()

    assert [o.status for o in again.files] == ["loaded"]
    assert world.rows("select subject from raw.support_tickets where ticket_ref = 'T2'") == [
        ("Refund",),
        ("Reform",),
    ]


def test_a_file_just_written_is_hashed_again_next_time(world: World) -> None:
    world.declare("tickets", TICKETS_YAML)
    world.land("demo_tickets", "tickets_1.csv", TICKETS_CSV)

    world.ingest()

    # a second write within the file system's timestamp tick would keep its signature
    assert world.count("ops.landed_file_hashes") == 0


def test_same_content_under_another_name_is_skipped(world: World) -> None:
    world.declare("tickets", TICKETS_YAML)
    world.land("demo_tickets", "tickets_1.csv", TICKETS_CSV)
    world.ingest()
    world.land("demo_tickets", "tickets_1 (copy).csv", TICKETS_CSV)

    report = world.ingest()

    outcomes = {o.file: o for o in report.files}
    assert outcomes["tickets_1 (copy).csv"].status == "duplicate_content"
    assert "same content as demo_tickets/tickets_1.csv" in str(
        outcomes["tickets_1 (copy).csv"].reason
    )
    assert world.count("raw.support_tickets") == 3


def test_bad_score_quarantined_while_good_rows_load(world: World) -> None:
    world.declare("survey", SURVEY_YAML)
    world.land("demo_survey", "responses.csv", SURVEY_CSV)

    report = world.ingest()

    outcome = report.files[0]
    assert (outcome.status, outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined) == (
        "partially_loaded",
        4,
        2,
        2,
    )
    assert world.rows("select response_ref from raw.survey_responses order by 1") == [
        ("R1",),
        ("R3",),
    ]
    assert world.rows(
        "select feed, source_file, row_number, column_name, raw_value, reason "
        "from ops.quarantine order by row_number"
    ) == [
        (
            "demo_survey",
            "demo_survey/responses.csv",
            2,
            "Q1",
            "11",
            "expected integer 0..10, got '11'",
        ),
        (
            "demo_survey",
            "demo_survey/responses.csv",
            4,
            "Q5_1",
            "6",
            "expected driver rating 1..5, got '6'",
        ),
    ]


def test_driver_columns_unpivot_into_driver_ratings(world: World) -> None:
    world.declare("survey", SURVEY_YAML)
    world.land("demo_survey", "responses.csv", SURVEY_CSV)

    report = world.ingest()

    assert world.rows(
        "select response_ref, attribute, rating, scale_min, scale_max, _row_number "
        "from raw.survey_driver_ratings order by response_ref, attribute"
    ) == [
        ("R1", "staff_knowledge", 5, 1, 5, 1),
        ("R1", "wait_time", 4, 1, 5, 1),
        ("R3", "wait_time", 1, 1, 5, 3),  # blank driver cell: no rating, not a problem
    ]
    assert report.rows_loaded_by_table["survey_driver_ratings"] == 3
    assert world.rows("select field, scale_min, scale_max, polarity from ops.feed_scales") == [
        ("nps_score", 0, 10, "higher_is_better")
    ]


def test_every_problem_of_a_row_is_listed(world: World) -> None:
    world.declare("tickets", TICKETS_YAML)
    world.land(
        "demo_tickets",
        "tickets_1.csv",
        "Id,Created at,Reopens,Subject,Satisfaction Score\n"
        " ,31/12/2024,1.5,x,Good\nT2,2024-01-01,3,y,Good\n",
    )

    world.ingest()

    assert world.rows(
        "select row_number, column_name, raw_value, reason from ops.quarantine order by 2"
    ) == [
        (1, "Created at", "31/12/2024", "expected timestamp, got '31/12/2024'"),
        (1, "Id", " ", "required field ticket_ref is empty"),
        (1, "Reopens", "1.5", "expected integer, got '1.5'"),
    ]
    assert world.rows("select ticket_ref, created_at from raw.support_tickets") == [
        ("T2", datetime(2024, 1, 1, 5, 0))
    ]


def test_missing_required_column_quarantines_the_whole_file(world: World) -> None:
    world.declare("tickets", TICKETS_YAML)
    world.land("demo_tickets", "tickets_1.csv", "Id,Subject\nT1,hello\n")

    report = world.ingest()

    outcome = report.files[0]
    assert outcome.status == "quarantined"
    assert "missing required column(s) 'Created at' (for created_at)" in str(outcome.reason)
    assert "columns found: 'Id', 'Subject'" in str(outcome.reason)
    assert world.count("raw.support_tickets") == 0
    assert world.rows("select row_number, column_name, reason from ops.quarantine") == [
        (None, None, outcome.reason)
    ]
    assert world.rows("select status from ops.file_manifest") == [("quarantined",)]
    copy = world.home / "quarantine" / "demo_tickets" / "tickets_1.csv"
    assert copy.read_text(encoding="utf-8") == "Id,Subject\nT1,hello\n"
    assert "Created at" in copy.with_name("tickets_1.csv.reason.txt").read_text(encoding="utf-8")


def test_missing_optional_column_loads_as_null_and_is_noted(world: World) -> None:
    world.declare("tickets", TICKETS_YAML)
    world.land("demo_tickets", "tickets_1.csv", "Id,Created at\nT1,2024-01-01 00:00:00\n")

    report = world.ingest()

    assert report.files[0].status == "loaded"
    assert "'Reopens'" in str(report.files[0].reason)
    assert world.rows("select ticket_ref, reopen_count, subject from raw.support_tickets") == [
        ("T1", None, None)
    ]


def test_unparseable_file_is_quarantined_and_the_refresh_goes_on(world: World) -> None:
    world.declare("tickets", TICKETS_YAML)
    world.land("demo_tickets", "a_broken.csv", 'Id,Created at\nT9,"2024-01-01\nT10,x\n')
    world.land("demo_tickets", "b_good.csv", TICKETS_CSV)

    report = world.ingest()

    outcomes = {o.file: o for o in report.files}
    assert outcomes["a_broken.csv"].status == "quarantined"
    assert "unterminated quote" in str(outcomes["a_broken.csv"].reason)
    assert "Line: 2" in str(outcomes["a_broken.csv"].reason)
    assert outcomes["b_good.csv"].status == "loaded"
    assert world.count("raw.support_tickets") == 3
    assert world.rows("select count(*) from ops.quarantine where row_number is null") == [(1,)]


def test_ndjson_feed(world: World) -> None:
    world.declare(
        "sessions",
        """\
name: demo_web
family: channel
entity: web_sessions
format: ndjson
timezone: Europe/Paris
columns:
  session_ref: id
  started_at: "start time"
  page_views: views
  device: 'dev"ice'
""",
    )
    world.land(
        "demo_web",
        "sessions.ndjson",
        '{"id": "S1", "start time": "2024-06-01 12:00:00", "views": 3, "dev\\"ice": "mobile",'
        ' "utm": {"source": "mail"}}\n'
        '{"id": 2, "start time": "2024-06-01T10:00:00Z", "views": "x"}\n'
        "[1, 2]\n"
        '{"id": "S4", "start time": "2024-12-01 12:00:00"}\n',
    )

    report = world.ingest()

    assert report.files[0].status == "partially_loaded"
    assert world.rows(
        "select session_ref, started_at, page_views, device, _row_number, _extra "
        "from raw.web_sessions order by _row_number"
    ) == [
        ("S1", datetime(2024, 6, 1, 10, 0), 3, "mobile", 1, '{"utm":{"source":"mail"}}'),
        ("S4", datetime(2024, 12, 1, 11, 0), None, None, 4, None),
    ]
    assert world.rows(
        "select row_number, column_name, raw_value, reason from ops.quarantine order by 1"
    ) == [
        (2, "views", "x", "expected integer, got 'x'"),
        (3, None, "[1, 2]", "expected a JSON object, got ARRAY"),
    ]


def test_ndjson_keys_are_read_exactly_as_written(world: World) -> None:
    """JSON keys are case-sensitive and any text: `views` is not `Views`, and a key named
    like the loader's own columns is a key like any other (kept in `_extra`)."""
    world.declare(
        "sessions",
        "name: demo_web\nfamily: channel\nentity: web_sessions\nformat: ndjson\n"
        "columns:\n  session_ref: id\n  started_at: at\n  page_views: views\n",
    )
    world.land(
        "demo_web",
        "sessions.ndjson",
        '{"id": "S1", "at": "2024-06-01 12:00:00", "Views": 9, "views": 3, "__json": "x", '
        '"__key_1": "y"}\n',
    )

    report = world.ingest()

    assert report.files[0].status == "loaded"
    assert world.rows("select session_ref, page_views, _extra from raw.web_sessions") == [
        ("S1", 3, '{"Views":9,"__json":"x","__key_1":"y"}')
    ]


def test_replace_redelivery_withdraws_the_earlier_file(world: World) -> None:
    world.declare("tickets", TICKETS_YAML + "on_redelivery: replace\n")
    world.land("demo_tickets", "tickets.csv", TICKETS_CSV)
    first = world.ingest()
    world.land(
        "demo_tickets",
        "tickets.csv",
        "Id,Created at\nT1,2024-03-11 09:00:00\nT4,2024-03-11 10:00:00\n",
    )

    second = world.ingest()

    assert second.files[0].status == "loaded"
    assert world.rows("select ticket_ref from raw.support_tickets order by 1") == [
        ("T1",),
        ("T4",),
    ]
    assert world.rows("select file_sha256, status from ops.file_manifest order by loaded_at") == [
        (first.files[0].sha256, "replaced"),
        (second.files[0].sha256, "loaded"),
    ]


def test_append_redelivery_keeps_both_files(world: World) -> None:
    world.declare("tickets", TICKETS_YAML)
    world.land("demo_tickets", "tickets.csv", TICKETS_CSV)
    world.ingest()
    world.land("demo_tickets", "tickets.csv", "Id,Created at\nT4,2024-03-11 10:00:00\n")

    world.ingest()

    assert world.count("raw.support_tickets") == 4


def test_a_failure_mid_file_leaves_nothing_of_that_file(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.declare("survey", SURVEY_YAML)
    world.land("demo_survey", "responses.csv", SURVEY_CSV)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    # raw rows, driver ratings and quarantine rows are written before the manifest entry
    monkeypatch.setattr(load, "_insert_manifest", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        world.ingest()

    for table in ("raw.survey_responses", "raw.survey_driver_ratings", "ops.quarantine"):
        assert world.count(table) == 0, table
    assert world.count("ops.file_manifest") == 0
    assert world.rows("select status from ops.run_log") == [("failed",)]

    monkeypatch.undo()
    assert world.ingest().files[0].status == "partially_loaded"
    assert world.count("raw.survey_responses") == 2


def test_other_encodings_and_awkward_names(world: World) -> None:
    world.declare("tickets", TICKETS_YAML + "encoding: cp1252\ncsv: {delimiter: ';'}\n")
    world.land(
        "demo_tickets",
        "export [1] *.csv",
        "Id;Created at;Subject\nT1;2024-01-01 09:00:00;Café crème\n".encode("cp1252"),
    )

    report = world.ingest()

    assert report.files[0].status == "loaded"
    assert world.rows("select subject from raw.support_tickets") == [("Café crème",)]


def test_undecodable_bytes_quarantine_the_file(world: World) -> None:
    world.declare("tickets", TICKETS_YAML)
    world.land("demo_tickets", "tickets.csv", b"Id,Created at\nT1,2024-01-01\xff\n")

    report = world.ingest()

    assert report.files[0].status == "quarantined"
    assert "Line: 2" in str(report.files[0].reason)
    assert "not utf-8 encoded" in str(report.files[0].reason)


def test_empty_file_is_quarantined(world: World) -> None:
    world.declare("tickets", TICKETS_YAML)
    world.land("demo_tickets", "tickets.csv", "")

    report = world.ingest()

    assert report.files[0].status == "quarantined"
    assert "no header row" in str(report.files[0].reason)


def test_reopening_the_warehouse_keeps_the_manifest(world: World, tmp_path: Path) -> None:
    world.declare("tickets", TICKETS_YAML)
    world.land("demo_tickets", "tickets.csv", TICKETS_CSV)
    world.ingest()
    world.con.close()

    world.con = connect(world.home / "warehouse.duckdb")
    assert [o.status for o in world.ingest().files] == ["already_loaded"]
    assert isinstance(world.con, duckdb.DuckDBPyConnection)
    shutil.rmtree(world.home / "landing")
    assert world.ingest().files == []


def test_ndjson_with_byte_order_mark_and_empty_ndjson(world: World) -> None:
    world.declare(
        "calls",
        "name: demo_calls\nfamily: channel\nentity: calls\nformat: ndjson\n"
        "encoding: utf-8-sig\ncolumns: {call_ref: id, started_at: at}\n",
    )
    world.land("demo_calls", "a.ndjson", b'\xef\xbb\xbf{"id": "C1", "at": "2024-01-01 08:00"}\n')
    world.land("demo_calls", "b.ndjson", b"")

    report = world.ingest()

    assert [(o.file, o.status, o.rows_loaded) for o in report.files] == [
        ("a.ndjson", "loaded", 1),
        ("b.ndjson", "loaded", 0),
    ]
    assert world.rows("select call_ref, started_at from raw.calls") == [
        ("C1", datetime(2024, 1, 1, 8, 0))
    ]
