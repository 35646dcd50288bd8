"""Read one landed file into a temp table of text cells, whatever its declared format."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ingestion.formats.delimited import read_delimited
from ingestion.formats.parquet import read_parquet
from ingestion.formats.spreadsheet import read_spreadsheet

if TYPE_CHECKING:
    from ingestion.registry import Feed

TEXT_FORMATS: tuple[str, ...] = ("csv", "tsv", "ndjson")


def read_tabular(
    con: duckdb.DuckDBPyConnection, feed: Feed, path: Path, table: str
) -> tuple[list[str], list[str]]:
    """Columns found and notes for the manifest, for every format but NDJSON."""
    if feed.format in ("xlsx", "xls"):
        return read_spreadsheet(con, feed, path, table)
    if feed.format == "parquet":
        return read_parquet(con, path, table), []
    return read_delimited(con, feed, path, table)
