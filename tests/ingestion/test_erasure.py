"""Erasure requests remove a person from every raw table, and nobody else."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import jinja2
import pytest
import yaml

from ingestion import erasure
from ingestion.entities import ENTITIES
from ingestion.erasure import apply_erasures, email_sql, phone_e164_sql
from ingestion.load import ingest_landing
from ingestion.registry import load_registry
from ingestion.warehouse import connect, ensure_schemas

ROOT = Path(__file__).parent.parent.parent
MACROS = ROOT / "dbt_project/macros/identifiers.sql"
DEMO_SOURCES = ROOT / "ingestion/sources/demo"

ANN_EMAIL = "ann@example.com"
PLACEHOLDER = "orders@shop.example"


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    ensure_schemas(connection)
    yield connection
    connection.close()


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, object]]) -> None:
    """Rows into `table`, lineage columns filled in (one file per table, rows numbered)."""
    for number, row in enumerate(rows, start=1):
        values = {
            "_feed": f"demo_{table.split('.')[-1]}",
            "_source_file": "landed.csv",
            "_file_sha256": f"sha-{table}",
            "_row_number": number,
            "_loaded_at": "2026-01-01 00:00:00",
            **row,
        }
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        con.execute(f"insert into {table} ({columns}) values ({marks})", list(values.values()))


def _plant_world(con: duckdb.DuckDBPyConnection) -> None:
    """Ann (two CRM accounts, orders, surveys, tickets, a call, a WhatsApp-style thread) and
    the others: Zed and four accounts sharing the shop's placeholder email, Bob on social."""
    ann_phone = "+1 (555) 010-2000"
    _insert(
        con,
        "raw.crm_customers",
        [
            {"customer_ref": "CUST-ANN-1", "email": " Ann@Example.com ", "phone": ann_phone},
            # a second account: another phone, the same email typed differently
            {"customer_ref": "CUST-ANN-2", "email": "ANN@example.com", "phone": "555 010 7777"},
            # a third account under the placeholder, linked to Ann by her phone only
            {"customer_ref": "CUST-ANN-3", "email": PLACEHOLDER, "phone": "555.010.2000"},
            {"customer_ref": "CUST-ZED", "email": PLACEHOLDER, "phone": "555 010 9999"},
            *({"customer_ref": f"CUST-FILL-{n}", "email": PLACEHOLDER} for n in range(4)),
        ],
    )
    _insert(
        con,
        "raw.crm_orders",
        [
            {"order_ref": "O-ANN-1", "customer_ref": "CUST-ANN-1"},
            {"order_ref": "O-ANN-2", "customer_ref": "CUST-ANN-2"},
            {"order_ref": "O-ZED", "customer_ref": "CUST-ZED"},
        ],
    )
    _insert(
        con,
        "raw.crm_payments",
        [
            {"payment_ref": "P-ANN", "order_ref": "O-ANN-2", "paid_amount": 10},
            {"payment_ref": "P-ZED", "order_ref": "O-ZED", "paid_amount": 20},
        ],
    )
    _insert(
        con,
        "raw.survey_invitations",
        [
            {"invitation_ref": "I-ANN", "customer_ref": "CUST-ANN-1"},
            {"invitation_ref": "I-ZED", "email": PLACEHOLDER},
        ],
    )
    _insert(
        con,
        "raw.survey_responses",
        [
            # linked by its invitation, by the order it reviews, by email
            {"response_ref": "R-ANN-1", "invitation_ref": "I-ANN", "nps_score": 3},
            {"response_ref": "R-ANN-2", "order_ref": "O-ANN-2", "comment": "late again"},
            {"response_ref": "R-ANN-3", "email": "ann@EXAMPLE.com", "nps_score": 9},
            {"response_ref": "R-ZED", "invitation_ref": "I-ZED", "nps_score": 2},
        ],
    )
    ratings_feed = "demo_survey_responses"  # ratings are landed by their response's feed
    _insert(
        con,
        "raw.survey_driver_ratings",
        [
            {"response_ref": "R-ANN-1", "attribute": "wait", "rating": 2, "_feed": ratings_feed},
            {"response_ref": "R-ZED", "attribute": "wait", "rating": 4, "_feed": ratings_feed},
        ],
    )
    _insert(
        con,
        "raw.support_tickets",
        [
            {"ticket_ref": "T-ANN-1", "requester_email": "ANN@example.com "},
            {"ticket_ref": "T-ANN-2", "requester_phone": "(555) 010-7777"},
            {"ticket_ref": "T-ZED", "requester_email": PLACEHOLDER},
        ],
    )
    # the history of a ticket carries no identifier of its own: it goes with its ticket
    tickets_feed = "demo_support_tickets"
    _insert(
        con,
        "raw.ticket_events",
        [
            {"event_ref": "E1", "ticket_ref": "T-ANN-1", "ticket_feed": tickets_feed},
            {"event_ref": "E2", "ticket_ref": "T-ANN-1", "ticket_feed": tickets_feed},
            {"event_ref": "E3", "ticket_ref": "T-ZED", "ticket_feed": tickets_feed},
        ],
    )
    _insert(
        con,
        "raw.calls",
        [
            {"call_ref": "K-ANN", "caller_phone": "0015550102000"},
            {"call_ref": "K-ZED", "caller_phone": "555-010-9999"},
        ],
    )
    _insert(
        con,
        "raw.web_sessions",
        [{"session_ref": "W-ANN", "customer_ref": "CUST-ANN-2"}, {"session_ref": "W-ZED"}],
    )
    _insert(
        con,
        "raw.conversation_messages",
        [
            # WhatsApp-style: the customer's phone number is the handle
            {"message_ref": "M1", "author_ref": "+1 555 010 2000", "is_inbound": True},
            {
                "message_ref": "M2",
                "in_reply_to_ref": "M1.0",
                "author_ref": "Brand",
                "is_inbound": False,
            },
            # Bob chimes in on Ann's thread: erased with it, but Bob is not Ann
            {"message_ref": "M3", "in_reply_to_ref": "M2", "author_ref": "bob", "is_inbound": True},
            {"message_ref": "M4", "author_ref": "Bob", "is_inbound": True},
            {
                "message_ref": "M5",
                "in_reply_to_ref": "M4",
                "author_ref": "Brand",
                "is_inbound": False,
            },
        ],
    )
    for table in ("feedback_sentiment", "feedback_topics"):
        con.execute(
            f"create table raw.{table} (feed varchar, source_entity varchar, source_ref varchar)"
        )
        con.execute(
            f"insert into raw.{table} values "
            "('demo_survey_responses', 'survey_responses', 'R-ANN-2'), "
            "('demo_support_tickets', 'support_tickets', 'T-ANN-1'), "
            "('demo_survey_responses', 'survey_responses', 'R-ZED')"
        )
    con.execute("create schema intermediate")
    con.execute(
        "create table intermediate.int_followup_cases_opened (case_id varchar, trigger_id varchar)"
    )
    con.execute(
        "insert into intermediate.int_followup_cases_opened values "
        "('case-ann', 'demo_survey_responses:R-ANN-1'), "
        "('case-ann-social', 'demo_conversation_messages:conversation:M1'), "
        "('case-zed', 'demo_survey_responses:R-ZED')"
    )
    _insert(
        con,
        "raw.followup_outcomes",
        [
            {"outcome_ref": "OUT-ANN", "case_ref": "case-ann", "outcome_note": "called Ann"},
            {"outcome_ref": "OUT-ZED", "case_ref": "case-zed", "outcome_note": "called Zed"},
        ],
    )
    con.execute(
        "insert into ops.quarantine (feed, source_file, file_sha256, row_number, column_name,"
        " raw_value, reason, quarantined_at) values"
        " ('demo_support_tickets', 't.csv', 'sha-t', 7, 'Requester email', 'Ann@Example.com',"
        "  'too long', now()),"
        " ('demo_support_tickets', 't.csv', 'sha-t', 7, 'Created at', 'yesterday',"
        "  'not a timestamp', now()),"
        " ('demo_support_tickets', 't.csv', 'sha-t', 8, 'Created at', 'tomorrow',"
        "  'not a timestamp', now())"
    )


def _request(con: duckdb.DuckDBPyConnection, *requests: tuple[str, str, str]) -> None:
    _insert(
        con,
        "raw.erasure_requests",
        [
            {"request_ref": ref, "identifier_type": kind, "identifier_value": value}
            for ref, kind, value in requests
        ],
    )


def _keys(con: duckdb.DuckDBPyConnection, table: str, key: str) -> list[str]:
    return [row[0] for row in con.execute(f"select {key} from {table} order by 1").fetchall()]


def test_a_person_is_erased_everywhere_by_email_alone(con: duckdb.DuckDBPyConnection) -> None:
    _plant_world(con)
    _request(con, ("DPO-1", "email", " ANN@example.com"))

    report = apply_erasures(con)

    fillers = [f"CUST-FILL-{n}" for n in range(4)]
    assert _keys(con, "raw.crm_customers", "customer_ref") == [*fillers, "CUST-ZED"]
    assert _keys(con, "raw.crm_orders", "order_ref") == ["O-ZED"]
    assert _keys(con, "raw.crm_payments", "payment_ref") == ["P-ZED"]
    assert _keys(con, "raw.survey_invitations", "invitation_ref") == ["I-ZED"]
    assert _keys(con, "raw.survey_responses", "response_ref") == ["R-ZED"]
    assert _keys(con, "raw.survey_driver_ratings", "response_ref") == ["R-ZED"]
    assert _keys(con, "raw.support_tickets", "ticket_ref") == ["T-ZED"]
    assert _keys(con, "raw.ticket_events", "event_ref") == ["E3"]
    assert _keys(con, "raw.calls", "call_ref") == ["K-ZED"]
    assert _keys(con, "raw.web_sessions", "session_ref") == ["W-ZED"]
    assert _keys(con, "raw.conversation_messages", "message_ref") == ["M4", "M5"]
    for table in ("raw.feedback_sentiment", "raw.feedback_topics"):
        assert _keys(con, table, "source_ref") == ["R-ZED"]
    assert _keys(con, "intermediate.int_followup_cases_opened", "case_id") == ["case-zed"]
    assert _keys(con, "raw.followup_outcomes", "outcome_ref") == ["OUT-ZED"]
    # both problems of Ann's quarantined row go; the other row's stays
    assert _keys(con, "ops.quarantine", "row_number") == [8]
    assert _keys(con, "raw.erasure_requests", "request_ref") == ["DPO-1"]

    assert report.requests == 1
    assert report.requests_logged == 1
    assert report.unusable_requests == {}
    assert report.rows_deleted_by_table == {
        "raw.crm_customers": 3,
        "raw.crm_orders": 2,
        "raw.crm_payments": 1,
        "raw.survey_invitations": 1,
        "raw.survey_responses": 3,
        "raw.survey_driver_ratings": 1,
        "raw.support_tickets": 2,
        "raw.ticket_events": 2,
        "raw.calls": 1,
        "raw.web_sessions": 1,
        "raw.conversation_messages": 3,
        "raw.followup_outcomes": 1,
        "raw.feedback_sentiment": 2,
        "raw.feedback_topics": 2,
        "intermediate.int_followup_cases_opened": 2,
        "ops.quarantine": 2,
    }
    assert report.table_rows["crm_customers"] == 5
    assert report.table_metadata("calls") == {"rows_erased_this_run": 1, "dagster/row_count": 1}
    ((status, rows_deleted, by_table),) = con.execute(
        "select status, rows_deleted, rows_deleted_by_table::varchar from ops.erasure_log"
    ).fetchall()
    assert (status, rows_deleted) == ("applied", report.rows_deleted)
    assert yaml.safe_load(by_table) == report.rows_deleted_by_table


def test_the_log_proves_the_erasure_without_holding_the_identifier(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _plant_world(con)
    _request(con, ("DPO-1", "email", "Ann@Example.com"), ("DPO-2", "phone", "555 010 9999"))

    apply_erasures(con)

    log = con.execute("select * from ops.erasure_log order by request_ref").fetchall()
    assert [row[0] for row in log] == ["DPO-1", "DPO-2"]
    assert log[0][2] == ["email:" + hashlib.sha256(ANN_EMAIL.encode()).hexdigest()]
    assert log[1][2] == ["phone:" + hashlib.sha256(b"+15550109999").hexdigest()]
    text = str(log).lower()
    for plain in (ANN_EMAIL, "5550102000", "5550109999", "cust-ann", "cust-zed", "0109999"):
        assert plain not in text


def test_a_placeholder_identifier_pulls_nobody_in(con: duckdb.DuckDBPyConnection) -> None:
    _plant_world(con)
    # asked by the placeholder itself: ambiguous, nothing erased; by a phone that is no phone
    _request(con, ("DPO-SHOP", "email", PLACEHOLDER.upper()), ("DPO-BAD", "phone", "12-34"))
    before = {table: _keys(con, f"raw.{table}", "count(*)") for table in ENTITIES}

    report = apply_erasures(con)

    assert {table: _keys(con, f"raw.{table}", "count(*)") for table in ENTITIES} == before
    assert report.unusable_requests == {"DPO-BAD": "invalid", "DPO-SHOP": "ambiguous"}
    assert [warning.split(":")[0] for warning in report.warnings()] == [
        "erasure request DPO-BAD",
        "erasure request DPO-SHOP",
    ]
    assert "CRM customer id" in report.warnings()[1]
    assert report.rows_deleted_by_table == {}
    statuses = con.execute("select request_ref, status from ops.erasure_log order by 1").fetchall()
    assert statuses == [("DPO-BAD", "invalid"), ("DPO-SHOP", "ambiguous")]
    # logged once, not on every refresh
    assert apply_erasures(con).requests_logged == 0


def test_zed_sharing_the_placeholder_is_kept_when_ann_is_erased_by_her_crm_id(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _plant_world(con)
    # CUST-ANN-3 carries the placeholder and Ann's phone: the phone links, the email does not
    _request(con, ("DPO-1", "crm", "CUST-ANN-3"))

    apply_erasures(con)

    assert "CUST-ZED" in _keys(con, "raw.crm_customers", "customer_ref")
    assert _keys(con, "raw.support_tickets", "ticket_ref") == ["T-ZED"]
    assert "CUST-ANN-1" not in _keys(con, "raw.crm_customers", "customer_ref")


CUSTOMERS_YAML = """\
name: shop_customers
family: crm
entity: crm_customers
file_pattern: "customers_*.csv"
columns: {customer_ref: Id, email: Email, phone: Phone}
"""


def _land(home: Path, feed: str, name: str, text: str) -> None:
    folder = home / "landing" / feed
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def test_a_redelivered_export_of_the_person_is_erased_again(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "shop_customers.yml").write_text(CUSTOMERS_YAML)
    shutil.copy(DEMO_SOURCES / "demo_erasure_requests.yml", sources)
    feeds = load_registry(sources)
    home = tmp_path / "home"
    _land(
        home,
        "shop_customers",
        "customers_1.csv",
        "Id,Email,Phone\nA1,ann@example.com,\nZ1,z@x.org,\n",
    )
    _land(
        home,
        "demo_erasure_requests",
        "erasure_requests_1.csv",
        "Request ID,Identifier type,Identifier,Requested at\nDPO-1,Email,Ann@Example.com,"
        "2026-01-02 09:00:00\n",
    )
    con = connect(home / "warehouse.duckdb")
    try:
        ingest_landing(con, home, feeds)
        first = apply_erasures(con)
        again = apply_erasures(con)
        # the CRM exports its whole customer list again, Ann included (as A1 and a new A2)
        _land(
            home,
            "shop_customers",
            "customers_2.csv",
            "Id,Email,Phone\nA1,ANN@example.com,\nA2,x@y.org,555 010 2000\nZ1,z@x.org,\n"
            "A3,ann@example.com,555-010-2000\n",
        )
        ingest_landing(con, home, feeds)
        redelivered = apply_erasures(con)
        customers = _keys(con, "raw.crm_customers", "customer_ref")
        log = con.execute(
            "select request_ref, rows_deleted from ops.erasure_log order by applied_at"
        ).fetchall()
        requests = _keys(con, "raw.erasure_requests", "identifier_type || ':' || request_ref")
    finally:
        con.close()
    assert first.rows_deleted_by_table == {"raw.crm_customers": 1}
    assert (again.rows_deleted, again.requests_logged) == (0, 0)
    # A2 shares Ann's phone with A3, which carries her email
    assert redelivered.rows_deleted_by_table == {"raw.crm_customers": 3}
    assert customers == ["Z1", "Z1"]
    assert log == [("DPO-1", 1), ("DPO-1", 3)]
    assert requests == ["email:DPO-1"]


def test_every_raw_table_is_scanned_or_says_why_not() -> None:
    assert set(erasure.ROW_IDENTIFIERS) | set(erasure.NOT_SCANNED) == set(ENTITIES)
    assert not set(erasure.ROW_IDENTIFIERS) & set(erasure.NOT_SCANNED)


def test_the_placeholder_threshold_is_identity_resolutions() -> None:
    project = yaml.safe_load((ROOT / "dbt_project/dbt_project.yml").read_text())
    threshold = project["vars"]["identity_max_records_per_identifier"]
    assert threshold == erasure.MAX_RECORDS_PER_IDENTIFIER


def _dbt_identifier_macros() -> jinja2.runtime.TemplateModule:
    """dbt_project/macros/identifiers.sql rendered with plain Jinja (default dispatch)."""

    class Adapter:
        module: jinja2.runtime.TemplateModule | None = None

        def dispatch(self, name: str, package: str) -> object:
            return getattr(self.module, f"default__{name}")

    adapter = Adapter()
    environment = jinja2.Environment()
    environment.globals.update({"adapter": adapter, "return": lambda value: value})
    adapter.module = environment.from_string(MACROS.read_text()).module
    return adapter.module


TRICKY_PHONES = [
    "+1 (555) 010-2000",
    "555.010.2000",
    "0015550102000",
    "001-555-010-2000",
    "1-555-010-2000",
    "+44 20 7946 0958",
    "0044 20 7946 0958",
    "00",
    "5550102",
    "+1234567890123456",
    "123456789012345",
    "ext. 555 010 2000 x12",
    "phone: none",
    "",
    "  ",
    None,
    "０５５５０１０２０００",
]
TRICKY_EMAILS = [" Ann@Example.com ", "ANN@EXAMPLE.COM", "", "   ", None, "\tann@example.com\n"]


def test_phone_and_email_sql_match_the_dbt_macros_on_tricky_inputs() -> None:
    macros = _dbt_identifier_macros()
    con = duckdb.connect()
    try:
        for value_sql, macro, values in (
            (phone_e164_sql("value"), macros.normalize_phone("value"), TRICKY_PHONES),
            (email_sql("value"), macros.normalize_email("value"), TRICKY_EMAILS),
        ):
            rows = con.execute(
                f"select value, {value_sql}, {macro} from (select unnest(?::varchar[]) as value)",
                [values],
            ).fetchall()
            assert [ours for _, ours, _ in rows] == [dbt for _, _, dbt in rows]
        normalized = con.execute(
            f"select {phone_e164_sql('value')} from (select unnest(?::varchar[]) as value)",
            [TRICKY_PHONES[:5]],
        ).fetchall()
    finally:
        con.close()
    assert [row[0] for row in normalized] == ["+15550102000"] * 5
