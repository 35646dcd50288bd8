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
    assert declared == expected
