"""The suite registry: every raw and role table has a suite naming only real columns."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from expectations import (
    RAW_SUITES,
    ROLE_SUITES,
    Between,
    Check,
    InSet,
    NotLessThan,
    NotNull,
    RowCountAtLeast,
    Unique,
    UniqueTogether,
    suite_for,
)
from expectations.checks import to_expectation
from ingestion.entities import ENTITIES, LINEAGE_COLUMNS

REPO = Path(__file__).resolve().parents[2]
ROLE_MODEL_DOCS = {
    "frontline.followup_queue": "frontline/followup_queue.yml",
    "manager.touchpoint_performance": "manager/touchpoint_performance.yml",
    "manager.driver_importance": "manager/_manager__sources.yml",
    "executive.cx_scorecard": "executive/cx_scorecard.yml",
    "executive.journey_stage_scores": "executive/journey_stage_scores.yml",
}


def check_columns(check: Check) -> set[str]:
    match check:
        case RowCountAtLeast():
            return set()
        case UniqueTogether(columns=columns):
            return set(columns)
        case NotLessThan(column=column, other=other):
            return {column, other}
        case _:
            return {check.column}


def documented_columns(model_doc: str) -> set[str]:
    document = yaml.safe_load((REPO / "dbt_project/models/marts" / model_doc).read_text())
    if "sources" in document:  # a table computed outside dbt, documented as a source
        (source,) = document["sources"]
        (model,) = source["tables"]
    else:
        (model,) = document["models"]
    return {column["name"] for column in model["columns"]}


def test_every_raw_entity_and_role_table_has_a_suite() -> None:
    assert set(RAW_SUITES) == {f"raw.{name}" for name in ENTITIES}
    assert set(ROLE_SUITES) == set(ROLE_MODEL_DOCS)
    assert suite_for("raw.calls") is RAW_SUITES["raw.calls"]


def test_unknown_table_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"raw\.nope.*raw\.calls"):
        suite_for("raw.nope")


@pytest.mark.parametrize("table", sorted(RAW_SUITES))
def test_raw_suites_name_only_raw_columns(table: str) -> None:
    entity = ENTITIES[table.removeprefix("raw.")]
    raw_columns = set(entity.field_names) | {name for name, _ in LINEAGE_COLUMNS}
    used = set().union(*(check_columns(check) for check in RAW_SUITES[table].checks))
    assert used <= raw_columns, used - raw_columns


@pytest.mark.parametrize("table", sorted(ROLE_SUITES))
def test_role_suites_name_only_documented_model_columns(table: str) -> None:
    documented = documented_columns(ROLE_MODEL_DOCS[table])
    used = set().union(*(check_columns(check) for check in ROLE_SUITES[table].checks))
    assert used <= documented, used - documented


def test_raw_key_rules() -> None:
    tickets = RAW_SUITES["raw.support_tickets"].checks
    # An entity a deployment does not use (or whose only file was quarantined) is empty.
    assert RowCountAtLeast(0) in tickets
    assert NotNull("ticket_ref") in tickets
    # Raw keeps every landed row as delivered; each is stored once.
    assert UniqueTogether(("_file_sha256", "_row_number")) in tickets
    ratings = RAW_SUITES["raw.survey_driver_ratings"].checks
    assert UniqueTogether(("_file_sha256", "_row_number", "attribute")) in ratings
    assert {NotNull("response_ref"), NotNull("attribute")} <= set(ratings)
    for suite in RAW_SUITES.values():
        assert NotNull("_file_sha256") in suite.checks
        assert NotNull("_extra") not in suite.checks


def test_raw_domains() -> None:
    responses = RAW_SUITES["raw.survey_responses"].checks
    assert Between("nps_score", 0, 10) in responses
    assert Between("csat_score", 1, 5) in responses
    assert Between("ces_score", 1, 7) in responses
    assert Between("rating", 1, 10) in RAW_SUITES["raw.survey_driver_ratings"].checks
    tickets = RAW_SUITES["raw.support_tickets"].checks
    assert InSet("priority", ("low", "normal", "high", "urgent")) in tickets
    assert InSet("satisfaction", ("good", "bad", "offered", "unoffered")) in tickets
    assert Between("wait_seconds", min_value=0) in RAW_SUITES["raw.calls"].checks


def test_followup_queue_rules() -> None:
    checks = ROLE_SUITES["frontline.followup_queue"].checks
    assert Unique("case_id") in checks
    # closed cases of a customer and reason may repeat: "one open case" is a dbt test
    assert UniqueTogether(("customer_id", "reason")) not in checks
    assert NotNull("owner_team") in checks
    assert NotLessThan("due_at", "opened_at") in checks
    assert Between("priority_score", 0, 100) in checks
    assert InSet("status", ("open", "closed")) in checks


def test_checks_become_gx_expectations() -> None:
    import great_expectations.expectations as gxe

    expectations = suite_for("frontline.followup_queue").expectations()
    types = {expectation.expectation_type for expectation in expectations}
    performance = suite_for("manager.touchpoint_performance").expectations()
    types |= {expectation.expectation_type for expectation in performance}
    assert {
        "expect_table_row_count_to_be_between",
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "expect_column_values_to_be_in_set",
    } <= types
    pair = to_expectation(NotLessThan("due_at", "opened_at"))
    assert isinstance(pair, gxe.ExpectColumnPairValuesAToBeGreaterThanB)
    assert (pair.column_A, pair.column_B, pair.or_equal) == ("due_at", "opened_at", True)


def test_importing_the_package_does_not_load_great_expectations() -> None:
    probe = "import sys, expectations; print('great_expectations' in sys.modules)"
    completed = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "False"
