"""Delimited text (CSV, TSV): Python reads the few header lines, DuckDB reads the rest.

The header rows are parsed with Python's csv module (they may hold quoted line breaks, as
Qualtrics question texts do); the body is read by DuckDB's strict CSV reader with
`skip = <lines before the data>` and `header = false`, every column as VARCHAR, so a
million-row export never passes through Python.
"""

from __future__ import annotations

import csv
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ingestion.formats import FileRejected
from ingestion.formats.headers import column_keys
from ingestion.formats.rows import footer_lines, footer_start
from ingestion.warehouse import quote_identifier, quote_literal

if TYPE_CHECKING:
    from ingestion.registry import Feed

FOOTER_NOTE_LINES = 3
COPY_CHUNK_BYTES = 1 << 20


def read_delimited(
    con: duckdb.DuckDBPyConnection, feed: Feed, path: Path, table: str
) -> tuple[list[str], list[str]]:
    """Read a UTF-8 delimited file into `table` as text; return its column keys and notes."""
    options = feed.read
    preamble = options.skip_rows + options.header_rows
    records = _first_records(feed, path, preamble + 1)
    if not records:
        raise FileRejected("the file is empty: no header row")
    header = records[options.skip_rows : preamble]
    widths = header or records[options.skip_rows : options.skip_rows + 1] or [[]]
    keys = column_keys(header, max(len(row) for row in widths), options)
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="cxmart-read-") as scratch:
        body = path
        offset = footer_start(
            path, options, feed.csv.delimiter, feed.csv.quote, _data_start(path, feed, preamble)
        )
        if offset is not None:
            dropped = footer_lines(path, offset)
            if dropped:
                shown = " / ".join(dropped[:FOOTER_NOTE_LINES])
                hidden = len(dropped) - FOOTER_NOTE_LINES
                more = f" (+{hidden} more)" if hidden > 0 else ""
                notes.append(f"footer of {len(dropped)} line(s) dropped: {shown}{more}")
            body = Path(scratch) / f"body{path.suffix}"
            _copy_prefix(path, body, offset)
        elif options.footer == "after_blank_line":
            notes.append("no footer after a blank line: the export may have been cut short")
        try:
            _read_body(con, feed, body, table, keys, preamble)
        except duckdb.Error:
            # DuckDB ends a record at any bare carriage return, even inside an unquoted
            # field (tweets exported with "\r\r" in their text). Read a copy where bare CRs
            # stand in as a private-use character, then put them back: the text stays exact
            # and every record keeps its place. Any other problem raises as before.
            if not _has_bare_carriage_return(body):
                raise
            shielded = Path(scratch) / f"shielded{path.suffix}"
            _shield_bare_carriage_returns(body, shielded)
            _read_body(con, feed, shielded, table, keys, preamble)
            restored = ", ".join(
                f"{quote_identifier(name)} = replace({quote_identifier(name)}, "
                f"{quote_literal(CR_STAND_IN)}, chr(13))"
                for name in keys
            )
            con.execute(f"update {table} set {restored}")
            notes.append("bare carriage returns inside unquoted fields kept as text")
    return keys, notes


def _dialect(feed: Feed) -> dict[str, object]:
    options = feed.csv
    dialect: dict[str, object] = {"delimiter": options.delimiter}
    if options.quote:
        dialect["quotechar"] = options.quote
        if options.escape and options.escape != options.quote:
            dialect.update(escapechar=options.escape, doublequote=False)
    else:
        dialect["quoting"] = csv.QUOTE_NONE
    return dialect


def _first_records(feed: Feed, path: Path, count: int) -> list[list[str]]:
    # Undecodable bytes further down are DuckDB's to report, with their line number.
    records: list[list[str]] = []
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as stream:
            reader = csv.reader(stream, **_dialect(feed))  # type: ignore[arg-type]
            for record in reader:
                records.append(record)
                if len(records) == count:
                    break
    except csv.Error as error:
        raise FileRejected(f"cannot read the header row: {error}") from None
    return records


def _data_start(path: Path, feed: Feed, preamble: int) -> int:
    """Byte offset just after the first `preamble` records (quote-aware, blank lines count)."""
    if preamble == 0:
        return 0
    quote = feed.csv.quote.encode()
    offset, seen, inside = 0, 0, False
    with path.open("rb") as stream:
        for line in stream:
            offset += len(line)
            if quote:
                inside ^= line.count(quote) % 2 == 1
            if not inside:
                seen += 1
                if seen == preamble:
                    break
    return offset


def _copy_prefix(source: Path, target: Path, length: int) -> None:
    with source.open("rb") as incoming, target.open("wb") as out:
        remaining = length
        while remaining > 0:
            chunk = incoming.read(min(COPY_CHUNK_BYTES, remaining))
            if not chunk:
                break
            out.write(chunk)
            remaining -= len(chunk)


def _read_body(
    con: duckdb.DuckDBPyConnection,
    feed: Feed,
    path: Path,
    table: str,
    keys: list[str],
    preamble: int,
) -> None:
    columns = ", ".join(f"{quote_literal(name)}: 'VARCHAR'" for name in keys)
    options = feed.csv
    # auto_detect=false: DuckDB then reports the exact line of a malformed row instead of
    # failing to "sniff a dialect"; strict mode rejects wrong column counts and bad quotes.
    con.execute(
        f"create or replace temp table {table} as select * from read_csv("
        f"{quote_literal(str(path))}, header = false, skip = {preamble}, auto_detect = false, "
        f"columns = {{{columns}}}, delim = {quote_literal(options.delimiter)}, "
        f"quote = {quote_literal(options.quote)}, escape = {quote_literal(options.escape)}, "
        "strict_mode = true, null_padding = false, ignore_errors = false)"
    )


CR_STAND_IN = "\ue000"  # Unicode private use: never meaningful in an export
BARE_CR = re.compile(rb"\r(?!\n)")


def _bare_cr_blocks(path: Path) -> Iterator[bytes]:
    """The file in blocks, never splitting a CR from the LF that may follow it."""
    carry = b""
    with path.open("rb") as source:
        while chunk := source.read(COPY_CHUNK_BYTES):
            block = carry + chunk
            carry = b"\r" if block.endswith(b"\r") else b""
            yield block[: len(block) - len(carry)]
    yield carry  # a CR that ends the file is bare


def _has_bare_carriage_return(path: Path) -> bool:
    return any(BARE_CR.search(block) for block in _bare_cr_blocks(path))


def _shield_bare_carriage_returns(source_path: Path, target: Path) -> None:
    stand_in = CR_STAND_IN.encode()
    with target.open("wb") as out:
        for block in _bare_cr_blocks(source_path):
            out.write(BARE_CR.sub(stand_in, block))
