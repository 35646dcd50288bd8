"""Which checks guard which table: one suite per raw table and per role table.

Raw suites are derived from `ingestion.entities` (keys and lineage columns) plus the domain
rules below; role-table suites are written out column by column. Everything here is plain
data, so tightening or relaxing a rule is an edit to one of the tables in this module.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from expectations.checks import (
    Between,
    Check,
    InSet,
    NotLessThan,
    NotNull,
    RowCountAtLeast,
    Unique,
    UniqueTogether,
    to_expectation,
)
from ingestion.entities import ENTITIES, LINEAGE_COLUMNS, Entity
from ingestion.erasure import IDENTIFIER_TYPES as ERASURE_IDENTIFIER_TYPES

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation


@dataclass(frozen=True)
class TableSuite:
    """The checks for one table, named `<schema>.<table>`."""

    table: str
    checks: tuple[Check, ...]

    @property
    def schema(self) -> str:
        return self.table.split(".", 1)[0]

    @property
    def table_name(self) -> str:
        return self.table.split(".", 1)[1]

    @property
    def digest(self) -> str:
        """Changes whenever a check is added, removed or edited (rows validated under an
        older suite are validated again)."""
        return hashlib.sha256(repr(self.checks).encode()).hexdigest()[:16]

    @property
    def passes_when_empty(self) -> bool:
        """Whether a table without rows passes: every check but the row count is on rows,
        so only a least row count above 0 fails an empty table."""
        return all(
            check.min_rows == 0 for check in self.checks if isinstance(check, RowCountAtLeast)
        )

    def expectations(self) -> list[Expectation]:
        """Fresh GX expectation objects (GX mutates them when they join a suite)."""
        return [to_expectation(check) for check in self.checks]


# --- raw tables --------------------------------------------------------------------------

# Minimum rows per raw table. An empty raw table is legitimate: a deployment declares feeds
# for the entities it has (the demo world has no payments or conversation messages; the real
# samples have no invitations, tickets, calls or web sessions), and a feed whose only file
# was quarantined must not stop the good data of the other feeds from being published (the
# quarantine is reported in ops and in the ingest step's warnings). The published mart is
# guarded by the role-table suites below. Raise an entity to 1 in a deployment that must
# never publish without it.
RAW_MIN_ROWS: dict[str, int] = dict.fromkeys(ENTITIES, 0)

# The columns that identify one record of an entity; default is the entity's `key`.
# A driver rating is one attribute of one response, hence the pair.
RAW_RECORD_KEYS: dict[str, tuple[str, ...]] = {
    "survey_driver_ratings": ("response_ref", "attribute"),
}

# Raw keeps every landed row as delivered — redeliveries, several feeds per entity, and keys
# repeated inside one export (Olist's duplicated review_id); staging keeps the latest version
# per feed and id and dbt tests its uniqueness. What raw guarantees is that each landed row is
# stored once: a file row (and, for driver ratings, its attribute) appears a single time.
RAW_LANDED_ROW: tuple[str, ...] = ("_file_sha256", "_row_number")

# `_extra` is NULL when a feed maps every source column, so it is not required.
RAW_REQUIRED_LINEAGE: tuple[str, ...] = tuple(
    name for name, _ in LINEAGE_COLUMNS if name != "_extra"
)

TICKET_SATISFACTION_VALUES: tuple[str, ...] = ("good", "bad", "offered", "unoffered")
TICKET_PRIORITY_VALUES: tuple[str, ...] = ("low", "normal", "high", "urgent")
TICKET_STATUS_VALUES: tuple[str, ...] = ("new", "open", "pending", "hold", "solved", "closed")
TICKET_EVENT_TYPES: tuple[str, ...] = ("created", "comment", "status_change")
TICKET_EVENT_AUTHOR_ROLES: tuple[str, ...] = ("end_user", "agent", "system")

# Value domains per raw table. Scales are the widest the product accepts; each feed's own
# declared scale is enforced (and violations quarantined) at ingestion.
RAW_DOMAIN_CHECKS: dict[str, tuple[Check, ...]] = {
    "crm_orders": (Between("order_amount", min_value=0),),
    "survey_responses": (
        Between("nps_score", 0, 10),
        Between("csat_score", 1, 5),
        Between("ces_score", 1, 7),
    ),
    "survey_driver_ratings": (Between("rating", 1, 10),),
    "support_tickets": (
        Between("reopen_count", min_value=0),
        Between("reply_count", min_value=0),
        InSet("satisfaction", TICKET_SATISFACTION_VALUES),
        InSet("priority", TICKET_PRIORITY_VALUES),
    ),
    # Event metrics (int_ticket_events_summarized) only recognise these words: a status or role
    # the feed did not map onto them would silently drop out of first response and reopens.
    "ticket_events": (
        InSet("event_type", TICKET_EVENT_TYPES),
        InSet("author_role", TICKET_EVENT_AUTHOR_ROLES),
        InSet("status_from", TICKET_STATUS_VALUES),
        InSet("status_to", TICKET_STATUS_VALUES),
    ),
    "calls": (
        Between("wait_seconds", min_value=0),
        Between("talk_seconds", min_value=0),
        Between("hold_seconds", min_value=0),
        Between("wrap_seconds", min_value=0),
    ),
    "web_sessions": (Between("page_views", min_value=0),),
    # A request the erasure step cannot read stops publication: the last good serving file
    # stays in place rather than a refresh going on as if nobody had asked to be erased.
    "erasure_requests": (InSet("identifier_type", ERASURE_IDENTIFIER_TYPES),),
}


def record_key_checks(record_key: tuple[str, ...]) -> tuple[Check, ...]:
    """Key columns are never NULL; each landed row (file, row, sub-key) is stored once."""
    not_null = tuple(NotNull(column) for column in record_key)
    return (*not_null, UniqueTogether(RAW_LANDED_ROW + record_key[1:]))


def raw_suite(entity: Entity) -> TableSuite:
    record_key = RAW_RECORD_KEYS.get(entity.name, (entity.key,))
    checks: tuple[Check, ...] = (
        RowCountAtLeast(RAW_MIN_ROWS.get(entity.name, 1)),
        *record_key_checks(record_key),
        *(NotNull(column) for column in RAW_REQUIRED_LINEAGE),
        *RAW_DOMAIN_CHECKS.get(entity.name, ()),
    )
    return TableSuite(table=f"raw.{entity.name}", checks=checks)


RAW_SUITES: dict[str, TableSuite] = {
    suite.table: suite for suite in (raw_suite(entity) for entity in ENTITIES.values())
}


# --- role tables -------------------------------------------------------------------------

FOLLOWUP_REASONS: tuple[str, ...] = (
    "detractor",
    "low_csat",
    "bad_ticket_rating",
    "repeat_complaint",
)
FOLLOWUP_STATUSES: tuple[str, ...] = ("open", "closed")


def compound_key(*columns: str) -> tuple[Check, ...]:
    """A grain of several columns: each one present, the combination unique."""
    return (*(NotNull(column) for column in columns), UniqueTogether(columns))


# every published NPS: in range, a non-negative denominator, the low-sample flag set
NPS_CHECKS: tuple[Check, ...] = (
    Between("nps", -100, 100),
    Between("nps_responses", min_value=0),
    NotNull("is_low_sample"),
)

ROLE_SUITES: dict[str, TableSuite] = {
    suite.table: suite
    for suite in (
        TableSuite(
            table="frontline.followup_queue",
            checks=(
                # An empty queue is good news (nobody unhappy), not a failure.
                RowCountAtLeast(0),
                NotNull("case_id"),
                Unique("case_id"),
                NotNull("customer_id"),
                InSet("reason", FOLLOWUP_REASONS),
                # one *open* case per customer and reason: a dbt test (closed cases may repeat)
                NotNull("owner_team"),
                NotNull("opened_at"),
                NotNull("due_at"),
                NotLessThan("due_at", "opened_at"),
                NotNull("is_overdue"),
                InSet("is_overdue", (True, False)),
                Between("priority_score", 0, 100),
                InSet("status", FOLLOWUP_STATUSES),
            ),
        ),
        TableSuite(
            table="manager.touchpoint_performance",
            checks=(
                RowCountAtLeast(1),
                *compound_key("touchpoint", "channel", "team", "week_start"),
                *NPS_CHECKS,
                Between("csat_pct", 0, 100),
            ),
        ),
        TableSuite(
            table="manager.driver_importance",
            checks=(
                # Empty when no survey asks driver questions.
                RowCountAtLeast(0),
                NotNull("touchpoint"),
                NotNull("attribute"),
                NotNull("period"),
                UniqueTogether(("touchpoint", "period", "attribute")),
                Between("relative_importance", 0, 1),
                Between("r_squared", 0, 1),
                Between("importance_rank", min_value=1),
            ),
        ),
        TableSuite(
            table="executive.cx_scorecard",
            checks=(
                RowCountAtLeast(1),
                NotNull("month_start"),
                Unique("month_start"),
                Between("nps", -100, 100),
                Between("response_rate_pct", 0, 100),
                Between("revenue_at_risk", min_value=0),
                Between("csat_pct", 0, 100),
                Between("ces_easy_pct", 0, 100),
                Between("pain_point_verbatims", min_value=0),
                # ranked: no pain point is mentioned more often than the one above it
                NotLessThan("pain_point_verbatims", "top_pain_point_1_mentions"),
                NotLessThan("top_pain_point_1_mentions", "top_pain_point_2_mentions"),
                NotLessThan("top_pain_point_2_mentions", "top_pain_point_3_mentions"),
            ),
        ),
        TableSuite(
            table="executive.journey_stage_scores",
            checks=(
                RowCountAtLeast(1),
                *compound_key("month_start", "journey_stage"),
                *NPS_CHECKS,
            ),
        ),
    )
}

SUITES: dict[str, TableSuite] = {**RAW_SUITES, **ROLE_SUITES}


def suite_for(table: str) -> TableSuite:
    """The suite guarding `table` (`<schema>.<table>`, e.g. `raw.calls`)."""
    try:
        return SUITES[table]
    except KeyError:
        known = ", ".join(sorted(SUITES))
        raise KeyError(f"no expectation suite for table {table!r}; known tables: {known}") from None
