"""Analyses computed in Python between dbt marts and the published role tables."""

import dagster as dg

from analytics.key_drivers import build_driver_importance
from ingestion.warehouse import connect
from orchestration.freshness import role_freshness_policy
from orchestration.resources import CxmartHome


@dg.asset(
    key=["manager", "driver_importance"],
    deps=[
        dg.AssetKey(["core", "fct_driver_ratings"]),
        dg.AssetKey(["intermediate", "int_driver_ratings_by_response"]),
    ],
    group_name="manager",
    kinds={"duckdb", "python"},
    pool="warehouse",
    freshness_policy=role_freshness_policy("manager"),
    description=(
        "Key drivers of NPS per touchpoint and quarter: standardized regression on the driver "
        "ratings, R² split by relative weights (analytics/key_drivers.py)."
    ),
)
def driver_importance(cxmart: CxmartHome) -> dg.MaterializeResult:
    con = connect(cxmart.warehouse_path)
    try:
        rows = build_driver_importance(con)
        top = con.execute(
            "select attribute, relative_importance, r_squared from manager.driver_importance "
            "where touchpoint = 'all' and period = 'all' order by importance_rank"
        ).fetchall()
    finally:
        con.close()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "r_squared_all": top[0][2] if top else None,
            "driver_order_all": ", ".join(f"{name} ({share:.0%})" for name, share, _ in top),
        }
    )
