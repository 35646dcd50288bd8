"""Ingestion: every landed file of every declared feed into raw.<entity>, exactly once.

One multi-asset because one pass over the landing folder fills all raw tables in one
transaction per file. Erasure requests are applied right after the load, in the same write
connection, so no later step ever reads a person who asked to be erased. Each raw table
carries a blocking Great Expectations check, so a bad load stops dbt (and publication)
before anything downstream is rebuilt. The check validates the rows landed since the table's
last passing validation (ops.raw_validations): a refresh that lands one day of files
validates that day, and rows that failed are validated again until they pass.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from expectations import ValidationOutcome, held_open, validate
from expectations.pending import (
    PendingRows,
    import_in_background,
    pending_rows,
    record_passed,
)
from ingestion.entities import ENTITIES
from ingestion.erasure import apply_erasures
from ingestion.load import ingest_landing
from ingestion.registry import load_registry
from ingestion.text import annotate_feedback
from ingestion.warehouse import connect
from orchestration.checks import GX_CHECK_NAME, check_result_from_validation
from orchestration.dbt_assets import warm_dbt_for_this_run
from orchestration.resources import CxmartHome

RAW_TABLES: tuple[str, ...] = tuple(ENTITIES)
# derived from the landed verbatims on every refresh (ingestion/text/)
ANNOTATION_TABLES: tuple[str, ...] = ("feedback_sentiment", "feedback_topics")


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


def _validate_pending(cxmart: CxmartHome, pending: PendingRows) -> tuple[dg.AssetCheckResult, bool]:
    """The raw table's check result, and whether its pending rows passed."""
    if pending.already_validated:
        # no rows since the last pass, or none ever (a suite asking for none passes on them)
        through = pending.validated_through
        return (
            dg.AssetCheckResult(
                asset_key=raw_key(pending.table),
                check_name=GX_CHECK_NAME,
                passed=True,
                metadata={
                    "table": f"raw.{pending.table}",
                    "rows_validated": 0,
                    "validated_through": str(through) if through else "no rows landed yet",
                },
            ),
            True,
        )
    outcome: ValidationOutcome = validate(
        cxmart.warehouse_path, f"raw.{pending.table}", where=pending.where
    )
    since = str(pending.validated_through) if pending.validated_through else "the first row"
    result = check_result_from_validation(
        outcome,
        asset_key=raw_key(pending.table),
        check_name=GX_CHECK_NAME,
        extra_metadata={"rows_landed_after": since},
    )
    return result, outcome.success


@dg.multi_asset(
    name="ingest_landing",
    specs=[
        dg.AssetSpec(
            raw_key(table),
            group_name="raw",
            description=f"Landed exports of entity `{table}` (typed, UTC, lineage columns).",
            kinds={"duckdb"},
        )
        for table in RAW_TABLES
    ]
    + [
        dg.AssetSpec(
            raw_key(table),
            group_name="raw",
            description=f"Text analytics of the landed verbatims: {table} (ingestion/text/).",
            kinds={"duckdb"},
        )
        for table in ANNOTATION_TABLES
    ],
    check_specs=[
        dg.AssetCheckSpec(
            GX_CHECK_NAME,
            asset=raw_key(table),
            blocking=True,
            description=f"Great Expectations suite for raw.{table}.",
        )
        for table in RAW_TABLES
    ],
    pool="warehouse",
)
def ingest_landing_asset(context: dg.AssetExecutionContext, cxmart: CxmartHome) -> Iterator[Any]:
    """Load new files from landing/<feed>/ into raw.*, quarantining bad rows and files, then
    erase the people in raw.erasure_requests from every raw table."""
    feeds = load_registry(cxmart.sources_path)
    # while DuckDB loads the files: Great Expectations here, dbt in the next step's process
    import_in_background()
    warm_dbt_for_this_run(context, cxmart.home_path)
    con = connect(cxmart.warehouse_path)
    try:
        report = ingest_landing(con, cxmart.home_path, feeds)
        erasures = apply_erasures(con)
        annotations = annotate_feedback(con)
        pending = [pending_rows(con, table) for table in RAW_TABLES]
    finally:
        con.close()
    for outcome in report.files:
        if outcome.status not in ("loaded", "already_loaded"):
            context.log.warning(
                f"{outcome.feed}/{outcome.file}: {outcome.status} — {outcome.reason}"
            )
    for warning in erasures.warnings():
        context.log.warning(warning)
    for table in RAW_TABLES:
        yield dg.MaterializeResult(
            asset_key=raw_key(table),
            metadata={**report.table_metadata(table), **erasures.table_metadata(table)},
        )
    for table in ANNOTATION_TABLES:
        yield dg.MaterializeResult(asset_key=raw_key(table), metadata=annotations.as_metadata())
    passed: list[PendingRows] = []
    with held_open(cxmart.warehouse_path):
        for rows in pending:
            result, success = _validate_pending(cxmart, rows)
            if success and not rows.already_validated:
                passed.append(rows)
            yield result
    con = connect(cxmart.warehouse_path)
    try:
        record_passed(con, passed)
    finally:
        con.close()
