"""Analyses that need more than SQL (matrix algebra), fed by DuckDB aggregates."""
