"""Reading options of a feed declaration: header rows, key row, footer, dropped rows, cells.

Parsed and validated here (the registry calls `parse_read_options`) so every mistake is
reported with the declaration's key and what is allowed, before any file is read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb

READ_KEYS: tuple[str, ...] = (
    "layout",
    "sheet",
    "skip_rows",
    "header_rows",
    "key_row",
    "footer",
    "drop_rows_where",
    "null_values",
    "decimal_separator",
)
TABULAR_FORMATS: tuple[str, ...] = ("csv", "tsv", "xlsx", "xls")
SPREADSHEET_FORMATS: tuple[str, ...] = ("xlsx", "xls")
KEY_ROW_RULES: tuple[str, ...] = ("import_id", "question_and_label", "qualtrics_legacy")
FOOTER_RULES: tuple[str, ...] = ("after_blank_line",)
DECIMAL_SEPARATORS: tuple[str, ...] = (".", ",")
MAX_HEADER_ROWS = 10

ErrorSink = Callable[[str, str], None]


@dataclass(frozen=True)
class RowRule:
    """Drop a row when `column`'s trimmed text is one of `texts` or matches `pattern`."""

    column: str
    texts: tuple[str, ...] = ()
    pattern: str | None = None


@dataclass(frozen=True)
class ReadOptions:
    layout: str = ""
    sheet: str | int | None = None  # name, or 1 for the first sheet
    skip_rows: int = 0  # lines before the header (report titles)
    header_rows: int = 1
    key_row: int | str = 1  # which header row names the columns, or a rule
    footer: int | str = 0  # trailing lines to drop, or "after_blank_line"
    drop_rows_where: tuple[RowRule, ...] = ()
    null_values: tuple[str, ...] = ()  # cell texts that mean "no answer"
    decimal_separator: str = "."


def parse_read_options(
    document: dict[Any, Any], feed_format: str, layout: str, error: ErrorSink
) -> ReadOptions:
    """The reading options of one declaration; problems go to `error(key, message)`."""
    for key in ("sheet", "skip_rows", "header_rows", "key_row", "footer"):
        allowed = SPREADSHEET_FORMATS if key == "sheet" else TABULAR_FORMATS
        if key in document and feed_format not in allowed:
            error(key, f"applies to format {', '.join(allowed)} only, not {feed_format!r}")
    header_rows = _count(document, "header_rows", 1, 0, MAX_HEADER_ROWS, error)
    return ReadOptions(
        layout=layout,
        sheet=_sheet(document.get("sheet"), error),
        skip_rows=_count(document, "skip_rows", 0, 0, None, error),
        header_rows=header_rows,
        key_row=_key_row(document.get("key_row", 1), header_rows, error),
        footer=_footer(document.get("footer", 0), error),
        drop_rows_where=_row_rules(document.get("drop_rows_where"), error),
        null_values=_texts("null_values", document.get("null_values"), error),
        decimal_separator=_decimal_separator(document.get("decimal_separator", "."), error),
    )


def _count(
    document: dict[Any, Any],
    key: str,
    default: int,
    low: int,
    high: int | None,
    error: ErrorSink,
) -> int:
    value = document.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        error(key, f"expected a whole number {bounds}, got {value!r}")
        return default
    return value


def _sheet(value: object, error: ErrorSink) -> str | int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    error("sheet", f"expected a sheet name or a sheet number (1 = first sheet), got {value!r}")
    return None


def _key_row(value: object, header_rows: int, error: ErrorSink) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool):
        if header_rows == 0 and value == 1:
            return 1  # no header: columns are named column1, column2, …
        if 1 <= value <= header_rows:
            return value
        error("key_row", f"expected a header row number 1..{header_rows}, got {value}")
        return 1
    if value in KEY_ROW_RULES:
        if header_rows < 2:
            error("key_row", f"{value!r} needs header_rows of at least 2, got {header_rows}")
        return str(value)
    error(
        "key_row",
        f"{value!r} is not allowed; allowed: a header row number 1..{max(header_rows, 1)}, "
        + ", ".join(KEY_ROW_RULES),
    )
    return 1


def _footer(value: object, error: ErrorSink) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if value in FOOTER_RULES:
        return str(value)
    error(
        "footer",
        f"{value!r} is not allowed; allowed: a number of trailing rows to drop, "
        + ", ".join(FOOTER_RULES),
    )
    return 0


def _texts(key: str, value: object, error: ErrorSink) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str | int) and not isinstance(value, bool) else value
    if (
        not isinstance(items, list)
        or not items
        or not all(isinstance(item, str | int) and not isinstance(item, bool) for item in items)
    ):
        error(key, f"expected a text or a list of texts, got {value!r}")
        return ()
    return tuple(str(item).strip() for item in items)


def _row_rules(value: object, error: ErrorSink) -> tuple[RowRule, ...]:
    if value is None:
        return ()
    if not isinstance(value, dict) or not value:
        error(
            "drop_rows_where",
            "expected a mapping of source column -> text, list of texts or {pattern: regex}",
        )
        return ()
    rules: list[RowRule] = []
    for column, condition in value.items():
        key = f"drop_rows_where.{column}"
        if isinstance(condition, dict):
            pattern = condition.get("pattern")
            if set(condition) != {"pattern"} or not isinstance(pattern, str) or not pattern:
                error(key, "expected {pattern: <regular expression>}")
                continue
            problem = _regex_problem(pattern)
            if problem:
                error(key, f"{pattern!r} is not a valid regular expression: {problem}")
                continue
            rules.append(RowRule(column=str(column), pattern=pattern))
            continue
        texts = _texts(key, condition, error)
        if texts:
            rules.append(RowRule(column=str(column), texts=texts))
    return tuple(rules)


def _decimal_separator(value: object, error: ErrorSink) -> str:
    if value in DECIMAL_SEPARATORS:
        return str(value)
    error(
        "decimal_separator",
        f"{value!r} is not allowed; allowed: " + ", ".join(repr(s) for s in DECIMAL_SEPARATORS),
    )
    return "."


def _regex_problem(pattern: str) -> str | None:
    """DuckDB's (RE2's) complaint about a pattern, checked before any file is read."""
    probe = duckdb.connect()
    try:
        probe.execute("select regexp_matches('', ?)", [pattern])
    except duckdb.Error as problem:
        return " ".join(str(problem).split("Error: ", 1)[-1].split())
    finally:
        probe.close()
    return None
