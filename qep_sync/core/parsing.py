"""Cell values as spreadsheets really hold them, turned into typed values or a French reason.

Each parser takes what a reader returns (str, float, int, bool, date, datetime or None)
and returns the typed value, or raises ``Unreadable`` with the message for the report.
Nothing here guesses: a date that is not clearly day/month/year is reported, not fixed.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from qep_sync.cells import EXCEL_EPOCH
from qep_sync.text import clean, fold

# A serial number outside these years is a typing slip (2022 typed in a date cell), not a date.
PLAUSIBLE_YEARS = range(1980, 2101)

MONTHS = {
    "janvier": 1,
    "janv": 1,
    "jan": 1,
    "fevrier": 2,
    "fevr": 2,
    "fev": 2,
    "mars": 3,
    "mar": 3,
    "avril": 4,
    "avr": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "juil": 7,
    "aout": 8,
    "septembre": 9,
    "sept": 9,
    "sep": 9,
    "octobre": 10,
    "oct": 10,
    "novembre": 11,
    "nov": 11,
    "decembre": 12,
    "dec": 12,
}
_WEEKDAYS = r"(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\s+"
_NUMERIC_DATE = re.compile(r"^(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4}|\d{2})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ t]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_TEXT_DATE = re.compile(rf"^(?:{_WEEKDAYS})?(\d{{1,2}})(?:er)?\s+([a-z]+)\.?\s+(\d{{4}})$")
_PARTIAL_DATE = re.compile(r"^\d{1,2}\s*[/.\-]\s*\d{1,2}$")
_MONTH_NUMERIC = re.compile(r"^(?:(\d{4})\s*[-/]\s*(\d{1,2})|(\d{1,2})\s*[-/.]\s*(\d{4}))$")
_MONTH_TEXT = re.compile(r"^([a-z]+)\.?\s+(\d{4})$")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")

TRUE_WORDS = {"oui", "o", "vrai", "x", "yes", "true", "1"}
FALSE_WORDS = {"non", "n", "faux", "no", "false", "0"}


class Unreadable(ValueError):
    """A cell value that cannot be read as the column's type; the message is French."""


@dataclass(frozen=True)
class Measure:
    """A number and whether the sheet wrote it as a percentage (92 % is 0.92, percent=True)."""

    value: float
    percent: bool


def is_empty(value: object) -> bool:
    """True for an absent cell, an empty text or a text of spaces only."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()  # str.strip also removes non-breaking spaces
    return isinstance(value, float) and math.isnan(value)


def bare(row: list[object]) -> bool:
    """True for a row of absent cells only (``""`` or None), tested at C speed.

    The rows under a far cell are such rows (calamine pads the rectangle with ``""``, the
    streaming reader gives empty lists): walking them cell by cell made one check of a
    sheet with a single far cell take seconds.
    """
    return row.count("") + row.count(None) == len(row)


def blank_row(row: list[object]) -> bool:
    """True when every cell of a row is empty (``is_empty``)."""
    return bare(row) or all(is_empty(v) for v in row)


def show(value: object) -> str:
    """A raw cell value as a user would recognise it in a message."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.strftime("%d/%m/%Y")
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, bool):
        return "VRAI" if value else "FAUX"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value).replace(".", ",")
    return str(value).strip()


QUOTE_LIMIT = 80


def brief(value: object) -> str:
    """A raw value quoted in a message, cut short so a Contrôle cell stays readable."""
    text = show(value)
    return text if len(text) <= QUOTE_LIMIT else text[: QUOTE_LIMIT - 1] + "…"


def _checked_date(year: int, month: int, day: int, raw: object) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise Unreadable(f"date illisible « {brief(raw)} »") from None


def from_serial(serial: float, raw: object | None = None) -> dt.date:
    """An Excel serial number (1900 system) as a date, if it is a plausible one."""
    if math.isnan(serial) or math.isinf(serial):
        raise Unreadable(f"date illisible « {brief(raw if raw is not None else serial)} »")
    day = EXCEL_EPOCH + dt.timedelta(days=math.floor(serial)) if 0 < serial < 2958466 else None
    if day is None or day.year not in PLAUSIBLE_YEARS:
        raise Unreadable(
            f"« {brief(raw if raw is not None else serial)} » n'est pas une date "
            "(saisir la date sous la forme jj/mm/aaaa)"
        )
    return day


def parse_date(value: object) -> dt.date | None:
    """A date from an Excel date, a serial number or a French text; None when empty."""
    if is_empty(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise Unreadable(f"date attendue, « {brief(value)} » trouvé")
    if isinstance(value, int | float):
        return from_serial(float(value), value)
    if isinstance(value, dt.time | dt.timedelta):
        raise Unreadable(f"date attendue, une heure « {value} » trouvée")
    text = fold(clean(str(value)))
    if m := _NUMERIC_DATE.match(text):
        day, month, year = int(m[1]), int(m[2]), m[3]
        full_year = int(year) if len(year) == 4 else 2000 + int(year)
        return _checked_date(full_year, month, day, value)
    if m := _ISO_DATE.match(text):
        return _checked_date(int(m[1]), int(m[2]), int(m[3]), value)
    if m := _TEXT_DATE.match(text):
        named = MONTHS.get(m[2])
        if named is None:
            raise Unreadable(f"date illisible « {brief(value)} » (mois inconnu)")
        return _checked_date(int(m[3]), named, int(m[1]), value)
    if _PARTIAL_DATE.match(text):
        raise Unreadable(f"date incomplète « {brief(value)} » : l'année manque")
    if _NUMBER.match(text):
        raise Unreadable(
            f"« {brief(value)} » n'est pas une date (saisir la date sous la forme jj/mm/aaaa)"
        )
    raise Unreadable(f"date illisible « {brief(value)} »")


def parse_month(value: object) -> dt.date | None:
    """A month (returned as its first day) from a date or a text like 2022-09 or sept. 2022."""
    if is_empty(value):
        return None
    if isinstance(value, dt.date | int | float) and not isinstance(value, bool):
        day = parse_date(value)
        return day.replace(day=1) if day else None
    text = fold(clean(str(value)))
    if m := _MONTH_NUMERIC.match(text):
        year, month = (int(m[1]), int(m[2])) if m[1] else (int(m[4]), int(m[3]))
        if not 1 <= month <= 12:
            raise Unreadable(f"mois illisible « {brief(value)} »")
        return dt.date(year, month, 1)
    if m := _MONTH_TEXT.match(text):
        named = MONTHS.get(m[1])
        if named is None:
            raise Unreadable(f"mois illisible « {brief(value)} »")
        return dt.date(int(m[2]), named, 1)
    try:
        day = parse_date(value)
    except Unreadable:
        raise Unreadable(
            f"mois illisible « {brief(value)} » (attendu par exemple 2022-09 ou septembre 2022)"
        ) from None
    return day.replace(day=1) if day else None


def parse_number(value: object) -> Measure | None:
    """A number from a cell; decimal commas, spaces as thousands separators and % accepted."""
    if is_empty(value):
        return None
    if isinstance(value, bool):
        raise Unreadable(f"nombre attendu, « {brief(value)} » trouvé")
    if isinstance(value, int | float):
        if math.isnan(value) or math.isinf(value):
            raise Unreadable(f"nombre attendu, « {brief(value)} » trouvé")
        return Measure(float(value), False)
    text = clean(str(value)).replace(" ", "")
    percent = text.endswith("%")
    if percent:
        text = text[:-1]
    if text.count(",") + text.count(".") > 1 or not _NUMBER.match(text):
        raise Unreadable(f"nombre attendu, « {brief(value)} » trouvé")
    number = float(text.replace(",", "."))
    return Measure(number / 100 if percent else number, percent)


def parse_percent(value: object, percent_format: bool = False) -> float | None:
    """A rate as a fraction: 50 %, 0,5 and 50 all give 0.5 (docs/contract.md §3.1 rule 10)."""
    measure = parse_number(value)
    if measure is None:
        return None
    if measure.percent or percent_format:
        return measure.value
    return measure.value / 100 if measure.value > 1 else measure.value


def parse_measure(value: object, percent_format: bool = False) -> Measure | None:
    """A measured value: percentages become fractions (92 % -> 0.92), plain numbers stay."""
    measure = parse_number(value)
    if measure is None:
        return None
    return Measure(measure.value, measure.percent or percent_format)


def parse_integer(value: object) -> int | None:
    """A whole number; 12, « 12 » and 12,0 give 12, 12,5 is reported."""
    measure = parse_number(value)
    if measure is None:
        return None
    if measure.percent or not float(measure.value).is_integer():
        raise Unreadable(f"nombre entier attendu, « {brief(value)} » trouvé")
    return int(measure.value)


def parse_boolean(value: object) -> bool | None:
    """Oui/Non (and Vrai/Faux, X) as a boolean."""
    if is_empty(value):
        return None
    if isinstance(value, bool):
        return value
    word = fold(show(value))
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise Unreadable(f"Oui ou Non attendu, « {brief(value)} » trouvé")


def parse_text(value: object) -> str | None:
    """A text cell with stray spaces removed; numbers and dates shown as the user sees them."""
    if isinstance(value, str):
        return clean(value) or None
    if is_empty(value):
        return None
    return clean(show(value))
