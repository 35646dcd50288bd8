"""Run a table's suite with Great Expectations' SQL engine against a DuckDB file, read-only.

GX's SQL datasource cannot read DuckDB out of the box (GX 1.24, duckdb-engine 0.17,
SQLAlchemy 2.x): GX executes a query, hands the connection back, and only then fetches the
rows. Handing a connection back ends its transaction, and on DuckDB a ROLLBACK discards the
pending result, so every metric query comes back with no rows (GX reports `list index out of
range`; no pool class avoids the rollback). Two small adapters make it work while keeping
all the computation in SQL inside DuckDB:

* the DB-API connection GX gets is built by our own `creator`: it opens the file read-only
  and returns cursors that fetch a statement's rows as soon as it runs. GX's metric queries
  return aggregates or a few sample rows, so buffering them costs nothing;
* the connection's default schema is the table's schema, because GX's column-listing
  fallback names the table without its schema (duckdb-engine's own reflection queries
  PostgreSQL catalogs DuckDB lacks).

Every connection opened is closed before `validate` returns, so the file is free for the
next writer straight away. Validating several tables in a row, `held_open` keeps the file
open read-only around them: DuckDB then serves each connection from the database already
open instead of reading the file's catalog again, twice a table (SF10: 0.07 s a table).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import duckdb_engine

from expectations.suites import TableSuite, suite_for

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )

DEFAULT_SAMPLE_SIZE = 5
ROW_COUNT_EXPECTATION = "expect_table_row_count_to_be_between"
# Expectation arguments that say what was expected (the rest name columns or GX plumbing).
EXPECTED_ARGUMENTS: tuple[str, ...] = ("min_value", "max_value", "value_set", "or_equal")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class FailedExpectation:
    """One expectation that did not hold, with enough detail to go and look at the rows."""

    expectation: str
    column: str | None
    expected: str
    observed: Any = None
    unexpected_count: int | None = None
    element_count: int | None = None
    unexpected_sample: tuple[Any, ...] = ()
    error: str | None = None

    def describe(self, table: str) -> str:
        where = f"{table}.{self.column}" if self.column else table
        if self.error:
            return f"{where}: {self.expectation} could not be evaluated: {self.error}"
        if self.unexpected_count is not None:
            sample = ", ".join(repr(value) for value in self.unexpected_sample)
            return (
                f"{where}: {self.unexpected_count} of {self.element_count} rows break "
                f"{self.expectation} ({self.expected}); e.g. {sample}"
            )
        return f"{where}: {self.expectation} ({self.expected}) observed {self.observed!r}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "expectation": self.expectation,
            "column": self.column,
            "expected": self.expected,
            "observed": _jsonable(self.observed),
            "unexpected_count": self.unexpected_count,
            "element_count": self.element_count,
            "unexpected_sample": [_jsonable(value) for value in self.unexpected_sample],
            "error": self.error,
        }


@dataclass(frozen=True)
class ValidationOutcome:
    table: str
    db_path: Path
    success: bool
    evaluated: int
    row_count: int | None
    failed: tuple[FailedExpectation, ...] = field(default_factory=tuple)
    seconds: float = 0.0

    def summary(self) -> str:
        head = (
            f"{self.table}: {self.evaluated - len(self.failed)}/{self.evaluated} expectations "
            f"passed on {self.row_count} rows ({self.db_path})"
        )
        return "\n".join(
            [head, *(f"  - {failure.describe(self.table)}" for failure in self.failed)]
        )

    def as_metadata(self) -> dict[str, Any]:
        """JSON-friendly values, e.g. for Dagster asset-check metadata."""
        metadata: dict[str, Any] = {
            "table": self.table,
            "success": self.success,
            "expectations_evaluated": self.evaluated,
            "expectations_failed": len(self.failed),
            "seconds": round(self.seconds, 3),
        }
        if self.row_count is not None:
            metadata["row_count"] = self.row_count
        if self.failed:
            metadata["failures"] = [failure.as_dict() for failure in self.failed]
            metadata["summary"] = self.summary()
        return metadata


@contextlib.contextmanager
def held_open(db_path: Path) -> Iterator[None]:
    """Keep the DuckDB file `db_path` open read-only while several of its tables are
    validated in this process (nothing is held when the file does not exist). The process
    cannot open it read-write until the block ends: validate, then write."""
    if not db_path.is_file():
        yield
        return
    connection = duckdb.connect(str(db_path), read_only=True)
    try:
        yield
    finally:
        connection.close()


def validate(
    db_path: Path,
    table: str,
    *,
    suite: TableSuite | None = None,
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    where: str | None = None,
) -> ValidationOutcome:
    """Validate `table` (`<schema>.<table>`) in the DuckDB file `db_path` against its suite.

    With `where` (a SQL condition on the table's columns), only the rows it selects are
    validated, e.g. the rows landed since the last passing validation. The file is opened
    read-only and closed again before returning. A missing table is a failed outcome, not an
    exception; a missing file raises FileNotFoundError.
    """
    started = time.perf_counter()
    suite = suite or suite_for(table)
    if suite.table != table:
        raise ValueError(f"suite for {suite.table!r} passed to validate {table!r}")
    for part in (suite.schema, suite.table_name):
        if not IDENTIFIER.match(part):
            raise ValueError(f"table name {table!r}: {part!r} is not a plain SQL identifier")
    if not db_path.is_file():
        raise FileNotFoundError(f"cannot validate {table}: DuckDB file {db_path} does not exist")

    if not _table_exists(db_path, suite):
        missing = FailedExpectation(
            expectation="table_exists",
            column=None,
            expected=f"table {table} in {db_path}",
            error=f"{table} does not exist in {db_path}",
        )
        return ValidationOutcome(
            table=table,
            db_path=db_path,
            success=False,
            evaluated=0,
            row_count=None,
            failed=(missing,),
            seconds=time.perf_counter() - started,
        )

    opened: list[duckdb.DuckDBPyConnection] = []
    try:
        suite_result = _run_suite(
            suite, _read_only_connector(db_path, suite.schema, opened), sample_size, where
        )
    finally:
        for connection in opened:
            connection.close()

    results = list(suite_result.results)
    failed = tuple(_failure(result) for result in results if not result.success)
    return ValidationOutcome(
        table=table,
        db_path=db_path,
        success=bool(suite_result.success) and not failed,
        evaluated=len(results),
        row_count=_observed_row_count(results),
        failed=failed,
        seconds=time.perf_counter() - started,
    )


def _table_exists(db_path: Path, suite: TableSuite) -> bool:
    connection = duckdb.connect(str(db_path), read_only=True)
    try:
        found = connection.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [suite.schema, suite.table_name],
        ).fetchone()
    finally:
        connection.close()
    return bool(found and found[0])


def _run_suite(
    suite: TableSuite,
    connector: Callable[[], _ReadOnlyConnection],
    sample_size: int,
    where: str | None = None,
) -> ExpectationSuiteValidationResult:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )
    from great_expectations.datasource.fluent import SQLDatasource

    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            progress_bars=ProgressBarsConfig(globally=False),
            analytics_enabled=False,
        ),
    )
    # The URL only picks the dialect; every connection comes from `connector`.
    datasource = context.data_sources.add_sql(
        datasource=SQLDatasource(
            name="cxmart_duckdb",
            connection_string="duckdb:///:memory:",
            kwargs={"creator": connector},
            create_temp_table=False,
        )
    )
    try:
        if where is None:
            asset = datasource.add_table_asset(
                name=suite.table, table_name=suite.table_name, schema_name=suite.schema
            )
        else:
            asset = datasource.add_query_asset(
                name=suite.table,
                query=f"select * from {suite.schema}.{suite.table_name} where {where}",
            )
        batch = asset.add_batch_definition_whole_table("whole_table").get_batch()
        gx_suite = gx.ExpectationSuite(name=suite.table, expectations=suite.expectations())
        return batch.validate(
            gx_suite,
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": sample_size},
        )
    finally:
        datasource.get_execution_engine().engine.dispose()
        datasource.get_engine().dispose()


def _read_only_connector(
    db_path: Path, schema: str, opened: list[duckdb.DuckDBPyConnection]
) -> Callable[[], _ReadOnlyConnection]:
    """A SQLAlchemy `creator` that opens `db_path` read-only and records what it opened."""

    def connect() -> _ReadOnlyConnection:
        connection = duckdb.connect(str(db_path), read_only=True)
        opened.append(connection)
        connection.execute(f"set schema = '{schema}'")
        return _ReadOnlyConnection(connection)

    return connect


class _ReadOnlyConnection:
    """duckdb-engine's DB-API connection, with cursors that buffer their rows on execute."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self._wrapped = duckdb_engine.ConnectionWrapper(connection)

    def cursor(self) -> _BufferedCursor:
        return _BufferedCursor(self._wrapped.cursor())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)


class _BufferedCursor:
    """Fetches a statement's rows right after running it, before any ROLLBACK can drop them."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self._rows: list[tuple[Any, ...]] = []
        self.description: Sequence[Any] | None = None

    def execute(self, statement: str, parameters: Any = None, context: Any = None) -> None:
        self._cursor.execute(statement, parameters)
        self.description = self._cursor.description
        self._rows = list(self._cursor.fetchall()) if self.description else []

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        count = size or 1
        batch, self._rows = self._rows[:count], self._rows[count:]
        return batch

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows, []
        return rows

    def close(self) -> None:
        self._rows = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


def _observed_row_count(results: Sequence[ExpectationValidationResult]) -> int | None:
    for result in results:
        if result.expectation_config is None:
            continue
        if result.expectation_config.type == ROW_COUNT_EXPECTATION:
            observed = (result.result or {}).get("observed_value")
            return int(observed) if observed is not None else None
    return None


def _failure(result: ExpectationValidationResult) -> FailedExpectation:
    config = result.expectation_config
    kwargs: dict[str, Any] = dict(config.kwargs) if config is not None else {}
    details: dict[str, Any] = result.result or {}
    return FailedExpectation(
        expectation=config.type if config is not None else "unknown",
        column=_columns(kwargs),
        expected=", ".join(
            f"{name}={kwargs[name]!r}" for name in EXPECTED_ARGUMENTS if name in kwargs
        ),
        observed=details.get("observed_value"),
        unexpected_count=details.get("unexpected_count"),
        element_count=details.get("element_count"),
        unexpected_sample=tuple(details.get("partial_unexpected_list") or ()),
        error=_exception_message(result.exception_info),
    )


def _columns(kwargs: dict[str, Any]) -> str | None:
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_list" in kwargs:
        return ", ".join(kwargs["column_list"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']}, {kwargs['column_B']}"
    return None


def _exception_message(exception_info: dict[str, Any] | None) -> str | None:
    """GX reports either one exception or one per metric it could not compute."""
    if not exception_info:
        return None
    entries: Iterator[Any] = (
        iter([exception_info])
        if "raised_exception" in exception_info
        else iter(exception_info.values())
    )
    messages = [
        str(entry.get("exception_message"))
        for entry in entries
        if isinstance(entry, dict) and entry.get("raised_exception")
    ]
    return "; ".join(messages) or None


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return str(value)
