"""A dbt process warmed up while ingestion runs.

`cxmart-dbt` spends its first seconds importing dbt (about 3 s of one core on a 2-core
machine), before it reads a file or sends a query. A refresh knows it will run dbt as soon as
it starts, so the ingestion step starts a *warm* process (`cxmart-dbt --cxmart-warm …`): it
inherits a listening Unix socket, imports dbt while DuckDB loads the landed files, and
waits. When the dbt step runs its command (dagster-dbt's subprocess, `cxmart-dbt build …`
with `CXMART_DBT_WARM` naming the socket), that process hands its arguments, environment,
working directory and standard streams to the warm one, which runs the command as if it were
that process and sends back the exit code; the short-lived process exits with it. dagster-dbt
sees an ordinary subprocess: the same output on the same pipe, the same exit code, and a
SIGINT or SIGTERM it sends is passed on.

A warm process serves one command. It ends without running anything when the process that
started it ends, or when no command came within `WAIT_SECONDS`. A command that finds no warm
process (none started, or it failed to import dbt) runs dbt itself, as before.

The short-lived process imports nothing of dbt before the hand-over, so it stays short.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

# the flag that makes `cxmart-dbt` a warm process, and the variable that points a command at one
SERVE_FLAG = "--cxmart-warm"
SOCKET_ENV = "CXMART_DBT_WARM"
# how long a warm process waits for its command
WAIT_SECONDS = 3600.0
_SOCKET_NAME = "dbt.sock"
# how often a waiting warm process checks that the process that started it is alive
_PARENT_POLL_SECONDS = 0.5


@dataclass
class WarmDbt:
    """A warm process started by this process, and the folder holding its socket."""

    process: subprocess.Popen[bytes]
    folder: Path

    @property
    def socket_path(self) -> Path:
        return self.folder / _SOCKET_NAME

    def discard(self, grace_seconds: float = 0.0) -> bool:
        """Stop it if it still runs after `grace_seconds` (unclaimed, it is only waiting; once
        its command is over, it is only exiting) and remove its folder. True when it had
        ended by itself, without an error: it ran its command (or, unclaimed, found its
        parent gone or waited too long)."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace_seconds)
        ended = self.process.poll() == 0
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
        return ended


# the warm process started for this process's next dbt command, not yet claimed by it
_waiting: WarmDbt | None = None
# in a warm process: True once it took its command
took_command = False
_lock = threading.Lock()


def start(executable: str, *arguments: str) -> None:
    """Start a warm `executable` (cxmart-dbt) for this process's next dbt command, in place of
    one started before and never claimed; `arguments` are for its preparation. The socket
    listens before this returns (the warm process inherits it), so a command started at once
    still finds it. The warm process's output until it takes a command is discarded: a
    failure there only means the command runs dbt itself."""
    global _waiting
    folder = Path(tempfile.mkdtemp(prefix="cxmart-dbt-"))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(folder / _SOCKET_NAME))
        listener.listen(1)
        process = subprocess.Popen(
            [executable, SERVE_FLAG, str(listener.fileno()), str(os.getpid()), *arguments],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=[listener.fileno()],
        )
    with _lock:
        previous, _waiting = _waiting, WarmDbt(process, folder)
    if previous is not None:
        previous.discard()


def claim() -> WarmDbt | None:
    """The warm process waiting for this process's next dbt command, if it still runs: the
    caller owns it from here (and discards it once the command is over)."""
    global _waiting
    with _lock:
        warm, _waiting = _waiting, None
    if warm is None or warm.process.poll() is None:
        return warm
    warm.discard()
    return None


def discard() -> None:
    """Stop the warm process no command claimed (a run that ended before its dbt step)."""
    warm = claim()
    if warm is not None:
        warm.discard()


atexit.register(discard)


@contextlib.contextmanager
def pointed_at(warm: WarmDbt | None) -> Iterator[None]:
    """Inside the block, subprocesses inherit SOCKET_ENV naming `warm`'s socket (nothing
    changes without one)."""
    if warm is None:
        yield
        return
    os.environ[SOCKET_ENV] = str(warm.socket_path)
    try:
        yield
    finally:
        os.environ.pop(SOCKET_ENV, None)


# -- the short-lived command ------------------------------------------------------------------


def _send(connection: socket.socket, message: dict[str, object]) -> None:
    connection.sendall(json.dumps(message).encode() + b"\n")


def delegate(argv: Sequence[str]) -> int | None:
    """Run `cxmart-dbt <argv>` in the warm process SOCKET_ENV names: its exit code, or None
    when no warm process took the command (none named, gone, or it failed to start)."""
    path = os.environ.get(SOCKET_ENV)
    if not path:
        return None
    # an interrupt that comes before the warm process is known waits, then is passed on
    passed_on = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, passed_on)
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
        socket.send_fds(connection, [b"\0"], [0, 1, 2])
        environment = {key: value for key, value in os.environ.items() if key != SOCKET_ENV}
        _send(connection, {"argv": list(argv), "env": environment, "cwd": os.getcwd()})
        replies = connection.makefile("rb")
        started = replies.readline()
    except OSError:
        started = b""
    if not started:
        # none took it, or it ended before it ran anything (it could not import dbt)
        connection.close()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, passed_on)
        return None
    pid = int(json.loads(started)["pid"])

    def pass_on(signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    for signum in passed_on:
        signal.signal(signum, pass_on)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, passed_on)
    finished = replies.readline()
    connection.close()
    # what follows this process's end must find dbt's files closed, as after dbt's own end
    _wait_until_gone(pid)
    # a warm process that died mid-command sends nothing: the command failed
    return int(json.loads(finished)["exit"]) if finished else 1


def _wait_until_gone(pid: int, timeout_seconds: float = 60.0) -> None:
    """Wait until process `pid` has exited with all its threads, its files closed (a zombie
    its parent has yet to reap counts as gone); without /proc (not Linux), return at once."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        states = set()
        try:
            threads = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:
            return
        for thread in threads:
            # its state follows its parenthesised name, which may hold spaces
            with contextlib.suppress(OSError, IndexError):  # a thread gone meanwhile
                states.add((thread / "stat").read_text().rsplit(")", 1)[1].split()[0])
        # the main thread of a process still ending its other threads is a zombie already
        if states <= {"Z", "X"}:
            return
        time.sleep(0.01)


# -- the warm process -------------------------------------------------------------------------


def _abandon(socket_path: Path) -> None:
    """Remove the socket and its folder, which the process that started this one would
    have removed had it claimed it."""
    with contextlib.suppress(OSError):
        socket_path.unlink()
    with contextlib.suppress(OSError):
        socket_path.parent.rmdir()


def _end_with_parent(
    parent: int, claimed: threading.Event, socket_path: Path, preparing: threading.Lock
) -> None:
    """While nothing claimed this process, end it when the process that started it ends; a
    preparation under way (held `preparing`) finishes first, so it removes what it wrote (the
    rehearsal's scratch folder)."""
    while not claimed.wait(_PARENT_POLL_SECONDS):
        if os.getppid() != parent:
            with preparing:
                _abandon(socket_path)
                os._exit(0)


def _end_with_command(connection: socket.socket, finished: threading.Event) -> None:
    """Once claimed: the command's process keeps the connection open until it has the exit
    code; if it ends before the run finished (killed), interrupt the run as dbt's Ctrl-C
    would."""
    with contextlib.suppress(OSError):
        while connection.recv(1):
            pass
    if not finished.is_set():
        os.kill(os.getpid(), signal.SIGINT)


def serve(
    argv: Sequence[str],
    prepare: Callable[[Sequence[str]], object],
    run: Callable[[Sequence[str]], int],
) -> None:
    """The warm process, `argv` what start() gave it (the listening socket's descriptor, the
    starting process's id, then the arguments for `prepare`): `prepare(arguments)` (import
    dbt) while the command is not there yet, then take one command and `run(argv)` it as
    that command's process."""
    global took_command
    listener = socket.socket(fileno=int(argv[0]))
    socket_path = Path(listener.getsockname())
    claimed = threading.Event()
    preparing = threading.Lock()
    with preparing:
        threading.Thread(
            target=_end_with_parent,
            args=(int(argv[1]), claimed, socket_path, preparing),
            daemon=True,
        ).start()
        prepare(argv[2:])
    listener.settimeout(WAIT_SECONDS)
    try:
        connection, _ = listener.accept()
    except TimeoutError:
        _abandon(socket_path)
        return
    finally:
        with contextlib.suppress(OSError):
            socket_path.unlink()
        listener.close()
    claimed.set()
    connection.settimeout(None)
    _, fds, _, _ = socket.recv_fds(connection, 1, 3)
    request = json.loads(connection.makefile("rb").readline())
    # become the command's process: its streams, environment and working directory
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.argv = [sys.argv[0], *request["argv"]]
    took_command = True
    _send(connection, {"pid": os.getpid()})
    finished = threading.Event()
    threading.Thread(target=_end_with_command, args=(connection, finished), daemon=True).start()
    code = 1
    try:
        code = run(request["argv"])
    finally:
        finished.set()
        # let go of the command's streams first: whoever reads its output sees the end of it
        # now, not when this process is done exiting
        sys.stdout.flush()
        sys.stderr.flush()
        null = os.open(os.devnull, os.O_RDWR)
        for target in (0, 1, 2):
            os.dup2(null, target)
        os.close(null)
        with contextlib.suppress(OSError):
            _send(connection, {"exit": code})
