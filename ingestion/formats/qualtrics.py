"""Qualtrics response exports.

Current exports (since 2017) carry three header rows: (1) export tags such as `StartDate`,
`Q1`, `Q3_4`; (2) the question text, localized, so never a key; (3) one JSON object per
column, `{"ImportId":"QID1"}`, which survives renamed export tags. Legacy exports carry two:
`V1…V10` for the metadata with their names in row 2, then the question tags. Preview
responses (`Status` 1 / "Survey Preview") are not real answers and are dropped.
"""

from __future__ import annotations

import json
import re

from ingestion.formats.layout import Declaration, Layout

PREVIEW_STATUS: list[str] = ["1", "Survey Preview"]
LEGACY_METADATA_TAG = re.compile(r"V[0-9]+")


def _current_defaults(declared: Declaration) -> dict[str, object]:
    # Keyed on ImportIds the status column is `status`; keyed on export tags, `Status`.
    status = "status" if declared.get("key_row") == "import_id" else "Status"
    return {
        "header_rows": 3,
        "key_row": 1,
        "encoding": "auto",
        "drop_rows_where": {status: PREVIEW_STATUS},
    }


def _legacy_defaults(declared: Declaration) -> dict[str, object]:
    return {
        "header_rows": 2,
        "key_row": "qualtrics_legacy",
        "encoding": "auto",
        "drop_rows_where": {"Status": PREVIEW_STATUS},
    }


QUALTRICS = Layout(
    name="qualtrics",
    description="Qualtrics response export: 3 header rows, keyed on row 1 (or import_id)",
    formats=("csv", "tsv"),
    defaults=_current_defaults,
)
QUALTRICS_LEGACY = Layout(
    name="qualtrics_legacy",
    description="Qualtrics legacy export (before 2017): V1…V10 + descriptions",
    formats=("csv", "tsv"),
    defaults=_legacy_defaults,
)


def import_id_keys(header: list[list[str]]) -> list[str]:
    """Keys from the last header row's `{"ImportId": …}`; a cell without one keeps row 1."""
    tags, import_ids = header[0], header[-1]
    keys: list[str] = []
    for position, tag in enumerate(tags):
        cell = import_ids[position] if position < len(import_ids) else ""
        try:
            document = json.loads(cell)
        except ValueError:
            document = None
        import_id = document.get("ImportId") if isinstance(document, dict) else None
        keys.append(import_id if isinstance(import_id, str) and import_id else tag)
    return keys


def legacy_keys(header: list[list[str]]) -> list[str]:
    """Row 1, except the `V#` metadata tags, which take their name from row 2."""
    tags, names = header[0], header[1]
    return [
        names[position] if LEGACY_METADATA_TAG.fullmatch(tag) and position < len(names) else tag
        for position, tag in enumerate(tags)
    ]
