"""`cxmart-dbt`: dbt whose threads take the ready node with the longest path below it first.

dbt hands a free thread the ready node of least depth (the fewest levels of the graph above
it). In a build, where tests are nodes of the graph too, that sends both threads through
the quick tests of early models while the next model of a long chain, which the rest of the
build waits for, stays ready in the queue: in cxmart the identity chain at the start, and
the follow-up cases the executive scorecard waits for at the end.

This entry point gives each node the length of the longest path from it to the end of the
graph instead (models and seeds count 1, tests 0.1: a test is quick next to a model) and
lets a free thread take the longest first, the classic critical-path rule for scheduling a
graph on a few workers. dbt's main loop would still take each node as soon as it is ready
and queue it for its threads first in, first out, so a node is handed out only when a
thread is free. Which nodes run, and what each waits for, does not change; only the order
among ready nodes does. Everything else is dbt's own command line.
"""

from __future__ import annotations

import sys
from typing import Any

import networkx as nx

# what a node adds to the paths through it: a model or seed is a query of the warehouse, a
# test a count over it, quick next to a model (the order is not sensitive to the ratio)
_TEST_WEIGHT = 0.1
_QUERY_RESOURCES = ("model", "seed", "snapshot")


def _weight(unique_id: str) -> float:
    return 1.0 if unique_id.split(".", 1)[0] in _QUERY_RESOURCES else _TEST_WEIGHT


def longest_path_first(graph: nx.DiGraph) -> dict[str, float]:
    """Per node, the score dbt's queue orders ready nodes by (lowest first): minus the
    weighted length of the longest path from the node to the end of the graph."""
    below: dict[str, float] = {}
    for node in reversed(list(nx.topological_sort(graph))):
        below[node] = _weight(node) + max(
            (below[child] for child in graph.successors(node)), default=0.0
        )
    return {node: -length for node, length in below.items()}


def use_longest_path_first() -> None:
    """Make dbt's graph queue score nodes by `longest_path_first`, and hand a node out only
    when a thread is free to run it.

    dbt's main loop takes every node off the queue as soon as it is ready and submits it to
    its thread pool, whose own queue is first in, first out: the scores would only order
    the nodes that became ready at the same moment. Holding each node back until one of the
    `threads` is free lets the scores pick among every node ready by then."""
    from dbt.graph.queue import GraphQueue
    from dbt.task.runnable import GraphRunnableTask

    if getattr(GraphQueue, "_cxmart_longest_path_first", False):
        return
    stock_get = GraphQueue.get
    stock_run_queue = GraphRunnableTask.run_queue

    def _get_scores(self: GraphQueue, graph: nx.DiGraph) -> dict[str, float]:
        return longest_path_first(graph)

    def get(self: GraphQueue, block: bool = True, timeout: float | None = None) -> Any:
        threads = getattr(self, "cxmart_threads", None)
        if threads and block:
            # one consumer (dbt's main loop): a node seen ready here is still there to take
            with self.some_task_done:
                while len(self.in_progress) >= threads or self.inner.empty():
                    self.some_task_done.wait(timeout=1.0)
        return stock_get(self, block, timeout)

    def run_queue(self: GraphRunnableTask, pool: Any) -> None:
        if self.job_queue is not None:
            self.job_queue.cxmart_threads = self.config.threads
        stock_run_queue(self, pool)

    GraphQueue._get_scores = _get_scores  # type: ignore[method-assign]
    GraphQueue.get = get  # type: ignore[method-assign]
    GraphQueue._cxmart_longest_path_first = True
    GraphRunnableTask.run_queue = run_queue  # type: ignore[method-assign]


def main() -> None:
    use_longest_path_first()
    from dbt.cli.main import cli

    sys.exit(cli())


if __name__ == "__main__":
    main()
