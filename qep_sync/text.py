"""French text: lenient matching (headers, sheet titles, allowed values), addresses, dates."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

_SPACES = re.compile(r"\s+")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "º": "°"})


def fold(text: object) -> str:
    """Case-, accent- and space-insensitive form of a header or value.

    « N° d’engagement\\n » and « n° d'Engagement » fold to the same key.
    """
    s = str(text).translate(_APOSTROPHES)
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = _SPACES.sub(" ", s).strip().lower()
    return s.rstrip("*: ").strip()


def clean(text: str) -> str:
    """A cell text with its stray spaces removed (non-breaking ones included)."""
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text  # already clean: most cells, and the hot path of reading
    return _SPACES.sub(" ", text.replace("\u00a0", " ").replace("\u202f", " ")).strip()


_EMAIL = re.compile(r"^[A-Za-z0-9._%+'\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")


def is_email(text: str) -> bool:
    """A plausible single email address (what a mail server would accept as a recipient)."""
    return bool(_EMAIL.match(text))


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet takes for a formula


def no_formula(text: str) -> str:
    """A text cell of a CSV that a spreadsheet never runs as a formula: a leading apostrophe
    when it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (as Excel
    itself shows text). Numbers are not texts: write them as numbers, never through this."""
    return "'" + text if text.startswith(FORMULA_START) else text


MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre")  # fmt: skip
MONTH_ABBREVIATIONS = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août",
                       "sept.", "oct.", "nov.", "déc.")  # fmt: skip
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def french_date(day: dt.date) -> str:
    """« 1er décembre 2026 », « 12 décembre 2026 »."""
    return f"{'1er' if day.day == 1 else day.day} {MONTHS[day.month - 1]} {day.year}"


def french_day(day: dt.date) -> str:
    """« jeudi 26 novembre 2026 »."""
    return f"{WEEKDAYS[day.weekday()]} {french_date(day)}"


def plural(n: int, word: str, words: str | None = None) -> str:
    """« 0 courriel », « 1 classeur », « 2 classeurs »: French counts 0 and 1 in the singular.

    ``words`` is the plural when it is not ``word`` + s (« 2 anomalies à corriger »,
    « 3 cellules écrites »); the number is grouped by thin spaces (« 12 345 cellules »).
    """
    return f"{number(n)} {word if -2 < n < 2 else (words or word + 's')}"


def number(n: int) -> str:
    """A whole number as French writes it: thousands grouped by a narrow no-break space."""
    return f"{n:,}".replace(",", "\u202f")
