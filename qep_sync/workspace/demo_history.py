"""The demo's past: COPIL dates and a year of history, so that Tendances and « au dernier
COPIL » show something on the first day.

The demo's trackers are read once, then their computed columns are worked out again as of
each past date (month ends over the last year, and every week of the last two months) and
that day's figures are recorded in the history, as a sync on that date would have: states
such as late actions come out as the rows say they were then. Rows the trackers date later
than a past date are counted as they are now: a demo, not an archive.
"""

from __future__ import annotations

import datetime as dt

from qep_sync.config import Config
from qep_sync.jobs.check import CheckRun, run_check
from qep_sync.jobs.consolidate import consolidate
from qep_sync.jobs.history import HISTORY_NAME, History
from qep_sync.jobs.trends import months_until

COPIL_DAYS_AGO = (45, 227)  # the demo's two last COPIL, about a semester apart
WEEKS = 8


def copil_dates(today: dt.date) -> list[dt.date]:
    return sorted(today - dt.timedelta(days=n) for n in COPIL_DAYS_AGO)


def copil_section(today: dt.date) -> str:
    """The demo config's ``[copil]`` section."""
    days = ", ".join(d.isoformat() for d in copil_dates(today))
    return (
        "\n[copil]  # dates des comités de pilotage : la Synthèse compare au dernier\n"
        f"dates = [{days}]\n"
    )


def past_days(today: dt.date) -> list[dt.date]:
    """Month ends of the last year, the COPIL dates, and each week of the last two months."""
    days = {m - dt.timedelta(days=1) for m in months_until(today)[1:]}  # the day before the 1st
    days |= {today - dt.timedelta(weeks=n) for n in range(1, WEEKS + 1)}
    days |= set(copil_dates(today))
    return sorted(d for d in days if d < today)


def seed_history(config: Config, today: dt.date) -> int:
    """Record the demo's past snapshots in a new history; returns how many days."""
    (config.state_dir / HISTORY_NAME).unlink(missing_ok=True)
    check = run_check(config, today)
    days = past_days(today)
    with History(config.state_dir) as history:
        for day in days:
            _recompute(check, day, config)
            history.record(day, consolidate(check, day).snapshot, {}, {})
    _recompute(check, today, config)
    return len(days)


def _recompute(check: CheckRun, day: dt.date, config: Config) -> None:
    for run in check.sources:
        for table in run.tables:
            table.computed = {}
    check.compute(day, config)
