"""Key-driver analysis: the regression done on sufficient statistics equals the textbook one."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from analytics.key_drivers import GroupStatistics, build_driver_importance, fit_group

ATTRIBUTES = ("knowledge", "reliability", "wait_time")


def _synthetic(n: int = 3000, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=n)
    ratings = np.column_stack(
        [
            shared + rng.normal(size=n),  # knowledge, correlated with wait_time
            rng.normal(size=n),  # reliability
            shared + rng.normal(size=n),  # wait_time
        ]
    )
    nps = 0.2 * ratings[:, 0] + 0.1 * ratings[:, 1] + 0.7 * ratings[:, 2] + rng.normal(size=n)
    return ratings, nps


def _group(ratings: np.ndarray, nps: np.ndarray) -> GroupStatistics:
    data = np.column_stack([ratings, nps])
    return GroupStatistics(
        touchpoint="all",
        period="all",
        n=len(nps),
        attributes=ATTRIBUTES,
        means=data.mean(axis=0),
        covariance=np.cov(data, rowvar=False),
    )


def test_standardized_betas_match_least_squares_on_z_scores() -> None:
    ratings, nps = _synthetic()
    z = (ratings - ratings.mean(axis=0)) / ratings.std(axis=0, ddof=1)
    target = (nps - nps.mean()) / nps.std(ddof=1)
    expected, *_ = np.linalg.lstsq(z, target, rcond=None)

    results = fit_group(_group(ratings, nps))

    betas = [result.standardized_beta for result in results]
    assert betas == pytest.approx(expected, abs=1e-3)
    fitted = z @ expected
    r_squared = 1 - ((target - fitted) ** 2).sum() / (target**2).sum()
    assert results[0].r_squared == pytest.approx(r_squared, abs=1e-3)


def test_relative_weights_split_r_squared_and_rank_the_planted_order() -> None:
    ratings, nps = _synthetic()
    results = fit_group(_group(ratings, nps))

    assert sum(result.relative_weight for result in results) == pytest.approx(
        results[0].r_squared, abs=1e-3
    )
    assert sum(result.relative_importance for result in results) == pytest.approx(1, abs=1e-3)
    by_rank = sorted(results, key=lambda result: result.importance_rank)
    assert [result.attribute for result in by_rank] == ["wait_time", "knowledge", "reliability"]
    assert all(result.is_significant and result.direction == "positive" for result in results)


def test_a_driver_without_variance_gets_no_weight_and_no_error() -> None:
    ratings, nps = _synthetic(n=200)
    ratings[:, 1] = 4.0
    results = {result.attribute: result for result in fit_group(_group(ratings, nps))}
    assert results["reliability"].relative_weight == pytest.approx(0, abs=1e-9)
    assert results["wait_time"].importance_rank == 1


def test_build_in_duckdb_only_uses_complete_responses() -> None:
    ratings, nps = _synthetic(n=600)
    scores = np.clip(np.round(5 + 2 * (nps - nps.mean()) / nps.std()), 0, 10)
    con = duckdb.connect()
    con.execute("create schema core")
    con.execute("create schema intermediate")
    # the attributes rated, and the ratings by response as dbt pivots them
    con.execute("create table core.fct_driver_ratings (attribute varchar)")
    con.executemany("insert into core.fct_driver_ratings values (?)", [(n,) for n in ATTRIBUTES])
    rating_columns = ", ".join(f'"rating__{name}" double' for name in ATTRIBUTES)
    con.execute(
        "create table intermediate.int_driver_ratings_by_response (response_id varchar,"
        f" touchpoint varchar, submitted_at timestamp, nps_score integer, {rating_columns})"
    )
    rows = [
        (
            f"r{i}",
            "delivery" if i % 2 else "checkout",
            "2026-02-01",
            scores[i],
            # response r0 skipped one driver: it must not enter the model
            *(
                None if i == 0 and name == "reliability" else ratings[i, j]
                for j, name in enumerate(ATTRIBUTES)
            ),
        )
        for i in range(len(scores))
    ]
    marks = ", ".join("?" for _ in range(4 + len(ATTRIBUTES)))
    con.executemany(
        f"insert into intermediate.int_driver_ratings_by_response values ({marks})", rows
    )

    written = build_driver_importance(con)

    groups = con.execute(
        "select touchpoint, period, min(rated_responses), count(*) from manager.driver_importance"
        " group by all order by all"
    ).fetchall()
    assert groups == [
        ("all", "2026-Q1", 599, 3),
        ("all", "all", 599, 3),
        ("checkout", "2026-Q1", 299, 3),
        ("checkout", "all", 299, 3),
        ("delivery", "2026-Q1", 300, 3),
        ("delivery", "all", 300, 3),
    ]
    assert written == 18
    top = con.execute(
        "select attribute from manager.driver_importance"
        " where touchpoint = 'all' and period = 'all' and importance_rank = 1"
    ).fetchone()
    assert top == ("wait_time",)
