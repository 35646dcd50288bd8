"""`python -m bench.run --sf 1`: full and two incremental refreshes through Dagster vs the floor.

1. The scale factor's demo world comes from the cache (generated on first use).
2. Its files are hard-linked into a fresh temporary CXMART_HOME and the real
   `refresh_everything` job runs in process; each stage is timed from the run's step events
   (ingest = `ingest_landing` with its raw GX checks, dbt, checks = the role-table GX suites,
   publish = serving.duckdb), with peak memory of the process tree and rows per second.
3. One more day of files lands and the job runs again: the incremental refresh.
4. The day after lands too and the job runs a third time: the second incremental refresh.
   The first incremental after a full refresh is the only one whose publication must copy
   the published file: no standby exists yet. Its swap keeps the file it replaces as the
   standby, so from the second incremental on publication starts from the standby and brings
   it up to date by difference (`ingestion/serving.py`, `_take_standby`), as every daily
   refresh of a deployment does. The second day is the steady state; the first is reported
   beside it, unchanged in meaning.
5. The floor: a bare DuckDB load of the same files (and of the first day's files).
6. After the full refresh, the write floors (`bench/floor.py`): a bare DuckDB copy of the
   tables the dbt build wrote, and of the published tables, each into a new file. Beside
   the load floor, they are the least the full refresh's reading and writing can take.
Results go to `bench/results/<timestamp>-sf<N>.json` and a Markdown table to
`bench/results/latest.md` (also printed). Timings on a shared machine are noisy: the load
average at the start and end of the run is recorded next to them.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from bench.floor import FloorResult, floor_load, write_floor
from bench.probes import PeakMemory, maxrss_bytes, probe_ingestion
from bench.world import (
    CACHE_ROOT,
    DEFAULT_END_DATE,
    DEFAULT_SEED,
    CachedWorld,
    cached_world,
    sf_label,
    world_files,
)
from ingestion import compaction, paths
from ingestion.serving import PUBLISHED_SCHEMAS

JOB_NAME = "refresh_everything"
RESULTS_ROOT = Path(__file__).resolve().parent / "results"
REPO_ROOT = Path(__file__).resolve().parent.parent
STAGES: tuple[str, ...] = ("ingest", "dbt", "analytics", "checks", "publish")
# Dagster step key -> benchmark stage (see orchestration/definitions.py)
STEP_STAGES: dict[str, str] = {
    "ingest_landing": "ingest",
    "cxmart_dbt_models": "dbt",
    # key drivers, computed in Python between the marts and the role tables' checks
    "manager__driver_importance": "analytics",
    "role_table_suites": "checks",
    "source_reconciliation": "checks",
    "serving__serving_duckdb": "publish",
}
VERSIONED_PACKAGES: tuple[str, ...] = (
    "duckdb",
    "dbt-core",
    "dbt-duckdb",
    "dagster",
    "dagster-dbt",
    "great-expectations",
    "pandas",
)
TOP_DBT_NODES = 10


# --------------------------------------------------------------------------- running


@contextlib.contextmanager
def _data_home(home: Path) -> Iterator[None]:
    """CXMART_HOME points at the bench home and the demo registry is used, for this block."""
    saved = {name: os.environ.get(name) for name in ("CXMART_HOME", "CXMART_SOURCES")}
    os.environ["CXMART_HOME"] = str(home)
    os.environ.pop("CXMART_SOURCES", None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link (or copy, across file systems) every file of `source` under `target`."""
    for path in world_files(source):
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, destination)
        except OSError:
            shutil.copy2(path, destination)


def _warm(files: Sequence[Path]) -> None:
    """Read every input once so the floor and the refreshes all start from a warm page cache."""
    for path in files:
        with path.open("rb") as stream:
            while stream.read(1 << 24):
                pass


def _step_seconds(instance: Any, run_id: str) -> dict[str, dict[str, Any]]:
    started: dict[str, float] = {}
    steps: dict[str, dict[str, Any]] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not entry.step_key:
            continue
        kind = event.event_type_value
        if kind == "STEP_START":
            started[entry.step_key] = entry.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and entry.step_key in started:
            steps[entry.step_key] = {
                "stage": STEP_STAGES.get(entry.step_key, entry.step_key),
                "started_at": started[entry.step_key],
                "finished_at": entry.timestamp,
                "seconds": entry.timestamp - started[entry.step_key],
                "status": "success" if kind == "STEP_SUCCESS" else "failure",
            }
    return steps


def _metadata_value(metadata: Any, key: str) -> Any:
    value = (metadata or {}).get(key)
    return getattr(value, "value", value)


def _publication_started_from(result: Any) -> str | None:
    """What the serving file's publication started from: standby, copy or new (its metadata)."""
    for event in result.all_events:
        if event.event_type_value == "ASSET_MATERIALIZATION":
            value = _metadata_value(
                event.event_specific_data.materialization.metadata, "started_from"
            )
            if value is not None:
                return str(value)
    return None


def _dbt_nodes(result: Any, home: Path) -> tuple[list[dict[str, Any]], str | None]:
    """Per dbt node timing: from dbt's run_results.json when found, else from event metadata."""
    nodes: dict[str, dict[str, Any]] = {}
    invocation_id = None
    for event in result.all_events:
        data = event.event_specific_data
        if event.event_type_value == "ASSET_MATERIALIZATION":
            metadata = data.materialization.metadata
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            metadata = data.metadata
        else:
            continue
        unique_id = _metadata_value(metadata, "unique_id")
        seconds = _metadata_value(metadata, "Execution Duration")
        if unique_id and seconds is not None:
            invocation_id = _metadata_value(metadata, "invocation_id") or invocation_id
            nodes[unique_id] = {"unique_id": unique_id, "seconds": float(seconds)}
    run_results = _run_results(invocation_id, home)
    if run_results is not None:
        document = json.loads(run_results.read_text())
        nodes = {
            node["unique_id"]: {
                "unique_id": node["unique_id"],
                "seconds": float(node["execution_time"]),
                "status": node["status"],
                "rows_affected": (node.get("adapter_response") or {}).get("rows_affected"),
            }
            for node in document["results"]
        }
    ranked = sorted(nodes.values(), key=lambda node: node["seconds"], reverse=True)
    return ranked, str(run_results) if run_results else None


# the prefix of the lines cxmart-dbt adds to dbt's log
CXMART_DBT_NOTE = "cxmart-dbt: "


def dbt_phases(run_results: Path | None) -> dict[str, Any]:
    """Where the dbt command's own time went, from the JSON log beside run_results.json (the
    log accumulates the invocations of a data home: only this one's lines count)."""
    if run_results is None:
        return {}
    document = json.loads(run_results.read_text())
    invocation_id = document.get("metadata", {}).get("invocation_id")
    phases: dict[str, Any] = {"execute_seconds": document.get("elapsed_time")}
    # dbt rotates its log (dbt.log.1, .2, … are older): read them all, oldest first
    logs = sorted(
        run_results.parent.glob("dbt.log*"),
        key=lambda path: -int(path.suffix[1:]) if path.suffix[1:].isdigit() else 0,
    )
    if not logs:
        return phases
    stamps: dict[str, datetime] = {}
    last: datetime | None = None
    lines = (line for log in logs for line in log.read_text().splitlines())
    for line in lines:
        if not line.startswith("{"):
            continue
        with contextlib.suppress(ValueError, KeyError):
            info = json.loads(line)["info"]
            if invocation_id and info.get("invocation_id") != invocation_id:
                continue
            code = info["code"]
            stamp = datetime.fromisoformat(info["ts"].replace("Z", "+00:00"))
            stamps.setdefault(code, stamp)
            last = stamp
            if code == "I024":  # "Unable to do partial parsing because …"
                phases["full_parse_reason"] = info["msg"]
            if info.get("name") == "Note" and info["msg"].startswith(CXMART_DBT_NOTE):
                # what cxmart-dbt did (its order, its checkpoint): orchestration/dbt_schedule.py
                phases.setdefault("notes", []).append(info["msg"][len(CXMART_DBT_NOTE) :])
    if "A001" in stamps and "Q027" in stamps:  # "Running with dbt" -> "Concurrency: …"
        phases["startup_and_parse_seconds"] = (stamps["Q027"] - stamps["A001"]).total_seconds()
    # -> "Command `dbt build` succeeded", a debug line; at the project's info level the
    # command's last line ("Done. PASS=…")
    finished = stamps.get("Q039", last)
    if "A001" in stamps and finished is not None:
        phases["command_seconds"] = (finished - stamps["A001"]).total_seconds()
        phases["command_started_at"] = stamps["A001"].timestamp()
        phases["command_finished_at"] = finished.timestamp()
    return phases


def _dbt_step_overhead(
    steps: dict[str, dict[str, Any]], phases: dict[str, Any]
) -> dict[str, float]:
    """The dbt step outside the dbt command: process start-up before, event handling after."""
    step = next((step for step in steps.values() if step["stage"] == "dbt"), None)
    if step is None or "command_started_at" not in phases:
        return {}
    return {
        "before_command_seconds": phases["command_started_at"] - step["started_at"],
        "after_command_seconds": step["finished_at"] - phases["command_finished_at"],
    }


def _run_results(invocation_id: str | None, home: Path) -> Path | None:
    """The run_results.json of this dbt invocation, in the data home's dbt target folder."""
    path = paths.dbt_target_dir(home) / "run_results.json"
    with contextlib.suppress(OSError, ValueError, KeyError):
        if invocation_id and json.loads(path.read_text())["metadata"]["invocation_id"] == (
            invocation_id
        ):
            return path
    return None


def parse_dbt_project(home: Path) -> None:
    """What a deployment does once when it is installed (`make manifest` with its
    CXMART_HOME): parse the dbt project for this data home, so the timed refreshes parse
    incrementally like every scheduled refresh after the first."""
    from orchestration.dbt_assets import DBT_EXECUTABLE, DBT_PROJECT_DIR

    subprocess.run(
        [
            DBT_EXECUTABLE,
            "--quiet",
            "parse",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(paths.dbt_target_dir(home)),
        ],
        env={**os.environ, "CXMART_HOME": str(home)},
        check=True,
    )


def time_compaction(home: Path) -> dict[str, Any]:
    """The compaction a refresh makes once every CXMART_COMPACTION_DAYS, timed after the
    second incremental day. No refresh of the bench makes one: the first publication's
    tables are compact, and its days are minutes apart."""
    now = datetime.now(UTC).replace(tzinfo=None)
    started = time.perf_counter()
    with _data_home(home):
        report = compaction.compact(paths.warehouse_path(home), paths.serving_path(home), now)
    return {
        "seconds": time.perf_counter() - started,
        "standby": report.standby,
        "standby_seconds": report.seconds,
        "blocks_before": report.blocks_before,
        "blocks_after": report.blocks_after,
        "warehouse_seconds": report.warehouse_seconds,
    }


def run_refresh(home: Path, label: str, rows_landed: int) -> dict[str, Any]:
    """One in-process run of the real job on `home`, timed per stage."""
    import dagster as dg

    with _data_home(home):
        import_started = time.perf_counter()
        from orchestration.definitions import defs

        job = defs.resolve_job_def(JOB_NAME)
        startup_seconds = time.perf_counter() - import_started
        instance = dg.DagsterInstance.ephemeral()
        log_path = home / "logs" / f"bench-{label}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with (
            log_path.open("w") as log,
            contextlib.redirect_stdout(log),
            PeakMemory() as memory,
            probe_ingestion() as probe,
        ):
            started = time.perf_counter()
            result = job.execute_in_process(
                instance=instance,
                raise_on_error=False,
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            )
            wall_seconds = time.perf_counter() - started
    steps = _step_seconds(instance, result.run_id)
    stages = {stage: 0.0 for stage in STAGES}
    for step in steps.values():
        stages[step["stage"]] = stages.get(step["stage"], 0.0) + step["seconds"]
    nodes, run_results = _dbt_nodes(result, home)
    phases = dbt_phases(Path(run_results) if run_results else None)
    ingest_seconds = stages["ingest"]
    return {
        "label": label,
        "success": result.success,
        "wall_seconds": wall_seconds,
        "startup_seconds": startup_seconds,
        "stages": stages,
        # executor start-up, step scheduling and event handling between the steps
        "orchestration_overhead_seconds": wall_seconds - sum(stages.values()),
        "steps": steps,
        "rows_landed": rows_landed,
        "rows_per_second": {
            "ingest": rows_landed / ingest_seconds if ingest_seconds else 0.0,
            "total": rows_landed / wall_seconds if wall_seconds else 0.0,
        },
        "peak_rss_bytes": memory.peak_bytes,
        # standby, copy (of the published file) or new: see ingestion/serving.py
        "publication_started_from": _publication_started_from(result),
        **maxrss_bytes(),
        "ingest_detail": probe.as_json(),
        "dbt": {
            "run_results": run_results,
            # command = dbt's own wall time; the rest of the dbt step is the dbt process
            # start-up and dagster-dbt turning every node's result into Dagster events
            **phases,
            **_dbt_step_overhead(steps, phases),
            "models_seconds": sum(n["seconds"] for n in nodes if _is_model(n)),
            "tests_seconds": sum(n["seconds"] for n in nodes if not _is_model(n)),
            "nodes": nodes,
        },
        "log": str(log_path),
    }


def _is_model(node: dict[str, Any]) -> bool:
    return node["unique_id"].split(".")[0] in ("model", "seed", "snapshot")


# --------------------------------------------------------------------------- machine


def machine_info() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo")
    memory_kib = 0
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    cpu_model = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in VERSIONED_PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[package] = importlib.metadata.version(package)
    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "cpu": cpu_model,
        "memory_bytes": memory_kib * 1024,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def _git(*args: str) -> str:
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        return subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    return ""


def built_tables(home: Path) -> list[str]:
    """The warehouse tables the dbt build writes, as `<schema>.<table>`: its seeds and its
    models materialized as tables or incrementally (from the home's parsed manifest)."""
    from orchestration.incremental import load_manifest

    manifest = load_manifest(paths.dbt_target_dir(home) / "manifest.json")
    return sorted(
        f"{node['schema']}.{node['alias']}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "seed"
        or (
            node["resource_type"] == "model"
            and node["config"]["materialized"] in ("table", "incremental")
        )
    )


def published_tables(warehouse: Path) -> list[str]:
    """The warehouse tables a publication copies into serving.duckdb (its schemas' tables)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [
            f"{schema}.{table}"
            for schema, table in con.execute(
                "select schema_name, table_name from duckdb_tables() "
                "where database_name = current_database() and schema_name in "
                f"({', '.join('?' for _ in PUBLISHED_SCHEMAS)}) order by 1, 2",
                list(PUBLISHED_SCHEMAS),
            ).fetchall()
        ]


def time_write_floors(home: Path) -> dict[str, FloorResult]:
    """The write floors of the full refresh's warehouse; their files are deleted after (at
    SF10 they take about 10 GB)."""
    warehouse = paths.warehouse_path(home)
    floors: dict[str, FloorResult] = {}
    for name, tables in (
        ("built", built_tables(home)),
        ("published", published_tables(warehouse)),
    ):
        database = home / f"floor_{name}.duckdb"
        try:
            floors[name] = write_floor(warehouse, database, tables)
        finally:
            database.unlink(missing_ok=True)
            database.with_name(database.name + ".wal").unlink(missing_ok=True)
    return floors


# --------------------------------------------------------------------------- the benchmark


def run_benchmark(
    sf: float,
    *,
    seed: int = DEFAULT_SEED,
    end_date: date = DEFAULT_END_DATE,
    cache_root: Path = CACHE_ROOT,
    results_root: Path = RESULTS_ROOT,
    keep_home: bool = False,
) -> tuple[dict[str, Any], Path]:
    """Run the whole benchmark for one scale factor; return the results and the JSON path."""
    started_at = datetime.now(UTC)
    load_before = os.getloadavg()
    world = cached_world(sf, seed=seed, end_date=end_date, cache_root=cache_root)
    home = Path(tempfile.mkdtemp(prefix=f"cxmart-bench-{sf_label(sf)}-"))
    full: dict[str, Any] = {}
    incremental: dict[str, Any] = {}
    incremental_2: dict[str, Any] = {}
    compacted: dict[str, Any] = {}
    write_floors: dict[str, FloorResult] = {}
    try:
        landing = home / "landing"
        _link_tree(world.landing, landing)
        _warm(world_files(world.landing) + world_files(world.delta) + world_files(world.delta2))
        floor = floor_load(world.landing, home / "floor.duckdb")
        delta_floor = floor_load(world.delta, home / "floor_delta.duckdb")
        parse_dbt_project(home)
        full = run_refresh(home, "full", world.rows)
        if full["success"]:
            write_floors = time_write_floors(home)
        _link_tree(world.delta, landing)
        incremental = run_refresh(home, "incremental", world.delta_total_rows)
        # the steady state: this publication starts from the standby the first one left
        _link_tree(world.delta2, landing)
        incremental_2 = run_refresh(home, "incremental_2", world.delta2_total_rows)
        compacted = time_compaction(home)
    finally:
        # a failed refresh keeps its home: the logs and the warehouse say what went wrong
        keep_home = keep_home or not all(
            run.get("success") for run in (full, incremental, incremental_2)
        )
        if keep_home:
            print(f"bench home kept: {home}", file=sys.stderr)
        else:
            shutil.rmtree(home, ignore_errors=True)
    results = {
        "schema_version": 1,
        "started_at": started_at.isoformat(timespec="seconds"),
        "sf": sf,
        "world": _world_json(world),
        "machine": machine_info(),
        "load_average": {"start": load_before, "end": os.getloadavg()},
        "floor": floor.as_json(),
        "delta_floor": delta_floor.as_json(),
        # after the full refresh: a bare copy of the tables the dbt build wrote ("built") and
        # of the published ones ("published")
        "write_floors": {name: written.as_json() for name, written in write_floors.items()},
        "full": full,
        "incremental": incremental,  # the first day after the full refresh
        "incremental_2": incremental_2,  # the second day: publication from the standby
        "compaction": compacted,  # the vacuum publications defer, made after the last day
        "ratios": {
            "full_over_floor": full["wall_seconds"] / floor.seconds,
            # against the least its reading and writing take: the load and write floors
            "full_over_floors": (
                full["wall_seconds"]
                / (floor.seconds + sum(written.seconds for written in write_floors.values()))
                if write_floors
                else None
            ),
            "incremental_over_full": incremental["wall_seconds"] / full["wall_seconds"],
            "second_incremental_over_full": incremental_2["wall_seconds"] / full["wall_seconds"],
        },
        "home": str(home) if keep_home else None,
    }
    results_root.mkdir(parents=True, exist_ok=True)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    json_path = results_root / f"{stamp}-{sf_label(sf)}.json"
    json_path.write_text(json.dumps(results, indent=2, default=str))
    markdown = render_markdown(results)
    (results_root / f"{stamp}-{sf_label(sf)}.md").write_text(markdown)
    (results_root / "latest.md").write_text(markdown)
    return results, json_path


def _world_json(world: CachedWorld) -> dict[str, Any]:
    return {
        "scale": world.scale,
        "seed": world.seed,
        "end_date": world.end_date.isoformat(),
        "rows": world.rows,
        "feed_rows": world.feed_rows,
        "delta_rows": world.delta_rows,
        "delta2_rows": world.delta2_rows,
        "bytes": sum(path.stat().st_size for path in world_files(world.landing)),
        "cache": str(world.landing.parent),
        "generated_seconds": world.generated_seconds,
    }


# --------------------------------------------------------------------------- report


def _gib(size: float) -> str:
    return f"{size / 2**30:.2f} GiB"


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _rate(rows: float, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds else "—"


def _compaction_lines(compacted: dict[str, Any]) -> list[str]:
    if not compacted:
        return []
    standby = (
        f"the serving standby compacted in {compacted['standby_seconds']:.2f} s "
        f"({compacted['blocks_before']:,} → {compacted['blocks_after']:,} blocks in use)"
        if compacted["standby"] == "compacted"
        else f"the serving standby {compacted['standby']}"
    )
    return [
        "",
        "Compaction (DuckDB's vacuum of the serving standby and of the warehouse, which every "
        "connection writing them defers; a refresh makes one once every "
        "CXMART_COMPACTION_DAYS, 7 by default, after its publication), after the second "
        f"incremental: **{compacted['seconds']:.2f} s**, {standby}, the warehouse vacuumed in "
        f"{_seconds(compacted.get('warehouse_seconds'))} s.",
    ]


def _floor_lines(results: dict[str, Any]) -> list[str]:
    """Each floor beside the stage of the full refresh that does at least its work."""
    written = results.get("write_floors") or {}
    if not written:
        return []
    full, stages = results["full"], results["full"]["stages"]
    floors = (
        ("load: each file into a table (the floor above)", results["floor"], "ingest"),
        (
            f"write: a copy of the {len(written['built']['feeds'])} tables the dbt build wrote",
            written["built"],
            "dbt",
        ),
        (
            f"write: a copy of the {len(written['published']['feeds'])} published tables",
            written["published"],
            "publish",
        ),
    )
    lines = [
        "",
        "The floors, bare DuckDB on this machine (nothing computed, nothing checked), beside "
        "the stage of the full refresh that does at least their reading or writing:",
        "",
        "| floor | rows | seconds | peak RSS | stage | stage s | stage ÷ floor |",
        "|---|--:|--:|--:|---|--:|--:|",
    ]
    for label, floor, stage in floors:
        lines.append(
            f"| {label} | {floor['rows']:,} | {floor['seconds']:.2f} "
            f"| {_gib(floor['peak_rss_bytes'])} | {stage} | {stages[stage]:.2f} "
            f"| {stages[stage] / floor['seconds']:.1f}× |"
        )
    total = sum(floor["seconds"] for _, floor, _ in floors)
    lines.append(
        f"| all three | | {total:.2f} | | full refresh | {full['wall_seconds']:.2f} "
        f"| {full['wall_seconds'] / total:.1f}× |"
    )
    return lines


def render_markdown(results: dict[str, Any]) -> str:
    world, machine, floor = results["world"], results["machine"], results["floor"]
    full, incremental, ratios = results["full"], results["incremental"], results["ratios"]
    incremental_2 = results["incremental_2"]
    versions = ", ".join(f"{name} {version}" for name, version in machine["versions"].items())
    load = results["load_average"]
    lines = [
        f"## cxmart bench — SF{results['sf']:g} "
        f"(demo scale {world['scale']:g}, seed {world['seed']}, end date {world['end_date']})",
        "",
        f"{results['started_at']} · {machine['usable_cores']} cores ({machine['cpu']}), "
        f"{_gib(machine['memory_bytes'])} RAM · {machine['platform']} · Python "
        f"{machine['python']} · {versions} · commit {machine['git_commit']}"
        f"{' (dirty)' if machine['git_dirty'] else ''}",
        "",
        f"Input: {world['rows']:,} rows in {len(world['feed_rows'])} files "
        f"({world['bytes'] / 2**20:,.0f} MiB); one more day: "
        f"{sum(world['delta_rows'].values()):,} rows, then one more: "
        f"{sum(world['delta2_rows'].values()):,} rows. Load average "
        f"{load['start'][0]:.2f} at start, {load['end'][0]:.2f} at end "
        "(other work on the machine makes these numbers noisy).",
        "",
        "| run | rows | ingest s | dbt s | analytics s | checks s | publish s | other s | total s "
        "| peak RSS | rows/s ingest | rows/s total |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        f"| floor (bare DuckDB load) | {floor['rows']:,} | {floor['seconds']:.2f} | — | — | — | — "
        f"| — | {floor['seconds']:.2f} | {_gib(floor['peak_rss_bytes'])} "
        f"| {_rate(floor['rows'], floor['seconds'])} | {_rate(floor['rows'], floor['seconds'])} |",
    ]
    runs = (
        ("full refresh", full),
        ("incremental (+1 day)", incremental),
        ("incremental (+1 more day)", incremental_2),
    )
    for name, run in runs:
        stages = run["stages"]
        status = "" if run["success"] else " **FAILED**"
        lines.append(
            f"| {name}{status} | {run['rows_landed']:,} | {stages['ingest']:.2f} "
            f"| {stages['dbt']:.2f} | {stages['analytics']:.2f} | {stages['checks']:.2f} "
            f"| {stages['publish']:.2f} "
            f"| {run['orchestration_overhead_seconds']:.2f} | {run['wall_seconds']:.2f} "
            f"| {_gib(run['peak_rss_bytes'])} | {run['rows_per_second']['ingest']:,.0f} "
            f"| {run['rows_per_second']['total']:,.0f} |"
        )
    lines += [
        "",
        f"**full ÷ floor = {ratios['full_over_floor']:.1f}×** · "
        f"**incremental ÷ full = {100 * ratios['incremental_over_full']:.0f} %** · "
        f"**second incremental ÷ full = {100 * ratios['second_incremental_over_full']:.0f} %** "
        "(the steady state). Publication started from: "
        + ", ".join(
            f"{name} {run.get('publication_started_from') or '—'}"
            for name, run in (
                ("full", full),
                ("incremental", incremental),
                ("second incremental", incremental_2),
            )
        )
        + ".",
        *_floor_lines(results),
        *_compaction_lines(results.get("compaction") or {}),
        "",
        "Inside the stages (full refresh / incremental / second incremental):",
        "",
        "| part | full s | incremental s | second incremental s |",
        "|---|--:|--:|--:|",
    ]
    parts = (
        (
            "ingest: load files (hash, read, type, quarantine, commit)",
            "ingest_detail",
            "load_seconds",
        ),
        ("ingest: GX suites on raw.*", "ingest_detail", "raw_gx_seconds"),
        ("dbt: models (sum of node times)", "dbt", "models_seconds"),
        ("dbt: tests (sum of node times)", "dbt", "tests_seconds"),
        ("dbt: start-up and parse (inside the dbt command)", "dbt", "startup_and_parse_seconds"),
        ("dbt: execution, 2 threads (run_results elapsed_time)", "dbt", "execute_seconds"),
        ("dbt: the whole dbt command", "dbt", "command_seconds"),
        ("dbt step before the command (process start)", "dbt", "before_command_seconds"),
        ("dbt step after the command (dagster-dbt events)", "dbt", "after_command_seconds"),
        ("checks: GX suites on role tables", "ingest_detail", "role_gx_seconds"),
    )
    for label, section, key in parts:
        lines.append(
            f"| {label} | {_seconds(full[section].get(key))} "
            f"| {_seconds(incremental[section].get(key))} "
            f"| {_seconds(incremental_2[section].get(key))} |"
        )
    if full["dbt"].get("full_parse_reason"):
        lines += ["", f"dbt: {full['dbt']['full_parse_reason']}"]
    for label, run in (
        ("full refresh", full),
        ("incremental", incremental),
        ("second incremental", incremental_2),
    ):
        notes = [note for note in run["dbt"].get("notes", []) if "checkpoint" in note]
        if notes:
            lines += ["", f"cxmart-dbt, {label}: " + "; ".join(notes)]
    lines += [
        "",
        "Ingest per feed (full refresh) against the floor:",
        "",
        "| feed | rows | ingest s | rows/s | floor s | ingest ÷ floor |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for feed, timing in full["ingest_detail"]["feeds"].items():
        floor_seconds = floor["feeds"].get(feed, {}).get("seconds", 0.0)
        rows = timing["rows_loaded"] + timing["rows_quarantined"]
        ratio = f"{timing['seconds'] / floor_seconds:.1f}×" if floor_seconds else "—"
        lines.append(
            f"| {feed} | {rows:,} | {timing['seconds']:.2f} | {_rate(rows, timing['seconds'])} "
            f"| {floor_seconds:.2f} | {ratio} |"
        )
    lines += [
        "",
        f"Slowest dbt nodes (full refresh, top {TOP_DBT_NODES}):",
        "",
        "| node | seconds | rows |",
        "|---|--:|--:|",
    ]
    for node in full["dbt"]["nodes"][:TOP_DBT_NODES]:
        rows = node.get("rows_affected")
        lines.append(
            f"| `{node['unique_id']}` | {node['seconds']:.2f} "
            f"| {'' if rows is None else f'{rows:,}'} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument(
        "--sf", type=float, default=0.1, help="scale factor: 0.1 quick, 1 (≈1 M interactions), 10"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--end-date", type=date.fromisoformat, default=DEFAULT_END_DATE)
    parser.add_argument("--cache", type=Path, default=CACHE_ROOT, help="generated worlds")
    parser.add_argument("--results", type=Path, default=RESULTS_ROOT, help="JSON and Markdown")
    parser.add_argument(
        "--keep-home", action="store_true", help="keep the temporary CXMART_HOME for inspection"
    )
    args = parser.parse_args(argv)
    results, json_path = run_benchmark(
        args.sf,
        seed=args.seed,
        end_date=args.end_date,
        cache_root=args.cache,
        results_root=args.results,
        keep_home=args.keep_home,
    )
    print(render_markdown(results))
    print(f"results: {json_path}")
    failed = [
        run for run in ("full", "incremental", "incremental_2") if not results[run]["success"]
    ]
    if failed:
        print(f"refresh failed: {', '.join(failed)}; see the logs in the JSON", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
