"""Load landed exports into `raw.<entity>`, exactly once per file content, with quarantine.

Per file: hash it; skip it if the manifest knows the content; read it with DuckDB's native
reader as text; type and validate every mapped cell in one SQL pass; then, in one
transaction, insert the good rows, the quarantine rows of the bad ones and the manifest
entry. Python only builds SQL, so a million-row export costs DuckDB time, not Python time.
A file DuckDB cannot read, or that lacks a required column, is quarantined whole; the
refresh goes on with the next file.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import json
import re
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from ingestion.entities import ENTITIES, CanonicalField
from ingestion.formats import FileRejected
from ingestion.formats.encoding import resolve_encoding
from ingestion.formats.read import TEXT_FORMATS, read_tabular
from ingestion.formats.rows import drop_predicate
from ingestion.paths import landing_dir, quarantine_dir
from ingestion.registry import Feed, Scale
from ingestion.warehouse import ensure_schemas, quote_identifier, quote_literal, raw_table

HASH_CHUNK_BYTES = 1 << 20
# a file changed less than this before it was hashed is hashed again next time
RACY_CHANGE_NS = 2_000_000_000
TRANSCODE_CHUNK_CHARS = 1 << 20
WHITESPACE = " \t\r\n"
INTEGER_PATTERN = r"[+-]?[0-9]+(\.0*)?"
# An explicit UTC offset after the time part ("…10:00:00+02:00", "…T10:00Z"): the text says
# its own zone, so the feed's declared time zone must not be applied on top.
OFFSET_PATTERN = r"[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\s*(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
GLOB_CHARACTERS = frozenset("*?[]{}")
DEFAULT_POLARITY = {"ces_score": "higher_is_easier"}
MAX_LISTED_COLUMNS = 10
# What to do about DuckDB's reader errors, keyed on a phrase of its message.
READER_HINTS = {
    "not utf-8 encoded": "declare the feed's encoding (e.g. encoding: gb18030 or cp1252)",
    "unterminated quote": "a quote opened in this line is never closed: fix or re-export it",
    "Expected Number of Columns": (
        "the line has the wrong number of fields: a truncated export or an unquoted delimiter"
    ),
    "invalid state": (
        "often a bare carriage return or a stray quote outside a quoted field; re-export "
        "with quoted fields or fix the line endings"
    ),
}

READ_TABLE = "cx_ingest_read"
TYPED_TABLE = "cx_ingest_typed"
# an NDJSON file's records, before their values are taken out into READ_TABLE's columns
RECORDS_TABLE = "cx_ingest_records"
DRIVER_TABLE = "survey_driver_ratings"


@dataclass(frozen=True)
class FileOutcome:
    feed: str
    file: str  # path inside landing/<feed>/
    sha256: str
    # loaded | partially_loaded | quarantined | already_loaded | duplicate_content | refused
    status: str
    entity: str = ""
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None
    # Loaded rows repeating the key of an earlier row of the same file (raw keeps them all).
    duplicate_key_rows: int = 0


@dataclass
class IngestReport:
    run_id: str
    started_at: datetime
    files: list[FileOutcome] = field(default_factory=list)
    rows_loaded_by_table: Counter[str] = field(default_factory=Counter)
    rows_quarantined_by_table: Counter[str] = field(default_factory=Counter)
    table_rows: dict[str, int] = field(default_factory=dict)  # rows in raw.<table> after the run
    finished_at: datetime | None = None

    def add(self, outcome: FileOutcome, driver_ratings_loaded: int = 0) -> None:
        self.files.append(outcome)
        if outcome.entity:
            self.rows_loaded_by_table[outcome.entity] += outcome.rows_loaded
            self.rows_quarantined_by_table[outcome.entity] += outcome.rows_quarantined
        if driver_ratings_loaded:
            self.rows_loaded_by_table[DRIVER_TABLE] += driver_ratings_loaded

    def files_with_status(self, *statuses: str) -> list[FileOutcome]:
        return [outcome for outcome in self.files if outcome.status in statuses]

    def totals(self) -> dict[str, object]:
        return {
            "files_by_status": dict(Counter(outcome.status for outcome in self.files)),
            "rows_loaded": dict(self.rows_loaded_by_table),
            "rows_quarantined": dict(self.rows_quarantined_by_table),
            "table_rows": dict(self.table_rows),
        }

    def table_metadata(self, table: str) -> dict[str, int]:
        """Materialization metadata for raw.<table> (Dagster's row-count key included)."""
        entity_files = [outcome for outcome in self.files if outcome.entity == table]
        return {
            "dagster/row_count": self.table_rows.get(table, 0),
            "rows_loaded_this_run": self.rows_loaded_by_table[table],
            "rows_quarantined_this_run": self.rows_quarantined_by_table[table],
            "files_loaded_this_run": sum(
                outcome.status in ("loaded", "partially_loaded") for outcome in entity_files
            ),
            "files_quarantined_this_run": sum(
                outcome.status == "quarantined" for outcome in entity_files
            ),
        }


@dataclass(frozen=True)
class _Landed:
    """One landed file and its lineage values."""

    feed: Feed
    path: Path
    file_name: str  # inside landing/<feed>/, posix
    sha256: str
    size_bytes: int
    loaded_at: datetime
    run_id: str

    @property
    def source_file(self) -> str:
        return f"{self.feed.name}/{self.file_name}"


@dataclass(frozen=True)
class _Check:
    """One validated cell of a row: its source column, raw text SQL and problem column."""

    column_name: str | None  # source column; None for a record-level problem
    raw_sql: str  # raw cell text, on the read table aliased `landed`
    error_alias: str


@dataclass(frozen=True)
class _CellSql:
    """How one mapped cell becomes a value, in three steps evaluated one after the other.

    `text` reads the cell (blank -> NULL, value mapping applied), `value` casts the text,
    `problem` explains a failure; each step refers to the previous step's columns by alias,
    so the cast is computed once per cell even though the problem text mentions it.
    """

    alias: str
    cell: str
    text: str
    value: str
    problem: str


def ingest_landing(con: duckdb.DuckDBPyConnection, home: Path, feeds: list[Feed]) -> IngestReport:
    """Load every new file of every feed from landing/<feed>/ into raw, exactly once."""
    ensure_schemas(con)
    report = IngestReport(run_id=uuid.uuid4().hex, started_at=_utc_now())
    try:
        _record_feed_scales(con, feeds)
        for feed in feeds:
            for path in landed_files(home, feed):
                outcome, driver_ratings = _ingest_file(con, home, feed, path, report.run_id)
                report.add(outcome, driver_ratings)
    except BaseException as error:
        _write_run_log(con, report, "failed", {"error": f"{type(error).__name__}: {error}"})
        raise
    report.table_rows = {
        table: _fetch_one(con, f"select count(*) from {raw_table(table)}")[0] for table in ENTITIES
    }
    _write_run_log(con, report, "succeeded", report.totals())
    return report


def landed_files(home: Path, feed: Feed) -> list[Path]:
    """Files of `feed` matching its pattern, in a deterministic order; hidden files skipped."""
    folder = landing_dir(home) / feed.name
    if not folder.is_dir():
        return []
    return sorted(
        (
            path
            for path in folder.glob(feed.file_pattern)
            if path.is_file() and not path.name.startswith(".")
        ),
        key=lambda path: path.relative_to(folder).as_posix(),
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _stat_signature(path: Path) -> tuple[str, int]:
    """The file's stat signature and the time (ns) it last changed."""
    stat = path.stat()
    changed = max(stat.st_mtime_ns, stat.st_ctime_ns)
    return (
        f"{stat.st_dev}:{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}",
        changed,
    )


def _landed_sha256(con: duckdb.DuckDBPyConnection, source_file: str, path: Path) -> str:
    """The file's sha256, read from ops.landed_file_hashes while its stat signature is the
    one it was hashed with, else computed (and remembered).

    A file changed within RACY_CHANGE_NS of being hashed is not remembered: on a file system
    with coarse timestamps a second write in the same tick would keep the signature."""
    signature, changed_ns = _stat_signature(path)
    row = con.execute(
        "select file_sha256 from ops.landed_file_hashes "
        "where source_file = ? and stat_signature = ?",
        [source_file, signature],
    ).fetchone()
    if row is not None:
        return row[0]
    hashing_started_ns = time.time_ns()
    sha256 = file_sha256(path)
    if hashing_started_ns - changed_ns > RACY_CHANGE_NS and _stat_signature(path)[0] == signature:
        con.execute(
            "insert or replace into ops.landed_file_hashes values (?, ?, ?, ?)",
            [source_file, signature, sha256, _utc_now()],
        )
    return sha256


def _ingest_file(
    con: duckdb.DuckDBPyConnection, home: Path, feed: Feed, path: Path, run_id: str
) -> tuple[FileOutcome, int]:
    refusal = _outside_landing(home, feed, path)
    if refusal is not None:
        return _refuse_file(con, home, feed, path, refusal), 0
    file_name = path.relative_to(landing_dir(home) / feed.name).as_posix()
    landed = _Landed(
        feed=feed,
        path=path,
        file_name=file_name,
        sha256=_landed_sha256(con, f"{feed.name}/{file_name}", path),
        size_bytes=path.stat().st_size,
        loaded_at=_utc_now(),
        run_id=run_id,
    )
    known = _known_outcome(con, landed)
    if known is not None:
        return known, 0
    try:
        try:
            with _readable_copy(home, landed) as readable:
                found_columns, read_notes = _read_into_table(con, feed, readable)
        except duckdb.Error as error:
            raise FileRejected(_summarize(error)) from None
        missing = _missing_columns(feed, found_columns)
        missing_required = [column for column, required in missing if required]
        # An NDJSON file without records has no keys at all; it is an empty export, not a
        # file missing its columns.
        if missing_required and _fetch_one(con, f"select count(*) from {READ_TABLE}")[0]:
            raise FileRejected(
                "missing required column(s) "
                + ", ".join(_describe_missing(feed, column) for column in missing_required)
                + "; columns found: "
                + (", ".join(repr(column) for column in found_columns) or "none")
                + _delimiter_hint(feed, found_columns)
            )
        present = _landed_columns(feed, found_columns)
        dropped, drop_notes = _dropped_rows(con, feed, present)
        checks = _build_typed_table(con, feed, present, dropped)
        return _commit_rows(
            con,
            landed,
            checks,
            [column for column, _ in missing],
            _unmapped_columns(feed, found_columns),
            read_notes + drop_notes,
        )
    except FileRejected as rejection:
        return _quarantine_file(con, home, landed, str(rejection)), 0
    finally:
        for table in (TYPED_TABLE, READ_TABLE, RECORDS_TABLE):
            con.execute(f"drop table if exists temp.{table}")


def _outside_landing(home: Path, feed: Feed, path: Path) -> str | None:
    """Why a matched path must not be read: it resolves outside landing/<feed>/.

    A symbolic link (or a link in a sub-folder) could otherwise make the refresh read, hash
    and copy into quarantine any file the process can reach. The feed folder itself may be
    a link (a mounted share); what counts is that the file stays inside it.
    """
    folder = (landing_dir(home) / feed.name).resolve()
    target = path.resolve()
    if target.is_relative_to(folder):
        return None
    return (
        f"refused: the path resolves to {target}, outside landing/{feed.name}/ "
        "(a symbolic link?); copy the export into the landing folder instead"
    )


def _refuse_file(
    con: duckdb.DuckDBPyConnection, home: Path, feed: Feed, path: Path, reason: str
) -> FileOutcome:
    """Record a refused path once in ops.quarantine without reading its content."""
    file_name = path.relative_to(landing_dir(home) / feed.name).as_posix()
    source_file = f"{feed.name}/{file_name}"
    con.execute(
        "insert into ops.quarantine (feed, source_file, file_sha256, row_number, column_name, "
        "raw_value, reason, quarantined_at) "
        "select ?, ?, '', null, null, null, ?, ? where not exists (select 1 from ops.quarantine "
        "where feed = ? and source_file = ? and file_sha256 = '' and reason = ?)",
        [feed.name, source_file, reason, _utc_now(), feed.name, source_file, reason],
    )
    return FileOutcome(feed=feed.name, file=file_name, sha256="", status="refused", reason=reason)


def _delimiter_hint(feed: Feed, found_columns: list[str]) -> str:
    """A one-column header holding another delimiter: the feed declares the wrong one."""
    if feed.format != "csv" or len(found_columns) != 1:
        return ""
    for delimiter in (";", "\t", "|", ","):
        if delimiter != feed.csv.delimiter and delimiter in found_columns[0]:
            shown = "\\t" if delimiter == "\t" else delimiter
            return (
                f"; the header looks {shown!r}-delimited but the feed declares "
                f"{feed.csv.delimiter!r}: declare csv: {{delimiter: {shown!r}}}"
            )
    return ""


def _known_outcome(con: duckdb.DuckDBPyConnection, landed: _Landed) -> FileOutcome | None:
    """Outcome for content the manifest already holds, under this name or another one."""
    row = con.execute(
        "select feed, file_name, status, loaded_at from ops.file_manifest where file_sha256 = ?",
        [landed.sha256],
    ).fetchone()
    if row is None:
        return None
    feed, file_name, status, loaded_at = row
    when = f"{loaded_at:%Y-%m-%d %H:%M:%S} UTC"
    if (feed, file_name) == (landed.feed.name, landed.file_name):
        status_now, reason = "already_loaded", f"ingested {when} ({status})"
    else:
        status_now = "duplicate_content"
        reason = f"same content as {feed}/{file_name}, ingested {when} ({status}); not loaded again"
    return FileOutcome(
        feed=landed.feed.name,
        file=landed.file_name,
        sha256=landed.sha256,
        status=status_now,
        reason=reason,
    )


@contextlib.contextmanager
def _readable_copy(home: Path, landed: _Landed) -> Iterator[Path]:
    """A UTF-8 path DuckDB can read literally.

    DuckDB reads UTF-8 only and treats * ? [ ] { } in a path as a glob, so other encodings
    are transcoded (streamed, in chunks) and awkward names copied into a scratch folder.
    """
    # DuckDB's CSV reader skips a byte-order mark; its JSON reader rejects one. Parquet and
    # spreadsheets are binary: their encoding is their own business.
    text_format = landed.feed.format in TEXT_FORMATS
    encoding = resolve_encoding(landed.feed.encoding, landed.path) if text_format else "utf-8"
    native = ("utf-8",) if landed.feed.format == "ndjson" else ("utf-8", "utf-8-sig")
    utf8 = encoding in native
    if utf8 and not GLOB_CHARACTERS & set(str(landed.path)):
        yield landed.path
        return
    home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".ingest-", dir=home) as scratch:
        target = Path(scratch) / f"landed{landed.path.suffix}"
        if utf8:
            shutil.copyfile(landed.path, target)
        else:
            _transcode_to_utf8(landed.path, encoding, target)
        yield target


def _transcode_to_utf8(source: Path, encoding: str, target: Path) -> None:
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with source.open("rb") as incoming, target.open("w", encoding="utf-8", newline="") as out:
        while chunk := incoming.read(TRANSCODE_CHUNK_CHARS):
            try:
                out.write(decoder.decode(chunk))
            except UnicodeDecodeError as error:
                raise FileRejected(
                    f"not valid {encoding}: undecodable bytes near byte {offset + error.start}"
                ) from None
            offset += len(chunk)
        out.write(decoder.decode(b"", final=True))


def _read_into_table(
    con: duckdb.DuckDBPyConnection, feed: Feed, path: Path
) -> tuple[list[str], list[str]]:
    """Read the file into a temp table, every value as text; return columns found and notes.

    An NDJSON file's table keeps each record as `__json` beside a column per key found in
    any record, named by the key's position (`_landed_columns`): keys are case-sensitive
    and any text, where DuckDB's column names are neither. Every record is parsed once for
    all its keys (SF10, 4 M web sessions of nine keys: 2.9 s against 9.8 s for one `->>`
    per key and cell)."""
    if feed.format != "ndjson":
        return read_tabular(con, feed, path, READ_TABLE)
    con.execute(
        f"create or replace temp table {RECORDS_TABLE} as "
        f"select json from read_ndjson_objects({quote_literal(str(path))})"
    )
    keys = con.execute(
        f"select distinct unnest(json_keys(json)) as key from {RECORDS_TABLE} "
        "where json_type(json) = 'OBJECT' order by key"
    ).fetchall()
    found = [key for (key,) in keys]
    # every key's value of a record from one parse: a list, then a column per key
    extracted = columns = ""
    if found:
        paths = ", ".join(quote_literal(_json_path(key)) for key in found)
        extracted = f", json_extract_string(json, [{paths}]) as __values"
        columns = "".join(
            f", __values[{index}] as {_ndjson_column(index)}" for index in range(1, len(found) + 1)
        )
    # insertion order is kept: a record's rowid is its line among the file's records
    con.execute(
        f"create or replace temp table {READ_TABLE} as select __json{columns} "
        f"from (select json as __json{extracted} from {RECORDS_TABLE})"
    )
    con.execute(f"drop table temp.{RECORDS_TABLE}")
    return found, []


def _ndjson_column(index: int) -> str:
    """The read table's column holding the value of an NDJSON file's `index`-th key (from 1)."""
    return f"__key_{index}"


def _landed_columns(feed: Feed, found: list[str]) -> dict[str, str]:
    """Each source column found in the file, with the read table's column holding its cells."""
    if feed.format == "ndjson":
        return {key: _ndjson_column(index) for index, key in enumerate(found, 1)}
    return {column: column for column in found}


def _json_path(key: str) -> str:
    """The JSON path of a top-level key, whatever characters it holds."""
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return '$."' + escaped + '"'


def _dropped_rows(
    con: duckdb.DuckDBPyConnection, feed: Feed, present: Mapping[str, str]
) -> tuple[str | None, list[str]]:
    """SQL true for rows the declaration drops (`drop_rows_where`), and notes saying how many."""
    predicate, notes = drop_predicate(
        feed.read, present, lambda column: _cell_sql(feed, column, present, raw=True)
    )
    if predicate is None:
        return None, notes
    dropped = _fetch_one(con, f"select count(*) from {READ_TABLE} as landed where {predicate}")[0]
    if dropped:
        columns = ", ".join(sorted({rule.column for rule in feed.read.drop_rows_where}))
        notes.append(f"{dropped} row(s) dropped by drop_rows_where ({columns})")
    return predicate, notes


def _missing_columns(feed: Feed, found: list[str]) -> list[tuple[str, bool]]:
    """Mapped source columns absent from the file, each with whether a required field needs it."""
    entity = ENTITIES[feed.entity]
    needed: dict[str, bool] = {}
    for field_name, column in feed.columns.items():
        for part in feed.key_parts.get(field_name, (column,)):
            needed[part] = needed.get(part, False) or entity.field(field_name).required
    if feed.drivers is not None:
        for column in feed.drivers.columns.values():
            needed.setdefault(column, False)
    present = set(found)
    return [(column, required) for column, required in needed.items() if column not in present]


def _describe_missing(feed: Feed, column: str) -> str:
    fields = [name for name, source in feed.columns.items() if source == column]
    return f"{column!r} (for {', '.join(fields)})"


def _build_typed_table(
    con: duckdb.DuckDBPyConnection,
    feed: Feed,
    present: Mapping[str, str],
    dropped: str | None = None,
) -> list[_Check]:
    """Create the typed temp table: one value and one problem column per mapped cell."""
    entity = ENTITIES[feed.entity]
    cells: list[_CellSql] = []
    checks: list[_Check] = []
    for index, (field_name, column) in enumerate(feed.columns.items()):
        parts = feed.key_parts.get(field_name, (column,))
        cell = " || '-' || ".join(_cell_sql(feed, part, present) for part in parts)
        if len(parts) > 1:
            cell = f"({cell})"
        cells.append(_field_sql(feed, entity.field(field_name), f"__value_{index}", cell))
        checks.append(_Check(" + ".join(parts), cell, f"__value_{index}_problem"))
    for index, (field_name, constant) in enumerate(feed.constants.items()):
        cell = quote_literal(constant)
        cells.append(_field_sql(feed, entity.field(field_name), f"__constant_{index}", cell))
        checks.append(_Check(f"constants.{field_name}", cell, f"__constant_{index}_problem"))
    if feed.drivers is not None:
        for index, column in enumerate(feed.drivers.columns.values()):
            cell = _cell_sql(feed, column, present)
            cells.append(_driver_sql(feed.drivers.scale, f"__driver_{index}", cell))
            checks.append(_Check(column, cell, f"__driver_{index}_problem"))
    record_problem = "null::varchar"
    if feed.format == "ndjson":
        record_problem = (
            "case when json_type(landed.__json) <> 'OBJECT' then "
            "'expected a JSON object, got ' || json_type(landed.__json) end"
        )
        checks.append(_Check(None, "landed.__json::varchar", "__record_problem"))
    raw_cells = ", ".join(f"{item.cell} as {item.alias}_cell" for item in cells)
    texts = ", ".join(f"{item.text} as {item.alias}_text" for item in cells)
    values = ", ".join(f"{item.value} as {item.alias}" for item in cells)
    problems = ", ".join(f"{item.problem} as {item.alias}_problem" for item in cells)
    kept = ", ".join(f"{item.alias}, {item.alias}_problem" for item in cells)
    all_ok = " and ".join(f"{check.error_alias} is null" for check in checks)
    # Each step reads the previous one's columns, so no expression is computed twice.
    con.execute(
        f"create or replace temp table {TYPED_TABLE} as "
        f"select __row_number, __extra, __record_problem, {kept}, ({all_ok}) as __ok "
        f"from (select *, {problems} "
        f"from (select *, {values} "
        f"from (select *, {texts} "
        f"from (select landed.rowid + 1 as __row_number, {_extra_sql(feed, present)} as __extra, "
        f"{record_problem} as __record_problem, {raw_cells} "
        f"from {READ_TABLE} as landed" + (f" where not ({dropped})" if dropped else "") + "))))"
    )
    return checks


def _cell_sql(feed: Feed, column: str, present: Mapping[str, str], raw: bool = False) -> str:
    """The cell's text (`present`: `_landed_columns`); a declared `null_values` text reads as
    NULL unless `raw`."""
    if column not in present:
        return "null::varchar"
    cell = f"landed.{quote_identifier(present[column])}"
    if raw or not feed.read.null_values:
        return cell
    nulls = _literal_list(feed.read.null_values)
    return f"(case when trim({cell}) in ({nulls}) then null else {cell} end)"


def _extra_sql(feed: Feed, present: Mapping[str, str]) -> str:
    """Unmapped source values as one JSON object (NULL when there are none)."""
    mapped = set(feed.columns.values()).union(*feed.key_parts.values())
    if feed.drivers is not None:
        mapped |= set(feed.drivers.columns.values())
    if feed.format == "ndjson":
        # RFC 7396 merge patch: a null member removes that key from the object.
        removal = json.dumps({column: None for column in sorted(mapped)})
        remainder = f"json_merge_patch(landed.__json, {quote_literal(removal)})"
        return (
            f"case when json_type(landed.__json) = 'OBJECT' and {remainder}::varchar <> '{{}}' "
            f"then {remainder} end"
        )
    unmapped = [column for column in sorted(present) if column not in mapped]
    if not unmapped:
        return "null::json"
    # Declared null_values ("(跳过)", "-2") mean no answer in unmapped columns too.
    pairs = ", ".join(
        f"{quote_literal(column)}, {_cell_sql(feed, column, present)}" for column in unmapped
    )
    return f"json_object({pairs})"


def _clean(cell: str) -> str:
    """Blank -> NULL, surrounding whitespace removed.

    The first/last-character guard skips trim() for the common, already clean cell: trimming
    a set of characters costs about as much as reading the cell from the file.
    """
    trimmed = f"nullif(trim({cell}, {quote_literal(WHITESPACE)}), '')"
    return f"case when {cell}[1] <= ' ' or {cell}[-1] <= ' ' then {trimmed} else {cell} end"


def _field_sql(feed: Feed, canonical: CanonicalField, alias: str, cell: str) -> _CellSql:
    """The three steps (text, value, problem) of one mapped canonical field."""
    text, raw = f"{alias}_text", f"{alias}_cell"
    mapping = feed.values.get(canonical.name)
    text_sql = _clean(raw)
    mapped = _mapped_text(mapping, text, text)
    if canonical.type == "varchar":
        # Text keeps its exact spelling (comments, ids); only blank cells become NULL.
        value = _mapped_text(mapping, text, f"case when {text} is not null then {raw} end")
        problem = "null"
    elif canonical.type == "integer":
        scale = feed.scales.get(canonical.name)
        value = _integer_value(mapped, scale)
        expected = f"expected integer {_range(scale)}" if scale else "expected integer"
        problem = _type_problem(text, alias, expected, raw)
    elif canonical.type == "decimal":
        value = f"try_cast({_decimal_text(feed, mapped)} as decimal(18, 4))"
        problem = _type_problem(text, alias, "expected decimal number", raw)
    elif canonical.type == "timestamp":
        value = _timestamp_sql(feed, text)
        formats = " or ".join(repr(text) for text in feed.timestamp_formats)
        expected = f"expected timestamp like {formats}" if formats else "expected timestamp"
        problem = _future_problem(feed, alias, raw, _type_problem(text, alias, expected, raw))
    else:
        texts = feed.boolean_texts(canonical.name)
        text_sql = f"lower({_clean(raw)})"
        value = (
            f"case when {text} in ({_literal_list(texts.true)}) then true "
            f"when {text} in ({_literal_list(texts.false)}) then false end"
        )
        expected = (
            f"expected boolean (true: {', '.join(texts.true)}; false: {', '.join(texts.false)})"
        )
        problem = _type_problem(text, alias, expected, raw)
    if canonical.required:
        missing = quote_literal(f"required field {canonical.name} is empty")
        problem = f"case when {text} is null then {missing} else {problem} end"
    return _CellSql(alias=alias, cell=cell, text=text_sql, value=value, problem=problem)


def _decimal_text(feed: Feed, text: str) -> str:
    """'1.234,56' -> '1234.56' for a feed declaring `decimal_separator: ","`."""
    if feed.read.decimal_separator != ",":
        return text
    return f"replace(regexp_replace({text}, '[.\\s\u00a0\u202f]', '', 'g'), ',', '.')"


def _driver_sql(scale: Scale, alias: str, cell: str) -> _CellSql:
    text = f"{alias}_text"
    expected = f"expected driver rating {_range(scale)}"
    return _CellSql(
        alias=alias,
        cell=cell,
        text=_clean(f"{alias}_cell"),
        value=_integer_value(text, scale),
        problem=_type_problem(text, alias, expected, f"{alias}_cell"),
    )


def _mapped_text(mapping: Mapping[str, str] | None, clean: str, otherwise: str) -> str:
    """Apply a declared value mapping (matched on the trimmed text); other texts pass."""
    if not mapping:
        return otherwise
    whens = " ".join(
        f"when {quote_literal(source)} then {quote_literal(target)}"
        for source, target in mapping.items()
    )
    return f"case {clean} {whens} else {otherwise} end"


def _integer_value(text: str, scale: Scale | None) -> str:
    """Whole numbers only: '7' and '7.0' pass; '7.5', '1e3' and '0x10' do not."""
    value = (
        f"case when regexp_full_match({text}, {quote_literal(INTEGER_PATTERN)}) "
        f"then try_cast({text} as bigint) end"
    )
    if scale is None:
        return value
    return f"case when {value} between {scale.min} and {scale.max} then {value} end"


def _type_problem(text: str, value: str, expected: str, raw: str) -> str:
    """'expected …, got '<raw>'' when a non-blank cell gave no value."""
    return (
        f"case when {text} is not null and {value} is null then "
        f"{quote_literal(expected + ', got ')} || '''' || {raw} || '''' end"
    )


def _future_problem(feed: Feed, value: str, raw: str, otherwise: str) -> str:
    """A timestamp further after the load than the feed allows (`max_future_days`)."""
    days = feed.max_future_days
    if days is None:
        return otherwise
    message = (
        f"timestamp more than {days} day(s) after the load time (max_future_days: {days}), got "
    )
    return (
        f"case when {value} > timezone('UTC', now()) + to_days({days}) "
        f"then {quote_literal(message)} || '''' || {raw} || '''' else {otherwise} end"
    )


def _timestamp_sql(feed: Feed, text: str) -> str:
    """The instant as a UTC TIMESTAMP, reading zone-less text in the feed's time zone."""
    formats = feed.timestamp_formats
    if formats:
        parsed = f"try_strptime({text}, [{_literal_list(formats)}])"
        if "%z" in formats[0] or "%Z" in formats[0]:
            return f"timezone('UTC', {parsed})"
        return _local_to_utc(parsed, feed.timezone)
    local = _local_to_utc(f"try_cast({text} as timestamp)", feed.timezone)
    return (
        f"case when regexp_matches({text}, {quote_literal(OFFSET_PATTERN)}) "
        f"then timezone('UTC', try_cast({text} as timestamptz)) else {local} end"
    )


def _local_to_utc(timestamp_sql: str, zone: str) -> str:
    # timezone(zone, TIMESTAMP) reads a wall-clock time in `zone` (ICU: a time skipped by a
    # DST jump is read with the offset before the jump; a repeated hour resolves to the
    # later, standard-time instant); timezone('UTC', TIMESTAMPTZ) gives the UTC wall clock.
    if zone == "UTC":
        return timestamp_sql
    return f"timezone('UTC', timezone({quote_literal(zone)}, {timestamp_sql}))"


def _range(scale: Scale) -> str:
    return f"{scale.min}..{scale.max}"


def _literal_list(texts: tuple[str, ...]) -> str:
    return ", ".join(quote_literal(text) for text in texts)


def _commit_rows(
    con: duckdb.DuckDBPyConnection,
    landed: _Landed,
    checks: list[_Check],
    missing_optional: list[str],
    unmapped: list[str] | None = None,
    read_notes: list[str] | None = None,
) -> tuple[FileOutcome, int]:
    """Good rows, quarantine rows, replacement and manifest entry in one transaction."""
    feed = landed.feed
    rows_read, rows_loaded = _fetch_one(
        con, f"select count(*), count(*) filter (where __ok) from {TYPED_TABLE}"
    )
    duplicate_key_rows, duplicate_note = _duplicate_keys(con, feed)
    rows_quarantined = rows_read - rows_loaded
    status = "loaded" if rows_quarantined == 0 else "partially_loaded"
    if rows_read > 0 and rows_loaded == 0:
        status = "quarantined"
    notes = []
    if rows_quarantined:
        notes.append(f"{rows_quarantined} of {rows_read} row(s) quarantined (see ops.quarantine)")
    if missing_optional:
        notes.append(
            "optional column(s) not in the file, loaded as NULL: "
            + ", ".join(repr(column) for column in missing_optional)
        )
    notes.extend(read_notes or [])
    if rows_read == 0:
        notes.append("no data rows: the file holds a header only or no records")
    if duplicate_note:
        notes.append(duplicate_note)
    if unmapped:
        shown = ", ".join(repr(column) for column in unmapped[:MAX_LISTED_COLUMNS])
        hidden = len(unmapped) - MAX_LISTED_COLUMNS
        more = f" and {hidden} more" if hidden > 0 else ""
        notes.append(f"unmapped column(s) kept in _extra: {shown}{more}")
    reason = "; ".join(notes) or None
    con.execute("begin transaction")
    try:
        replaced = _replace_earlier_delivery(con, landed) if feed.on_redelivery == "replace" else []
        if replaced:
            notes.append("replaced earlier delivery " + ", ".join(sha[:12] for sha in replaced))
            reason = "; ".join(notes)
        _insert_good_rows(con, landed)
        driver_ratings = _insert_driver_ratings(con, landed)
        _insert_row_problems(con, landed, checks)
        _insert_manifest(con, landed, status, reason, rows_read, rows_loaded, rows_quarantined)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    outcome = FileOutcome(
        feed=feed.name,
        file=landed.file_name,
        sha256=landed.sha256,
        status=status,
        entity=feed.entity,
        rows_read=rows_read,
        rows_loaded=rows_loaded,
        rows_quarantined=rows_quarantined,
        reason=reason,
        duplicate_key_rows=duplicate_key_rows,
    )
    return outcome, driver_ratings


def _unmapped_columns(feed: Feed, found_columns: list[str]) -> list[str]:
    """Columns of the file no declaration maps: schema drift, kept in `_extra`."""
    if feed.format == "ndjson":
        return []
    # every column of a composite id is mapped, not only the first (`columns` holds that one)
    mapped = set(feed.columns.values()).union(*feed.key_parts.values())
    if feed.drivers is not None:
        mapped |= set(feed.drivers.columns.values())
    return [column for column in found_columns if column not in mapped]


def _duplicate_keys(con: duckdb.DuckDBPyConnection, feed: Feed) -> tuple[int, str | None]:
    """Good rows repeating an earlier row's key in this file, and a note naming a few keys.

    Raw keeps every row as landed; staging (`cx_latest_version`) keeps the last occurrence.
    """
    entity = ENTITIES[feed.entity]
    key_fields = [entity.key] + (["attribute"] if entity.name == DRIVER_TABLE else [])
    fields = list(feed.columns)
    if not all(name in fields for name in key_fields):
        return 0, None
    key = ", ".join(f"__value_{fields.index(name)}" for name in key_fields)
    shown_key = f"({key})" if len(key_fields) > 1 else key
    repeated = con.execute(
        f"select {shown_key}::varchar as key, count(*) as times from {TYPED_TABLE} "
        f"where __ok group by {key} having count(*) > 1 order by min(__row_number)"
    ).fetchall()
    if not repeated:
        return 0, None
    extra_rows = sum(times - 1 for _, times in repeated)
    examples = ", ".join(f"{key_text!r} in {times} rows" for key_text, times in repeated[:3])
    more = f" and {len(repeated) - 3} more" if len(repeated) > 3 else ""
    note = (
        f"{extra_rows} row(s) repeat the {'/'.join(key_fields)} of an earlier row "
        f"({examples}{more}); raw keeps every row, staging keeps the last occurrence"
    )
    return extra_rows, note


def _replace_earlier_delivery(con: duckdb.DuckDBPyConnection, landed: _Landed) -> list[str]:
    """Withdraw the rows of earlier files with the same name in this feed; return their sha."""
    earlier = [
        sha
        for (sha,) in con.execute(
            "select file_sha256 from ops.file_manifest "
            "where feed = ? and file_name = ? and status <> 'replaced' order by loaded_at",
            [landed.feed.name, landed.file_name],
        ).fetchall()
    ]
    tables = [landed.feed.entity]
    if landed.feed.entity == "survey_responses":
        tables.append(DRIVER_TABLE)
    for sha in earlier:
        for table in tables:
            con.execute(f"delete from {raw_table(table)} where _file_sha256 = ?", [sha])
        con.execute(
            "update ops.file_manifest set status = 'replaced', reason = ? where file_sha256 = ?",
            [f"replaced by {landed.sha256[:12]} at {landed.loaded_at:%Y-%m-%d %H:%M:%S} UTC", sha],
        )
    return earlier


def _lineage_values(landed: _Landed) -> list[object]:
    return [landed.feed.name, landed.source_file, landed.sha256, landed.loaded_at]


def _insert_good_rows(con: duckdb.DuckDBPyConnection, landed: _Landed) -> None:
    fields = list(landed.feed.columns)
    constants = list(landed.feed.constants)
    target = ", ".join(quote_identifier(name) for name in (*fields, *constants))
    values = ", ".join(
        [f"__value_{index}" for index in range(len(fields))]
        + [f"__constant_{index}" for index in range(len(constants))]
    )
    con.execute(
        f"insert into {raw_table(landed.feed.entity)} ({target}, _feed, _source_file, "
        "_file_sha256, _loaded_at, _row_number, _extra) "
        f"select {values}, ?, ?, ?, ?, __row_number, __extra from {TYPED_TABLE} where __ok",
        _lineage_values(landed),
    )


def _insert_driver_ratings(con: duckdb.DuckDBPyConnection, landed: _Landed) -> int:
    """Unpivot the declared driver columns of the good rows into raw.survey_driver_ratings."""
    drivers = landed.feed.drivers
    if drivers is None:
        return 0
    response_ref = f"__value_{list(landed.feed.columns).index('response_ref')}"
    branches = " union all ".join(
        f"select {response_ref} as response_ref, {quote_literal(attribute)} as attribute, "
        f"__driver_{index} as rating, __row_number from {TYPED_TABLE} "
        f"where __ok and __driver_{index} is not null"
        for index, attribute in enumerate(drivers.columns)
    )
    inserted = con.execute(
        f"insert into {raw_table(DRIVER_TABLE)} (response_ref, attribute, rating, scale_min, "
        "scale_max, _feed, _source_file, _file_sha256, _loaded_at, _row_number) "
        f"select response_ref, attribute, rating, {drivers.scale.min}, {drivers.scale.max}, "
        f"?, ?, ?, ?, __row_number from ({branches})",
        _lineage_values(landed),
    ).fetchone()
    return int(inserted[0]) if inserted else 0


def _insert_row_problems(
    con: duckdb.DuckDBPyConnection, landed: _Landed, checks: list[_Check]
) -> None:
    """One quarantine row per problem of each bad row, with the raw text of the cell."""
    problems = ", ".join(
        "{'column_name': "
        + (quote_literal(check.column_name) if check.column_name is not None else "null::varchar")
        + f", 'raw_value': {check.raw_sql}, 'reason': typed.{check.error_alias}}}"
        for check in checks
    )
    con.execute(
        "insert into ops.quarantine (feed, source_file, file_sha256, row_number, column_name, "
        "raw_value, reason, quarantined_at) "
        "select ?, ?, ?, row_number, problem.column_name, problem.raw_value, problem.reason, ? "
        "from (select typed.__row_number as row_number, "
        f"typed.__record_problem as record_problem, unnest([{problems}]) as problem "
        f"from {TYPED_TABLE} as typed join {READ_TABLE} as landed "
        "on landed.rowid = typed.__row_number - 1 where not typed.__ok) "
        # A line that is not a JSON object has no fields: its one problem says so.
        "where problem.reason is not null "
        "and (record_problem is null or problem.column_name is null)",
        _lineage_values(landed),
    )


def _insert_manifest(
    con: duckdb.DuckDBPyConnection,
    landed: _Landed,
    status: str,
    reason: str | None,
    rows_read: int | None,
    rows_loaded: int,
    rows_quarantined: int | None,
) -> None:
    con.execute(
        "insert into ops.file_manifest (file_sha256, feed, entity, source_file, file_name, "
        "file_size_bytes, source_timezone, rows_read, rows_loaded, rows_quarantined, status, "
        "reason, loaded_at, run_id) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            landed.sha256,
            landed.feed.name,
            landed.feed.entity,
            landed.source_file,
            landed.file_name,
            landed.size_bytes,
            landed.feed.timezone,
            rows_read,
            rows_loaded,
            rows_quarantined,
            status,
            reason,
            landed.loaded_at,
            landed.run_id,
        ],
    )


def _quarantine_file(
    con: duckdb.DuckDBPyConnection, home: Path, landed: _Landed, reason: str
) -> FileOutcome:
    """Record a whole-file rejection and keep a copy with its reason beside it."""
    folder = quarantine_dir(home) / landed.feed.name
    copy = folder / landed.file_name
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(landed.path, copy)
    copy.with_name(copy.name + ".reason.txt").write_text(
        f"{landed.source_file} (sha256 {landed.sha256}) was not loaded:\n{reason}\n",
        encoding="utf-8",
    )
    con.execute("begin transaction")
    try:
        con.execute(
            "insert into ops.quarantine (feed, source_file, file_sha256, row_number, "
            "column_name, raw_value, reason, quarantined_at) "
            "values (?, ?, ?, null, null, null, ?, ?)",
            [landed.feed.name, landed.source_file, landed.sha256, reason, landed.loaded_at],
        )
        _insert_manifest(con, landed, "quarantined", reason, None, 0, None)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return FileOutcome(
        feed=landed.feed.name,
        file=landed.file_name,
        sha256=landed.sha256,
        status="quarantined",
        entity=landed.feed.entity,
        reason=reason,
    )


def _summarize(error: duckdb.Error) -> str:
    """DuckDB's reader error without its generic advice: the line and what is wrong with it."""
    text = str(error)
    text = re.split(r"\n\s*Possible (?:fixes|Solution)", text, maxsplit=1)[0]
    text = re.sub(r"^[A-Za-z ]+Error: ", "", text)
    text = " ".join(text.split())
    hints = [hint for phrase, hint in READER_HINTS.items() if phrase in text]
    return f"DuckDB cannot read the file: {text[:500]}" + "".join(f"; {hint}" for hint in hints)


def _record_feed_scales(con: duckdb.DuckDBPyConnection, feeds: list[Feed]) -> None:
    """Publish the declared score scales so marts never mix 5- and 7-point answers."""
    rows = [
        (
            feed.name,
            feed.entity,
            field_name,
            scale.min,
            scale.max,
            scale.polarity or DEFAULT_POLARITY.get(field_name, "higher_is_better"),
        )
        for feed in feeds
        for field_name, scale in feed.scales.items()
    ]
    con.execute("begin transaction")
    try:
        con.execute("delete from ops.feed_scales")
        if rows:
            con.executemany("insert into ops.feed_scales values (?, ?, ?, ?, ?, ?)", rows)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _write_run_log(
    con: duckdb.DuckDBPyConnection, report: IngestReport, status: str, detail: dict[str, object]
) -> None:
    report.finished_at = _utc_now()
    con.execute(
        "insert into ops.run_log (run_id, stage, started_at, finished_at, status, detail) "
        "values (?, 'ingest', ?, ?, ?, ?)",
        [report.run_id, report.started_at, report.finished_at, status, json.dumps(detail)],
    )


def _fetch_one(
    con: duckdb.DuckDBPyConnection, sql: str, parameters: list[object] | None = None
) -> tuple[Any, ...]:
    row = con.execute(sql, parameters).fetchone()
    assert row is not None, "an aggregate query returns one row"
    return row


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
