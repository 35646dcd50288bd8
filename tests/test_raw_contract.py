"""The dbt sources describe exactly the raw tables ingestion writes (ingestion/entities.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

from ingestion.entities import ENTITIES, LINEAGE_COLUMNS

SOURCES = Path(__file__).parent.parent / "dbt_project/models/staging/raw/_raw__sources.yml"


def test_every_raw_table_and_column_is_declared_as_a_dbt_source() -> None:
    (source,) = yaml.safe_load(SOURCES.read_text())["sources"]
    declared = {table["name"]: [c["name"] for c in table["columns"]] for table in source["tables"]}
    expected = {
        entity.name: [*entity.field_names, *(name for name, _ in LINEAGE_COLUMNS)]
        for entity in ENTITIES.values()
    }
    annotations = {"feedback_sentiment", "feedback_topics"}  # written by ingestion/text/
    assert {name: columns for name, columns in declared.items() if name not in annotations} == (
        expected
    )
    assert set(declared) - set(expected) == annotations


MARTS = Path(__file__).parent.parent / "dbt_project/models/marts"


def test_every_mart_model_has_a_documented_typed_column_list() -> None:
    models = sorted(path.stem for path in MARTS.rglob("*.sql"))
    documented = {}
    for doc in MARTS.rglob("*.yml"):
        for model in yaml.safe_load(doc.read_text()).get("models", []):
            documented[model["name"]] = model
    assert sorted(documented) == models
    for name, model in documented.items():
        assert model.get("description"), name
        for column in model["columns"]:
            assert column.get("description"), f"{name}.{column['name']} has no description"
            assert column.get("data_type"), f"{name}.{column['name']} has no contract type"
