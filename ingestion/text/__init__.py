"""Offline text analytics for verbatims: lexicon sentiment and taxonomy topics in DuckDB."""

from ingestion.text.annotate import (
    SENTIMENT_TABLE,
    TOPICS_TABLE,
    AnnotationReport,
    annotate_feedback,
)
from ingestion.text.config import TextConfigError, load_lexicon, load_taxonomy

__all__ = [
    "SENTIMENT_TABLE",
    "TOPICS_TABLE",
    "AnnotationReport",
    "TextConfigError",
    "annotate_feedback",
    "load_lexicon",
    "load_taxonomy",
]
