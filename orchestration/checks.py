"""Great Expectations suites on the role tables (blocking) and reconciliation with the source
tools (warning) as Dagster asset checks."""

from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg

from expectations import ValidationOutcome, held_open, validate
from expectations.reconciliation import (
    RECONCILIATION_TABLE,
    read_reconciliation,
    reconciliation_metadata,
)
from ingestion.serving import ROLE_TABLES
from orchestration.resources import CxmartHome

GX_CHECK_NAME = "gx_suite"


def role_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(table.split("."))


def check_result_from_validation(
    outcome: ValidationOutcome,
    *,
    asset_key: dg.AssetKey,
    check_name: str,
    extra_metadata: Mapping[str, Any] | None = None,
) -> dg.AssetCheckResult:
    """Turn a GX validation into a check result whose metadata says what failed and where."""
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=check_name,
        passed=outcome.success,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={**outcome.as_metadata(), **(extra_metadata or {})},
    )


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            GX_CHECK_NAME,
            asset=role_key(table),
            blocking=True,
            description=f"Great Expectations suite for {table}.",
        )
        for table in ROLE_TABLES
    ],
    can_subset=True,
    pool="warehouse",
)
def role_table_suites(
    context: dg.AssetCheckExecutionContext, cxmart: CxmartHome
) -> Iterator[dg.AssetCheckResult]:
    with held_open(cxmart.warehouse_path):
        for check_key in context.selected_asset_check_keys:
            table = ".".join(check_key.asset_key.path)
            yield check_result_from_validation(
                validate(cxmart.warehouse_path, table),
                asset_key=check_key.asset_key,
                check_name=check_key.name,
            )


# which reconciled metrics speak about which fact (core.metric_reconciliation's metric_name)
RECONCILED_METRICS: dict[str, tuple[str, ...]] = {
    "core.fct_tickets": (
        "first_reply_minutes",
        "first_reply_business_minutes",
        "first_resolution_minutes",
        "full_resolution_minutes",
        "full_resolution_business_minutes",
    ),
    "core.fct_survey_responses": ("nps_group",),
}
RECONCILIATION_CHECK_NAME = "reconciles_with_source"


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            RECONCILIATION_CHECK_NAME,
            asset=role_key(table),
            additional_deps=[role_key(RECONCILIATION_TABLE)],
            blocking=False,
            description=(
                f"How often {table}'s {', '.join(metrics)} differ from the values the source "
                "tools exported, and by how much (warns on any difference)."
            ),
        )
        for table, metrics in RECONCILED_METRICS.items()
    ],
    can_subset=True,
    pool="warehouse",
)
def source_reconciliation(
    context: dg.AssetCheckExecutionContext, cxmart: CxmartHome
) -> Iterator[dg.AssetCheckResult]:
    for check_key in context.selected_asset_check_keys:
        table = ".".join(check_key.asset_key.path)
        rows = read_reconciliation(cxmart.warehouse_path, RECONCILED_METRICS[table])
        yield dg.AssetCheckResult(
            asset_key=check_key.asset_key,
            check_name=check_key.name,
            passed=all(row.agrees for row in rows),
            severity=dg.AssetCheckSeverity.WARN,
            metadata=reconciliation_metadata(rows),
        )
