"""Zendesk ticket exports (CSV).

Timestamps are in the account's time zone, so the feed must declare `timezone`. Custom
fields arrive as `<Name> [list]` / `<Name> [text]` columns: map them like any column, and
unmapped ones are kept in `_extra`. Zendesk's own labels map to cxmart's values by default.
"""

from __future__ import annotations

from ingestion.formats.layout import Layout

ZENDESK = Layout(
    name="zendesk",
    description="Zendesk ticket export: account time zone, [list] fields, satisfaction labels",
    formats=("csv",),
    values={
        "satisfaction": {
            "Good": "good",
            "Bad": "bad",
            "Offered": "offered",
            "Not Offered": "unoffered",
            "Unoffered": "unoffered",
        },
        "ticket_status": {
            "New": "new",
            "Open": "open",
            "Pending": "pending",
            "On-hold": "pending",
            "Hold": "pending",
            "Solved": "solved",
            "Closed": "closed",
        },
        "priority": {"Low": "low", "Normal": "normal", "High": "high", "Urgent": "urgent"},
    },
    required={"timezone": "Zendesk exports timestamps in the account's time zone"},
)
