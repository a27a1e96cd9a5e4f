"""Demo data for ``qep-sync init --demo``: five services of the Doubs prefecture and the quality
mission over the year that ends on ``today``, with a dozen anomalies planted on purpose.

Everything is deterministic (seeded ``random.Random``, dates counted from ``today``), so the
demo is always current and a test can compare ``check``'s findings with ``planted_anomalies``.
The data also has what real sheets have and ``check`` must accept silently: title rows above the
header, header aliases and line breaks, a user column of its own, an empty row, a total row,
dates typed as French text, « 50 % » typed as text, lower-case and alias values.
"""

from __future__ import annotations

import datetime as dt

from qep_sync.core.specs import TrackerSpec, load_specs
from qep_sync.workdays import WorkingCalendar
from qep_sync.workspace.demo_people import REFERENT
from qep_sync.workspace.demo_quality import (
    actions_sheet,
    autoevaluation_sheet,
    correspondants_sheet,
    documents_sheet,
    formations_sheet,
)
from qep_sync.workspace.demo_services import delais_sheet, indicateurs_sheet
from qep_sync.workspace.plan import (
    CENTRAL_BOOKS,
    SERVICES,
    WorkbookPlan,
    WorkspacePlan,
    central_name,
    central_path,
    service_path,
)

# --- The whole demo --------------------------------------------------------------------------


def build_demo(today: dt.date, specs: dict[str, TrackerSpec] | None = None) -> WorkspacePlan:
    """Every workbook of the demo workspace, with its planted anomalies."""
    specs = specs or load_specs()
    days = WorkingCalendar()
    books = [
        WorkbookPlan(service_path(s.code, s.suffix), s.code, s.name, [
            delais_sheet(s.code, specs["courriers"], today, days),
            indicateurs_sheet(s.code, specs["indicateurs"], today),
        ])
        for s in SERVICES
    ]  # fmt: skip
    central = {
        "autoevaluation": autoevaluation_sheet(specs["autoevaluation"], today),
        "plan_actions": actions_sheet(specs["plan_actions"], today),
        "documents": documents_sheet(specs["documents"], today),
        "formations": formations_sheet(specs["formations"], today),
        "correspondants": correspondants_sheet(specs["correspondants"]),
    }
    for book in CENTRAL_BOOKS:
        sheets = [central[book.tracker]]
        books.append(
            WorkbookPlan(central_path(book), book.code, central_name(book), sheets, central=True)
        )
    return WorkspacePlan(books, REFERENT.email, demo=True)


def manifest(plan: WorkspacePlan) -> list[tuple[str, str, str, str]]:
    """(file, sheet, cell, severity) of every anomaly planted in ``plan``."""
    return [
        (book.label, sheet.title, sheet.cell(p.index, p.column), p.severity)
        for book in plan.books
        for sheet in book.sheets
        for p in sheet.planted
    ]


def planted_anomalies(today: dt.date) -> list[tuple[str, str, str, str]]:
    """(file, sheet, cell, severity) of the anomalies the demo of ``today`` holds on purpose."""
    return manifest(build_demo(today))
