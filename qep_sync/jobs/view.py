"""The consolidated view as plain data: tables of typed columns, and the charts drawn from them.

``consolidate`` fills a ``ConsolidatedView``; ``consolidated_workbook`` lays it out in the
workbook the quality lead opens. Neither knows the other's work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

SHEETS = ("COPIL", "Synthèse", "Engagements", "Échéances", "Réponses", "Délais", "Indicateurs",
          "Tendances", "Anomalies")  # fmt: skip


class Percentage(float):
    """A number to show as a percentage in a column that also holds plain numbers."""


class Delta(float):
    """A change since the last COPIL, shown with its sign."""


class DeltaPercentage(float):
    """A change of a rate since the last COPIL, in points, shown with its sign."""


@dataclass(frozen=True)
class Link:
    """A cell that opens its source: ``text`` shown, ``target`` a URL or a path relative to
    the consolidated workbook, with the sheet and cell after ``#``."""

    text: str
    target: str


@dataclass(frozen=True)
class Column:
    """A column of a summary table. ``kind``: text, int, number, percent, date, month, datetime.

    ``colour``: ``status`` (cells coloured by their text), ``alarm`` (red when > 0),
    ``watch`` (orange when > 0), ``days`` (red when < 0). Kinds ``delta`` and
    ``delta_percent`` show a change with its sign.
    """

    title: str
    kind: str = "text"
    width: float | None = None
    colour: str | None = None
    wrap: bool = False  # long texts wrapped in their cells


@dataclass(frozen=True)
class Chart:
    """A chart drawn from a table's rows (0-based, the total row left out).

    ``bar``: one bar per row of ``value_column``, named by ``category_column``, for the
    rows ``rows`` (default: down to the last row with a figure). ``line``: one line per row
    of ``rows``, named by ``category_column``, over the columns ``columns`` (the months of
    the header row).
    """

    title: str
    value_column: int = 0
    category_column: int = 0
    kind: str = "bar"
    rows: tuple[int, int] | None = None  # [first, end)
    columns: tuple[int, int] | None = None  # [first, end), line charts
    percent: bool = False


@dataclass
class Block:
    """Rows shown under a table's own, with a caption row (« Au dernier COPIL … »)."""

    caption: str
    rows: list[list[Any]]


@dataclass
class ViewTable:
    """One sheet of the consolidated view."""

    title: str
    heading: str
    note: str
    columns: list[Column]
    # A list, or for the long lists of a sync's view core.spill.SortedRows (read in turn).
    rows: Sequence[list[Any]]
    total: list[Any] | None = None
    frozen_columns: int = 1
    charts: list[Chart] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    one_page: bool = False  # printed on one page (the COPIL sheet)


@dataclass
class ConsolidatedView:
    today: dt.date
    tables: list[ViewTable]
    title: str = "Consolidation qualité"  # the page header of every sheet
    snapshot: list[Any] = field(default_factory=list)  # history.Figure: what the history keeps
    # The time of day the headings show (« à 10:15 »): not part of what makes two views the
    # same (consolidated_workbook.view_digest), their day is.
    time_shown: str = ""

    def table(self, title: str) -> ViewTable:
        return next(t for t in self.tables if t.title == title)
