"""Column keys from a file's header rows: which row names the columns, or a vendor rule."""

from __future__ import annotations

from ingestion.formats import FileRejected
from ingestion.formats.options import ReadOptions
from ingestion.formats.qualtrics import import_id_keys, legacy_keys
from ingestion.formats.surveymonkey import question_and_label_keys


def column_keys(header: list[list[str]], width: int, options: ReadOptions) -> list[str]:
    """One unique key per column of a `width`-column file, from its header rows."""
    if options.header_rows == 0:
        return [f"column{position}" for position in range(1, width + 1)]
    if len(header) < options.header_rows:
        raise FileRejected(
            "the file is empty: no header row"
            if not header
            else f"expected {options.header_rows} header rows, found {len(header)}"
        )
    if options.key_row == "import_id":
        keys = import_id_keys(header)
    elif options.key_row == "question_and_label":
        keys = question_and_label_keys(header)
    elif options.key_row == "qualtrics_legacy":
        keys = legacy_keys(header)
    else:
        keys = list(header[int(options.key_row) - 1])
    keys += [""] * (width - len(keys))
    return unique_names(keys)


def unique_names(keys: list[str]) -> list[str]:
    """Blank keys named `column<position>`, repeats suffixed `_1`, `_2` so each is unique."""
    names: list[str] = []
    for position, key in enumerate(keys, start=1):
        unique = key if key.strip() else f"column{position}"
        suffix = 1
        while unique in names:
            unique = f"{key}_{suffix}"
            suffix += 1
        names.append(unique)
    return names
