"""How long validate() takes on a million-row raw table. Opt-in: CXMART_BENCH=1 pytest -s ..."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from expectations import validate
from ingestion.warehouse import connect as connect_warehouse

ROWS = 1_000_000
PLANTED_NEGATIVE_WAITS = ROWS // 1_000

pytestmark = pytest.mark.skipif(
    os.environ.get("CXMART_BENCH") != "1", reason="benchmark; set CXMART_BENCH=1 to run"
)


def million_calls(path: Path) -> Path:
    con = connect_warehouse(path)
    try:
        con.execute(
            f"""
            insert into raw.calls (
                call_ref, customer_ref, queue, started_at, wait_seconds, talk_seconds,
                hold_seconds, wrap_seconds, is_abandoned, agent_ref, touchpoint,
                _feed, _source_file, _file_sha256, _row_number, _loaded_at
            )
            select
                'call-' || i, 'customer-' || (i % 50000), 'queue-' || (i % 12),
                timestamp '2024-01-01' + i * interval 3 second,
                case when i % 1000 = 0 then -1 else i % 600 end, i % 900, i % 60, i % 120,
                i % 17 = 0, 'agent-' || (i % 300), 'support',
                'demo_calls', 'demo_calls/calls.csv', 'sha-' || (i // 100000), i + 1,
                timestamp '2024-06-01'
            from range({ROWS}) as numbers(i)
            """
        )
    finally:
        con.close()
    return path


def test_validate_a_million_row_table(tmp_path: Path) -> None:
    warehouse = million_calls(tmp_path / "warehouse.duckdb")
    validate(warehouse, "raw.crm_orders")  # pays the one-off GX import before timing

    started = time.perf_counter()
    outcome = validate(warehouse, "raw.calls")
    elapsed = time.perf_counter() - started

    print(f"\nvalidate(raw.calls, {ROWS:,} rows): {elapsed:.2f}s, {outcome.evaluated} expectations")
    assert outcome.row_count == ROWS
    (failure,) = outcome.failed
    assert (failure.column, failure.unexpected_count) == ("wait_seconds", PLANTED_NEGATIVE_WAITS)
