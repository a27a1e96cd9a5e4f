"""What a tracker workbook of a plan looks like, whatever its format (.xlsx by ``workbooks``,
.ods by ``odsbooks``): the number format of each column, its width, the dropdown of its
allowed values. One copy, so that a bureau gets the same template in Excel or LibreOffice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from qep_sync.core.specs import Field

DATE_FORMAT = "dd/mm/yyyy"
MONTH_FORMAT = "mm/yyyy"
PERCENT_FORMAT = "0 %"
VALIDATION_ROWS = 2000  # dropdowns cover the header's next rows down to this row (at least)
MAX_LIST_FORMULA = 255  # Excel's limit for an inline list of values
MAX_MESSAGE = 225  # Excel's limit for a validation's message
MAX_WIDTH = 60


def column_format(f: Field | None) -> str | None:
    """The number format of a field's column, if it has one."""
    if f is None:
        return None
    if f.type == "date":
        return DATE_FORMAT
    if f.type == "month":
        return MONTH_FORMAT
    if f.format == "percent":
        return PERCENT_FORMAT
    return None


def column_width(
    header: str, f: Field | None, values: Iterable[Any], number_format: str | None = None
) -> float:
    """A width that shows the header and typical values, from the field's type."""
    base = 16
    if f is not None:
        base = {"date": 12, "month": 10, "integer": 9, "number": 10, "boolean": 8}.get(f.type, 16)
        if f.format == "email":
            base = 28
        if f.enum:
            base = max(base, max(len(v) for v in f.enum) + 4)  # room for the dropdown arrow
    if number_format and "mmmm" in number_format:
        base = max(base, 16)  # « septembre 2026 »
    header_width = max(len(line) for line in header.splitlines()) + 3
    longest = max((len(v) for v in values if isinstance(v, str)), default=0)
    return min(max(base, header_width, longest + 2), MAX_WIDTH)


@dataclass(frozen=True)
class Dropdown:
    """The allowed values a column offers, and what is said when another is typed."""

    values: tuple[str, ...]
    message: str


def dropdown(f: Field, title: str) -> Dropdown | None:
    """The dropdown of a field's allowed values, or None when Excel could not show it inline
    (the same limits for .ods, so that both templates offer the same lists)."""
    if not f.enum or any("," in v or '"' in v for v in f.enum):
        return None
    if len('"' + ",".join(f.enum) + '"') > MAX_LIST_FORMULA:
        return None  # too long for an inline list; qep-sync still checks the values
    allowed = ", ".join(f.enum)
    message = f"« {title} » : choisissez une valeur de la liste ({allowed})."
    if len(message) > MAX_MESSAGE:
        message = f"« {title} » : choisissez une valeur de la liste déroulante."
    return Dropdown(tuple(f.enum), message)
