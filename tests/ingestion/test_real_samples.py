"""The real public samples load by declaration alone (ingestion/sources/real/*.yml).

Fixtures are small excerpts of ../shared/data/real/ (licence notes beside them in
tests/fixtures/real/<sample>/): Olist (198 orders with their customers, payments and
reviews, including the duplicated review_id and the repeat buyers), Telco churn (50
accounts, three with a blank TotalCharges) and Customer Support on Twitter (100 tweets, one
holding bare carriage returns). Everything here is ingestion only, except the one test
marked e2e, which runs the real Dagster refresh on the same excerpts.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ingestion import paths
from ingestion.load import FileOutcome, IngestReport, ingest_landing
from ingestion.real import REAL_SOURCES, land_samples, main, sample_files
from ingestion.registry import Feed, load_registry

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "real"
OLIST = FIXTURES / "olist"
TWITTER_FILE = FIXTURES / "twitter_support" / "twcs_part1.csv"
BARE_CR = re.compile(rb"\r(?!\n)")

REAL_FEEDS = {
    "olist_customers": "crm_customers",
    "olist_orders": "crm_orders",
    "olist_payments": "crm_payments",
    "olist_reviews": "survey_responses",
    "telco_churn_accounts": "crm_customers",
    "twitter_support_tweets": "conversation_messages",
    "qualtrics_responses": "survey_responses",
    "qualtrics_legacy_responses": "survey_responses",
}
DUPLICATED_REVIEW = "e18443b78ee9f058912366f8a01c397a"
# Tweet 6 was answered by tweets 5 and 7: response_tweet_id holds a list.
LIST_REPLIES_TWEET, LIST_REPLIES = "6", "5,7"


@dataclass
class Loaded:
    home: Path
    report: IngestReport
    con: duckdb.DuckDBPyConnection

    def outcome(self, feed: str) -> FileOutcome:
        (outcome,) = [outcome for outcome in self.report.files if outcome.feed == feed]
        return outcome

    def rows(self, sql: str, parameters: list[object] | None = None) -> list[tuple]:
        return self.con.execute(sql, parameters).fetchall()

    def one(self, sql: str, parameters: list[object] | None = None) -> object:
        row = self.con.execute(sql, parameters).fetchone()
        assert row is not None
        return row[0] if len(row) == 1 else row


def real_feeds(*names: str) -> list[Feed]:
    feeds = load_registry(REAL_SOURCES)
    return [feed for feed in feeds if not names or feed.name in names]


def ingest(home: Path, feeds: list[Feed]) -> Loaded:
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    return Loaded(home, ingest_landing(con, home, feeds), con)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    home = tmp_path_factory.mktemp("real_home")
    feeds = real_feeds()
    land_samples(FIXTURES, home, feeds)
    result = ingest(home, feeds)
    yield result
    result.con.close()


def fixture_column(path: Path, column: str) -> list[str]:
    with path.open(encoding="utf-8", newline="") as stream:
        return [row[column] for row in csv.DictReader(stream)]


# --- the declarations and the sample loader ------------------------------------------------


def test_every_real_feed_is_declared_with_its_entity() -> None:
    feeds = {feed.name: feed for feed in real_feeds()}
    assert {name: feed.entity for name, feed in feeds.items()} == REAL_FEEDS
    for name in ("olist_orders", "olist_reviews"):
        assert feeds[name].timezone == "America/Sao_Paulo"
    assert feeds["olist_reviews"].scales["csat_score"].max == 5
    assert feeds["twitter_support_tweets"].timestamp_formats == ("%a %b %d %H:%M:%S %z %Y",)


def test_land_samples_copies_each_file_into_its_feeds_folder(tmp_path: Path) -> None:
    feeds = real_feeds()
    landed = land_samples(FIXTURES, tmp_path, feeds)
    where = {sample.feed: sample.target.relative_to(tmp_path).as_posix() for sample in landed}
    assert where == {
        "olist_customers": "landing/olist_customers/olist_customers_dataset.csv",
        "olist_orders": "landing/olist_orders/olist_orders_dataset.csv",
        "olist_payments": "landing/olist_payments/olist_order_payments_dataset.csv",
        "olist_reviews": "landing/olist_reviews/olist_order_reviews_dataset.csv",
        "telco_churn_accounts": "landing/telco_churn_accounts/Telco-Customer-Churn.csv",
        "twitter_support_tweets": "landing/twitter_support_tweets/twcs_part1.csv",
        "qualtrics_responses": "landing/qualtrics_responses/sample.csv",
        "qualtrics_legacy_responses": "landing/qualtrics_legacy_responses/sample_legacy.csv",
    }
    for sample in landed:
        assert sample.copied
        assert sample.source.is_file(), "copied, not moved"
        assert sample.target.read_bytes() == sample.source.read_bytes()
    # Licence notes stay out of the landing folders.
    assert not list(paths.landing_dir(tmp_path).rglob("LICENSE*"))
    again = land_samples(FIXTURES, tmp_path, feeds)
    assert [sample.copied for sample in again] == [False] * len(landed)


def test_sample_files_match_by_declared_pattern() -> None:
    (reviews,) = real_feeds("olist_reviews")
    assert [path.name for path in sample_files(FIXTURES, reviews)] == [
        "olist_order_reviews_dataset.csv"
    ]


def test_command_lands_from_the_folder_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CXMART_SOURCES", raising=False)
    monkeypatch.setenv("CXMART_REAL_DATA", str(tmp_path / "nowhere"))
    assert main(["--home", str(tmp_path / "home")]) == 1
    assert "sample folder not found" in capsys.readouterr().err
    assert main(["--home", str(tmp_path / "home"), "--from", str(FIXTURES)]) == 0
    assert f"Landed {len(REAL_FEEDS)} file(s)" in capsys.readouterr().out
    assert (paths.landing_dir(tmp_path / "home") / "telco_churn_accounts").is_dir()


# --- Olist -------------------------------------------------------------------------------


def test_olist_feeds_load_every_row(loaded: Loaded) -> None:
    counts = {
        feed: (loaded.outcome(feed).rows_loaded, loaded.outcome(feed).rows_quarantined)
        for feed in ("olist_customers", "olist_orders", "olist_payments", "olist_reviews")
    }
    assert counts == {
        "olist_customers": (198, 0),
        "olist_orders": (198, 0),
        "olist_payments": (204, 0),
        "olist_reviews": (199, 0),
    }


def test_olist_zip_prefixes_keep_their_leading_zeros(loaded: Loaded) -> None:
    expected = fixture_column(OLIST / "olist_customers_dataset.csv", "customer_zip_code_prefix")
    with_zero = sorted(code for code in expected if code.startswith("0"))
    assert len(with_zero) > 20
    assert (
        sorted(
            code
            for (code,) in loaded.rows(
                "select postcode from raw.crm_customers "
                "where _feed = 'olist_customers' and postcode like '0%'"
            )
        )
        == with_zero
    )
    assert loaded.rows(
        "select postcode, city, region from raw.crm_customers where customer_ref = ?",
        ["e3ba5dc186f78dc33ea7d927d8005119"],
    ) == [("04561", "sao paulo", "SP")]


def test_olist_person_ref_groups_a_repeat_buyers_records(loaded: Loaded) -> None:
    repeat = loaded.rows(
        "select person_ref, count(*) from raw.crm_customers where _feed = 'olist_customers' "
        "group by person_ref having count(*) > 1"
    )
    assert len(repeat) == 5 and all(records == 2 for _, records in repeat)


def test_olist_local_times_are_stored_in_utc(loaded: Loaded) -> None:
    ordered_at = dict(
        loaded.rows(
            "select order_ref, ordered_at from raw.crm_orders where order_ref in (?, ?)",
            ["2c810e97c1d3956172e1830863e6a133", "9ca6d17660064ab8bbc4a8089397afb1"],
        )
    )
    # August 2018: São Paulo is UTC-3; November 2017: Brazilian summer time, UTC-2.
    assert ordered_at == {
        "2c810e97c1d3956172e1830863e6a133": datetime(2018, 8, 15, 14, 30, 33),
        "9ca6d17660064ab8bbc4a8089397afb1": datetime(2017, 11, 10, 14, 22, 11),
    }
    # Delivery milestones have no canonical field: kept as exported in _extra.
    assert (
        loaded.one(
            "select _extra ->> 'order_approved_at' from raw.crm_orders where order_ref = ?",
            ["9ca6d17660064ab8bbc4a8089397afb1"],
        )
        == "2017-11-10 12:36:04"
    )


def test_olist_duplicated_review_id_keeps_both_rows_and_is_reported(loaded: Loaded) -> None:
    rows = loaded.rows(
        "select order_ref, csat_score, submitted_at from raw.survey_responses "
        "where response_ref = ? order by _row_number",
        [DUPLICATED_REVIEW],
    )
    # One review answering two orders, answered 2018-02-07 20:52:41 in São Paulo (UTC-2).
    assert rows == [
        ("246161390a20f964881feeaeea896671", 5, datetime(2018, 2, 7, 22, 52, 41)),
        ("7911b64405b6667c48cb3f1334f85432", 5, datetime(2018, 2, 7, 22, 52, 41)),
    ]
    outcome = loaded.outcome("olist_reviews")
    assert outcome.duplicate_key_rows == 1
    assert outcome.reason is not None and DUPLICATED_REVIEW in outcome.reason


def test_olist_reviews_are_portuguese_delivery_csat(loaded: Loaded) -> None:
    assert loaded.rows(
        "select touchpoint, language, min(csat_score), max(csat_score), count(*) "
        "from raw.survey_responses where _feed = 'olist_reviews' group by all"
    ) == [("delivery", "pt", 1, 5, 199)]
    comments = [
        text
        for text in fixture_column(
            OLIST / "olist_order_reviews_dataset.csv", "review_comment_message"
        )
        if text.strip()
    ]
    reviews = "from raw.survey_responses where _feed = 'olist_reviews'"
    assert loaded.one(f"select count(comment) {reviews}") == len(comments)
    # Comments spanning several lines inside quotes arrive whole.
    assert (
        loaded.one(f"select count(*) {reviews} and contains(comment, chr(10))")
        == sum("\n" in text for text in comments)
        > 0
    )
    titles = fixture_column(OLIST / "olist_order_reviews_dataset.csv", "review_comment_title")
    assert (
        loaded.one(f"select count(_extra ->> 'review_comment_title') {reviews}")
        == sum(1 for title in titles if title.strip())
        > 0
    )


def test_olist_split_payments_land_as_rows_of_one_order(loaded: Loaded) -> None:
    assert loaded.rows(
        "select payment_method, installments, paid_amount, split_part(payment_ref, '-', 2) "
        "from raw.crm_payments where order_ref = ? order by _row_number",
        ["ef8ad84adcf1d4c437f165f437e238f6"],
    ) == loaded.rows(
        "select payment_type, payment_installments::bigint, payment_value::decimal(18, 4), "
        "payment_sequential::varchar from read_csv(?, all_varchar = true) where order_id = ?",
        [str(OLIST / "olist_order_payments_dataset.csv"), "ef8ad84adcf1d4c437f165f437e238f6"],
    )
    # payment_ref is composed of order_id and payment_sequential: every payment is its own row
    assert loaded.outcome("olist_payments").duplicate_key_rows == 0
    refs = loaded.rows(
        "select payment_ref from raw.crm_payments where order_ref = ? order by _row_number",
        ["ef8ad84adcf1d4c437f165f437e238f6"],
    )
    assert refs[0] == ("ef8ad84adcf1d4c437f165f437e238f6-1",)


def test_olist_review_rows_outside_the_declaration_are_quarantined(tmp_path: Path) -> None:
    text = (OLIST / "olist_order_reviews_dataset.csv").read_text(encoding="utf-8")
    first_review = "c399eafa15aafaecdd1d9008f5b34ed6,3081ddf6e7c6afa4e4124e7882486fcd,5,"
    second_answer = ",2018-02-25 11:02:05\n"
    assert text.count(first_review) == 1 and text.count(second_answer) == 1
    broken = text.replace(first_review, first_review[:-2] + "6,").replace(
        second_answer, ",25/02/2018 11:02\n"
    )
    folder = paths.landing_dir(tmp_path) / "olist_reviews"
    folder.mkdir(parents=True)
    (folder / "olist_order_reviews_dataset.csv").write_text(broken, encoding="utf-8")
    result = ingest(tmp_path, real_feeds("olist_reviews"))
    try:
        outcome = result.outcome("olist_reviews")
        assert (outcome.status, outcome.rows_loaded, outcome.rows_quarantined) == (
            "partially_loaded",
            197,
            2,
        )
        problems = result.rows(
            "select row_number, column_name, raw_value, reason from ops.quarantine "
            "order by row_number"
        )
        assert [row[:3] for row in problems] == [
            (1, "review_score", "6"),
            (2, "review_answer_timestamp", "25/02/2018 11:02"),
        ]
        assert "expected integer 1..5" in problems[0][3]
    finally:
        result.con.close()


# --- Telco churn -------------------------------------------------------------------------


def test_telco_accounts_load_with_churn_flags(loaded: Loaded) -> None:
    outcome = loaded.outcome("telco_churn_accounts")
    assert (outcome.status, outcome.rows_loaded, outcome.rows_quarantined) == ("loaded", 50, 0)
    churn = fixture_column(FIXTURES / "telco_churn" / "Telco-Customer-Churn.csv", "Churn")
    assert (
        loaded.rows(
            "select is_churned, count(*) from raw.crm_customers "
            "where _feed = 'telco_churn_accounts' group by all order by is_churned"
        )
        == [(False, churn.count("No")), (True, churn.count("Yes"))]
        == [(False, 36), (True, 14)]
    )
    assert (
        loaded.one("select is_churned from raw.crm_customers where customer_ref = '3668-QPYBK'")
        is True
    )


def test_telco_blank_total_charges_stay_as_exported_in_extra(loaded: Loaded) -> None:
    blank = loaded.rows(
        "select customer_ref, _extra ->> 'tenure' from raw.crm_customers "
        "where _feed = 'telco_churn_accounts' and _extra ->> 'TotalCharges' = ' '"
    )
    # New accounts in their first month: nothing billed yet, not a bad row.
    assert len(blank) == 3 and {tenure for _, tenure in blank} == {"0"}
    assert (
        loaded.one("select count(*) from ops.quarantine where feed = 'telco_churn_accounts'") == 0
    )


# --- Customer Support on Twitter -----------------------------------------------------------


def land_twitter_without_bare_cr(home: Path) -> int:
    """The excerpt minus the one record holding bare carriage returns; returns its records."""
    lines = TWITTER_FILE.read_bytes().split(b"\n")
    kept = [line for line in lines if not BARE_CR.search(line)]
    assert len(kept) == len(lines) - 1
    folder = paths.landing_dir(home) / "twitter_support_tweets"
    folder.mkdir(parents=True)
    landed = folder / "twcs_part1.csv"
    landed.write_bytes(b"\n".join(kept))
    with landed.open(encoding="utf-8", newline="") as stream:
        records = sum(1 for _ in csv.DictReader(stream))
    assert records == 99
    return records


def test_twitter_tweets_load_as_conversation_messages(tmp_path: Path) -> None:
    records = land_twitter_without_bare_cr(tmp_path)
    result = ingest(tmp_path, real_feeds("twitter_support_tweets"))
    try:
        outcome = result.outcome("twitter_support_tweets")
        assert (outcome.status, outcome.rows_loaded) == ("loaded", records)
        # "Tue Oct 31 22:10:47 +0000 2017": the offset in the text wins, stored as UTC.
        assert result.rows(
            "select author_ref, is_inbound, sent_at, in_reply_to_ref "
            "from raw.conversation_messages where message_ref = '1'"
        ) == [("sprintcare", False, datetime(2017, 10, 31, 22, 10, 47), "3.0")]
        with (paths.landing_dir(tmp_path) / "twitter_support_tweets" / "twcs_part1.csv").open(
            encoding="utf-8", newline=""
        ) as stream:
            inbound = [row["inbound"] for row in csv.DictReader(stream)]
        assert (
            result.rows(
                "select is_inbound, count(*) from raw.conversation_messages group by all "
                "order by is_inbound"
            )
            == [(False, inbound.count("False")), (True, inbound.count("True"))]
            == [
                (False, 47),
                (True, 52),
            ]
        )
        # The list-valued reply ids and pandas' unnamed index column are kept in _extra.
        assert (
            result.one(
                "select _extra ->> 'response_tweet_id' from raw.conversation_messages "
                "where message_ref = ?",
                [LIST_REPLIES_TWEET],
            )
            == LIST_REPLIES
        )
        assert (
            result.one(
                "select count(*) from raw.conversation_messages where _extra ->> 'column1' is null"
            )
            == 0
        )
    finally:
        result.con.close()


def test_twitter_bare_carriage_return_loses_nothing_silently(loaded: Loaded) -> None:
    """Every record is either in raw or accounted for in ops.quarantine."""
    outcome = loaded.outcome("twitter_support_tweets")
    in_raw = loaded.one("select count(*) from raw.conversation_messages")
    assert in_raw == outcome.rows_loaded
    if outcome.status == "quarantined" and outcome.rows_read == 0:
        # The whole file was refused: one file-level record says why, and the file is kept.
        assert in_raw == 0
        reason = loaded.one(
            "select reason from ops.quarantine "
            "where feed = 'twitter_support_tweets' and row_number is null"
        )
        assert "carriage return" in str(reason)
        kept = paths.quarantine_dir(loaded.home) / "twitter_support_tweets" / "twcs_part1.csv"
        assert kept.read_bytes() == TWITTER_FILE.read_bytes()
    else:
        quarantined_rows = loaded.one(
            "select count(distinct row_number) from ops.quarantine "
            "where feed = 'twitter_support_tweets' and row_number is not null"
        )
        assert in_raw + quarantined_rows >= 100


def test_twitter_bare_carriage_return_costs_only_its_own_record(loaded: Loaded) -> None:
    assert loaded.outcome("twitter_support_tweets").rows_loaded >= 99
    loaded_refs = {
        ref for (ref,) in loaded.rows("select message_ref from raw.conversation_messages")
    }
    assert {"3398", "3400"} <= loaded_refs


# --- Qualtrics ----------------------------------------------------------------------------


def test_qualtrics_exports_load_one_response_each(loaded: Loaded) -> None:
    rows = loaded.rows(
        "select _feed, response_ref, started_at, submitted_at, is_finished, comment, language "
        "from raw.survey_responses where _feed like 'qualtrics%' order by _feed"
    )
    # Exported in Bern's time zone (CEST, UTC+2); the German labels and the ImportId row
    # are header rows, not responses.
    started, submitted = datetime(2017, 7, 18, 6, 28, 9), datetime(2017, 7, 18, 6, 28, 48)
    assert rows == [
        (
            "qualtrics_legacy_responses",
            "R_2YPOQ602ER1jkf1",
            started,
            submitted,
            True,
            "Hello World!",
            None,
        ),
        (
            "qualtrics_responses",
            "R_2YPOQ602ER1jkf1",
            started,
            submitted,
            True,
            "Hello World!",
            "DE",
        ),
    ]
    # The legacy V1…V10 tags take their names from row 2; Q1 (scale unknown) stays in _extra.
    legacy_extra = loaded.one(
        "select _extra from raw.survey_responses where _feed = 'qualtrics_legacy_responses'"
    )
    assert '"Q1":"2"' in str(legacy_extra) and '"V' not in str(legacy_extra)


# --- the whole pipeline --------------------------------------------------------------------


@pytest.mark.e2e
def test_refresh_publishes_a_mart_from_the_real_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("CXMART_HOME", str(home))
    monkeypatch.setenv("CXMART_SOURCES", str(REAL_SOURCES))
    land_samples(FIXTURES, home, real_feeds())
    from orchestration.definitions import defs

    result = defs.resolve_job_def("refresh_everything").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert result.success
    con = duckdb.connect(str(paths.serving_path(home)), read_only=True)
    try:
        # 199 review rows, one review_id twice: staging keeps one of them.
        assert con.execute(
            "select sum(csat_responses) from manager.touchpoint_performance "
            "where touchpoint = 'delivery'"
        ).fetchone() == (198,)
        assert con.execute("select count(*) from executive.cx_scorecard").fetchone()[0] > 0
    finally:
        con.close()


def test_fixtures_carry_their_licence_notes() -> None:
    for sample, note in (
        ("olist", "LICENSE.md"),
        ("telco_churn", "LICENSE"),
        ("telco_churn", "NOTICE.md"),
        ("twitter_support", "LICENSE.md"),
    ):
        assert (FIXTURES / sample / note).is_file(), f"{sample}/{note}"
    assert "Apache License" in (FIXTURES / "telco_churn" / "LICENSE").read_text()
    assert "CC BY-NC-SA 4.0" in (FIXTURES / "olist" / "LICENSE.md").read_text()
