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
