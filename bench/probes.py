"""What the benchmark measures besides wall time: peak memory and where ingestion spends it.

`PeakMemory` polls /proc for the resident memory of this process plus all its descendants
(dbt runs as a child process, DuckDB inside it), so the peak is the whole refresh's.
`IngestProbe` wraps, for the duration of a run only, the functions the ingestion asset and
the role-table checks call (loading, per-file ingestion, GX validation) to time them; the
product code is not changed.
"""

from __future__ import annotations

import contextlib
import os
import resource
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def _children(pid: int) -> list[int]:
    """The pids whose parent is `pid`, from each of its threads' children list (a few small
    reads, not a scan of every process: the poll runs beside the refresh it measures)."""
    found: list[int] = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for thread in threads:
        try:
            found.extend(
                int(child)
                for child in Path(f"/proc/{pid}/task/{thread}/children").read_text().split()
            )
        except OSError:
            continue
    return found


def _process_tree(root: int) -> list[int]:
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(_children(pid))
    return tree


def tree_rss_bytes(root: int | None = None) -> int:
    total = 0
    for pid in _process_tree(root or os.getpid()):
        try:
            resident_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        total += resident_pages * PAGE_BYTES
    return total


class PeakMemory:
    """Peak RSS of this process tree while the `with` block runs, polled every `interval` s."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="bench-peak-memory", daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                self.peak_bytes = max(self.peak_bytes, tree_rss_bytes())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, tree_rss_bytes())


def maxrss_bytes() -> dict[str, int]:
    """Lifetime peaks from the kernel (Linux reports KiB): this process, and its largest child."""
    return {
        "self_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "children_maxrss_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
    }


@dataclass
class FeedTiming:
    seconds: float = 0.0
    files: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    statuses: list[str] = field(default_factory=list)


@dataclass
class IngestProbe:
    """Timings gathered while one refresh runs (see the module docstring)."""

    load_seconds: float = 0.0  # ingest_landing(): hash, read, type, commit every file
    raw_gx_seconds: float = 0.0  # GX suites on raw.* (inside the ingest step)
    role_gx_seconds: float = 0.0  # GX suites on the role tables (the checks step)
    gx_by_table: dict[str, float] = field(default_factory=dict)
    feeds: dict[str, FeedTiming] = field(default_factory=dict)
    rows_loaded: int = 0  # rows of landed files loaded into raw.* (driver ratings excluded)
    rows_quarantined: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "load_seconds": self.load_seconds,
            "raw_gx_seconds": self.raw_gx_seconds,
            "role_gx_seconds": self.role_gx_seconds,
            "gx_by_table": self.gx_by_table,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "feeds": {
                feed: {
                    "seconds": timing.seconds,
                    "files": timing.files,
                    "rows_loaded": timing.rows_loaded,
                    "rows_quarantined": timing.rows_quarantined,
                    "statuses": timing.statuses,
                }
                for feed, timing in sorted(self.feeds.items())
            },
        }


@contextlib.contextmanager
def _patched(module: Any, name: str, make: Callable[[Any], Any]) -> Iterator[None]:
    original = getattr(module, name, None)
    if original is None:  # the hook moved: that timing is simply not reported
        yield
        return
    setattr(module, name, make(original))
    try:
        yield
    finally:
        setattr(module, name, original)


@contextlib.contextmanager
def probe_ingestion() -> Iterator[IngestProbe]:
    from ingestion import load
    from orchestration import checks, ingest_assets

    probe = IngestProbe()

    def timed_load(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                probe.load_seconds += time.perf_counter() - started

        return wrapper

    def timed_file(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(con: Any, home: Any, feed: Any, path: Any, *rest: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            outcome, driver_ratings = original(con, home, feed, path, *rest, **kwargs)
            timing = probe.feeds.setdefault(feed.name, FeedTiming())
            timing.seconds += time.perf_counter() - started
            timing.files += 1
            timing.rows_loaded += outcome.rows_loaded
            timing.rows_quarantined += outcome.rows_quarantined
            timing.statuses.append(outcome.status)
            probe.rows_loaded += outcome.rows_loaded
            probe.rows_quarantined += outcome.rows_quarantined
            return outcome, driver_ratings

        return wrapper

    def timed_validate(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def make(original: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(db_path: Any, table: str, *args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return original(db_path, table, *args, **kwargs)
                finally:
                    seconds = time.perf_counter() - started
                    probe.gx_by_table[table] = probe.gx_by_table.get(table, 0.0) + seconds
                    if kind == "raw":
                        probe.raw_gx_seconds += seconds
                    else:
                        probe.role_gx_seconds += seconds

            return wrapper

        return make

    with (
        _patched(ingest_assets, "ingest_landing", timed_load),
        _patched(load, "_ingest_file", timed_file),
        _patched(ingest_assets, "validate", timed_validate("raw")),
        _patched(checks, "validate", timed_validate("role")),
    ):
        yield probe
