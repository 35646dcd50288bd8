"""The demo world: deterministic files, valid declarations, and truths that hold in the files.

Every truth is recomputed here from the written files with DuckDB (never from the
generator's arrays), resolving identities the way the mart must: CRM id, then normalized
email, then normalized phone. One test runs the real loader over the files.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest

from ingestion.demo import (
    DRIVER_COLUMNS,
    FEEDS,
    FEEDS_STARTING_EMPTY,
    DemoTruths,
    business_clock,
    generate_demo_world,
)
from ingestion.entities import ENTITIES
from ingestion.load import ingest_landing
from ingestion.registry import Feed, load_registry, parse_feed_file
from ingestion.warehouse import quote_identifier

SOURCES = Path(__file__).resolve().parents[2] / "ingestion" / "sources" / "demo"
IDENTITY_RULES = (
    Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "identity_rules.csv"
)
END_DATE = date(2025, 11, 23)
SCALE = 0.25
TS = "%Y-%m-%d %H:%M:%S"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoTruths]:
    landing = tmp_path_factory.mktemp("demo") / "landing"
    return landing, generate_demo_world(landing, scale=SCALE, seed=42, end_date=END_DATE)


@pytest.fixture(scope="module")
def feeds() -> dict[str, Feed]:
    """The declared feeds the demo world writes files for."""
    return {feed.name: feed for feed in load_registry(SOURCES) if feed.name in FEEDS}


@pytest.fixture(scope="module")
def con(world: tuple[Path, DemoTruths]) -> duckdb.DuckDBPyConnection:
    """The demo files as tables, plus each record resolved to its true person."""
    landing, truths = world
    con = duckdb.connect()
    for feed, relative in truths.feed_files.items():
        path = landing / relative
        reader = (
            f"read_json('{path}', format = 'newline_delimited', columns = {_text_columns(path)})"
            if FEEDS[feed] == "ndjson"
            else f"read_csv('{path}', header = true, all_varchar = true, quote = '\"')"
        )
        con.execute(f"create table {feed} as select * from {reader}")
    con.execute(
        """
        create macro phone_e164(text) as case
            when regexp_replace(coalesce(text, ''), '[^0-9]', '', 'g') = '' then null
            else '+' || case
                when length(ltrim_zeros(text)) = 10 then '1' || ltrim_zeros(text)
                else ltrim_zeros(text) end
        end;
        """.replace(
            "ltrim_zeros(text)",
            "regexp_replace(regexp_replace(text, '[^0-9]', '', 'g'), '^00', '')",
        )
    )
    con.execute("create table ref_person (customer_ref varchar, person varchar)")
    con.executemany(
        "insert into ref_person values (?, ?)", list(truths.person_of_customer_ref.items())
    )
    con.execute(
        """
        create table crm as
        select
            crm."Account ID" as customer_ref,
            lower(trim(crm."Email")) as email,
            phone_e164(crm."Phone") as phone,
            ref_person.person
        from demo_crm_customers as crm
        left join ref_person on crm."Account ID" = ref_person.customer_ref;
        create table email_person as select distinct email, person from crm where email is not null;
        create table phone_person as select distinct phone, person from crm where phone is not null;
        create macro person_of(ref, mail, tel) as coalesce(
            (select person from ref_person where customer_ref = ref),
            (select person from email_person where email = lower(trim(mail))),
            (select person from phone_person where phone = phone_e164(tel))
        );
        create table responses as
        select
            *,
            person_of("ExternalReference", "RecipientEmail", "RecipientPhone") as person,
            strptime("RecordedDate", '%Y-%m-%d %H:%M:%S') as submitted_at,
            try_cast("Q_NPS" as integer) as nps,
            try_cast("Q_CSAT" as integer) as csat
        from demo_survey_responses;
        create table valid_responses as
        select * from responses where "Finished" = '1' and nps between 0 and 10;
        create table calls as
        select
            *,
            person_of("Customer ID", null, "ANI") as person,
            strptime("Call Start", '%Y-%m-%d %H:%M:%S') as started_at,
            cast("Queue Wait (s)" as integer) as wait_seconds
        from demo_calls;
        """
    )
    return con


def _text_columns(path: Path) -> str:
    """Every key of the first JSON line as VARCHAR: compare the file's text, not DuckDB's guess."""
    with path.open(encoding="utf-8") as lines:
        keys = json.loads(lines.readline())
    return "{" + ", ".join(f"'{key}': 'VARCHAR'" for key in keys) + "}"


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


def test_same_seed_scale_and_end_date_give_identical_bytes(
    world: tuple[Path, DemoTruths], tmp_path: Path
) -> None:
    landing, truths = world
    again = generate_demo_world(tmp_path / "landing", scale=SCALE, seed=42, end_date=END_DATE)
    assert again.to_json() == truths.to_json()
    for relative in truths.feed_files.values():
        assert (tmp_path / "landing" / relative).read_bytes() == (landing / relative).read_bytes()
    other = generate_demo_world(tmp_path / "other", scale=SCALE, seed=7, end_date=END_DATE)
    first = truths.feed_files["demo_survey_responses"]
    assert (tmp_path / "other" / first).read_bytes() != (landing / first).read_bytes()
    assert other.persons == truths.persons == round(2_000 * SCALE)


def test_declarations_map_canonical_fields_and_every_required_one() -> None:
    paths = sorted(SOURCES.glob("*.yml"))
    declared = {**FEEDS, **FEEDS_STARTING_EMPTY}
    assert {path.stem for path in paths} == set(declared)
    for path in paths:
        feed, errors = parse_feed_file(path)
        assert errors == [], errors
        assert feed is not None and feed.name == path.stem
        entity = ENTITIES[feed.entity]
        assert feed.family == entity.family
        assert set(feed.columns) <= set(entity.field_names), path.name
        required = {field.name for field in entity.fields if field.required}
        assert required <= set(feed.columns), f"{path.name}: {required - set(feed.columns)}"
        assert feed.format == declared[feed.name]


def test_every_feed_file_exists_parses_and_has_the_declared_columns(
    world: tuple[Path, DemoTruths], feeds: dict[str, Feed], con: duckdb.DuckDBPyConnection
) -> None:
    landing, truths = world
    assert set(truths.feed_files) == set(feeds)
    for name, feed in feeds.items():
        path = landing / truths.feed_files[name]
        assert path.parent == landing / name
        assert path.name == f"{name}_{END_DATE.isoformat()}.{FEEDS[name]}"
        assert path.match(feed.file_pattern)
        header = [row[0] for row in con.execute(f"describe {name}").fetchall()]
        declared = set(feed.columns.values())
        if feed.drivers is not None:
            declared |= set(feed.drivers.columns.values())
        assert declared <= set(header), f"{name}: missing {declared - set(header)}"
        assert _scalar(con, f"select count(*) from {name}") == truths.feed_rows[name] > 0


def test_declared_timestamp_formats_parse_every_timestamp_but_the_planted_bad_one(
    feeds: dict[str, Feed], con: duckdb.DuckDBPyConnection, world: tuple[Path, DemoTruths]
) -> None:
    truths = world[1]
    for name, feed in feeds.items():
        (timestamp_format,) = feed.timestamp_formats
        entity = ENTITIES[feed.entity]
        for field_name, column in feed.columns.items():
            if entity.field(field_name).type != "timestamp":
                continue
            source = f"cast({quote_identifier(column)} as varchar)"
            unparsed = _scalar(
                con,
                f"select count(*) from {name} where {source} is not null "
                f"and try_strptime({source}, '{timestamp_format}') is null",
            )
            planted_bad = name == "demo_support_tickets" and column == "Created at"
            expected = truths.bad_ticket_rows if planted_bad else 0
            assert unparsed == expected, f"{name}.{column}"
    assert truths.bad_ticket_rows == 1
    assert truths.quarantine_rows == {"demo_support_tickets": 1, "demo_survey_responses": 3}


def test_nothing_happens_after_as_of(con: duckdb.DuckDBPyConnection) -> None:
    latest = _scalar(
        con,
        f"""select greatest(
            (select max(strptime("RecordedDate", '{TS}')) from demo_survey_responses),
            (select max(strptime("SentDate", '{TS}')) from demo_survey_invitations),
            (select max(strptime("Call Start", '{TS}')) from demo_calls),
            (select max(strptime("Created at", '{TS}')) from demo_crm_orders),
            (select max(strptime(session_end, '%Y-%m-%dT%H:%M:%SZ')) from demo_web_sessions))""",
    )
    assert str(latest) < END_DATE.isoformat()


def test_duplicate_crm_records_share_an_email_or_a_phone_or_only_a_postcode_and_name(
    con: duckdb.DuckDBPyConnection, world: tuple[Path, DemoTruths]
) -> None:
    truths = world[1]
    assert truths.crm_records == truths.persons + truths.duplicate_crm_records
    assert truths.duplicate_crm_records == (
        truths.duplicates_by_email
        + truths.duplicates_by_phone
        + truths.duplicates_by_name_and_postcode
    )
    assert 0.015 * truths.persons <= truths.duplicate_crm_records <= 0.07 * truths.persons
    assert truths.duplicates_by_email > 0 and truths.duplicates_by_phone > 0
    assert truths.duplicates_by_name_and_postcode == len(truths.fuzzy_duplicate_pairs) > 0
    assert _scalar(con, "select count(*) from crm where person is null") == 0
    duplicates = _scalar(con, "select count(*) - count(distinct person) from crm")
    assert duplicates == truths.duplicate_crm_records
    # every second account but the fuzzy ones shares a normalized email or phone with the first
    fuzzy_refs = [second for _, second in truths.fuzzy_duplicate_pairs]
    unlinked = con.execute(
        """
        select count(*) from (
            select person from crm where customer_ref not in (select unnest(?::varchar[]))
            group by person having count(*) > 1
            and count(distinct email) > 1 and (count(distinct phone) > 1 or count(phone) < 2)
        )
        """,
        [fuzzy_refs],
    ).fetchall()
    assert unlinked == [(0,)]
    by_email = _scalar(
        con,
        "select count(*) from (select person from crm group by person, email having count(*) > 1)",
    )
    assert by_email == truths.duplicates_by_email
    # no two persons share an email or a phone
    assert _scalar(con, "select count(*) - count(distinct email) from email_person") == 0
    assert _scalar(con, "select count(*) - count(distinct phone) from phone_person") == 0
    # the trap: the duplicate's email is the same address typed differently
    assert (
        _scalar(
            con,
            """select count(*) from demo_crm_customers
        where "Email" <> lower(trim("Email"))""",
        )
        >= truths.duplicates_by_email
    )


def test_fuzzy_duplicates_and_look_alikes_sit_on_either_side_of_the_declared_threshold(
    con: duckdb.DuckDBPyConnection, world: tuple[Path, DemoTruths]
) -> None:
    """A mistyped older account shares no email or phone with its person's first account,
    only the postcode and a name the fuzzy rule (seeds/identity_rules.csv, names compared as
    dbt's cx_name_key does) finds alike; look-alike persons share a postcode and names just
    below the threshold; no other two persons of one postcode reach it."""
    truths = world[1]
    with IDENTITY_RULES.open(encoding="utf-8") as rules:
        (threshold,) = [
            float(rule["min_similarity"])
            for rule in csv.DictReader(rules)
            if rule["rule_name"] == "name_and_postcode"
        ]
    con.execute("create temp table planted (first_ref varchar, second_ref varchar, kind varchar)")
    for kind, pairs in (
        ("fuzzy", truths.fuzzy_duplicate_pairs),
        ("look_alike", truths.look_alike_pairs),
    ):
        con.executemany(
            f"insert into planted values (?, ?, '{kind}')", [list(pair) for pair in pairs]
        )
    con.execute(
        """
        create macro name_key(name) as
            regexp_replace(lower(strip_accents(name)), '[^a-z]', '', 'g');
        create temp table accounts as
        select
            crm.customer_ref,
            crm.person,
            crm.email,
            crm.phone,
            upper(regexp_replace(source."Mailing Zip/Postal Code", '[^0-9A-Za-z]', '', 'g'))
                as postcode,
            source."First Name" || ' ' || source."Last Name" as full_name,
            name_key(source."First Name") as first_key,
            name_key(source."Last Name") as last_key
        from crm
        join demo_crm_customers as source on crm.customer_ref = source."Account ID";
        create temp table compared as
        select
            planted.kind,
            one.person = other.person as same_person,
            one.email = other.email or one.phone = other.phone as shares_identifier,
            one.full_name = other.full_name as same_spelling,
            least(jaro_winkler_similarity(one.first_key, other.first_key),
                  jaro_winkler_similarity(one.last_key, other.last_key)) as similarity
        from accounts as one
        join accounts as other
            on one.postcode = other.postcode and one.customer_ref < other.customer_ref
        left join planted
            on (one.customer_ref, other.customer_ref) in (
                (planted.first_ref, planted.second_ref), (planted.second_ref, planted.first_ref))
        """
    )
    kinds = con.execute(
        "select kind, count(*), bool_and(same_person), bool_or(coalesce(shares_identifier, false)),"
        " bool_or(same_spelling), min(similarity), max(similarity)"
        " from compared where kind is not null group by kind order by kind"
    ).fetchall()
    fuzzy, look_alike = kinds
    assert fuzzy[:5] == ("fuzzy", len(truths.fuzzy_duplicate_pairs), True, False, False)
    assert fuzzy[5] >= threshold
    assert look_alike[:3] == ("look_alike", len(truths.look_alike_pairs), False)
    assert look_alike[5] >= 0.7 and look_alike[6] < threshold
    # every planted pair was found at one postcode, and nothing else looks alike there
    accidental = con.execute(
        f"select count(*) from compared where kind is null and similarity >= {threshold}"
        " and not same_person"
    ).fetchall()
    assert accidental == [(0,)]


def test_every_reference_in_other_feeds_resolves_to_a_person(
    con: duckdb.DuckDBPyConnection,
) -> None:
    for table, column in (
        ("demo_crm_orders", "Customer ID"),
        ("demo_survey_invitations", "ExternalDataReference"),
        ("demo_survey_responses", "ExternalReference"),
        ("demo_support_tickets", "CRM Customer ID [text]"),
        ("demo_calls", "Customer ID"),
        ("demo_web_sessions", "user_id"),
    ):
        unknown = _scalar(
            con,
            f"""select count(*) from {table}
            where {quote_identifier(column)} is not null
            and {quote_identifier(column)} not in (select customer_ref from ref_person)""",
        )
        assert unknown == 0, table
    assert _scalar(con, "select count(*) from responses where person is null") == 0
    assert _scalar(con, "select count(*) from calls where person is null") == 0
    # identifiers arrive with noise that only normalization removes
    assert (
        _scalar(
            con,
            "select count(*) from responses "
            """where "RecipientEmail" <> lower(trim("RecipientEmail"))""",
        )
        > 0
    )
    phone_shapes = _scalar(
        con,
        """select count(distinct regexp_replace("ANI", '[0-9]', '9', 'g')) from demo_calls""",
    )
    assert phone_shapes >= 4


def test_nps_per_touchpoint_and_headline_survey_numbers(
    con: duckdb.DuckDBPyConnection, world: tuple[Path, DemoTruths]
) -> None:
    truths = world[1]
    rows = con.execute(
        """
        select "Touchpoint", count(*), count(*) filter (nps >= 9), count(*) filter (nps <= 6),
            100.0 * (count(*) filter (nps >= 9) - count(*) filter (nps <= 6)) / count(*)
        from valid_responses group by all
        """
    ).fetchall()
    assert {row[0] for row in rows} == set(truths.nps_by_touchpoint)
    for touchpoint, n, promoters, detractors, nps in rows:
        expected = truths.nps_by_touchpoint[touchpoint]
        assert (n, promoters, detractors) == (
            expected["n"],
            expected["promoters"],
            expected["detractors"],
        )
        assert nps == pytest.approx(expected["nps"])
    assert truths.lowest_nps_touchpoint == "delivery"
    assert truths.nps_by_touchpoint["delivery"]["nps"] < -15
    others = [v["nps"] for tp, v in truths.nps_by_touchpoint.items() if tp != "delivery"]
    assert min(others) > 10
    overall = _scalar(
        con,
        "select 100.0 * (count(*) filter (nps >= 9) - count(*) filter (nps <= 6)) / count(*) "
        "from valid_responses",
    )
    assert overall == pytest.approx(truths.nps)
    bad = _scalar(
        con, "select count(*) from responses where nps is not null and nps not between 0 and 10"
    )
    assert bad == truths.bad_nps_rows == 3
    assert (
        _scalar(
            con, """select count(*) from responses where "Finished" = '0' and "Q_NPS" is not null"""
        )
        == 0
    )
    # the quarantined rows drop out of CSAT and the response rate too
    csat, csat_answers = con.execute(
        """select 100.0 * count(*) filter (csat >= 4) / count(*), count(*) from responses
        where "Finished" = '1' and csat is not null and nps between 0 and 10"""
    ).fetchone()  # type: ignore[misc]
    assert (csat, csat_answers) == (pytest.approx(truths.csat_pct), truths.csat_answers)
    finished = _scalar(
        con, """select count(*) from responses where "Finished" = '1' and nps between 0 and 10"""
    )
    assert finished == truths.finished_responses
    invitations = _scalar(con, "select count(*) from demo_survey_invitations")
    assert invitations == truths.invitations
    assert finished / invitations == pytest.approx(truths.response_rate)
    assert 0.30 <= truths.response_rate <= 0.40


def test_driver_importance_follows_the_planted_weights(
    con: duckdb.DuckDBPyConnection, world: tuple[Path, DemoTruths]
) -> None:
    truths = world[1]
    correlations = {
        attribute: _scalar(
            con,
            f"select corr(cast({quote_identifier(column)} as integer), nps) from valid_responses",
        )
        for attribute, column in DRIVER_COLUMNS.items()
    }
    assert correlations == pytest.approx(dict(truths.driver_correlations), abs=1e-5)
    ranked = sorted(correlations, key=lambda attribute: -correlations[attribute])
    assert tuple(ranked[:4]) == truths.driver_order[:4]
    assert truths.driver_order[:4] == ("wait_time", "staff_knowledge", "reliability", "ease_of_use")
    assert abs(correlations["transparency"]) < 0.1
    driver_cells = _scalar(
        con,
        "select "
        + " + ".join(f"count({quote_identifier(column)})" for column in DRIVER_COLUMNS.values())
        + " from responses where nps is null or nps between 0 and 10",
    )
    assert driver_cells == truths.driver_rating_rows


def test_long_waits_before_a_response_drive_detractors(
    con: duckdb.DuckDBPyConnection, world: tuple[Path, DemoTruths]
) -> None:
    truths = world[1]
    rows = dict(
        con.execute(
            f"""
            select
                exists (
                    select 1 from calls
                    where calls.person = valid_responses.person
                    and calls.wait_seconds > {truths.long_wait_seconds}
                    and calls.started_at between valid_responses.submitted_at - interval 7 day
                        and valid_responses.submitted_at
                ) as after_long_wait,
                [count(*), avg(case when nps <= 6 then 1.0 else 0.0 end)]
            from valid_responses group by all
            """
        ).fetchall()
    )
    assert rows[True][0] == truths.long_wait_answers >= 10
    assert rows[False][0] == truths.other_answers
    assert rows[True][1] == pytest.approx(truths.long_wait_detractor_rate)
    assert rows[False][1] == pytest.approx(truths.other_detractor_rate)
    assert truths.long_wait_detractor_rate > truths.other_detractor_rate + 0.25


def test_recent_detractor_and_low_csat_persons(
    con: duckdb.DuckDBPyConnection, world: tuple[Path, DemoTruths]
) -> None:
    truths = world[1]
    window = (
        f"submitted_at >= timestamp '{truths.as_of}' - interval {truths.recent_window_days} day"
    )
    consenting = """person in (
        select person from crm join demo_crm_customers on customer_ref = "Account ID"
        where "Contact Consent" = 'Yes')"""
    for condition, total, with_consent in (
        (
            "nps <= 6",
            truths.recent_detractor_persons,
            truths.recent_detractor_persons_consenting,
        ),
        (
            "csat <= 2",
            truths.recent_low_csat_persons,
            truths.recent_low_csat_persons_consenting,
        ),
    ):
        where = f"{condition} and {window}"
        assert (
            _scalar(con, f"select count(distinct person) from valid_responses where {where}")
            == total
            > 0
        )
        assert (
            _scalar(
                con,
                "select count(distinct person) from valid_responses "
                f"where {where} and {consenting}",
            )
            == with_consent
            < total
        )
    # no response sits near the window's start, so "now" a few hours later gives the same count
    near_edge = _scalar(
        con,
        f"""select count(*) from responses where submitted_at
        between timestamp '{truths.as_of}' - interval 31 day
        and timestamp '{truths.as_of}' - interval 28 day - interval 1 second""",
    )
    assert near_edge == 0


def test_ticket_times_are_new_york_local_and_match_the_tools_first_reply_minutes(
    con: duckdb.DuckDBPyConnection,
) -> None:
    mismatched, replied = con.execute(
        f"""
        with converted as (
            select
                epoch(timezone('America/New_York', try_strptime("Created at", '{TS}'))) as created,
                epoch(timezone('America/New_York', strptime("First reply at", '{TS}'))) as replied,
                cast("First reply time in minutes" as integer) as tool_minutes
            from demo_support_tickets
            where "First reply at" is not null and try_strptime("Created at", '{TS}') is not null
        )
        select count(*) filter (floor((replied - created) / 60) <> tool_minutes), count(*)
        from converted
        """
    ).fetchone()  # type: ignore[misc]
    # only the repeated hour when clocks fall back is ambiguous in local time
    assert mismatched <= 0.01 * replied
    assert (
        _scalar(
            con,
            """select count(*) from demo_support_tickets
        where "Satisfaction Score" not in ('Good', 'Bad', 'Offered', 'Not Offered')""",
        )
        == 0
    )
    assert (
        _scalar(con, """select count(*) from demo_support_tickets where "First reply at" is null""")
        > 0
    )
    assert (
        _scalar(con, """select count(*) from demo_support_tickets where "Solved at" is null""") > 0
    )


def test_ticket_histories_tell_the_summary_exports_story(
    con: duckdb.DuckDBPyConnection, world: tuple[Path, DemoTruths]
) -> None:
    truths = world[1]
    con.execute(
        f"""
        create or replace temp table histories as
        with events as (
            select
                "Ticket ID" as id,
                strptime("Created at", '{TS}') as event_at,
                row_number() over (order by cast("Audit ID" as bigint), "Event #") as position,
                "Author role" as author,
                "Event type" as kind,
                "Public" as public,
                "Previous value" as before,
                "Value" as after,
                "Via" as via
            from demo_ticket_events
        ),
        messages as (
            select
                *,
                count(*) filter (author = 'end-user') over (partition by id order by position)
                    as customer_messages,
                lag(author) over (partition by id order by position) as previous_author
            from events
            where kind = 'Comment' and public = 'true'
        ),
        answers as (
            select
                id,
                min(event_at) filter (author = 'agent' and customer_messages > 0) as first_reply,
                count(*) filter (author = 'agent' and previous_author = 'end-user') as replies,
                bool_or(author = 'agent' and previous_author = 'agent') as has_burst
            from messages
            group by id
        )
        select
            id,
            min(event_at) filter (kind = 'Create') as created,
            bool_or(kind = 'Create' and author = 'agent') as agent_created,
            bool_or(kind = 'Comment' and public = 'false') as noted,
            max(event_at) filter (kind = 'Change' and after = 'solved') as solved,
            count(*) filter (kind = 'Change' and before = 'solved' and after = 'open') as reopens,
            max(timezone('UTC', timezone('America/New_York', event_at))) as latest_utc,
            any_value(via) as via,
            any_value(answers.first_reply) as first_reply,
            coalesce(any_value(answers.replies), 0) as replies,
            coalesce(any_value(answers.has_burst), false) as has_burst
        from events
        left join answers using (id)
        group by id
        """
    )
    disagreements = con.execute(
        f"""
        select
            count(*),
            count(*) filter (strftime(created, '{TS}') is distinct from tickets."Created at"),
            count(*) filter (first_reply is distinct from strptime("First reply at", '{TS}')),
            count(*) filter (solved is distinct from strptime("Solved at", '{TS}')),
            count(*) filter (histories.reopens <> cast(tickets.reopens as integer)),
            count(*) filter (histories.replies <> cast(tickets.replies as integer))
        from histories
        join demo_support_tickets as tickets on histories.id = tickets."Id"
        """
    ).fetchone()
    assert disagreements == (truths.ticket_histories, 0, 0, 0, 0, 0)
    assert _scalar(con, "select count(*) from histories") == truths.ticket_histories > 100
    assert _scalar(con, "select count(*) filter (agent_created) from histories") == (
        truths.agent_created_tickets
    )
    assert _scalar(con, "select count(*) filter (noted) from histories") == truths.noted_tickets
    latest = _scalar(con, "select max(latest_utc) from histories")
    assert latest < datetime.fromisoformat(truths.as_of)
    vias = con.execute(
        "select agent_created, list(distinct via order by via) from histories group by all"
    ).fetchall()
    assert sorted(vias) == [(False, ["Chat"]), (True, ["Phone call (incoming)"])]
    # every case the event metrics must handle is in the world
    variety = con.execute(
        """select
            count(*) filter (agent_created and first_reply is not null),
            count(*) filter (agent_created and first_reply is null),
            count(*) filter (noted),
            count(*) filter (has_burst),
            count(*) filter (reopens > 0)
        from histories"""
    ).fetchone()
    assert variety is not None and min(variety) > 0, variety


def test_business_clock_counts_new_york_weekday_hours_across_dst_and_holidays() -> None:
    clock = business_clock(date(2025, 12, 1), date(2026, 11, 30))

    def business_minutes(start: str, end: str) -> int:
        moments = np.array(
            [datetime.fromisoformat(f"{at}+00:00").timestamp() for at in (start, end)],
            dtype=np.int64,
        )
        opened, closed = clock.read(moments)
        return int(closed - opened) // 60

    assert business_minutes("2026-03-05 15:00:00", "2026-03-05 16:30:30") == 90  # one day
    assert business_minutes("2026-03-05 21:00:00", "2026-03-06 15:00:00") == 120  # overnight
    # Friday 16:30 EST → Monday 09:45 EDT, over the weekend clocks spring forward
    assert business_minutes("2026-03-06 21:30:00", "2026-03-09 13:45:00") == 75
    # Friday 16:00 EDT → Monday 10:00 EST, over the weekend clocks fall back
    assert business_minutes("2026-10-30 20:00:00", "2026-11-02 15:00:00") == 120
    assert business_minutes("2026-03-07 12:00:00", "2026-03-09 14:00:00") == 60  # from Saturday
    # Christmas Eve 09:00 → 26 Dec 09:00: the seeded holiday counts nothing
    assert business_minutes("2025-12-24 14:00:00", "2025-12-26 14:00:00") == 480


def test_ticket_business_and_resolution_minutes_are_consistent(
    con: duckdb.DuckDBPyConnection,
) -> None:
    row = con.execute(
        """
        with minutes as (
            select
                cast("Reopens" as integer) as reopens,
                "Solved at" is not null as solved,
                cast("First reply time in minutes" as integer) as reply,
                cast("First reply time in minutes within business hours" as integer) as reply_b,
                cast("First resolution time in minutes" as integer) as first_res,
                cast("Full resolution time in minutes" as integer) as full_res,
                cast("Full resolution time in minutes within business hours" as integer)
                    as full_res_b
            from demo_support_tickets
        )
        select
            count(*) filter (reply_b > reply or full_res_b > full_res),
            count(*) filter (solved <> (full_res is not null) or solved <> (first_res is not null)
                or solved <> (full_res_b is not null) or (reply is null) <> (reply_b is null)),
            count(*) filter (reopens = 0 and first_res <> full_res),
            count(*) filter (reopens > 0 and first_res < full_res),
            count(*) filter (reopens > 0 and first_res >= full_res),
            count(*) filter (reply_b < reply)
        from minutes
        """
    ).fetchone()
    assert row is not None
    longer, inconsistent, reopened_differ, reopened_earlier, reopened_later, nights = row
    assert (longer, inconsistent, reopened_differ, reopened_later) == (0, 0, 0, 0)
    assert reopened_earlier > 0 and nights > 0


def test_free_text_and_codes_survive_csv_quoting(con: duckdb.DuckDBPyConnection) -> None:
    comments = [
        row[0]
        for row in con.execute(
            """select distinct "Q_Comment" from demo_survey_responses """
            """where "Q_Comment" is not null"""
        ).fetchall()
    ]
    assert any("\n" in text for text in comments)
    assert any('"' in text for text in comments)
    assert any("," in text for text in comments)
    languages = {
        row[0]
        for row in con.execute(
            """select distinct "UserLanguage" from demo_survey_responses """
            """where "Q_Comment" is not null"""
        ).fetchall()
    }
    assert languages == {"EN", "PT-BR", "ZH-S"}
    assert any("送货" in text for text in comments) and any(
        "atendimento" in text for text in comments
    )
    leading_zero = _scalar(
        con,
        """select count(*) from demo_crm_customers where "Mailing Zip/Postal Code" like '0%'""",
    )
    assert leading_zero > 0
    opted_out = _scalar(
        con,
        """select avg(case when "Contact Consent" = 'No' then 1.0 else 0.0 end) """
        "from demo_crm_customers",
    )
    assert 0.05 < opted_out < 0.15


def test_the_loader_lands_every_row_but_the_planted_bad_ones(
    world: tuple[Path, DemoTruths], feeds: dict[str, Feed], tmp_path: Path
) -> None:
    landing, truths = world
    warehouse = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    report = ingest_landing(warehouse, landing.parent, list(feeds.values()))
    outcomes = {outcome.feed: outcome for outcome in report.files}
    assert set(outcomes) == set(truths.feed_rows)
    for feed, rows in truths.feed_rows.items():
        quarantined = truths.quarantine_rows.get(feed, 0)
        outcome = outcomes[feed]
        assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined) == (
            rows,
            rows - quarantined,
            quarantined,
        ), feed
    assert report.table_rows["survey_driver_ratings"] == truths.driver_rating_rows
    # New York wall-clock times converted to UTC reproduce the tool's own first-reply minutes
    mismatched = _scalar(
        warehouse,
        """select count(*) from raw.support_tickets
        where floor((epoch(first_response_at) - epoch(created_at)) / 60)
            <> source_first_reply_minutes""",
    )
    assert mismatched == 0
    delivery = _scalar(
        warehouse,
        """select 100.0 * (count(*) filter (nps_score >= 9) - count(*) filter (nps_score <= 6))
            / count(*)
        from raw.survey_responses
        where is_finished and nps_score is not null and touchpoint = 'delivery'""",
    )
    assert delivery == pytest.approx(truths.nps_by_touchpoint["delivery"]["nps"])
