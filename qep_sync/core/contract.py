"""What every backend gives the core: a source's sheets as plain rows, and a way to write
owned cells back. A new backend (LibreOffice .ods, Grist...) is one module implementing `Book`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class SheetData:
    """A worksheet's values, row 0 being sheet row 1 and column 0 column A.

    ``part`` is the backend's handle on the sheet: the zip entry of an .xlsx worksheet,
    the sheet id of a Google Sheets tab.
    """

    title: str
    rows: list[list[Any]]
    part: str | None = None


@dataclass
class OwnedLayout:
    """Where a sheet's owned columns stand, for what a backend may show around their cells
    (status colours, « computed » header prompts, wrapped `Contrôle`, the autofilter). A
    backend that cannot show them ignores it."""

    columns: dict[int, str] = field(default_factory=dict)  # every owned column -> its title
    first_row: int = 0  # the data rows, 1-based (0: none)
    last_row: int = 0
    colours: dict[int, dict[str, str]] = field(default_factory=dict)  # col -> {word: colour}
    wrapped: set[int] = field(default_factory=set)  # columns whose written cells wrap
    extend_autofilter: bool = True  # an autofilter over the table grows over the owned columns


@dataclass
class SheetPatch:
    """The owned cells to set in one worksheet; a value of None clears the cell."""

    title: str
    part: str
    header_row: int
    headers: dict[int, str] = field(default_factory=dict)  # new owned header cells: col -> text
    cells: dict[tuple[int, int], Any] = field(default_factory=dict)  # (row, col) -> value
    widths: dict[int, float] = field(default_factory=dict)  # new owned columns: col -> width
    date_columns: set[int] = field(default_factory=set)  # owned columns that hold dates
    # Columns that identify rows (key fields) -> their values as read, from row 1 down.
    anchors: dict[int, list[Any]] = field(default_factory=dict)
    layout: OwnedLayout | None = None  # applied with the cells, never written on its own

    @property
    def changed(self) -> int:
        return len(self.headers) + len(self.cells)


class SkippedWrite(Exception):
    """The source is not written this run (open in Excel, changed since read, rows moved).

    A warning, not a failure: it is retried at the next run. The message is French.
    """


class Book(Protocol):
    """One source as read: its sheets, and the operations that need the source again."""

    sheets: list[SheetData]

    def percent_cells(self, sheet: SheetData) -> set[tuple[int, int]]:
        """(row, 0-based column) of the cells shown as percentages."""
        ...

    def last_change(self) -> dt.datetime | None:
        """When the source last changed (aware datetime), if the backend knows."""
        ...

    def write(self, patches: list[SheetPatch]) -> list[str]:
        """Write owned cells; returns warnings for parts skipped (e.g. a tab whose rows moved).

        Raises SkippedWrite when nothing could be written this run, WriteBackError on failure.
        """
        ...
