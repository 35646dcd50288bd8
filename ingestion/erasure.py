"""Erasure requests: remove a person everywhere, raw data included, at every refresh.

Runs in the ingestion step right after new files are loaded, in the same write connection
and before text analytics and dbt, as one transaction of set-based DuckDB SQL. Requests stay
in `raw.erasure_requests`, so every refresh applies all of them again: a later delivery that
carries the person again is erased before anything downstream reads it.

1. Every raw row is listed with the identifiers it carries, normalized as identity resolution
   normalizes them (dbt_project/macros/identifiers.sql): the CRM's customer_ref, email, E.164
   phone, the feed's own person_ref, order_ref, invitation_ref, an inbound author's social
   handle, and the row's own record id (feed and key: every delivered version of a record).
2. Placeholders are dropped as identity resolution drops them: an email, phone or person_ref
   carried by more than `MAX_RECORDS_PER_IDENTIFIER` CRM records (a shop's own address) is
   no person's, and must not pull unrelated customers into an erasure.
3. From the requested identifiers, to a fixpoint: a row carrying an identifier in scope is
   erased and brings all its identifiers into scope. Message ids are the exception: they link
   a thread (a reply carries its parent's id), and a message reached only through its thread
   is erased without bringing its author in, so another customer who replied in the thread
   keeps the rest of their history.
4. Deleted: the rows of every raw table (the requests themselves excepted), the text
   annotations of the erased feedback, the follow-up cases opened on it
   (`intermediate.int_followup_cases_opened`) with their outcomes, and the quarantined rows
   of which an offending value is an erased identifier. `ops.erasure_log` records each
   request with sha256 hashes of its identifiers (never the identifiers themselves) and the
   rows deleted per table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from ingestion.entities import ENTITIES
from ingestion.warehouse import ensure_schemas, quote_literal, raw_table, table_exists

REQUESTS_TABLE = "erasure_requests"
# dbt var identity_max_records_per_identifier (dbt_project.yml): more CRM records than this
# sharing an email, phone or person_ref make it a placeholder, not a person.
MAX_RECORDS_PER_IDENTIFIER = 5
PLACEHOLDER_TYPES: tuple[str, ...] = ("email", "phone", "person")
# Links a thread, not a person (step 3 above).
THREAD_TYPE = "message"

CASES_TABLE = ("intermediate", "int_followup_cases_opened")
ANNOTATION_TABLES: tuple[str, ...] = ("feedback_sentiment", "feedback_topics")
# (entity, its key, what joins feed and key in dbt's feedback record id: the trigger_id of a
# follow-up case; a conversation is a ticket named after its first message)
FEEDBACK_RECORDS: tuple[tuple[str, str, str], ...] = (
    ("survey_responses", "response_ref", ":"),
    ("support_tickets", "ticket_ref", ":"),
    ("conversation_messages", "message_ref", ":conversation:"),
)

# What the data-protection officer can do about a request that erased nothing.
UNUSABLE_HINTS: dict[str, str] = {
    "ambiguous": "its identifier is a placeholder shared by more than "
    f"{MAX_RECORDS_PER_IDENTIFIER} CRM accounts; add a row with the person's CRM customer id "
    "under the same request id",
    "invalid": "its identifier does not normalize (an empty email, a phone with too few "
    "digits); add a row with a corrected identifier under the same request id",
}

_IDENTIFIERS = "__cx_erasure_identifiers"
_PLACEHOLDERS = "__cx_erasure_placeholders"
_SEEDS = "__cx_erasure_seeds"
_SCOPE = "__cx_erasure_scope"
_ROWS = "__cx_erasure_rows"
_FEEDBACK = "__cx_erasure_feedback"
_CASES = "__cx_erasure_cases"
_QUARANTINED = "__cx_erasure_quarantined"
_COUNTS = "__cx_erasure_counts"
_TEMP_TABLES = (
    _IDENTIFIERS,
    _PLACEHOLDERS,
    _SEEDS,
    _SCOPE,
    _ROWS,
    _FEEDBACK,
    _CASES,
    _QUARANTINED,
    _COUNTS,
)


def email_sql(column: str) -> str:
    """dbt's normalize_email: trimmed, lower case, NULL when empty."""
    return f"nullif(lower(trim({column})), '')"


def phone_e164_sql(column: str) -> str:
    """dbt's normalize_phone: digits only, an international 00 dropped, +1 before ten digits,
    + before 11 to 15 digits, NULL otherwise (tests compare it with the macro)."""
    digits = f"regexp_replace({column}, '[^0-9]', '', 'g')"
    national = f"(case when {digits} like '00%' then substr({digits}, 3) else {digits} end)"
    return (
        f"case when length({national}) = 10 then '+1' || {national} "
        f"when length({national}) between 11 and 15 then '+' || {national} end"
    )


def _ref_sql(column: str) -> str:
    return f"nullif(trim({column}), '')"


# How a requested identifier of each type is normalized.
REQUESTED_IDENTIFIERS: dict[str, Callable[[str], str]] = {
    "email": email_sql,
    "phone": phone_e164_sql,
    "crm": _ref_sql,
}
IDENTIFIER_TYPES: tuple[str, ...] = tuple(REQUESTED_IDENTIFIERS)
_CRM = ("crm", _ref_sql("customer_ref"))
_ORDER = ("order", _ref_sql("order_ref"))
_INVITATION = ("invitation", _ref_sql("invitation_ref"))

# (identifier type, SQL of its normalized value) per raw table; the record id is added.
ROW_IDENTIFIERS: dict[str, tuple[tuple[str, str], ...]] = {
    "crm_customers": (
        _CRM,
        ("email", email_sql("email")),
        ("phone", phone_e164_sql("phone")),
        ("person", "_feed || ':' || " + _ref_sql("person_ref")),
    ),
    "crm_orders": (_CRM, _ORDER),
    "crm_payments": (_ORDER,),
    "survey_invitations": (
        _CRM,
        ("email", email_sql("email")),
        ("phone", phone_e164_sql("phone")),
        _INVITATION,
    ),
    "survey_responses": (
        _CRM,
        ("email", email_sql("email")),
        ("phone", phone_e164_sql("phone")),
        _ORDER,
        _INVITATION,
    ),
    "survey_driver_ratings": (),
    "support_tickets": (
        _CRM,
        ("email", email_sql("requester_email")),
        ("phone", phone_e164_sql("requester_phone")),
        ("ticket", "_feed || ':' || " + _ref_sql("ticket_ref")),
    ),
    # a ticket's event history goes with the ticket (the summary feed is ticket_feed)
    "ticket_events": (
        (
            "ticket",
            "coalesce(" + _ref_sql("ticket_feed") + ", _feed) || ':' || " + _ref_sql("ticket_ref"),
        ),
    ),
    "calls": (_CRM, ("phone", phone_e164_sql("caller_phone"))),
    "web_sessions": (_CRM, ("email", email_sql("email"))),
    "conversation_messages": (
        # the customer's handle (the brand's replies are not inbound); messaging tools often
        # use the customer's email or phone number as the handle
        ("social", "case when is_inbound then lower(trim(author_ref)) end"),
        (
            "email",
            f"case when is_inbound and author_ref like '%@%' then {email_sql('author_ref')} end",
        ),
        (
            "phone",
            "case when is_inbound and regexp_full_match(trim(author_ref), '[+]?[0-9 ().-]+') "
            f"then {phone_e164_sql('author_ref')} end",
        ),
        # the parent, exported as a float by some tools ("3.0"), as staging reads it
        (
            THREAD_TYPE,
            "_feed || ':' || " + _ref_sql(r"regexp_replace(trim(in_reply_to_ref), '\.0$', '')"),
        ),
    ),
}
# Not scanned for identifiers: why.
NOT_SCANNED: dict[str, str] = {
    REQUESTS_TABLE: "the requests stay, so that later deliveries of the person are erased too",
    "followup_outcomes": "erased with the follow-up case they close",
}
# What the quarantined raw text of a cell is compared with, normalized as each type is.
QUARANTINE_CANDIDATES: tuple[tuple[str, str], ...] = (
    ("crm", _ref_sql("raw_value")),
    ("email", email_sql("raw_value")),
    ("phone", phone_e164_sql("raw_value")),
    ("order", _ref_sql("raw_value")),
    ("invitation", _ref_sql("raw_value")),
    ("social", "lower(trim(raw_value))"),
)


@dataclass(frozen=True)
class ErasureReport:
    requests: int = 0  # distinct request_ref in raw.erasure_requests
    requests_logged: int = 0  # ops.erasure_log rows written by this run
    # table -> rows deleted by this run (raw.*, ops.quarantine, the persisted cases)
    rows_deleted_by_table: dict[str, int] = field(default_factory=dict)
    # request_ref -> ambiguous (a placeholder identifier) | invalid (does not normalize)
    unusable_requests: dict[str, str] = field(default_factory=dict)
    # raw.<entity> rows after the erasure, for the tables it changed
    table_rows: dict[str, int] = field(default_factory=dict)

    @property
    def rows_deleted(self) -> int:
        return sum(self.rows_deleted_by_table.values())

    def as_metadata(self) -> dict[str, object]:
        """Plain values, ready for an asset's metadata."""
        return {
            "erasure_requests": self.requests,
            "erasure_requests_logged_this_run": self.requests_logged,
            "rows_erased_this_run": self.rows_deleted,
            "rows_erased_by_table": dict(self.rows_deleted_by_table),
            "unusable_erasure_requests": dict(self.unusable_requests),
        }

    def warnings(self) -> list[str]:
        """One line per request that erased nothing, with what to do about it."""
        return [
            f"erasure request {request_ref}: {status}, nothing erased: {UNUSABLE_HINTS[status]}"
            for request_ref, status in self.unusable_requests.items()
        ]

    def table_metadata(self, table: str) -> dict[str, object]:
        """Metadata for raw.<table>: rows erased, and the row count when the erasure changed it."""
        metadata: dict[str, object] = {
            "rows_erased_this_run": self.rows_deleted_by_table.get(f"raw.{table}", 0)
        }
        if table in self.table_rows:
            metadata["dagster/row_count"] = self.table_rows[table]
        if table == REQUESTS_TABLE:
            metadata.update(self.as_metadata())
        return metadata


def apply_erasures(con: duckdb.DuckDBPyConnection) -> ErasureReport:
    """Delete everything that belongs to the people in raw.erasure_requests; log each request."""
    ensure_schemas(con)
    requests = _count(con, f"select count(distinct request_ref) from {raw_table(REQUESTS_TABLE)}")
    if requests == 0:
        return ErasureReport()
    applied_at = datetime.now(UTC).replace(tzinfo=None)
    con.execute("begin transaction")
    try:
        _collect_identifiers(con)
        _collect_seeds(con)
        _reach_fixpoint(con)
        _collect_erased(con)
        _count_per_request(con)
        rows_deleted = _delete(con)
        requests_logged = _log(con, applied_at)
        unusable = dict(
            con.execute(
                f"select request_ref, min(status) from {_SEEDS} where status <> 'applied' "
                "and request_ref not in "
                f"(select request_ref from {_SEEDS} where status = 'applied') "
                "group by request_ref order by request_ref"
            ).fetchall()
        )
        for table in _TEMP_TABLES:
            con.execute(f"drop table {table}")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    changed = {table.removeprefix("raw.") for table in rows_deleted} & set(ENTITIES)
    return ErasureReport(
        requests=requests,
        requests_logged=requests_logged,
        rows_deleted_by_table=rows_deleted,
        unusable_requests=unusable,
        table_rows={
            table: _count(con, f"select count(*) from {raw_table(table)}")
            for table in sorted(changed)
        },
    )


# --------------------------------------------------------------------------- scope


def identifiers_sql(entity: str) -> str:
    """(table_name, row_id, identifier) of every identifier the rows of raw.<entity> carry."""
    key = ENTITIES[entity].key
    if entity == "conversation_messages":
        record = (THREAD_TYPE, f"_feed || ':' || {_ref_sql(key)}")
    else:
        # a driver rating is part of its survey response
        owner = "survey_responses" if entity == "survey_driver_ratings" else entity
        record = ("record", f"'{owner}:' || _feed || ':' || {_ref_sql(key)}")
    return (
        f"select {quote_literal(entity)} as table_name, row_id, identifier "
        "from (select rowid as row_id, "
        f"unnest({_identifier_list_sql((*ROW_IDENTIFIERS[entity], record))}) as identifier "
        f"from {raw_table(entity)}) where identifier is not null"
    )


def _identifier_list_sql(identifiers: tuple[tuple[str, str], ...]) -> str:
    """A list of `<type>:<normalized value>` (NULL where a row has no such value)."""
    values = ", ".join(f"'{kind}:' || ({value})" for kind, value in identifiers)
    return f"[{values}]"


def _collect_identifiers(con: duckdb.DuckDBPyConnection) -> None:
    placeholder_values = _identifier_list_sql(
        tuple(
            (identifier_type, value)
            for identifier_type, value in ROW_IDENTIFIERS["crm_customers"]
            if identifier_type in PLACEHOLDER_TYPES
        )
    )
    con.execute(
        f"create or replace temp table {_PLACEHOLDERS} as "
        "select identifier from ("
        f"select _feed || ':' || customer_ref as crm_record, unnest({placeholder_values}) "
        f"as identifier from {raw_table('crm_customers')}) where identifier is not null "
        f"group by identifier having count(distinct crm_record) > {MAX_RECORDS_PER_IDENTIFIER}"
    )
    unioned = "\n union all ".join(identifiers_sql(entity) for entity in ROW_IDENTIFIERS)
    con.execute(
        f"create or replace temp table {_IDENTIFIERS} as "
        "select table_name, row_id, identifier, "
        f"not starts_with(identifier, '{THREAD_TYPE}:') as is_link "
        f"from ({unioned}) as carried "
        f"where identifier not in (select identifier from {_PLACEHOLDERS})"
    )


def _collect_seeds(con: duckdb.DuckDBPyConnection) -> None:
    """The requested identifiers, normalized, with what can be done with each."""
    normalized = " ".join(
        f"when '{identifier_type}' then {normalize('identifier_value')}"
        for identifier_type, normalize in REQUESTED_IDENTIFIERS.items()
    )
    con.execute(
        f"""
        create or replace temp table {_SEEDS} as
        with requested as (
            select
                trim(request_ref) as request_ref,
                requested_at,
                lower(trim(identifier_type)) as identifier_type,
                trim(identifier_value) as identifier_text,
                case lower(trim(identifier_type)) {normalized} end as identifier_value
            from {raw_table(REQUESTS_TABLE)}
        )
        select distinct
            request_ref,
            requested_at,
            identifier_type,
            identifier_type || ':' || identifier_value as identifier,
            identifier_type || ':' || sha256(coalesce(identifier_value, identifier_text, ''))
                as identifier_hash,
            case
                when identifier_value is null then 'invalid'
                when identifier_type || ':' || identifier_value
                    in (select identifier from {_PLACEHOLDERS}) then 'ambiguous'
                else 'applied'
            end as status
        from requested
        """
    )


def _reach_fixpoint(con: duckdb.DuckDBPyConnection) -> None:
    """Grow each request's identifiers until no row brings a new one (semi-naive rounds)."""
    con.execute(
        f"create or replace temp table {_SCOPE} as "
        "select distinct request_ref, identifier, 0 as round "
        f"from {_SEEDS} where status = 'applied'"
    )
    round_number = 0
    while True:
        added = _count(
            con,
            f"""
            insert into {_SCOPE}
            select distinct frontier.request_ref, carried.identifier, {round_number + 1}
            from {_SCOPE} as frontier
            inner join {_IDENTIFIERS} as matched
                on frontier.identifier = matched.identifier
            inner join {_IDENTIFIERS} as carried
                on matched.table_name = carried.table_name and matched.row_id = carried.row_id
            where
                frontier.round = {round_number}
                -- a row reached through its thread only brings the rest of the thread
                and (matched.is_link or not carried.is_link)
                and not exists (
                    select 1 from {_SCOPE} as known
                    where known.request_ref = frontier.request_ref
                        and known.identifier = carried.identifier
                )
            """,
        )
        if added == 0:
            return
        round_number += 1


def _collect_erased(con: duckdb.DuckDBPyConnection) -> None:
    """Rows, feedback, cases and quarantined rows in scope, each with its request."""
    con.execute(
        f"create or replace temp table {_ROWS} as "
        "select distinct carried.table_name, carried.row_id, scope.request_ref "
        f"from {_SCOPE} as scope inner join {_IDENTIFIERS} as carried "
        "on scope.identifier = carried.identifier"
    )
    feedback = " union all ".join(
        f"select erased.request_ref, feedback._feed as feed, '{entity}' as source_entity, "
        f"feedback.{key} as source_ref, "
        f"feedback._feed || '{separator}' || feedback.{key} as trigger_id "
        f"from {_ROWS} as erased inner join {raw_table(entity)} as feedback "
        f"on erased.table_name = '{entity}' and erased.row_id = feedback.rowid"
        for entity, key, separator in FEEDBACK_RECORDS
    )
    con.execute(f"create or replace temp table {_FEEDBACK} as select distinct * from ({feedback})")
    con.execute(f"create or replace temp table {_CASES} (request_ref varchar, case_id varchar)")
    schema, table = CASES_TABLE
    if table_exists(con, schema, table):
        con.execute(
            f"insert into {_CASES} select distinct feedback.request_ref, cases.case_id "
            f"from {schema}.{table} as cases inner join {_FEEDBACK} as feedback "
            "on cases.trigger_id = feedback.trigger_id"
        )
        con.execute(
            f"insert into {_ROWS} select distinct 'followup_outcomes', outcomes.rowid, "
            f"cases.request_ref from {raw_table('followup_outcomes')} as outcomes "
            f"inner join {_CASES} as cases on trim(outcomes.case_ref) = cases.case_id"
        )
    candidates = _identifier_list_sql(QUARANTINE_CANDIDATES)
    con.execute(
        f"""
        create or replace temp table {_QUARANTINED} as
        with candidates as (
            select file_sha256, row_number, unnest({candidates}) as identifier
            from ops.quarantine
            where row_number is not null and raw_value is not null
        ),
        offending as (
            select distinct candidates.file_sha256, candidates.row_number, scope.request_ref
            from candidates
            inner join {_SCOPE} as scope on candidates.identifier = scope.identifier
        )
        select distinct quarantine.rowid as row_id, offending.request_ref
        from ops.quarantine as quarantine
        inner join offending
            on quarantine.file_sha256 = offending.file_sha256
            and quarantine.row_number = offending.row_number
        """
    )


# --------------------------------------------------------------------------- delete and log


def _count_per_request(con: duckdb.DuckDBPyConnection) -> None:
    """Rows each request erases, per table (a row two requests reach counts for both)."""
    annotations = [
        f"select feedback.request_ref, 'raw.{table}', count(*) "
        f"from raw.{table} as annotation inner join {_FEEDBACK} as feedback "
        "on annotation.feed = feedback.feed and annotation.source_entity = feedback.source_entity "
        "and annotation.source_ref = feedback.source_ref group by all"
        for table in ANNOTATION_TABLES
        if table_exists(con, "raw", table)
    ]
    schema, table = CASES_TABLE
    parts = [
        f"select request_ref, 'raw.' || table_name, count(*) from {_ROWS} group by all",
        *annotations,
        f"select request_ref, '{schema}.{table}', count(*) from {_CASES} group by all",
        f"select request_ref, 'ops.quarantine', count(*) from {_QUARANTINED} group by all",
    ]
    con.execute(
        f"create or replace temp table {_COUNTS} as "
        f"select * from ({' union all '.join(parts)}) as counts (request_ref, table_name, rows)"
    )


def _delete(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Delete what is in scope; rows deleted per table (each row once)."""
    deleted: dict[str, int] = {}
    for (entity,) in con.execute(
        f"select distinct table_name from {_ROWS} order by table_name"
    ).fetchall():
        deleted[f"raw.{entity}"] = _count(
            con,
            f"delete from {raw_table(entity)} where rowid in "
            f"(select row_id from {_ROWS} where table_name = {quote_literal(entity)})",
        )
    for table in ANNOTATION_TABLES:
        if table_exists(con, "raw", table):
            deleted[f"raw.{table}"] = _count(
                con,
                f"delete from raw.{table} as annotation using {_FEEDBACK} as feedback "
                "where annotation.feed = feedback.feed "
                "and annotation.source_entity = feedback.source_entity "
                "and annotation.source_ref = feedback.source_ref",
            )
    schema, table = CASES_TABLE
    if table_exists(con, schema, table):
        deleted[f"{schema}.{table}"] = _count(
            con, f"delete from {schema}.{table} where case_id in (select case_id from {_CASES})"
        )
    deleted["ops.quarantine"] = _count(
        con, f"delete from ops.quarantine where rowid in (select row_id from {_QUARANTINED})"
    )
    return {table: rows for table, rows in deleted.items() if rows}


def _log(con: duckdb.DuckDBPyConnection, applied_at: datetime) -> int:
    """One log row per request applied for the first time or erasing rows again."""
    return _count(
        con,
        f"""
        insert into ops.erasure_log (
            request_ref, requested_at, identifier_hashes, status, rows_deleted,
            rows_deleted_by_table, applied_at
        )
        with requests as (
            select
                request_ref,
                min(requested_at) as requested_at,
                list(distinct identifier_hash order by identifier_hash) as identifier_hashes,
                case
                    when bool_or(status = 'applied') then 'applied'
                    when bool_or(status = 'ambiguous') then 'ambiguous'
                    else 'invalid'
                end as status
            from {_SEEDS}
            group by request_ref
        ),
        per_table as (
            select request_ref, table_name, sum(rows) as rows
            from {_COUNTS}
            group by all
        ),
        per_request as (
            select
                request_ref,
                sum(rows) as rows_deleted,
                json_group_object(table_name, rows) as rows_deleted_by_table
            from per_table
            group by request_ref
        )
        select
            requests.request_ref,
            requests.requested_at,
            requests.identifier_hashes,
            requests.status,
            coalesce(per_request.rows_deleted, 0),
            coalesce(per_request.rows_deleted_by_table, '{{}}'::json),
            ?
        from requests
        left join per_request on requests.request_ref = per_request.request_ref
        where
            coalesce(per_request.rows_deleted, 0) > 0
            or requests.request_ref not in (select request_ref from ops.erasure_log)
        order by requests.request_ref
        """,
        [applied_at],
    )


def _count(con: duckdb.DuckDBPyConnection, sql: str, parameters: list[object] | None = None) -> int:
    row = con.execute(sql, parameters).fetchone()
    return int(row[0]) if row and row[0] is not None else 0
