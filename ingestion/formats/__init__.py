"""Format adapters: how a landed file becomes a table of text cells, by declaration alone.

`read.py` dispatches on the feed's `format` (csv, tsv, ndjson, parquet, xlsx, xls);
`headers.py`, `rows.py` and `encoding.py` hold the generic options every shape shares
(header rows, key row, footer, dropped rows, encodings); one small module per vendor shape
(`qualtrics.py`, `surveymonkey.py`, `zendesk.py`, `salesforce.py`, `wenjuanxing.py`) names
a `layout`: the defaults of those options for that vendor's export, plus its header rule.
Nothing here imports the registry at module level, so the registry can import the layouts.
"""

from __future__ import annotations


class FileRejected(Exception):
    """The whole file cannot be loaded; the message says why, for a person to act on."""
