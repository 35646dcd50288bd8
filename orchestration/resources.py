"""Resources: where the data home and the feed declarations are. Nothing opens at import."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from ingestion import paths


class CxmartHome(dg.ConfigurableResource):
    """The data home (landing, warehouse.duckdb, serving.duckdb, quarantine) and the registry.

    Empty settings fall back to CXMART_HOME / CXMART_SOURCES and then to the defaults in
    `ingestion.paths`, read when a run starts, never at import.
    """

    home: str = ""
    sources: str = ""

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
