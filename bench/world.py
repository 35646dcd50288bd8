"""The benchmark's input: a cached demo world per scale factor, and two more days of files.

SF1 is demo scale 50 (≈100 k customers, ≈1 M interactions, ≈200 k survey responses); SF10 is
ten times that. A world is generated once per (sf, seed, end date, generator source) into
`bench/cache/sf<N>/landing/` and reused: generating SF10 takes minutes, loading it is what
we measure.

"One more day" is the world's last day replayed one day later: every feed's rows whose event
time falls on the last day, timestamps shifted by +1 day and primary ids given a `-D1`
suffix, written as `<feed>_<end + 1>.<ext>` in the feed's own format. Foreign keys to
customers stay as they are (the new day's orders, calls and tickets belong to existing
customers); a replayed response points to its replayed invitation, so the day's invitation
file also carries the invitations its responses answer, and the day's ticket events are the
histories of the day's tickets. The volumes are a real day's
volumes, and `ingestion/demo.py` stays untouched.

The second day (`delta2/`) is the same last day replayed two days later: timestamps
shifted by +2 days, ids suffixed `-D2`, files dated end + 2. Its rows are new again beside
the first day's, so the benchmark can time a second incremental refresh after the first.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from ingestion import demo

SF1_DEMO_SCALE = 50.0  # demo scale of SF1: ≈100 k customers, ≈1 M interactions
DEFAULT_SEED = 42
# Fixed, so cached worlds stay valid across days and runs compare like for like.
DEFAULT_END_DATE = date(2025, 6, 30)
CACHE_ROOT = Path(__file__).resolve().parent / "cache"
STAMP = "world.json"


@dataclass(frozen=True)
class DayReplay:
    """How to cut and replay one feed's last day."""

    day_column: str  # the event time that decides which day a row belongs to
    timestamp_format: str  # strftime format of every shifted column
    shifted: tuple[str, ...]  # columns moved the replay's days later
    ids: tuple[str, ...]  # primary (and replayed foreign) ids that get delta_suffix(days)


ISO = demo.ISO_SECONDS
DAY_REPLAYS: dict[str, DayReplay] = {
    "demo_crm_customers": DayReplay(
        "Customer Since", demo.CRM_DATE, ("Customer Since", "Churn Date"), ("Account ID",)
    ),
    "demo_crm_orders": DayReplay("Created at", ISO, ("Created at",), ("Order ID",)),
    "demo_calls": DayReplay("Call Start", ISO, ("Call Start",), ("Call ID",)),
    "demo_support_tickets": DayReplay(
        "Created at",
        ISO,
        ("Created at", "First reply at", "Solved at", "Updated at"),
        ("Id",),
    ),
    "demo_ticket_events": DayReplay("Created at", ISO, ("Created at",), ("Audit ID", "Ticket ID")),
    "demo_survey_invitations": DayReplay("SentDate", ISO, ("SentDate",), ("InviteId",)),
    "demo_survey_responses": DayReplay(
        "RecordedDate",
        ISO,
        ("StartDate", "EndDate", "RecordedDate"),
        ("ResponseId", "InviteId"),
    ),
    "demo_web_sessions": DayReplay(
        "session_start", "%Y-%m-%dT%H:%M:%SZ", ("session_start", "session_end"), ("session_id",)
    ),
}


@dataclass(frozen=True)
class CachedWorld:
    sf: float
    scale: float
    seed: int
    end_date: date
    landing: Path  # the full world: one file per feed
    delta: Path  # one more day: one file per feed, dated end_date + 1
    delta2: Path  # the day after: one file per feed, dated end_date + 2
    feed_rows: dict[str, int]
    delta_rows: dict[str, int]
    delta2_rows: dict[str, int]
    generated_seconds: float | None  # None when read from the cache

    @property
    def rows(self) -> int:
        return sum(self.feed_rows.values())

    @property
    def delta_total_rows(self) -> int:
        return sum(self.delta_rows.values())

    @property
    def delta2_total_rows(self) -> int:
        return sum(self.delta2_rows.values())


def sf_label(sf: float) -> str:
    return f"sf{sf:g}"


def demo_scale(sf: float) -> float:
    return sf * SF1_DEMO_SCALE


def delta_suffix(days: int) -> str:
    """The suffix of the ids replayed `days` later: `-D1`, `-D2`, …"""
    return f"-D{days}"


def _generator_digest() -> str:
    """A cache made by another version of the generator (or of this file) is stale."""
    digest = hashlib.sha256()
    for source in (Path(demo.__file__), Path(__file__)):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def cached_world(
    sf: float,
    *,
    seed: int = DEFAULT_SEED,
    end_date: date = DEFAULT_END_DATE,
    cache_root: Path = CACHE_ROOT,
) -> CachedWorld:
    """The world of scale factor `sf`, generated into the cache on first use."""
    folder = cache_root / sf_label(sf)
    key = {
        "sf": sf,
        "scale": demo_scale(sf),
        "seed": seed,
        "end_date": end_date.isoformat(),
        "generator": _generator_digest(),
    }
    stamp_path = folder / STAMP
    if stamp_path.exists():
        stamp = json.loads(stamp_path.read_text())
        if stamp.get("key") == key:
            return _world_from_stamp(folder, key, stamp, generated_seconds=None)
    started = time.perf_counter()
    building = folder.with_name(f".{folder.name}.{os.getpid()}.building")
    shutil.rmtree(building, ignore_errors=True)
    truths = demo.generate_demo_world(
        building / "landing", scale=demo_scale(sf), seed=seed, end_date=end_date
    )
    delta_rows = write_next_day(building / "landing", building / "delta", end_date)
    delta2_rows = write_next_day(building / "landing", building / "delta2", end_date, days=2)
    stamp = {
        "key": key,
        "feed_rows": dict(truths.feed_rows),
        "delta_rows": delta_rows,
        "delta2_rows": delta2_rows,
    }
    (building / STAMP).write_text(json.dumps(stamp, indent=2))
    shutil.rmtree(folder, ignore_errors=True)
    building.rename(folder)
    return _world_from_stamp(folder, key, stamp, generated_seconds=time.perf_counter() - started)


def _world_from_stamp(
    folder: Path, key: dict[str, object], stamp: dict[str, dict[str, int]], generated_seconds
) -> CachedWorld:
    return CachedWorld(
        sf=float(key["sf"]),  # type: ignore[arg-type]
        scale=float(key["scale"]),  # type: ignore[arg-type]
        seed=int(key["seed"]),  # type: ignore[call-overload]
        end_date=date.fromisoformat(str(key["end_date"])),
        landing=folder / "landing",
        delta=folder / "delta",
        delta2=folder / "delta2",
        feed_rows=dict(stamp["feed_rows"]),
        delta_rows=dict(stamp["delta_rows"]),
        delta2_rows=dict(stamp["delta2_rows"]),
        generated_seconds=generated_seconds,
    )


def world_files(landing: Path) -> list[Path]:
    return sorted(path for path in landing.rglob("*") if path.is_file())


def write_next_day(landing: Path, target: Path, end_date: date, days: int = 1) -> dict[str, int]:
    """Replay the world's last day `days` later into `target/<feed>/`, ids suffixed
    `-D<days>`, files dated end_date + `days`; rows per feed."""
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    next_day = end_date + timedelta(days=days)
    day_start = (end_date - timedelta(days=1)).isoformat()
    day_end = end_date.isoformat()
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    rows: dict[str, int] = {}
    try:
        for feed, extension in demo.FEEDS.items():
            replay = DAY_REPLAYS[feed]
            source = landing / feed / f"{feed}_{end_date.isoformat()}.{extension}"
            con.execute(f"create or replace temp view {feed} as {_reader(source, extension)}")
            con.execute(
                f"create or replace temp view {feed}_day as from {feed} "
                f"where {_in_day(replay, day_start, day_end)}"
            )
        # invitations answered on the replayed day travel with their responses
        invitations = DAY_REPLAYS["demo_survey_invitations"]
        con.execute(
            "create or replace temp view demo_survey_invitations_day as "
            "from demo_survey_invitations where "
            f"{_in_day(invitations, day_start, day_end)} "
            'or "InviteId" in (select "InviteId" from demo_survey_responses_day)'
        )
        # a replayed ticket's history travels with it, and only a replayed ticket's
        con.execute(
            "create or replace temp view demo_ticket_events_day as from demo_ticket_events "
            'where "Ticket ID" in (select "Id" from demo_support_tickets_day)'
        )
        for feed, extension in demo.FEEDS.items():
            replay = DAY_REPLAYS[feed]
            columns = [
                name
                for (name,) in con.execute(
                    f"select name from pragma_table_info('{feed}')"
                ).fetchall()
            ]
            select = ", ".join(_replayed(column, replay, days) for column in columns)
            path = target / feed / f"{feed}_{next_day.isoformat()}.{extension}"
            path.parent.mkdir(parents=True, exist_ok=True)
            options = "format json" if extension == "ndjson" else "format csv, header true"
            con.execute(f"copy (select {select} from {feed}_day) to {_lit(str(path))} ({options})")
            rows[feed] = con.execute(f"select count(*) from {feed}_day").fetchone()[0]  # type: ignore[index]
    finally:
        con.close()
    return rows


def _parsed(column: str, timestamp_format: str) -> str:
    """The cell as a TIMESTAMP, whether the reader kept it as text or typed it already."""
    quoted = _ident(column)
    return (
        f"coalesce(try_strptime({quoted}::varchar, {_lit(timestamp_format)}), "
        f"try_cast({quoted} as timestamp))"
    )


def _in_day(replay: DayReplay, day_start: str, day_end: str) -> str:
    parsed = _parsed(replay.day_column, replay.timestamp_format)
    return f"({parsed} >= {_lit(day_start)}::timestamp and {parsed} < {_lit(day_end)}::timestamp)"


def _reader(path: Path, extension: str) -> str:
    if extension == "ndjson":
        return (
            f"select * from read_json({_lit(str(path))}, format = 'newline_delimited', "
            "records = true, sample_size = -1)"
        )
    return f"select * from read_csv({_lit(str(path))}, header = true, all_varchar = true)"


def _replayed(column: str, replay: DayReplay, days: int) -> str:
    quoted = _ident(column)
    if column in replay.ids:
        return f"{quoted}::varchar || {_lit(delta_suffix(days))} as {quoted}"
    if column in replay.shifted:
        parsed = _parsed(column, replay.timestamp_format)
        shifted = f"{parsed} + interval {int(days)} day"
        return f"strftime({shifted}, {_lit(replay.timestamp_format)}) as {quoted}"
    return quoted


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
