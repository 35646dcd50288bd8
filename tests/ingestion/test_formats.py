"""Every export shape of FORMATS.md loads by declaration alone, from small faithful fixtures."""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingestion.load import IngestReport, ingest_landing
from ingestion.registry import RegistryError, load_registry
from ingestion.warehouse import connect

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FORMATS = FIXTURES / "formats"
REAL_QUALTRICS = FIXTURES / "real" / "qualtrics"


class World:
    """A temporary data home with a registry folder and an open warehouse."""

    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.sources = root / "sources"
        self.sources.mkdir(parents=True)
        self.con = connect(self.home / "warehouse.duckdb")

    def declare(self, text: str) -> None:
        name = text.split("name: ", 1)[1].split("\n", 1)[0]
        (self.sources / f"{name}.yml").write_text(text, encoding="utf-8")

    def land(self, feed: str, fixture: Path, file_name: str | None = None) -> None:
        target = self.home / "landing" / feed / (file_name or fixture.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(fixture, target)

    def ingest(self) -> IngestReport:
        return ingest_landing(self.con, self.home, load_registry(self.sources))

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path)
    yield world
    world.con.close()


def _registry_error(tmp_path: Path, text: str) -> str:
    folder = tmp_path / "bad_sources"
    folder.mkdir()
    (folder / "feed.yml").write_text(text, encoding="utf-8")
    with pytest.raises(RegistryError) as raised:
        load_registry(folder)
    return str(raised.value)


QUALTRICS_YAML = """\
name: qualtrics_nps
family: survey
entity: survey_responses
layout: qualtrics
timezone: Europe/Berlin
columns:
  response_ref: ResponseId
  customer_ref: ExternalReference
  email: RecipientEmail
  started_at: StartDate
  submitted_at: RecordedDate
  is_finished: Finished
  nps_score: Q1
  comment: Q2_TEXT
  source_nps_group: Q1_NPS_GROUP
  touchpoint: Touchpoint
booleans:
  is_finished: {true: ["1", "True"], false: ["0", "False"]}
scales:
  nps_score: {min: 0, max: 10}
"""


def test_qualtrics_three_header_rows_previews_dropped_local_time_to_utc(world: World) -> None:
    world.declare(QUALTRICS_YAML)
    world.land("qualtrics_nps", FORMATS / "qualtrics_responses.csv")

    outcome = world.ingest().files[0]

    # 5 data rows: 2 previews (Status 1 and "Survey Preview") dropped, NPS 11 quarantined
    assert (outcome.status, outcome.rows_read, outcome.rows_loaded) == ("partially_loaded", 3, 2)
    assert "2 row(s) dropped by drop_rows_where (Status)" in str(outcome.reason)
    assert world.rows(
        "select response_ref, started_at, submitted_at, is_finished, nps_score, comment, "
        "source_nps_group, _row_number from raw.survey_responses order by _row_number"
    ) == [
        # 01:50 CET (+1) is before the 2024-03-31 jump; 03:05 is CEST (+2)
        (
            "R_1a",
            datetime(2024, 3, 31, 0, 50),
            datetime(2024, 3, 31, 1, 5),
            True,
            10,
            'Schnelle Lieferung, "super"',
            "Promoter",
            1,
        ),
        (
            "R_5c",
            datetime(2024, 12, 24, 17, 30),
            datetime(2024, 12, 24, 17, 35),
            True,
            6,
            None,
            "Detractor",
            5,
        ),
    ]
    assert world.rows("select row_number, column_name, raw_value, reason from ops.quarantine") == [
        (3, "Q1", "11", "expected integer 0..10, got '11'")
    ]
    extra = json.loads(world.rows("select _extra from raw.survey_responses limit 1")[0][0])
    assert extra["DistributionChannel"] == "email"


def test_qualtrics_keyed_on_import_ids(world: World) -> None:
    world.declare(
        QUALTRICS_YAML.replace("layout: qualtrics", "layout: qualtrics\nkey_row: import_id")
        .replace("ResponseId", "_recordId")
        .replace("ExternalReference", "externalDataReference")
        .replace("RecipientEmail", "recipientEmail")
        .replace("StartDate", "startDate")
        .replace("RecordedDate", "recordedDate")
        .replace("Finished", "finished")
        .replace(": Q1\n", ": QID1\n")
        .replace("Q2_TEXT", "QID2_TEXT")
        .replace("Q1_NPS_GROUP", "QID1_NPS_GROUP")
    )
    world.land("qualtrics_nps", FORMATS / "qualtrics_responses.csv")

    outcome = world.ingest().files[0]

    assert (outcome.rows_read, outcome.rows_loaded) == (3, 2)  # previews dropped on `status`
    assert world.rows("select response_ref, nps_score from raw.survey_responses order by 1") == [
        ("R_1a", 10),
        ("R_5c", 6),
    ]


def test_real_qualtrics_export_with_german_labels(world: World) -> None:
    world.declare(
        "name: qualtrics_real\nfamily: survey\nentity: survey_responses\nlayout: qualtrics\n"
        "columns: {response_ref: ResponseId, submitted_at: RecordedDate, comment: Q2, "
        "language: UserLanguage}\n"
    )
    world.land("qualtrics_real", REAL_QUALTRICS / "sample.csv")

    assert world.ingest().files[0].status == "loaded"
    assert world.rows(
        "select response_ref, submitted_at, comment, language, _extra->>'Q1' "
        "from raw.survey_responses"
    ) == [("R_2YPOQ602ER1jkf1", datetime(2017, 7, 18, 8, 28, 48), "Hello World!", "DE", "2")]


def test_real_legacy_qualtrics_export_bom_and_trailing_empty_column(world: World) -> None:
    world.declare(
        "name: qualtrics_legacy\nfamily: survey\nentity: survey_responses\n"
        "layout: qualtrics_legacy\n"
        "columns: {response_ref: ResponseID, submitted_at: EndDate, is_finished: Finished, "
        "comment: Q2, email: EmailAddress}\n"
    )
    world.land("qualtrics_legacy", REAL_QUALTRICS / "sample_legacy.csv")

    outcome = world.ingest().files[0]

    assert outcome.status == "loaded"
    assert world.rows(
        "select response_ref, submitted_at, is_finished, comment, email, "
        "_extra->>'Status', _extra->>'Q1' from raw.survey_responses"
    ) == [
        (
            "R_2YPOQ602ER1jkf1",
            datetime(2017, 7, 18, 8, 28, 48),
            True,
            "Hello World!",
            None,
            "0",
            "2",
        )
    ]


def test_surveymonkey_spanning_question_headers(world: World) -> None:
    world.declare(
        """\
name: surveymonkey_nps
family: survey
entity: survey_responses
layout: surveymonkey
timezone: America/Chicago
timestamp_format: "%m/%d/%Y %I:%M:%S %p"
columns:
  response_ref: Respondent ID
  customer_ref: Custom Data 1
  email: Email Address
  started_at: Start Date
  submitted_at: End Date
  nps_score: How likely is it that you would recommend us to a friend or colleague? | Response
  comment: What is the main reason for your score? | Open-Ended Response
drivers:
  scale: {min: 1, max: 5}
  columns:
    delivery: How satisfied were you with… | Delivery
    support: How satisfied were you with… | Support
"""
    )
    world.land("surveymonkey_nps", FORMATS / "surveymonkey_responses.csv")

    assert world.ingest().files[0].status == "loaded"
    assert world.rows(
        "select response_ref, customer_ref, submitted_at, nps_score, comment "
        "from raw.survey_responses order by 1"
    ) == [
        ("114356789012", "CUST-9", datetime(2024, 5, 1, 15, 2, 40), 9, "Fast, friendly"),
        ("114356789013", "CUST-10", datetime(2024, 5, 2, 4, 20, 1), 3, None),
    ]
    # the spanning multi-select question continues over its blank header cells
    extras = [
        json.loads(extra)
        for (extra,) in world.rows("select _extra from raw.survey_responses order by 1")
    ]
    assert extras[1]["Which of these did you use? | Other (please specify)"] == "Phone call"
    assert extras[0]["Which of these did you use? | Website"] == "Website"
    assert world.rows(
        "select response_ref, attribute, rating from raw.survey_driver_ratings order by 1, 2"
    ) == [
        ("114356789012", "delivery", 4),
        ("114356789012", "support", 5),
        ("114356789013", "delivery", 2),
    ]


def test_zendesk_account_time_zone_list_fields_and_default_labels(world: World) -> None:
    world.declare(
        """\
name: zendesk_tickets
family: channel
entity: support_tickets
layout: zendesk
timezone: America/New_York
columns:
  ticket_ref: Id
  customer_ref: CRM id [text]
  requester_email: Requester email
  created_at: Created at
  solved_at: Solved at
  ticket_status: Status
  priority: Priority
  touchpoint: Touchpoint [list]
  satisfaction: Satisfaction Score
  reopen_count: Reopens
  source_first_reply_minutes: First reply time in minutes
values:
  touchpoint: {tp_delivery: delivery, tp_billing: billing, tp_returns: returns}
"""
    )
    world.land("zendesk_tickets", FORMATS / "zendesk_tickets.csv")

    assert world.ingest().files[0].status == "loaded"
    assert world.rows(
        "select ticket_ref, created_at, solved_at, ticket_status, priority, touchpoint, "
        "satisfaction, _extra->>'Product [list]' from raw.support_tickets order by 1"
    ) == [
        # EST (-5) until 2024-03-10 02:00; EDT (-4) after
        (
            "1001",
            datetime(2024, 3, 10, 3, 15),
            datetime(2024, 3, 10, 12, 45),
            "solved",
            "high",
            "delivery",
            "good",
            "Widget Pro",
        ),
        ("1002", datetime(2024, 7, 4, 14, 0), None, "open", "normal", "billing", "unoffered", None),
        # 01:30 happens twice on 2024-11-03; ICU takes the later, standard-time instant
        (
            "1003",
            datetime(2024, 11, 3, 6, 30),
            None,
            "pending",
            "urgent",
            "returns",
            "offered",
            "Widget",
        ),
    ]


def test_zendesk_layout_requires_the_account_time_zone(tmp_path: Path) -> None:
    message = _registry_error(
        tmp_path,
        "name: zd\nfamily: channel\nentity: support_tickets\nlayout: zendesk\n"
        "columns: {ticket_ref: Id, created_at: Created at}\n",
    )
    assert "feed.yml: timezone: missing; layout zendesk needs it declared" in message


SALESFORCE_YAML = """\
name: salesforce_accounts
family: crm
entity: crm_customers
layout: salesforce_report
timestamp_format: "%m/%d/%Y"
drop_rows_where:
  Account ID: {pattern: "^(Subtotal|Total)"}
columns:
  customer_ref: Account ID
  first_name: First Name
  last_name: Last Name
  email: Email
  country: Mailing Country
  signed_up_at: Customer Since
  segment: Type
"""


def test_salesforce_report_footer_and_subtotal_rows_dropped(world: World) -> None:
    world.declare(SALESFORCE_YAML)
    world.land("salesforce_accounts", FORMATS / "salesforce_accounts.csv")

    outcome = world.ingest().files[0]

    assert (outcome.status, outcome.rows_read, outcome.rows_loaded) == ("loaded", 3, 3)
    assert "footer of 5 line(s) dropped: Grand Totals (3 records)" in str(outcome.reason)
    assert "1 row(s) dropped by drop_rows_where (Account ID)" in str(outcome.reason)
    assert world.rows(
        "select customer_ref, first_name, signed_up_at, _extra->>'Account Name' "
        "from raw.crm_customers order by _row_number"
    ) == [
        ("0015g00000AbCdE", "Jo", datetime(2017, 1, 30), "Acme GmbH"),
        ("0015g00000AbCdF", "Kim", datetime(2021, 11, 5), "Beta, Inc."),
        ("0015g00000AbCdG", "Léa", datetime(2024, 2, 29), "Gamma SA"),
    ]


def test_salesforce_report_without_footer_is_flagged_as_cut_short(world: World) -> None:
    world.declare(SALESFORCE_YAML)
    full = (FORMATS / "salesforce_accounts.csv").read_bytes().decode("utf-8")
    cut = world.home / "cut.csv"
    cut.parent.mkdir(parents=True, exist_ok=True)
    cut.write_text(full.split('\r\n""\r\n')[0] + "\r\n", encoding="utf-8", newline="")
    world.land("salesforce_accounts", cut)

    outcome = world.ingest().files[0]

    assert outcome.rows_loaded == 3
    assert "no footer after a blank line: the export may have been cut short" in str(outcome.reason)


WENJUANXING_COLUMNS = """\
columns:
  response_ref: 序号
  submitted_at: 提交答卷时间
  nps_score: 1、您向朋友推荐我们的可能性有多大？
  comment: 5、其他建议
scales:
  nps_score: {min: 0, max: 10}
"""


def test_wenjuanxing_by_text_gb18030_csv(world: World) -> None:
    world.declare(
        "name: wjx_text\nfamily: survey\nentity: survey_responses\nlayout: wenjuanxing_text\n"
        "format: csv\n" + WENJUANXING_COLUMNS
    )
    world.land("wjx_text", FORMATS / "wenjuanxing_by_text_gb18030.csv")

    outcome = world.ingest().files[0]

    assert (outcome.status, outcome.rows_read, outcome.rows_loaded) == ("partially_loaded", 3, 2)
    rows = world.rows(
        "select response_ref, submitted_at, nps_score, comment, _extra "
        "from raw.survey_responses order by _row_number"
    )
    # Beijing time (UTC+8) to UTC; (跳过) and (空) read as NULL
    assert [row[:4] for row in rows] == [
        ("1", datetime(2024, 5, 1, 2, 0), 9, "送货很快"),
        ("2", datetime(2024, 5, 1, 15, 30, 5), None, None),
    ]
    extra = json.loads(rows[0][4])
    assert extra["2、您使用过哪些服务？"] == "配送┋客服┋退货"
    assert extra["3、请对以下服务排序"] == "配送→客服→退货"
    assert extra["4、您选择我们的主要原因"] == "其他〖包装很好〗"
    assert world.rows("select row_number, raw_value, reason from ops.quarantine") == [
        (3, "12", "expected integer 0..10, got '12'")
    ]


def test_wenjuanxing_by_code_xlsx_named_sheet(world: World) -> None:
    world.declare(
        "name: wjx_code\nfamily: survey\nentity: survey_responses\nlayout: wenjuanxing_code\n"
        "format: xlsx\nsheet: 答卷数据\n" + WENJUANXING_COLUMNS
    )
    world.land("wjx_code", FORMATS / "wenjuanxing_by_code.xlsx")

    outcome = world.ingest().files[0]

    assert (outcome.status, outcome.rows_loaded) == ("loaded", 3)
    assert world.rows(
        "select response_ref, submitted_at, nps_score, comment, _extra->>'3、请对以下服务排序' "
        "from raw.survey_responses order by _row_number"
    ) == [
        ("1", datetime(2024, 5, 1, 2, 0), 10, "送货很快", "1→2→3"),
        ("2", datetime(2024, 5, 1, 15, 30, 5), None, None, "2→1"),  # -2 skipped, -3 not shown
        ("3", datetime(2024, 12, 31, 8, 0), 7, "无", None),
    ]


def test_missing_sheet_quarantines_the_workbook_naming_its_sheets(world: World) -> None:
    world.declare(
        "name: wjx_code\nfamily: survey\nentity: survey_responses\nlayout: wenjuanxing_code\n"
        "format: xlsx\nsheet: 3\n" + WENJUANXING_COLUMNS
    )
    world.land("wjx_code", FORMATS / "wenjuanxing_by_code.xlsx")

    outcome = world.ingest().files[0]

    assert outcome.status == "quarantined"
    assert "no sheet 3 in the workbook; sheets: 1: '统计', 2: '答卷数据'" in str(outcome.reason)


@pytest.mark.skipif(importlib.util.find_spec("xlrd") is None, reason="xlrd is not installed")
def test_wenjuanxing_by_code_xls(world: World) -> None:
    world.declare(
        "name: wjx_xls\nfamily: survey\nentity: survey_responses\nlayout: wenjuanxing_code\n"
        "format: xls\n" + WENJUANXING_COLUMNS
    )
    world.land("wjx_xls", FORMATS / "wenjuanxing_by_code.xls")

    assert world.ingest().files[0].status == "loaded"
    assert world.rows(
        "select response_ref, submitted_at, nps_score, comment "
        "from raw.survey_responses order by _row_number"
    ) == [
        ("1", datetime(2024, 5, 1, 2, 0), 10, "送货很快"),
        ("2", datetime(2024, 5, 1, 15, 30, 5), None, None),
        ("3", datetime(2024, 12, 31, 8, 0), 7, "无"),
    ]


def test_generic_tsv_title_rows_decimal_comma_trailer_and_total_row(world: World) -> None:
    world.declare(
        """\
name: orders_de
family: crm
entity: crm_orders
format: tsv
encoding: auto
timezone: Europe/Berlin
timestamp_format: "%d.%m.%Y %H:%M"
skip_rows: 2
footer: 1
decimal_separator: ","
drop_rows_where:
  Bestellnr: Summe
columns:
  order_ref: Bestellnr
  customer_ref: Kunde
  ordered_at: Datum
  order_amount: Betrag
  currency: Währung
"""
    )
    world.land("orders_de", FORMATS / "orders_de.tsv")

    outcome = world.ingest().files[0]

    assert (outcome.rows_read, outcome.rows_loaded) == (3, 2)
    assert world.rows(
        "select order_ref, ordered_at, order_amount::varchar from raw.crm_orders order by 1"
    ) == [
        ("B-1", datetime(2024, 5, 1, 8, 0), "1234.5600"),
        ("B-2", datetime(2024, 5, 2, 16, 30), "19.9000"),
    ]
    assert world.rows("select row_number, column_name, raw_value from ops.quarantine") == [
        (3, "Betrag", "viel")
    ]


def test_parquet_feed(world: World) -> None:
    parquet = world.home / "sessions.parquet"
    parquet.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(
        "select * from (values ('S1', timestamp '2024-06-01 12:00:00', 3, 'mobile'), "
        "('S2', timestamp '2024-12-01 12:00:00', null, 'desktop')) "
        "as sessions(session_id, started, views, device)"
    ).write_parquet(str(parquet))
    world.declare(
        "name: web_parquet\nfamily: channel\nentity: web_sessions\nformat: parquet\n"
        "timezone: Europe/Paris\n"
        "columns: {session_ref: session_id, started_at: started, page_views: views}\n"
    )
    world.land("web_parquet", parquet)

    assert world.ingest().files[0].status == "loaded"
    assert world.rows(
        "select session_ref, started_at, page_views, _extra from raw.web_sessions order by 1"
    ) == [
        ("S1", datetime(2024, 6, 1, 10, 0), 3, '{"device":"mobile"}'),
        ("S2", datetime(2024, 12, 1, 11, 0), None, '{"device":"desktop"}'),
    ]


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_encoding_auto_reads_utf8_bom_and_chinese_encodings(world: World, encoding: str) -> None:
    world.declare(
        "name: notes\nfamily: channel\nentity: calls\nencoding: auto\n"
        "columns: {call_ref: 编号, started_at: 时间, queue: 队列}\n"
    )
    source = world.home / "calls.csv"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes("编号,时间,队列\nC1,2024-01-01 08:00:00,售后服务\n".encode(encoding))
    world.land("notes", source)

    assert world.ingest().files[0].status == "loaded"
    assert world.rows("select call_ref, queue from raw.calls") == [("C1", "售后服务")]


def test_encoding_auto_rejects_what_no_candidate_decodes(world: World) -> None:
    world.declare(
        "name: notes\nfamily: channel\nentity: calls\nencoding: auto\n"
        "columns: {call_ref: id, started_at: at}\n"
    )
    source = world.home / "calls.csv"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(b"id,at\nC1,2024-01-01 08:00:00\x80\n")
    world.land("notes", source)

    outcome = world.ingest().files[0]

    assert outcome.status == "quarantined"
    assert "encoding auto: the file is neither utf-8-sig, utf-8, gb18030" in str(outcome.reason)


@pytest.mark.parametrize(
    ("extra_yaml", "expected"),
    [
        ("layout: typeform\n", "layout: 'typeform' is not allowed; allowed: qualtrics,"),
        ("layout: zendesk\n", "format: 'ndjson' is not a format of layout zendesk"),
        ("header_rows: 2\n", "header_rows: applies to format csv, tsv, xlsx, xls only"),
        ("sheet: Data\n", "sheet: applies to format xlsx, xls only, not 'ndjson'"),
        ("decimal_separator: ';'\n", "decimal_separator: ';' is not allowed; allowed: '.', ','"),
        (
            "drop_rows_where: {Status: {pattern: '('}}\n",
            "drop_rows_where.Status: '(' is not a valid",
        ),
        ("drop_rows_where: [Status]\n", "drop_rows_where: expected a mapping of source column"),
        ("null_values: {a: b}\n", "null_values: expected a text or a list of texts"),
        ("footer: at_the_end\n", "footer: 'at_the_end' is not allowed; allowed: a number"),
    ],
)
def test_each_reading_mistake_is_named(tmp_path: Path, extra_yaml: str, expected: str) -> None:
    message = _registry_error(
        tmp_path,
        "name: web\nfamily: channel\nentity: web_sessions\nformat: ndjson\n"
        "columns: {session_ref: id, started_at: at}\n" + extra_yaml,
    )
    assert "feed.yml: " + expected in message


@pytest.mark.parametrize(
    ("extra_yaml", "expected"),
    [
        ("header_rows: 3\nkey_row: 4\n", "key_row: expected a header row number 1..3, got 4"),
        ("key_row: import_id\n", "key_row: 'import_id' needs header_rows of at least 2, got 1"),
        ("key_row: first\n", "key_row: 'first' is not allowed; allowed: a header row number"),
        ("header_rows: 11\n", "header_rows: expected a whole number 0..10, got 11"),
        ("skip_rows: -1\n", "skip_rows: expected a whole number >= 0, got -1"),
        ("format: xlsx\nsheet: 0\n", "sheet: expected a sheet name or a sheet number"),
        ("format: ndjson\ncsv: {delimiter: ';'}\n", "csv: csv options apply to format csv and tsv"),
    ],
)
def test_each_header_mistake_is_named(tmp_path: Path, extra_yaml: str, expected: str) -> None:
    message = _registry_error(
        tmp_path,
        "name: orders\nfamily: crm\nentity: crm_orders\n"
        "columns: {order_ref: a, customer_ref: b, ordered_at: c, order_amount: d}\n" + extra_yaml,
    )
    assert "feed.yml: " + expected in message


def test_layout_defaults_are_overridable(tmp_path: Path) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "feed.yml").write_text(
        "name: q\nfamily: survey\nentity: survey_responses\nlayout: qualtrics\n"
        "drop_rows_where: {Status: ['1', '2', Survey Preview, Survey Test]}\nencoding: utf-8\n"
        "columns: {response_ref: ResponseId, submitted_at: RecordedDate}\n",
        encoding="utf-8",
    )
    (feed,) = load_registry(folder)
    assert (feed.format, feed.encoding, feed.read.header_rows, feed.read.key_row) == (
        "csv",
        "utf-8",
        3,
        1,
    )
    assert feed.read.drop_rows_where[0].texts == ("1", "2", "Survey Preview", "Survey Test")
