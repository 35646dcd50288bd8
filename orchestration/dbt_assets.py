"""dbt models as Dagster assets; dbt tests become asset checks (dagster-dbt's default)."""

import importlib.metadata
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from packaging import version

from ingestion import paths
from orchestration import dbt_schedule, dbt_warm, incremental
from orchestration.freshness import role_freshness_policy
from orchestration.resources import CxmartHome

DBT_PROJECT_DIR = dbt_schedule.PROJECT_DIR
# dbt as installed beside this interpreter (so runs work without an activated virtualenv),
# through cxmart's entry point: dbt's command line with critical-path-first scheduling
# (orchestration/dbt_schedule.py)
DBT_EXECUTABLE = str(Path(sys.executable).with_name("cxmart-dbt"))

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

# What a production build leaves out: dbt unit tests check the SQL logic on fixed inputs, so
# they belong to `make test` (tests/test_end_to_end.py runs them), not to every refresh.
PRODUCTION_BUILD_EXCLUDES: tuple[str, ...] = ("--exclude-resource-type", "unit_test")


class CxmartDbtCli(DbtCliResource):
    """dagster-dbt's CLI resource without two start-up costs cxmart does not need.

    Before each dbt command the stock resource runs `dbt --version` in a subprocess and
    imports dbt in the Dagster process to open an adapter handle (used only to fetch row
    counts or column metadata, which cxmart does not ask for): ~13 s of a refresh on a
    2-core machine, spent before dbt starts. The executable is the one installed beside this
    interpreter, so its version is the dbt-core package's.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        return None


class CxmartDbtTranslator(DagsterDbtTranslator):
    """Models are keyed <schema>/<model>, grouped by their dbt folder; sources keep
    dagster-dbt's default key ["raw", <table>], which is the ingestion asset's key. Role
    tables (models in the frontline, manager and executive schemas) carry their role's
    freshness policy."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] != "model":
            return spec
        policy = role_freshness_policy(props["schema"])
        return spec if policy is None else spec.replace_attributes(freshness_policy=policy)

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return "raw"
        fqn = dbt_resource_props.get("fqn", [])
        if len(fqn) > 2 and fqn[1] == "marts":
            return fqn[2]
        return fqn[1] if len(fqn) > 2 else "seeds"


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=CxmartDbtTranslator(),
    pool="warehouse",
)
def cxmart_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, cxmart: CxmartHome
) -> Iterator[Any]:
    # dbt's profiles.yml reads CXMART_HOME from the environment it inherits; pin it to the
    # resolved data home so a relative setting cannot point dbt somewhere else
    os.environ["CXMART_HOME"] = str(cxmart.home_path)
    fingerprint = incremental.code_fingerprint(incremental.load_manifest(dbt_project.manifest_path))
    args = ["build", *PRODUCTION_BUILD_EXCLUDES]
    if incremental.needs_full_refresh(cxmart.warehouse_path, fingerprint):
        context.log.info("the dbt project changed since the last build: rebuilding in full")
        args.append("--full-refresh")
    # the process the ingestion step started (warm_dbt_for_this_run) runs the command, if any
    warm = dbt_warm.claim()
    try:
        with dbt_warm.pointed_at(warm):
            invocation = dbt.cli(
                args, context=context, target_path=paths.dbt_target_dir(cxmart.home_path)
            )
        yield from invocation.stream()
    finally:
        if warm is not None and warm.discard(grace_seconds=10.0):
            context.log.info("dbt ran in the process started during ingestion (dbt imported)")
        elif warm is not None:
            context.log.warning("the dbt process started during ingestion ran no command")
    # only a build of every model makes every incremental table the work of this code
    if set(context.selected_asset_keys) == set(context.assets_def.keys):
        incremental.record_fingerprint(cxmart.warehouse_path, fingerprint)


def warm_dbt_for_this_run(context: dg.AssetExecutionContext, home: Path) -> None:
    """When this run goes on to the dbt step, start its dbt process now, to import dbt and
    rehearse a parse of the project for data home `home` while the calling step works
    (orchestration/dbt_warm.py)."""
    steps = context.run.step_keys_to_execute
    if steps is None or cxmart_dbt_models.op.name in steps:
        dbt_warm.start(DBT_EXECUTABLE, str(home))
