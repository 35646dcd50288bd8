"""Ticket event histories: a Zendesk-style audits export lands in raw.ticket_events."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from ingestion.load import ingest_landing
from ingestion.registry import load_registry
from ingestion.warehouse import connect

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "formats" / "zendesk_ticket_audits.csv"

# Audits hold events other than creation, comments and status changes (notifications, other
# field changes): the declaration drops them, so every landed row is one the metrics read.
AUDITS_YAML = """\
name: zendesk_audits
family: channel
entity: ticket_events
timezone: America/New_York
timestamp_format: "%Y-%m-%d %H:%M:%S"
columns:
  event_ref: [Audit ID, "Event #"]
  ticket_ref: Ticket ID
  event_at: Created at
  event_type: Event type
  author_role: Author role
  is_public: Public
  status_from: Previous value
  status_to: Value
  channel: Via
constants:
  ticket_feed: zendesk_tickets
drop_rows_where:
  Event type: Notification
  Field: priority
values:
  event_type: {Create: created, Comment: comment, Change: status_change}
  author_role: {end-user: end_user, agent: agent, admin: agent}
  channel: {Web form: web, Phone call (incoming): phone}
"""


@pytest.fixture
def loaded(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    sources, home = tmp_path / "sources", tmp_path / "home"
    sources.mkdir()
    (sources / "zendesk_audits.yml").write_text(AUDITS_YAML, encoding="utf-8")
    landing = home / "landing" / "zendesk_audits"
    landing.mkdir(parents=True)
    (landing / FIXTURE.name).write_bytes(FIXTURE.read_bytes())
    con = connect(home / "warehouse.duckdb")
    report = ingest_landing(con, home, load_registry(sources))
    (outcome,) = report.files
    assert (outcome.status, outcome.rows_read, outcome.rows_loaded) == ("partially_loaded", 9, 7)
    # both parts of the composite id are mapped: only the unmapped "Field" is kept in _extra
    assert outcome.reason is not None
    assert "unmapped column(s) kept in _extra: 'Field'" in outcome.reason
    assert "2 row(s) dropped by drop_rows_where" in outcome.reason
    return con


def test_audit_events_load_typed_in_utc_with_a_composite_id(
    loaded: duckdb.DuckDBPyConnection,
) -> None:
    def rows(columns: str, where: str = "true") -> list[tuple[object, ...]]:
        return loaded.execute(
            f"select event_ref, {columns} from raw.ticket_events where {where} order by event_ref"
        ).fetchall()

    # 01:30 EST is 06:30 UTC; clocks jump at 02:00, so 03:10 and 04:00 are EDT (UTC-4)
    assert rows("event_at") == [
        ("5001-1", datetime(2024, 3, 10, 6, 30)),
        ("5001-2", datetime(2024, 3, 10, 6, 30)),
        ("5002-1", datetime(2024, 3, 10, 7, 10)),
        ("5003-1", datetime(2024, 3, 10, 8, 0)),
        ("5003-2", datetime(2024, 3, 10, 8, 0)),
        ("5004-1", datetime(2024, 7, 1, 16, 0)),
        ("5004-2", datetime(2024, 7, 1, 16, 0)),
    ]
    assert rows("event_type, author_role, is_public") == [
        ("5001-1", "created", "end_user", None),
        ("5001-2", "comment", "end_user", True),
        ("5002-1", "comment", "agent", False),
        ("5003-1", "comment", "agent", True),
        ("5003-2", "status_change", "agent", None),
        ("5004-1", "created", "agent", None),
        ("5004-2", "comment", "agent", True),
    ]
    assert rows("status_from, status_to", "status_to is not null") == [
        ("5001-1", None, "new"),
        ("5003-2", "new", "solved"),
        ("5004-1", None, "new"),
    ]
    assert loaded.execute(
        "select distinct ticket_ref, ticket_feed, channel from raw.ticket_events order by 1"
    ).fetchall() == [("1001", "zendesk_tickets", "web"), ("1002", "zendesk_tickets", "phone")]


def test_events_without_a_time_or_a_type_are_quarantined(
    loaded: duckdb.DuckDBPyConnection,
) -> None:
    problems = loaded.execute(
        "select row_number, column_name, reason from ops.quarantine order by row_number"
    ).fetchall()
    assert problems == [
        (
            10,
            "Created at",
            "expected timestamp like '%Y-%m-%d %H:%M:%S', got '2024-07-01 25:00:00'",
        ),
        (11, "Event type", "required field event_type is empty"),
    ]
