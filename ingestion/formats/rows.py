"""Rows that are not data: a trailing footer, and rows a declaration says to drop.

The footer is found before DuckDB reads the file (a footer line has the wrong number of
columns, which DuckDB's strict reader rightly rejects). Dropped rows (`drop_rows_where`) are
expressed as one SQL predicate, so DuckDB filters them in the same pass that types the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path

from ingestion.formats.options import ReadOptions
from ingestion.warehouse import quote_literal

TAIL_BYTES = 1 << 16
# A footer is a short block; more lines after a blank line means the blank line is data.
FOOTER_MAX_LINES = 20
COUNT_CHUNK_BYTES = 1 << 20
BLANK_CHARACTERS = " \t\r\n\ufeff"


def footer_start(
    path: Path, options: ReadOptions, delimiter: str, quote: str, data_start: int
) -> int | None:
    """Byte offset where the footer of a delimited UTF-8 file starts, or None.

    `data_start` is the offset of the first data line: blank lines above it are not footers.
    """
    if not options.footer:
        return None
    size = path.stat().st_size
    start = max(data_start, size - TAIL_BYTES)
    with path.open("rb") as stream:
        inside_quotes = _odd_quote_count(stream, start, quote)
        stream.seek(start)
        tail = stream.read()
    lines: list[tuple[int, bytes]] = []  # (offset, line) of lines starting at a record edge
    offset = start
    for line in tail.splitlines(keepends=True):
        if not inside_quotes and (offset > start or start == data_start):
            lines.append((offset, line))
        if quote:
            inside_quotes ^= line.count(quote.encode()) % 2 == 1
        offset += len(line)
    blank_characters = BLANK_CHARACTERS + delimiter + quote
    filled = [
        (at, line) for at, line in lines if line.decode("utf-8", "replace").strip(blank_characters)
    ]
    if isinstance(options.footer, int):
        return filled[-options.footer][0] if len(filled) >= options.footer else data_start
    for at, line in lines:
        if line.decode("utf-8", "replace").strip(blank_characters):
            continue
        after = sum(1 for filled_at, _ in filled if filled_at > at)
        if after <= FOOTER_MAX_LINES:
            return at
    return None


def footer_lines(path: Path, offset: int) -> list[str]:
    """The footer's non-blank lines, as text, for the manifest note."""
    with path.open("rb") as stream:
        stream.seek(offset)
        text = stream.read().decode("utf-8", "replace")
    return [line.strip().strip('"') for line in text.splitlines() if line.strip(' \t"')]


def spreadsheet_footer_start(rows: list[list[str]], options: ReadOptions) -> int | None:
    """Index of the first footer row of a sheet's data rows, or None."""
    if not options.footer:
        return None
    filled = [index for index, row in enumerate(rows) if any(cell.strip() for cell in row)]
    if isinstance(options.footer, int):
        return filled[-options.footer] if len(filled) >= options.footer else 0
    for index, row in enumerate(rows):
        if any(cell.strip() for cell in row):
            continue
        if sum(1 for filled_index in filled if filled_index > index) <= FOOTER_MAX_LINES:
            return index
    return None


def drop_predicate(
    options: ReadOptions, present: Collection[str], cell_sql: Callable[[str], str]
) -> tuple[str | None, list[str]]:
    """SQL true for a row to drop (None: keep all), and notes on rules that cannot apply."""
    conditions: list[str] = []
    notes: list[str] = []
    for rule in options.drop_rows_where:
        if rule.column not in present:
            notes.append(
                f"drop_rows_where: column {rule.column!r} is not in the file; rule not applied"
            )
            continue
        cell = cell_sql(rule.column)
        if rule.pattern is not None:
            conditions.append(f"regexp_matches({cell}, {quote_literal(rule.pattern)})")
        else:
            texts = ", ".join(quote_literal(text) for text in rule.texts)
            conditions.append(f"trim({cell}) in ({texts})")
    if not conditions:
        return None, notes
    return "coalesce(" + " or ".join(conditions) + ", false)", notes


def _odd_quote_count(stream: object, end: int, quote: str) -> bool:
    """Whether the bytes before `end` hold an odd number of quote characters (inside a field)."""
    if not quote or end == 0:
        return False
    mark = quote.encode()
    count = 0
    stream.seek(0)  # type: ignore[attr-defined]
    remaining = end
    while remaining > 0:
        chunk = stream.read(min(COUNT_CHUNK_BYTES, remaining))  # type: ignore[attr-defined]
        if not chunk:
            break
        count += chunk.count(mark)
        remaining -= len(chunk)
    return count % 2 == 1
