"""Verbatim sentiment and topics: tricky cases, a hand-labelled set, and the demo world."""

from __future__ import annotations

import csv
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from ingestion.demo import generate_demo_world
from ingestion.load import ingest_landing
from ingestion.paths import sources_dir
from ingestion.registry import load_registry
from ingestion.text import TextConfigError, annotate_feedback, load_lexicon, load_taxonomy
from ingestion.text.annotate import (
    SENTIMENT_COLUMNS,
    TOPIC_COLUMNS,
    collapsed_whitespace_sql,
    normalized_sql,
)
from ingestion.text.config import LEXICON_PATH, TAXONOMY_PATH, normalize_text
from ingestion.warehouse import ensure_schemas

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "text"
LABELLED = FIXTURES / "labelled_feedback.csv"
HOLDOUT = FIXTURES / "holdout_feedback.csv"


@dataclass(frozen=True)
class Annotated:
    ref: str
    language: str
    language_source: str
    score: float
    label: str
    terms: list[str]
    topics: dict[str, list[str]]


def _warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_schemas(con)
    return con


def _add_comments(
    con: duckdb.DuckDBPyConnection,
    comments: Iterable[tuple[str, str | None, str | None]],
    *,
    loaded_at: str = "2025-01-01 00:00:00",
    sha: str = "sha-a",
) -> None:
    """(response_ref, comment, declared language) rows into raw.survey_responses."""
    con.executemany(
        "insert into raw.survey_responses (response_ref, submitted_at, comment, language, "
        "_feed, _source_file, _file_sha256, _row_number, _loaded_at) "
        "values (?, timestamp '2025-01-01', ?, ?, 'survey', 'f.csv', ?, 1, ?)",
        [[ref, comment, language, sha, loaded_at] for ref, comment, language in comments],
    )


def _add_subjects(
    con: duckdb.DuckDBPyConnection, subjects: Iterable[tuple[str, str | None]]
) -> None:
    con.executemany(
        "insert into raw.support_tickets (ticket_ref, created_at, subject, _feed, _source_file, "
        "_file_sha256, _row_number, _loaded_at) "
        "values (?, timestamp '2025-01-01', ?, 'tickets', 't.csv', 'sha-t', 1, now())",
        [[ref, subject] for ref, subject in subjects],
    )


def _results(con: duckdb.DuckDBPyConnection) -> dict[str, Annotated]:
    topics: dict[str, dict[str, list[str]]] = {}
    for ref, topic, terms in con.execute(
        "select source_ref, topic, matched_terms from raw.feedback_topics"
    ).fetchall():
        topics.setdefault(ref, {})[topic] = terms
    return {
        ref: Annotated(ref, language, source, score, label, terms, topics.get(ref, {}))
        for ref, language, source, score, label, terms in con.execute(
            "select source_ref, language, language_source, sentiment_score, sentiment_label, "
            "sentiment_terms from raw.feedback_sentiment"
        ).fetchall()
    }


def _annotate_texts(texts: dict[str, str], language: str | None = None) -> dict[str, Annotated]:
    con = _warehouse()
    _add_comments(con, [(ref, text, language) for ref, text in texts.items()])
    annotate_feedback(con)
    return _results(con)


# --------------------------------------------------------------------------- tricky cases

SENTIMENT_CASES: list[tuple[str, str]] = [
    ("not bad", "positive"),
    ("Not bad at all!", "positive"),
    ("not good", "negative"),
    ("not very good", "negative"),
    ("I would not recommend them", "negative"),
    ("The parcel never arrived.", "negative"),
    ("No problems, everything went smoothly", "positive"),
    ("Polite staff, but they couldn't answer my question.", "negative"),
    ("Great service, fast and friendly!", "positive"),
    ("It was fine.", "neutral"),
    ("I ordered a blue jumper.", "neutral"),
    ("não gostei", "negative"),
    ("Gostei muito, recomendo.", "positive"),
    ("Não foi ruim.", "positive"),
    ("Ninguém resolveu o problema.", "negative"),
    ("不满意", "negative"),
    ("不错", "positive"),
    ("很满意", "positive"),
    ("不太满意", "negative"),
    ("没有任何问题", "positive"),
    ("快递很慢", "negative"),
]


@pytest.mark.parametrize(("text", "expected"), SENTIMENT_CASES)
def test_negation_and_intensifiers(text: str, expected: str) -> None:
    result = _annotate_texts({"r1": text})["r1"]
    assert result.label == expected, (text, result)


def test_case_punctuation_and_apostrophes_do_not_change_the_score() -> None:
    results = _annotate_texts(
        {
            "lower": "terrible delivery",
            "upper": "TERRIBLE DELIVERY!!!",
            "spaced": "  Terrible\n\tdelivery.  ",
            "straight": "it didn't work",
            "curly": "It didn’t work",
            "spelled": "it did not work",
            "broken_scope": "not, bad",
        }
    )
    assert results["lower"].score == results["upper"].score == results["spaced"].score < -0.4
    assert results["straight"].score == results["curly"].score == results["spelled"].score < 0
    # Punctuation ends a negation's scope: "bad" stays negative.
    assert results["broken_scope"].label == "negative"


def test_accents_are_optional_in_portuguese() -> None:
    results = _annotate_texts({"a": "Péssimo, não chegou", "b": "pessimo, nao chegou"}, "pt")
    assert results["a"].score == results["b"].score < -0.5
    assert results["a"].topics == results["b"].topics == {"delivery_delay": ["nao chegou"]}


def test_empty_and_null_verbatims_are_not_annotated() -> None:
    con = _warehouse()
    _add_comments(con, [("null", None, "en"), ("empty", "", "en"), ("blank", "  \n ", None)])
    _add_subjects(con, [("t-null", None), ("t-ok", "Package late")])
    report = annotate_feedback(con)
    assert set(_results(con)) == {"t-ok"}
    assert (report.feedback_rows, report.topic_rows) == (1, 1)
    assert _results(con)["t-ok"].topics == {"delivery_delay": ["package late"]}


def test_a_50000_character_comment_is_annotated_quickly() -> None:
    text = ("The delivery was late and the agent was rude. " * 1100)[:50_000]
    con = _warehouse()
    _add_comments(con, [("long", text, "en")])
    started = time.perf_counter()
    annotate_feedback(con)
    elapsed = time.perf_counter() - started
    result = _results(con)["long"]
    assert len(text) == 50_000
    assert result.label == "negative" and result.score < -0.99
    assert set(result.topics) == {"delivery_delay", "staff_attitude"}
    assert elapsed < 20


def test_formula_strings_stay_inert_text() -> None:
    formulas = {
        "f1": '=HYPERLINK("http://evil.example","late delivery")',
        "f2": "+cmd|' /C calc'!A0",
        "f3": "@SUM(1+1)*cmd|' /C notepad'!'A1'",
        "f4": "-2+3 terrible",
    }
    con = _warehouse()
    _add_comments(con, [(ref, text, "en") for ref, text in formulas.items()])
    annotate_feedback(con)
    results = _results(con)
    assert set(results) == set(formulas)
    assert results["f1"].topics == {"delivery_delay": ["late delivery"]}
    assert results["f4"].label == "negative"
    produced = [term for result in results.values() for term in result.terms] + [
        term for result in results.values() for terms in result.topics.values() for term in terms
    ]
    # Only lexicon terms come out; nothing a spreadsheet would evaluate.
    assert all(term[:1] not in "=+-@" for term in produced)
    # The verbatims themselves are untouched.
    stored = dict(con.execute("select response_ref, comment from raw.survey_responses").fetchall())
    assert stored == formulas


def test_language_is_declared_or_detected() -> None:
    con = _warehouse()
    _add_comments(
        con,
        [
            ("declared_pt", "Entrega atrasada", "PT-BR"),
            ("undeclared_pt", "Fui cobrado duas vezes no cartão.", None),
            ("han_declared_en", "送货太慢了", "EN"),
            ("undeclared_en", "Charged twice for one order", None),
            ("unknown_code", "The app keeps crashing", "xx"),
        ],
    )
    _add_subjects(con, [("ticket", "Refund still pending after 2 weeks")])
    annotate_feedback(con)
    languages = {ref: (r.language, r.language_source) for ref, r in _results(con).items()}
    assert languages == {
        "declared_pt": ("pt", "declared"),
        "undeclared_pt": ("pt", "detected"),
        "han_declared_en": ("zh", "detected"),
        "undeclared_en": ("en", "detected"),
        "unknown_code": ("en", "detected"),
        "ticket": ("en", "detected"),
    }


def test_only_the_latest_version_of_a_response_is_annotated() -> None:
    con = _warehouse()
    _add_comments(con, [("r1", "Terrible, never again", "en")], loaded_at="2025-01-01", sha="a")
    _add_comments(con, [("r1", "Great, thank you", "en")], loaded_at="2025-02-01", sha="b")
    annotate_feedback(con)
    results = _results(con)
    assert list(results) == ["r1"] and results["r1"].label == "positive"


def _just_loaded() -> str:
    """A load time after any annotation so far (rows landed by a later refresh)."""
    return str(datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=1))


def _annotations(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return con.execute(
        "select 's', source_ref, language, sentiment_score::varchar, sentiment_label, "
        "sentiment_terms::varchar from raw.feedback_sentiment union all "
        "select 't', source_ref, topic, confidence::varchar, taxonomy_version, "
        "matched_terms::varchar from raw.feedback_topics order by all"
    ).fetchall()


def test_a_refresh_annotates_only_the_verbatims_landed_since_and_equals_a_rebuild() -> None:
    con = _warehouse()
    _add_comments(
        con,
        [
            ("r1", "Late delivery, rude staff", "en"),
            ("r2", "Love it, fast shipping", "en"),
            ("r3", "The app keeps crashing", "en"),
        ],
    )
    annotate_feedback(con)
    (r3_label, first_stamp) = con.execute(
        "select sentiment_label, _annotated_at from raw.feedback_sentiment where source_ref = 'r3'"
    ).fetchone()
    # an annotation no refresh should touch again: changed by hand to see whether it is
    con.execute(
        "update raw.feedback_sentiment set sentiment_label = 'kept' where source_ref = 'r3'"
    )
    later = _just_loaded()
    _add_comments(
        con,
        [
            ("r1", "Great support, thank you", "en"),  # a new version of r1
            ("r2", None, "en"),  # r2's comment was removed
            ("r4", "Terrible, the refund never came", "en"),
        ],
        loaded_at=later,
        sha="sha-b",
    )
    report = annotate_feedback(con)
    labels = dict(
        con.execute("select source_ref, sentiment_label from raw.feedback_sentiment").fetchall()
    )
    assert labels == {"r1": "positive", "r3": "kept", "r4": "negative"}
    assert report.feedback_rows == 3
    assert con.execute(
        "select count(*) from raw.feedback_topics where source_ref = 'r2'"
    ).fetchone() == (0,)
    # the rows annotated again carry the new annotation's stamp (dbt rewrites their
    # verbatims' topics), the others keep theirs
    stamps = dict(
        con.execute(
            "select source_ref, list_distinct(list(_annotated_at > ?)) from (select source_ref,"
            " _annotated_at from raw.feedback_sentiment union all select source_ref,"
            " _annotated_at from raw.feedback_topics) group by 1",
            [first_stamp],
        ).fetchall()
    )
    assert stamps == {"r1": [True], "r3": [False], "r4": [True]}
    # the same tables as annotating everything again (r3 given back its computed label)
    con.execute(
        "update raw.feedback_sentiment set sentiment_label = ? where source_ref = 'r3'",
        [r3_label],
    )
    incremental = _annotations(con)
    con.execute("drop table ingest_state.feedback_annotations")
    annotate_feedback(con)
    assert _annotations(con) == incremental


def test_a_changed_taxonomy_or_rows_loaded_out_of_order_annotate_everything_again() -> None:
    con = _warehouse()
    _add_comments(con, [("r1", "Late delivery", "en"), ("r2", "Love it", "en")])
    annotate_feedback(con)
    con.execute("update raw.feedback_sentiment set sentiment_label = 'stale'")
    # a row landed with a load time before the last annotation breaks the append-only
    # contract the watermark relies on: everything is annotated again
    _add_comments(con, [("r3", "Rude staff", "en")], loaded_at="2025-01-02", sha="sha-c")
    annotate_feedback(con)
    assert con.execute(
        "select count(*) from raw.feedback_sentiment where sentiment_label = 'stale'"
    ).fetchone() == (0,)
    con.execute("update raw.feedback_sentiment set sentiment_label = 'stale'")
    taxonomy = load_taxonomy()
    annotate_feedback(con, taxonomy=replace(taxonomy, version=taxonomy.version + "-edited"))
    assert con.execute(
        "select count(*) from raw.feedback_sentiment where sentiment_label = 'stale'"
    ).fetchone() == (0,)


def test_rebuilds_from_scratch_with_the_declared_schema() -> None:
    con = _warehouse()
    _add_comments(con, [("r1", "Late delivery, rude staff", "en"), ("r2", "Love it", "en")])
    first = annotate_feedback(con)
    con.execute("delete from raw.survey_responses where response_ref = 'r2'")
    second = annotate_feedback(con)
    assert (first.feedback_rows, second.feedback_rows) == (2, 1)
    assert second.topic_rows == 2 and second.rows_by_sentiment == {"negative": 1}
    for table, columns in (
        ("feedback_sentiment", SENTIMENT_COLUMNS),
        ("feedback_topics", TOPIC_COLUMNS),
    ):
        described = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = ? order by ordinal_position",
            [table],
        ).fetchall()
        assert described == [(name, type_.removesuffix(" NOT NULL")) for name, type_ in columns]
    row = con.execute(
        "select topic, taxonomy_version, method, confidence, matched_terms "
        "from raw.feedback_topics where topic = 'delivery_delay'"
    ).fetchone()
    assert row == ("delivery_delay", load_taxonomy().version, "keyword", 0.6, ["late delivery"])
    versions = con.execute(
        "select distinct method, lexicon_version from raw.feedback_sentiment"
    ).fetchall()
    assert versions == [("lexicon", load_lexicon().version)]


def test_set_based_speed_on_20k_comments() -> None:
    con = _warehouse()
    texts = [row["text"] for row in _read_labelled(LABELLED)]
    con.execute(
        "insert into raw.survey_responses (response_ref, submitted_at, comment, _feed, "
        "_file_sha256, _row_number, _loaded_at) "
        "select 'R' || i, timestamp '2025-01-01', $texts[1 + i % len($texts)] || ' #' || i, "
        "'survey', 'sha', i, timestamp '2025-01-01' from range(20000) as numbers(i)",
        {"texts": texts},
    )
    started = time.perf_counter()
    report = annotate_feedback(con)
    assert report.feedback_rows == 20_000
    assert time.perf_counter() - started < 15
    unique = con.execute(
        "select count(*) = count(distinct (feed, source_entity, source_ref)) "
        "from raw.feedback_sentiment"
    ).fetchone()
    assert unique == (True,)


# --------------------------------------------------------------------------- configuration


def test_the_shipped_files_load_and_cover_three_languages() -> None:
    taxonomy, lexicon = load_taxonomy(), load_lexicon()
    assert len(taxonomy.topics) >= 10
    for topic in taxonomy.topics:
        assert set(topic.patterns) == {"en", "pt", "zh"}, topic.name
    assert set(lexicon.languages) == {"en", "pt", "zh"}


def test_normalization_matches_the_sql_one() -> None:
    samples = [
        "Não CHEGOU",
        "didn’t   work",
        "can't",
        "won't",
        "送货太慢了！",
        "Ótimo\tatendimento",
    ]
    con = duckdb.connect()
    for sample in samples:
        sql = collapsed_whitespace_sql(normalized_sql("?"))
        from_sql = con.execute(f"select {sql}", [sample] * sql.count("?")).fetchone()
        assert from_sql == (normalize_text(sample),), sample


def _copy_with(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text
    target = tmp_path / source.name
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


def test_a_term_with_two_polarities_is_refused(tmp_path: Path) -> None:
    path = _copy_with(
        tmp_path, LEXICON_PATH, "      weak: [ok, okay,", "      weak: [terrible, ok,"
    )
    with pytest.raises(TextConfigError, match="'terrible' is listed under both"):
        load_lexicon(path)


def test_an_unquoted_yaml_boolean_is_refused(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, LEXICON_PATH, 'negators: [not, "no",', "negators: [not, no,")
    with pytest.raises(TextConfigError, match=r"en\.negators: entry False is not text"):
        load_lexicon(path)


def test_an_invalid_topic_pattern_names_the_topic(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, TAXONOMY_PATH, "- 'late (again|", "- 'late ((again|")
    con = _warehouse()
    with pytest.raises(TextConfigError, match="delivery_delay"):
        annotate_feedback(con, taxonomy=load_taxonomy(path))
    # Nothing was built.
    assert con.execute(
        "select count(*) from information_schema.tables where table_name = 'feedback_topics'"
    ).fetchone() == (0,)


# --------------------------------------------------------------------------- labelled set


def _read_labelled(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@dataclass(frozen=True)
class Scores:
    per_topic: dict[str, tuple[int, int, int, float, float]]  # tp, fp, fn, precision, recall
    macro_precision: float
    macro_recall: float
    sentiment_accuracy: float
    sentiment_accuracy_by_language: dict[str, float]

    def table(self, title: str) -> str:
        lines = [
            f"\n{title}",
            "| topic | support | TP | FP | FN | precision | recall |",
            "|---|---|---|---|---|---|---|",
        ]
        for topic, (tp, fp, fn, precision, recall) in sorted(self.per_topic.items()):
            lines.append(
                f"| {topic} | {tp + fn} | {tp} | {fp} | {fn} | {precision:.2f} | {recall:.2f} |"
            )
        lines.append(
            f"| **macro** | | | | | {self.macro_precision:.2f} | {self.macro_recall:.2f} |"
        )
        by_language = ", ".join(
            f"{language} {accuracy:.2f}"
            for language, accuracy in sorted(self.sentiment_accuracy_by_language.items())
        )
        lines.append(f"sentiment accuracy {self.sentiment_accuracy:.2f} ({by_language})")
        return "\n".join(lines)


def _score(path: Path) -> Scores:
    rows = _read_labelled(path)
    results = _annotate_texts({row["feedback_id"]: row["text"] for row in rows})
    topics = [topic.name for topic in load_taxonomy().topics]
    counts = {topic: [0, 0, 0] for topic in topics}
    correct: dict[str, list[bool]] = {}
    for row in rows:
        result = results[row["feedback_id"]]
        expected = {topic for topic in row["topics"].split(";") if topic}
        assert expected <= set(topics), row
        for topic in topics:
            predicted, actual = topic in result.topics, topic in expected
            index = 0 if predicted and actual else 1 if predicted else 2 if actual else None
            if index is not None:
                counts[topic][index] += 1
        correct.setdefault(row["language"], []).append(result.label == row["sentiment"])
    per_topic = {}
    for topic, (tp, fp, fn) in counts.items():
        if tp + fp + fn == 0:
            continue
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        per_topic[topic] = (tp, fp, fn, precision, recall)
    every = [flag for flags in correct.values() for flag in flags]
    return Scores(
        per_topic=per_topic,
        macro_precision=sum(value[3] for value in per_topic.values()) / len(per_topic),
        macro_recall=sum(value[4] for value in per_topic.values()) / len(per_topic),
        sentiment_accuracy=sum(every) / len(every),
        sentiment_accuracy_by_language={
            language: sum(flags) / len(flags) for language, flags in correct.items()
        },
    )


def test_labelled_set_precision_recall_and_sentiment_accuracy() -> None:
    """The curated set the lexicon was developed against: a regression floor."""
    scores = _score(LABELLED)
    print(scores.table(f"labelled set ({LABELLED.name})"))
    assert len(_read_labelled(LABELLED)) >= 90
    assert scores.macro_precision >= 0.8
    assert scores.macro_recall >= 0.7
    assert scores.sentiment_accuracy >= 0.8
    assert min(scores.sentiment_accuracy_by_language.values()) >= 0.7
    assert all(recall >= 0.5 for *_, recall in scores.per_topic.values())


def test_holdout_set_written_after_the_lexicon_was_frozen() -> None:
    """Never tuned against: an honest (small) estimate of accuracy on unseen verbatims.

    Measured when written: topics macro precision 1.00 / recall 0.89, sentiment accuracy
    0.63. The misses are factual complaints with no opinion word ("the shoes fell apart",
    "发票开错了"), read as neutral. If the lexicon is ever tuned on these rows, write a new
    holdout set: this one would no longer estimate anything.
    """
    scores = _score(HOLDOUT)
    print(scores.table(f"holdout set ({HOLDOUT.name})"))
    assert scores.macro_precision >= 0.9
    assert scores.macro_recall >= 0.8
    assert scores.sentiment_accuracy >= 0.6


# --------------------------------------------------------------------------- demo world


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    home = tmp_path_factory.mktemp("text_demo")
    generate_demo_world(home / "landing", scale=0.1, seed=42, end_date=date(2025, 11, 23))
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    ingest_landing(con, home, load_registry(sources_dir()))
    annotate_feedback(con)
    return con


def test_demo_detractors_read_negative_and_promoters_positive(
    demo_warehouse: duckdb.DuckDBPyConnection,
) -> None:
    shares = dict(
        (group, (negative, positive, rows))
        for group, negative, positive, rows in demo_warehouse.execute(
            """
            select
                case when responses.nps_score <= 6 then 'detractor'
                    when responses.nps_score >= 9 then 'promoter' else 'passive' end as nps_group,
                avg((sentiment.sentiment_label = 'negative')::int),
                avg((sentiment.sentiment_label = 'positive')::int),
                count(*)
            from raw.survey_responses as responses
            inner join raw.feedback_sentiment as sentiment
                on sentiment.source_entity = 'survey_responses'
                and sentiment.feed = responses._feed
                and sentiment.source_ref = responses.response_ref
            where responses.nps_score is not null
            group by all
            """
        ).fetchall()
    )
    print(shares)
    assert shares["detractor"][2] >= 50 and shares["promoter"][2] >= 50
    assert shares["detractor"][0] >= 0.9
    assert shares["promoter"][1] >= 0.9


def test_demo_languages_and_touchpoint_topics(demo_warehouse: duckdb.DuckDBPyConnection) -> None:
    by_language = dict(
        demo_warehouse.execute(
            """
            select sentiment.language = lower(left(responses.language, 2)), count(*)
            from raw.feedback_sentiment as sentiment
            inner join raw.survey_responses as responses
                on sentiment.source_ref = responses.response_ref
            group by all
            """
        ).fetchall()
    )
    assert set(by_language) == {True}
    # Ticket subjects about delivery land in the delivery topic.
    delivery = demo_warehouse.execute(
        """
        select avg((topics.topic is not null)::int)
        from raw.support_tickets as tickets
        left join raw.feedback_topics as topics
            on topics.source_entity = 'support_tickets'
            and topics.source_ref = tickets.ticket_ref
            and topics.topic = 'delivery_delay'
        where tickets.touchpoint = 'delivery'
        """
    ).fetchone()
    assert delivery is not None and delivery[0] >= 0.6
