"""Feed declarations: a valid one parses completely; every kind of mistake is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.registry import BooleanTexts, RegistryError, Scale, load_registry

TICKETS_YAML = """\
name: demo_tickets
family: channel
entity: support_tickets
description: Zendesk-style ticket export
file_pattern: "tickets_*.csv"
format: csv
csv: {delimiter: ";", quote: '"'}
encoding: utf-8-sig
timezone: America/New_York
timestamp_format: "%Y-%m-%d %H:%M:%S"
columns:
  ticket_ref: Id
  created_at: Created at
  requester_email: Requester email
  reopen_count: Reopens
  satisfaction: Satisfaction Score
values:
  satisfaction: {Good: good, Bad: bad, Offered: offered, "Not Offered": unoffered, Yes: good}
on_redelivery: replace
"""

SURVEY_YAML = """\
name: demo_survey
family: survey
entity: survey_responses
columns:
  response_ref: ResponseId
  submitted_at: RecordedDate
  nps_score: Q1
  ces_score: Q3
  is_finished: Finished
booleans:
  is_finished: {true: ["Yes", "1"], false: [No, "0"]}
scales:
  nps_score: {min: 0, max: 10}
  ces_score: {min: 1, max: 7, polarity: higher_is_easier}
drivers:
  scale: {min: 1, max: 5}
  columns: {wait_time: Q5_1, staff_knowledge: "Q5 2"}
"""


def _registry(tmp_path: Path, **documents: str) -> Path:
    folder = tmp_path / "sources"
    folder.mkdir(exist_ok=True)
    for file_name, text in documents.items():
        (folder / file_name.replace("__", ".")).write_text(text, encoding="utf-8")
    return folder


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(RegistryError) as raised:
        load_registry(_registry(tmp_path, feed__yml=text))
    return str(raised.value)


def test_full_declarations_parse(tmp_path: Path) -> None:
    feeds = load_registry(_registry(tmp_path, tickets__yml=TICKETS_YAML, survey__yaml=SURVEY_YAML))

    assert [feed.name for feed in feeds] == ["demo_survey", "demo_tickets"]
    survey, tickets = feeds
    assert tickets.csv.delimiter == ";"
    assert tickets.encoding == "utf-8-sig"
    assert tickets.timestamp_formats == ("%Y-%m-%d %H:%M:%S",)
    assert tickets.columns["created_at"] == "Created at"
    # YAML's Yes stays the export text "Yes", not a boolean
    assert tickets.values["satisfaction"]["Yes"] == "good"
    assert tickets.on_redelivery == "replace"
    assert survey.format == "csv" and survey.file_pattern == "*.csv"
    assert survey.timezone == "UTC"
    assert survey.booleans["is_finished"] == BooleanTexts(true=("yes", "1"), false=("no", "0"))
    assert survey.scales["ces_score"] == Scale(min=1, max=7, polarity="higher_is_easier")
    assert survey.drivers is not None
    assert survey.drivers.scale == Scale(min=1, max=5)
    assert dict(survey.drivers.columns) == {"wait_time": "Q5_1", "staff_knowledge": "Q5 2"}
    assert survey.boolean_texts("is_finished").true == ("yes", "1")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "columns:\n",
            "colums: {}\ncolumns:\n",
            "feed.yml: colums: unknown key; allowed: name, family, entity,",
        ),
        (
            "entity: support_tickets",
            "entity: tickets",
            "entity: 'tickets' is not a canonical entity; allowed: crm_customers, crm_orders",
        ),
        (
            "family: channel",
            "family: crm",
            "family: 'crm' does not match entity support_tickets, "
            "which belongs to family 'channel'",
        ),
        (
            "ticket_ref: Id",
            "ticket_ref: Id\n  ticket_id: Ticket",
            "columns.ticket_id: 'ticket_id' is not a field of entity support_tickets; "
            "allowed: ticket_ref, customer_ref, requester_email",
        ),
        (
            "  created_at: Created at\n",
            "",
            "columns: required field(s) of entity support_tickets not mapped: created_at",
        ),
        (
            "format: csv",
            "format: sav",
            "format: 'sav' is not allowed; allowed: csv, tsv, ndjson, parquet, xlsx, xls",
        ),
        ("encoding: utf-8-sig", "encoding: klingon", "encoding: 'klingon' is not a known encoding"),
        (
            "on_redelivery: replace",
            "on_redelivery: merge",
            "on_redelivery: 'merge' is not allowed; allowed: append, replace",
        ),
        (
            "timezone: America/New_York",
            "timezone: Mars/Olympus_Mons",
            "timezone: 'Mars/Olympus_Mons' is not an IANA time zone",
        ),
        (
            'timestamp_format: "%Y-%m-%d %H:%M:%S"',
            'timestamp_format: "%Y-%Q"',
            "timestamp_format: '%Y-%Q' is not a valid format",
        ),
        (
            "on_redelivery: replace",
            "drivers: {scale: {min: 1, max: 5}, columns: {wait_time: Q5}}",
            "drivers: drivers apply to entity survey_responses only, not support_tickets",
        ),
        (
            "on_redelivery: replace",
            "scales: {satisfaction: {min: 1, max: 5}}",
            "scales.satisfaction: scales apply to integer fields only; satisfaction is varchar",
        ),
        (
            "on_redelivery: replace",
            "scales: {reopen_count: {min: 5, max: 5}}",
            "scales.reopen_count: min must be below max, got min=5, max=5",
        ),
        (
            "on_redelivery: replace",
            "scales: {reopen_count: {min: 0, max: 5, polarity: up}}",
            "scales.reopen_count.polarity: 'up' is not allowed; allowed: higher_is_better",
        ),
        (
            "on_redelivery: replace",
            "booleans: {satisfaction: {true: [a], false: [b]}}",
            "booleans.satisfaction: satisfaction is not a boolean field",
        ),
        (
            'csv: {delimiter: ";", quote: \'"\'}',
            'csv: {delimiter: ";;"}',
            "csv.delimiter: expected exactly one character, got ';;'",
        ),
        ("name: demo_tickets", "name: Demo Tickets", "name: 'Demo Tickets' is not allowed"),
        ("  reopen_count: Reopens\n", "  reopen_count: Reopens\n  reopen_count: X\n", "duplicate"),
    ],
)
def test_each_mistake_is_named(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in TICKETS_YAML
    message = _error(tmp_path, TICKETS_YAML.replace(old, new))
    assert expected in message


def test_all_mistakes_of_a_file_are_reported_together(tmp_path: Path) -> None:
    text = TICKETS_YAML.replace("format: csv", "format: sav").replace(
        "timezone: America/New_York", "timezone: Nowhere"
    )
    message = _error(tmp_path, text)
    assert "format: 'sav' is not allowed" in message
    assert "timezone: 'Nowhere' is not an IANA time zone" in message


def test_duplicate_feed_names_name_both_files(tmp_path: Path) -> None:
    folder = _registry(tmp_path, a__yml=TICKETS_YAML, b__yml=TICKETS_YAML)
    with pytest.raises(
        RegistryError, match=r"b\.yml: name: feed 'demo_tickets' is already declared in .*/a\.yml"
    ):
        load_registry(folder)


def test_missing_registry_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="source registry folder not found"):
        load_registry(tmp_path / "nowhere")


def test_constants_fill_a_field_for_every_row_and_are_validated(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.mkdir()
    (good / "reviews.yml").write_text(
        "name: reviews\nfamily: survey\nentity: survey_responses\n"
        "columns: {response_ref: id, submitted_at: at}\n"
        "constants: {touchpoint: delivery, language: pt}\n"
    )
    (feed,) = load_registry(good)
    assert dict(feed.constants) == {"touchpoint": "delivery", "language": "pt"}

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "reviews.yml").write_text(
        "name: reviews\nfamily: survey\nentity: survey_responses\n"
        "columns: {response_ref: id, submitted_at: at, touchpoint: tp}\n"
        "constants: {touchpoint: delivery, colour: blue}\n"
    )
    with pytest.raises(RegistryError) as error:
        load_registry(bad)
    message = str(error.value)
    assert "constants.touchpoint: the field is already mapped under columns" in message
    assert "constants.colour: 'colour' is not a field of entity survey_responses" in message


def test_an_id_can_be_composed_of_several_columns(tmp_path: Path) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "payments.yml").write_text(
        "name: payments\nfamily: crm\nentity: crm_payments\n"
        "columns: {payment_ref: [order_id, seq], order_ref: order_id, paid_amount: value}\n"
    )
    (feed,) = load_registry(folder)
    assert feed.columns["payment_ref"] == "order_id"
    assert dict(feed.key_parts) == {"payment_ref": ("order_id", "seq")}

    (folder / "payments.yml").write_text(
        "name: payments\nfamily: crm\nentity: crm_payments\n"
        "columns: {payment_ref: [order_id], order_ref: order_id, paid_amount: [a, b]}\n"
    )
    with pytest.raises(RegistryError) as error:
        load_registry(folder)
    assert "columns.payment_ref: a list of source columns needs at least two" in str(error.value)
    assert "columns.paid_amount: only text id fields can be built" in str(error.value)
