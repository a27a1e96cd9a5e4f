"""Cell values as spreadsheets hold them (docs/contract.md §2, §3.1 rules 10 and 11) parsed by parsing.py."""

from __future__ import annotations

import calendar
import datetime as dt

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from qep_sync.cells import to_serial
from qep_sync.core.parsing import (
    Measure,
    Unreadable,
    parse_boolean,
    parse_date,
    parse_integer,
    parse_measure,
    parse_month,
    parse_number,
    parse_percent,
    parse_text,
)

# Month names as people type them: with or without accents (the parser must accept both).
MONTH_NAMES = {
    1: ["janvier"],
    2: ["février", "fevrier"],
    3: ["mars"],
    4: ["avril"],
    5: ["mai"],
    6: ["juin"],
    7: ["juillet"],
    8: ["août", "aout"],
    9: ["septembre"],
    10: ["octobre"],
    11: ["novembre"],
    12: ["décembre", "decembre"],
}

dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31))
serial_dates = st.dates(min_value=dt.date(1980, 1, 1), max_value=dt.date(2100, 12, 31))
spaces = st.sampled_from(["", " ", "  ", "\u00a0", " \u00a0"])


def any_case(text: str) -> st.SearchStrategy[str]:
    """The same word with each letter in upper or lower case."""
    return st.lists(st.booleans(), min_size=len(text), max_size=len(text)).map(
        lambda upper: "".join(c.upper() if u else c for c, u in zip(text, upper, strict=True))
    )


@st.composite
def month_name(draw: st.DrawFn, month: int) -> str:
    return draw(any_case(draw(st.sampled_from(MONTH_NAMES[month]))))


# --- dates -----------------------------------------------------------------------------------


@given(dates, spaces, spaces)
def test_dd_mm_yyyy_text_parses_to_the_same_date(day: dt.date, before: str, after: str) -> None:
    assert parse_date(f"{before}{day.day:02d}/{day.month:02d}/{day.year}{after}") == day


@given(dates)
def test_d_m_yyyy_without_leading_zeros_parses_to_the_same_date(day: dt.date) -> None:
    assert parse_date(f"{day.day}/{day.month}/{day.year}") == day


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_dd_mm_yy_text_is_a_date_of_the_2000s(day: dt.date) -> None:
    assert parse_date(f"{day.day:02d}/{day.month:02d}/{day.year % 100:02d}") == day


@given(dates)
def test_iso_text_parses_to_the_same_date(day: dt.date) -> None:
    assert parse_date(f"{day.year:04d}-{day.month:02d}-{day.day:02d}") == day


@given(st.data(), dates)
def test_french_text_date_parses_to_the_same_date(data: st.DataObject, day: dt.date) -> None:
    name = data.draw(month_name(day.month))
    assert parse_date(f"{day.day} {name} {day.year}") == day


@given(st.data(), dates)
def test_first_of_month_written_1er_parses_to_the_first(data: st.DataObject, day: dt.date) -> None:
    name = data.draw(month_name(day.month))
    assert parse_date(f"1er {name} {day.year}") == day.replace(day=1)


def test_french_text_examples_of_the_design() -> None:
    assert parse_date("12 septembre 2022") == dt.date(2022, 9, 12)
    assert parse_date("1er août 2022") == dt.date(2022, 8, 1)
    assert parse_date("1ER AOUT 2022") == dt.date(2022, 8, 1)
    assert parse_date("12/09/22") == dt.date(2022, 9, 12)


@given(serial_dates)
def test_excel_serial_number_parses_to_the_same_date(day: dt.date) -> None:
    serial = to_serial(day)
    assert parse_date(serial) == day
    assert parse_date(float(serial)) == day


@given(serial_dates, st.floats(min_value=0, max_value=0.999, allow_nan=False))
def test_excel_serial_with_a_time_of_day_is_that_day(day: dt.date, fraction: float) -> None:
    assert parse_date(to_serial(day) + fraction) == day


def test_known_serial_number() -> None:
    # 45292 is 2024-01-01 in Excel's 1900 date system.
    assert parse_date(45292) == dt.date(2024, 1, 1)


@given(dates)
def test_real_dates_and_datetimes_are_kept(day: dt.date) -> None:
    assert parse_date(day) == day
    assert parse_date(dt.datetime(day.year, day.month, day.day, 14, 30)) == day


@pytest.mark.parametrize("value", [None, "", "   ", "\u00a0"])
def test_empty_cell_is_no_date(value: object) -> None:
    assert parse_date(value) is None


@pytest.mark.parametrize(
    "text",
    [
        "31/02/2022",
        "30/02/2022",
        "29/02/2023",
        "29/02/2100",
        "31/04/2022",
        "00/01/2022",
        "2022-02-30",
    ],
)
def test_impossible_date_is_unreadable(text: str) -> None:
    with pytest.raises(Unreadable, match="date illisible") as exc:
        parse_date(text)
    assert f"« {text} »" in str(exc.value)


@given(st.integers(min_value=1900, max_value=2199), st.sampled_from(["30", "31", "29"]))
def test_february_days_that_do_not_exist_are_unreadable(year: int, day: str) -> None:
    assume(not (day == "29" and calendar.isleap(year)))
    with pytest.raises(Unreadable, match="date illisible"):
        parse_date(f"{day}/02/{year}")


@given(st.integers(min_value=1900, max_value=2199).filter(calendar.isleap))
def test_29_february_of_a_leap_year_is_a_date(year: int) -> None:
    assert parse_date(f"29/02/{year}") == dt.date(year, 2, 29)


def test_february_30_written_in_words_is_unreadable() -> None:
    with pytest.raises(Unreadable, match="date illisible"):
        parse_date("30 février 2022")


@pytest.mark.parametrize("text", ["12/09", "12/9", "1.9"])
def test_date_without_year_is_unreadable_and_says_the_year_is_missing(text: str) -> None:
    with pytest.raises(Unreadable, match="l'année manque"):
        parse_date(text)


@pytest.mark.parametrize("text", ["09/13/2022", "13/13/2022"])
def test_month_first_dates_are_not_guessed(text: str) -> None:
    with pytest.raises(Unreadable):
        parse_date(text)


@pytest.mark.parametrize("value", [2022, 12.0, "2022", "bientôt", "12 brumaire 2022", True])
def test_values_that_are_not_dates_are_unreadable(value: object) -> None:
    with pytest.raises(Unreadable):
        parse_date(value)


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 234,5", Measure(1234.5, False)),
        ("1\u00a0234,5", Measure(1234.5, False)),
        ("1\u202f234,5", Measure(1234.5, False)),
        ("0,5", Measure(0.5, False)),
        ("0.5", Measure(0.5, False)),
        ("-3,25", Measure(-3.25, False)),
        (" 50 ", Measure(50.0, False)),
        ("\u00a050\u00a0", Measure(50.0, False)),
        ("50 %", Measure(0.5, True)),
        ("50\u00a0%", Measure(0.5, True)),
        ("50%", Measure(0.5, True)),
        ("12,5 %", Measure(0.125, True)),
        (42, Measure(42.0, False)),
        (4.2, Measure(4.2, False)),
    ],
)
def test_numbers_as_typed_in_french_sheets(text: object, expected: Measure) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize("value", [None, "", "  "])
def test_empty_cell_is_no_number(value: object) -> None:
    assert parse_number(value) is None


@pytest.mark.parametrize("text", ["abc", "1,2,3", "1.234,5", "12 euros", "%", True, float("inf")])
def test_values_that_are_not_numbers_are_unreadable(text: object) -> None:
    with pytest.raises(Unreadable, match="nombre attendu"):
        parse_number(text)


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), st.integers(0, 6))
def test_any_number_written_with_a_decimal_comma_parses_to_its_value(
    number: float, places: int
) -> None:
    text = f"{number:.{places}f}"
    assert parse_number(text.replace(".", ",")) == Measure(float(text), False)


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False), st.sampled_from([" ", "\u00a0"]))
def test_spaces_as_thousands_separators_are_ignored(number: float, sep: str) -> None:
    english = f"{number:,.2f}"  # 1,234,567.89
    french = english.replace(",", sep).replace(".", ",")  # 1 234 567,89
    assert parse_number(french) == Measure(float(english.replace(",", "")), False)


# --- percentages (rule 10) and measures -----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "percent_format", "expected"),
    [
        (50, False, 0.5),
        (0.5, False, 0.5),
        (1, False, 1.0),
        (0, False, 0.0),
        (100, False, 1.0),
        ("50 %", False, 0.5),
        ("50%", False, 0.5),
        ("0,5", False, 0.5),
        ("50", False, 0.5),
        (0.5, True, 0.5),
        (1.5, True, 1.5),
        (150, False, 1.5),
    ],
)
def test_avancement_percent_rule(value: object, percent_format: bool, expected: float) -> None:
    assert parse_percent(value, percent_format) == pytest.approx(expected)


@given(st.floats(min_value=0, max_value=1, allow_nan=False))
def test_plain_number_from_0_to_1_is_a_fraction(fraction: float) -> None:
    assert parse_percent(fraction) == fraction


@given(st.floats(min_value=1, max_value=1000, exclude_min=True, allow_nan=False))
def test_plain_number_above_1_is_a_percentage(number: float) -> None:
    assert parse_percent(number) == pytest.approx(number / 100)


@given(st.integers(min_value=0, max_value=100))
def test_text_with_percent_sign_is_a_percentage(number: int) -> None:
    assert parse_percent(f"{number} %") == pytest.approx(number / 100)


def test_empty_avancement_is_none() -> None:
    assert parse_percent(None) is None
    assert parse_percent("  ") is None


def test_measure_keeps_plain_numbers_and_reads_percentages_as_fractions() -> None:
    assert parse_measure("92 %") == Measure(0.92, True)
    assert parse_measure(0.92, percent_format=True) == Measure(0.92, True)
    assert parse_measure(92) == Measure(92.0, False)
    assert parse_measure("12,5") == Measure(12.5, False)


# --- months (rule 11) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2022-09",
        "09/2022",
        "9/2022",
        "septembre 2022",
        "Septembre 2022",
        "SEPTEMBRE 2022",
        "sept. 2022",
        "sept 2022",
        " septembre\u00a02022 ",
        dt.date(2022, 9, 12),
        dt.datetime(2022, 9, 30, 18, 0),
        "12/09/2022",
        to_serial(dt.date(2022, 9, 15)),
    ],
)
def test_period_forms_give_the_month(value: object) -> None:
    assert parse_month(value) == dt.date(2022, 9, 1)


@given(
    st.data(), st.integers(min_value=1, max_value=12), st.integers(min_value=1980, max_value=2100)
)
def test_any_month_written_in_french_words_is_that_month(
    data: st.DataObject, month: int, year: int
) -> None:
    name = data.draw(month_name(month))
    assert parse_month(f"{name} {year}") == dt.date(year, month, 1)


@given(st.integers(min_value=1, max_value=12), st.integers(min_value=1980, max_value=2100))
def test_any_numeric_month_is_that_month(month: int, year: int) -> None:
    expected = dt.date(year, month, 1)
    assert parse_month(f"{year}-{month:02d}") == expected
    assert parse_month(f"{month:02d}/{year}") == expected
    assert parse_month(f"{month}/{year}") == expected


@pytest.mark.parametrize(
    "value",
    ["2022-13", "13/2022", "00/2022", "septembre", "T3 2022", "brumaire 2022", "2022", "bientôt"],
)
def test_other_period_forms_are_rejected(value: object) -> None:
    with pytest.raises(Unreadable, match="mois illisible"):
        parse_month(value)


def test_empty_period_is_none() -> None:
    assert parse_month(None) is None
    assert parse_month(" ") is None


# --- integers, booleans, texts ---------------------------------------------------------------


@pytest.mark.parametrize("value", [12, "12", 12.0, "12,0", " 12 "])
def test_whole_numbers_are_integers(value: object) -> None:
    result = parse_integer(value)
    assert result == 12
    assert type(result) is int


@pytest.mark.parametrize("value", [12.5, "12,5", "12 %", "douze"])
def test_non_whole_numbers_are_rejected_as_integers(value: object) -> None:
    with pytest.raises(Unreadable, match=r"nombre (entier )?attendu"):
        parse_integer(value)


def test_half_integer_message_names_the_value() -> None:
    with pytest.raises(Unreadable, match="nombre entier attendu, « 12,5 » trouvé"):
        parse_integer(12.5)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Oui", True), ("oui ", True), ("NON", False), ("Non", False), (True, True), (None, None)],
)
def test_oui_non(value: object, expected: bool | None) -> None:
    assert parse_boolean(value) is expected


def test_oui_non_rejects_other_words() -> None:
    with pytest.raises(Unreadable, match="Oui ou Non attendu"):
        parse_boolean("peut-être")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  En cours  ", "En cours"),
        ("En\u00a0cours\n", "En cours"),
        (12.0, "12"),
        (dt.date(2022, 9, 12), "12/09/2022"),
        ("   ", None),
        (None, None),
    ],
)
def test_text_cells_lose_stray_spaces(value: object, expected: str | None) -> None:
    assert parse_text(value) == expected
