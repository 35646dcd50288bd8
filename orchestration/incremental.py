"""When a refresh must rebuild dbt's incremental models in full: the code that builds them
changed since they were built.

dbt rebuilds an incremental model by itself when its raw inputs lost rows or its build log
is missing (dbt_project/macros/incremental.sql). A change of the SQL, a macro, a seed, a
project variable, the text-annotation lexicon and taxonomy or DuckDB's version is invisible
there: rows built by the old code would stay. The code fingerprint of the last complete
build is kept in the warehouse (dbt_state.code_fingerprint), so it travels with the tables
it describes; a build whose fingerprint differs runs with `--full-refresh`.
"""

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from ingestion import paths, warehouse

REPO_ROOT = Path(__file__).resolve().parent.parent
# inputs of the build that the manifest does not hold: project variables and the files the
# raw text annotations (raw.feedback_sentiment, raw.feedback_topics) are computed from
FINGERPRINTED_FILES: tuple[str, ...] = (
    "dbt_project/dbt_project.yml",
    "ingestion/text/sentiment_lexicon.yml",
    "ingestion/text/taxonomy.yml",
    "ingestion/text/annotate.py",
    "ingestion/text/config.py",
)
FINGERPRINT_TABLE = "dbt_state.code_fingerprint"


def code_fingerprint(manifest: Mapping[str, Any], root: Path = REPO_ROOT) -> str:
    """A digest of everything that decides what a model computes: every model, seed and
    snapshot (SQL checksum and config), every macro, FINGERPRINTED_FILES and DuckDB's
    version (the identity tables store DuckDB's hash of each record id, which another
    version may compute differently)."""
    digest = hashlib.sha256(f"duckdb {duckdb.__version__}\n".encode())
    for unique_id, node in sorted(manifest["nodes"].items()):
        if node["resource_type"] not in ("model", "seed", "snapshot"):
            continue
        config = json.dumps(node.get("config", {}), sort_keys=True, default=str)
        digest.update(f"{unique_id}\0{node['checksum']['checksum']}\0{config}\n".encode())
    for unique_id, macro in sorted(manifest["macros"].items()):
        digest.update(f"{unique_id}\0{macro['macro_sql']}\n".encode())
    for relative in FINGERPRINTED_FILES:
        digest.update(relative.encode() + b"\0" + (root / relative).read_bytes())
    return digest.hexdigest()


def load_manifest(manifest_path: Path) -> dict[str, Any]:
    return json.loads(manifest_path.read_text(encoding="utf-8"))


def needs_full_refresh(warehouse_path: Path, fingerprint: str) -> bool:
    """True when the warehouse may hold incremental tables built by other code: its recorded
    fingerprint differs, or none is recorded although incremental models were built (only
    partial builds so far). A first build has nothing to rebuild."""
    if not warehouse_path.exists():
        return False
    con = duckdb.connect(str(warehouse_path), read_only=True, config=paths.duckdb_config())
    try:
        if warehouse.table_exists(con, "dbt_state", "code_fingerprint"):
            recorded = con.execute(f"select fingerprint from {FINGERPRINT_TABLE}").fetchone()
            return recorded is None or recorded[0] != fingerprint
        return warehouse.table_exists(con, "dbt_state", "incremental_builds")
    finally:
        con.close()


def record_fingerprint(warehouse_path: Path, fingerprint: str) -> None:
    """After a successful build of every model: its code is the warehouse's code."""
    con = warehouse.connect(warehouse_path)
    try:
        con.execute("create schema if not exists dbt_state")
        con.execute(
            f"create or replace table {FINGERPRINT_TABLE} as "
            "select ? as fingerprint, current_timestamp as recorded_at",
            [fingerprint],
        )
    finally:
        con.close()
