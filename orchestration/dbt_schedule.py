"""`cxmart-dbt`: dbt whose threads take the ready node with the longest path below it first.

dbt hands a free thread the ready node of least depth (the fewest levels of the graph above
it), and its main loop takes every node off that queue as soon as it is ready, queueing it
for the threads first in, first out. In a build, where tests are nodes of the graph too,
both threads go through the quick tests of early models while the next model of a long
chain, which the rest of the build waits for, waits behind them: in cxmart the identity
chain at the start, the follow-up cases the executive scorecard waits for at the end.

This entry point is dbt's own command line with two changes to how a build's threads pick
their next node, the classic critical-path rule for a graph on a few workers:

- each node is scored by the longest path from it to the end of the graph, in seconds: what
  each node took the last time dbt ran it (`NODE_COSTS`, kept beside dbt's artifacts from
  its run results; a test never run counts a tenth of a second);
- a node is taken off the queue only when a thread is free to run it, so the scores choose
  among every node ready by then.

Both need the seconds of every model and seed of the build: a guess is worse than dbt's
own order (a simulation of the SF10 full build, with each model counted one second: 288 s
against 276 s, and 267 s with the seconds measured). A build with a model or seed that has
never run from this target path (the first build of a data home) keeps dbt's order.

Which nodes run, and what each waits for, does not change; only the order among ready
nodes does.

A third change, for the commands a refresh runs (`build`, `run`, `test`): dbt does not write
`manifest.json` (and `semantic_manifest.json`) into the target path. dbt writes the manifest
twice per command, after parsing and after the last node, 0.5–0.7 s each on a 2-core machine
with nothing else running then; a data home's target path needs only the run results (for
the node costs above) and dbt's partial-parse cache, which are still written. Dagster reads
the project's own manifest, which `dbt parse` writes (`make manifest`).

A fourth, for every command: an event below the level of every logger of the command is
dropped before dbt formats it (`drop_unlogged_events`). What is logged does not change.

A fifth, for commands that build models: once the last model or seed is built, a thread
checkpoints the warehouse while the threads run the remaining tests
(`checkpoint_when_models_are_built`); without --full-refresh, DuckDB makes no checkpoint
at the build's commits before that (`_defer_checkpoints`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingestion import paths
from orchestration import dbt_warm

if TYPE_CHECKING:
    import networkx as nx

PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
# beside run_results.json in dbt's target path: each node's seconds the last time it ran
NODE_COSTS = "cxmart_node_costs.json"
# the seconds of a node never run: a model or seed is a query that writes a table, a test
# a count over one
_GUESSED_SECONDS = {"model": 1.0, "seed": 0.3, "snapshot": 1.0}
_GUESSED_TEST_SECONDS = 0.1

_costs: dict[str, float] = {}


def _is_query(unique_id: str) -> bool:
    return unique_id.split(".", 1)[0] in _GUESSED_SECONDS


def _seconds(unique_id: str, costs: Mapping[str, float]) -> float:
    if unique_id in costs:
        return costs[unique_id]
    return _GUESSED_SECONDS.get(unique_id.split(".", 1)[0], _GUESSED_TEST_SECONDS)


def longest_path_first(graph: nx.DiGraph, costs: Mapping[str, float]) -> dict[str, float]:
    """Per node, the score dbt's queue orders ready nodes by (lowest first): minus the
    seconds of the longest path from the node, itself included, to the end of the graph."""
    import networkx

    below: dict[str, float] = {}
    for node in reversed(list(networkx.topological_sort(graph))):
        below[node] = _seconds(node, costs) + max(
            (below[child] for child in graph.successors(node)), default=0.0
        )
    return {node: -length for node, length in below.items()}


def update_node_costs(target_path: Path) -> dict[str, float]:
    """The seconds of every node dbt has run from this target path: the kept costs, updated
    with the nodes the last command executed (run_results.json), and kept again. An
    unreadable file counts as none: the order of a build is never a reason to fail it."""
    kept = target_path / NODE_COSTS
    costs: dict[str, float] = {}
    with contextlib.suppress(OSError, ValueError):
        costs = {str(k): float(v) for k, v in json.loads(kept.read_text()).items()}
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        for result in json.loads((target_path / "run_results.json").read_text())["results"]:
            executed = any(
                step["name"] == "execute" and step.get("started_at") for step in result["timing"]
            )
            if executed:
                costs[result["unique_id"]] = float(result["execution_time"])
    with contextlib.suppress(OSError):
        staged = kept.with_name(f".{NODE_COSTS}.{os.getpid()}.tmp")
        staged.write_text(json.dumps(costs, sort_keys=True))
        staged.replace(kept)
    return costs


def _note(message: str) -> None:
    """A line in dbt's log (and so in Dagster's): which order this build's threads follow."""
    from dbt_common.events.functions import fire_event
    from dbt_common.events.types import Note

    fire_event(Note(msg=f"cxmart-dbt: {message}"))


def use_longest_path_first() -> None:
    """Make dbt's graph queue score nodes by `longest_path_first` with the costs of the
    target path, and hand a node out only when one of the command's threads is free; its
    run of the queue also checkpoints once the models are built
    (`checkpoint_when_models_are_built`, `_defer_checkpoints`)."""
    from dbt.graph.queue import GraphQueue
    from dbt.task.runnable import GraphRunnableTask

    if getattr(GraphQueue, "_cxmart_longest_path_first", False):
        return
    stock_scores = GraphQueue._get_scores
    stock_get = GraphQueue.get
    stock_initialize = GraphRunnableTask._runtime_initialize
    stock_run_queue = GraphRunnableTask.run_queue

    def _get_scores(self: GraphQueue, graph: nx.DiGraph) -> Mapping[str, float]:
        never_run = sum(1 for node in graph if _is_query(node) and node not in _costs)
        if never_run:
            _note(f"dbt's own order: {never_run} models or seeds never ran from this target path")
            return stock_scores(self, graph)
        _note("the longest path first, in the seconds each node took when it last ran")
        self.cxmart_longest_path_first = True
        return longest_path_first(graph, _costs)

    def get(self: GraphQueue, block: bool = True, timeout: float | None = None) -> Any:
        threads = getattr(self, "cxmart_threads", None)
        if threads and block:
            # one consumer (dbt's main loop): a node seen ready here is still there to take
            with self.some_task_done:
                while len(self.in_progress) >= threads or self.inner.empty():
                    self.some_task_done.wait(timeout=1.0)
        return stock_get(self, block, timeout)

    def _runtime_initialize(self: GraphRunnableTask) -> None:
        if dbt_warm.took_command:
            _note("dbt was imported while the step before ran (orchestration/dbt_warm.py)")
        # before the graph queue is made: its scores are computed when it is
        _costs.clear()
        _costs.update(update_node_costs(Path(self.config.project_target_path)))
        stock_initialize(self)

    def run_queue(self: GraphRunnableTask, pool: Any) -> None:
        if getattr(self.job_queue, "cxmart_longest_path_first", False):
            self.job_queue.cxmart_threads = self.config.threads
        finish_checkpoint = checkpoint_when_models_are_built(self.job_queue)
        if not getattr(self.config.args, "FULL_REFRESH", False):
            _defer_checkpoints()
        try:
            stock_run_queue(self, pool)
        finally:
            finish_checkpoint()

    GraphQueue._get_scores = _get_scores  # type: ignore[method-assign]
    GraphQueue.get = get  # type: ignore[method-assign]
    GraphQueue._cxmart_longest_path_first = True
    GraphRunnableTask._runtime_initialize = _runtime_initialize  # type: ignore[method-assign]
    GraphRunnableTask.run_queue = run_queue  # type: ignore[method-assign]


def _on_warehouse(sql: str) -> None:
    """Run `sql` on the database dbt-duckdb holds open, on a cursor of its own."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    cursor = DuckDBConnectionManager.env().conn.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


def _checkpoint_warehouse(stopped: threading.Event) -> None:
    """Checkpoint the database dbt-duckdb holds open: write what the write-ahead log holds
    into the file. DuckDB refuses while another transaction has changed the catalog (a
    table model dropping its backup after its commit), so it tries again every 0.1 s until
    `stopped` is set, and the note says what refused the first attempt. Failing only leaves
    the work to the checkpoint DuckDB makes when dbt closes the database."""
    import duckdb

    attempts = 0
    refused = ""
    try:
        while True:
            attempts += 1
            try:
                _on_warehouse("checkpoint")
                break
            except duckdb.TransactionException as refusal:
                refused = refused or f"; refused first: {refusal}"
                if stopped.wait(0.1):
                    raise
        _note(f"the warehouse checkpointed after the last model (attempt {attempts}{refused})")
    except Exception as failure:  # an optimization never fails a build
        _note(f"no checkpoint after the last model ({failure}); dbt's close makes it")


# DuckDB checkpoints at the commit that takes its write-ahead log past this; an incremental
# build's writes stay under it (DuckDB's default is 16 MB)
INCREMENTAL_CHECKPOINT_THRESHOLD = "1GB"


def _defer_checkpoints() -> None:
    """Keep DuckDB from checkpointing at the commits of a build without --full-refresh (its
    writes stay under INCREMENTAL_CHECKPOINT_THRESHOLD): `checkpoint_when_models_are_built`
    checkpoints once instead. A full build keeps DuckDB's default, a checkpoint every 16 MB
    of log: it writes gigabytes, which would all wait for that one checkpoint (and, after a
    crash, for a replay of the log)."""
    try:
        _on_warehouse(f"set global checkpoint_threshold = '{INCREMENTAL_CHECKPOINT_THRESHOLD}'")
    except Exception as failure:  # an optimization never fails a build
        _note(f"checkpoints not deferred ({failure})")


def checkpoint_when_models_are_built(
    queue: Any, checkpoint: Callable[[threading.Event], None] = _checkpoint_warehouse
) -> Callable[[], None]:
    """When `queue` (dbt's graph queue of a command) holds models or seeds, start a thread
    that waits until none is left to run or running, then checkpoints the warehouse. Returns
    what the caller calls once the queue is done (before dbt's on-run-end hooks, which
    write): it waits for the checkpoint, or stops the wait of a command that ended early.

    DuckDB checkpoints at the commit that takes its write-ahead log past
    `checkpoint_threshold`: during a build, on whichever model commits then, and every
    other commit waits for it; what is left, when dbt closes the database after the last
    node, while nothing else runs. Without --full-refresh, `_defer_checkpoints` leaves the
    build's writes to one checkpoint, made here as soon as nothing writes any more, while
    dbt's threads run the tests of the last models (reads, which a checkpoint does not
    block)."""
    if queue is None or not any(_is_query(node) for node in list(queue.graph)):
        return lambda: None
    stopped = threading.Event()

    def wait_then_checkpoint() -> None:
        with queue.some_task_done:
            while any(_is_query(node) for node in queue.graph):
                if stopped.is_set():
                    return
                queue.some_task_done.wait(timeout=0.5)
        checkpoint(stopped)

    thread = threading.Thread(target=wait_then_checkpoint, name="cxmart-checkpoint", daemon=True)
    thread.start()

    def finish() -> None:
        stopped.set()
        thread.join()

    return finish


# the commands a refresh runs through this entry point
REFRESH_COMMANDS: frozenset[str] = frozenset({"build", "run", "test"})


def skip_manifest_artifacts() -> None:
    """Make dbt skip writing manifest.json and semantic_manifest.json, nothing else: run
    results and the partial-parse cache are written as usual."""
    import dbt.parser.manifest
    import dbt.task.runnable

    def write_manifest(manifest: Any, target_path: str, which: str | None = None) -> None:
        return None

    dbt.parser.manifest.write_manifest = write_manifest  # type: ignore[assignment]
    dbt.task.runnable.write_manifest = write_manifest  # type: ignore[assignment]


def drop_unlogged_events() -> None:
    """Make dbt drop a debug event that none of the command's loggers writes before it
    formats the event, rather than after.

    dbt builds every event's message (its protobuf, the JSON or text line) for each logger,
    then lets Python's logging drop it below the logger's level. At `info` (the console and,
    by `dbt_project.yml`, the file log) that is every debug event: each statement's SQL, its
    status, each connection opened and closed, formatted twice and thrown away; 2.3 s of the
    9.2 s an SF10 incremental build held the interpreter lock, which dbt's threads share. Only
    events below `info` are dropped, only while every logger is above their level and the
    command has no callback but the one dbt adds itself (which reads warnings only):
    warnings, errors and `--debug` go dbt's way."""
    from dbt.tracking import track_behavior_change_warn
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.event_manager import EventManager

    if getattr(EventManager, "_cxmart_drops_unlogged", False):
        return
    order = [EventLevel.DEBUG, EventLevel.TEST, EventLevel.INFO, EventLevel.WARN, EventLevel.ERROR]
    rank = {level: position for position, level in enumerate(order)}
    stock_fire_event = EventManager.fire_event

    def fire_event(
        self: EventManager,
        e: Any,
        level: Any = None,
        node: Any = None,
        force_warn_or_error_handling: bool = False,
    ) -> None:
        event_rank = rank.get(level or e.level_tag(), len(order))
        if (
            event_rank < rank[EventLevel.INFO]
            and not force_warn_or_error_handling
            and all(callback is track_behavior_change_warn for callback in self.callbacks)
            and all(event_rank < rank.get(logger.level, 0) for logger in self.loggers)
        ):
            return
        stock_fire_event(self, e, level, node, force_warn_or_error_handling)

    EventManager.fire_event = fire_event  # type: ignore[method-assign]
    EventManager._cxmart_drops_unlogged = True  # type: ignore[attr-defined]


def _prepare() -> None:
    """Import dbt with cxmart's order of nodes: what a command spends its first seconds on."""
    use_longest_path_first()
    drop_unlogged_events()
    import dbt.cli.main  # noqa: F401


def _rehearse(arguments: Sequence[str]) -> bool:
    """A warm process's preparation (orchestration/dbt_warm.py), `arguments` the data home:
    import dbt, then parse the project once, into a scratch target path. dbt's first command
    in a process pays for what later ones reuse (its adapter's modules, the macros'
    templates): the build's start-up and parse then take about 0.6 s instead of 1.4 s. The
    data home's partial-parse cache is copied, so the rehearsal parses only what changed;
    parsing opens no connection to the warehouse, which ingestion is writing meanwhile.
    Whether the parse succeeded (a failed one only warms less)."""
    _prepare()
    from dbt.cli.main import dbtRunner

    home = Path(arguments[0])
    scratch = Path(tempfile.mkdtemp(prefix="cxmart-dbt-rehearsal-"))
    try:
        cache = paths.dbt_target_dir(home) / "partial_parse.msgpack"
        with contextlib.suppress(OSError):
            shutil.copy(cache, scratch)
        os.environ["CXMART_HOME"] = str(home)
        project = ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
        target = ["--target-path", str(scratch), "--log-path", str(scratch)]
        parsed = dbtRunner().invoke(["--quiet", "--no-write-json", "parse", *project, *target])
        return parsed.success
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run(argv: Sequence[str]) -> int:
    """dbt's command line on `argv`, as `cxmart-dbt <argv>`: its exit code."""
    _prepare()
    if REFRESH_COMMANDS.intersection(argv):
        skip_manifest_artifacts()
    from dbt.cli.main import cli

    try:
        cli(args=list(argv), prog_name="cxmart-dbt")
    except SystemExit as exited:
        if exited.code is None or isinstance(exited.code, int):
            return exited.code or 0
        print(exited.code, file=sys.stderr)
        return 1
    return 0


def main() -> None:
    if sys.argv[1:2] == [dbt_warm.SERVE_FLAG]:
        dbt_warm.serve(sys.argv[2:], _rehearse, _run)
        return
    code = dbt_warm.delegate(sys.argv[1:])
    sys.exit(_run(sys.argv[1:]) if code is None else code)


if __name__ == "__main__":
    main()
