"""The table of contents: every asset, check, resource, job, schedule and sensor of cxmart."""

from __future__ import annotations

import dagster as dg

from orchestration.analytics_assets import driver_importance
from orchestration.checks import role_table_suites, source_reconciliation
from orchestration.dbt_assets import DBT_EXECUTABLE, CxmartDbtCli, cxmart_dbt_models, dbt_project
from orchestration.ingest_assets import ingest_landing_asset
from orchestration.jobs import (
    landing_sensor,
    refresh_everything,
    refresh_executive_scorecard,
    refresh_followup_queue,
    refresh_manager_tables,
    role_schedules,
)
from orchestration.publish import serving_duckdb
from orchestration.resources import CxmartHome

defs = dg.Definitions(
    assets=[ingest_landing_asset, cxmart_dbt_models, driver_importance, serving_duckdb],
    asset_checks=[role_table_suites, source_reconciliation],
    jobs=[
        refresh_everything,
        refresh_followup_queue,
        refresh_manager_tables,
        refresh_executive_scorecard,
    ],
    schedules=role_schedules(),
    sensors=[landing_sensor],
    resources={
        "dbt": CxmartDbtCli(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
        "cxmart": CxmartHome(),
    },
)
