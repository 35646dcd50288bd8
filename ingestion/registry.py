"""The source registry: one YAML declaration per export feed, validated before anything loads.

Adding a source is a config change: a declaration says where the files land, how to read them
and which export column fills which canonical field of `ingestion.entities`. Every mistake in
a declaration is reported at once, naming the file, the key and what is allowed, so a refresh
never starts loading on a half-valid registry.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import yaml

from ingestion.entities import ENTITIES, Entity
from ingestion.formats.encoding import AUTO
from ingestion.formats.layouts import LAYOUTS, with_layout_defaults
from ingestion.formats.options import READ_KEYS, ReadOptions, parse_read_options

FeedFormat = Literal["csv", "tsv", "ndjson", "parquet", "xlsx", "xls"]
Redelivery = Literal["append", "replace"]

FORMATS: tuple[str, ...] = ("csv", "tsv", "ndjson", "parquet", "xlsx", "xls")
FAMILIES: tuple[str, ...] = ("crm", "survey", "channel")
REDELIVERY: tuple[str, ...] = ("append", "replace")
POLARITIES: tuple[str, ...] = (
    "higher_is_better",
    "lower_is_better",
    "higher_is_easier",
    "lower_is_easier",
)
DEFAULT_TRUE_TEXTS: tuple[str, ...] = ("true", "1", "yes", "y", "t")
DEFAULT_FALSE_TEXTS: tuple[str, ...] = ("false", "0", "no", "n", "f")
DEFAULT_FILE_PATTERNS: dict[str, str] = {
    "csv": "*.csv",
    "tsv": "*.tsv",
    "ndjson": "*.ndjson",
    "parquet": "*.parquet",
    "xlsx": "*.xlsx",
    "xls": "*.xls",
}
DELIMITED_FORMATS: tuple[str, ...] = ("csv", "tsv")
DEFAULT_DELIMITERS: dict[str, str] = {"csv": ",", "tsv": "\t"}

FEED_KEYS: tuple[str, ...] = (
    "name",
    "family",
    "entity",
    "description",
    "file_pattern",
    "format",
    "csv",
    "encoding",
    "timezone",
    "timestamp_format",
    "columns",
    "constants",
    "values",
    "booleans",
    "scales",
    "drivers",
    "on_redelivery",
    "max_future_days",
    *READ_KEYS,
)
REQUIRED_KEYS: tuple[str, ...] = ("name", "family", "entity", "columns")
CSV_KEYS: tuple[str, ...] = ("delimiter", "quote", "escape")
SCALE_KEYS: tuple[str, ...] = ("min", "max", "polarity")
DRIVER_KEYS: tuple[str, ...] = ("scale", "columns")
NAME_PATTERN = re.compile(r"[a-z0-9_]+")
# A timestamp more than this many days after the load is a typo or a clock error, not data.
DEFAULT_MAX_FUTURE_DAYS = 1


class RegistryError(ValueError):
    """One or more feed declarations are invalid; the message lists every problem found."""


@dataclass(frozen=True)
class CsvOptions:
    delimiter: str = ","
    quote: str = '"'
    # Exports double the quote character to escape it unless they say otherwise.
    escape: str = '"'


@dataclass(frozen=True)
class Scale:
    min: int
    max: int
    polarity: str | None = None


@dataclass(frozen=True)
class BooleanTexts:
    """Texts meaning true / false, compared case-insensitively after trimming."""

    true: tuple[str, ...] = DEFAULT_TRUE_TEXTS
    false: tuple[str, ...] = DEFAULT_FALSE_TEXTS


@dataclass(frozen=True)
class Drivers:
    """Wide driver-rating columns of a survey export, unpivoted into survey_driver_ratings."""

    scale: Scale
    columns: Mapping[str, str]  # driver attribute -> source column


@dataclass(frozen=True)
class Feed:
    name: str
    family: str
    entity: str
    columns: Mapping[str, str]  # canonical field -> source column
    description: str = ""
    # id fields built from several source columns, joined with "-" (field -> all its columns;
    # `columns` holds the first of them)
    key_parts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # canonical field -> the same text for every row (e.g. the touchpoint a survey is about)
    constants: Mapping[str, str] = field(default_factory=dict)
    file_pattern: str = "*.csv"
    format: FeedFormat = "csv"
    csv: CsvOptions = field(default_factory=CsvOptions)
    encoding: str = "utf-8"
    timezone: str = "UTC"
    timestamp_formats: tuple[str, ...] = ()
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    booleans: Mapping[str, BooleanTexts] = field(default_factory=dict)
    scales: Mapping[str, Scale] = field(default_factory=dict)
    drivers: Drivers | None = None
    on_redelivery: Redelivery = "append"
    max_future_days: int | None = DEFAULT_MAX_FUTURE_DAYS  # None: no limit
    read: ReadOptions = field(default_factory=ReadOptions)
    declared_in: Path | None = None

    def boolean_texts(self, field_name: str) -> BooleanTexts:
        return self.booleans.get(field_name, BooleanTexts())


class _RegistryLoader(yaml.SafeLoader):
    """YAML 1.2-style booleans: only true/false are booleans, so `Yes: yes` stays text.

    Export values such as Yes, No, On and Off are data, not YAML booleans; and a key
    repeated in one mapping is an error instead of silently keeping the last value.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_RegistryLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_RegistryLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load_registry(folder: Path) -> list[Feed]:
    """Every feed declared in `folder` (*.yml, *.yaml), sorted by name; raises RegistryError."""
    if not folder.is_dir():
        raise RegistryError(f"{_display(folder)}: source registry folder not found")
    paths = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])
    feeds: list[Feed] = []
    errors: list[str] = []
    declared_at: dict[str, Path] = {}
    for path in paths:
        feed, feed_errors = parse_feed_file(path)
        errors.extend(feed_errors)
        if feed is None:
            continue
        if feed.name in declared_at:
            errors.append(
                f"{_display(path)}: name: feed {feed.name!r} is already declared in "
                f"{_display(declared_at[feed.name])}; feed names must be unique"
            )
            continue
        declared_at[feed.name] = path
        feeds.append(feed)
    if errors:
        raise RegistryError("invalid source registry:\n" + "\n".join(errors))
    return sorted(feeds, key=lambda feed: feed.name)


def parse_feed_file(path: Path) -> tuple[Feed | None, list[str]]:
    """Parse one declaration; returns the feed (None if invalid) and its error messages."""
    where = _display(path)
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_RegistryLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        return None, [f"{where}: cannot read YAML: {_one_line(str(error))}"]
    parser = _FeedParser(where, path)
    feed = parser.parse(document)
    return (feed if not parser.errors else None), parser.errors


class _FeedParser:
    """Collects every problem of one declaration instead of stopping at the first."""

    def __init__(self, where: str, path: Path) -> None:
        self.where = where
        self.path = path
        self.errors: list[str] = []

    def error(self, key: str, message: str) -> None:
        self.errors.append(f"{self.where}: {key}: {message}")

    def parse(self, document: object) -> Feed | None:
        if not isinstance(document, dict):
            self.errors.append(f"{self.where}: a feed declaration must be a YAML mapping")
            return None
        self._check_keys("", document, FEED_KEYS)
        layout = self._layout(document)
        if layout:
            document = with_layout_defaults(document, LAYOUTS[layout])
        for key in REQUIRED_KEYS:
            if key not in document:
                self.error(key, "missing; every feed declares " + ", ".join(REQUIRED_KEYS))
        name = self._name(document.get("name"))
        entity = self._entity(document.get("entity"))
        family = self._family(document.get("family"), entity)
        feed_format = self._choice("format", document.get("format", "csv"), FORMATS)
        columns = self._columns(document.get("columns"), entity)
        key_parts = self._key_parts(document.get("columns"), entity)
        feed = Feed(
            name=name,
            family=family,
            entity=entity.name if entity else "",
            columns=columns,
            key_parts=key_parts,
            constants=self._constants(document.get("constants"), entity, columns),
            description=self._text("description", document.get("description", "")),
            file_pattern=self._file_pattern(
                document.get("file_pattern", DEFAULT_FILE_PATTERNS.get(feed_format, "*"))
            ),
            format=feed_format,  # type: ignore[arg-type]
            csv=self._csv(document.get("csv"), feed_format),
            read=parse_read_options(document, feed_format, layout, self.error),
            encoding=self._encoding(document.get("encoding", "utf-8")),
            timezone=self._timezone(document.get("timezone", "UTC")),
            timestamp_formats=self._timestamp_formats(document.get("timestamp_format")),
            values=self._values(document.get("values"), entity, columns),
            booleans=self._booleans(document.get("booleans"), entity, columns),
            scales=self._scales(document.get("scales"), entity, columns),
            drivers=self._drivers(document.get("drivers"), entity),
            on_redelivery=self._choice(  # type: ignore[arg-type]
                "on_redelivery", document.get("on_redelivery", "append"), REDELIVERY
            ),
            max_future_days=self._max_future_days(document),
            declared_in=self.path,
        )
        return feed

    def _check_keys(self, prefix: str, mapping: dict[Any, Any], allowed: tuple[str, ...]) -> None:
        for key in mapping:
            if key not in allowed:
                self.error(f"{prefix}{key}", "unknown key; allowed: " + ", ".join(allowed))

    def _text(self, key: str, value: object, required: bool = False) -> str:
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value):
            self.error(key, f"expected a non-empty text, got {value!r}")
            return ""
        return value

    def _file_pattern(self, value: object) -> str:
        pattern = self._text("file_pattern", value, required=True)
        # The pattern is globbed inside landing/<feed>/; it must never reach outside it.
        if pattern and (pattern.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", pattern)):
            self.error(
                "file_pattern",
                f"{pattern!r} reaches outside the feed's landing folder; use a pattern "
                "relative to landing/<feed>/ without '..', like '*.csv' or '**/*.csv'",
            )
            return ""
        return pattern

    def _max_future_days(self, document: dict[Any, Any]) -> int | None:
        value = document.get("max_future_days", DEFAULT_MAX_FUTURE_DAYS)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.error(
                "max_future_days",
                f"expected a whole number of days >= 0 (or null for no limit), got {value!r}",
            )
            return DEFAULT_MAX_FUTURE_DAYS
        return value

    def _choice(self, key: str, value: object, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            self.error(key, f"{value!r} is not allowed; allowed: " + ", ".join(allowed))
            return allowed[0]
        return str(value)

    def _name(self, value: object) -> str:
        if value is None:
            return ""
        if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
            self.error(
                "name", f"{value!r} is not allowed; use lowercase letters, digits and _ only"
            )
            return ""
        return value

    def _entity(self, value: object) -> Entity | None:
        if value is None:
            return None
        if value not in ENTITIES:
            self.error(
                "entity", f"{value!r} is not a canonical entity; allowed: " + ", ".join(ENTITIES)
            )
            return None
        return ENTITIES[str(value)]

    def _family(self, value: object, entity: Entity | None) -> str:
        if value is None:
            return ""
        family = self._choice("family", value, FAMILIES)
        if entity is not None and family != entity.family and value in FAMILIES:
            self.error(
                "family",
                f"{family!r} does not match entity {entity.name}, which belongs to family "
                f"{entity.family!r}",
            )
        return family

    def _constants(
        self, value: object, entity: Entity | None, columns: dict[str, str]
    ) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error("constants", "expected a mapping of canonical field -> value")
            return {}
        constants: dict[str, str] = {}
        for field_name, constant in value.items():
            key = f"constants.{field_name}"
            if entity is not None and field_name not in entity.field_names:
                self.error(
                    key,
                    f"{field_name!r} is not a field of entity {entity.name}; allowed: "
                    + ", ".join(entity.field_names),
                )
            elif field_name in columns:
                self.error(key, "the field is already mapped under columns; keep one of the two")
            elif isinstance(constant, dict | list) or constant is None:
                self.error(key, "expected a single text, number or boolean")
            else:
                constants[str(field_name)] = (
                    str(constant).lower() if isinstance(constant, bool) else str(constant)
                )
        return constants

    def _key_parts(self, value: object, entity: Entity | None) -> dict[str, tuple[str, ...]]:
        """Fields mapped to a list of columns (already validated by `_columns`)."""
        if not isinstance(value, dict) or entity is None:
            return {}
        return {
            str(field_name): tuple(str(part) for part in source)
            for field_name, source in value.items()
            if isinstance(source, list)
            and len(source) >= 2
            and field_name in entity.field_names
            and entity.field(str(field_name)).type == "varchar"
        }

    def _columns(self, value: object, entity: Entity | None) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict) or not value:
            self.error("columns", "expected a mapping of canonical field -> source column")
            return {}
        columns: dict[str, str] = {}
        for field_name, source in value.items():
            key = f"columns.{field_name}"
            if entity is not None and field_name not in entity.field_names:
                self.error(
                    key,
                    f"{field_name!r} is not a field of entity {entity.name}; allowed: "
                    + ", ".join(entity.field_names),
                )
                continue
            if isinstance(source, list):
                parts = [self._source_column(key, part) for part in source]
                if len(parts) < 2 or not all(parts):
                    self.error(key, "a list of source columns needs at least two column names")
                elif entity is not None and entity.field(str(field_name)).type != "varchar":
                    self.error(key, "only text id fields can be built from several columns")
                else:
                    columns[str(field_name)] = parts[0]
                continue
            source_column = self._source_column(key, source)
            if source_column:
                columns[str(field_name)] = source_column
        if entity is not None:
            unmapped = [
                canonical.name
                for canonical in entity.fields
                if canonical.required and canonical.name not in value
            ]
            if unmapped:
                self.error(
                    "columns",
                    f"required field(s) of entity {entity.name} not mapped: " + ", ".join(unmapped),
                )
        return columns

    def _source_column(self, key: str, source: object) -> str:
        # YAML reads a bare 2024 or 1 as a number; header text is text either way.
        if isinstance(source, bool) or not isinstance(source, str | int):
            self.error(key, f"expected a source column name, got {source!r}")
            return ""
        text = str(source)
        if not text.strip():
            self.error(key, "the source column name is empty")
            return ""
        return text

    def _layout(self, document: dict[Any, Any]) -> str:
        """The declared layout, after checking the keys it requires and its file formats."""
        value = document.get("layout")
        if value is None:
            return ""
        if value not in LAYOUTS:
            self.error("layout", f"{value!r} is not allowed; allowed: " + ", ".join(LAYOUTS))
            return ""
        layout = LAYOUTS[str(value)]
        for key, why in layout.required.items():
            if key not in document:
                self.error(key, f"missing; layout {layout.name} needs it declared: {why}")
        declared_format = document.get("format", layout.formats[0])
        if declared_format not in layout.formats:
            self.error(
                "format",
                f"{declared_format!r} is not a format of layout {layout.name}; allowed: "
                + ", ".join(layout.formats),
            )
        return layout.name

    def _csv(self, value: object, feed_format: str) -> CsvOptions:
        default_delimiter = DEFAULT_DELIMITERS.get(feed_format, ",")
        if value is None:
            return CsvOptions(delimiter=default_delimiter)
        if feed_format not in DELIMITED_FORMATS:
            self.error("csv", f"csv options apply to format csv and tsv only, not {feed_format!r}")
            return CsvOptions()
        if not isinstance(value, dict):
            self.error("csv", "expected a mapping with keys " + ", ".join(CSV_KEYS))
            return CsvOptions(delimiter=default_delimiter)
        self._check_keys("csv.", value, CSV_KEYS)
        delimiter = value.get("delimiter", default_delimiter)
        quote = value.get("quote", '"')
        escape = value.get("escape", quote)
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            self.error("csv.delimiter", f"expected exactly one character, got {delimiter!r}")
            delimiter = ","
        for key, text in (("quote", quote), ("escape", escape)):
            if not isinstance(text, str) or len(text) > 1:
                self.error(f"csv.{key}", f"expected one character or '', got {text!r}")
        if isinstance(quote, str) and quote == delimiter:
            self.error("csv.quote", "the quote character must differ from the delimiter")
        return CsvOptions(delimiter=delimiter, quote=str(quote or ""), escape=str(escape or ""))

    def _encoding(self, value: object) -> str:
        if value == AUTO:
            return AUTO
        try:
            return codecs.lookup(str(value)).name if isinstance(value, str) else ""
        except LookupError:
            pass
        self.error(
            "encoding",
            f"{value!r} is not a known encoding; allowed: auto (tries utf-8-sig, utf-8, "
            "gb18030), utf-8, utf-8-sig, or another Python codec name (latin-1, cp1252, "
            "utf-16, gbk, gb18030, …)",
        )
        return "utf-8"

    def _timezone(self, value: object) -> str:
        if isinstance(value, str) and value:
            try:
                ZoneInfo(value)
                return value
            except (ZoneInfoNotFoundError, ValueError):
                pass
        self.error(
            "timezone",
            f"{value!r} is not an IANA time zone; use a name like UTC, Europe/Paris, "
            "America/New_York",
        )
        return "UTC"

    def _timestamp_formats(self, value: object) -> tuple[str, ...]:
        if value is None:
            return ()
        formats = [value] if isinstance(value, str) else value
        if (
            not isinstance(formats, list)
            or not formats
            or not all(isinstance(text, str) and "%" in text for text in formats)
        ):
            self.error(
                "timestamp_format",
                f"expected a strptime format like '%Y-%m-%d %H:%M:%S' (or a list), got {value!r}",
            )
            return ()
        for text in formats:
            problem = _strptime_problem(text)
            if problem:
                self.error("timestamp_format", f"{text!r} is not a valid format: {problem}")
        with_zone = [_has_zone(text) for text in formats]
        if any(with_zone) and not all(with_zone):
            self.error(
                "timestamp_format",
                "either every format carries a zone (%z/%Z) or none does",
            )
        return tuple(formats)

    def _mapped_field(
        self, key: str, field_name: object, entity: Entity | None, columns: dict[str, str]
    ) -> bool:
        if entity is None:
            return False
        if field_name not in entity.field_names:
            self.error(
                key,
                f"{field_name!r} is not a field of entity {entity.name}; allowed: "
                + ", ".join(entity.field_names),
            )
            return False
        if field_name not in columns:
            self.error(key, f"field {field_name!r} is not mapped under columns")
            return False
        return True

    def _values(
        self, value: object, entity: Entity | None, columns: dict[str, str]
    ) -> dict[str, dict[str, str]]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error("values", "expected a mapping of field -> {source text: canonical value}")
            return {}
        values: dict[str, dict[str, str]] = {}
        for field_name, mapping in value.items():
            key = f"values.{field_name}"
            if not self._mapped_field(key, field_name, entity, columns):
                continue
            assert entity is not None
            field_type = entity.field(str(field_name)).type
            if field_type not in ("varchar", "integer", "decimal"):
                self.error(
                    key,
                    f"value mappings apply to varchar, integer and decimal fields; "
                    f"{field_name} is {field_type}"
                    + (" (use booleans)" if field_type == "boolean" else ""),
                )
                continue
            if not isinstance(mapping, dict) or not mapping:
                self.error(key, "expected a mapping of source text -> canonical value")
                continue
            if field_type == "integer" and not all(
                isinstance(target, int) and not isinstance(target, bool)
                for target in mapping.values()
            ):
                self.error(
                    key, f"{field_name} is an integer field; every target must be an integer"
                )
                continue
            values[str(field_name)] = {
                str(source): str(target) for source, target in mapping.items()
            }
        return values

    def _booleans(
        self, value: object, entity: Entity | None, columns: dict[str, str]
    ) -> dict[str, BooleanTexts]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error("booleans", "expected a mapping of field -> {true: [...], false: [...]}")
            return {}
        booleans: dict[str, BooleanTexts] = {}
        for field_name, sides in value.items():
            key = f"booleans.{field_name}"
            if not self._mapped_field(key, field_name, entity, columns):
                continue
            assert entity is not None
            if entity.field(str(field_name)).type != "boolean":
                self.error(key, f"{field_name} is not a boolean field")
                continue
            texts = self._boolean_sides(key, sides)
            if texts is not None:
                booleans[str(field_name)] = texts
        return booleans

    def _boolean_sides(self, key: str, sides: object) -> BooleanTexts | None:
        if not isinstance(sides, dict):
            self.error(key, "expected {true: [texts], false: [texts]}")
            return None
        # `true:` is a YAML boolean key; a quoted "true" is accepted too.
        normalized = {str(side).lower(): texts for side, texts in sides.items()}
        unknown = set(normalized) - {"true", "false"}
        if unknown or len(normalized) != 2:
            self.error(key, "expected exactly the keys true and false")
            return None
        lists: dict[str, tuple[str, ...]] = {}
        for side, texts in normalized.items():
            items = [texts] if isinstance(texts, str | int) else texts
            if not isinstance(items, list) or not items:
                self.error(f"{key}.{side}", f"expected a list of texts, got {texts!r}")
                return None
            lists[side] = tuple(str(item).strip().lower() for item in items)
        overlap = set(lists["true"]) & set(lists["false"])
        if overlap:
            self.error(key, "texts listed as both true and false: " + ", ".join(sorted(overlap)))
            return None
        return BooleanTexts(true=lists["true"], false=lists["false"])

    def _scales(
        self, value: object, entity: Entity | None, columns: dict[str, str]
    ) -> dict[str, Scale]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error("scales", "expected a mapping of field -> {min, max, polarity}")
            return {}
        scales: dict[str, Scale] = {}
        for field_name, spec in value.items():
            key = f"scales.{field_name}"
            if not self._mapped_field(key, field_name, entity, columns):
                continue
            assert entity is not None
            field_type = entity.field(str(field_name)).type
            if field_type != "integer":
                self.error(
                    key, f"scales apply to integer fields only; {field_name} is {field_type}"
                )
                continue
            scale = self._scale(key, spec)
            if scale is not None:
                scales[str(field_name)] = scale
        return scales

    def _scale(self, key: str, spec: object) -> Scale | None:
        if not isinstance(spec, dict):
            self.error(key, "expected {min: <int>, max: <int>, polarity: <optional>}")
            return None
        self._check_keys(f"{key}.", spec, SCALE_KEYS)
        low, high = spec.get("min"), spec.get("max")
        if not all(isinstance(end, int) and not isinstance(end, bool) for end in (low, high)):
            self.error(key, f"min and max must be integers, got min={low!r}, max={high!r}")
            return None
        assert isinstance(low, int) and isinstance(high, int)
        if low >= high:
            self.error(key, f"min must be below max, got min={low}, max={high}")
            return None
        polarity = spec.get("polarity")
        if polarity is not None and polarity not in POLARITIES:
            self.error(
                f"{key}.polarity", f"{polarity!r} is not allowed; allowed: " + ", ".join(POLARITIES)
            )
            return None
        return Scale(min=low, max=high, polarity=polarity)

    def _drivers(self, value: object, entity: Entity | None) -> Drivers | None:
        if value is None:
            return None
        if entity is not None and entity.name != "survey_responses":
            self.error(
                "drivers", f"drivers apply to entity survey_responses only, not {entity.name}"
            )
            return None
        if not isinstance(value, dict):
            self.error("drivers", "expected {scale: {min, max}, columns: {attribute: column}}")
            return None
        self._check_keys("drivers.", value, DRIVER_KEYS)
        scale = self._scale("drivers.scale", value.get("scale"))
        columns = value.get("columns")
        if not isinstance(columns, dict) or not columns:
            self.error("drivers.columns", "expected a mapping of driver attribute -> source column")
            return None
        mapped: dict[str, str] = {}
        for attribute, source in columns.items():
            key = f"drivers.columns.{attribute}"
            if not isinstance(attribute, str) or not NAME_PATTERN.fullmatch(attribute):
                self.error(key, "driver attributes use lowercase letters, digits and _ only")
                continue
            source_column = self._source_column(key, source)
            if source_column:
                mapped[attribute] = source_column
        if scale is None:
            return None
        return Drivers(scale=scale, columns=mapped)


def _strptime_problem(timestamp_format: str) -> str | None:
    """DuckDB's complaint about a strptime format, checked before any file is read."""
    probe = duckdb.connect()
    try:
        probe.execute("select try_strptime('', ?)", [timestamp_format])
    except duckdb.Error as error:
        return _one_line(str(error).split("Error: ", 1)[-1])
    finally:
        probe.close()
    return None


def _has_zone(timestamp_format: str) -> bool:
    return "%z" in timestamp_format or "%Z" in timestamp_format


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _display(path: Path) -> str:
    """A path as a person would type it: relative to the working directory when inside it."""
    absolute = path.resolve()
    if absolute.is_relative_to(Path.cwd()):
        return str(absolute.relative_to(Path.cwd()))
    return str(absolute)
