"""Tracker workbooks written from their plans (openpyxl): what a service expects of a template,
a styled and frozen header, widths, date and percent formats, dropdowns for allowed values.
A plan whose path ends in .ods is written by ``odsbooks`` instead, with the same layout.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from qep_sync import files
from qep_sync.cells import column_letter
from qep_sync.core.specs import Field, TrackerSpec
from qep_sync.errors import QepSyncError
from qep_sync.workspace.layout import (
    DATE_FORMAT,
    PERCENT_FORMAT,
    VALIDATION_ROWS,
    column_format,
    column_width,
    dropdown,
)
from qep_sync.workspace.odsbooks import write_ods_workbook
from qep_sync.workspace.plan import Formula, Percent, SheetPlan, WorkbookPlan

# --- Writing sheets --------------------------------------------------------------------------

HEADER_FONT = Font(bold=True, color="1F3864")
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="center")
HEADER_BORDER = Border(bottom=Side(style="thin", color="8EA9DB"))
TITLE_FONT = Font(bold=True, size=14)


def list_validation(f: Field, title: str) -> DataValidation | None:
    """A dropdown of the field's allowed values, or None when Excel cannot show it inline."""
    found = dropdown(f, title)
    if found is None:
        return None
    # A warning, not a stop: qep-sync accepts other spellings (« en cours », aliases).
    return DataValidation(
        type="list",
        formula1='"' + ",".join(found.values) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="warning",
        errorTitle="Valeur non prévue",
        error=found.message,
    )


def _write_value(ws: Worksheet, row: int, col: int, value: Any, date_format: str | None) -> None:
    if value is None:
        return
    cell = ws.cell(row=row, column=col)
    if isinstance(value, Percent):
        cell.value = value.value
        cell.number_format = PERCENT_FORMAT
    elif isinstance(value, Formula):
        cell.value = value.text
    elif isinstance(value, dt.date):
        cell.value = value
        cell.number_format = date_format or DATE_FORMAT
    elif isinstance(value, str):
        cell.value = value
        cell.data_type = "s"  # a text starting with « = » stays a text
    else:
        cell.value = value


def write_sheet(ws: Worksheet, plan: SheetPlan, spec: TrackerSpec) -> None:
    """Title rows, styled header, data and footer rows, formats, widths, dropdowns."""
    for r, text in enumerate(plan.preamble, start=1):
        if text:
            ws.cell(row=r, column=1, value=text).font = TITLE_FONT if r == 1 else Font(italic=True)
    h = plan.header_row
    fields = [spec.by_name.get(c) for c in plan.columns]
    formats = [
        plan.formats.get(c) or column_format(f) for c, f in zip(plan.columns, fields, strict=True)
    ]
    for c, (name, f) in enumerate(zip(plan.columns, fields, strict=True), start=1):
        cell = ws.cell(row=h, column=c, value=plan.headers.get(name) or (f.title if f else name))
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment, cell.border = HEADER_ALIGNMENT, HEADER_BORDER
    body = [*plan.rows, *plan.footer]
    for r, row in enumerate(body, start=h + 1):
        if row is None:
            continue
        for c, name in enumerate(plan.columns, start=1):
            _write_value(ws, r, c, row.get(name), formats[c - 1])
    last_row = h + len(plan.rows)
    sample = [row for row in plan.rows[:300] if row]
    for c, (name, f) in enumerate(zip(plan.columns, fields, strict=True), start=1):
        letter = column_letter(c - 1)
        header = plan.headers.get(name) or (f.title if f else name)
        dim = ws.column_dimensions[letter]
        dim.width = column_width(header, f, (row.get(name) for row in sample), formats[c - 1])
        if formats[c - 1]:
            dim.number_format = formats[c - 1]  # what the service types next gets the format too
        validation = list_validation(f, header) if f else None
        if validation is not None:
            ws.add_data_validation(validation)
            validation.add(f"{letter}{h + 1}:{letter}{max(VALIDATION_ROWS, last_row + 500)}")
    if any("\n" in ws.cell(row=h, column=c).value for c in range(1, len(plan.columns) + 1)):
        ws.row_dimensions[h].height = 30
    ws.freeze_panes = f"A{h + 1}"
    ws.auto_filter.ref = f"A{h}:{column_letter(len(plan.columns) - 1)}{max(last_row, h + 1)}"


def write_workbook(path: Path, plan: WorkbookPlan, specs: dict[str, TrackerSpec]) -> None:
    """One workbook, written to a temporary file then moved into place (.xlsx, or .ods)."""
    if path.suffix.lower() == ".ods":
        write_ods_workbook(path, plan, specs)
        return
    wb = Workbook()
    default = wb.active
    for sheet in plan.sheets:
        write_sheet(wb.create_sheet(sheet.title), sheet, specs[sheet.tracker])
    if default is not None:
        wb.remove(default)
    try:
        files.replace_atomically(path, wb.save)
    except OSError as exc:
        raise QepSyncError(f"écriture impossible de {path} : {files.os_reason(exc)}") from None


def write_text(path: Path, text: str) -> None:
    try:
        files.replace_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except OSError as exc:
        raise QepSyncError(f"écriture impossible de {path} : {files.os_reason(exc)}") from None
