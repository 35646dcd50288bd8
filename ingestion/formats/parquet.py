"""Parquet: DuckDB's native reader, every column cast to text for the one typing pass.

Parquet carries its own types; casting them to text and typing them again keeps one
validation path for every format (a TIMESTAMP WITH TIME ZONE keeps its offset in the text,
so the instant is preserved; a plain TIMESTAMP is read in the feed's time zone).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingestion.warehouse import quote_identifier, quote_literal


def read_parquet(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> list[str]:
    """Read a Parquet file into `table` as text; return its column names."""
    source = f"read_parquet({quote_literal(str(path))})"
    names = [row[0] for row in con.execute(f"describe select * from {source}").fetchall()]
    columns = ", ".join(
        f"{quote_identifier(name)}::varchar as {quote_identifier(name)}" for name in names
    )
    con.execute(f"create or replace temp table {table} as select {columns} from {source}")
    return names
