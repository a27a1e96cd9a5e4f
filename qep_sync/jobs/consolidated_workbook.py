"""Writes the consolidated workbook that qep-sync owns (openpyxl for layout and charts).

``write_view(view, path)`` recreates the six owned sheets at their places,
keeps any other sheet (the quality lead's own), and replaces the file atomically, or leaves
it alone when Excel holds it open.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import posixpath
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.chart.label import DataLabelList
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from qep_sync import files
from qep_sync.backends.ooxml import PackageError, open_package, sheet_parts
from qep_sync.core.findings import Severity
from qep_sync.jobs.view import SHEETS, Chart, Column, ConsolidatedView, Percentage, ViewTable
from qep_sync.vocabulary import (
    NO,
    YES,
    ActionStatus,
    AssessmentStatus,
    DocumentStatus,
    Level,
    ReplyStatus,
    TrainingStatus,
)

# Status colours, by the words the computed columns use.
RED = {ActionStatus.LATE, DocumentStatus.EXPIRED, DocumentStatus.DRAFTING_LATE,
       AssessmentStatus.DUE, Level.NON_COMPLIANT, NO, Severity.ERROR.label,
       ReplyStatus.LATE_REPLY}  # fmt: skip
ORANGE = {ActionStatus.DUE_SOON, DocumentStatus.TO_RENEW, ReplyStatus.WAITING,
          TrainingStatus.TO_PLAN, DocumentStatus.DRAFTING, Level.PARTIAL,
          Severity.WARNING.label}  # fmt: skip
GREEN = {ActionStatus.ON_TRACK, DocumentStatus.VALID, TrainingStatus.PLANNED,
         AssessmentStatus.UP_TO_DATE, Level.COMPLIANT, YES, ReplyStatus.ON_TIME,
         TrainingStatus.DONE, ActionStatus.DONE}  # fmt: skip


# ---------------------------------------------------------------- the workbook


@dataclass
class ConsolidationResult:
    """What write_view did: written, skipped (locked, retried next run) or failed."""

    status: str
    message: str
    path: Path

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "message": self.message, "path": str(self.path)}


TITLE_ROW, NOTE_ROW, HEADER_ROW = 1, 2, 3
FORMATS = {"date": "DD/MM/YYYY", "month": "MM/YYYY", "datetime": "DD/MM/YYYY HH:MM",
           "percent": "0 %"}  # fmt: skip
MAX_TEXT = 32_767  # Excel's limit for one cell
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
HEADER_BORDER = Border(bottom=Side(style="thin", color="8EA9DB"))
NUMBER_RULES = {"alarm": ("red", "greaterThan"), "watch": ("orange", "greaterThan"),
                "days": ("red", "lessThan")}  # fmt: skip
FILLS = {
    "red": (PatternFill("solid", fgColor="FFC7CE", bgColor="FFC7CE"), Font(color="9C0006")),
    "orange": (PatternFill("solid", fgColor="FFE0B2", bgColor="FFE0B2"), Font(color="8A4B00")),
    "green": (PatternFill("solid", fgColor="C6EFCE", bgColor="C6EFCE"), Font(color="006100")),
}
EMPTY_SHEET = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b"<sheetData/></worksheet>"
)
_DIMENSION = re.compile(rb'<dimension ref="[^"]*"\s*/>')
_ESCAPE_LIKE = re.compile("_(x[0-9A-Fa-f]{4}_)")


def write_view(summary: ConsolidatedView, path: Path) -> ConsolidationResult:
    """Write the six owned sheets into the workbook at ``path``; the lead's own sheets are kept.

    Skipped when Excel or LibreOffice holds the file open (``~$name`` beside it) or when it
    changes while being rebuilt; failed, and left untouched, when it exists but is not a
    readable workbook or cannot be written.
    """
    lock = files.owner_lock(path)
    if lock is not None:
        return ConsolidationResult("skipped", f"{path.name} : classeur ouvert par un utilisateur "
                                   f"({lock.name} présent) : non mis à jour, nouvel essai au "
                                   "prochain passage", path)  # fmt: skip
    before = files.stamp(path)
    try:
        book = _open(path)
    except PackageError as exc:
        message = (
            f"{path.name} : le fichier existant n'est pas un classeur lisible ({exc}) ; il n'est "
            "pas remplacé. Renommez-le ou déplacez-le pour que qep-sync en crée un nouveau."
        )
        return ConsolidationResult("failed", message, path)
    rows = _fill(book, summary)
    try:
        files.replace_atomically(path, lambda tmp: _save(book, rows, tmp), check=True,
                                 expected=before)  # fmt: skip
    except files.NotReplaced as exc:
        return ConsolidationResult("skipped", f"{path.name} : classeur {exc.reason} pendant sa "
                                   "mise à jour : non modifié, nouvel essai au prochain passage",
                                   path)  # fmt: skip
    except OSError as exc:
        return ConsolidationResult(
            "failed", f"{path.name} : écriture impossible ({files.os_reason(exc)})", path
        )
    counts = {t.title: len(t.rows) for t in summary.tables}
    return ConsolidationResult("written", f"{path.name} : consolidation mise à jour "
                               f"({counts['Synthèse']} services, {counts['Échéances']} échéances, "
                               f"{counts['Anomalies']} anomalies)", path)  # fmt: skip


def _open(path: Path) -> Workbook:
    """The existing consolidated workbook (its owned sheets emptied first: they are rebuilt, and
    parsing thousands of rows only to drop them would cost seconds), or a new one.

    Raises PackageError with a French reason when the file is not a readable workbook.
    """
    if not path.exists():
        book = Workbook()
        book.remove(book.worksheets[0])
        return book
    buffer = io.BytesIO()
    try:
        with open_package(path) as zin:
            owned = {p.part for p in sheet_parts(zin) if p.title in SHEETS}
            rels = {posixpath.join(posixpath.dirname(p), "_rels", posixpath.basename(p) + ".rels")
                    for p in owned}  # fmt: skip
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zout:
                for info in zin.infolist():
                    if info.filename in rels:
                        continue  # the old sheets' charts go with them
                    data = EMPTY_SHEET if info.filename in owned else zin.read(info.filename)
                    zout.writestr(info.filename, data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about the extensions it drops
            return openpyxl.load_workbook(buffer)
    except PackageError:
        raise
    except Exception as exc:  # zipfile and openpyxl raise many types for damaged content
        text = str(exc).strip().splitlines()
        raise PackageError(text[0][:200] if text else type(exc).__name__) from None


def _fill(book: Workbook, summary: ConsolidatedView) -> dict[str, tuple[bytes, str]]:
    """Recreate the owned sheets at their places in ``book``; every other sheet stays.

    The sheets get their titles, headers, formats and charts here; their data rows come back
    as sheet XML (title -> (rows, dimension)) for ``_save`` to put in: openpyxl spends about
    15 µs per cell, which made the big case (300,000 cells) take many seconds.
    """
    order = list(book.sheetnames)
    for i, title in enumerate(SHEETS):
        if title not in order:
            before = [t for t in SHEETS[:i] if t in order]
            order.insert(order.index(before[-1]) + 1 if before else 0, title)
    for title in SHEETS:
        if title in book.sheetnames:
            book.remove(book[title])
    styles = _StyleIds(book)
    rows: dict[str, tuple[bytes, str]] = {}
    for title in sorted(SHEETS, key=order.index):
        table = summary.table(title)
        ws = book.create_sheet(title, order.index(title))
        _format_sheet(ws, table)
        rows[title] = (_rows_xml(table, styles), _dimension(table))
    for ws in book.worksheets:
        ws.sheet_view.tabSelected = False
    book.active = book.sheetnames.index(SHEETS[0])
    book[SHEETS[0]].sheet_view.tabSelected = True  # one selected tab, or Excel groups them
    book.properties.creator = "qep-sync"
    book.properties.title = "Consolidation qualité"
    return rows


def _save(book: Workbook, rows: dict[str, tuple[bytes, str]], target: Path) -> None:
    """Save with openpyxl, then put each owned sheet's data rows into its XML."""
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(buffer) as zin:
        parts = {p.part: p.title for p in sheet_parts(zin)}
        with open(target, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                data = zin.read(info.filename)
                title = parts.get(info.filename)
                if title in rows:
                    body, dimension = rows[title]
                    end = data.rindex(b"</sheetData>")
                    data = data[:end] + body + data[end:]
                    data = _DIMENSION.sub(f'<dimension ref="{dimension}"/>'.encode(), data, 1)
                zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)


def _dimension(table: ViewTable) -> str:
    last = HEADER_ROW + len(table.rows) + (1 if table.total else 0)
    return f"A1:{get_column_letter(max(len(table.columns), 1))}{last}"


def _format_sheet(ws: Worksheet, table: ViewTable) -> None:
    """Title, note, header row, widths, freeze, filter, colours and charts of one sheet."""
    ncols = len(table.columns)
    _text(ws, TITLE_ROW, 1, table.heading).font = Font(bold=True, size=14)
    _text(ws, NOTE_ROW, 1, table.note).font = Font(italic=True, color="595959")
    for j, column in enumerate(table.columns, start=1):
        cell = _text(ws, HEADER_ROW, j, column.title)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.border = HEADER_BORDER
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[get_column_letter(j)].width = _width(column, table.rows, j - 1)
    ws.row_dimensions[HEADER_ROW].height = 32
    first, last = HEADER_ROW + 1, HEADER_ROW + len(table.rows)
    if table.rows:
        _colour(ws, table, first, last)
    ws.freeze_panes = f"{get_column_letter(table.frozen_columns + 1)}{first}"  # no cell made
    ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(ncols)}{max(last, HEADER_ROW)}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    below = last + (1 if table.total else 0) + 3
    for n, chart in enumerate(table.charts):
        _add_chart(ws, table, chart, anchor=f"{get_column_letter(1 + n * 9)}{below}")


def _text(ws: Worksheet, row: int, col: int, text: str) -> Cell:
    """A text cell written through openpyxl: illegal characters dropped, never a formula."""
    cell = ws.cell(row, col, ILLEGAL_CHARACTERS_RE.sub("", text)[:MAX_TEXT])
    cell.data_type = "s"
    return cell


def _width(column: Column, rows: list[list[Any]], j: int) -> float:
    if column.width is not None:
        return column.width
    if column.kind in ("date", "month"):
        return 12.0
    if column.kind == "datetime":
        return 17.0
    longest = max((len(w) for w in column.title.split()), default=8)
    sample = (len(str(r[j])) for r in rows[:500] if isinstance(r[j], str))
    return float(min(max(longest, 9, *sample) + 2, 60))


def _colour(ws: Worksheet, table: ViewTable, first: int, last: int) -> None:
    """Conditional formats (they follow the cells when the lead sorts or filters)."""
    for j, column in enumerate(table.columns):
        if column.colour is None:
            continue
        letter = get_column_letter(j + 1)
        area = f"{letter}{first}:{letter}{last}"
        if column.colour == "status":
            present = {r[j] for r in table.rows if isinstance(r[j], str)}
            for palette, values in (("red", RED), ("orange", ORANGE), ("green", GREEN)):
                fill, font = FILLS[palette]
                for value in sorted(present & values):
                    text = '"' + value.replace('"', '""') + '"'
                    ws.conditional_formatting.add(
                        area, CellIsRule(operator="equal", formula=[text], fill=fill, font=font)
                    )
        else:
            palette, operator = NUMBER_RULES[column.colour]
            fill, font = FILLS[palette]
            ws.conditional_formatting.add(
                area, CellIsRule(operator=operator, formula=["0"], fill=fill, font=font)
            )


def _add_chart(ws: Worksheet, table: ViewTable, spec: Chart, anchor: str) -> None:
    # Bars only down to the last row with a figure: central workbooks (no letters, no
    # self-assessment of their own) would otherwise add empty bars.
    filled = [i for i, row in enumerate(table.rows) if row[spec.value_column] is not None]
    n = (filled[-1] + 1) if filled else len(table.rows)
    first, last = HEADER_ROW + 1, HEADER_ROW + max(n, 1)
    chart = BarChart()
    chart.type = "bar"
    chart.title = spec.title
    chart.legend = None
    values = Reference(ws, min_col=spec.value_column + 1, min_row=HEADER_ROW, max_row=last)
    chart.add_data(values, titles_from_data=True)
    categories = Reference(ws, min_col=spec.category_column + 1, min_row=first, max_row=last)
    chart.series[0].cat = AxDataSource(strRef=StrRef(f=str(categories)))  # texts, not numbers
    if table.columns[spec.value_column].kind == "percent":
        chart.y_axis.scaling.min = 0
        chart.y_axis.scaling.max = 1
        chart.y_axis.number_format = "0%"
    chart.x_axis.scaling.orientation = "maxMin"  # bars in the table's order, top down
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.dataLabels = DataLabelList()
    chart.dataLabels.showVal = True
    # Said explicitly: LibreOffice shows series and category names when these are absent.
    chart.dataLabels.showSerName = False
    chart.dataLabels.showCatName = False
    chart.dataLabels.showLegendKey = False
    chart.dataLabels.showPercent = False
    chart.width = 16
    chart.height = max(7.5, 0.55 * n + 3)
    ws.add_chart(chart, anchor)


class _StyleIds:
    """Cell style indexes (the ``s`` attribute) for the data cells written as XML."""

    def __init__(self, book: Workbook) -> None:
        probe = book.create_sheet("qep-sync-styles")
        self.ids: dict[tuple[str, bool], int] = {}
        for n, (kind, bold) in enumerate((k, b) for k in ("text", *FORMATS) for b in (False, True)):
            cell = probe.cell(n + 1, 1)
            if kind in FORMATS:
                cell.number_format = FORMATS[kind]
            if bold:
                cell.font = Font(bold=True)
            self.ids[(kind, bold)] = cell.style_id  # registered in the workbook's styles
        book.remove(probe)

    def attr(self, kind: str, bold: bool) -> str:
        sid = self.ids[(kind, bold)]
        return f' s="{sid}"' if sid else ""


def _rows_xml(table: ViewTable, styles: _StyleIds) -> bytes:
    """The data rows (and total row) of a table as SpreadsheetML; texts are never formulas."""
    letters = [get_column_letter(j) for j in range(1, len(table.columns) + 1)]
    kinds = [c.kind for c in table.columns]
    rows = [(values, False) for values in table.rows]
    if table.total:
        rows.append((table.total, True))
    out: list[str] = []
    for r, (values, bold) in enumerate(rows, start=HEADER_ROW + 1):
        cells = []
        for letter, kind, value in zip(letters, kinds, values, strict=True):
            if value is None or value == "":
                continue
            ref = f"{letter}{r}"
            if isinstance(value, str):
                cells.append(f'<c r="{ref}" t="inlineStr"{styles.attr("text", bold)}>'
                             f"{_inline(value)}</c>")  # fmt: skip
            elif isinstance(value, bool):
                v = int(value)
                cells.append(f'<c r="{ref}" t="b"{styles.attr("text", bold)}><v>{v}</v></c>')
            elif isinstance(value, dt.date):
                style = "datetime" if isinstance(value, dt.datetime) else kind
                style = style if style in ("date", "month", "datetime") else "date"
                serial = to_excel(value)
                cells.append(f'<c r="{ref}"{styles.attr(style, bold)}><v>{serial}</v></c>')
            elif isinstance(value, int | float):
                if not math.isfinite(value):
                    continue
                style = "percent" if isinstance(value, Percentage) or kind == "percent" else "text"
                number = int(value) if isinstance(value, int) else repr(float(value))
                cells.append(f'<c r="{ref}"{styles.attr(style, bold)}><v>{number}</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="inlineStr"{styles.attr("text", bold)}>'
                             f"{_inline(str(value))}</c>")  # fmt: skip
        out.append(f'<row r="{r}">{"".join(cells)}</row>')
    return "".join(out).encode("utf-8")


def _inline(text: str) -> str:
    """An inline string; a text like « _x0041_ » is escaped, or Excel would show it as « A »."""
    text = _ESCAPE_LIKE.sub(r"_x005F_\1", ILLEGAL_CHARACTERS_RE.sub("", text)[:MAX_TEXT])
    text = escape(text)
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f"<is><t{space}>{text}</t></is>"
