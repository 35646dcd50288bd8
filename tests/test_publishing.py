"""Safe publishing, as a BI tool experiences it: a reader querying serving.duckdb through
SQLAlchemy while a refresh runs never fails, a refresh killed mid-way leaves the last
published file intact and the next refresh succeeds, and two scheduled runs at once take
turns on the warehouse."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import sqlalchemy
from sqlalchemy.pool import NullPool

from ingestion import paths
from ingestion.demo import generate_demo_world

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parent.parent


def _start_refresh(home: Path, **settings: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CXMART_HOME": str(home), **settings}
    env.pop("CXMART_SOURCES", None)
    env.pop("DAGSTER_HOME", None)
    # its own process group, so a kill takes dbt's subprocess down with it
    return subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "refresh"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _refresh(home: Path) -> None:
    process = _start_refresh(home)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr.decode()[-3000:]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("publishing_home")
    generate_demo_world(paths.landing_dir(home), scale=0.3, seed=5)
    _refresh(home)
    yield home


def _publication(serving: Path) -> tuple[object, dict[str, int], dict[str, int]]:
    """When the file was published, the row counts its ops.publication records, and the
    row counts its tables hold."""
    con = duckdb.connect(str(serving), read_only=True)
    try:
        recorded = dict(con.execute("select table_name, row_count from ops.publication").fetchall())
        counted = {
            table: con.execute(f"select count(*) from {table}").fetchone()[0] for table in recorded
        }
        published_at = con.execute("select max(published_at) from ops.publication").fetchone()[0]
        return published_at, recorded, counted
    finally:
        con.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _compactions(home: Path) -> list[tuple[object, ...]]:
    with duckdb.connect(str(paths.warehouse_path(home)), read_only=True) as con:
        return con.execute("select standby from ops.compactions order by compacted_at").fetchall()


def test_bi_reader_never_fails_while_a_refresh_publishes_and_compacts(home: Path) -> None:
    """The refresh compacts too (every refresh does with CXMART_COMPACTION_DAYS=0): after the
    swap, the warehouse and the standby, which a reader that opened it before still holds
    or not."""
    serving = paths.serving_path(home)
    compactions_before = len(_compactions(home))
    engine = sqlalchemy.create_engine(
        f"duckdb:///{serving}", connect_args={"read_only": True}, poolclass=NullPool
    )
    queries, failures = 0, []
    refresh = _start_refresh(home, CXMART_COMPACTION_DAYS="0")
    stop = threading.Event()

    def read_like_a_dashboard() -> None:
        nonlocal queries
        while not stop.is_set():
            try:
                with engine.connect() as connection:
                    cases = connection.execute(
                        sqlalchemy.text("select count(*) from frontline.followup_queue")
                    ).scalar_one()
                    months = connection.execute(
                        sqlalchemy.text("select count(*) from executive.cx_scorecard")
                    ).scalar_one()
                assert cases > 0 and months > 0
                queries += 1
            except Exception as error:  # every failure is a finding
                failures.append(repr(error))
            time.sleep(0.05)

    reader = threading.Thread(target=read_like_a_dashboard)
    reader.start()
    _, stderr = refresh.communicate(timeout=600)
    stop.set()
    reader.join()
    engine.dispose()

    assert refresh.returncode == 0, stderr.decode()[-3000:]
    assert failures == []
    assert queries > 20
    compactions = _compactions(home)
    assert len(compactions) == compactions_before + 1
    assert compactions[-1][0] in ("compacted", "in use")


# at 8 s a refresh of this home is still ingesting or building; at 25 s it may be
# publishing or, on a fast machine, finishing after the swap
@pytest.mark.parametrize(("kill_after_seconds", "may_have_swapped"), [(8.0, False), (25.0, True)])
def test_killed_refresh_keeps_serving_and_the_next_one_recovers(
    home: Path, kill_after_seconds: float, may_have_swapped: bool
) -> None:
    serving = paths.serving_path(home)
    published = _digest(serving)
    published_at = _publication(serving)[0]
    refresh = _start_refresh(home)
    time.sleep(kill_after_seconds)
    if refresh.poll() is None:
        os.killpg(refresh.pid, signal.SIGKILL)
    refresh.wait(timeout=60)

    # whatever moment it died, BI still reads a complete file: the old one, byte for byte,
    # or — killed after the atomic swap, while the run was finishing — a whole new one
    con = duckdb.connect(str(serving), read_only=True)
    assert con.execute("select count(*) from frontline.followup_queue").fetchone()[0] > 0
    con.close()
    if refresh.returncode != 0 and _digest(serving) != published:
        assert may_have_swapped, "a refresh killed before publishing changed serving.duckdb"
        swapped_at, recorded, counted = _publication(serving)
        assert swapped_at > published_at
        assert recorded == counted

    _refresh(home)
    assert not list(serving.parent.glob(f".{serving.name}.*.tmp"))
    con = duckdb.connect(str(paths.warehouse_path(home)), read_only=True)
    duplicates = con.execute(
        "select count(*) - count(distinct file_sha256) from ops.file_manifest"
    ).fetchone()[0]
    con.close()
    assert duplicates == 0


def test_two_scheduled_runs_at_once_take_turns_on_the_warehouse(home: Path, tmp_path: Path) -> None:
    """Runs launched as the schedules and the sensor launch them (`dagster job execute`: the
    job's own executor, the project's instance settings) may overlap: a frontline refresh
    every 15 minutes meets the daily one. DuckDB lets one process write the file, so the
    steps must take turns through the pool "warehouse" (orchestration/dagster.yaml), or one
    run fails on the file's lock."""
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text((REPO / "orchestration/dagster.yaml").read_text())
    # a deployment's instance exists before its runs: two runs creating its storage at once
    # would race on its schema instead
    with dg.DagsterInstance.from_config(str(dagster_home)):
        pass
    env = {**os.environ, "CXMART_HOME": str(home), "DAGSTER_HOME": str(dagster_home)}
    env.pop("CXMART_SOURCES", None)
    dagster = Path(sys.executable).with_name("dagster")
    # each run logs to a file: a pipe nobody reads while the other run is awaited could fill
    # and stall its run while it holds the pool
    jobs = ("refresh_everything", "refresh_followup_queue")
    log_paths = [tmp_path / f"{job}.log" for job in jobs]
    runs = []
    for log_path in log_paths:
        command = [str(dagster), "job", "execute", "-m", "orchestration.definitions"]
        with log_path.open("wb") as log:
            runs.append(
                subprocess.Popen(
                    [*command, "-j", log_path.stem],
                    cwd=REPO,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    for run in runs:
        run.wait(timeout=600)
    logs = [log_path.read_text() for log_path in log_paths]

    for run, log in zip(runs, logs, strict=True):
        assert run.returncode == 0, log[-3000:]
        assert "Could not set lock" not in log
    # they did overlap, and the pool made a step wait for the other run's
    assert any("blocked by limit for pool warehouse" in log for log in logs)
    con = duckdb.connect(str(paths.serving_path(home)), read_only=True)
    assert con.execute("select count(*) from frontline.followup_queue").fetchone()[0] > 0
    con.close()
