"""Resources: where the data home and the feed declarations are. Nothing opens at import."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from ingestion import paths


class CxmartHome(dg.ConfigurableResource):
    """The data home (landing, warehouse.duckdb, serving.duckdb, serving_parquet, quarantine)
    and the registry.

    Empty settings fall back to CXMART_HOME / CXMART_SOURCES / CXMART_PUBLISH_PARQUET and then
    to the defaults in `ingestion.paths`, read when a run starts, never at import.
    """

    home: str = ""
    sources: str = ""
    # None: CXMART_PUBLISH_PARQUET (default on), read when a run starts
    publish_parquet: bool | None = None

    @property
    def home_path(self) -> Path:
        return Path(self.home).resolve() if self.home else paths.cxmart_home()

    @property
    def sources_path(self) -> Path:
        return Path(self.sources).resolve() if self.sources else paths.sources_dir()

    @property
    def warehouse_path(self) -> Path:
        return paths.warehouse_path(self.home_path)

    @property
    def serving_path(self) -> Path:
        return paths.serving_path(self.home_path)

    @property
    def parquet_path(self) -> Path | None:
        """Where the role tables are published as Parquet files; None when switched off."""
        enabled = paths.publish_parquet() if self.publish_parquet is None else self.publish_parquet
        return paths.parquet_dir(self.home_path) if enabled else None
