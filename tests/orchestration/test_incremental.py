"""When a refresh rebuilds dbt's incremental models in full: the code fingerprint."""

import copy
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration import incremental

MANIFEST = Path(__file__).resolve().parents[2] / "dbt_project" / "target" / "manifest.json"


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(MANIFEST.read_text())


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The files the fingerprint reads besides the manifest, in a copy that may change."""
    for relative in incremental.FINGERPRINTED_FILES:
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(incremental.REPO_ROOT / relative, target)
    return tmp_path


def test_the_fingerprint_changes_with_a_model_a_macro_a_config_or_the_lexicon(
    manifest: dict, repo: Path
) -> None:
    before = incremental.code_fingerprint(manifest, repo)
    assert incremental.code_fingerprint(copy.deepcopy(manifest), repo) == before

    model = copy.deepcopy(manifest)
    model["nodes"]["model.cxmart.fct_orders"]["checksum"]["checksum"] = "edited"
    macro = copy.deepcopy(manifest)
    macro["macros"]["macro.cxmart.normalize_email"]["macro_sql"] += " "
    config = copy.deepcopy(manifest)
    config["nodes"]["model.cxmart.fct_orders"]["config"]["unique_key"] = "order_ref"
    changed = [incremental.code_fingerprint(variant, repo) for variant in (model, macro, config)]

    (repo / "ingestion/text/sentiment_lexicon.yml").write_text("# a new lexicon\n")
    changed.append(incremental.code_fingerprint(manifest, repo))
    assert len({before, *changed}) == 5


def test_another_duckdb_version_rebuilds_in_full(
    manifest: dict, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The identity tables store DuckDB's hash of each record id (record_key), which another
    DuckDB version may compute differently: their rows would no longer be found by it."""
    before = incremental.code_fingerprint(manifest, repo)
    monkeypatch.setattr(duckdb, "__version__", "0.0.1-other")
    assert incremental.code_fingerprint(manifest, repo) != before


def test_a_test_or_an_exposure_change_rebuilds_nothing(manifest: dict, repo: Path) -> None:
    before = incremental.code_fingerprint(manifest, repo)
    edited = copy.deepcopy(manifest)
    tests = [uid for uid, node in edited["nodes"].items() if node["resource_type"] == "test"]
    edited["nodes"][tests[0]]["checksum"]["checksum"] = "edited"
    assert incremental.code_fingerprint(edited, repo) == before


def test_full_refresh_only_when_the_warehouse_was_built_by_other_code(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    assert not incremental.needs_full_refresh(warehouse, "abc"), "no warehouse yet"

    incremental.record_fingerprint(warehouse, "abc")
    assert not incremental.needs_full_refresh(warehouse, "abc")
    assert incremental.needs_full_refresh(warehouse, "def")

    other = tmp_path / "partial.duckdb"
    con = duckdb.connect(str(other))
    con.execute("create table t (x int)")
    con.close()
    assert not incremental.needs_full_refresh(other, "abc"), "dbt never built it"
    con = duckdb.connect(str(other))
    con.execute("create schema dbt_state")
    con.execute("create table dbt_state.incremental_builds (model_name varchar)")
    con.close()
    assert incremental.needs_full_refresh(other, "abc"), "built, by unknown code"
