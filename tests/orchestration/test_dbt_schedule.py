"""cxmart-dbt: dbt's threads take the ready node with the longest path below it first."""

from __future__ import annotations

import io
import json
import subprocess
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import networkx as nx
import pytest
from dbt.graph.queue import GraphQueue
from dbt.task.runnable import GraphRunnableTask
from dbt_common.events.base_types import EventLevel
from dbt_common.events.types import Note

from orchestration import dbt_schedule
from orchestration.dbt_assets import DBT_EXECUTABLE
from orchestration.dbt_schedule import (
    NODE_COSTS,
    checkpoint_when_models_are_built,
    drop_unlogged_events,
    longest_path_first,
    update_node_costs,
    use_longest_path_first,
)


class _Manifest:
    """What GraphQueue.get asks of a manifest: the node, to see whether it is a microbatch."""

    def expect(self, unique_id: str) -> SimpleNamespace:
        return SimpleNamespace(unique_id=unique_id)


def _build_graph() -> nx.DiGraph:
    """A build's shape: a seed with five tests nothing waits for, and a staging model whose
    test runs before its child (dbt build's test edges), the head of a three-model chain."""
    graph = nx.DiGraph()
    for n in range(5):
        graph.add_edge("seed.cx.rules", f"test.cx.check_{n}")
    graph.add_edge("model.cx.stg", "test.cx.gate")
    graph.add_edge("test.cx.gate", "model.cx.chain_1")
    graph.add_edge("model.cx.chain_1", "model.cx.chain_2")
    graph.add_edge("model.cx.chain_2", "model.cx.chain_3")
    return graph


def _order(queue: GraphQueue) -> list[str]:
    """The nodes in the order one thread gets them, each done before the next get."""
    taken = []
    while not queue.empty():
        node = queue.get(block=False)
        taken.append(node.unique_id)
        queue.mark_done(node.unique_id)
    return taken


# what each model and seed of _build_graph took when it last ran (its tests never ran)
_MEASURED = {
    "model.cx.stg": 1.0,
    "seed.cx.rules": 0.3,
    "model.cx.chain_1": 1.0,
    "model.cx.chain_2": 1.0,
    "model.cx.chain_3": 1.0,
}


def _patch_dbt(monkeypatch: pytest.MonkeyPatch, costs: dict[str, float] = _MEASURED) -> None:
    """use_longest_path_first on dbt's classes, as if the target path had `costs`; dbt's
    classes are put back as they were after the test."""
    monkeypatch.setattr(dbt_schedule, "_costs", dict(costs))
    for cls, name in (
        (GraphQueue, "_get_scores"),
        (GraphQueue, "get"),
        (GraphQueue, "_cxmart_longest_path_first"),
        (GraphRunnableTask, "_runtime_initialize"),
        (GraphRunnableTask, "run_queue"),
    ):
        monkeypatch.setattr(cls, name, getattr(cls, name, False), raising=False)
    use_longest_path_first()


def test_a_node_scores_minus_the_longest_path_below_it() -> None:
    # a node never run counts a guess: a second for a model, 0.3 for a seed, 0.1 for a test
    scores = longest_path_first(_build_graph(), {})
    assert scores["model.cx.chain_3"] == pytest.approx(-1.0)
    assert scores["test.cx.gate"] == pytest.approx(-3.1)
    assert scores["model.cx.stg"] == pytest.approx(-4.1)
    assert scores["test.cx.check_0"] == pytest.approx(-0.1)
    assert scores["seed.cx.rules"] == pytest.approx(-0.4)
    # the seconds a node took when it last ran count instead: a slow seed goes first
    measured = longest_path_first(_build_graph(), {"seed.cx.rules": 9.0, "model.cx.chain_2": 2.5})
    assert measured["seed.cx.rules"] == pytest.approx(-9.1)
    assert measured["model.cx.stg"] == pytest.approx(-5.6)


def test_a_free_thread_takes_the_next_model_of_the_long_chain_before_quick_tests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    graph = _build_graph()
    stock = _order(GraphQueue(graph.copy(), _Manifest(), set(graph)))
    # dbt's own order: by depth, so every test of the first level goes before the chain
    assert stock.index("test.cx.check_4") < stock.index("model.cx.chain_1")

    _patch_dbt(monkeypatch)
    queue = GraphQueue(graph.copy(), _Manifest(), set(graph))
    assert queue._scores == longest_path_first(graph, _MEASURED)
    ordered = _order(queue)
    assert ordered[:4] == ["model.cx.stg", "test.cx.gate", "model.cx.chain_1", "model.cx.chain_2"]
    assert sorted(ordered) == sorted(stock)


def test_a_node_is_handed_out_only_when_a_thread_is_free(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """dbt's main loop submits what it gets to a first-in-first-out pool: a node taken while
    every thread is busy would jump the nodes that become ready before a thread frees up."""
    _patch_dbt(monkeypatch)
    graph = _build_graph()
    queue = GraphQueue(graph.copy(), _Manifest(), set(graph))
    queue.cxmart_threads = 2
    running = [queue.get().unique_id, queue.get().unique_id]
    assert running == ["model.cx.stg", "seed.cx.rules"]
    taken: list[str] = []
    third = threading.Thread(target=lambda: taken.append(queue.get().unique_id), daemon=True)
    third.start()
    third.join(timeout=0.5)
    assert third.is_alive() and not taken  # both threads busy: nothing handed out
    queue.mark_done("model.cx.stg")  # frees a thread and makes the gate test ready
    third.join(timeout=5)
    assert taken == ["test.cx.gate"]  # ahead of the seed's five tests, ready before it


def test_a_build_with_a_model_never_run_keeps_dbts_order(monkeypatch: pytest.MonkeyPatch) -> None:
    graph = _build_graph()
    stock = GraphQueue(graph.copy(), _Manifest(), set(graph))
    _patch_dbt(monkeypatch, {k: v for k, v in _MEASURED.items() if k != "model.cx.chain_3"})
    queue = GraphQueue(graph.copy(), _Manifest(), set(graph))
    assert queue._scores == stock._scores
    assert not getattr(queue, "cxmart_longest_path_first", False)  # no holding back either
    assert _order(queue) == _order(stock)


def _result(unique_id: str, seconds: float, executed: bool = True) -> dict[str, object]:
    """A node's entry in dbt's run_results.json; a node not executed has no execute timing."""
    timing = [{"name": "compile", "started_at": "2026-12-05T06:00:00Z"}]
    if executed:
        timing.append({"name": "execute", "started_at": "2026-12-05T06:00:01Z"})
    return {"unique_id": unique_id, "execution_time": seconds, "timing": timing}


def test_the_costs_are_what_each_node_took_when_it_last_ran(tmp_path: Path) -> None:
    (tmp_path / NODE_COSTS).write_text(json.dumps({"model.cx.a": 4.0, "model.cx.b": 2.0}))
    (tmp_path / "run_results.json").write_text(
        json.dumps(
            {
                "results": [
                    _result("model.cx.b", 3.5),
                    _result("test.cx.c", 0.2),
                    _result("model.cx.a", 0.0, executed=False),  # skipped: keeps its cost
                ]
            }
        )
    )
    expected = {"model.cx.a": 4.0, "model.cx.b": 3.5, "test.cx.c": 0.2}
    assert update_node_costs(tmp_path) == expected
    assert json.loads((tmp_path / NODE_COSTS).read_text()) == expected


def test_unreadable_costs_count_as_none(tmp_path: Path) -> None:
    (tmp_path / NODE_COSTS).write_text("{not json")
    (tmp_path / "run_results.json").write_text(json.dumps({"results": [{"unique_id": 1}]}))
    assert update_node_costs(tmp_path) == {}
    assert update_node_costs(tmp_path / "missing") == {}


def test_refreshes_run_dbt_through_the_installed_entry_point() -> None:
    assert Path(DBT_EXECUTABLE).name == "cxmart-dbt"
    result = subprocess.run(
        [DBT_EXECUTABLE, "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Core:" in result.stdout


def _event_manager(level: str, formatted: list[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """An event manager of dbt, as cxmart-dbt patches it, with one logger at `level` writing
    to a string; `formatted` collects the messages dbt builds a log message for."""
    import dbt_common.events.event_manager as event_manager
    from dbt_common.events.logger import LoggerConfig

    drop_unlogged_events()

    stock = event_manager.msg_from_base_event

    def msg_from_base_event(event: Any, level: Any = None) -> Any:
        formatted.append(event.msg)
        return stock(event, level=level)

    monkeypatch.setattr(event_manager, "msg_from_base_event", msg_from_base_event)
    manager = event_manager.EventManager()
    stream = io.StringIO()
    manager.add_logger(
        LoggerConfig(name=f"cxmart-test-{level}", level=EventLevel(level), output_stream=stream)
    )
    return manager


def test_a_debug_event_no_logger_writes_is_dropped_before_dbt_formats_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    formatted: list[str] = []
    manager = _event_manager("info", formatted, monkeypatch)
    manager.fire_event(Note(msg="select 1"), level=EventLevel.DEBUG)
    manager.fire_event(Note(msg="1 of 9 OK created model"), level=EventLevel.INFO)
    manager.fire_event(Note(msg="a warning"), level=EventLevel.WARN)
    assert formatted == ["1 of 9 OK created model", "a warning"]
    written = manager.loggers[0]._python_logger.handlers[0].stream.getvalue()
    assert "1 of 9 OK created model" in written and "select 1" not in written


def test_debug_events_still_reach_a_debug_logger_and_any_callback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    formatted: list[str] = []
    manager = _event_manager("debug", formatted, monkeypatch)
    manager.fire_event(Note(msg="select 1"), level=EventLevel.DEBUG)
    assert "select 1" in manager.loggers[0]._python_logger.handlers[0].stream.getvalue()

    received: list[str] = []
    quiet = _event_manager("info", formatted, monkeypatch)
    quiet.add_callback(lambda msg: received.append(msg.info.msg))
    quiet.fire_event(Note(msg="select 2"), level=EventLevel.DEBUG)
    assert received == ["select 2"]


def _queue_of(*nodes: str) -> SimpleNamespace:
    """What checkpoint_when_models_are_built reads of dbt's graph queue: the nodes not done
    yet, and the condition dbt notifies when one is."""
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    return SimpleNamespace(graph=graph, some_task_done=threading.Condition())


def _mark_done(queue: SimpleNamespace, node: str) -> None:
    with queue.some_task_done:
        queue.graph.remove_node(node)
        queue.some_task_done.notify_all()


def test_the_warehouse_is_checkpointed_once_the_last_model_is_built_while_tests_remain() -> None:
    queue = _queue_of("model.cxmart.fct_calls", "seed.cxmart.holidays", "test.cxmart.unique_x")
    checkpoints: list[list[str]] = []
    finish = checkpoint_when_models_are_built(
        queue, checkpoint=lambda stopped: checkpoints.append(sorted(queue.graph))
    )
    _mark_done(queue, "seed.cxmart.holidays")
    _mark_done(queue, "model.cxmart.fct_calls")
    finish()
    # once, with the test still to run: the checkpoint did not wait for the end of the build
    assert checkpoints == [["test.cxmart.unique_x"]]


def test_a_command_that_ends_before_its_models_are_built_makes_no_checkpoint() -> None:
    queue = _queue_of("model.cxmart.fct_calls", "test.cxmart.unique_x")
    checkpoints: list[str] = []
    record = lambda stopped: checkpoints.append("checkpoint")  # noqa: E731
    finish = checkpoint_when_models_are_built(queue, checkpoint=record)
    finish()  # returns: the waiting thread stops (a failed or interrupted build)
    assert checkpoints == []
    tests_only = _queue_of("test.cxmart.unique_x")
    checkpoint_when_models_are_built(tests_only, checkpoint=record)()
    assert checkpoints == []  # `dbt test` writes nothing to checkpoint
