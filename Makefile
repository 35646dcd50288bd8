# cxmart — a few verbs, no logic. `make run` and `make test` are all a new user needs.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif
export CXMART_HOME ?= $(CURDIR)/data
export CXMART_SOURCES ?= $(CURDIR)/ingestion/sources/demo
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export UV_LINK_MODE ?= copy
PY := .venv/bin/python
DBT := .venv/bin/dbt --no-use-colors
DBT_DIRS := --project-dir dbt_project --profiles-dir dbt_project

.PHONY: install run dev test lint fix bench docs manifest clean

install: .venv/.installed $(DAGSTER_HOME)/dagster.yaml

.venv/.installed: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen
	@touch $@

$(DAGSTER_HOME)/dagster.yaml: orchestration/dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	cp orchestration/dagster.yaml $@

manifest: install  ## dbt manifest: Dagster reads it when it loads the asset graph
	cd dbt_project && ../$(DBT) parse --quiet

run: manifest  ## the main job on the demo world (or on whatever is in $(CXMART_HOME)/landing)
	$(PY) -m orchestration.cli refresh

dev: manifest  ## the Dagster UI on http://localhost:3000
	.venv/bin/dagster dev -w workspace.yaml

test: manifest
	$(PY) -m pytest

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/sqlfluff lint dbt_project/models

fix: install
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

bench: manifest  ## full refresh, then two incremental days, at a scale factor vs a bare DuckDB load (SF=0.1, 1, 10)
	$(PY) -m bench.run --sf $(or $(SF),1)

docs: manifest
	$(DBT) docs generate $(DBT_DIRS)
	@echo "open dbt_project/target/index.html, or: $(DBT) docs serve $(DBT_DIRS)"

clean:
	rm -rf .venv dbt_project/target dbt_project/logs .pytest_cache
