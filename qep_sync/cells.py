"""Spreadsheet coordinates and date serials: A1 references and Excel's day numbers."""

from __future__ import annotations

import datetime as dt

EXCEL_EPOCH = dt.date(
    1899, 12, 30
)  # day 0 of the 1900 date system (Excel's 1900 leap-year bug included)


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


def to_serial(day: dt.date) -> int:
    """A date as an Excel serial number (1900 system)."""
    return (day - EXCEL_EPOCH).days
