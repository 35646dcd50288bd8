"""The Definitions load as one connected graph: landing → raw → dbt → role tables → serving."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from orchestration.definitions import defs
from orchestration.jobs import landing_changes

ROLE_TABLES = [
    ["frontline", "followup_queue"],
    ["manager", "touchpoint_performance"],
    ["manager", "driver_importance"],
    ["executive", "cx_scorecard"],
    ["executive", "journey_stage_scores"],
]


def _graph() -> dg.AssetGraph:
    return defs.resolve_asset_graph()


def test_definitions_validate() -> None:
    dg.Definitions.validate_loadable(defs)


def test_role_tables_descend_from_raw_and_feed_serving() -> None:
    graph = _graph()
    serving = dg.AssetKey(["serving", "serving_duckdb"])
    for path in ROLE_TABLES:
        key = dg.AssetKey(path)
        assert dg.AssetKey(["raw", "survey_responses"]) in _ancestors(graph, key)
        assert key in graph.get(serving).parent_keys


def _ancestors(graph: dg.AssetGraph, key: dg.AssetKey) -> set[dg.AssetKey]:
    seen: set[dg.AssetKey] = set()
    frontier = [key]
    while frontier:
        for parent in graph.get(frontier.pop()).parent_keys:
            if parent not in seen:
                seen.add(parent)
                frontier.append(parent)
    return seen


def test_dbt_sources_are_the_ingestion_assets() -> None:
    graph = _graph()
    stg = dg.AssetKey(["staging", "stg_survey__responses"])
    assert dg.AssetKey(["raw", "survey_responses"]) in graph.get(stg).parent_keys
    assert graph.get(dg.AssetKey(["raw", "survey_responses"])).is_materializable


def test_blocking_checks_guard_raw_and_role_tables() -> None:
    graph = _graph()
    check_keys = graph.asset_check_keys
    for path in [["raw", "survey_responses"], *ROLE_TABLES]:
        assert dg.AssetCheckKey(dg.AssetKey(path), "gx_suite") in check_keys
    # dbt tests become asset checks too
    assert any(key.name.startswith("unique_dim_customers") for key in check_keys)


def test_role_tables_carry_their_roles_freshness_policy() -> None:
    graph = _graph()
    # warn once the due refresh is late (cadence + 25 %), fail once a whole one was missed
    expected = {
        "frontline": dg.FreshnessPolicy.time_window(
            fail_window=timedelta(minutes=30), warn_window=timedelta(minutes=18, seconds=45)
        ),
        "manager": dg.FreshnessPolicy.time_window(
            fail_window=timedelta(days=2), warn_window=timedelta(hours=30)
        ),
        "executive": dg.FreshnessPolicy.time_window(
            fail_window=timedelta(days=14), warn_window=timedelta(days=8, hours=18)
        ),
    }
    for path in ROLE_TABLES:
        assert graph.get(dg.AssetKey(path)).freshness_policy == expected[path[0]], path
    # only role tables promise a cadence: the marts and raw tables they come from do not
    for path in [["core", "fct_survey_responses"], ["raw", "survey_responses"]]:
        assert graph.get(dg.AssetKey(path)).freshness_policy is None, path


def test_jobs_schedules_and_sensor() -> None:
    assert {job.name for job in defs.jobs} >= {
        "refresh_everything",
        "refresh_followup_queue",
        "refresh_manager_tables",
        "refresh_executive_scorecard",
    }
    schedules = {schedule.name: schedule for schedule in defs.schedules}
    assert schedules["frontline_schedule"].cron_schedule == "*/15 * * * *"
    assert schedules["manager_schedule"].cron_schedule == "0 6 * * *"
    assert schedules["executive_schedule"].cron_schedule == "0 7 * * 1"
    assert [sensor.name for sensor in defs.sensors] == ["landing_sensor"]


def test_every_warehouse_writer_is_in_the_single_slot_pool() -> None:
    for assets_def in defs.assets:
        assert assets_def.op.pool == "warehouse", assets_def.op.name


def test_landing_changes_sees_only_newer_files(tmp_path) -> None:
    feed = tmp_path / "demo_calls"
    feed.mkdir()
    (feed / "a.csv").write_text("x\n1\n")
    changed, cursor = landing_changes(tmp_path, 0)
    assert changed == ["demo_calls/a.csv"]
    assert landing_changes(tmp_path, cursor) == ([], cursor)
    assert landing_changes(tmp_path / "missing", 0) == ([], 0)


def test_the_dbt_resource_skips_its_start_up_probes_and_still_overrides_them() -> None:
    """CxmartDbtCli replaces two private start-up steps of dagster-dbt's resource; if an
    upgrade renames them, the overrides would silently stop applying, so check both names."""
    import importlib.metadata

    from dagster_dbt import DbtCliResource
    from packaging import version

    from orchestration.dbt_assets import CxmartDbtCli

    for name in ("_cli_version", "_initialize_dbt_core_adapter"):
        assert hasattr(DbtCliResource, name), f"dagster-dbt no longer has {name}"
    resource = defs.resources["dbt"]
    assert isinstance(resource, CxmartDbtCli)
    assert resource._cli_version == version.parse(importlib.metadata.version("dbt-core"))
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_scheduled_runs_execute_their_steps_in_one_process() -> None:
    """Schedules, the sensor and the UI launch runs with the job's own executor (a test's
    execute_in_process always runs in process): a process per step would import Dagster,
    dbt's manifest and Great Expectations again for each of the serialized steps."""
    jobs = [defs.resolve_job_def(job.name) for job in defs.jobs]
    jobs.append(defs.resolve_implicit_global_asset_job_def())  # materializing from the UI
    for job in jobs:
        assert job.executor_def is dg.in_process_executor, job.name
