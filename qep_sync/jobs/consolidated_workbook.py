"""Writes the consolidated workbook that qep-sync owns (openpyxl for layout and charts).

``write_view(view, path, known)`` recreates the owned sheets at their places,
keeps any other sheet (the quality lead's own), and replaces the file atomically, or leaves
it alone when Excel holds it open.

A sync that finds nothing new does not rewrite it: ``known`` is the ``ViewState`` recorded
after the last write (the digest of the view written, ``view_digest``, and the file's stamp
then). When this run's view has the same digest and the file still has that stamp, the
workbook already shows exactly this view and stays as it is. The digest covers everything
the sheets show, the day of the situation and the day the view was generated, but not the
time of day of « générée le … à HH:MM »: a second sync the same day with nothing new leaves
the time of the sync that wrote it (when the workbook last changed), never a past day. A
figure that changes, a new day, or a person who saved, moved or deleted the file (its stamp
differs) makes it rewritten.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import posixpath
import re
import time
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.series import SeriesLabel
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from qep_sync import __version__, files, vocabulary
from qep_sync.backends.ooxml import PackageError, open_package, sheet_parts
from qep_sync.core.findings import Severity
from qep_sync.jobs.view import (
    SHEETS,
    Chart,
    Column,
    ConsolidatedView,
    Delta,
    DeltaPercentage,
    Link,
    Percentage,
    ViewTable,
)

# Status colours, by the words the computed columns use (one mapping, vocabulary's), plus
# the severity words of the findings' columns.
RED = vocabulary.coloured(vocabulary.RED) | {Severity.ERROR.label}
ORANGE = vocabulary.coloured(vocabulary.ORANGE) | {Severity.WARNING.label}
GREEN = vocabulary.coloured(vocabulary.GREEN)


# ---------------------------------------------------------------- the workbook


ViewState = tuple[str, list[int] | None]  # (view_digest, the file's stamp after the write)


@dataclass
class ConsolidationResult:
    """What write_view did: written, skipped (locked, retried next run) or failed.

    ``written`` means the workbook holds this run's view: rewritten, or already identical
    (``rewritten`` False). ``state``: what to remember for the next run (None: nothing new).
    """

    status: str
    message: str
    path: Path
    rewritten: bool = False
    state: ViewState | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "message": self.message, "path": str(self.path)}


TITLE_ROW, NOTE_ROW, HEADER_ROW = 1, 2, 3
FORMATS = {"date": "DD/MM/YYYY", "month": "MM/YYYY", "datetime": "DD/MM/YYYY HH:MM",
           "percent": "0 %", "delta": "+0;-0;0", "delta_percent": '+0" pt";-0" pt";0" pt"',
           "link": "@"}  # fmt: skip
LINK_FONT = Font(color="0563C1", underline="single")
PAPER_A4 = "9"  # SpreadsheetML paperSize
PORTRAIT_WIDTH = 110  # characters of column width that fit an A4 page upright
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
_AFTER_LINKS = re.compile(rb"<(?:printOptions|pageMargins|pageSetup|headerFooter)\b")
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
HYPERLINK_TYPE = REL_NS + "/hyperlink"
LINK_ID = "rIdQepLink"  # ids of our links' relationships (openpyxl's are rId1, rId2...)
MAX_LINES = 8  # a row grows for a wrapped text up to this many lines
MAX_LINKS = 65_000  # Excel keeps at most 65,530 hyperlinks per sheet
EMPTY_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b"</Relationships>"
)
_ESCAPE_LIKE = re.compile("_(x[0-9A-Fa-f]{4}_)")


def view_digest(view: ConsolidatedView) -> str:
    """A digest of what the workbook shows for ``view``: every sheet's texts, figures (with
    their types: a rate and a number differ), columns, charts and blocks, and the qep-sync
    version that lays them out; the time of day of the headings left out (see the module)."""
    digest = hashlib.sha256(repr((__version__, view.title, view.today)).encode())
    for table in view.tables:
        heading = table.heading.replace(view.time_shown, "") if view.time_shown else table.heading
        digest.update(repr((table.title, heading, table.note, table.columns, table.frozen_columns,
                            table.charts, table.one_page)).encode())  # fmt: skip
        for values, bold in _lines(table):
            typed = values if isinstance(values, str) else [
                v if type(v) in _PLAIN else (type(v).__name__, v) for v in values
            ]  # fmt: skip
            digest.update(repr((typed, bold)).encode())
    return digest.hexdigest()


_PLAIN = {str, int, float, type(None), dt.date, dt.datetime, Link}  # their repr tells them apart


def _shows(path: Path, known: ViewState | None, digest: str) -> bool:
    """Whether the workbook at ``path`` already shows the view of ``digest``: the last
    write's, on a file nobody saved, moved or deleted since."""
    if known is None or known[0] != digest:
        return False
    stamp = files.stamp(path)
    return stamp is not None and list(stamp) == known[1]


def write_view(
    summary: ConsolidatedView, path: Path, known: ViewState | None = None
) -> ConsolidationResult:
    """Write the owned sheets into the workbook at ``path``; the lead's own sheets are kept.

    Left as it is when it already shows this view (``known``: the state the last write
    left, see the module); skipped when Excel or LibreOffice holds the file open (``~$name``
    beside it) or when it changes while being rebuilt; failed, and left untouched, when it
    exists but is not a readable workbook or cannot be written.
    """
    digest = view_digest(summary)
    if _shows(path, known, digest):
        return ConsolidationResult("written", f"{path.name} : consolidation déjà à jour, rien "
                                   "de nouveau depuis sa dernière écriture", path)  # fmt: skip
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
    services = summary.table("Synthèse").total or ["", ""]
    stamp = files.stamp(path)
    return ConsolidationResult("written", f"{path.name} : consolidation mise à jour "
                               f"({services[1]}, {counts['Échéances']} échéances, "
                               f"{counts['Réponses']} réponses attendues, "
                               f"{counts['Anomalies']} anomalies)", path, rewritten=True,
                               state=(digest, list(stamp) if stamp else None))  # fmt: skip


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
            rels = {_rels_name(p) for p in owned}
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


@dataclass
class _SheetRows:
    """What ``_save`` puts into an owned sheet's XML after openpyxl wrote it: its data rows,
    made as they are written (a big view's rows are never all held as XML at once)."""

    table: ViewTable
    styles: _StyleIds
    widths: list[float]
    links: list[tuple[str, str]] = field(default_factory=list)  # (cell, target), as written


def _fill(book: Workbook, summary: ConsolidatedView) -> dict[str, _SheetRows]:
    """Recreate the owned sheets at their places in ``book``; every other sheet stays.

    The sheets get their titles, headers, formats and charts here; their data rows and links
    come back as sheet XML for ``_save`` to put in: openpyxl spends about 15 µs per cell,
    which made the big case (300,000 cells) take many seconds.
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
    rows: dict[str, _SheetRows] = {}
    for title in sorted(SHEETS, key=order.index):
        table = summary.table(title)
        ws = book.create_sheet(title, order.index(title))
        _format_sheet(ws, table, summary)
        rows[title] = _SheetRows(table, styles, _widths(table))
    for ws in book.worksheets:
        ws.sheet_view.tabSelected = False
    book.active = book.sheetnames.index(SHEETS[0])
    book[SHEETS[0]].sheet_view.tabSelected = True  # one selected tab, or Excel groups them
    book.properties.creator = "qep-sync"
    book.properties.title = "Consolidation qualité"
    return rows


def _save(book: Workbook, rows: dict[str, _SheetRows], target: Path) -> None:
    """Save with openpyxl, then stream each owned sheet's data rows into its XML, and its
    links into its relationships (written after the sheets: the rows make the links)."""
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(buffer) as zin:
        parts = {p.part: p.title for p in sheet_parts(zin)}
        rels = {_rels_name(part): parts[part] for part in parts if parts[part] in rows}
        later = []
        with open(target, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                title = parts.get(info.filename)
                if info.filename in rels:
                    later.append(info)
                elif title in rows:
                    with zout.open(_deflated(info.filename, info.date_time), "w") as out:
                        _write_sheet(out, zin.read(info.filename), rows[title])
                else:
                    zout.writestr(info, zin.read(info.filename),
                                  compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)  # fmt: skip
            for info in later:
                with zout.open(_deflated(info.filename, info.date_time), "w") as out:
                    _write_link_rels(out, zin.read(info.filename), rows[rels[info.filename]].links)
            names = set(zin.namelist())
            for name, title in rels.items():
                if name not in names and rows[title].links:
                    with zout.open(_deflated(name, time.localtime()[:6]), "w") as out:
                        _write_link_rels(out, EMPTY_RELS, rows[title].links)


def _deflated(name: str, when: tuple[int, int, int, int, int, int]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, when)
    info.compress_type = zipfile.ZIP_DEFLATED  # at zlib's default level, as writestr's 6
    return info


def _write_sheet(out: IO[bytes], data: bytes, sheet: _SheetRows) -> None:
    """An owned sheet as openpyxl wrote it (no data rows), with its rows put in as they are
    made and its links after them (``<hyperlinks>`` comes before ``<printOptions>`` or
    ``<pageMargins>``)."""
    end = data.rindex(b"</sheetData>")
    table = sheet.table
    out.write(_DIMENSION.sub(f'<dimension ref="{_dimension(table)}"/>'.encode(), data[:end], 1))
    for chunk in _rows_xml(table, sheet.styles, sheet.widths, sheet.links):
        out.write(chunk)
    tail = data[end:]
    if sheet.links:
        at = _AFTER_LINKS.search(tail)
        place = at.start() if at else tail.rindex(b"</worksheet>")
        out.write(tail[:place])
        out.write(f'<hyperlinks xmlns:r="{REL_NS}">'.encode())
        for chunk in _chunks(f'<hyperlink ref="{ref}" r:id="{LINK_ID}{n}"/>'
                             for n, (ref, _) in enumerate(sheet.links, start=1)):  # fmt: skip
            out.write(chunk)
        out.write(b"</hyperlinks>")
        tail = tail[place:]
    out.write(tail)


def _chunks(texts: Iterable[str]) -> Iterator[bytes]:
    """``texts`` joined and encoded ROWS_PER_CHUNK at a time (a sheet's links, never all at
    once: tens of thousands in a big view)."""
    it = iter(texts)
    while chunk := "".join(islice(it, ROWS_PER_CHUNK)):
        yield chunk.encode()


def _rels_name(part: str) -> str:
    return posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")


def _write_link_rels(out: IO[bytes], data: bytes, links: list[tuple[str, str]]) -> None:
    """A sheet's relationships (``data``) with one per link added, streamed."""
    end = data.rindex(b"</Relationships>")
    out.write(data[:end])
    for chunk in _chunks(f'<Relationship Id="{LINK_ID}{n}" Type="{HYPERLINK_TYPE}" '
                         f'Target={quoteattr(target)} TargetMode="External"/>'
                         for n, (_, target) in enumerate(links, start=1)):  # fmt: skip
        out.write(chunk)
    out.write(data[end:])


def _lines(table: ViewTable) -> Iterator[tuple[list[Any] | str, bool]]:
    """The rows under the header as written: data, total (bold), then each block's caption
    (a text) and rows; made as they are read (a long list may be read from the disk)."""
    for values in table.rows:
        yield values, False
    if table.total:
        yield table.total, True
    for block in table.blocks:
        yield "", False
        yield block.caption, True
        for values in block.rows:
            yield values, False


def _line_count(table: ViewTable) -> int:
    """How many lines ``_lines`` makes."""
    return len(table.rows) + bool(table.total) + sum(2 + len(b.rows) for b in table.blocks)


def _dimension(table: ViewTable) -> str:
    last = HEADER_ROW + _line_count(table)
    return f"A1:{get_column_letter(max(len(table.columns), 1))}{last}"


def _format_sheet(ws: Worksheet, table: ViewTable, view: ConsolidatedView) -> None:
    """Title, note, header row, widths, freeze, filter, colours, charts and print setup."""
    ncols = len(table.columns)
    _text(ws, TITLE_ROW, 1, table.heading).font = Font(bold=True, size=14)
    _text(ws, NOTE_ROW, 1, table.note).font = Font(italic=True, color="595959")
    widths = _widths(table)
    lines = 1
    for j, column in enumerate(table.columns, start=1):
        cell = _text(ws, HEADER_ROW, j, column.title)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.border = HEADER_BORDER
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        width = widths[j - 1]
        ws.column_dimensions[get_column_letter(j)].width = width
        lines = max(lines, _wrapped_lines(column.title, width))
    ws.row_dimensions[HEADER_ROW].height = 15 * lines + 3
    first, last = HEADER_ROW + 1, HEADER_ROW + len(table.rows)
    if table.rows:
        _colour(ws, table, first, last)
    ws.freeze_panes = f"{get_column_letter(table.frozen_columns + 1)}{first}"  # no cell made
    ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(ncols)}{max(last, HEADER_ROW)}"
    _print_setup(ws, table, view, sum(widths))
    below = HEADER_ROW + _line_count(table) + 3
    for n, chart in enumerate(table.charts):
        per_row = 2
        anchor = f"{get_column_letter(1 + (n % per_row) * 9)}{below + (n // per_row) * 20}"
        _add_chart(ws, table, chart, anchor)


def _wrapped_lines(title: str, width: float) -> int:
    """How many lines a header takes when wrapped at word boundaries in ``width`` characters."""
    lines, used = 1, 0
    for word in title.split():
        if used and used + 1 + len(word) > width - 1:
            lines, used = lines + 1, len(word)
        else:
            used += len(word) + (1 if used else 0)
    return lines


def _print_setup(ws: Worksheet, table: ViewTable, view: ConsolidatedView, width: float) -> None:
    """A4, upright or landscape by width, fit to the page width (one page for the COPIL),
    the header row on every page, a page header with the title and date, page numbers."""
    ws.page_setup.paperSize = PAPER_A4
    ws.page_setup.orientation = "portrait" if width <= PORTRAIT_WIDTH else "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if table.one_page else 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = table.one_page
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.75
    ws.page_margins.header = ws.page_margins.footer = 0.3
    ws.oddHeader.left.text = _header_text(view.title)
    ws.oddHeader.right.text = _header_text(f"{table.title} – situation au {view.today:%d/%m/%Y}")
    ws.oddFooter.center.text = "Page &P / &N"
    ws.oddFooter.right.text = "qep-sync"


def _header_text(text: str) -> str:
    return text.replace("&", "&&")  # « & » starts a field code in page headers


def _text(ws: Worksheet, row: int, col: int, text: str) -> Cell:
    """A text cell written through openpyxl: illegal characters dropped, never a formula."""
    cell = ws.cell(row, col, ILLEGAL_CHARACTERS_RE.sub("", text)[:MAX_TEXT])
    cell.data_type = "s"
    return cell


def _width(column: Column, rows: Sequence[list[Any]], j: int) -> float:
    longest = max((len(w) for w in column.title.split()), default=8)  # never cut a word
    if column.width is not None:
        return max(column.width, longest + 2.0)
    if column.kind in ("date", "month"):
        return max(12.0, longest + 2.0)
    if column.kind == "datetime":
        return max(17.0, longest + 2.0)
    sample = (len(str(r[j])) for r in rows if isinstance(r[j], str))
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
    if spec.kind == "line":
        ws.add_chart(_line_chart(ws, table, spec), anchor)
        return
    if spec.rows is not None:
        start, n = spec.rows
    else:  # down to the last row with a figure
        filled = [i for i, row in enumerate(table.rows) if row[spec.value_column] is not None]
        start, n = 0, (filled[-1] + 1) if filled else len(table.rows)
    first, last = HEADER_ROW + 1 + start, HEADER_ROW + max(n, start + 1)
    chart = BarChart()
    chart.type = "bar"
    chart.title = spec.title
    chart.legend = None
    values = Reference(ws, min_col=spec.value_column + 1, min_row=first, max_row=last)
    chart.add_data(values, titles_from_data=False)
    categories = Reference(ws, min_col=spec.category_column + 1, min_row=first, max_row=last)
    chart.series[0].cat = AxDataSource(strRef=StrRef(f=str(categories)))  # texts, not numbers
    if table.columns[spec.value_column].kind == "percent":
        _percent_axis(chart)
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
    chart.height = max(7.5, 0.55 * (last - first + 1) + 3)
    ws.add_chart(chart, anchor)


def _line_chart(ws: Worksheet, table: ViewTable, spec: Chart) -> LineChart:
    """One line per row of ``spec.rows`` (named by its category cell) over the month columns."""
    assert spec.rows is not None and spec.columns is not None
    (start, end), (c0, c1) = spec.rows, spec.columns
    chart = LineChart()
    chart.title = spec.title
    chart.legend.position = "b"
    for r in range(HEADER_ROW + 1 + start, HEADER_ROW + 1 + end):
        values = Reference(ws, min_col=c0 + 1, max_col=c1, min_row=r, max_row=r)
        chart.add_data(values, from_rows=True, titles_from_data=False)
        series = chart.series[-1]
        name = Reference(ws, min_col=spec.category_column + 1, min_row=r, max_row=r)
        series.tx = SeriesLabel(strRef=StrRef(f=str(name)))
        series.smooth = False
    months = Reference(ws, min_col=c0 + 1, max_col=c1, min_row=HEADER_ROW, max_row=HEADER_ROW)
    chart.set_categories(months)
    if spec.percent:
        _percent_axis(chart)
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.width = 16
    chart.height = 8
    return chart


def _percent_axis(chart: BarChart | LineChart) -> None:
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = 1
    chart.y_axis.number_format = "0%"


class _StyleIds:
    """Cell style indexes (the ``s`` attribute) for the data cells written as XML."""

    def __init__(self, book: Workbook) -> None:
        probe = book.create_sheet("qep-sync-styles")
        self.ids: dict[tuple[str, bool], int] = {}
        kinds = ("text", "wrap", *FORMATS)
        for n, (kind, bold) in enumerate((k, b) for k in kinds for b in (False, True)):
            cell = probe.cell(n + 1, 1)
            if kind in FORMATS:
                cell.number_format = FORMATS[kind]
            if kind == "link":
                cell.font = Font(bold=bold, color=LINK_FONT.color, underline="single")
            elif bold:
                cell.font = Font(bold=True)
            # Top-aligned: a line whose text wraps reads level with its figures.
            cell.alignment = Alignment(wrap_text=kind in ("wrap", "link"), vertical="top")
            self.ids[(kind, bold)] = cell.style_id  # registered in the workbook's styles
        book.remove(probe)
        self._attrs = {key: f' s="{sid}"' if sid else "" for key, sid in self.ids.items()}

    def attr(self, kind: str, bold: bool) -> str:
        return self._attrs[(kind, bold)]


def _widths(table: ViewTable) -> list[float]:
    sample = list(islice(table.rows, 500))  # the first rows tell the widths (read once)
    return [_width(column, sample, j) for j, column in enumerate(table.columns)]


def _height(values: list[Any], wrapped: list[float | None]) -> str:
    """A row's height attribute when a wrapped text takes more than one line (LibreOffice
    does not grow rows it reads from a file)."""
    lines = 1
    for value, width in zip(values, wrapped, strict=False):
        if width is not None and isinstance(value, str | Link):
            text = value.text if isinstance(value, Link) else value
            lines = max(lines, _wrapped_lines(text, width) if len(text) > width - 1 else 1)
    return f' ht="{15 * min(lines, MAX_LINES) + 1}" customHeight="1"' if lines > 1 else ""


ROWS_PER_CHUNK = 1000  # rows of XML encoded and written at a time
TAILS_KEPT = 4096  # distinct cells of a sheet whose XML is kept for the rows below


def _rows_xml(
    table: ViewTable, styles: _StyleIds, widths: list[float], links: list[tuple[str, str]]
) -> Iterator[bytes]:
    """The rows under the header as SpreadsheetML (texts are never formulas), a chunk of
    rows at a time; the (cell, target) of their links are added to ``links``."""
    wrapped = [w if c.wrap else None for c, w in zip(table.columns, widths, strict=True)]
    letters = [get_column_letter(j) for j in range(1, len(table.columns) + 1)]
    kinds = [c.kind for c in table.columns]
    out: list[str] = []
    tails: dict[tuple[Any, ...], str] = {}  # a cell's XML after its reference, by value
    for r, (values, bold) in enumerate(_lines(table), start=HEADER_ROW + 1):
        if isinstance(values, str):  # a block's caption
            if values:
                out.append(f'<row r="{r}"><c r="A{r}" t="inlineStr"{styles.attr("text", True)}>'
                           f"{_inline(values)}</c></row>")  # fmt: skip
            continue
        cells = []
        values = values + [None] * (len(letters) - len(values))  # a block's rows may be shorter
        for letter, kind, value, width in zip(letters, kinds, values, wrapped, strict=True):
            if value is None or value == "":
                continue
            ref = f"{letter}{r}"
            if isinstance(value, Link):
                cells.append(_cell_xml(ref, kind, value, bold, styles, links, width is not None))
                continue
            # Statuses, services, dates repeat down a column: each distinct one written once
            # (floats by their repr, so that -0.0 and 0.0 stay apart); the texts of one line
            # (labels) do not repeat: past TAILS_KEPT, a new value is written, not kept.
            cls = value.__class__
            key = (kind, cls, repr(value) if cls is float else value, bold, width is not None)
            tail = tails.get(key)
            if tail is None:
                xml = _cell_xml("", kind, value, bold, styles, links, width is not None)
                tail = xml[len('<c r=""') :] if xml else ""
                if len(tails) < TAILS_KEPT:
                    tails[key] = tail
            if tail:
                cells.append(f'<c r="{ref}"{tail}')
        out.append(f'<row r="{r}"{_height(values, wrapped)}>{"".join(cells)}</row>')
        if len(out) >= ROWS_PER_CHUNK:
            yield "".join(out).encode("utf-8")
            out.clear()
    yield "".join(out).encode("utf-8")


def _cell_xml(ref: str, kind: str, value: Any, bold: bool, styles: _StyleIds,
              links: list[tuple[str, str]], wrap: bool) -> str:  # fmt: skip
    if isinstance(value, Link):
        if value.target and len(links) < MAX_LINKS:
            links.append((ref, value.target))
        return f'<c r="{ref}" t="inlineStr"{styles.attr("link", bold)}>{_inline(value.text)}</c>'
    if isinstance(value, str):
        style = styles.attr("wrap" if wrap else "text", bold)
        return f'<c r="{ref}" t="inlineStr"{style}>{_inline(value)}</c>'
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"{styles.attr("text", bold)}><v>{int(value)}</v></c>'
    if isinstance(value, dt.date):
        style = "datetime" if isinstance(value, dt.datetime) else kind
        style = style if style in ("date", "month", "datetime") else "date"
        return f'<c r="{ref}"{styles.attr(style, bold)}><v>{to_excel(value)}</v></c>'
    if isinstance(value, int | float):
        if not math.isfinite(value):
            return ""
        number = int(value) if isinstance(value, int) else repr(float(value))
        return f'<c r="{ref}"{styles.attr(_number_style(kind, value), bold)}><v>{number}</v></c>'
    return f'<c r="{ref}" t="inlineStr"{styles.attr("text", bold)}>{_inline(str(value))}</c>'


def _number_style(kind: str, value: float) -> str:
    if isinstance(value, DeltaPercentage):
        return "delta_percent"
    if isinstance(value, Delta):
        return "delta"
    if isinstance(value, Percentage) or kind == "percent":
        return "percent"
    return "text"


@lru_cache(maxsize=2048)  # services, statuses, kinds and sources repeat on every line
def _inline(text: str) -> str:
    """An inline string; a text like « _x0041_ » is escaped, or Excel would show it as « A »."""
    text = _ESCAPE_LIKE.sub(r"_x005F_\1", ILLEGAL_CHARACTERS_RE.sub("", text)[:MAX_TEXT])
    text = escape(text)
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f"<is><t{space}>{text}</t></is>"
