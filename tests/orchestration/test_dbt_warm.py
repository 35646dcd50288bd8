"""A dbt process warmed up while ingestion runs takes the dbt step's command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import duckdb
import pytest

from orchestration import dbt_warm
from orchestration.dbt_assets import DBT_EXECUTABLE


@pytest.fixture
def warm(tmp_path: Path) -> Iterator[dbt_warm.WarmDbt]:
    dbt_warm.start(DBT_EXECUTABLE, str(tmp_path))
    started = dbt_warm.claim()
    assert started is not None
    yield started
    started.discard()


def _dbt(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DBT_EXECUTABLE, *args], capture_output=True, text=True, timeout=120)


def test_a_command_handed_to_the_warm_process_gives_its_output_and_exit_code(
    warm: dbt_warm.WarmDbt,
) -> None:
    with dbt_warm.pointed_at(warm):
        shown = _dbt("--version")
    assert shown.returncode == 0
    assert "installed: 1.11" in shown.stdout
    # the warm process ran it, and had ended by the time the command did (what follows
    # the command finds dbt's files closed): it serves one command
    assert warm.process.poll() == 0
    assert not warm.socket_path.exists()
    assert dbt_warm.SOCKET_ENV not in os.environ


def test_a_failing_command_fails_the_same_way_through_the_warm_process(
    warm: dbt_warm.WarmDbt,
) -> None:
    alone = _dbt("no-such-command")
    with dbt_warm.pointed_at(warm):
        handed = _dbt("no-such-command")
    assert warm.process.wait(timeout=30) == 0
    assert handed.returncode == alone.returncode == 2
    assert "No such command 'no-such-command'" in handed.stderr
    assert handed.stderr == alone.stderr


def test_without_a_warm_process_the_command_runs_dbt_itself(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(dbt_warm.SOCKET_ENV, str(tmp_path / "gone.sock"))
    shown = _dbt("--version")
    assert shown.returncode == 0
    assert "installed: 1.11" in shown.stdout


def _orphan_warm_process(temp: Path, waits_for: str = "") -> str:
    """Start a warm process from a process that then dies without clean-up, as if killed
    (once a file matching `waits_for` appears in the warm process's temporary folder `temp`,
    if given); wait until the warm process ended too. The folder of its socket."""
    temp.mkdir()
    starter = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, time\nfrom pathlib import Path\n"
            "from orchestration import dbt_warm\n"
            "from orchestration.dbt_assets import DBT_EXECUTABLE\n"
            "dbt_warm.start(DBT_EXECUTABLE, '.')\n"
            "deadline = time.monotonic() + 120\n"
            f"while {waits_for!r} and time.monotonic() < deadline:\n"
            f"    if any(Path({str(temp)!r}).glob({waits_for or '*'!r})): break\n"
            "    time.sleep(0.02)\n"
            "print(dbt_warm._waiting.process.pid, dbt_warm._waiting.folder, flush=True)\n"
            "os._exit(0)\n",  # no atexit clean-up: as if killed
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
        env={**os.environ, "TMPDIR": str(temp)},
    )
    pid, folder = starter.stdout.split()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return folder
        time.sleep(0.2)
    pytest.fail(f"the warm dbt process {pid} outlived the process that started it")


def test_a_warm_process_nobody_claims_ends_with_the_process_that_started_it(
    tmp_path: Path,
) -> None:
    folder = _orphan_warm_process(tmp_path / "temp")
    # and it removed its socket's folder, which nobody else would
    assert Path(folder).parent == tmp_path / "temp"
    assert not Path(folder).exists()


def test_a_warm_process_whose_starter_dies_mid_rehearsal_leaves_nothing_behind(
    tmp_path: Path,
) -> None:
    _orphan_warm_process(tmp_path / "temp", waits_for="cxmart-dbt-rehearsal-*")
    assert list((tmp_path / "temp").iterdir()) == []


def test_a_newer_warm_process_replaces_an_unclaimed_one(tmp_path: Path) -> None:
    dbt_warm.start(DBT_EXECUTABLE, str(tmp_path))
    first = dbt_warm._waiting
    dbt_warm.start(DBT_EXECUTABLE, str(tmp_path))
    assert first is not None and first.process.wait(timeout=30) != 0
    assert not first.folder.exists()
    dbt_warm.discard()
    assert dbt_warm.claim() is None


# a warm process whose command waits to be interrupted, then says so and exits 130
_PATIENT = """
import sys, time
from orchestration import dbt_warm

def run(argv):
    try:
        print("waiting", flush=True)
        time.sleep(60)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        return 130
    return 0

dbt_warm.serve(sys.argv[2:], lambda arguments: None, run)
"""


@pytest.fixture
def patient(tmp_path) -> Iterator[dbt_warm.WarmDbt]:
    executable = tmp_path / "patient"
    executable.write_text(f"#!{sys.executable}\n{_PATIENT}")
    executable.chmod(0o755)
    dbt_warm.start(str(executable))
    started = dbt_warm.claim()
    assert started is not None
    yield started
    started.discard()


def _waiting_command(warm: dbt_warm.WarmDbt) -> tuple[subprocess.Popen[str], IO[str]]:
    """The short-lived side, as `cxmart-dbt build` runs it, handed over to `warm` and waiting
    there; its output pipe."""
    with dbt_warm.pointed_at(warm):
        command = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys\nfrom orchestration import dbt_warm\n"
                "sys.exit(dbt_warm.delegate(['build']))",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
    assert command.stdout is not None
    assert command.stdout.readline() == "waiting\n"
    return command, command.stdout


def test_interrupting_the_command_interrupts_the_warm_process_running_it(
    patient: dbt_warm.WarmDbt,
) -> None:
    command, output = _waiting_command(patient)
    command.send_signal(signal.SIGINT)
    assert command.wait(timeout=30) == 130
    assert output.read() == "interrupted\n"


def test_killing_the_command_interrupts_the_warm_process_running_it(
    patient: dbt_warm.WarmDbt,
) -> None:
    command, output = _waiting_command(patient)
    command.kill()
    # the warm process writes to the same pipe, and ends
    assert output.read() == "interrupted\n"
    assert patient.process.wait(timeout=30) == 0


def test_the_rehearsal_parses_while_ingestion_holds_the_warehouse(tmp_path: Path) -> None:
    """A warm process parses the project while ingestion writes the warehouse: parsing must
    not open it (DuckDB lets one process write a file, and would refuse the other)."""
    writer = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        rehearsal = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys\nfrom orchestration.dbt_schedule import _rehearse\n"
                f"sys.exit(0 if _rehearse([{str(tmp_path)!r}]) else 1)",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        writer.close()
    assert rehearsal.returncode == 0, rehearsal.stdout + rehearsal.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["warehouse.duckdb"]
