"""The topic taxonomy and the sentiment lexicon: YAML in, validated regex pieces out.

Both files are curated by hand (see the comments at the top of each). This module reads
them, normalizes every term the way the SQL normalizes verbatims, rejects contradictions
a curator can fix (a term both positive and negative), and turns word lists into RE2
alternations for DuckDB's regexp functions.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TEXT_DIR = Path(__file__).resolve().parent
TAXONOMY_PATH = TEXT_DIR / "taxonomy.yml"
LEXICON_PATH = TEXT_DIR / "sentiment_lexicon.yml"

# Languages written without spaces between words: terms match as substrings there.
UNSPACED_LANGUAGES: frozenset[str] = frozenset({"zh"})
# A pattern that matches nothing, for a language with an empty list.
NEVER_MATCHES = r"[^\s\S]"
_RE2_SPECIAL = set("\\.^$|?*+()[]{}")
_POLARITY_SIGN = {"positive": 1.0, "negative": -1.0}


class TextConfigError(ValueError):
    """A taxonomy or lexicon file a curator must fix; the message names file and entry."""


@dataclass(frozen=True)
class Topic:
    name: str
    description: str
    # language -> one RE2 alternation of the topic's keywords and patterns
    patterns: dict[str, str]


@dataclass(frozen=True)
class Taxonomy:
    version: str
    confidence_base: float
    topics: tuple[Topic, ...]


@dataclass(frozen=True)
class SentimentTerm:
    term: str
    weight: float
    negated_weight: float


@dataclass(frozen=True)
class LanguageLexicon:
    language: str
    negators: tuple[str, ...]
    intensifiers: dict[str, float]
    contrast_breaks: tuple[str, ...]
    scope_breaks: tuple[str, ...]
    terms: tuple[SentimentTerm, ...]
    negation_window: int

    @property
    def is_unspaced(self) -> bool:
        return self.language in UNSPACED_LANGUAGES


@dataclass(frozen=True)
class LanguageDetection:
    scripts: dict[str, str]  # language -> Unicode script (RE2 \p{...} name)
    cues: dict[str, tuple[str, ...]]  # language -> normalized cue words
    cue_characters: dict[str, str]  # language -> characters only it uses, e.g. "ãõç"
    fallback: str


@dataclass(frozen=True)
class SentimentLexicon:
    version: str
    detection: LanguageDetection
    alpha: float
    positive_threshold: float
    negative_threshold: float
    # weight of hits before the last contrast word ("but") and in the last clause
    before_contrast: float
    after_contrast: float
    languages: dict[str, LanguageLexicon]


def normalize_text(text: str) -> str:
    """Python twin of the SQL normalization (`annotate._normalized_sql`), for lexicon terms.

    Lower case, accents stripped, curly apostrophes straightened, "n't" spelled " not",
    whitespace collapsed: so "Didn't", "didn’t" and "did not" are one term.
    """
    spelled = _strip_accents(text.lower())
    for curly in "’‘`´":
        spelled = spelled.replace(curly, "'")
    for contraction, spelled_out in (("can't", "can not"), ("won't", "will not"), ("n't", " not")):
        spelled = spelled.replace(contraction, spelled_out)
    return " ".join(spelled.split())


def re2_escape(text: str) -> str:
    return "".join("\\" + char if char in _RE2_SPECIAL else char for char in text)


def alternation(terms: list[str] | tuple[str, ...]) -> str:
    """One RE2 alternation, longest first: RE2 takes the first alternative that matches."""
    unique = sorted(set(terms), key=lambda term: (-len(term), term))
    return "|".join(re2_escape(term) for term in unique) if unique else NEVER_MATCHES


def load_taxonomy(path: Path = TAXONOMY_PATH) -> Taxonomy:
    document = _read_yaml(path)
    version = _required(document, "version", path)
    topics = []
    for name, spec in (_required(document, "topics", path) or {}).items():
        patterns = {}
        for language, entry in spec.items():
            if language == "description":
                continue
            keywords = [
                normalize_text(keyword)
                for keyword in _strings(
                    entry.get("keywords"), f"{path}: {name}.{language}.keywords"
                )
            ]
            raw_patterns = [
                _strip_accents(pattern.lower())
                for pattern in _strings(
                    entry.get("patterns"), f"{path}: {name}.{language}.patterns"
                )
            ]
            if not keywords and not raw_patterns:
                raise TextConfigError(f"{path}: topic {name!r}, {language!r} has no keywords")
            pieces = [alternation(keywords)] if keywords else []
            pieces += [f"(?:{_non_capturing(pattern)})" for pattern in raw_patterns]
            body = "|".join(pieces)
            patterns[language] = (
                f"(?:{body})" if language in UNSPACED_LANGUAGES else rf"\b(?:{body})\b"
            )
        topics.append(
            Topic(name=name, description=str(spec.get("description", "")), patterns=patterns)
        )
    return Taxonomy(
        version=str(version),
        confidence_base=float(document.get("confidence_base", 0.6)),
        topics=tuple(topics),
    )


def load_lexicon(path: Path = LEXICON_PATH) -> SentimentLexicon:
    document = _read_yaml(path)
    settings = _required(document, "settings", path)
    weights = {strength: float(value) for strength, value in settings["weights"].items()}
    windows = settings.get("negation_window", {})
    languages = {}
    for language, spec in _required(document, "languages", path).items():
        terms = _language_terms(path, language, spec, weights, settings)
        contrast = _normalized_list(
            spec.get("contrast_breaks"), f"{path}: {language}.contrast_breaks"
        )
        scope = _normalized_list(spec.get("scope_breaks"), f"{path}: {language}.scope_breaks")
        for term in terms:
            breaks = [
                word for word in contrast + scope if _contains_word(term.term, word, language)
            ]
            if breaks:
                raise TextConfigError(
                    f"{path}: {language} term {term.term!r} contains the clause break "
                    f"{breaks[0]!r}, so it can never match; drop or reword it"
                )
        languages[language] = LanguageLexicon(
            language=language,
            negators=_normalized_list(spec.get("negators"), f"{path}: {language}.negators"),
            intensifiers={
                normalize_text(word): float(spec["intensifiers"][word])
                for word in _strings(spec.get("intensifiers"), f"{path}: {language}.intensifiers")
            },
            contrast_breaks=contrast,
            scope_breaks=scope,
            terms=tuple(terms),
            negation_window=int(windows.get(language, 3)),
        )
    detection = _required(document, "language_detection", path)
    return SentimentLexicon(
        version=str(_required(document, "version", path)),
        detection=LanguageDetection(
            scripts={str(lang): str(script) for lang, script in detection["scripts"].items()},
            cues={
                str(lang): _normalized_list(words, f"{path}: language_detection.cues.{lang}")
                for lang, words in detection["cues"].items()
            },
            cue_characters={
                str(lang): str(chars)
                for lang, chars in (detection.get("cue_characters") or {}).items()
            },
            fallback=str(detection["fallback"]),
        ),
        alpha=float(settings["alpha"]),
        positive_threshold=float(settings["positive_threshold"]),
        negative_threshold=float(settings["negative_threshold"]),
        before_contrast=float(settings.get("before_contrast", 1.0)),
        after_contrast=float(settings.get("after_contrast", 1.0)),
        languages=languages,
    )


def _language_terms(
    path: Path,
    language: str,
    spec: dict[str, Any],
    weights: dict[str, float],
    settings: dict[str, Any],
) -> list[SentimentTerm]:
    negation_factor = float(settings["negation_factor"])
    sources: list[tuple[str, str, float, float]] = []
    for polarity, sign in _POLARITY_SIGN.items():
        for strength, words in (spec.get(polarity) or {}).items():
            if strength not in weights:
                raise TextConfigError(
                    f"{path}: {language}.{polarity}.{strength}: unknown strength, "
                    f"expected one of {sorted(weights)}"
                )
            weight = sign * weights[strength]
            category = f"{polarity}.{strength}"
            sources += [
                (category, word, weight, weight * negation_factor)
                for word in _strings(words, f"{path}: {language}.{category}")
            ]
    expectation = float(settings["expectation_negated_weight"])
    sources += [
        ("expectations", word, 0.0, expectation)
        for word in _strings(spec.get("expectations"), f"{path}: {language}.expectations")
    ]
    sources += [
        ("neutral", word, 0.0, 0.0)
        for word in _strings(spec.get("neutral"), f"{path}: {language}.neutral")
    ]

    seen: dict[str, tuple[str, SentimentTerm]] = {}
    for category, word, weight, negated_weight in sources:
        term = normalize_text(word)
        if not term:
            continue
        if term in seen and seen[term][0] != category:
            raise TextConfigError(
                f"{path}: {language} term {term!r} is listed under both "
                f"{seen[term][0]} and {category}; keep one"
            )
        seen[term] = (category, SentimentTerm(term, weight, negated_weight))
    return [term for _, term in seen.values()]


def _contains_word(term: str, word: str, language: str) -> bool:
    if language in UNSPACED_LANGUAGES:
        return word in term
    return word in term.split(" ")


def _normalized_list(words: list[Any] | None, where: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(normalize_text(word) for word in _strings(words, where)))


def _strings(words: list[Any] | dict[Any, Any] | None, where: str) -> list[str]:
    """The entries of a YAML list, refusing what YAML silently turned into a non-string.

    Unquoted `no`, `off` or `1` become a boolean or a number in YAML: "no" would quietly
    stop being a negator.
    """
    entries = list(words or [])
    for entry in entries:
        if not isinstance(entry, str):
            raise TextConfigError(
                f"{where}: entry {entry!r} is not text (YAML read an unquoted word as "
                f"{type(entry).__name__}); put it in quotes"
            )
    return entries


def _non_capturing(pattern: str) -> str:
    """Make a curator's `( … )` groups non-capturing: RE2 finds uncaptured matches faster."""
    return re.sub(r"(?<!\\)\((?!\?)", "(?:", pattern)


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(char for char in decomposed if unicodedata.category(char) != "Mn")


def _read_yaml(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise TextConfigError(f"{path}: expected a mapping at the top level")
    return document


def _required(document: dict[str, Any], key: str, path: Path) -> Any:
    if key not in document:
        raise TextConfigError(f"{path}: missing required key {key!r}")
    return document[key]
