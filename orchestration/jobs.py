"""Jobs named after what they refresh, their schedules, and the landing-folder sensor."""

import hashlib
import os
from collections.abc import Iterator

import dagster as dg

from ingestion import paths
from orchestration.checks import role_key
from orchestration.publish import SERVING_KEY

PUBLISH = dg.AssetSelection.assets(SERVING_KEY)


def _refresh_of(*tables: str) -> dg.AssetSelection:
    """Everything upstream of the tables (ingestion included), then publication."""
    upstream = dg.AssetSelection.assets(*(role_key(table) for table in tables)).upstream()
    # ingestion loads every raw table in one pass: select all of it
    return upstream.required_multi_asset_neighbors() | PUBLISH


refresh_everything = dg.define_asset_job(
    "refresh_everything",
    selection=dg.AssetSelection.all(),
    description="Ingest new files, rebuild and test the whole mart, validate, publish.",
)
refresh_followup_queue = dg.define_asset_job(
    "refresh_followup_queue",
    selection=_refresh_of("frontline.followup_queue"),
    description="Frontline: ingest and rebuild the closed-loop follow-up queue, then publish.",
)
refresh_manager_tables = dg.define_asset_job(
    "refresh_manager_tables",
    selection=_refresh_of("manager.touchpoint_performance", "manager.driver_importance"),
    description="Managers: touchpoint performance and driver importance, then publish.",
)
refresh_executive_scorecard = dg.define_asset_job(
    "refresh_executive_scorecard",
    selection=_refresh_of("executive.cx_scorecard", "executive.journey_stage_scores"),
    description="Executives: the monthly CX scorecard and journey-stage NPS, then publish.",
)

ROLE_CADENCES = {
    # job, cron setting, default cadence (the role tables' freshness windows follow these
    # cadences: orchestration/freshness.py)
    "frontline": (refresh_followup_queue, "CXMART_FRONTLINE_CRON", "*/15 * * * *"),
    "manager": (refresh_manager_tables, "CXMART_MANAGER_CRON", "0 6 * * *"),
    "executive": (refresh_executive_scorecard, "CXMART_EXECUTIVE_CRON", "0 7 * * 1"),
}


def role_schedules() -> list[dg.ScheduleDefinition]:
    """One schedule per role; cadences are deployment settings (see .env.example)."""
    timezone = os.environ.get("CXMART_TIMEZONE", "UTC")
    return [
        dg.ScheduleDefinition(
            name=f"{role}_schedule",
            job=job,
            cron_schedule=os.environ.get(setting, default),
            execution_timezone=timezone,
            default_status=dg.DefaultScheduleStatus.STOPPED,
        )
        for role, (job, setting, default) in ROLE_CADENCES.items()
    ]


def landing_changes(landing: os.PathLike[str] | str, after_mtime_ns: int) -> tuple[list[str], int]:
    """Files under the landing folder modified after the cursor, and the new cursor.

    Reads only the file system: the sensor must never open the warehouse (one writer).
    """
    newest = after_mtime_ns
    changed: list[str] = []
    root = os.fspath(landing)
    if not os.path.isdir(root):
        return changed, newest
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            mtime_ns = os.stat(path).st_mtime_ns
            if mtime_ns > after_mtime_ns:
                changed.append(os.path.relpath(path, root))
                newest = max(newest, mtime_ns)
    return sorted(changed), newest


@dg.sensor(
    name="landing_sensor",
    job=refresh_everything,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts a full refresh when new files land in $CXMART_HOME/landing/.",
)
def landing_sensor(context: dg.SensorEvaluationContext) -> Iterator[dg.RunRequest | dg.SkipReason]:
    cursor = int(context.cursor or 0)
    changed, newest = landing_changes(paths.landing_dir(paths.cxmart_home()), cursor)
    if not changed:
        yield dg.SkipReason("no new files in the landing folder")
        return
    context.update_cursor(str(newest))
    digest = hashlib.sha256("\n".join(changed).encode()).hexdigest()[:16]
    yield dg.RunRequest(
        run_key=f"landing-{newest}-{digest}", tags={"cxmart/new_files": str(len(changed))}
    )
