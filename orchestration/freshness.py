"""How fresh each role's tables must be: the freshness policies the Dagster UI shows.

Each role's tables are refreshed on that role's cadence (the schedules in jobs.py): frontline
every 15 minutes, managers daily, executives weekly. A role table *warns* once its last
materialization is older than one cadence plus a quarter (the refresh that was due is late)
and *fails* at two cadences (a whole scheduled refresh was missed). A warn window of exactly
one cadence would flash every table yellow for the length of each scheduled run.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

# role (= schema of its tables) -> how often its schedule refreshes them by default
ROLE_CADENCE_WINDOWS: dict[str, timedelta] = {
    "frontline": timedelta(minutes=15),
    "manager": timedelta(days=1),
    "executive": timedelta(days=7),
}


def role_freshness_policy(role: str) -> dg.FreshnessPolicy | None:
    """The policy of a role's tables; None for schemas that are not a role's (core, ops…)."""
    cadence = ROLE_CADENCE_WINDOWS.get(role)
    if cadence is None:
        return None
    return dg.FreshnessPolicy.time_window(fail_window=2 * cadence, warn_window=cadence * 1.25)
