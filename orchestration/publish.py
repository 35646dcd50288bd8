"""The publish asset: runs only after every upstream model, dbt test and blocking check passed."""

import dagster as dg

from ingestion.serving import publish_serving
from orchestration.checks import ROLE_TABLES, role_key
from orchestration.resources import CxmartHome

CORE_MARTS: tuple[str, ...] = (
    "core.dim_customers",
    "core.fct_survey_responses",
    "core.fct_interactions",
    "core.fct_tickets",
    "core.fct_calls",
    "core.fct_orders",
    "core.metric_reconciliation",
    "core.fct_identity_links",
)

SERVING_KEY = dg.AssetKey(["serving", "serving_duckdb"])


@dg.asset(
    key=SERVING_KEY,
    deps=[role_key(table) for table in (*ROLE_TABLES, *CORE_MARTS)],
    group_name="serving",
    kinds={"duckdb"},
    pool="warehouse",
    description="serving.duckdb, the file BI tools read; swapped in atomically.",
)
def serving_duckdb(context: dg.AssetExecutionContext, cxmart: CxmartHome) -> dg.MaterializeResult:
    report = publish_serving(cxmart.warehouse_path, cxmart.serving_path)
    context.log.info(f"published {len(report.row_counts)} tables to {report.serving_path}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(report.serving_path)),
            "tables": len(report.row_counts),
            **{table: count for table, count in report.row_counts.items() if "." in table},
        }
    )
