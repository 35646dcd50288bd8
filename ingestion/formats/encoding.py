"""Text encodings: `encoding: auto` tries UTF-8 (with or without BOM), then GB18030.

GB18030 is a superset of GBK and GB2312, the encodings Chinese-locale Excel and
Wenjuanxing write CSVs in. A UTF-16 byte-order mark (Qualtrics TSV) is honoured too.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from ingestion.formats import FileRejected

AUTO = "auto"
AUTO_CANDIDATES: tuple[str, ...] = ("utf-8-sig", "utf-8", "gb18030")
CHUNK_BYTES = 1 << 20


def resolve_encoding(declared: str, path: Path) -> str:
    """The encoding to read `path` with: the declared one, or the detected one for auto."""
    if declared != AUTO:
        return declared
    with path.open("rb") as stream:
        head = stream.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for candidate in ("utf-8", "gb18030"):
        if _decodes(path, candidate):
            return candidate
    raise FileRejected(
        "encoding auto: the file is neither "
        + ", ".join(AUTO_CANDIDATES)
        + "; declare its encoding (latin-1, cp1252, utf-16, …)"
    )


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(CHUNK_BYTES):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True
