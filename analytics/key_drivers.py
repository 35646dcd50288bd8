"""Key-driver analysis: which experience attributes move NPS, per touchpoint and quarter.

DuckDB reduces the driver ratings to sufficient statistics (counts, means and the
covariance matrix of the ratings and the NPS score per group); numpy then fits the
standardized regression of NPS on the ratings and splits its R² between the drivers with
Johnson's relative weights, which stay meaningful when drivers are correlated. No rating
row ever leaves DuckDB. The ratings are read one row per response, as dbt keeps them
incrementally (`intermediate.int_driver_ratings_by_response`, a `rating__<attribute>`
column per attribute).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import numpy as np

ALL = "all"
LOW_SAMPLE = 30
SIGNIFICANCE_LEVEL = 0.05
TARGET = "nps_score"
RESULT_TABLE = "manager.driver_importance"
# the ratings one row per response, a column per attribute (dbt: macros/drivers.sql)
RATINGS_BY_RESPONSE = "intermediate.int_driver_ratings_by_response"
RATING_PREFIX = "rating__"


@dataclass(frozen=True)
class GroupStatistics:
    """Sufficient statistics of one touchpoint × period: n, means and covariances."""

    touchpoint: str
    period: str
    n: int
    attributes: tuple[str, ...]
    means: np.ndarray  # ratings then the target
    covariance: np.ndarray  # (k + 1) × (k + 1), ratings then the target


@dataclass(frozen=True)
class DriverImportance:
    touchpoint: str
    period: str
    attribute: str
    rated_responses: int
    mean_rating: float
    correlation_with_nps: float
    standardized_beta: float
    relative_weight: float  # share of NPS variance attributed to the driver
    relative_importance: float  # relative_weight / model R², sums to 1 per group
    r_squared: float  # of the whole model of the group
    p_value: float
    is_significant: bool
    direction: str
    importance_rank: int
    is_low_sample: bool


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def statistics_sql(attributes: Sequence[str], source: str = RATINGS_BY_RESPONSE) -> str:
    """One row per touchpoint × period (each also rolled up to `all`) with n, means, covariances.

    Only responses that rated every attribute and gave an NPS score enter the model. `source`
    holds one row per response (dbt pivots the 9 M ratings of SF10 into 2 M responses as
    they are built: 1.3–1.6 → 0.4 s here), the period is derived from its time.
    """
    columns = [*attributes, TARGET]
    ratings = ",\n".join(f"{_quote(RATING_PREFIX + name)} as {_quote(name)}" for name in attributes)
    complete = " and ".join(f"{_quote(name)} is not null" for name in columns)
    means = ", ".join(f"avg({_quote(name)}) as {_quote('mean_' + name)}" for name in columns)
    covariances = ", ".join(
        f"covar_samp({_quote(a)}, {_quote(b)}) as {_quote(f'cov_{i}_{j}')}"
        for i, a in enumerate(columns)
        for j, b in enumerate(columns)
        if i <= j
    )
    return f"""
        with responses as (
            select
                response_id,
                touchpoint,
                submitted_at,
                nps_score as {_quote(TARGET)},
                {ratings}
            from {source}
            where nps_score is not null
        ),
        complete as (
            select
                * exclude (submitted_at),
                cast(year(submitted_at) as varchar)
                    || '-Q' || cast(quarter(submitted_at) as varchar) as period
            from responses
            where {complete}
        )
        select
            coalesce(touchpoint, {_literal(ALL)}) as touchpoint,
            coalesce(period, {_literal(ALL)}) as period,
            count(*) as n,
            {means},
            {covariances}
        from complete
        group by grouping sets ((touchpoint, period), (touchpoint), (period), ())
        having count(*) > {len(attributes) + 1}
        order by 1, 2
    """


def read_statistics(con: duckdb.DuckDBPyConnection) -> list[GroupStatistics]:
    attributes = tuple(
        row[0]
        for row in con.execute(
            "select distinct attribute from core.fct_driver_ratings order by attribute"
        ).fetchall()
    )
    if not attributes:
        return []
    rows = con.execute(statistics_sql(attributes)).fetchall()
    size = len(attributes) + 1
    groups = []
    for row in rows:
        touchpoint, period, n = row[0], row[1], int(row[2])
        means = np.array(row[3 : 3 + size], dtype=float)
        covariance = np.zeros((size, size))
        values = iter(row[3 + size :])
        for i in range(size):
            for j in range(i, size):
                covariance[i, j] = covariance[j, i] = float(next(values) or 0.0)
        groups.append(GroupStatistics(touchpoint, period, n, attributes, means, covariance))
    return groups


def _two_sided_p(t_statistic: float) -> float:
    # normal approximation of the t distribution: groups below 30 answers are flagged anyway
    return math.erfc(abs(t_statistic) / math.sqrt(2.0))


def fit_group(group: GroupStatistics) -> list[DriverImportance]:
    """Standardized OLS of NPS on the ratings, R² split by Johnson's relative weights."""
    k = len(group.attributes)
    deviations = np.sqrt(np.clip(np.diag(group.covariance), 0.0, None))
    usable = deviations > 0
    if not usable[-1] or not usable[:k].any():
        return []
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = group.covariance / np.outer(deviations, deviations)
    correlation = np.nan_to_num(correlation)
    np.fill_diagonal(correlation, 1.0)
    r_xx = correlation[:k, :k]
    r_xy = correlation[:k, k]
    inverse = np.linalg.pinv(r_xx)
    beta = inverse @ r_xy
    r_squared = float(np.clip(r_xy @ beta, 0.0, 1.0))
    # relative weights: regress on the orthogonal counterpart of the ratings
    eigenvalues, eigenvectors = np.linalg.eigh(r_xx)
    root = eigenvectors @ np.diag(np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T
    beta_orthogonal = np.linalg.pinv(root) @ r_xy
    weights = (root**2) @ (beta_orthogonal**2)
    residual_dof = max(group.n - k - 1, 1)
    standard_errors = np.sqrt(np.clip((1.0 - r_squared) / residual_dof * np.diag(inverse), 0, None))
    order = np.argsort(-weights, kind="stable")
    ranks = np.empty(k, dtype=int)
    ranks[order] = np.arange(1, k + 1)
    results = []
    for index, attribute in enumerate(group.attributes):
        t_statistic = beta[index] / standard_errors[index] if standard_errors[index] > 0 else 0.0
        p_value = _two_sided_p(float(t_statistic))
        results.append(
            DriverImportance(
                touchpoint=group.touchpoint,
                period=group.period,
                attribute=attribute,
                rated_responses=group.n,
                mean_rating=round(float(group.means[index]), 4),
                correlation_with_nps=round(float(r_xy[index]), 4),
                standardized_beta=round(float(beta[index]), 4),
                relative_weight=round(float(weights[index]), 4),
                relative_importance=round(float(weights[index] / r_squared), 4)
                if r_squared > 0
                else 0.0,
                r_squared=round(r_squared, 4),
                p_value=round(p_value, 6),
                is_significant=p_value < SIGNIFICANCE_LEVEL,
                direction="positive"
                if beta[index] > 0
                else "negative"
                if beta[index] < 0
                else "none",
                importance_rank=int(ranks[index]),
                is_low_sample=group.n < LOW_SAMPLE,
            )
        )
    return results


def build_driver_importance(con: duckdb.DuckDBPyConnection) -> int:
    """Recompute manager.driver_importance from the driver ratings of every response (the
    attributes rated in core.fct_driver_ratings, read by response from RATINGS_BY_RESPONSE);
    returns its rows."""
    results = [result for group in read_statistics(con) for result in fit_group(group)]
    computed_at = datetime.now(UTC).replace(tzinfo=None)
    con.execute("create schema if not exists manager")
    con.execute(
        f"""
        create or replace table {RESULT_TABLE} (
            touchpoint varchar not null,
            period varchar not null,
            attribute varchar not null,
            rated_responses bigint not null,
            mean_rating double,
            correlation_with_nps double,
            standardized_beta double,
            relative_weight double,
            relative_importance double,
            r_squared double,
            p_value double,
            is_significant boolean,
            direction varchar,
            importance_rank integer,
            is_low_sample boolean,
            method varchar,
            computed_at timestamp,
            primary key (touchpoint, period, attribute)
        )
        """
    )
    if results:
        con.executemany(
            f"insert into {RESULT_TABLE} values "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'relative_weights_ols', ?)",
            [
                (
                    r.touchpoint,
                    r.period,
                    r.attribute,
                    r.rated_responses,
                    r.mean_rating,
                    r.correlation_with_nps,
                    r.standardized_beta,
                    r.relative_weight,
                    r.relative_importance,
                    r.r_squared,
                    r.p_value,
                    r.is_significant,
                    r.direction,
                    r.importance_rank,
                    r.is_low_sample,
                    computed_at,
                )
                for r in results
            ],
        )
    return len(results)
