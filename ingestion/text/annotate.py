"""Sentiment and topics for every verbatim, computed set-based inside DuckDB.

Python only turns the YAML taxonomy and lexicon into SQL; DuckDB's RE2 regexp and list
functions do the work, so 200k comments take seconds and nothing leaves the database.

Steps (all in one transaction):
1. `feedback_text`: the latest version of every survey comment and ticket subject (same
   rule as dbt's `cx_latest_version`) touched since the last annotation, normalized (lower
   case, accents stripped, "n't" -> " not"), with its language: a script only one
   language uses (Han -> zh), else the declared language, else cue words (Portuguese),
   else the fallback (en).
2. `raw.feedback_sentiment`: the normalized text split into clauses at contrast words
   ("but", "mas", "但是"); every lexicon hit extracted with the negator and intensifier
   that precede it; each hit scored (weight × intensifier, or the negated weight; earlier
   clauses count less than the last); the sum squashed into [-1, 1].
3. `raw.feedback_topics`: per topic, the language's keyword/pattern alternation; one row
   per verbatim × topic that matched, with the distinct matched terms.

Incremental: only verbatims with a raw row loaded since the last annotation are annotated
again (their rows are replaced). Every row carries `_annotated_at`, the start of the
annotation that wrote it: dbt rewrites the topic rows of the verbatims annotated since its
last build (a verbatim left with no topic still has its sentiment row, stamped). Both
tables are rebuilt from scratch instead when the lexicon, the taxonomy or this code
changed, when there is no earlier annotation, or when raw rows loaded before it are gone
or were added (a re-delivered file replaced its predecessor, an erasure, a hand edit): the
append-only contract the watermark relies on, checked by counting (`STATE_TABLE`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingestion.text.config import (
    LanguageLexicon,
    SentimentLexicon,
    Taxonomy,
    TextConfigError,
    alternation,
    load_lexicon,
    load_taxonomy,
    re2_escape,
)
from ingestion.warehouse import quote_literal, table_exists

SENTIMENT_TABLE = "raw.feedback_sentiment"
# one row: the last annotation's watermark, the raw row count before it, the code digest
STATE_TABLE = "ingest_state.feedback_annotations"
TOPICS_TABLE = "raw.feedback_topics"
SENTIMENT_METHOD = "lexicon"
TOPIC_METHOD = "keyword"

# (entity, its key column, the verbatim column, the declared-language column or None)
FEEDBACK_SOURCES: tuple[tuple[str, str, str, str | None], ...] = (
    ("survey_responses", "response_ref", "comment", "language"),
    ("support_tickets", "ticket_ref", "subject", None),
)

SENTIMENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("feed", "VARCHAR NOT NULL"),
    ("source_entity", "VARCHAR NOT NULL"),
    ("source_ref", "VARCHAR NOT NULL"),
    ("language", "VARCHAR NOT NULL"),
    ("language_source", "VARCHAR NOT NULL"),
    ("sentiment_score", "DOUBLE NOT NULL"),
    ("sentiment_label", "VARCHAR NOT NULL"),
    ("sentiment_terms", "VARCHAR[] NOT NULL"),
    ("method", "VARCHAR NOT NULL"),
    ("lexicon_version", "VARCHAR NOT NULL"),
    ("_annotated_at", "TIMESTAMP NOT NULL"),
)
TOPIC_COLUMNS: tuple[tuple[str, str], ...] = (
    ("feed", "VARCHAR NOT NULL"),
    ("source_entity", "VARCHAR NOT NULL"),
    ("source_ref", "VARCHAR NOT NULL"),
    ("topic", "VARCHAR NOT NULL"),
    ("taxonomy_version", "VARCHAR NOT NULL"),
    ("method", "VARCHAR NOT NULL"),
    ("confidence", "DOUBLE NOT NULL"),
    ("matched_terms", "VARCHAR[] NOT NULL"),
    ("_annotated_at", "TIMESTAMP NOT NULL"),
)

_TEXT = "__cx_feedback_text"
_TOUCHED = "__cx_feedback_touched"
_TERMS = "__cx_sentiment_terms"
_INTENSIFIERS = "__cx_intensifiers"
_EMPTY_LIST = "[]::varchar[]"
# Characters a gap word may hold between a negator and its term (en/pt).
_WORD = r"[\p{L}\p{N}'-]+"


@dataclass(frozen=True)
class AnnotationReport:
    feedback_rows: int
    topic_rows: int
    taxonomy_version: str
    lexicon_version: str
    rows_by_language: dict[str, int] = field(default_factory=dict)
    rows_by_sentiment: dict[str, int] = field(default_factory=dict)
    rows_by_topic: dict[str, int] = field(default_factory=dict)

    def as_metadata(self) -> dict[str, object]:
        """Plain values, ready for an asset's metadata."""
        return {
            "feedback_rows": self.feedback_rows,
            "topic_rows": self.topic_rows,
            "taxonomy_version": self.taxonomy_version,
            "lexicon_version": self.lexicon_version,
            "rows_by_language": dict(self.rows_by_language),
            "rows_by_sentiment": dict(self.rows_by_sentiment),
            "rows_by_topic": dict(self.rows_by_topic),
        }


def annotate_feedback(
    con: duckdb.DuckDBPyConnection,
    taxonomy: Taxonomy | None = None,
    lexicon: SentimentLexicon | None = None,
) -> AnnotationReport:
    """Bring `raw.feedback_sentiment` and `raw.feedback_topics` up to date with the raw
    verbatims: the verbatims touched since the last call, or all of them (module docstring)."""
    taxonomy = taxonomy or load_taxonomy()
    lexicon = lexicon or load_lexicon()
    _check_patterns(con, taxonomy)
    started = datetime.now(UTC).replace(tzinfo=None)
    digest = _code_digest(taxonomy, lexicon)
    con.execute("begin transaction")
    try:
        con.execute("create schema if not exists raw")
        since = _incremental_since(con, digest)
        if since is not None:
            con.execute(_touched_sql(con), {"since": since})
        con.execute(_feedback_text_sql(con, lexicon, touched_only=since is not None))
        _create_lookup_tables(con, lexicon)
        if since is None:
            _create_table(con, SENTIMENT_TABLE, SENTIMENT_COLUMNS)
            _create_table(con, TOPICS_TABLE, TOPIC_COLUMNS)
        else:
            for table in (SENTIMENT_TABLE, TOPICS_TABLE):
                con.execute(
                    f"delete from {table} where exists (select 1 from {_TOUCHED} as touched "
                    f"where touched.feed = {table}.feed "
                    f"and touched.source_entity = {table}.source_entity "
                    f"and touched.source_ref = {table}.source_ref)"
                )
        for table, annotated in (
            (SENTIMENT_TABLE, _sentiment_sql(lexicon)),
            (TOPICS_TABLE, _topics_sql(taxonomy)),
        ):
            con.execute(f"insert into {table} select *, ? from ({annotated})", [started])
        _record_state(con, started, digest)
        for table in (_TEXT, _TOUCHED, _TERMS, _INTENSIFIERS):
            con.execute(f"drop table if exists {table}")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return _report(con, taxonomy, lexicon)


# --------------------------------------------------------------------------- increments


def _code_digest(taxonomy: Taxonomy, lexicon: SentimentLexicon) -> str:
    """What the annotations are computed with: the taxonomy, the lexicon and this code."""
    digest = hashlib.sha256()
    digest.update(repr((taxonomy, lexicon, SENTIMENT_COLUMNS, TOPIC_COLUMNS)).encode())
    for module in ("annotate.py", "config.py"):
        digest.update((Path(__file__).with_name(module)).read_bytes())
    return digest.hexdigest()


def _sources(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str | None]]:
    return [source for source in FEEDBACK_SOURCES if table_exists(con, "raw", source[0])]


def _raw_rows_before(con: duckdb.DuckDBPyConnection, instant: datetime) -> int:
    counts = [
        f"(select count(*) from raw.{entity} where _loaded_at < $instant)"
        for entity, *_ in _sources(con)
    ]
    if not counts:
        return 0
    return int(con.execute(f"select {' + '.join(counts)}", {"instant": instant}).fetchone()[0])


def _incremental_since(con: duckdb.DuckDBPyConnection, digest: str) -> datetime | None:
    """The last annotation's watermark, or None when everything must be annotated again."""
    if not (
        _sources(con)
        and table_exists(con, "ingest_state", "feedback_annotations")
        and table_exists(con, "raw", "feedback_sentiment")
        and table_exists(con, "raw", "feedback_topics")
    ):
        return None
    last = con.execute(
        f"select annotated_through, raw_rows_before, code_digest from {STATE_TABLE}"
    ).fetchone()
    if last is None or last[2] != digest:
        return None
    annotated_through, raw_rows_before, _ = last
    if _raw_rows_before(con, annotated_through) != raw_rows_before:
        return None
    return annotated_through


def _touched_sql(con: duckdb.DuckDBPyConnection) -> str:
    """Temp table of the verbatims (feed, source_entity, source_ref) with a raw row loaded
    since `$since`: their annotations are replaced (or removed, if their text is gone)."""
    selects = [
        f"select distinct _feed as feed, '{entity}' as source_entity, {key} as source_ref "
        f"from raw.{entity} where {key} is not null and _loaded_at >= $since"
        for entity, key, _, _ in _sources(con)
    ]
    return f"create or replace temp table {_TOUCHED} as " + " union all ".join(selects)


def _record_state(con: duckdb.DuckDBPyConnection, started: datetime, digest: str) -> None:
    """Every raw row loaded before `started` is annotated now (one writer: nothing loads
    while this runs)."""
    con.execute("create schema if not exists ingest_state")
    con.execute(
        f"create or replace table {STATE_TABLE} as select "
        "$started::timestamp as annotated_through, $rows::bigint as raw_rows_before, "
        "$digest as code_digest, $finished::timestamp as annotated_at",
        {
            "started": started,
            "rows": _raw_rows_before(con, started),
            "digest": digest,
            "finished": datetime.now(UTC).replace(tzinfo=None),
        },
    )


# --------------------------------------------------------------------------- feedback text


def normalized_sql(column: str) -> str:
    """SQL twin of `config.normalize_text`: the text every term and pattern is matched on."""
    text = f"translate(strip_accents(lower({column})), '’‘`´', '''''''''')"
    for contraction, spelled in (("can't", "can not"), ("won't", "will not"), ("n't", " not")):
        text = f"replace({text}, {quote_literal(contraction)}, {quote_literal(spelled)})"
    return text


def collapsed_whitespace_sql(column: str) -> str:
    """Runs of whitespace to one space; most verbatims have none, so test before rewriting."""
    return (
        rf"trim(case when regexp_matches({column}, '\s\s|[\t\n\r\f\v]') "
        rf"then regexp_replace({column}, '\s+', ' ', 'g') else {column} end)"
    )


def _feedback_text_sql(
    con: duckdb.DuckDBPyConnection, lexicon: SentimentLexicon, touched_only: bool
) -> str:
    selects = [
        _latest_verbatims_sql(entity, key, text_column, language_column, touched_only)
        for entity, key, text_column, language_column in _sources(con)
    ]
    if not selects:
        selects = [
            "select null::varchar as feed, null::varchar as source_entity, "
            "null::varchar as source_ref, null::varchar as feedback_text, "
            "null::varchar as declared_language where false"
        ]
    supported = ", ".join(quote_literal(language) for language in lexicon.languages)
    detection = lexicon.detection
    script_rules = " ".join(
        f"when regexp_matches(feedback_text, '\\p{{{script}}}') then {quote_literal(language)}"
        for language, script in detection.scripts.items()
    )
    scripts = "|".join(f"\\p{{{script}}}" for script in detection.scripts.values())
    script_matches = (
        f"regexp_matches(feedback_text, {quote_literal(scripts)})" if scripts else "false"
    )
    unioned = "\n        union all\n        ".join(selects)
    return f"""
    create or replace temp table {_TEXT} as
    with verbatims as (
        {unioned}
    ),
    spelled as (
        select
            *,
            {normalized_sql("feedback_text")} as spelled_text,
            nullif(
                regexp_extract(lower(trim(declared_language)), '^([a-z]{{2,3}})([-_]|$)', 1), ''
            ) as declared_language_code
        from verbatims
        where feedback_text is not null
    ),
    normalized as (
        select *, {collapsed_whitespace_sql("spelled_text")} as normalized_text
        from spelled
    ),
    cues as (
        select
            *,
            case
                when {script_matches} or declared_language_code in ({supported}) then null
                else {_best_cue_sql(lexicon)}
            end as best_cue
        from normalized
        where normalized_text <> ''
    ),
    languages as (
        select
            feed,
            source_entity,
            source_ref,
            normalized_text,
            declared_language_code,
            case
                {script_rules}
                when declared_language_code in ({supported}) then declared_language_code
                when best_cue.hits > 0 then best_cue.language
                else {quote_literal(detection.fallback)}
            end as language
        from cues
    )
    select
        *,
        case when language = declared_language_code then 'declared' else 'detected' end
            as language_source
    from languages
    """


def _best_cue_sql(lexicon: SentimentLexicon) -> str:
    """{hits, priority, language} of the language with the most cue hits (fallback on ties)."""
    detection = lexicon.detection
    languages = sorted(
        set(detection.cues) | set(detection.cue_characters),
        key=lambda language: language != detection.fallback,
    )
    scores = []
    for priority, language in enumerate(languages):
        hits = ["0"]
        if detection.cues.get(language):
            pattern = quote_literal(_words_pattern(detection.cues[language]))
            hits.append(f"len(regexp_extract_all(normalized_text, {pattern}))")
        if detection.cue_characters.get(language):
            characters = quote_literal("[" + re2_escape(detection.cue_characters[language]) + "]")
            hits.append(f"len(regexp_extract_all(lower(feedback_text), {characters}))")
        scores.append(
            f"{{'hits': {' + '.join(hits)}, 'priority': {-priority}, "
            f"'language': {quote_literal(language)}}}"
        )
    if not scores:
        return f"{{'hits': 0, 'priority': 0, 'language': {quote_literal(detection.fallback)}}}"
    return f"list_sort([{', '.join(scores)}], 'DESC')[1]"


def _latest_verbatims_sql(
    entity: str, key: str, text_column: str, language: str | None, touched_only: bool
) -> str:
    """The latest version of each verbatim of `raw.<entity>` (only those in `_TOUCHED`)."""
    declared = language or "null::varchar"
    touched = (
        f"""and exists (
            select 1 from {_TOUCHED} as touched
            where touched.source_entity = '{entity}' and touched.feed = verbatim._feed
                and touched.source_ref = verbatim.{key})"""
        if touched_only
        else ""
    )
    return f"""(select
            _feed as feed,
            '{entity}' as source_entity,
            {key} as source_ref,
            {text_column} as feedback_text,
            {declared} as declared_language
        from raw.{entity} as verbatim
        where {key} is not null {touched}
        qualify row_number() over (
            partition by _feed, {key}
            order by _loaded_at desc, _file_sha256 desc, _row_number desc
        ) = 1)"""


# --------------------------------------------------------------------------- sentiment


def _create_lookup_tables(con: duckdb.DuckDBPyConnection, lexicon: SentimentLexicon) -> None:
    terms = [
        (language, term.term, term.weight, term.negated_weight)
        for language, language_lexicon in lexicon.languages.items()
        for term in language_lexicon.terms
    ]
    intensifiers = [
        (language, word, factor)
        for language, language_lexicon in lexicon.languages.items()
        for word, factor in language_lexicon.intensifiers.items()
    ]
    _create_temp_table(
        con,
        _TERMS,
        ("language varchar", "term varchar", "weight double", "negated_weight double"),
        terms,
    )
    _create_temp_table(
        con,
        _INTENSIFIERS,
        ("language varchar", "intensifier varchar", "factor double"),
        intensifiers,
    )


def _create_temp_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: tuple[str, ...],
    rows: Sequence[tuple[object, ...]],
) -> None:
    """A small lookup table from Python rows, in one statement (one list per column)."""
    con.execute(f"create or replace temp table {table} ({', '.join(columns)})")
    if rows:
        unnests = ", ".join(f"unnest(${index + 1})" for index in range(len(columns)))
        columns_of_values = [list(column) for column in zip(*rows, strict=True)]
        con.execute(f"insert into {table} select {unnests}", columns_of_values)


def hit_pattern(language_lexicon: LanguageLexicon, capture: bool = True) -> str:
    """RE2 for one lexicon hit: [negator + up to N words] [intensifier] term.

    Groups: 1 negator, 2 intensifier, 3 term; without `capture`, none (RE2 finds
    uncaptured matches several times faster, so hits are found without groups and each
    short hit is then parsed with them). Negation scope stops at punctuation and at the
    clause and scope breaks (replaced by `|` and `;` before matching).
    """
    group = "(" if capture else "(?:"
    negators = alternation(language_lexicon.negators)
    intensifiers = alternation(list(language_lexicon.intensifiers))
    terms = alternation([term.term for term in language_lexicon.terms])
    window = language_lexicon.negation_window
    if language_lexicon.is_unspaced:
        gap = rf"[^\s\p{{P}}|;]{{0,{window}}}?"
        return f"(?:{group}{negators}){gap})?{group}{intensifiers})?{group}{terms})"
    gap = rf"(?:{_WORD} ){{0,{window}}}?"
    return rf"(?:\b{group}{negators}) {gap})?(?:\b{group}{intensifiers}) )?\b{group}{terms})\b"


def _sentiment_text_sql(language_lexicon: LanguageLexicon) -> str:
    """The normalized text with contrast words turned into `|` and scope breaks into `;`."""
    text = "normalized_text"
    for words, marker in (
        (language_lexicon.contrast_breaks, " | "),
        (language_lexicon.scope_breaks, " ; "),
    ):
        if not words:
            continue
        pattern = (
            f"(?:{alternation(words)})"
            if language_lexicon.is_unspaced
            else rf"\b(?:{alternation(words)})\b"
        )
        text = f"regexp_replace({text}, {quote_literal(pattern)}, '{marker}', 'g')"
    breaks = language_lexicon.contrast_breaks + language_lexicon.scope_breaks
    if not breaks:
        return text
    any_break = (
        alternation(breaks) if language_lexicon.is_unspaced else rf"\b(?:{alternation(breaks)})\b"
    )
    # Most verbatims hold no break word: test once rather than rewrite twice.
    return (
        f"case when regexp_matches(normalized_text, {quote_literal(any_break)}) "
        f"then {text} else normalized_text end"
    )


def _by_language(
    lexicon: SentimentLexicon,
    build: Callable[[LanguageLexicon], str],
    otherwise: str,
    language_column: str = "language",
) -> str:
    """A `case language when … end` choosing each language's own constant expression."""
    branches = " ".join(
        f"when {quote_literal(language)} then {build(language_lexicon)}"
        for language, language_lexicon in lexicon.languages.items()
    )
    return f"case {language_column} {branches} else {otherwise} end"


def _sentiment_sql(lexicon: SentimentLexicon) -> str:
    clause_text = _by_language(lexicon, _sentiment_text_sql, "normalized_text")
    hits = _by_language(
        lexicon,
        lambda lang: (
            "regexp_extract_all(clause.clause_text, "
            f"{quote_literal(hit_pattern(lang, capture=False))})"
        ),
        _EMPTY_LIST,
    )
    parts = _by_language(
        lexicon,
        lambda lang: (
            f"regexp_extract(hit.hit_text, {quote_literal('^' + hit_pattern(lang) + '$')}, "
            "['negator', 'intensifier', 'term'])"
        ),
        "null",
        language_column="hit.language",
    )
    return f"""
    with clauses as (
        select
            feed,
            source_entity,
            source_ref,
            language,
            string_split({clause_text}, '|') as clause_texts
        from {_TEXT}
    ),
    clause as (
        select
            feed,
            source_entity,
            source_ref,
            language,
            len(clause_texts) as clause_count,
            unnest(list_transform(
                clause_texts, lambda clause_text, clause_index: {{
                    'clause_text': trim(clause_text), 'clause_index': clause_index
                }}
            ), recursive := true)
        from clauses
    ),
    hit as (
        select
            clause.*,
            unnest(list_transform(
                {hits}, lambda hit_text, hit_index: {{'hit_text': hit_text, 'hit_index': hit_index}}
            ), recursive := true)
        from clause
    ),
    parsed as (
        -- Most hits are a bare lexicon term; only the others need the (slower) parse.
        select
            hit.*,
            case
                when bare.term is not null
                    then {{'negator': '', 'intensifier': '', 'term': hit.hit_text}}
                else {parts}
            end as parts
        from hit
        left join {_TERMS} as bare
            on hit.language = bare.language and hit.hit_text = bare.term
    ),
    scored as (
        select
            parsed.feed,
            parsed.source_entity,
            parsed.source_ref,
            parsed.clause_index,
            parsed.hit_index,
            parsed.hit_text,
            case when nullif(parsed.parts.negator, '') is not null
                then terms.negated_weight
                else terms.weight
            end
            * coalesce(intensifiers.factor, 1.0)
            * case
                when parsed.clause_count = 1 then 1.0
                when parsed.clause_index < parsed.clause_count then {lexicon.before_contrast}
                else {lexicon.after_contrast}
            end as hit_score
        from parsed
        inner join {_TERMS} as terms
            on parsed.language = terms.language and parsed.parts.term = terms.term
        left join {_INTENSIFIERS} as intensifiers
            on parsed.language = intensifiers.language
            and nullif(parsed.parts.intensifier, '') = intensifiers.intensifier
    ),
    per_feedback as (
        select
            feed,
            source_entity,
            source_ref,
            sum(hit_score) as raw_score,
            list(hit_text order by clause_index, hit_index) filter (hit_score <> 0)
                as sentiment_terms
        from scored
        group by feed, source_entity, source_ref
    ),
    final as (
        select
            feedback.feed,
            feedback.source_entity,
            feedback.source_ref,
            feedback.language,
            feedback.language_source,
            round(
                coalesce(per_feedback.raw_score, 0)
                / sqrt(coalesce(per_feedback.raw_score, 0) ^ 2 + {lexicon.alpha}),
                4
            ) as sentiment_score,
            coalesce(per_feedback.sentiment_terms, {_EMPTY_LIST}) as sentiment_terms
        from {_TEXT} as feedback
        left join per_feedback
            on feedback.feed = per_feedback.feed
            and feedback.source_entity = per_feedback.source_entity
            and feedback.source_ref = per_feedback.source_ref
    )
    select
        feed,
        source_entity,
        source_ref,
        language,
        language_source,
        sentiment_score,
        case
            when sentiment_score >= {lexicon.positive_threshold} then 'positive'
            when sentiment_score <= -{lexicon.negative_threshold} then 'negative'
            else 'neutral'
        end as sentiment_label,
        sentiment_terms,
        '{SENTIMENT_METHOD}' as method,
        {quote_literal(lexicon.version)} as lexicon_version
    from final
    order by source_entity, feed, source_ref
    """


# --------------------------------------------------------------------------- topics


def _topics_sql(taxonomy: Taxonomy) -> str:
    topic_hits = []
    for topic in taxonomy.topics:
        branches = " ".join(
            f"when {quote_literal(language)} then "
            f"regexp_extract_all(normalized_text, {quote_literal(pattern)})"
            for language, pattern in topic.patterns.items()
        )
        topic_hits.append(
            f"{{'topic': {quote_literal(topic.name)}, "
            f"'terms': case language {branches} else {_EMPTY_LIST} end}}"
        )
    base = taxonomy.confidence_base
    return f"""
    with topic_hits as (
        select
            feed,
            source_entity,
            source_ref,
            unnest([{", ".join(topic_hits)}], recursive := true)
        from {_TEXT}
    ),
    matched as (
        select
            feed,
            source_entity,
            source_ref,
            topic,
            list_sort(list_distinct(terms)) as matched_terms
        from topic_hits
        where len(terms) > 0
    )
    select
        feed,
        source_entity,
        source_ref,
        topic,
        {quote_literal(taxonomy.version)} as taxonomy_version,
        '{TOPIC_METHOD}' as method,
        round(1 - pow(1 - {base}, len(matched_terms)), 4) as confidence,
        matched_terms
    from matched
    order by source_entity, feed, source_ref, topic
    """


# --------------------------------------------------------------------------- helpers


def _check_patterns(con: duckdb.DuckDBPyConnection, taxonomy: Taxonomy) -> None:
    """Fail before touching any table when a curator's pattern is not valid RE2."""
    for topic in taxonomy.topics:
        for language, pattern in topic.patterns.items():
            try:
                con.execute("select regexp_matches('', ?)", [pattern])
            except duckdb.Error as error:
                raise TextConfigError(
                    f"taxonomy topic {topic.name!r} ({language}): invalid pattern: {error}"
                ) from error


def _create_table(
    con: duckdb.DuckDBPyConnection, table: str, columns: tuple[tuple[str, str], ...]
) -> None:
    # Keys are unique by construction (latest version per feed and ref; one row per topic);
    # a primary key index would double the write time, so tests and dbt assert it instead.
    definitions = ", ".join(f"{name} {type_}" for name, type_ in columns)
    con.execute(f"create or replace table {table} ({definitions})")


def _words_pattern(words: tuple[str, ...]) -> str:
    return rf"\b(?:{alternation(words)})\b"


def _report(
    con: duckdb.DuckDBPyConnection, taxonomy: Taxonomy, lexicon: SentimentLexicon
) -> AnnotationReport:
    def counts(sql: str) -> dict[str, int]:
        return {str(name): int(rows) for name, rows in con.execute(sql).fetchall()}

    return AnnotationReport(
        feedback_rows=sum(counts(f"select 'all', count(*) from {SENTIMENT_TABLE}").values()),
        topic_rows=sum(counts(f"select 'all', count(*) from {TOPICS_TABLE}").values()),
        taxonomy_version=taxonomy.version,
        lexicon_version=lexicon.version,
        rows_by_language=counts(
            f"select language, count(*) from {SENTIMENT_TABLE} group by all order by 1"
        ),
        rows_by_sentiment=counts(
            f"select sentiment_label, count(*) from {SENTIMENT_TABLE} group by all order by 1"
        ),
        rows_by_topic=counts(f"select topic, count(*) from {TOPICS_TABLE} group by all order by 1"),
    )
