"""French working days: Monday to Friday, minus public holidays (metropolitan France, the
`holidays` package, no subdivision) and the prefecture's closure days from the config.

Counting is done on a precomputed sorted list of working days, so a reply deadline is two
binary searches, whatever the number of letters; and the answers are kept by date (tens of
thousands of letters are received on a few hundred days), so most cost a dictionary lookup.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
from collections.abc import Iterable

from qep_sync.config import Config


def add_months(day: dt.date, months: int) -> dt.date:
    """Excel's EDATE: the same day ``months`` later, clamped to the month's last day."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month0 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def calendar_of(config: Config) -> WorkingCalendar:
    """A workspace's working days: the public calendar, its closure days and worked holidays."""
    return WorkingCalendar(config.calendar.closure_days, config.calendar.worked_holidays)


class WorkingCalendar:
    """Which days are worked, and counts of working days between dates."""

    def __init__(
        self, closure_days: Iterable[dt.date] = (), worked_holidays: Iterable[dt.date] = ()
    ) -> None:
        self.closure_days = frozenset(closure_days)
        self.worked_holidays = frozenset(worked_holidays)
        self._first_year = self._last_year = 0
        self._days: list[int] = []  # ordinals of working days, sorted
        self._added: dict[tuple[dt.date, int], dt.date] = {}  # (start, n) -> add_working_days
        self._counted: dict[dt.date, int] = {}  # day -> working days in _days up to it

    def _cover(self, *days: dt.date) -> None:
        low, high = min(d.year for d in days) - 1, max(d.year for d in days) + 1
        if self._days and self._first_year <= low and high <= self._last_year:
            return
        if self._days:
            low, high = min(low, self._first_year), max(high, self._last_year)
        import holidays  # loaded on first use: --help and status never need it

        public = holidays.country_holidays("FR", years=range(low, high + 1))
        closed = (set(public) - self.worked_holidays) | self.closure_days
        start, end = dt.date(low, 1, 1).toordinal(), dt.date(high, 12, 31).toordinal()
        # Ordinal 1 (0001-01-01) is a Monday, so (n - 1) % 7 < 5 is Monday to Friday.
        self._days = [
            n
            for n in range(start, end + 1)
            if (n - 1) % 7 < 5 and dt.date.fromordinal(n) not in closed
        ]
        self._first_year, self._last_year = low, high
        self._counted.clear()  # positions in _days moved (the dates found stay right)

    def is_working_day(self, day: dt.date) -> bool:
        self._cover(day)
        i = bisect.bisect_left(self._days, day.toordinal())
        return i < len(self._days) and self._days[i] == day.toordinal()

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The n-th working day after ``start`` (n ≥ 1); ``start`` itself when n is 0."""
        if n <= 0:
            return start
        found = self._added.get((start, n))
        if found is None:
            found = self._add(start, n)
            self._added[(start, n)] = found
        return found

    def _add(self, start: dt.date, n: int) -> dt.date:
        self._cover(start, start + dt.timedelta(days=n * 2 + 30))
        i = bisect.bisect_right(self._days, start.toordinal()) + n - 1
        while i >= len(self._days):  # far beyond the covered years
            self._cover(dt.date.fromordinal(self._days[-1]) + dt.timedelta(days=400))
            i = bisect.bisect_right(self._days, start.toordinal()) + n - 1
        return dt.date.fromordinal(self._days[i])

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when end ≤ start)."""
        if end <= start:
            return 0
        counted = self._counted
        if start not in counted or end not in counted:
            self._cover(start, end)  # may rebuild _days, and empty ``counted``
            for day in (start, end):
                counted[day] = bisect.bisect_right(self._days, day.toordinal())
        return counted[end] - counted[start]

    def next_working_day(self, day: dt.date) -> dt.date:
        """``day`` if it is worked, else the first working day after it."""
        return day if self.is_working_day(day) else self.add_working_days(day, 1)
