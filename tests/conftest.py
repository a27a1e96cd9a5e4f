"""Shared test helpers: real workbooks written with xlsxwriter, and the pinned date of the suite.

``make_workbook(path, {"Plan d'actions": [[...header...], [...row...]]})`` writes one sheet per
entry, row 0 of the list being sheet row 1 and column 0 column A (``start_col`` shifts it).
Cell values: ``str`` is written as text (never a formula), ``int``/``float`` as numbers,
``date``/``datetime`` as real Excel dates shown dd/mm/yyyy, ``bool`` as a boolean, ``None`` as
an empty cell, ``Percent(0.5)`` as the number 0.5 shown with the format ``0%`` (or the number
format given: ``Percent(0.5, "0.0 %")``). ``make_good_workbook(path)`` writes a clean action plan
(``GOOD_PLAN_ROWS``); ``TODAY`` and the ``today`` fixture are 26/11/2026. Nothing here is autouse.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

TODAY = dt.date(2026, 11, 26)
DEMO_NOW = dt.datetime(2026, 11, 26, 7, 30)  # the demo's wall clock on TODAY

# A clean action plan (no finding on TODAY): the « good workbook » of many tests.
PLAN_HEADER = ["N° action", "Engagement", "Action", "Échéance", "Avancement", "État",
               "Date de réalisation", "Email responsable"]  # fmt: skip
GOOD_PLAN_ROWS = [
    PLAN_HEADER,
    ["A1", 3, "Horaires affichés", dt.date(2027, 3, 1), 0.5, "En cours", None, "a.b@doubs.gouv.fr"],
    ["A2", 5, "Former l'accueil", dt.date(2026, 9, 30), 1, "Fait", dt.date(2026, 10, 2), None],
]


@dataclass(frozen=True)
class Percent:
    """A number written in a cell formatted as a percentage (``0%``): Percent(0.5) shows 50 %."""

    value: float
    num_format: str = "0%"


def make_workbook(path: Path, sheets: dict[str, list[list[Any]]], start_col: int = 0) -> Path:
    """Write a real .xlsx at ``path`` with the given sheets (title -> rows) and return ``path``."""
    book = xlsxwriter.Workbook(str(path))
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    formats: dict[str, Any] = {}
    for title, rows in sheets.items():
        sheet = book.add_worksheet(title)
        for r, row in enumerate(rows):
            for c, value in enumerate(row, start=start_col):
                if value is None:
                    continue
                if isinstance(value, Percent):
                    if value.num_format not in formats:
                        formats[value.num_format] = book.add_format(
                            {"num_format": value.num_format}
                        )
                    sheet.write_number(r, c, value.value, formats[value.num_format])
                elif isinstance(value, bool):
                    sheet.write_boolean(r, c, value)
                elif isinstance(value, dt.date):  # datetime included
                    sheet.write_datetime(r, c, value, date_format)
                elif isinstance(value, int | float):
                    sheet.write_number(r, c, value)
                else:
                    sheet.write_string(r, c, str(value))
    book.close()
    return path


def make_good_workbook(path: Path) -> Path:
    """A workbook with one clean « Plan d'actions » sheet (two actions, no finding on TODAY)."""
    return make_workbook(path, {"Plan d'actions": GOOD_PLAN_ROWS})


@pytest.fixture
def today() -> dt.date:
    """The date every test runs on (no test reads the machine's clock)."""
    return TODAY


# LibreOffice prints what qep-sync writes and poppler reads the PDF: CI installs both (.ci/run),
# so these tests skip only on a developer's machine without them.
needs_printing = pytest.mark.skipif(
    None in (shutil.which("soffice"), shutil.which("pdftotext")) and not os.environ.get("CI"),
    reason="LibreOffice (soffice) or poppler (pdftotext) absent; CI installs them",
)


@pytest.fixture(scope="session")
def synced_demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The demo workspace made, synced and its deliverables written on TODAY, once for every
    test that only reads it (a copy is made by those that change it)."""
    from qep_sync.workspace.demo import run_demo

    return run_demo(tmp_path_factory.mktemp("demo") / "demo", TODAY, DEMO_NOW)
