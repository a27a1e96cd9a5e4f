"""The consolidated view as plain data: tables of typed columns, and the charts drawn from them.

``consolidate`` fills a ``ConsolidatedView``; ``consolidated_workbook`` lays it out in the
workbook the quality lead opens. Neither knows the other's work.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

SHEETS = ("Synthèse", "Engagements", "Délais", "Indicateurs", "Échéances", "Anomalies")


class Percentage(float):
    """A number to show as a percentage in a column that also holds plain numbers."""


@dataclass(frozen=True)
class Column:
    """A column of a summary table. ``kind``: text, int, number, percent, date, month, datetime.

    ``colour``: ``status`` (cells coloured by their text), ``alarm`` (red when > 0),
    ``watch`` (orange when > 0), ``days`` (red when < 0).
    """

    title: str
    kind: str = "text"
    width: float | None = None
    colour: str | None = None


@dataclass(frozen=True)
class Chart:
    """A bar chart of one column of a table, one bar per row (the total row left out)."""

    title: str
    value_column: int
    category_column: int = 0


@dataclass
class ViewTable:
    """One sheet of the consolidated view."""

    title: str
    heading: str
    note: str
    columns: list[Column]
    rows: list[list[Any]]
    total: list[Any] | None = None
    frozen_columns: int = 1
    charts: list[Chart] = field(default_factory=list)


@dataclass
class ConsolidatedView:
    today: dt.date
    tables: list[ViewTable]

    def table(self, title: str) -> ViewTable:
        return next(t for t in self.tables if t.title == title)
