"""Spreadsheets (XLSX, XLS): one sheet, read with pandas, handed to DuckDB as text columns.

Spreadsheets are small (Excel stops at about a million rows), so Python may touch every cell:
numbers are written back as the export showed them (`5`, not `5.0`), dates in the feed's
first timestamp format, so the one typing pass in SQL treats sheets and CSVs alike.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from ingestion.formats import FileRejected
from ingestion.formats.headers import column_keys
from ingestion.formats.rows import spreadsheet_footer_start
from ingestion.warehouse import quote_identifier

if TYPE_CHECKING:
    from ingestion.registry import Feed

ENGINES = {"xlsx": "openpyxl", "xls": "xlrd"}
ISO_TIMESTAMP = "%Y-%m-%d %H:%M:%S"
FOOTER_NOTE_ROWS = 3
SHEET_VIEW = "cx_ingest_sheet"


def read_spreadsheet(
    con: duckdb.DuckDBPyConnection, feed: Feed, path: Path, table: str
) -> tuple[list[str], list[str]]:
    """Read the declared sheet into `table` as text; return its column keys and notes."""
    options = feed.read
    rows = _sheet_rows(feed, path)
    while rows and not any(rows[-1]):
        rows.pop()
    rows = rows[options.skip_rows :]
    if not rows:
        raise FileRejected(f"the sheet {_sheet_label(feed)} is empty: no header row")
    header, body = rows[: options.header_rows], rows[options.header_rows :]
    width = max(len(_trimmed(row)) for row in header or body[:1])
    keys = column_keys(header, width, options)
    notes: list[str] = []
    cut = spreadsheet_footer_start(body, options)
    if cut is not None:
        footer = [" ".join(cell for cell in row if cell) for row in body[cut:] if any(row)]
        if footer:
            notes.append(
                f"footer of {len(footer)} row(s) dropped: " + " / ".join(footer[:FOOTER_NOTE_ROWS])
            )
        body = body[:cut]
    elif options.footer == "after_blank_line":
        notes.append("no footer after a blank row: the export may have been cut short")
    # Blank rows are skipped, as DuckDB skips blank lines of a CSV.
    body = [row for row in body if any(row)]
    for number, row in enumerate(body, start=1):
        if len(_trimmed(row)) > width:
            raise FileRejected(
                f"data row {number} has a value in column {len(_trimmed(row))}, beyond the "
                f"{width} column(s) of the header"
            )
    _load(con, table, keys, [row[:width] + [""] * (width - len(row)) for row in body])
    return keys, notes


def _sheet_label(feed: Feed) -> str:
    sheet = feed.read.sheet
    return "1 (the first)" if sheet is None else repr(sheet)


def _sheet_rows(feed: Feed, path: Path) -> list[list[str]]:
    engine = ENGINES[feed.format]
    try:
        workbook = pd.ExcelFile(path, engine=engine)
    except ImportError:
        raise FileRejected(
            f"reading .{feed.format} files needs the {engine} package, which is not installed"
        ) from None
    except Exception as error:  # the engines raise many types for a corrupt file
        raise FileRejected(f"cannot open the {feed.format} workbook: {error}") from None
    with workbook:
        sheet = feed.read.sheet
        names = [str(name) for name in workbook.sheet_names]
        missing = sheet not in names if isinstance(sheet, str) else (sheet or 1) > len(names)
        if missing:
            raise FileRejected(
                f"no sheet {sheet!r} in the workbook; sheets: "
                + ", ".join(f"{number}: {name!r}" for number, name in enumerate(names, 1))
            )
        selected = sheet if isinstance(sheet, str) else (sheet or 1) - 1
        frame = workbook.parse(selected, header=None, dtype=object, na_filter=False)
    timestamp_format = next(
        (text for text in feed.timestamp_formats if "%z" not in text and "%Z" not in text),
        ISO_TIMESTAMP,
    )
    separator = feed.read.decimal_separator
    return [
        [_cell_text(value, timestamp_format, separator) for value in row]
        for row in frame.itertuples(index=False, name=None)
    ]


def _cell_text(value: object, timestamp_format: str, decimal_separator: str) -> str:
    """A cell as the export's text: whole numbers without `.0`, dates in the feed's format."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.strftime(timestamp_format)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time()).strftime(timestamp_format)
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, float):
        text = str(int(value)) if value.is_integer() else repr(value)
        return text.replace(".", decimal_separator)
    return str(value)


def _trimmed(row: list[str]) -> list[str]:
    end = len(row)
    while end and not row[end - 1].strip():
        end -= 1
    return row[:end]


def _load(
    con: duckdb.DuckDBPyConnection, table: str, keys: list[str], rows: list[list[str]]
) -> None:
    positions = [f"c{index}" for index in range(len(keys))]
    frame = pd.DataFrame(
        [[cell if cell.strip() else None for cell in row] for row in rows],
        columns=positions,
        dtype=object,
    )
    columns = ", ".join(
        f"{position}::varchar as {quote_identifier(key)}"
        for position, key in zip(positions, keys, strict=True)
    )
    con.register(SHEET_VIEW, frame)
    try:
        con.execute(f"create or replace temp table {table} as select {columns} from {SHEET_VIEW}")
    finally:
        con.unregister(SHEET_VIEW)
