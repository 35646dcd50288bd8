"""SurveyMonkey "All responses data" exports (CSV or XLSX).

Two header rows: row 1 holds the metadata names and each question's text once, with blank
cells continuing a question that spans several columns; row 2 holds the sub-label of each
column (`Response`, `Open-Ended Response`, a choice, a matrix row). A column's key is
`<question> | <sub-label>`, or the row-1 text alone where row 2 is blank (metadata).
"""

from __future__ import annotations

from ingestion.formats.layout import Declaration, Layout

KEY_SEPARATOR = " | "


def _defaults(declared: Declaration) -> dict[str, object]:
    return {"header_rows": 2, "key_row": "question_and_label", "encoding": "auto"}


SURVEYMONKEY = Layout(
    name="surveymonkey",
    description='SurveyMonkey "All responses data": 2 header rows, spanning questions',
    formats=("csv", "xlsx"),
    defaults=_defaults,
)


def question_and_label_keys(header: list[list[str]]) -> list[str]:
    questions, labels = header[0], header[1] if len(header) > 1 else []
    keys: list[str] = []
    question = ""
    for position, text in enumerate(questions):
        if text.strip():
            question = text.strip()
        label = labels[position].strip() if position < len(labels) else ""
        keys.append(f"{question}{KEY_SEPARATOR}{label}" if label else question)
    return keys
