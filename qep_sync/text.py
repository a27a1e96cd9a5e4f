"""Lenient text matching used for headers, sheet titles and allowed values."""

from __future__ import annotations

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


def column_letter(index: int) -> str:
    """0-based column index to Excel letters: 0 -> A, 26 -> AA."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """Excel letters to a 0-based column index: A -> 0, AA -> 26."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def a1(row: int, col: int) -> str:
    """1-based row and 0-based column to an A1 reference."""
    return f"{column_letter(col)}{row}"
