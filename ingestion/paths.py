"""Where cxmart keeps its files. Every path is computed when asked, never at import."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCES = REPO_ROOT / "ingestion" / "sources" / "demo"


def cxmart_home() -> Path:
    """The data home: `CXMART_HOME`, or `./data` relative to the working directory."""
    return Path(os.environ.get("CXMART_HOME") or "data").resolve()


def landing_dir(home: Path) -> Path:
    """Incoming exports, one sub-folder per feed: `landing/<feed>/`."""
    return home / "landing"


def warehouse_path(home: Path) -> Path:
    """The build file; only the single writer opens it."""
    return home / "warehouse.duckdb"


def serving_path(home: Path) -> Path:
    """The file BI tools read, swapped in atomically after checks pass."""
    return home / "serving.duckdb"


def parquet_dir(home: Path) -> Path:
    """One Parquet file per role table, `<schema>/<table>.parquet`, for tools that prefer files."""
    return home / "serving_parquet"


def dbt_target_dir(home: Path) -> Path:
    """dbt's artifacts for this data home, kept between refreshes so dbt parses
    incrementally; the project's own `dbt_project/target/` holds the manifest Dagster loads."""
    return home / "dbt_target"


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def publish_parquet() -> bool:
    """`CXMART_PUBLISH_PARQUET` (default on): also publish the role tables as Parquet files."""
    setting = os.environ.get("CXMART_PUBLISH_PARQUET", "").strip().lower()
    if setting in ("", *_TRUE):
        return True
    if setting in _FALSE:
        return False
    raise ValueError(
        f"CXMART_PUBLISH_PARQUET={setting!r}: expected one of {', '.join(_TRUE + _FALSE)}"
    )


DEFAULT_DUCKDB_MEMORY_LIMIT = "4GB"


def duckdb_memory_limit() -> str:
    """`CXMART_DUCKDB_MEMORY_LIMIT` (default 4GB): the most memory one DuckDB connection of a
    refresh (ingestion, dbt, publication) holds; beyond it DuckDB spills to disk beside the
    file. DuckDB's own default is 80 % of the machine's memory."""
    return os.environ.get("CXMART_DUCKDB_MEMORY_LIMIT") or DEFAULT_DUCKDB_MEMORY_LIMIT


def duckdb_config() -> dict[str, object]:
    """The settings of a refresh's connection to a DuckDB file."""
    return {"memory_limit": duckdb_memory_limit()}


# DuckDB's vacuum merges adjacent row groups whose live rows fit in fewer (the partly filled
# ones appends leave at the end of a table, the ones deletes thinned), at every checkpoint
# and over every table of the file. Every connection that writes the warehouse or a serving
# file defers it; the compaction does it (ingestion/compaction.py).
DEFERRED_VACUUM: dict[str, object] = {"max_vacuum_tasks": 0}

DEFAULT_COMPACTION_DAYS = 7


def compaction_days() -> int:
    """`CXMART_COMPACTION_DAYS` (default 7): a refresh compacts the serving standby when the
    last compaction is at least this many days old; 0 compacts at every refresh."""
    setting = os.environ.get("CXMART_COMPACTION_DAYS", "").strip()
    if not setting:
        return DEFAULT_COMPACTION_DAYS
    if not setting.isdigit():
        raise ValueError(
            f"CXMART_COMPACTION_DAYS={setting!r}: expected a whole number of days (0 or more)"
        )
    return int(setting)


def quarantine_dir(home: Path) -> Path:
    """Copies of whole files that could not be loaded, with a `.reason.txt` beside each."""
    return home / "quarantine"


def sources_dir() -> Path:
    """The folder of feed declarations: `CXMART_SOURCES`, or the demo world's registry."""
    configured = os.environ.get("CXMART_SOURCES")
    return Path(configured).resolve() if configured else DEFAULT_SOURCES
