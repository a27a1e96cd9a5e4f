"""Working days (docs/contract.md §3 « Working days ») and EDATE month arithmetic (§3.1 rule 3).

The calendar is checked against a brute-force day-by-day count built directly on the
``holidays`` package (country FR, no subdivision: the Doubs is not Alsace-Moselle).
"""

from __future__ import annotations

import calendar
import datetime as dt
from pathlib import Path

import holidays
import pytest
from conftest import make_good_workbook
from hypothesis import given, settings
from hypothesis import strategies as st

from qep_sync.config import load_config
from qep_sync.workdays import WorkingCalendar, add_months

D = dt.date
ONE_DAY = dt.timedelta(days=1)
FR_HOLIDAYS = holidays.country_holidays("FR")  # grows with every year it is asked about

days_2020_2030 = st.dates(min_value=D(2020, 1, 1), max_value=D(2030, 12, 31))
PROPERTY = settings(max_examples=300, deadline=None)


def brute_is_working(day: dt.date, closed: frozenset[dt.date] = frozenset(),
                     worked: frozenset[dt.date] = frozenset()) -> bool:  # fmt: skip
    """Monday to Friday, not a French public holiday (unless worked), not a closure day."""
    if day in closed or day.weekday() >= 5:
        return False
    return day in worked or day not in FR_HOLIDAYS


def brute_add(start: dt.date, n: int, closed: frozenset[dt.date] = frozenset(),
              worked: frozenset[dt.date] = frozenset()) -> dt.date:  # fmt: skip
    """The n-th working day after start, counted one day at a time (start itself when n = 0)."""
    day, left = start, n
    while left > 0:
        day += ONE_DAY
        if brute_is_working(day, closed, worked):
            left -= 1
    return day


def brute_between(start: dt.date, end: dt.date, closed: frozenset[dt.date] = frozenset(),
                  worked: frozenset[dt.date] = frozenset()) -> int:  # fmt: skip
    """Working days d with start < d ≤ end, counted one day at a time."""
    count, day = 0, start + ONE_DAY
    while day <= end:
        count += brute_is_working(day, closed, worked)
        day += ONE_DAY
    return count


SHARED = WorkingCalendar()  # one calendar for every example: its year cache grows both ways


# --- properties against the brute force -------------------------------------------------


@PROPERTY
@given(start=days_2020_2030, n=st.integers(min_value=0, max_value=40))
def test_add_working_days_matches_a_day_by_day_count(start: dt.date, n: int) -> None:
    assert SHARED.add_working_days(start, n) == brute_add(start, n)


@PROPERTY
@given(start=days_2020_2030, n=st.integers(min_value=0, max_value=40))
def test_add_working_days_on_a_fresh_calendar_matches_a_day_by_day_count(
    start: dt.date, n: int
) -> None:
    assert WorkingCalendar().add_working_days(start, n) == brute_add(start, n)


@PROPERTY
@given(start=days_2020_2030, span=st.integers(min_value=-30, max_value=400))
def test_working_days_between_matches_a_day_by_day_count(start: dt.date, span: int) -> None:
    end = start + dt.timedelta(days=span)
    assert SHARED.working_days_between(start, end) == brute_between(start, end)


@PROPERTY
@given(a=days_2020_2030, b=days_2020_2030)
def test_working_days_between_random_pairs_matches_a_day_by_day_count(
    a: dt.date, b: dt.date
) -> None:
    assert SHARED.working_days_between(a, b) == brute_between(a, b)


@PROPERTY
@given(day=days_2020_2030)
def test_is_working_day_matches_weekday_and_french_holidays(day: dt.date) -> None:
    assert SHARED.is_working_day(day) == brute_is_working(day)


@PROPERTY
@given(start=days_2020_2030, n=st.integers(min_value=0, max_value=40))
def test_working_days_between_counts_back_what_add_working_days_added(
    start: dt.date, n: int
) -> None:
    assert SHARED.working_days_between(start, SHARED.add_working_days(start, n)) == n


@PROPERTY
@given(
    start=st.dates(min_value=D(2026, 1, 1), max_value=D(2026, 12, 31)),
    n=st.integers(min_value=0, max_value=40),
    closed=st.frozensets(st.dates(min_value=D(2026, 1, 1), max_value=D(2027, 3, 31)), max_size=15),
    worked=st.frozensets(st.sampled_from(sorted(holidays.country_holidays("FR", years=2026))),
                         max_size=4),
)  # fmt: skip
def test_closure_days_and_worked_holidays_match_a_day_by_day_count(
    start: dt.date, n: int, closed: frozenset[dt.date], worked: frozenset[dt.date]
) -> None:
    cal = WorkingCalendar(closed, worked)
    assert cal.add_working_days(start, n) == brute_add(start, n, closed, worked)
    end = start + dt.timedelta(days=n * 3)
    assert cal.working_days_between(start, end) == brute_between(start, end, closed, worked)


# --- the configuration's calendar --------------------------------------------------------


def test_closure_days_from_the_config_are_not_worked(tmp_path: Path) -> None:
    make_good_workbook(tmp_path / "brcie.xlsx")
    path = tmp_path / "qep-sync.toml"
    path.write_text(
        '[calendar]\nclosure_days = [2026-11-10, "2026-12-24"]\n\n'
        '[[sources]]\nservice = "BRCIE"\nxlsx = "brcie.xlsx"\n',
        encoding="utf-8",
    )
    config = load_config(path)
    cal = WorkingCalendar(config.calendar.closure_days, config.calendar.worked_holidays)
    assert not cal.is_working_day(D(2026, 11, 10))  # a Tuesday, bridge before 11 November
    assert not cal.is_working_day(D(2026, 12, 24))  # a Thursday
    assert WorkingCalendar().is_working_day(D(2026, 11, 10))
    # received Friday 6 November: 9, (10 closed), (11 holiday), 12, 13, 16, 17
    assert cal.add_working_days(D(2026, 11, 6), 5) == D(2026, 11, 17)
    assert cal.working_days_between(D(2026, 11, 6), D(2026, 11, 17)) == 5


def test_worked_holidays_from_the_config_make_whit_monday_a_working_day(tmp_path: Path) -> None:
    make_good_workbook(tmp_path / "brcie.xlsx")
    path = tmp_path / "qep-sync.toml"
    path.write_text(
        "[calendar]\nworked_holidays = [2026-05-25]\n\n"
        '[[sources]]\nservice = "BRCIE"\nxlsx = "brcie.xlsx"\n',
        encoding="utf-8",
    )
    config = load_config(path)
    cal = WorkingCalendar(config.calendar.closure_days, config.calendar.worked_holidays)
    assert cal.is_working_day(D(2026, 5, 25))  # journée de solidarité
    # received Friday 22 May: 25, 26, 27, 28, 29 (Whit Monday worked)
    assert cal.add_working_days(D(2026, 5, 22), 5) == D(2026, 5, 29)
    assert WorkingCalendar().add_working_days(D(2026, 5, 22), 5) == D(2026, 6, 1)


def test_a_closure_day_on_a_weekend_or_holiday_changes_nothing() -> None:
    cal = WorkingCalendar(closure_days=[D(2026, 11, 28), D(2026, 12, 25)])  # Saturday, Christmas
    assert cal.add_working_days(D(2026, 11, 26), 5) == WorkingCalendar().add_working_days(
        D(2026, 11, 26), 5
    )


# --- examples -----------------------------------------------------------------------------


def test_14_july_monday_shifts_a_five_day_limit() -> None:
    # Friday 11 July 2025, Monday 14 July is a holiday: 15, 16, 17, 18, 21
    assert WorkingCalendar().add_working_days(D(2025, 7, 11), 5) == D(2025, 7, 21)
    assert not WorkingCalendar().is_working_day(D(2025, 7, 14))


def test_ascension_thursday_is_a_holiday_and_the_friday_after_is_worked() -> None:
    cal = WorkingCalendar()
    assert not cal.is_working_day(D(2026, 5, 14))  # Ascension
    assert cal.is_working_day(D(2026, 5, 15))  # the « pont » is not a public holiday
    assert not cal.is_working_day(D(2025, 5, 29))
    assert cal.is_working_day(D(2025, 5, 30))
    assert cal.add_working_days(D(2026, 5, 13), 1) == D(2026, 5, 15)


def test_whit_monday_2026_is_not_worked_by_default() -> None:
    cal = WorkingCalendar()
    assert not cal.is_working_day(D(2026, 5, 25))
    assert cal.add_working_days(D(2026, 5, 22), 1) == D(2026, 5, 26)


@pytest.mark.parametrize(
    "day",
    [D(2025, 5, 1), D(2025, 5, 8), D(2026, 5, 1), D(2026, 5, 8)],
    ids=["1-may-2025-thu", "8-may-2025-thu", "1-may-2026-fri", "8-may-2026-fri"],
)
def test_1_and_8_may_are_not_worked(day: dt.date) -> None:
    assert day.weekday() < 5
    assert not WorkingCalendar().is_working_day(day)


def test_may_2026_bridges_count_as_expected() -> None:
    # Thursday 30 April 2026 + 5: (1 May Fri), 4, 5, 6, 7, (8 May Fri), 11
    assert WorkingCalendar().add_working_days(D(2026, 4, 30), 5) == D(2026, 5, 11)


def test_christmas_and_new_year_are_not_worked() -> None:
    cal = WorkingCalendar()
    assert not cal.is_working_day(D(2025, 12, 25))  # Thursday
    assert not cal.is_working_day(D(2026, 12, 25))  # Friday
    assert not cal.is_working_day(D(2027, 1, 1))  # Friday
    # Friday 18 December 2026 + 15: 21–24, (25), 28–31, (1 Jan), 4–8, 11, 12
    assert cal.add_working_days(D(2026, 12, 18), 15) == D(2027, 1, 12)
    assert cal.working_days_between(D(2026, 12, 18), D(2027, 1, 12)) == 15


def test_the_doubs_has_no_alsace_moselle_holidays() -> None:
    cal = WorkingCalendar()
    saint_stephen, good_friday = D(2025, 12, 26), D(2026, 4, 3)  # both Fridays
    alsace_moselle = holidays.country_holidays("FR", subdiv="57", years=[2025, 2026])
    assert saint_stephen in alsace_moselle and good_friday in alsace_moselle
    assert cal.is_working_day(saint_stephen)
    assert cal.is_working_day(good_friday)


def test_add_zero_working_days_is_the_start_even_on_a_non_working_day() -> None:
    cal = WorkingCalendar()
    assert cal.add_working_days(D(2026, 11, 28), 0) == D(2026, 11, 28)  # Saturday
    assert cal.add_working_days(D(2026, 12, 25), 0) == D(2026, 12, 25)


def test_working_days_between_is_zero_when_end_is_not_after_start() -> None:
    cal = WorkingCalendar()
    assert cal.working_days_between(D(2026, 11, 26), D(2026, 11, 26)) == 0
    assert cal.working_days_between(D(2026, 11, 26), D(2026, 11, 20)) == 0


def test_working_days_between_counts_the_end_day_but_not_the_start_day() -> None:
    cal = WorkingCalendar()
    # Friday 2 October 2026 → Saturday 10: 5, 6, 7, 8, 9 (the Saturday adds nothing)
    assert cal.working_days_between(D(2026, 10, 2), D(2026, 10, 9)) == 5
    assert cal.working_days_between(D(2026, 10, 2), D(2026, 10, 10)) == 5
    assert cal.working_days_between(D(2026, 10, 2), D(2026, 10, 12)) == 6


def test_working_days_far_beyond_the_first_years_asked() -> None:
    cal = WorkingCalendar()
    assert cal.add_working_days(D(2026, 1, 2), 1) == D(2026, 1, 5)
    assert cal.add_working_days(D(2029, 12, 21), 10) == brute_add(D(2029, 12, 21), 10)
    assert cal.add_working_days(D(2021, 12, 24), 3) == brute_add(D(2021, 12, 24), 3)
    assert cal.add_working_days(D(2026, 1, 1), 600) == brute_add(D(2026, 1, 1), 600)


def test_next_working_day() -> None:
    cal = WorkingCalendar()
    assert cal.next_working_day(D(2026, 11, 26)) == D(2026, 11, 26)  # Thursday
    assert cal.next_working_day(D(2026, 11, 28)) == D(2026, 11, 30)  # Saturday → Monday
    assert cal.next_working_day(D(2025, 7, 12)) == D(2025, 7, 15)  # Saturday before 14 July


# --- add_months = Excel EDATE ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2025, 1, 31), 1, D(2025, 2, 28)),
        (D(2024, 1, 31), 1, D(2024, 2, 29)),
        (D(2026, 3, 31), 6, D(2026, 9, 30)),
        (D(2025, 11, 30), 3, D(2026, 2, 28)),
        (D(2023, 11, 30), 3, D(2024, 2, 29)),
        (D(2026, 8, 31), 6, D(2027, 2, 28)),
        (D(2027, 8, 31), 6, D(2028, 2, 29)),
        (D(2026, 12, 15), 1, D(2027, 1, 15)),
        (D(2026, 12, 31), 1, D(2027, 1, 31)),
        (D(2026, 7, 15), 18, D(2028, 1, 15)),
        (D(2024, 2, 29), 12, D(2025, 2, 28)),
        (D(2026, 3, 31), -1, D(2026, 2, 28)),
    ],
)
def test_add_months_is_excel_edate(day: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize("day", [D(2024, 2, 29), D(2026, 1, 31), D(2026, 12, 31), D(2026, 6, 1)])
def test_add_zero_months_is_the_identity(day: dt.date) -> None:
    assert add_months(day, 0) == day


@settings(max_examples=300)
@given(
    day=st.dates(min_value=D(1990, 1, 1), max_value=D(2090, 12, 31)),
    months=st.integers(min_value=-120, max_value=240),
)
def test_add_months_month_arithmetic_and_clamping(day: dt.date, months: int) -> None:
    result = add_months(day, months)
    total = day.year * 12 + (day.month - 1) + months
    assert (result.year, result.month) == (total // 12, total % 12 + 1)
    last = calendar.monthrange(result.year, result.month)[1]
    assert result.day <= day.day
    assert result.day == min(day.day, last)  # same day, or the month's last day when clamped
