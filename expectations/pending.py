"""Which rows of a raw table still await their suite: those landed since its last pass.

Each passing validation of a raw table is recorded in `ops.raw_validations` with the newest
`_loaded_at` it covered and the digest of the suite that passed. The next refresh validates
only rows landed after that watermark, under the same suite; rows that failed are never
recorded, so they stay pending, and a changed suite makes the whole table pending again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from expectations.suites import RAW_SUITES


@dataclass(frozen=True)
class PendingRows:
    """The rows of one raw table its suite has not passed yet."""

    table: str
    digest: str
    validated_through: datetime | None  # the last passing validation's watermark
    landed_through: datetime | None  # the newest pending row's _loaded_at
    rows: int
    # whether the suite passes a table without rows (TableSuite.passes_when_empty): such a
    # table, when it never received a row, is not validated until rows land
    passes_when_empty: bool = False

    @property
    def where(self) -> str | None:
        """The SQL condition selecting the pending rows; None for the whole table."""
        return _landed_after(self.validated_through)

    @property
    def already_validated(self) -> bool:
        """Nothing to validate: no rows since the last pass, or none ever landed in a table
        whose suite does not ask for any."""
        return self.rows == 0 and (self.validated_through is not None or self.passes_when_empty)


def _landed_after(watermark: datetime | None) -> str | None:
    if watermark is None:
        return None
    return f"_loaded_at > timestamp '{watermark.isoformat(sep=' ')}'"


def pending_rows(con: duckdb.DuckDBPyConnection, table: str) -> PendingRows:
    """The pending rows of `raw.<table>`, read through the warehouse connection `con`."""
    suite = RAW_SUITES[f"raw.{table}"]
    digest = suite.digest
    found = con.execute(
        "select max(validated_through) from ops.raw_validations"
        " where table_name = ? and suite_digest = ?",
        [table, digest],
    ).fetchone()
    validated_through = found[0] if found else None
    where = _landed_after(validated_through)
    landed_through, rows = con.execute(
        f"select max(_loaded_at), count(*) from raw.{table}" + (f" where {where}" if where else "")
    ).fetchone() or (None, 0)
    return PendingRows(
        table, digest, validated_through, landed_through, rows, suite.passes_when_empty
    )


def record_passed(con: duckdb.DuckDBPyConnection, passed: list[PendingRows]) -> None:
    """Move the watermark of each table whose pending rows passed their suite."""
    validated_at = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        (pending.table, pending.digest, pending.landed_through, pending.rows, validated_at)
        for pending in passed
        if pending.landed_through is not None
    ]
    if rows:
        con.executemany("insert into ops.raw_validations values (?, ?, ?, ?, ?)", rows)


def import_in_background() -> None:
    """Start importing Great Expectations (seconds on a small machine) in a thread, so it
    overlaps with work that does not need it; `validate()` then finds it imported."""
    threading.Thread(target=_import_great_expectations, daemon=True).start()


def _import_great_expectations() -> None:
    import great_expectations  # noqa: F401
