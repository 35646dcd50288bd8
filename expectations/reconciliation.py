"""Reconciliation with the source tools: read `core.metric_reconciliation` for some metrics.

The dbt model does the counting; this module turns its rows into something a person reads in
the Dagster UI ("first_reply_minutes on demo_support_tickets: 3 of 4,210 differ, max 1").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

RECONCILIATION_TABLE = "core.metric_reconciliation"


@dataclass(frozen=True)
class Reconciliation:
    metric_name: str
    feed: str
    records_compared: int
    records_differing: int
    differing_pct: float | None
    records_missing_ours: int
    records_missing_source: int
    mean_abs_difference: float | None
    max_abs_difference: float | None

    @property
    def agrees(self) -> bool:
        return self.records_differing == 0

    def describe(self) -> str:
        text = (
            f"{self.metric_name} on {self.feed}: {self.records_differing:,} of "
            f"{self.records_compared:,} records differ from the tool's value"
        )
        if self.records_differing:
            text += f" ({self.differing_pct:.2f} %"
            if self.max_abs_difference is not None:
                text += f", mean {self.mean_abs_difference:.1f}, max {self.max_abs_difference:g}"
            text += ")"
        if self.records_missing_ours:
            text += f"; {self.records_missing_ours:,} exported values have no cxmart value"
        return text


def read_reconciliation(db_path: Path, metric_names: tuple[str, ...]) -> list[Reconciliation]:
    """Rows of the reconciliation table for these metrics (none when it was never built)."""
    connection = duckdb.connect(str(db_path), read_only=True)
    try:
        exists = connection.execute(
            "select count(*) from duckdb_tables()"
            " where schema_name = 'core' and table_name = 'metric_reconciliation'"
        ).fetchone()
        if not exists or not exists[0]:
            return []
        rows = connection.execute(
            "select metric_name, feed, records_compared, records_differing, differing_pct,"
            " records_missing_ours, records_missing_source, mean_abs_difference,"
            f" max_abs_difference from {RECONCILIATION_TABLE}"
            " where list_contains($metrics, metric_name) order by metric_name, feed",
            {"metrics": list(metric_names)},
        ).fetchall()
    finally:
        connection.close()
    return [
        Reconciliation(
            metric_name=row[0],
            feed=row[1],
            records_compared=int(row[2]),
            records_differing=int(row[3]),
            differing_pct=_float_or_none(row[4]),
            records_missing_ours=int(row[5]),
            records_missing_source=int(row[6]),
            mean_abs_difference=_float_or_none(row[7]),
            max_abs_difference=_float_or_none(row[8]),
        )
        for row in rows
    ]


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def reconciliation_metadata(rows: list[Reconciliation]) -> dict[str, Any]:
    """Check metadata: one line per metric and feed, plus the totals."""
    return {
        "records_compared": sum(row.records_compared for row in rows),
        "records_differing": sum(row.records_differing for row in rows),
        "findings": "\n".join(row.describe() for row in rows) or "no exported values to compare",
        **{f"{row.metric_name} · {row.feed}": row.differing_pct or 0.0 for row in rows},
    }
