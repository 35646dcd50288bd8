"""The project's own generic dbt tests, rendered from their SQL and run on DuckDB tables:
a test returns the rows that fail it, so an empty result is a pass."""

from __future__ import annotations

import re

import duckdb
import jinja2
import pytest

from ingestion.paths import REPO_ROOT

GENERIC_TESTS = REPO_ROOT / "dbt_project" / "tests" / "generic"


def failing_rows(test: str, table: str, **arguments: object) -> list[tuple[object, ...]]:
    """Render the body of `{% test <test>(...) %}` for `table` and run it on a table of
    links made here."""
    source = (GENERIC_TESTS / f"{test}.sql").read_text(encoding="utf-8")
    body = re.search(r"{% test \w+\(.*?\) %}(.*){% endtest %}", source, re.S)
    assert body is not None, f"{test}.sql holds no test block"
    sql = jinja2.Environment().from_string(body.group(1)).render(model=table, **arguments)
    with duckdb.connect() as con:
        con.execute(
            "create table links as select * from (values "
            "('r1', 'email', 'a@x.org', null), "
            "('r1', 'phone', '+15550100', null), "
            "('r2', 'email', 'a@x.org', null), "
            "('r3', 'name_and_postcode', '10115', 'r4'), "
            "('r3', 'name_and_postcode', '10115', 'r5')"
            ") as t(record_id, rule_name, identifier_value, linked_record_id)"
        )
        con.execute(f"create table repeated as from links union all {DUPLICATES}")
        return sorted(con.execute(sql).fetchall(), key=str)


# a link repeated, once with a missing linked record (rows that are equal, nulls included)
DUPLICATES = (
    "select * from (values ('r1', 'email', 'a@x.org', null), "
    "('r3', 'name_and_postcode', '10115', 'r5'), ('r3', 'name_and_postcode', '10115', 'r5')) "
    "as t(record_id, rule_name, identifier_value, linked_record_id)"
)
KEY = ["record_id", "rule_name", "identifier_value", "linked_record_id"]


def test_unique_combination_passes_distinct_combinations() -> None:
    assert failing_rows("unique_combination_of_columns", "links", columns=KEY) == []


def test_unique_combination_reports_each_repeated_combination_with_its_rows() -> None:
    assert failing_rows("unique_combination_of_columns", "repeated", columns=KEY) == [
        ("r1", "email", "a@x.org", None, 2),
        ("r3", "name_and_postcode", "10115", "r5", 3),
    ]


@pytest.mark.parametrize(
    ("columns", "repeated"),
    [
        (["record_id"], {("r1",): 2, ("r3",): 2}),
        (
            ["rule_name", "identifier_value"],
            {("email", "a@x.org"): 2, ("name_and_postcode", "10115"): 2},
        ),
    ],
)
def test_unique_combination_of_fewer_columns(
    columns: list[str], repeated: dict[tuple[str, ...], int]
) -> None:
    rows = failing_rows("unique_combination_of_columns", "links", columns=columns)
    assert {row[:-1]: row[-1] for row in rows} == repeated
