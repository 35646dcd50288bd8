"""The demo world: deterministic, vendor-shaped exports with known answers.

`generate_demo_world` writes one export per demo feed (CRM customers and orders, survey
invitations and responses, support tickets, calls, web sessions) into a landing folder and
returns `DemoTruths`: what a correct mart must recover from those files (identity of every
CRM record, NPS per touchpoint, driver order, the long-wait effect, the recent detractors…).
Truths are computed from the very arrays that were written, never typed in by hand.

Everything is vectorized with numpy and written by DuckDB, so 100k persons (~1M
interactions) take seconds; the same seed, scale and end date give byte-identical files.
"""

from __future__ import annotations

import argparse
import csv
import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np

from ingestion.paths import cxmart_home, landing_dir

DAY = 86_400
HOUR = 3_600
PERSONS_PER_SCALE = 2_000

TOUCHPOINTS: tuple[str, ...] = (
    "onboarding",
    "checkout",
    "delivery",
    "support",
    "billing",
    "returns",
)
CHANNELS: tuple[str, ...] = ("web", "email", "phone", "chat", "store")
# Planted: the latent score each touchpoint starts from (delivery is the broken one).
TOUCHPOINT_BASE: dict[str, float] = {
    "onboarding": 7.7,
    "checkout": 7.9,
    "delivery": 5.4,
    "support": 7.4,
    "billing": 7.3,
    "returns": 7.2,
}
# Planted: how much one rating point above/below 3 moves the 0-10 score.
DRIVER_WEIGHTS: dict[str, float] = {
    "wait_time": 1.2,
    "staff_knowledge": 0.8,
    "reliability": 0.5,
    "ease_of_use": 0.25,
    "transparency": 0.0,
}
DRIVER_COLUMNS: dict[str, str] = {
    attribute: f"Q_Drivers_{position}" for position, attribute in enumerate(DRIVER_WEIGHTS, 1)
}
LONG_WAIT_SECONDS = 300
LONG_WAIT_LOOKBACK_DAYS = 7
LONG_WAIT_PENALTY = 1.5
RECENT_WINDOW_DAYS = 30
# No response is recorded in this band around "as_of - 30 days", so the recent-detractor
# truth holds whether the mart's clock is the end date's midnight or a few hours later.
RECENT_BAND_DAYS = (31, 28)
BAD_NPS_VALUES: tuple[int, ...] = (11, -1, 11)
BAD_TICKET_CREATED = "0000-00-00 00:00:00"

FEEDS: dict[str, str] = {
    "demo_crm_customers": "csv",
    "demo_crm_orders": "csv",
    "demo_survey_invitations": "csv",
    "demo_survey_responses": "csv",
    "demo_support_tickets": "csv",
    "demo_ticket_events": "csv",
    "demo_calls": "csv",
    "demo_web_sessions": "ndjson",
}
# Declared feeds the demo world starts without: the frontline team's case outcomes and the
# data-protection officer's erasure requests are dropped in later (the tests do).
FEEDS_STARTING_EMPTY: dict[str, str] = {
    "demo_followup_outcomes": "csv",
    "demo_erasure_requests": "csv",
}
TICKET_TIMEZONE = "America/New_York"
# The demo help desk's schedule, the same one dbt declares (seeds business_hours and
# holidays, var business_timezone): its "within business hours" exports are recomputed here.
BUSINESS_WEEKDAYS: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday..Friday, date.weekday()
BUSINESS_HOURS: tuple[int, int] = (9, 17)  # local opening and closing hour
HOLIDAYS_SEED = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "holidays.csv"
ISO_SECONDS = "%Y-%m-%d %H:%M:%S"
CRM_DATE = "%m/%d/%Y"


def _name_pairs(text: str) -> tuple[tuple[str, str], ...]:
    """`João:joao Ana O'Brien` -> (display name, ASCII form used in email addresses)."""
    pairs = []
    for token in text.split():
        display, _, ascii_form = token.partition(":")
        pairs.append((display, ascii_form or display.lower().replace("'", "")))
    return tuple(pairs)


FIRST_NAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "en": _name_pairs(
        "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William "
        "Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Lisa "
        "Matthew Nancy Anthony Betty Mark Sandra Steven Ashley Andrew Emily Kevin Donna "
        "Brian Michelle Aisha Omar Priya Rahul Sofia Diego Mei Hannah Noah Olivia Liam Ava"
    ),
    "pt": _name_pairs(
        "João:joao Maria Ana Pedro Lucas Mariana Gabriel Beatriz Rafael Larissa Thiago "
        "Fernanda Conceição:conceicao"
    ),
    "zh": _name_pairs("Wei Fang Jing Lei Min Yan Jun Hui Xiu Tao Ling Hao Yu Chen Xin"),
}
LAST_NAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "en": _name_pairs(
        "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez "
        "Hernandez Lopez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Thompson "
        "White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Nguyen "
        "Hill Green Adams Baker Nelson Carter Mitchell Patel Khan O'Brien O'Connor"
    ),
    "pt": _name_pairs(
        "Silva Santos Oliveira Souza Pereira Costa Rodrigues Almeida Gonçalves:goncalves "
        "Araújo:araujo Ribeiro"
    ),
    "zh": _name_pairs("Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo"),
}
# Planted look-alikes: two different people with one postcode and alike names (siblings,
# spouses, neighbours), given name and family name each less alike than the fuzzy identity
# rule's threshold: it must keep them apart. About LOOK_ALIKE_SHARE of each language's
# persons, in pairs (at least one pair per language).
LOOK_ALIKES: dict[str, tuple[str, ...]] = {
    "en": (
        "Mary Smith Mark Smith",
        "John Walker Joan Walker",
        "Sandra Wright Sandra White",
        "Noah Nelson Nora Nelson",
        "Emily Thomas Emily Thompson",
        "Priya Patel Priya Patil",
        "Lisa Martin Liam Martin",
        "James Lee Jane Lee",
    ),
    "pt": (
        "João:joao Pereira João:joao Ferreira",
        "Lucas Silva Luisa Silva",
        "Rafael Costa Raquel Costa",
        "João:joao Almeida Joana Almeida",
    ),
    "zh": ("Wei Wang Wen Wang", "Hui Zhao Hua Zhao"),
}
LOOK_ALIKE_SHARE = 0.01
# Planted fuzzy duplicates: FUZZY_DUPLICATE_SHARE of the persons (none with another
# duplicate or a look-alike) hold an older account opened in store under a mistyped name,
# at the same postcode, with no email or phone of the person's other account.
FUZZY_DUPLICATE_SHARE = 0.015
NAME_AS_TYPED, NAME_UPPER_CASE, NAME_WITHOUT_ACCENTS, NAME_LETTERS_SWAPPED, NAME_LETTER_DOUBLED = (
    range(5)
)
LANGUAGES: tuple[str, ...] = ("en", "pt", "zh")
LANGUAGE_SHARES: tuple[float, ...] = (0.84, 0.09, 0.07)
# Qualtrics UserLanguage codes, mapped back to en/pt/zh by the feed declaration.
QUALTRICS_LANGUAGE: dict[str, str] = {"en": "EN", "pt": "PT-BR", "zh": "ZH-S"}

# city, region, country, postcode prefix (US ZIPs keep leading zeros), area codes, share
CITIES: tuple[tuple[str, str, str, str, tuple[str, ...], float], ...] = (
    ("Boston", "MA", "United States", "021", ("617", "857"), 0.09),
    ("Providence", "RI", "United States", "029", ("401",), 0.03),
    ("Hartford", "CT", "United States", "061", ("860",), 0.03),
    ("Newark", "NJ", "United States", "071", ("973", "862"), 0.04),
    ("Portland", "ME", "United States", "041", ("207",), 0.02),
    ("Burlington", "VT", "United States", "054", ("802",), 0.02),
    ("New York", "NY", "United States", "100", ("212", "646", "917"), 0.14),
    ("Philadelphia", "PA", "United States", "191", ("215", "267"), 0.06),
    ("Chicago", "IL", "United States", "606", ("312", "773"), 0.08),
    ("Austin", "TX", "United States", "787", ("512", "737"), 0.05),
    ("Miami", "FL", "United States", "331", ("305", "786"), 0.06),
    ("Denver", "CO", "United States", "802", ("303", "720"), 0.05),
    ("Seattle", "WA", "United States", "981", ("206",), 0.06),
    ("San Francisco", "CA", "United States", "941", ("415", "628"), 0.07),
    ("Los Angeles", "CA", "United States", "900", ("213", "310", "323"), 0.09),
    ("Toronto", "ON", "Canada", "M5V", ("416", "647"), 0.05),
    ("Vancouver", "BC", "Canada", "V6B", ("604", "778"), 0.03),
    ("Montreal", "QC", "Canada", "H2X", ("514", "438"), 0.03),
)
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.net", "example.org", "mail.example.com")
SEGMENTS: tuple[str, ...] = ("Consumer", "SMB", "Enterprise")
SEGMENT_SHARES: tuple[float, ...] = (0.8, 0.15, 0.05)

# Phone renderings seen in real exports; all normalize to the same E.164 number.
PHONE_FORMATS = 7
EMAIL_NOISE_SHARES: tuple[float, ...] = (0.5, 0.15, 0.1, 0.1, 0.1, 0.05)

TOUCHPOINT_SHARES: tuple[float, ...] = (0.10, 0.25, 0.25, 0.15, 0.12, 0.13)
CALL_REASON_SHARES: tuple[float, ...] = (0.07, 0.08, 0.30, 0.20, 0.20, 0.15)
CALL_REASONS: dict[str, str] = {
    "onboarding": "Account setup",
    "checkout": "Payment problem",
    "delivery": "Where is my order",
    "support": "Technical support",
    "billing": "Billing question",
    "returns": "Return or refund",
}
CALL_QUEUES: dict[str, str] = {
    "onboarding": "General",
    "checkout": "General",
    "delivery": "Logistics",
    "support": "Tech Support",
    "billing": "Billing",
    "returns": "Returns",
}
TICKET_GROUPS: dict[str, str] = {
    "onboarding": "Tier 1",
    "checkout": "Tier 1",
    "delivery": "Logistics",
    "support": "Tier 2",
    "billing": "Billing",
    "returns": "Returns",
}
TICKET_VIA: tuple[str, ...] = ("Email", "Web form", "Chat", "Phone call (incoming)", "Twitter")
# Ticket histories (the ticket-event export) exist for chat tickets and for phone tickets,
# which agents open on the caller's behalf with a public follow-up comment.
CHAT_VIA = "Chat"
PHONE_VIA = "Phone call (incoming)"
CHAT_BURST_SHARES: tuple[float, ...] = (0.5, 0.3, 0.2)  # 1, 2 or 3 agent messages per chat reply
CHAT_BURST_SECONDS = 15
INTERNAL_NOTE_SHARE = 0.4  # customer-created tickets with an internal note before the reply
CALLBACK_COMMENT_SHARE = 0.5  # unanswered phone follow-ups the customer wrote back to
MIN_STEP_SECONDS = 60  # between two moments of one ticket's history
CLOSE_AFTER_SECONDS = 4 * 86_400  # solved tickets close 4 days later (the export's "Closed")
# One audit = one moment of one ticket, holding one or more events:
# (event type, author role, public flag, previous status, new status). Creation kinds come
# first: in a tie (a reply in the creation's second) the creation sorts first.
TICKET_AUDITS: dict[str, tuple[tuple[str, str, str, str, str], ...]] = {
    "create_by_customer": (
        ("Create", "end-user", "", "", "new"),
        ("Comment", "end-user", "true", "", ""),
    ),
    "create_by_agent": (("Create", "agent", "", "", "new"), ("Comment", "agent", "true", "", "")),
    "note": (("Comment", "agent", "false", "", ""),),
    "customer": (("Comment", "end-user", "true", "", ""),),
    "first_reply": (("Comment", "agent", "true", "", ""), ("Change", "agent", "", "new", "open")),
    "reply": (("Comment", "agent", "true", "", ""),),
    "solve": (("Change", "agent", "", "open", "solved"),),
    "reopen": (
        ("Comment", "end-user", "true", "", ""),
        ("Change", "end-user", "", "solved", "open"),
    ),
    "close": (("Change", "system", "", "solved", "closed"),),
    "to_open": (("Change", "agent", "", "new", "open"),),
    "to_pending": (("Change", "agent", "", "open", "pending"),),
}
AUDIT_KIND: dict[str, int] = {kind: code for code, kind in enumerate(TICKET_AUDITS)}
TICKET_SUBJECTS: dict[str, tuple[str, ...]] = {
    "onboarding": ("Can't activate my account", "Welcome email never arrived"),
    "checkout": ("Card declined at checkout", 'Promo code "SPRING10" not accepted'),
    "delivery": ("Where is my order?", "Package late, again", "Tracking says delivered, it's not"),
    "support": ("App crashes on login", "How do I reset my password?"),
    "billing": ("Charged twice, please refund", "Invoice shows the wrong address"),
    "returns": ("Return label not working", "Refund still pending after 2 weeks"),
}
# channel of the rated experience, per touchpoint, in CHANNELS order
CHANNEL_SHARES: dict[str, tuple[float, ...]] = {
    "onboarding": (0.55, 0.25, 0.1, 0.05, 0.05),
    "checkout": (0.6, 0.0, 0.05, 0.05, 0.3),
    "delivery": (0.4, 0.4, 0.1, 0.1, 0.0),
    "support": (0.15, 0.3, 0.25, 0.3, 0.0),
    "billing": (0.35, 0.4, 0.15, 0.1, 0.0),
    "returns": (0.35, 0.2, 0.1, 0.1, 0.25),
}
RATING_SHARES: tuple[float, ...] = (0.08, 0.14, 0.28, 0.32, 0.18)
LONG_WAIT_RATING_SHARES: tuple[float, ...] = (0.45, 0.3, 0.15, 0.07, 0.03)

WEB_SECTIONS: tuple[str, ...] = ("browse", "checkout", "delivery", "support", "billing", "returns")
WEB_SECTION_SHARES: tuple[float, ...] = (0.5, 0.2, 0.12, 0.08, 0.05, 0.05)
WEB_LANDING_PAGES: dict[str, tuple[str, ...]] = {
    "browse": ("/", "/products", "/products/espresso-machine", "/sale"),
    "checkout": ("/cart", "/checkout"),
    "delivery": ("/orders", "/orders/track"),
    "support": ("/help", "/help/contact"),
    "billing": ("/account/billing", "/account/invoices"),
    "returns": ("/returns", "/returns/new"),
}
DEVICES: tuple[str, ...] = ("desktop", "mobile", "tablet")

# Verbatims: English negatives name the touchpoint; a few carry commas, quotes, newlines.
NEGATIVE_BY_TOUCHPOINT: dict[str, tuple[str, ...]] = {
    "onboarding": (
        "Setting up my account took three calls, and nobody could explain why.",
        "The welcome email never came.\nI had to find the login page myself.",
    ),
    "checkout": (
        'Checkout kept saying "payment failed" but charged my card anyway.',
        "Too many steps to pay, and the promo code didn't work.",
    ),
    "delivery": (
        "Package arrived five days late, box crushed, no apology.",
        'Tracking said "delivered" for two days.\nIt was not delivered.',
        "Late again. Third late delivery this year, I'm done.",
    ),
    "support": (
        "Waited 40 minutes on hold, then the call dropped.",
        "The agent didn't know the product, kept reading a script.",
    ),
    "billing": (
        "I was billed twice and the refund took weeks.",
        'My invoice says "paid", the app says "overdue". Which is it?',
    ),
    "returns": (
        "The return label didn't print, and the store refused the return.",
        "Refund still not processed after a month.",
    ),
}
COMMENTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("en", "detractor"): (
        "Very disappointed, would not recommend.",
        "Terrible experience. Long waits, nobody called back.",
        'They said "we\'ll fix it", nothing happened.',
    ),
    ("en", "passive"): (
        "It was okay, nothing special.",
        "Fine overall, though it took longer than expected.",
        "Decent, but the app could be easier to use.",
    ),
    ("en", "promoter"): (
        "Great service, fast and friendly!",
        "Love it. The staff really knew what they were doing.",
        "Quick, easy, and the agent was lovely.\nThanks, Sam!",
        'Best "no-hassle" experience I\'ve had with any store.',
    ),
    ("pt", "detractor"): (
        "Péssimo atendimento, a entrega atrasou uma semana.",
        "Fiquei esperando, ninguém resolveu o problema.",
    ),
    ("pt", "passive"): ("Foi razoável, mas poderia ser mais rápido.",),
    ("pt", "promoter"): ("Ótimo atendimento, muito rápido!", "Gostei muito, recomendo."),
    # Chinese punctuation is full-width in real verbatims.
    ("zh", "detractor"): ("送货太慢了，客服也不回复。", "等了很久，问题还是没有解决。"),
    ("zh", "passive"): ("还可以，但是等待时间有点长。",),
    ("zh", "promoter"): ("服务很好，速度很快！", "非常满意，会推荐给朋友。"),
}
COMMENT_SHARE: dict[str, float] = {"detractor": 0.75, "passive": 0.4, "promoter": 0.5}

BASE62 = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
HEX = np.array(list("0123456789abcdef"))


@dataclass(frozen=True)
class DemoTruths:
    """What a correct mart recovers from the demo files (see each field's comment).

    Survey truths count only rows the mart can see: the `bad_nps_rows` responses carry an
    NPS outside 0..10, so the `scales` declaration quarantines those whole rows, and they
    are left out of every survey truth (NPS, CSAT, response rate, recent persons).
    "Valid NPS answers" = finished responses (Finished = 1) with an NPS in 0..10; unfinished
    responses carry no scores at all.
    """

    seed: int
    scale: float
    end_date: str  # ISO date; also the date in every file name
    as_of: str  # end_date 00:00:00 UTC: every event happened strictly before it
    # identity
    persons: int  # distinct people in the world (every one has at least one CRM record)
    crm_records: int  # rows of the CRM customer file
    duplicate_crm_records: int  # crm_records - persons: second accounts of the same person
    duplicates_by_email: int  # duplicates sharing the (normalized) email of the first account
    duplicates_by_phone: int  # duplicates with another email but the same normalized phone
    # duplicates sharing no identifier, only the postcode and a mistyped name (fuzzy rule)
    duplicates_by_name_and_postcode: int
    # (first account, mistyped older account) customer_refs of those duplicates
    fuzzy_duplicate_pairs: tuple[tuple[str, str], ...]
    # customer_refs of the first accounts of two different persons sharing a postcode and
    # alike names (LOOK_ALIKES): the pairs identity resolution must keep apart
    look_alike_pairs: tuple[tuple[str, str], ...]
    person_of_customer_ref: Mapping[str, str]  # every CRM customer_ref -> person id (P000001)
    # files
    feed_files: Mapping[str, str]  # feed -> file path relative to the landing folder
    feed_rows: Mapping[str, int]  # feed -> data rows written (header excluded)
    quarantine_rows: Mapping[str, int]  # feed -> rows ingestion must quarantine
    bad_nps_rows: int  # responses with NPS 11 or -1 (quarantined by scales.nps_score)
    bad_ticket_rows: int  # tickets whose "Created at" cannot be parsed
    # ticket histories (demo_ticket_events): chat and phone tickets, the bad one excepted;
    # first reply, last solve, reopens and replies agree with the summary export
    ticket_histories: int  # tickets with an event history
    agent_created_tickets: int  # ... opened by an agent with a public comment (phone follow-up)
    noted_tickets: int  # ... with an internal note before the first public reply
    driver_rating_rows: int  # non-empty driver cells of loadable responses (long rows)
    # survey headline
    invitations: int
    responses: int  # loadable responses, finished or not
    finished_responses: int  # loadable responses with Finished = 1
    response_rate: float  # finished_responses / invitations
    nps: float  # 100 * (promoters - detractors) / valid NPS answers
    nps_answers: int
    csat_pct: float  # 100 * answers of 4-5 / CSAT answers (finished responses, 1..5)
    csat_answers: int
    nps_by_touchpoint: Mapping[str, Mapping[str, float]]  # n, promoters, detractors, nps
    lowest_nps_touchpoint: str
    # drivers
    driver_weights: Mapping[str, float]  # planted effect of one rating point on the score
    driver_order: tuple[str, ...]  # attributes by planted weight, strongest first
    driver_correlations: Mapping[str, float]  # Pearson r(rating, NPS) over valid answers
    # long waits: a valid NPS answer "follows a long wait" when the same person had a call
    # with wait > long_wait_seconds that started in [submitted_at - 7 days, submitted_at]
    long_wait_seconds: int
    long_wait_answers: int
    long_wait_detractor_rate: float
    other_answers: int
    other_detractor_rate: float
    # closed loop: distinct persons with a trigger submitted in [as_of - 30 days, as_of)
    recent_window_days: int
    recent_detractor_persons: int  # >= 1 detractor answer (NPS 0-6)
    recent_low_csat_persons: int  # >= 1 CSAT answer <= 2
    recent_detractor_persons_consenting: int  # ... of which contact consent = Yes
    recent_low_csat_persons_consenting: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class _World:
    """Time frame and random streams shared by every feed of one generation."""

    seed: int
    as_of: int  # epoch seconds

    def rng(self, stream: str) -> np.random.Generator:
        # One stream per component: changing how one feed is drawn leaves the others intact.
        return np.random.default_rng([self.seed, zlib.crc32(stream.encode())])


@dataclass
class _Persons:
    count: int
    language: np.ndarray
    first: np.ndarray
    last: np.ndarray
    email: np.ndarray  # normalized (lower-case, trimmed)
    phone: np.ndarray  # 10 digits
    city: np.ndarray
    segment: np.ndarray
    consent: np.ndarray
    signed_up: np.ndarray
    churned_at: np.ndarray  # -1 when not churned
    look_alike_of: np.ndarray  # person -> the other person of its look-alike pair, or -1

    @property
    def active_until(self) -> np.ndarray:
        return np.where(self.churned_at >= 0, self.churned_at, np.iinfo(np.int64).max)


@dataclass
class _Records:
    """CRM customer records: one per person plus the planted duplicates."""

    person: np.ndarray
    ref: np.ndarray
    email_noise: np.ndarray  # code for _noisy_email: how the CRM export spells the address
    email_normalized: np.ndarray
    phone: np.ndarray  # 10 digits or ''
    name_variant: np.ndarray  # NAME_* code: how the CRM export spells the person's name
    is_duplicate: np.ndarray
    is_fuzzy_duplicate: np.ndarray  # a duplicate sharing no email or phone (subset)
    primary_of_person: np.ndarray  # person -> record index
    duplicate_of_person: np.ndarray  # person -> email/phone duplicate's record index or -1
    fuzzy_duplicate_of_person: np.ndarray  # person -> fuzzy duplicate's record index or -1


@dataclass
class _Events:
    person: np.ndarray
    record: np.ndarray
    at: np.ndarray


def generate_demo_world(
    landing: Path, *, scale: float = 1.0, seed: int = 42, end_date: date | None = None
) -> DemoTruths:
    """Write every demo feed's export under `landing/<feed>/` and return the planted truths."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    end = end_date or datetime.now(UTC).date()
    world = _World(
        seed=seed, as_of=int(datetime(end.year, end.month, end.day, tzinfo=UTC).timestamp())
    )
    persons = _persons(world, max(50, round(PERSONS_PER_SCALE * scale)))
    records = _records(world, persons)
    orders = _orders_on_fuzzy_duplicates(
        world, _events(world, "orders", persons, records, per_person=5.2, days=730), records
    )
    calls = _events(world, "calls", persons, records, per_person=1.5, days=365)
    tickets = _events(world, "tickets", persons, records, per_person=1.15, days=365)
    ticket_columns = _ticket_columns(world, tickets)
    histories = _ticket_histories(world, ticket_columns)
    ticket_columns["first_solved_at"] = _first_solves(world, ticket_columns, histories)
    sessions = _events(world, "web_sessions", persons, records, per_person=4.6, days=365)
    call_columns = _call_columns(world, calls)
    invitations = _invitations(world, persons, records, calls, call_columns)
    responses = _responses(world, persons, invitations, calls, call_columns)

    paths = {feed: _feed_path(landing, feed, end) for feed in FEEDS}
    con = duckdb.connect()
    try:
        con.execute("set preserve_insertion_order = true")
        _register(con, "rec", _record_columns(persons, records))
        counts = {
            "demo_crm_customers": len(records.ref),
            "demo_crm_orders": _write_orders(con, world, orders, paths["demo_crm_orders"]),
            "demo_calls": _write_calls(con, world, calls, call_columns, paths["demo_calls"]),
            "demo_support_tickets": _write_tickets(
                con, world, ticket_columns, paths["demo_support_tickets"]
            ),
            "demo_ticket_events": _write_ticket_events(
                con, world, histories, ticket_columns, paths["demo_ticket_events"]
            ),
            "demo_web_sessions": _write_sessions(con, world, sessions, paths["demo_web_sessions"]),
            "demo_survey_invitations": _write_invitations(
                con, invitations, paths["demo_survey_invitations"]
            ),
            "demo_survey_responses": _write_responses(
                con, responses, paths["demo_survey_responses"]
            ),
        }
        _write_customers(con, world, persons, records, paths["demo_crm_customers"])
    finally:
        con.close()
    return _truths(
        world,
        end,
        scale,
        persons,
        records,
        invitations,
        responses,
        calls,
        call_columns,
        histories,
        counts,
        {feed: path.relative_to(landing) for feed, path in paths.items()},
    )


# --------------------------------------------------------------------------- people


def _persons(world: _World, count: int) -> _Persons:
    rng = world.rng("persons")
    language = rng.choice(len(LANGUAGES), size=count, p=LANGUAGE_SHARES)
    first = np.empty(count, dtype=object)
    last = np.empty(count, dtype=object)
    first_ascii = np.empty(count, dtype=object)
    last_ascii = np.empty(count, dtype=object)
    for code, lang in enumerate(LANGUAGES):
        members = np.flatnonzero(language == code)
        for names, display, ascii_ in (
            (FIRST_NAMES[lang], first, first_ascii),
            (LAST_NAMES[lang], last, last_ascii),
        ):
            picks = rng.integers(0, len(names), size=members.size)
            display[members] = np.array([name for name, _ in names], dtype=object)[picks]
            ascii_[members] = np.array([text for _, text in names], dtype=object)[picks]
    style = rng.integers(0, 3, size=count)
    domain = np.array(EMAIL_DOMAINS)[rng.integers(0, len(EMAIL_DOMAINS), size=count)]
    city = rng.choice(len(CITIES), size=count, p=[city_row[5] for city_row in CITIES])
    look_alike_of = _plant_look_alikes(
        world, language, (first, last, first_ascii, last_ascii), city
    )
    # The person number inside every address keeps emails unique across persons.
    number = np.char.mod("%d", np.arange(1, count + 1))
    first_ascii = first_ascii.astype(str)
    last_ascii = last_ascii.astype(str)
    local = np.where(
        style == 0,
        _concat(first_ascii, ".", last_ascii, number),
        np.where(
            style == 1,
            _concat(np.char.ljust(first_ascii, 1).astype("U1"), last_ascii, number),
            _concat(first_ascii, last_ascii, ".", number),
        ),
    )
    # Unique 7-digit local numbers across everyone: no two persons share a phone.
    local_number = 2_000_000 + rng.choice(8_000_000, size=count, replace=False)
    area = _pick_from([city_row[4] for city_row in CITIES], city, rng.integers(0, 6, size=count))
    signed_up = world.as_of - rng.integers(14 * DAY, 6 * 365 * DAY, size=count)
    churned = rng.random(count) < 0.12
    churn_at = world.as_of - rng.integers(DAY, 365 * DAY, size=count)
    churned_at = np.where(churned & (churn_at > signed_up + 30 * DAY), churn_at, -1)
    return _Persons(
        count=count,
        language=language,
        first=first.astype(str),
        last=last.astype(str),
        email=_concat(local, "@", domain),
        phone=_concat(area, np.char.mod("%07d", local_number)),
        city=city,
        segment=rng.choice(len(SEGMENTS), size=count, p=SEGMENT_SHARES),
        consent=rng.random(count) >= 0.10,
        signed_up=signed_up,
        churned_at=churned_at,
        look_alike_of=look_alike_of,
    )


def _plant_look_alikes(
    world: _World, language: np.ndarray, names: tuple[np.ndarray, ...], city: np.ndarray
) -> np.ndarray:
    """Pairs of persons get the names of a LOOK_ALIKES pair and one city (in place); their
    first accounts will share a postcode. Returns person -> other person of the pair or -1."""
    rng = world.rng("look_alikes")
    look_alike_of = np.full(language.size, -1)
    for code, lang in enumerate(LANGUAGES):
        members = np.flatnonzero(language == code)
        pairs = min(max(1, round(LOOK_ALIKE_SHARE * members.size / 2)), members.size // 2)
        chosen = rng.choice(members, size=(pairs, 2), replace=False)
        # template -> (person of the pair, first/last, display/ascii)
        templates = np.array(
            [[pair[:2], pair[2:]] for pair in (_name_pairs(text) for text in LOOK_ALIKES[lang])],
            dtype=object,
        )
        picked = templates[np.arange(pairs) % len(templates)]
        for side in (0, 1):
            for part, array in enumerate(names):
                array[chosen[:, side]] = picked[:, side, part % 2, part // 2]
        city[chosen[:, 1]] = city[chosen[:, 0]]
        look_alike_of[chosen[:, 0]] = chosen[:, 1]
        look_alike_of[chosen[:, 1]] = chosen[:, 0]
    return look_alike_of


def _records(world: _World, persons: _Persons) -> _Records:
    """One CRM record per person, ~3 % second accounts sharing an email or a phone, and
    ~1.5 % older accounts sharing only the postcode and a mistyped name."""
    rng = world.rng("records")
    duplicated = np.flatnonzero(rng.random(persons.count) < 0.03)
    by_phone = rng.random(duplicated.size) < 0.5
    person = np.concatenate([np.arange(persons.count), duplicated])
    is_duplicate = np.arange(person.size) >= persons.count
    email_normalized = persons.email[person].copy()
    phone = persons.phone[person].copy()
    duplicate_rows = np.arange(persons.count, person.size)
    # A phone duplicate was opened with a work address: another email, the same phone.
    phone_rows = duplicate_rows[by_phone]
    email_normalized[phone_rows] = _concat(
        np.char.replace(np.char.partition(persons.email[person[phone_rows]], "@")[:, 0], ".", "_"),
        "@work.example.com",
    )
    # An email duplicate often lacks the phone (web sign-up without it).
    email_rows = duplicate_rows[~by_phone]
    phone[email_rows[rng.random(email_rows.size) < 0.5]] = ""
    # Most CRM addresses are stored clean; a duplicate by email is the same address typed
    # differently (case, spaces): exactly the trap normalization must handle.
    email_noise = np.where(rng.random(person.size) < 0.05, rng.integers(1, 6, size=person.size), 0)
    email_noise[email_rows] = rng.integers(1, 6, size=email_rows.size)
    ref_numbers = 1_000_000 + rng.choice(9_000_000, size=person.size, replace=False)
    duplicate_of_person = np.full(persons.count, -1)
    duplicate_of_person[duplicated] = duplicate_rows
    fuzzy = _fuzzy_duplicates(world, persons, duplicated, ref_numbers)
    fuzzy_rows = person.size + np.arange(fuzzy["person"].size)
    fuzzy_duplicate_of_person = np.full(persons.count, -1)
    fuzzy_duplicate_of_person[fuzzy["person"]] = fuzzy_rows
    return _Records(
        person=np.concatenate([person, fuzzy["person"]]),
        ref=_concat("CUS-", np.char.mod("%07d", np.concatenate([ref_numbers, fuzzy["ref"]]))),
        email_noise=np.concatenate([email_noise, np.zeros(fuzzy_rows.size, dtype=np.int64)]),
        email_normalized=np.concatenate([email_normalized, fuzzy["email"]]),
        phone=np.concatenate([phone, np.full(fuzzy_rows.size, "")]),
        name_variant=np.concatenate([np.full(person.size, NAME_AS_TYPED), fuzzy["name_variant"]]),
        is_duplicate=np.concatenate([is_duplicate, np.ones(fuzzy_rows.size, dtype=bool)]),
        is_fuzzy_duplicate=np.arange(person.size + fuzzy_rows.size) >= person.size,
        primary_of_person=np.arange(persons.count),
        duplicate_of_person=duplicate_of_person,
        fuzzy_duplicate_of_person=fuzzy_duplicate_of_person,
    )


def _fuzzy_duplicates(
    world: _World, persons: _Persons, duplicated: np.ndarray, taken_refs: np.ndarray
) -> dict[str, np.ndarray]:
    """Older in-store accounts under a mistyped name: no phone, half without an email, the
    other half with an old address of their own. Only the fuzzy rule can link them."""
    rng = world.rng("fuzzy_duplicates")
    eligible = np.ones(persons.count, dtype=bool)
    eligible[duplicated] = False
    eligible[persons.look_alike_of >= 0] = False
    person = np.flatnonzero(eligible & (rng.random(persons.count) < FUZZY_DUPLICATE_SHARE))
    n = person.size
    # new account numbers, none already taken
    drawn = 1_000_000 + rng.choice(9_000_000, size=2 * n + 16, replace=False)
    refs = drawn[~np.isin(drawn, taken_refs)][:n]
    first, last = persons.first[person], persons.last[person]
    # the typo must leave the name recognisable: letters are swapped only in a family name
    # of 4+ letters whose last two differ, a letter doubled only in a given name of 3+
    swappable = np.array(
        [len(name) >= 4 and name[-1] != name[-2] for name in last.tolist()], dtype=bool
    )
    variant = rng.choice(
        np.array([NAME_UPPER_CASE, NAME_LETTERS_SWAPPED, NAME_LETTER_DOUBLED]), size=n
    )
    variant = np.where((variant == NAME_LETTERS_SWAPPED) & ~swappable, NAME_LETTER_DOUBLED, variant)
    variant = np.where(
        (variant == NAME_LETTER_DOUBLED) & (np.char.str_len(first) < 3), NAME_UPPER_CASE, variant
    )
    accented = np.array(
        [not (a + b).isascii() for a, b in zip(first, last, strict=True)], dtype=bool
    )
    variant = np.where(accented, NAME_WITHOUT_ACCENTS, variant)
    if n == 0:  # a world too small to have any
        return {
            "person": person,
            "ref": refs,
            "email": np.array([], dtype=str),
            "name_variant": variant,
        }
    old_email = _concat(np.char.partition(persons.email[person], "@")[:, 0], "@legacy.example.org")
    return {
        "person": person,
        "ref": refs,
        "email": np.where(rng.random(n) < 0.5, "", old_email),
        "name_variant": variant,
    }


def _orders_on_fuzzy_duplicates(world: _World, orders: _Events, records: _Records) -> _Events:
    """A person with an older mistyped account placed some orders on it."""
    rng = world.rng("fuzzy_duplicate_orders")
    fuzzy = records.fuzzy_duplicate_of_person[orders.person]
    on_fuzzy = (fuzzy >= 0) & (rng.random(orders.person.size) < 0.4)
    return _Events(
        person=orders.person, record=np.where(on_fuzzy, fuzzy, orders.record), at=orders.at
    )


def _events(
    world: _World, stream: str, persons: _Persons, records: _Records, per_person: float, days: int
) -> _Events:
    """Poisson-many events per person, uniform over the part of the window they were a customer."""
    rng = world.rng(stream)
    window_start = world.as_of - days * DAY
    start = np.maximum(persons.signed_up, window_start)
    end = np.minimum(persons.active_until, world.as_of)
    active = np.clip(end - start, 0, None)
    counts = rng.poisson(per_person * active / (days * DAY))
    person = np.repeat(np.arange(persons.count), counts)
    at = start[person] + (rng.random(person.size) * active[person]).astype(np.int64)
    order = np.argsort(at, kind="stable")
    person, at = person[order], at[order]
    return _Events(person=person, record=_pick_record(rng, records, person), at=at)


def _pick_record(rng: np.random.Generator, records: _Records, person: np.ndarray) -> np.ndarray:
    """The CRM account an interaction used: a duplicate's second account 30 % of the time."""
    duplicate = records.duplicate_of_person[person]
    use_duplicate = (duplicate >= 0) & (rng.random(person.size) < 0.3)
    return np.where(use_duplicate, duplicate, records.primary_of_person[person])


# --------------------------------------------------------------------------- calls and surveys


def _call_columns(world: _World, calls: _Events) -> dict[str, np.ndarray]:
    rng = world.rng("call_columns")
    n = calls.at.size
    touchpoint = rng.choice(len(TOUCHPOINTS), size=n, p=CALL_REASON_SHARES)
    wait = np.rint(np.exp(rng.normal(np.log(120), 1.1, size=n))).astype(np.int64)
    abandoned = rng.random(n) < 0.02 + 0.45 * np.minimum(wait / 900, 1.0)
    talk = np.where(abandoned, 0, np.rint(np.exp(rng.normal(np.log(300), 0.6, size=n))))
    hold = np.where(abandoned | (rng.random(n) < 0.6), 0, rng.exponential(60, size=n).round())
    wrap = np.where(abandoned, 0, rng.integers(20, 180, size=n))
    agents = max(10, calls.at.size // 400)
    return {
        "touchpoint": touchpoint,
        "wait": wait,
        "talk": talk.astype(np.int64),
        "hold": hold.astype(np.int64),
        "wrap": wrap.astype(np.int64),
        "abandoned": abandoned,
        "agent": np.where(abandoned, -1, rng.integers(1, agents + 1, size=n)),
        "known": rng.random(n) < 0.4,  # the IVR identified the caller's account
        "phone_format": rng.integers(0, PHONE_FORMATS, size=n),
    }


def _invitations(
    world: _World,
    persons: _Persons,
    records: _Records,
    calls: _Events,
    call_columns: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Random relationship surveys over 180 days plus post-call surveys after 60 % of calls."""
    rng = world.rng("invitations")
    general = _events(world, "invitations_general", persons, records, per_person=5.6, days=180)
    general_touchpoint = rng.choice(len(TOUCHPOINTS), size=general.at.size, p=TOUCHPOINT_SHARES)
    general_channel = np.empty(general.at.size, dtype=np.int64)
    for code, touchpoint_name in enumerate(TOUCHPOINTS):
        members = np.flatnonzero(general_touchpoint == code)
        general_channel[members] = rng.choice(
            len(CHANNELS), size=members.size, p=CHANNEL_SHARES[touchpoint_name]
        )
    sent_after_call = calls.at + rng.integers(HOUR, 30 * HOUR, size=calls.at.size)
    surveyed = (
        (rng.random(calls.at.size) < 0.6)
        & (calls.at >= world.as_of - 180 * DAY)
        & (sent_after_call < world.as_of)
    )
    person = np.concatenate([general.person, calls.person[surveyed]])
    record = np.concatenate([general.record, calls.record[surveyed]])
    sent = np.concatenate([general.at, sent_after_call[surveyed]])
    touchpoint = np.concatenate([general_touchpoint, call_columns["touchpoint"][surveyed]])
    channel = np.concatenate(
        [general_channel, np.full(int(surveyed.sum()), CHANNELS.index("phone"))]
    )
    order = np.argsort(sent, kind="stable")
    n = sent.size
    return {
        "person": person[order],
        "record": record[order],
        "sent": sent[order],
        "touchpoint": touchpoint[order],
        "channel": channel[order],
        "by_sms": rng.random(n) < 0.15,
        "has_reference": rng.random(n) < 0.8,
        "email_noise": rng.choice(len(EMAIL_NOISE_SHARES), size=n, p=EMAIL_NOISE_SHARES),
        "phone_format": rng.integers(0, PHONE_FORMATS, size=n),
        "id": _coded_ids("EMD_", n, world.seed * 7 + 1, BASE62, 15, rng),
    }


def _responses(
    world: _World,
    persons: _Persons,
    invitations: dict[str, np.ndarray],
    calls: _Events,
    call_columns: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    rng = world.rng("responses")
    n_invitations = invitations["sent"].size
    answered = rng.random(n_invitations) < 0.38
    started = invitations["sent"] + np.rint(rng.exponential(10 * HOUR, size=n_invitations)).astype(
        np.int64
    )
    finished = rng.random(n_invitations) < 0.92
    duration = np.where(
        finished,
        rng.integers(60, 900, size=n_invitations),
        rng.integers(6 * HOUR, 7 * DAY, size=n_invitations),  # partials are recorded on expiry
    )
    submitted = started + duration
    keep = np.flatnonzero(answered & (submitted < world.as_of))
    invitation = keep
    started, submitted, finished, duration = (
        started[keep],
        submitted[keep],
        finished[keep],
        duration[keep],
    )
    band_start = world.as_of - RECENT_BAND_DAYS[0] * DAY
    band_end = world.as_of - RECENT_BAND_DAYS[1] * DAY
    shift = np.where((submitted >= band_start) & (submitted < band_end), band_end - band_start, 0)
    started, submitted = started + shift, submitted + shift
    order = np.argsort(submitted, kind="stable")
    invitation, started, submitted = invitation[order], started[order], submitted[order]
    finished, duration = finished[order], duration[order]
    n = invitation.size
    person = invitations["person"][invitation]
    touchpoint = invitations["touchpoint"][invitation]

    long_wait = _follows_long_wait(person, submitted, calls, call_columns["wait"])
    ratings = rng.choice(np.arange(1, 6), size=(n, len(DRIVER_WEIGHTS)), p=RATING_SHARES)
    ratings[long_wait, 0] = rng.choice(
        np.arange(1, 6), size=int(long_wait.sum()), p=LONG_WAIT_RATING_SHARES
    )
    weights = np.array(list(DRIVER_WEIGHTS.values()))
    latent = (
        np.array([TOUCHPOINT_BASE[t] for t in TOUCHPOINTS])[touchpoint]
        + ((ratings - 3) * weights).sum(axis=1)
        - LONG_WAIT_PENALTY * long_wait
        + rng.normal(0, 1.2, size=n)
    )
    missing = -9999
    nps = np.clip(np.rint(latent), 0, 10).astype(np.int64)
    csat = np.clip(np.rint(1 + 0.45 * latent + rng.normal(0, 0.6, size=n)), 1, 5).astype(np.int64)
    ces = np.clip(np.rint(4.5 + 0.9 * (ratings[:, 3] - 3) + rng.normal(0, 1, size=n)), 1, 7).astype(
        np.int64
    )
    ratings = np.where(rng.random(ratings.shape) < 0.05, missing, ratings)
    nps, csat, ces = (np.where(finished, score, missing) for score in (nps, csat, ces))
    ratings[~finished] = missing
    bad = np.zeros(n, dtype=bool)
    finished_rows = np.flatnonzero(finished)
    if finished_rows.size >= len(BAD_NPS_VALUES):
        bad_rows = np.sort(rng.choice(finished_rows, size=len(BAD_NPS_VALUES), replace=False))
        nps[bad_rows] = BAD_NPS_VALUES
        bad[bad_rows] = True
    language = persons.language[person]
    comment = _comments(rng, nps, touchpoint, language, finished & ~bad)
    return {
        "invitation": invitation,
        "invite_id": invitations["id"][invitation],
        "person": person,
        "record": invitations["record"][invitation],
        "touchpoint": touchpoint,
        "channel": invitations["channel"][invitation],
        "by_sms": invitations["by_sms"][invitation],
        "started": started,
        "submitted": submitted,
        "duration": duration,
        "finished": finished,
        "progress": np.where(finished, 100, rng.integers(5, 90, size=n)),
        "nps": nps,
        "csat": csat,
        "ces": ces,
        "ratings": ratings,
        "comment": comment,
        "language": language,
        "has_reference": rng.random(n) < 0.7,
        "email_noise": rng.choice(len(EMAIL_NOISE_SHARES), size=n, p=EMAIL_NOISE_SHARES),
        "phone_format": rng.integers(0, PHONE_FORMATS, size=n),
        "bad": bad,
        "long_wait": long_wait,
        "id": _coded_ids("R_", n, world.seed * 7 + 2, BASE62, 15, rng),
    }


def _follows_long_wait(
    person: np.ndarray, submitted: np.ndarray, calls: _Events, wait: np.ndarray
) -> np.ndarray:
    """Per response: did the same person wait > 300 s on a call in the 7 days before it?"""
    long_calls = wait > LONG_WAIT_SECONDS
    # Sort (person, time) into one key so one searchsorted finds each response's latest long call.
    stride = np.int64(1) << np.int64(34)
    call_keys = np.sort(calls.person[long_calls].astype(np.int64) * stride + calls.at[long_calls])
    response_keys = person.astype(np.int64) * stride + submitted
    position = np.searchsorted(call_keys, response_keys, side="right") - 1
    found = position >= 0
    latest = (
        call_keys[np.clip(position, 0, None)] if call_keys.size else np.zeros_like(response_keys)
    )
    same_person = found & (latest // stride == person)
    return same_person & (submitted - latest % stride <= LONG_WAIT_LOOKBACK_DAYS * DAY)


def _comments(
    rng: np.random.Generator,
    nps: np.ndarray,
    touchpoint: np.ndarray,
    language: np.ndarray,
    answered: np.ndarray,
) -> np.ndarray:
    group = np.where(nps <= 6, 0, np.where(nps <= 8, 1, 2))
    comment = np.full(nps.size, "", dtype=object)
    for group_code, group_name in enumerate(("detractor", "passive", "promoter")):
        writes = (
            answered & (group == group_code) & (rng.random(nps.size) < COMMENT_SHARE[group_name])
        )
        for lang_code, lang in enumerate(LANGUAGES):
            members = np.flatnonzero(writes & (language == lang_code))
            pool = np.array(COMMENTS[(lang, group_name)], dtype=object)
            comment[members] = pool[rng.integers(0, pool.size, size=members.size)]
            if lang == "en" and group_name == "detractor":
                # Most English detractors say what went wrong at that touchpoint.
                specific = members[rng.random(members.size) < 0.7]
                for tp_code, tp in enumerate(TOUCHPOINTS):
                    rows = specific[touchpoint[specific] == tp_code]
                    pool = np.array(NEGATIVE_BY_TOUCHPOINT[tp], dtype=object)
                    comment[rows] = pool[rng.integers(0, pool.size, size=rows.size)]
    return comment.astype(str)


# --------------------------------------------------------------------------- writers


def _feed_path(landing: Path, feed: str, end: date) -> Path:
    folder = landing / feed
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{feed}_{end.isoformat()}.{FEEDS[feed]}"


def _register(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, np.ndarray]) -> None:
    # numpy fixed-width text would arrive as an ENUM; plain Python strings arrive as VARCHAR.
    con.register(
        name,
        {
            key: array.astype(object) if array.dtype.kind == "U" else array
            for key, array in columns.items()
        },
    )


def _copy(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    source: str,
    select: Sequence[tuple[str, str]],
    order_by: str = "row_id",
    json_lines: bool = False,
) -> None:
    columns = ",\n    ".join(
        f"{expression} as {_identifier(header)}" for header, expression in select
    )
    options = "format json" if json_lines else "format csv, header true, delimiter ',', quote '\"'"
    target = path.as_posix().replace("'", "''")
    con.execute(
        f"copy (select {columns} from {source} order by {order_by}) to '{target}' ({options})"
    )


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _timestamp(column: str, fmt: str = ISO_SECONDS) -> str:
    return f"case when {column} >= 0 then strftime(make_timestamp({column} * 1000000), '{fmt}') end"


def _phone(digits: str, fmt: str) -> str:
    """SQL rendering a 10-digit phone in one of PHONE_FORMATS styles, NULL when empty."""
    area, exchange, line = f"{digits}[1:3]", f"{digits}[4:6]", f"{digits}[7:10]"
    return (
        f"case when coalesce({digits}, '') = '' then null "
        f"when {fmt} = 0 then '+1 (' || {area} || ') ' || {exchange} || '-' || {line} "
        f"when {fmt} = 1 then {area} || '.' || {exchange} || '.' || {line} "
        f"when {fmt} = 2 then '001' || {digits} "
        f"when {fmt} = 3 then {digits} "
        f"when {fmt} = 4 then '(' || {area} || ') ' || {exchange} || '-' || {line} "
        f"when {fmt} = 5 then '+1' || {digits} "
        f"else '1-' || {area} || '-' || {exchange} || '-' || {line} end"
    )


def _noisy_email(email: str, noise: str) -> str:
    """SQL adding the case and whitespace noise real exports carry; noise 0 = as typed."""
    return (
        f"case {noise} when 0 then {email} "
        f"when 1 then upper({email}[1]) || {email}[2:] "
        f"when 2 then upper({email}) "
        f"when 3 then ' ' || {email} "
        f"when 4 then {email} || '  ' "
        f"else ' ' || upper({email}[1]) || {email}[2:] || ' ' end"
    )


def _typed_name(column: str, variant: str) -> str:
    """SQL spelling a name the way an account's NAME_* variant has it: upper case, accents
    stripped, the last two letters of a family name swapped, or the second-last letter of
    a given name doubled."""
    swapped = (
        f"left({column}, length({column}) - 2) || right({column}, 1) "
        f"|| substr({column}, length({column}) - 1, 1)"
    )
    doubled = f"left({column}, length({column}) - 1) || substr({column}, length({column}) - 1)"
    typo = (
        (NAME_LETTERS_SWAPPED, swapped) if column == "last_name" else (NAME_LETTER_DOUBLED, doubled)
    )
    return (
        f"case {variant} when {NAME_UPPER_CASE} then upper({column}) "
        f"when {NAME_WITHOUT_ACCENTS} then strip_accents({column}) "
        f"when {typo[0]} then {typo[1]} else {column} end"
    )


def _record_columns(persons: _Persons, records: _Records) -> dict[str, np.ndarray]:
    person = records.person
    return {
        "record_id": np.arange(person.size),
        "customer_ref": records.ref,
        "first_name": persons.first[person],
        "last_name": persons.last[person],
        "email_clean": records.email_normalized,
        "crm_email_noise": records.email_noise,
        "phone": records.phone,
        "person_phone": persons.phone[person],
        "currency": np.where(
            np.array([city_row[2] == "Canada" for city_row in CITIES])[persons.city[person]],
            "CAD",
            "USD",
        ),
    }


def _write_customers(
    con: duckdb.DuckDBPyConnection, world: _World, persons: _Persons, records: _Records, path: Path
) -> None:
    rng = world.rng("customer_columns")
    person = records.person
    city = persons.city[person]
    n = person.size
    us = np.array([CITIES[c][2] == "United States" for c in range(len(CITIES))])[city]
    postcode = np.where(
        us,
        _concat(
            np.array([c[3] for c in CITIES])[city],
            np.char.mod("%02d", rng.integers(0, 100, size=n)),
        ),
        _concat(
            np.array([c[3] for c in CITIES])[city],
            " ",
            np.char.mod("%d", rng.integers(1, 10, size=n)),
            np.array(list("ABCEGHJKLMNPRSTVXY"))[rng.integers(0, 18, size=n)],
            np.char.mod("%d", rng.integers(1, 10, size=n)),
        ),
    )
    # A mistyped duplicate is at its person's address; the second person of a look-alike
    # pair lives at the first one's.
    look_alike = persons.look_alike_of[person]
    moves_in = ~records.is_duplicate & (look_alike >= 0) & (look_alike < person)
    same_address = np.where(
        records.is_fuzzy_duplicate | moves_in,
        records.primary_of_person[np.where(moves_in, look_alike, person)],
        np.arange(n),
    )
    postcode = postcode[same_address]
    # A second account was opened later than the first one; a mistyped one is older.
    signed_up = np.where(
        records.is_duplicate,
        np.minimum(
            persons.signed_up[person] + rng.integers(30 * DAY, 900 * DAY, size=n), world.as_of - DAY
        ),
        persons.signed_up[person],
    )
    signed_up = np.where(
        records.is_fuzzy_duplicate,
        persons.signed_up[person] - rng.integers(90 * DAY, 3 * 365 * DAY, size=n),
        signed_up,
    )
    _register(
        con,
        "customers",
        {
            "row_id": np.argsort(np.argsort(records.ref, kind="stable"), kind="stable"),
            "record_id": np.arange(n),
            "country": np.array([c[2] for c in CITIES])[city],
            "region": np.array([c[1] for c in CITIES])[city],
            "city": np.array([c[0] for c in CITIES])[city],
            "postcode": postcode,
            "segment": np.array(SEGMENTS)[persons.segment[person]],
            "signed_up": signed_up,
            "consent": persons.consent[person],
            "churned_at": persons.churned_at[person],
            "phone_format": rng.integers(0, PHONE_FORMATS, size=n),
            "name_variant": records.name_variant,
        },
    )
    _copy(
        con,
        path,
        "customers join rec using (record_id)",
        [
            ("Account ID", "customer_ref"),
            ("First Name", _typed_name("first_name", "name_variant")),
            ("Last Name", _typed_name("last_name", "name_variant")),
            ("Email", _noisy_email("email_clean", "crm_email_noise")),
            ("Phone", _phone("phone", "phone_format")),
            ("Mailing Country", "country"),
            ("Mailing State/Province", "region"),
            ("Mailing City", "city"),
            ("Mailing Zip/Postal Code", "postcode"),
            ("Segment", "segment"),
            ("Customer Since", _timestamp("signed_up", CRM_DATE)),
            ("Contact Consent", "case when consent then 'Yes' else 'No' end"),
            ("Churned", "case when churned_at >= 0 then 'Yes' else 'No' end"),
            ("Churn Date", _timestamp("churned_at", CRM_DATE)),
        ],
    )


def _write_orders(
    con: duckdb.DuckDBPyConnection, world: _World, orders: _Events, path: Path
) -> int:
    rng = world.rng("order_columns")
    n = orders.at.size
    cents = np.rint(np.exp(rng.normal(np.log(6_500), 0.7, size=n))).astype(np.int64)
    _register(
        con,
        "orders",
        {
            "row_id": np.arange(n),
            "record_id": orders.record,
            "ordered_at": orders.at,
            "cents": cents,
            "status": rng.choice(
                np.array(["paid", "refunded", "partially_refunded", "pending"]),
                size=n,
                p=(0.92, 0.04, 0.02, 0.02),
            ),
            "source": rng.choice(
                np.array(["web", "pos", "iphone", "android"]), size=n, p=(0.55, 0.2, 0.15, 0.1)
            ),
        },
    )
    _copy(
        con,
        path,
        "orders join rec using (record_id)",
        [
            ("Order ID", "'ORD-' || (10000001 + row_id)::varchar"),
            ("Customer ID", "customer_ref"),
            ("Created at", _timestamp("ordered_at")),
            ("Total", "(cents // 100)::varchar || '.' || lpad((cents % 100)::varchar, 2, '0')"),
            ("Currency", "currency"),
            ("Financial Status", "status"),
            ("Source", "source"),
        ],
    )
    return n


def _write_calls(
    con: duckdb.DuckDBPyConnection,
    world: _World,
    calls: _Events,
    columns: dict[str, np.ndarray],
    path: Path,
) -> int:
    n = calls.at.size
    _register(
        con,
        "calls",
        {
            "row_id": np.arange(n),
            "record_id": calls.record,
            "call_id": _coded_ids("CA", n, world.seed * 7 + 4, HEX, 16, None),
            "started": calls.at,
            "reason": np.array([CALL_REASONS[t] for t in TOUCHPOINTS])[columns["touchpoint"]],
            "queue": np.array([CALL_QUEUES[t] for t in TOUCHPOINTS])[columns["touchpoint"]],
            **{
                key: columns[key]
                for key in (
                    "wait",
                    "talk",
                    "hold",
                    "wrap",
                    "abandoned",
                    "agent",
                    "known",
                    "phone_format",
                )
            },
        },
    )
    _copy(
        con,
        path,
        "calls join rec using (record_id)",
        [
            ("Call ID", "call_id"),
            ("Customer ID", "case when known then customer_ref end"),
            ("ANI", _phone("person_phone", "phone_format")),
            ("Queue", "queue"),
            ("Call Start", _timestamp("started")),
            ("Queue Wait (s)", "wait"),
            ("Talk Time (s)", "talk"),
            ("Hold Time (s)", "hold"),
            ("ACW (s)", "wrap"),
            ("Abandoned", "case when abandoned then 'Y' else 'N' end"),
            ("Agent ID", "case when agent >= 0 then 'AG' || lpad(agent::varchar, 3, '0') end"),
            ("Call Reason", "reason"),
        ],
    )
    return n


def _ticket_columns(world: _World, tickets: _Events) -> dict[str, np.ndarray]:
    """What the help desk knows of each ticket: the summary export's fields, in UTC seconds."""
    rng = world.rng("ticket_columns")
    n = tickets.at.size
    touchpoint = rng.choice(len(TOUCHPOINTS), size=n, p=(0.08, 0.12, 0.32, 0.2, 0.14, 0.14))
    priority = rng.choice(4, size=n, p=(0.2, 0.55, 0.18, 0.07))
    created = tickets.at
    reply_minutes = np.exp(rng.normal(np.log(90), 1.2, size=n)) / np.array([1, 1, 2, 4])[priority]
    first_reply = created + np.rint(reply_minutes * 60).astype(np.int64)
    replied = (rng.random(n) < 0.93) & (first_reply < world.as_of)
    solved_at = first_reply + np.rint(np.exp(rng.normal(np.log(20 * HOUR), 1.0, size=n))).astype(
        np.int64
    )
    solved = replied & (rng.random(n) < 0.88) & (solved_at < world.as_of)
    reopens = np.where(solved, rng.choice(3, size=n, p=(0.9, 0.08, 0.02)), 0)
    status = np.where(
        solved,
        np.where(solved_at < world.as_of - 4 * DAY, "Closed", "Solved"),
        np.where(
            replied,
            np.where(rng.random(n) < 0.6, "Open", "Pending"),
            np.where(created >= world.as_of - 2 * DAY, "New", "Open"),
        ),
    )
    satisfaction = np.where(
        solved,
        rng.choice(
            np.array(["Good", "Bad", "Offered", "Not Offered"]), size=n, p=(0.25, 0.07, 0.33, 0.35)
        ),
        "Not Offered",
    )
    subjects = _pick_from(
        [TICKET_SUBJECTS[t] for t in TOUCHPOINTS], touchpoint, rng.integers(0, 6, size=n)
    )
    bad_created = np.zeros(n, dtype=bool)
    if n:
        bad_created[rng.integers(0, n)] = True
    return {
        "record": tickets.record,
        "touchpoint": touchpoint,
        "priority": priority,
        "created": created,
        "first_reply": first_reply,
        "replied": replied,
        "solved_at": solved_at,
        "solved": solved,
        "reopens": reopens,
        "status": status,
        "satisfaction": satisfaction,
        "subject": subjects,
        "bad_created": bad_created,
        "via": rng.choice(np.array(TICKET_VIA), size=n, p=(0.4, 0.25, 0.2, 0.1, 0.05)),
        "replies": np.where(replied, 1 + rng.poisson(1.2, size=n) + reopens, 0),
        "known": rng.random(n) < 0.5,
        "with_phone": rng.random(n) < 0.2,
        "email_noise": rng.choice(len(EMAIL_NOISE_SHARES), size=n, p=EMAIL_NOISE_SHARES),
        "phone_format": rng.integers(0, PHONE_FORMATS, size=n),
    }


def _write_tickets(
    con: duckdb.DuckDBPyConnection, world: _World, columns: dict[str, np.ndarray], path: Path
) -> int:
    n = columns["created"].size
    created, first_reply, solved_at = (
        columns["created"],
        columns["first_reply"],
        columns["solved_at"],
    )
    replied, solved = columns["replied"], columns["solved"]
    offset = _ticket_offsets(world, created)
    clock = business_clock(
        datetime.fromtimestamp(int(created.min()) if n else world.as_of, UTC).date()
        - timedelta(days=7),
        datetime.fromtimestamp(world.as_of, UTC).date() + timedelta(days=7),
    )
    created_clock = clock.read(created)
    _register(
        con,
        "tickets",
        {
            "row_id": np.arange(n),
            "record_id": columns["record"],
            "created_local": _to_local(created, offset),
            "first_reply_local": np.where(replied, _to_local(first_reply, offset), -1),
            "solved_local": np.where(solved, _to_local(solved_at, offset), -1),
            "updated_local": _to_local(
                np.where(solved, solved_at, np.where(replied, first_reply, created)), offset
            ),
            "first_reply_minutes": np.where(replied, (first_reply - created) // 60, -1),
            "first_reply_business_minutes": np.where(
                replied, (clock.read(first_reply) - created_clock) // 60, -1
            ),
            "first_resolution_minutes": np.where(
                solved, (columns["first_solved_at"] - created) // 60, -1
            ),
            "full_resolution_minutes": np.where(solved, (solved_at - created) // 60, -1),
            "full_resolution_business_minutes": np.where(
                solved, (clock.read(solved_at) - created_clock) // 60, -1
            ),
            "bad_created": columns["bad_created"],
            "status": columns["status"],
            "priority": np.array(["Low", "Normal", "High", "Urgent"])[columns["priority"]],
            "via": columns["via"],
            "grp": np.array([TICKET_GROUPS[t] for t in TOUCHPOINTS])[columns["touchpoint"]],
            "touchpoint": np.char.add("tp_", np.array(TOUCHPOINTS)[columns["touchpoint"]]),
            **{
                key: columns[key]
                for key in (
                    "subject",
                    "satisfaction",
                    "reopens",
                    "replies",
                    "known",
                    "with_phone",
                    "email_noise",
                    "phone_format",
                )
            },
        },
    )
    _copy(
        con,
        path,
        "tickets join rec using (record_id)",
        [
            ("Id", "(40001 + row_id)::varchar"),
            ("Requester", "first_name || ' ' || last_name"),
            ("Requester email", _noisy_email("email_clean", "email_noise")),
            (
                "Requester phone",
                f"case when with_phone then {_phone('person_phone', 'phone_format')} end",
            ),
            ("CRM Customer ID [text]", "case when known then customer_ref end"),
            ("Group", "grp"),
            ("Subject", "subject"),
            ("Status", "status"),
            ("Priority", "priority"),
            ("Via", "via"),
            ("Touchpoint [list]", "touchpoint"),
            (
                "Created at",
                f"case when bad_created then '{BAD_TICKET_CREATED}' "
                f"else {_timestamp('created_local')} end",
            ),
            ("First reply at", _timestamp("first_reply_local")),
            ("Solved at", _timestamp("solved_local")),
            ("Updated at", _timestamp("updated_local")),
            ("Reopens", "reopens"),
            ("Replies", "replies"),
            ("Satisfaction Score", "satisfaction"),
            ("First reply time in minutes", _minutes("first_reply_minutes")),
            (
                "First reply time in minutes within business hours",
                _minutes("first_reply_business_minutes"),
            ),
            ("First resolution time in minutes", _minutes("first_resolution_minutes")),
            ("Full resolution time in minutes", _minutes("full_resolution_minutes")),
            (
                "Full resolution time in minutes within business hours",
                _minutes("full_resolution_business_minutes"),
            ),
        ],
    )
    return n


def _first_solves(
    world: _World, columns: dict[str, np.ndarray], histories: _TicketHistories
) -> np.ndarray:
    """First solve: the last one unless reopened — then the first solve of the ticket's event
    history, or (no history) a moment between the first reply and the last solve."""
    first_reply, solved_at, reopens = (
        columns["first_reply"],
        columns["solved_at"],
        columns["reopens"],
    )
    rng = world.rng("ticket_first_solves")
    share = rng.uniform(0.2, 0.7, size=solved_at.size)
    earlier = first_reply + ((solved_at - first_reply) * share).astype(np.int64)
    solves = histories.kind == AUDIT_KIND["solve"]
    history_first = np.full(solved_at.size, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(history_first, histories.ticket[solves], histories.at[solves])
    earlier = np.where(history_first < np.iinfo(np.int64).max, history_first, earlier)
    return np.where(reopens > 0, earlier, solved_at)


@dataclass(frozen=True)
class BusinessClock:
    """Business seconds elapsed since the first window, one window per working day (UTC)."""

    opens: np.ndarray  # epoch seconds, ascending
    seconds: np.ndarray  # length of each window
    before: np.ndarray  # business seconds of all earlier windows

    def read(self, utc: np.ndarray) -> np.ndarray:
        """The clock at each moment; outside hours it reads the last closing."""
        window = np.clip(np.searchsorted(self.opens, utc, side="right") - 1, 0, None)
        open_seconds = np.clip(utc - self.opens[window], 0, self.seconds[window])
        return self.before[window] + open_seconds


def business_clock(first_day: date, last_day: date) -> BusinessClock:
    """The demo help desk's schedule (New York, weekdays 9-17, seeded holidays) as a clock."""
    zone = ZoneInfo(TICKET_TIMEZONE)
    holidays = _seeded_holidays()
    days = (first_day + timedelta(days=k) for k in range((last_day - first_day).days + 1))
    working = [d for d in days if d.weekday() in BUSINESS_WEEKDAYS and d not in holidays]

    def at(day: date, hour: int) -> int:
        return int(datetime(day.year, day.month, day.day, hour, tzinfo=zone).timestamp())

    opens = np.array([at(day, BUSINESS_HOURS[0]) for day in working], dtype=np.int64)
    closes = np.array([at(day, BUSINESS_HOURS[1]) for day in working], dtype=np.int64)
    seconds = closes - opens
    before = np.concatenate(([0], np.cumsum(seconds)[:-1])).astype(np.int64)
    return BusinessClock(opens=opens, seconds=seconds, before=before)


def _seeded_holidays() -> set[date]:
    with HOLIDAYS_SEED.open(encoding="utf-8", newline="") as seed:
        return {date.fromisoformat(row["holiday_date"]) for row in csv.DictReader(seed)}


def _minutes(column: str) -> str:
    """SQL: an exported minutes column, empty where the generator marked it -1 (not applicable)."""
    return f"case when {column} >= 0 then {column} end"


@dataclass
class _TicketHistories:
    """The ticket-event export's audits (sorted by time) and which tickets have a history."""

    ticket: np.ndarray  # per audit: ticket row
    at: np.ndarray  # per audit: UTC epoch seconds
    kind: np.ndarray  # per audit: AUDIT_KIND code
    has_history: np.ndarray  # per ticket
    agent_created: np.ndarray  # per ticket: opened by an agent with a public comment
    noted: np.ndarray  # per ticket: an internal note before the first reply


def _ticket_histories(world: _World, columns: dict[str, np.ndarray]) -> _TicketHistories:
    """Event histories telling the same story as the summary export, second for second.

    Same creation, first reply, last solve, reopens and replies (a chat reply may be a burst
    of agent messages, one reply for the help desk). The moments after the first reply are
    spread evenly up to the last solve; a ticket whose history does not fit (moments closer
    than MIN_STEP_SECONDS) or touches the repeated hour when New York clocks fall back (its
    local times could not be ordered) gets no history.
    """
    rng = world.rng("ticket_histories")
    created, first_reply, solved_at, replied, solved, reopens, status = (
        columns[key]
        for key in ("created", "first_reply", "solved_at", "replied", "solved", "reopens", "status")
    )
    n = created.size
    chat, phone = columns["via"] == CHAT_VIA, columns["via"] == PHONE_VIA
    reply_gap = first_reply - created
    agent_created = phone & (~replied | (reply_gap >= 2 * MIN_STEP_SECONDS))
    noted = ~agent_created & replied & (reply_gap >= 2) & (rng.random(n) < INTERNAL_NOTE_SHARE)
    callback = agent_created & ~replied & (rng.random(n) < CALLBACK_COMMENT_SHARE)
    exchanges = np.where(replied, columns["replies"] - 1 - reopens, 0)
    later_steps = np.where(
        replied, 2 * exchanges + np.where(solved, 1 + 3 * reopens, status == "Pending"), 0
    )
    later_end = np.where(solved, solved_at, np.minimum(world.as_of - 1, first_reply + 2 * DAY))
    idle_steps = np.where(replied, 0, callback.astype(np.int64) + (status == "Open"))
    idle_end = np.minimum(world.as_of - 1, created + 2 * DAY)
    fits = np.where(
        replied,
        (world.as_of - first_reply > MIN_STEP_SECONDS)
        & (later_end - first_reply >= MIN_STEP_SECONDS * later_steps),
        idle_end - created >= MIN_STEP_SECONDS * idle_steps,
    )
    has_history = (chat | agent_created) & ~columns["bad_created"] & fits
    kept = np.flatnonzero(has_history)
    before_reply = kept[replied[kept] & (noted[kept] | agent_created[kept])]
    answered = kept[replied[kept]]
    closed = kept[status[kept] == "Closed"]
    later = _spread(kept, later_steps, first_reply, later_end)
    idle = _spread(kept, idle_steps, created, idle_end)
    parts = [
        _moments(
            kept,
            np.where(
                agent_created[kept], AUDIT_KIND["create_by_agent"], AUDIT_KIND["create_by_customer"]
            ),
            created[kept],
        ),
        _moments(
            before_reply,
            np.where(noted[before_reply], AUDIT_KIND["note"], AUDIT_KIND["customer"]),
            created[before_reply]
            + 1
            + (rng.random(before_reply.size) * (reply_gap[before_reply] - 2)).astype(np.int64),
        ),
        _moments(answered, AUDIT_KIND["first_reply"], first_reply[answered]),
        _moments(later[0], _later_kinds(later[1], exchanges[later[0]], solved[later[0]]), later[2]),
        # no reply: the customer's callback comment, then the agent opening the ticket
        _moments(
            idle[0],
            np.where(
                callback[idle[0]] & (idle[1] == 1), AUDIT_KIND["customer"], AUDIT_KIND["to_open"]
            ),
            idle[2],
        ),
        _moments(closed, AUDIT_KIND["close"], solved_at[closed] + CLOSE_AFTER_SECONDS),
    ]
    ticket, kind, at = (np.concatenate([part[k] for part in parts]) for k in range(3))
    ticket, kind, at = _chat_bursts(rng, ticket, kind, at, chat)
    ambiguous = np.unique(ticket[_in_repeated_hour(at, _ticket_offsets(world, created))])
    has_history[ambiguous] = False
    keep = has_history[ticket]
    order = np.lexsort((kind[keep], ticket[keep], at[keep]))
    return _TicketHistories(
        ticket=ticket[keep][order],
        at=at[keep][order],
        kind=kind[keep][order],
        has_history=has_history,
        agent_created=agent_created & has_history,
        noted=noted & has_history,
    )


def _moments(
    tickets: np.ndarray, kind: np.ndarray | int, at: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Audits as (ticket, kind, time) arrays of one length."""
    return tickets, np.broadcast_to(kind, tickets.shape), at


def _steps(tickets: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per ticket 1..steps[ticket]: (ticket, step number) with one row per step."""
    counts = steps[tickets]
    ticket = np.repeat(tickets, counts)
    step = np.arange(ticket.size) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    return ticket, step


def _spread(
    tickets: np.ndarray, steps: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ticket, step, time): each ticket's steps evenly after `start`, the last one at `end`."""
    ticket, step = _steps(tickets, steps)
    begin = start[ticket]
    return ticket, step, begin + (end[ticket] - begin) * step // steps[ticket]


def _later_kinds(step: np.ndarray, exchanges: np.ndarray, solved: np.ndarray) -> np.ndarray:
    """After the first reply: (customer, reply) exchanges, then solve (reopen, reply, solve)*,
    or, unsolved, the agent setting the ticket pending."""
    conversing = step <= 2 * exchanges
    after = (step - 2 * exchanges - 1) % 3  # 0 solve, 1 reopen, 2 reply
    return np.select(
        [conversing & (step % 2 == 1), conversing, ~solved, after == 0, after == 1],
        [
            AUDIT_KIND["customer"],
            AUDIT_KIND["reply"],
            AUDIT_KIND["to_pending"],
            AUDIT_KIND["solve"],
            AUDIT_KIND["reopen"],
        ],
        AUDIT_KIND["reply"],
    )


def _chat_bursts(
    rng: np.random.Generator,
    ticket: np.ndarray,
    kind: np.ndarray,
    at: np.ndarray,
    chat: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chat replies come as 1-3 agent messages in a row, CHAT_BURST_SECONDS apart."""
    replies = np.flatnonzero(
        chat[ticket] & np.isin(kind, (AUDIT_KIND["first_reply"], AUDIT_KIND["reply"]))
    )
    extra = rng.choice(len(CHAT_BURST_SHARES), size=replies.size, p=CHAT_BURST_SHARES)
    source, number = _steps(np.arange(replies.size), extra)
    origin = replies[source]
    return (
        np.concatenate([ticket, ticket[origin]]),
        np.concatenate([kind, np.full(origin.size, AUDIT_KIND["reply"])]),
        np.concatenate([at, at[origin] + CHAT_BURST_SECONDS * number]),
    )


def _in_repeated_hour(utc: np.ndarray, offsets: tuple[int, np.ndarray]) -> np.ndarray:
    """Instants whose local wall-clock hour occurs twice (clocks falling back)."""
    first_hour, table = offsets
    hour = np.clip(utc // HOUR - first_hour, 0, table.size - 1)
    before = table[np.clip(hour - 1, 0, table.size - 1)]
    after = table[np.clip(hour + 1, 0, table.size - 1)]
    return (after < table[hour]) | (table[hour] < before)


def _write_ticket_events(
    con: duckdb.DuckDBPyConnection,
    world: _World,
    histories: _TicketHistories,
    columns: dict[str, np.ndarray],
    path: Path,
) -> int:
    """A Zendesk-like "ticket audits" export: one row per audit event, New York local time."""
    audits = np.array([len(events) for events in TICKET_AUDITS.values()])[histories.kind]
    audit, event = _steps(np.arange(audits.size), audits)
    kind = histories.kind[audit]
    width = int(audits.max()) if audits.size else 1
    template = np.array(
        [[events[k % len(events)] for k in range(width)] for events in TICKET_AUDITS.values()]
    )  # kind × event × (type, author, public, from, to)
    fields = template[kind, event - 1]
    ticket = histories.ticket[audit]
    offset = _ticket_offsets(world, columns["created"])
    _register(
        con,
        "ticket_events",
        {
            "row_id": np.arange(audit.size),
            "audit_id": 90_000_001 + audit,
            "event_number": event,
            "ticket_id": 40_001 + ticket,
            "at_local": _to_local(histories.at[audit], offset),
            **{
                name: fields[:, position]
                for position, name in enumerate(("type", "author", "public", "before", "after"))
            },
            "via": columns["via"][ticket],
        },
    )
    _copy(
        con,
        path,
        "ticket_events",
        [
            ("Audit ID", "audit_id"),
            ("Event #", "event_number"),
            ("Ticket ID", "ticket_id"),
            ("Created at", _timestamp("at_local")),
            ("Author role", "author"),
            ("Event type", "type"),
            ("Public", "nullif(public, '')"),
            ("Field", "case when type <> 'Comment' then 'status' end"),
            ("Previous value", "nullif(before, '')"),
            ("Value", "nullif(after, '')"),
            ("Via", "via"),
        ],
    )
    return int(audit.size)


def _ticket_offsets(world: _World, created: np.ndarray) -> tuple[int, np.ndarray]:
    start = int(created.min()) if created.size else world.as_of
    return _utc_offsets(start, world.as_of + DAY, TICKET_TIMEZONE)


def _write_sessions(
    con: duckdb.DuckDBPyConnection, world: _World, sessions: _Events, path: Path
) -> int:
    rng = world.rng("session_columns")
    n = sessions.at.size
    section = rng.choice(len(WEB_SECTIONS), size=n, p=WEB_SECTION_SHARES)
    landing_pages = _pick_from(
        [WEB_LANDING_PAGES[s] for s in WEB_SECTIONS], section, rng.integers(0, 4, size=n)
    )
    page_views = 1 + rng.poisson(4, size=n)
    identity = rng.choice(3, size=n, p=(0.6, 0.2, 0.2))  # logged in / email from a link / anonymous
    _register(
        con,
        "sessions",
        {
            "row_id": np.arange(n),
            "record_id": sessions.record,
            "session_id": _coded_ids("", n, world.seed * 7 + 3, HEX, 16, rng),
            "started": sessions.at,
            "ended": np.minimum(
                sessions.at + page_views * rng.integers(15, 120, size=n), world.as_of - 1
            ),
            "page_views": page_views,
            "device": rng.choice(np.array(DEVICES), size=n, p=(0.45, 0.48, 0.07)),
            "landing_page": landing_pages,
            "section": np.array(WEB_SECTIONS)[section],
            "identity": identity,
            "email_noise": rng.choice(len(EMAIL_NOISE_SHARES), size=n, p=EMAIL_NOISE_SHARES),
        },
    )
    iso_utc = "%Y-%m-%dT%H:%M:%SZ"
    _copy(
        con,
        path,
        "sessions join rec using (record_id)",
        [
            ("session_id", "session_id"),
            ("user_id", "case when identity = 0 then customer_ref end"),
            (
                "user_email",
                f"case when identity = 1 then {_noisy_email('email_clean', 'email_noise')} end",
            ),
            ("session_start", _timestamp("started", iso_utc)),
            ("session_end", _timestamp("ended", iso_utc)),
            ("pageviews", "page_views"),
            ("device_category", "device"),
            ("landing_page_path", "landing_page"),
            ("site_section", "section"),
        ],
        json_lines=True,
    )
    return n


def _write_invitations(
    con: duckdb.DuckDBPyConnection, invitations: dict[str, np.ndarray], path: Path
) -> int:
    n = invitations["sent"].size
    _register(
        con,
        "invitations",
        {
            "row_id": np.arange(n),
            "record_id": invitations["record"],
            "invite_id": invitations["id"],
            "survey_id": _survey_ids()[invitations["touchpoint"]],
            "sent": invitations["sent"],
            "by_sms": invitations["by_sms"],
            "has_reference": invitations["has_reference"],
            "touchpoint": np.array(TOUCHPOINTS)[invitations["touchpoint"]],
            "email_noise": invitations["email_noise"],
            "phone_format": invitations["phone_format"],
        },
    )
    _copy(
        con,
        path,
        "invitations join rec using (record_id)",
        [
            ("InviteId", "invite_id"),
            ("SurveyId", "survey_id"),
            ("ExternalDataReference", "case when has_reference then customer_ref end"),
            (
                "Email",
                f"case when not by_sms then {_noisy_email('email_clean', 'email_noise')} end",
            ),
            ("Phone", f"case when by_sms then {_phone('person_phone', 'phone_format')} end"),
            ("SentDate", _timestamp("sent")),
            ("Channel", "case when by_sms then 'SMS' else 'Email' end"),
            ("Touchpoint", "touchpoint"),
        ],
    )
    return n


def _write_responses(
    con: duckdb.DuckDBPyConnection, responses: dict[str, np.ndarray], path: Path
) -> int:
    n = responses["submitted"].size
    ratings = responses["ratings"]
    _register(
        con,
        "responses",
        {
            "row_id": np.arange(n),
            "record_id": responses["record"],
            "response_id": responses["id"],
            "started": responses["started"],
            "submitted": responses["submitted"],
            "duration": responses["duration"],
            "finished": responses["finished"],
            "progress": responses["progress"],
            "by_sms": responses["by_sms"],
            "has_reference": responses["has_reference"],
            "language": np.array([QUALTRICS_LANGUAGE[lang] for lang in LANGUAGES])[
                responses["language"]
            ],
            "invite_id": responses["invite_id"],
            "survey_id": _survey_ids()[responses["touchpoint"]],
            "touchpoint": np.array(TOUCHPOINTS)[responses["touchpoint"]],
            "channel": np.array(CHANNELS)[responses["channel"]],
            "nps": responses["nps"],
            "csat": responses["csat"],
            "ces": responses["ces"],
            **{f"driver_{k}": ratings[:, k] for k in range(ratings.shape[1])},
            "comment": responses["comment"],
            "email_noise": responses["email_noise"],
            "phone_format": responses["phone_format"],
        },
    )
    score = "case when {0} = -9999 then null else {0} end"
    _copy(
        con,
        path,
        "responses join rec using (record_id)",
        [
            ("StartDate", _timestamp("started")),
            ("EndDate", _timestamp("submitted")),
            ("Status", "0"),
            ("Progress", "progress"),
            ("Duration (in seconds)", "duration"),
            ("Finished", "case when finished then 1 else 0 end"),
            ("RecordedDate", _timestamp("submitted")),
            ("ResponseId", "response_id"),
            ("RecipientLastName", "last_name"),
            ("RecipientFirstName", "first_name"),
            (
                "RecipientEmail",
                f"case when not by_sms then {_noisy_email('email_clean', 'email_noise')} end",
            ),
            (
                "RecipientPhone",
                f"case when by_sms then {_phone('person_phone', 'phone_format')} end",
            ),
            ("ExternalReference", "case when has_reference then customer_ref end"),
            ("DistributionChannel", "case when by_sms then 'smsinvite' else 'email' end"),
            ("UserLanguage", "language"),
            ("InviteId", "invite_id"),
            ("SurveyId", "survey_id"),
            ("Touchpoint", "touchpoint"),
            ("Channel", "channel"),
            ("Q_NPS", score.format("nps")),
            (
                "Q_NPS_GROUP",
                "case when nps between 0 and 6 then 'Detractor' when nps between 7 and 8 "
                "then 'Passive' when nps between 9 and 10 then 'Promoter' end",
            ),
            ("Q_CSAT", score.format("csat")),
            ("Q_CES", score.format("ces")),
            *(
                (column, score.format(f"driver_{k}"))
                for k, column in enumerate(DRIVER_COLUMNS.values())
            ),
            ("Q_Comment", "nullif(comment, '')"),
        ],
    )
    return n


# --------------------------------------------------------------------------- truths


def _truths(
    world: _World,
    end: date,
    scale: float,
    persons: _Persons,
    records: _Records,
    invitations: dict[str, np.ndarray],
    responses: dict[str, np.ndarray],
    calls: _Events,
    call_columns: dict[str, np.ndarray],
    histories: _TicketHistories,
    counts: dict[str, int],
    files: dict[str, Path],
) -> DemoTruths:
    loadable = ~responses["bad"]
    valid = loadable & responses["finished"] & (responses["nps"] >= 0) & (responses["nps"] <= 10)
    nps = responses["nps"]
    by_touchpoint = {
        touchpoint: _nps_summary(nps[valid & (responses["touchpoint"] == code)])
        for code, touchpoint in enumerate(TOUCHPOINTS)
    }
    csat = responses["csat"][loadable & responses["finished"] & (responses["csat"] >= 1)]
    ratings = responses["ratings"]
    correlations = {
        attribute: _correlation(ratings[valid, k], nps[valid])
        for k, attribute in enumerate(DRIVER_WEIGHTS)
    }
    long_wait = valid & responses["long_wait"]
    other = valid & ~responses["long_wait"]
    recent = (
        loadable
        & responses["finished"]
        & (responses["submitted"] >= world.as_of - RECENT_WINDOW_DAYS * DAY)
    )
    detractor_people = np.unique(responses["person"][recent & (nps >= 0) & (nps <= 6)])
    low_csat_people = np.unique(
        responses["person"][recent & (responses["csat"] >= 1) & (responses["csat"] <= 2)]
    )
    duplicates = records.is_duplicate
    fuzzy = records.is_fuzzy_duplicate
    by_phone = duplicates & ~fuzzy & (records.email_normalized != persons.email[records.person])
    fuzzy_person = records.person[fuzzy]
    look_alike_first = np.flatnonzero(persons.look_alike_of > np.arange(persons.count))
    bad_nps = int(responses["bad"].sum())
    bad_tickets = 1 if counts["demo_support_tickets"] else 0
    finished = int((loadable & responses["finished"]).sum())
    n_invitations = int(invitations["sent"].size)
    return DemoTruths(
        seed=world.seed,
        scale=scale,
        end_date=end.isoformat(),
        as_of=datetime.fromtimestamp(world.as_of, UTC).strftime(ISO_SECONDS),
        persons=persons.count,
        crm_records=int(records.ref.size),
        duplicate_crm_records=int(duplicates.sum()),
        duplicates_by_email=int((duplicates & ~fuzzy & ~by_phone).sum()),
        duplicates_by_phone=int(by_phone.sum()),
        duplicates_by_name_and_postcode=int(fuzzy.sum()),
        fuzzy_duplicate_pairs=_ref_pairs(
            records, records.primary_of_person[fuzzy_person], np.flatnonzero(fuzzy)
        ),
        look_alike_pairs=_ref_pairs(
            records,
            records.primary_of_person[look_alike_first],
            records.primary_of_person[persons.look_alike_of[look_alike_first]],
        ),
        person_of_customer_ref=dict(
            sorted(
                zip(
                    records.ref.tolist(),
                    (f"P{p + 1:06d}" for p in records.person.tolist()),
                    strict=True,
                )
            )
        ),
        feed_files={feed: path.as_posix() for feed, path in sorted(files.items())},
        feed_rows=dict(sorted(counts.items())),
        quarantine_rows={"demo_support_tickets": bad_tickets, "demo_survey_responses": bad_nps},
        bad_nps_rows=bad_nps,
        bad_ticket_rows=bad_tickets,
        ticket_histories=int(histories.has_history.sum()),
        agent_created_tickets=int(histories.agent_created.sum()),
        noted_tickets=int(histories.noted.sum()),
        driver_rating_rows=int((ratings[loadable] > 0).sum()),
        invitations=n_invitations,
        responses=int(loadable.sum()),
        finished_responses=finished,
        response_rate=finished / n_invitations if n_invitations else 0.0,
        nps=_nps_summary(nps[valid])["nps"],
        nps_answers=int(valid.sum()),
        csat_pct=100.0 * float((csat >= 4).sum()) / csat.size if csat.size else 0.0,
        csat_answers=int(csat.size),
        nps_by_touchpoint=by_touchpoint,
        lowest_nps_touchpoint=min(by_touchpoint, key=lambda tp: by_touchpoint[tp]["nps"]),
        driver_weights=dict(DRIVER_WEIGHTS),
        driver_order=tuple(sorted(DRIVER_WEIGHTS, key=lambda a: -DRIVER_WEIGHTS[a])),
        driver_correlations=correlations,
        long_wait_seconds=LONG_WAIT_SECONDS,
        long_wait_answers=int(long_wait.sum()),
        long_wait_detractor_rate=_share(nps[long_wait] <= 6),
        other_answers=int(other.sum()),
        other_detractor_rate=_share(nps[other] <= 6),
        recent_window_days=RECENT_WINDOW_DAYS,
        recent_detractor_persons=int(detractor_people.size),
        recent_low_csat_persons=int(low_csat_people.size),
        recent_detractor_persons_consenting=int(persons.consent[detractor_people].sum()),
        recent_low_csat_persons_consenting=int(persons.consent[low_csat_people].sum()),
    )


def _ref_pairs(
    records: _Records, first: np.ndarray, second: np.ndarray
) -> tuple[tuple[str, str], ...]:
    return tuple(
        sorted(zip(records.ref[first].tolist(), records.ref[second].tolist(), strict=True))
    )


def _nps_summary(scores: np.ndarray) -> dict[str, float]:
    promoters = int((scores >= 9).sum())
    detractors = int((scores <= 6).sum())
    n = int(scores.size)
    return {
        "n": n,
        "promoters": promoters,
        "detractors": detractors,
        "nps": 100.0 * (promoters - detractors) / n if n else 0.0,
    }


def _correlation(ratings: np.ndarray, scores: np.ndarray) -> float:
    rated = ratings > 0
    if rated.sum() < 3:
        return 0.0
    return round(float(np.corrcoef(ratings[rated], scores[rated])[0, 1]), 6)


def _share(flags: np.ndarray) -> float:
    return float(flags.mean()) if flags.size else 0.0


# --------------------------------------------------------------------------- helpers


def _concat(*parts: np.ndarray | str) -> np.ndarray:
    result = np.asarray(parts[0]).astype(str)
    for part in parts[1:]:
        result = np.char.add(result, np.asarray(part).astype(str))
    return result


def _coded_ids(
    prefix: str,
    n: int,
    salt: int,
    alphabet: np.ndarray,
    width: int,
    rng: np.random.Generator | None,
) -> np.ndarray:
    """Unique random-looking ids: an invertible scramble of the row number in `alphabet`."""
    # splitmix64's finalizer: a bijection on 64 bits, so distinct rows give distinct ids.
    offset = np.uint64((salt * 0x9E3779B97F4A7C15) % 2**64)
    value = np.arange(1, n + 1, dtype=np.uint64) + offset
    for shift, multiplier in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
        value = (value ^ (value >> np.uint64(shift))) * np.uint64(multiplier)
    value ^= value >> np.uint64(31)
    base = np.uint64(alphabet.size)
    needed = min(width, int(np.ceil(64 / np.log2(alphabet.size))))
    # Digits beyond the 64 scrambled bits would be constant; random ones look like the real thing.
    digits = (
        rng.integers(0, alphabet.size, size=(n, width))
        if rng is not None
        else np.zeros((n, width), dtype=np.int64)
    )
    for position in range(needed):
        digits[:, width - 1 - position] = (value % base).astype(np.int64)
        value //= base
    chars = np.ascontiguousarray(alphabet[digits].astype("U1"))
    codes = chars.view(f"U{width}").reshape(n) if n else np.array([], dtype=f"U{width}")
    return np.char.add(prefix, codes)


def _pick_from(options: Sequence[Sequence[str]], group: np.ndarray, pick: np.ndarray) -> np.ndarray:
    """Per row, option `pick` (cycled) of the row's group: a table lookup instead of a loop."""
    width = max(len(choices) for choices in options)
    table = np.array([[choices[k % len(choices)] for k in range(width)] for choices in options])
    return table[group, pick % width]


def _survey_ids() -> np.ndarray:
    return np.array([f"SV_{zlib.crc32(t.encode()):08X}{t[:3].upper()}" for t in TOUCHPOINTS])


def _utc_offsets(start: int, end: int, zone: str) -> tuple[int, np.ndarray]:
    """UTC offset (seconds) of `zone` for every hour from start to end; zones change on the hour."""
    first_hour = start // HOUR
    hours = range(first_hour, end // HOUR + 2)
    tz = ZoneInfo(zone)
    # A zone-aware datetime always has an offset; `or timedelta()` only satisfies the type.
    table = np.array(
        [
            (datetime.fromtimestamp(hour * HOUR, tz).utcoffset() or timedelta()).total_seconds()
            for hour in hours
        ],
        dtype=np.int64,
    )
    return first_hour, table


def _to_local(utc: np.ndarray, offsets: tuple[int, np.ndarray]) -> np.ndarray:
    first_hour, table = offsets
    # Times past the table (never written: masked out by the caller) reuse the last offset.
    return utc + table[np.clip(utc // HOUR - first_hour, 0, table.size - 1)]


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingestion.demo", description="Write the demo world's exports."
    )
    parser.add_argument(
        "--home", type=Path, default=None, help="data home (default: CXMART_HOME or ./data)"
    )
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = ~2,000 persons")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--end-date", type=date.fromisoformat, default=None, help="YYYY-MM-DD; default today (UTC)"
    )
    parser.add_argument(
        "--truths", type=Path, default=None, help="also write the truths as JSON here"
    )
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    landing = landing_dir(args.home or cxmart_home())
    truths = generate_demo_world(landing, scale=args.scale, seed=args.seed, end_date=args.end_date)
    seconds = (datetime.now(UTC) - started) / timedelta(seconds=1)
    if args.truths:
        args.truths.write_text(truths.to_json(), encoding="utf-8")
    print(
        f"demo world (seed {truths.seed}, scale {truths.scale:g}, as of {truths.as_of} UTC) "
        f"written to {landing} in {seconds:.1f} s"
    )
    for feed, rows in truths.feed_rows.items():
        print(f"  {feed:<26} {rows:>9,} rows  {truths.feed_files[feed]}")
    print(
        f"  persons {truths.persons:,}, CRM records {truths.crm_records:,} "
        f"({truths.duplicate_crm_records} duplicates, {truths.duplicates_by_name_and_postcode} "
        f"of them only by name and postcode; {len(truths.look_alike_pairs)} look-alike pairs)"
    )
    lowest = truths.lowest_nps_touchpoint
    print(
        f"  NPS {truths.nps:+.1f} (n={truths.nps_answers:,}), lowest touchpoint "
        f"{lowest} {truths.nps_by_touchpoint[lowest]['nps']:+.1f}, "
        f"CSAT {truths.csat_pct:.1f} %, response rate {100 * truths.response_rate:.1f} %"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
