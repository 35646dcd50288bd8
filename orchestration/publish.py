"""The publish asset: runs only after every upstream model, dbt test and blocking check passed."""

from datetime import UTC, datetime

import dagster as dg
import duckdb

from ingestion import compaction, paths
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
    kinds={"duckdb", "parquet"},
    pool="warehouse",
    description=(
        "serving.duckdb, the file BI tools read; swapped in atomically. The role tables also "
        "as Parquet files (serving_parquet/<schema>/<table>.parquet) unless "
        "CXMART_PUBLISH_PARQUET is off. Every CXMART_COMPACTION_DAYS (default 7), then "
        "compacts the serving standby (DuckDB's vacuum, which publications defer)."
    ),
)
def serving_duckdb(context: dg.AssetExecutionContext, cxmart: CxmartHome) -> dg.MaterializeResult:
    parquet_dir = cxmart.parquet_path
    compaction_days = paths.compaction_days()  # a bad setting fails before anything is written
    report = publish_serving(cxmart.warehouse_path, cxmart.serving_path, parquet_dir=parquet_dir)
    context.log.info(
        f"published {len(report.row_counts)} tables to {report.serving_path} "
        f"(started from: {report.started_from}): {len(report.copied) - len(report.patched)} "
        f"copied whole, {len(report.patched)} patched with the rows built since, the others kept"
    )
    # after the swap: the published numbers never wait for a compaction
    now = datetime.now(UTC).replace(tzinfo=None)
    compaction_metadata: dict[str, object] = {"compacted": False}
    if compaction.compaction_due(cxmart.warehouse_path, now, compaction_days):
        try:
            compacted = compaction.compact(cxmart.warehouse_path, cxmart.serving_path, now)
        except (duckdb.Error, OSError) as error:
            # what is published stands; an uncompacted file is only slower to scan, and the
            # next refresh tries again (the last compaction is still as old)
            context.log.warning(f"compaction failed, to be retried by the next refresh: {error}")
            compaction_metadata = {"compacted": False, "compaction_error": str(error)}
        else:
            context.log.info(
                f"compaction of the serving standby: {compacted.standby}; the warehouse "
                f"vacuumed in {compacted.warehouse_seconds:.1f} s"
            )
            compaction_metadata = {
                "compacted": True,
                "standby_compacted": compacted.standby,
                "warehouse_vacuum_seconds": compacted.warehouse_seconds,
            }
            if compacted.seconds is not None:
                compaction_metadata["compaction_seconds"] = compacted.seconds
    parquet_metadata = (
        {
            "parquet_dir": dg.MetadataValue.path(str(parquet_dir)),
            "parquet_files": len(report.parquet_files),
        }
        if parquet_dir is not None
        else {}
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(report.serving_path)),
            "tables": len(report.row_counts),
            # standby (the file published before the last one), copy (of the last one), new
            "started_from": report.started_from,
            "tables_copied_whole": len(report.copied) - len(report.patched),
            "tables_patched": len(report.patched),
            "rows_patched": sum(report.patched.values()),
            **parquet_metadata,
            **compaction_metadata,
            **{table: count for table, count in report.row_counts.items() if "." in table},
        }
    )
