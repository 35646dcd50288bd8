"""`make run`: demo data if the landing folder is empty, one full refresh, a summary."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

import dagster as dg

from ingestion import paths
from ingestion.demo import generate_demo_world
from ingestion.serving import summarize_serving


def _landing_is_empty(landing: os.PathLike[str]) -> bool:
    return not any(path.is_file() for path in paths.Path(landing).rglob("*"))


def _failure_report(result: dg.ExecuteInProcessResult) -> str:
    lines = ["Refresh failed; serving.duckdb was not replaced."]
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            lines.append(f"  step {event.step_key} failed: {event.message}")
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if evaluation is not None and not evaluation.passed:  # type: ignore[union-attr]
                lines.append(f"  check {evaluation.asset_check_key.to_user_string()} failed")  # type: ignore[union-attr]
    return "\n".join(lines)


def refresh(job_name: str) -> int:
    home = paths.cxmart_home()
    landing = paths.landing_dir(home)
    if _landing_is_empty(landing):
        scale = float(os.environ.get("CXMART_DEMO_SCALE", "1"))
        print(f"{landing} is empty: generating the demo world (scale {scale:g})")
        generate_demo_world(landing, scale=scale)
    from orchestration.definitions import defs

    instance = (
        dg.DagsterInstance.get()
        if os.environ.get("DAGSTER_HOME")
        else dg.DagsterInstance.ephemeral()
    )
    log_path = home / "logs" / "last_refresh.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"Refreshing {home} (job {job_name}); dbt's log: {log_path}")
    # dbt's own progress lines go to the log file; the terminal gets warnings and the summary
    with log_path.open("w") as log, contextlib.redirect_stdout(log):
        result = defs.resolve_job_def(job_name).execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
    if not result.success:
        print(_failure_report(result), file=sys.stderr)
        print(f"Details: {log_path}", file=sys.stderr)
        return 1
    print(summarize_serving(paths.serving_path(home)))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cxmart")
    commands = parser.add_subparsers(dest="command", required=True)
    refresh_parser = commands.add_parser("refresh", help="ingest, build, validate and publish")
    refresh_parser.add_argument("--job", default="refresh_everything")
    arguments = parser.parse_args(argv)
    return refresh(arguments.job)


if __name__ == "__main__":
    sys.exit(main())
