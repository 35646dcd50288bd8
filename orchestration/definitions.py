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
    # Every step that touches warehouse.duckdb holds the pool "warehouse", so the steps of a
    # run go one at a time. Dagster's default executor would still start a process per step,
    # each importing Dagster, the dbt manifest and Great Expectations again: 5-7 s a step on
    # this machine (`dagster job execute -j refresh_everything`: 76 s instead of 31 s on the
    # demo world with nothing new, 143 s instead of 104 s for a day at SF10). In one process
    # the steps still take the pool's slot from the instance: two runs never hold the
    # warehouse at once.
    executor=dg.in_process_executor,
)
