"""The whole product path on the demo world: landing → raw → dbt → checks → serving.duckdb.

One refresh of the real Dagster job on a temporary data home, then assertions that the
published mart recovers the truths the demo generator planted, that a second refresh loads
nothing twice, and that a failing check keeps the last good serving file.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ingestion import paths
from ingestion.demo import DemoTruths, generate_demo_world

pytestmark = pytest.mark.e2e


@dataclass
class World:
    home: Path
    truths: DemoTruths
    first_run: dg.ExecuteInProcessResult

    @property
    def serving(self) -> Path:
        return paths.serving_path(self.home)

    @property
    def warehouse(self) -> Path:
        return paths.warehouse_path(self.home)

    def query(self, sql: str, *, file: Path | None = None) -> list[tuple]:
        con = duckdb.connect(str(file or self.serving), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


def refresh() -> dg.ExecuteInProcessResult:
    from orchestration.definitions import defs

    return defs.resolve_job_def("refresh_everything").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("cxmart_home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CXMART_HOME", str(home))
        env.delenv("CXMART_SOURCES", raising=False)
        env.delenv("CXMART_PUBLISH_PARQUET", raising=False)
        truths = generate_demo_world(paths.landing_dir(home), scale=1.0, seed=11)
        result = refresh()
        assert result.success, "the first refresh of the demo world failed"
        yield World(home=home, truths=truths, first_run=result)


def test_role_tables_and_core_marts_are_published(world: World) -> None:
    for table in (
        "frontline.followup_queue",
        "manager.touchpoint_performance",
        "manager.driver_importance",
        "executive.cx_scorecard",
        "executive.journey_stage_scores",
        "core.dim_customers",
        "core.fct_survey_responses",
        "core.fct_interactions",
    ):
        assert world.query(f"select count(*) from {table}")[0][0] > 0, table


def test_nps_values_lie_in_range(world: World) -> None:
    for table in ("manager.touchpoint_performance", "executive.cx_scorecard"):
        low, high = world.query(f"select min(nps), max(nps) from {table}")[0]
        assert -100 <= low <= high <= 100


def test_one_open_case_per_customer_and_reason(world: World) -> None:
    duplicates = world.query(
        "select customer_id, reason from frontline.followup_queue group by all having count(*) > 1"
    )
    assert duplicates == []


def test_manager_and_executive_tables_carry_no_personal_data(world: World) -> None:
    columns = world.query(
        "select table_name, column_name from information_schema.columns "
        "where table_schema in ('manager', 'executive') and ("
        "column_name ilike '%email%' or column_name ilike '%phone%' or column_name ilike '%name%' "
        "or column_name in ('customer_id', 'customer_ref', 'primary_customer_ref'))"
    )
    assert columns == []


def test_overall_nps_and_csat_match_the_planted_world(world: World) -> None:
    nps, answers, csat = world.query(
        "select 100.0 * (count(*) filter (where is_promoter)"
        " - count(*) filter (where is_detractor))"
        " / count(nps_score), count(nps_score),"
        " 100.0 * count(*) filter (where is_csat_satisfied) / count(csat_score)"
        " from core.fct_survey_responses"
    )[0]
    assert answers == world.truths.nps_answers
    assert nps == pytest.approx(world.truths.nps, abs=1e-9)
    assert csat == pytest.approx(world.truths.csat_pct, abs=1e-9)


def test_delivery_is_the_lowest_nps_touchpoint_with_the_planted_score(world: World) -> None:
    by_touchpoint = dict(
        world.query(
            "select touchpoint, 100.0 * (sum(promoters) - sum(detractors)) / sum(nps_responses)"
            " from manager.touchpoint_performance group by touchpoint having sum(nps_responses) > 0"
        )
    )
    assert (
        min(by_touchpoint, key=by_touchpoint.get)
        == world.truths.lowest_nps_touchpoint
        == "delivery"
    )
    for touchpoint, planted in world.truths.nps_by_touchpoint.items():
        assert by_touchpoint[touchpoint] == pytest.approx(planted["nps"], abs=1e-9), touchpoint


def test_journey_stage_nps_matches_the_planted_touchpoints(world: World) -> None:
    by_stage = {
        stage: (answers, nps)
        for stage, answers, nps in world.query(
            "select journey_stage, sum(nps_responses),"
            " 100.0 * (sum(promoters) - sum(detractors)) / nullif(sum(nps_responses), 0)"
            " from executive.journey_stage_scores group by journey_stage"
        )
    }
    planted = world.truths.nps_by_touchpoint
    # receive is delivery alone; buy pools checkout and billing (seeds/journey_stages.csv)
    assert by_stage["receive"][1] == pytest.approx(planted["delivery"]["nps"], abs=1e-9)
    buy = [planted["checkout"], planted["billing"]]
    buy_nps = (
        100.0 * sum(tp["promoters"] - tp["detractors"] for tp in buy) / sum(tp["n"] for tp in buy)
    )
    assert by_stage["buy"] == (sum(tp["n"] for tp in buy), pytest.approx(buy_nps, abs=1e-9))
    answered = {stage: nps for stage, (answers, nps) in by_stage.items() if answers}
    assert min(answered, key=answered.__getitem__) == "receive"
    assert sum(answers for answers, _ in by_stage.values()) == world.truths.nps_answers


def test_top_pain_points_rank_the_detractor_verbatims(world: World) -> None:
    months = world.query(
        "select pain_point_verbatims, top_pain_point_1, top_pain_point_1_mentions,"
        " top_pain_point_2_mentions, top_pain_point_3_mentions, pain_point_taxonomy_version"
        " from executive.cx_scorecard where pain_point_verbatims >= 30"
    )
    assert months
    for verbatims, top, first, second, third, taxonomy_version in months:
        assert verbatims >= first >= second >= third > 0
        # delivery is the planted worst touchpoint: its complaints lead every month
        assert top == "delivery_delay"
        assert taxonomy_version
    measured = world.query("select sum(pain_point_verbatims) from executive.cx_scorecard")[0][0]
    assert (
        measured
        == world.query(
            "select count(*) from core.fct_survey_responses"
            " where (is_detractor or csat_score <= 2) and comment is not null"
        )[0][0]
    )


def test_role_tables_are_published_as_parquet_files_too(world: World) -> None:
    role_tables = {
        table: rows
        for table, rows in world.query(
            "select table_name, row_count from ops.publication"
            " where split_part(table_name, '.', 1) in ('frontline', 'manager', 'executive')"
        )
    }
    files = sorted(paths.parquet_dir(world.home).glob("*/*.parquet"))
    assert {f"{file.parent.name}.{file.stem}" for file in files} == set(role_tables)
    for file in files:
        rows = world.query(f"select count(*) from read_parquet('{file}')")[0][0]
        assert rows == role_tables[f"{file.parent.name}.{file.stem}"], file


def test_response_rate_matches_the_planted_world(world: World) -> None:
    completed, sent = world.query(
        "select sum(invitations_completed), sum(invitations_sent) from executive.cx_scorecard"
    )[0]
    assert sent == world.truths.invitations
    assert completed / sent == pytest.approx(world.truths.response_rate, abs=1e-9)


def test_identity_resolution_recovers_every_planted_person(world: World) -> None:
    customer_of_ref = dict(
        world.query(
            "select customers.customer_ref, records.customer_id"
            " from staging.stg_crm__customers as customers"
            " join intermediate.int_records_resolved as records"
            "   on customers.crm_record_id = records.record_id",
            file=world.warehouse,
        )
    )
    person_of_ref = world.truths.person_of_customer_ref
    assert set(customer_of_ref) == set(person_of_ref)
    same_person = {
        (a, b)
        for a in person_of_ref
        for b in person_of_ref
        if a < b and person_of_ref[a] == person_of_ref[b]
    }
    same_customer = {
        (a, b)
        for a in customer_of_ref
        for b in customer_of_ref
        if a < b and customer_of_ref[a] == customer_of_ref[b]
    }
    true_links = same_person & same_customer
    assert len(same_person) == world.truths.duplicate_crm_records
    precision = len(true_links) / len(same_customer)
    recall = len(true_links) / len(same_person)
    assert precision >= 0.99 and recall >= 0.98, (precision, recall)
    crm_customers = world.query("select count(*) from core.dim_customers where is_in_crm")[0][0]
    assert crm_customers == world.truths.persons


def test_planted_driver_order_comes_out(world: World) -> None:
    ranked = [
        attribute
        for (attribute,) in world.query(
            "select attribute from manager.driver_importance"
            " where touchpoint = 'all' and period = 'all'"
            " order by importance_rank"
        )
    ]
    assert ranked[:4] == list(world.truths.driver_order[:4])


def test_long_waits_drive_detractors(world: World) -> None:
    rates = dict(
        world.query(
            "with answers as ("
            "  select response_id, is_detractor, exists ("
            "    select 1 from core.fct_calls as calls"
            "    where calls.customer_id = responses.customer_id"
            f"     and calls.wait_seconds > {world.truths.long_wait_seconds}"
            "     and calls.started_at between responses.submitted_at - interval 7 day"
            "       and responses.submitted_at) as after_long_wait"
            "  from core.fct_survey_responses as responses where nps_score is not null)"
            " select after_long_wait, avg(case when is_detractor then 1.0 else 0.0 end)"
            " from answers group by after_long_wait"
        )
    )
    assert rates[True] == pytest.approx(world.truths.long_wait_detractor_rate, abs=1e-9)
    assert rates[False] == pytest.approx(world.truths.other_detractor_rate, abs=1e-9)
    assert rates[True] > 2 * rates[False]


def test_followup_queue_holds_the_recent_detractors_and_respects_consent(world: World) -> None:
    counts = dict(
        world.query("select reason, count(*) from frontline.followup_queue group by reason")
    )
    assert counts["detractor"] == world.truths.recent_detractor_persons
    assert counts["low_csat"] == world.truths.recent_low_csat_persons
    contactable = world.query(
        "select count(*) from frontline.followup_queue"
        " where reason = 'detractor' and contact_email is not null"
    )[0][0]
    assert contactable == world.truths.recent_detractor_persons_consenting
    leaked = world.query(
        "select count(*) from frontline.followup_queue where not has_contact_consent"
        " and (contact_email is not null or contact_phone is not null or contact_name is not null)"
    )[0][0]
    assert leaked == 0


def test_bad_rows_are_quarantined_with_a_reason_and_good_rows_load(world: World) -> None:
    quarantined = world.query(
        "select feed, row_number, raw_value, reason from ops.quarantine order by feed, raw_value"
    )
    bad_scores = [row for row in quarantined if row[0] == "demo_survey_responses"]
    bad_tickets = [row for row in quarantined if row[0] == "demo_support_tickets"]
    assert len(bad_scores) == world.truths.bad_nps_rows
    assert len(bad_tickets) == world.truths.bad_ticket_rows
    assert {raw_value for _, _, raw_value, _ in bad_scores} <= {"11", "-1"}
    assert all("0..10" in reason and row_number > 0 for _, row_number, _, reason in bad_scores)
    assert all("timestamp" in reason for *_, reason in bad_tickets)
    responses = world.query("select count(*) from core.fct_survey_responses")[0][0]
    assert responses == world.truths.responses


def test_first_reply_minutes_reconcile_with_the_help_desk_export(world: World) -> None:
    compared, differing = world.query(
        "select count(*), count(*) filter (where first_response_minutes"
        " <> source_first_reply_minutes) from core.fct_tickets"
        " where first_response_minutes is not null and source_first_reply_minutes is not null"
    )[0]
    assert compared > 100
    assert differing == 0


def test_reconciliation_checks_report_how_often_we_differ(world: World) -> None:
    evaluations = {
        evaluation.asset_check_key.to_user_string(): evaluation
        for evaluation in world.first_run.get_asset_check_evaluations()
    }
    for key in (
        "core/fct_tickets:reconciles_with_source",
        "core/fct_survey_responses:reconciles_with_source",
    ):
        evaluation = evaluations[key]
        assert evaluation.passed, key
        assert evaluation.metadata["records_compared"].value > 100, key
        assert evaluation.metadata["records_differing"].value == 0, key
    published = world.query(
        "select metric_name, records_compared > 0, records_differing"
        " from core.metric_reconciliation order by all"
    )
    assert ("nps_group", True, 0) in published


def test_a_silently_constant_metric_stops_publication(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    shutil.copytree(world.home, home)
    serving = paths.serving_path(home)
    published = hashlib.sha256(serving.read_bytes()).hexdigest()
    con = duckdb.connect(str(paths.warehouse_path(home)))
    # a bug upstream turns every order into the same amount: plausible, in range, and wrong
    con.execute("update raw.crm_orders set order_amount = 10")
    con.close()
    monkeypatch.setenv("CXMART_HOME", str(home))

    result = refresh()

    assert not result.success
    failed_checks = {
        evaluation.asset_check_key.to_user_string()
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed
    }
    assert "core/fct_orders:not_constant_fct_orders_order_amount" in failed_checks
    assert hashlib.sha256(serving.read_bytes()).hexdigest() == published


def _raw_counts_and_manifest(world: World) -> tuple[list[tuple], list[tuple]]:
    counts = world.query(
        "select table_name, estimated_size from duckdb_tables()"
        " where schema_name = 'raw' order by 1",
        file=world.warehouse,
    )
    exact = [
        (table, world.query(f"select count(*) from raw.{table}", file=world.warehouse)[0][0])
        for table, _ in counts
    ]
    manifest = world.query(
        "select file_sha256, rows_loaded, status from ops.file_manifest order by 1",
        file=world.warehouse,
    )
    return exact, manifest


def test_second_refresh_loads_nothing_twice(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _raw_counts_and_manifest(world)
    monkeypatch.setenv("CXMART_HOME", str(world.home))

    assert refresh().success

    assert _raw_counts_and_manifest(world) == before


def test_failing_check_keeps_the_last_good_serving_file(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = hashlib.sha256(world.serving.read_bytes()).hexdigest()
    con = duckdb.connect(str(world.warehouse))
    # a bug upstream slips an impossible score into raw: the GX suite must stop the refresh
    con.execute(
        "insert into raw.survey_responses (response_ref, submitted_at, nps_score, _feed,"
        " _source_file, _file_sha256, _row_number, _loaded_at)"
        " values ('planted', now(), 11, 'demo_survey_responses', 'planted.csv', 'planted', 1,"
        " now())"
    )
    con.close()
    monkeypatch.setenv("CXMART_HOME", str(world.home))

    result = refresh()

    assert not result.success
    failed_checks = [
        evaluation.asset_check_key.to_user_string()
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed
    ]
    assert "raw/survey_responses:gx_suite" in failed_checks
    assert hashlib.sha256(world.serving.read_bytes()).hexdigest() == published
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert dg.AssetKey(["serving", "serving_duckdb"]) not in materialized
