"""Every known layout, and how a layout's defaults fill a feed declaration."""

from __future__ import annotations

from typing import Any

from ingestion.formats.layout import Layout
from ingestion.formats.qualtrics import QUALTRICS, QUALTRICS_LEGACY
from ingestion.formats.salesforce import SALESFORCE_REPORT
from ingestion.formats.surveymonkey import SURVEYMONKEY
from ingestion.formats.wenjuanxing import WENJUANXING_CODE, WENJUANXING_TEXT
from ingestion.formats.zendesk import ZENDESK

LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        QUALTRICS,
        QUALTRICS_LEGACY,
        SURVEYMONKEY,
        ZENDESK,
        SALESFORCE_REPORT,
        WENJUANXING_TEXT,
        WENJUANXING_CODE,
    )
}


def with_layout_defaults(document: dict[Any, Any], layout: Layout) -> dict[Any, Any]:
    """The declaration with the layout's defaults under every key it does not declare.

    Layout value mappings apply to the fields the feed maps; a mapping the feed declares for
    a field replaces the layout's for that field.
    """
    filled = dict(document)
    if "format" not in filled:
        filled["format"] = layout.formats[0]
    for key, default in layout.defaults(document).items():
        filled.setdefault(key, default)
    columns, declared_values = document.get("columns"), document.get("values")
    if layout.values and isinstance(columns, dict) and isinstance(declared_values, dict | None):
        values = {
            field_name: dict(mapping)
            for field_name, mapping in layout.values.items()
            if field_name in columns
        }
        values.update(declared_values or {})
        if values:
            filled["values"] = values
    return filled
