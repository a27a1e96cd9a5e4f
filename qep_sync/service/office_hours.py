"""Office hours of ``[schedule]``: when syncs run, when the next one will, how stale the last is.

Times are Europe/Paris. A day counts when it is a working day (``WorkingCalendar``: no
weekend, public holiday or closure day) or when ``working_days_only`` is false; within it,
``office_hours`` is a half-open window [start, end).
"""

from __future__ import annotations

import datetime as dt

from qep_sync.clock import PARIS
from qep_sync.config import Schedule
from qep_sync.workdays import WorkingCalendar


def _window(day: dt.date, plan: Schedule) -> tuple[dt.datetime, dt.datetime]:
    start, end = plan.office_hours
    return (
        dt.datetime.combine(day, start, tzinfo=PARIS),
        dt.datetime.combine(day, end, tzinfo=PARIS),
    )


def _office_day(day: dt.date, plan: Schedule, cal: WorkingCalendar) -> bool:
    return not plan.working_days_only or cal.is_working_day(day)


def in_office_hours(moment: dt.datetime, plan: Schedule, cal: WorkingCalendar) -> bool:
    """Is ``moment`` within the office hours of a day syncs run (a working day by default)?"""
    moment = moment.astimezone(PARIS)
    start, end = plan.office_hours
    return _office_day(moment.date(), plan, cal) and start <= moment.time() < end


def office_seconds_between(
    start: dt.datetime, end: dt.datetime, plan: Schedule, cal: WorkingCalendar
) -> float:
    """Seconds of office time between two moments (what ``status`` measures staleness in)."""
    if end <= start:
        return 0.0
    day, last = start.astimezone(PARIS).date(), end.astimezone(PARIS).date()
    if (last - day).days > 366:
        return float("inf")
    total = 0.0
    while day <= last:
        if _office_day(day, plan, cal):
            low, high = _window(day, plan)
            overlap = (min(high, end) - max(low, start)).total_seconds()
            total += max(overlap, 0.0)
        day += dt.timedelta(days=1)
    return total


def next_office_run(
    due: dt.datetime, every: dt.timedelta, plan: Schedule, cal: WorkingCalendar
) -> dt.datetime | None:
    """The first of ``due``, ``due + every``, … that falls in office hours (None beyond 3 weeks)."""
    due = due.astimezone(PARIS)
    for _ in range(22):
        start, end = _window(due.date(), plan)
        if _office_day(due.date(), plan, cal) and due < end:
            if due >= start:
                return due
            steps = -((due - start) // every)  # ceil((start - due) / every)
            candidate = due + steps * every
            if candidate < end:
                return candidate
        next_day = dt.datetime.combine(due.date() + dt.timedelta(days=1), dt.time(), tzinfo=PARIS)
        due += max(-((due - next_day) // every), 1) * every
    return None
