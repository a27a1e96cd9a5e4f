"""Tracker workbooks written from their plans as LibreOffice .ods files: the same template as
``workbooks`` writes for Excel (``layout``: a styled and frozen header, widths, date and
percent formats, dropdowns of the allowed values), in OpenDocument's own terms.

The package is written as LibreOffice lays one out: the ``mimetype`` entry first and
stored, ``content.xml`` (the sheets; the dropdowns as ``table:content-validations``, a
warning and not a stop, as in Excel, since qep-sync accepts other spellings; the header's
autofilter as a database range), ``styles.xml``, ``settings.xml`` (the frozen header rows
are a view setting in OpenDocument), ``meta.xml`` and the manifest. Texts are written as
texts, never as formulas; the only formulas are the plans' own (a total row).
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path
from typing import Any

from lxml import etree

from qep_sync import files
from qep_sync.backends.odf import (
    NS_FO,
    NS_MANIFEST,
    NS_NUMBER,
    NS_OFFICE,
    NS_STYLE,
    NS_TABLE,
    NS_TEXT,
    SPREADSHEET,
)
from qep_sync.backends.odsxml import paragraphs
from qep_sync.cells import a1, column_letter
from qep_sync.core.specs import Field, TrackerSpec
from qep_sync.errors import QepSyncError
from qep_sync.workspace.layout import (
    DATE_FORMAT,
    MONTH_FORMAT,
    PERCENT_FORMAT,
    VALIDATION_ROWS,
    column_format,
    column_width,
    dropdown,
)
from qep_sync.workspace.plan import Formula, Percent, SheetPlan, WorkbookPlan

NS_CONFIG = "urn:oasis:names:tc:opendocument:xmlns:config:1.0"
NS_META = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
NS_OF = "urn:oasis:names:tc:opendocument:xmlns:of:1.2"
NSMAP = {"office": NS_OFFICE, "style": NS_STYLE, "text": NS_TEXT, "table": NS_TABLE,
         "fo": NS_FO, "number": NS_NUMBER, "of": NS_OF}  # fmt: skip
OFFICE, STYLE, TEXT, TABLE = (f"{{{ns}}}" for ns in (NS_OFFICE, NS_STYLE, NS_TEXT, NS_TABLE))
FO, NUMBER, CONFIG = (f"{{{ns}}}" for ns in (NS_FO, NS_NUMBER, NS_CONFIG))

HEADER_STYLE, TITLE_STYLE, NOTE_STYLE = "en-tete", "titre", "note"
HEADER_COLOUR, HEADER_FILL, HEADER_BORDER = "#1f3864", "#d9e1f2", "0.5pt solid #8ea9db"
# Each number format of ``layout`` (and of the plans' own) as a data style: its name, and
# the parts of the number it shows.
DATA_STYLES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    DATE_FORMAT: ("N-jj-mm-aaaa", (("day", ""), ("text", "/"), ("month", ""), ("text", "/"),
                                   ("year", ""))),
    MONTH_FORMAT: ("N-mm-aaaa", (("month", ""), ("text", "/"), ("year", ""))),
    "mmmm yyyy": ("N-mois-aaaa", (("month", "textual"), ("text", " "), ("year", ""))),
    PERCENT_FORMAT: ("N-pourcent", (("number", ""), ("text", " %"))),
}  # fmt: skip


def write_ods_workbook(path: Path, plan: WorkbookPlan, specs: dict[str, TrackerSpec]) -> None:
    """One .ods workbook, written to a temporary file then moved into place."""
    parts = {
        "content.xml": _content(plan, specs),
        "styles.xml": _xml(_styles()),
        "meta.xml": _xml(_meta()),
        "settings.xml": _xml(_settings(plan)),
        "META-INF/manifest.xml": _xml(_manifest()),
    }
    try:
        files.replace_atomically(path, lambda tmp: _write_zip(tmp, parts))
    except OSError as exc:
        raise QepSyncError(f"écriture impossible de {path} : {files.os_reason(exc)}") from None


def _write_zip(target: Path, parts: dict[str, bytes]) -> None:
    with zipfile.ZipFile(target, "w") as zf:
        zf.writestr("mimetype", SPREADSHEET, compress_type=zipfile.ZIP_STORED)
        for name, data in parts.items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)


def _xml(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _element(tag: str, attrs: dict[str, str] | None = None) -> etree._Element:
    el = etree.Element(tag, nsmap=NSMAP)
    for key, value in (attrs or {}).items():
        el.set(key, value)
    return el


def _sub(parent: etree._Element, tag: str, attrs: dict[str, str] | None = None) -> etree._Element:
    el = etree.SubElement(parent, tag)
    for key, value in (attrs or {}).items():
        el.set(key, value)
    return el


# ---------------------------------------------------------------- content.xml


class _Book:
    """What the sheets of one workbook share: automatic styles and dropdowns, by name."""

    def __init__(self) -> None:
        self.automatic = _element(OFFICE + "automatic-styles")
        self.styles: set[str] = set()
        self.validations = _element(TABLE + "content-validations")

    def number_style(self, code: str) -> str:
        """The cell style showing numbers as ``code`` (a data style added once)."""
        data_name, pieces = DATA_STYLES[code]
        name = f"ce-{data_name}"
        if name not in self.styles:
            kind = "percentage-style" if code == PERCENT_FORMAT else "date-style"
            data = _sub(self.automatic, NUMBER + kind,
                        {STYLE + "name": data_name, NUMBER + "language": "fr",
                         NUMBER + "country": "FR"})  # fmt: skip
            for part, how in pieces:
                piece = _sub(data, NUMBER + part)
                if part == "text":
                    piece.text = how
                elif part == "number":
                    piece.set(NUMBER + "decimal-places", "0")
                    piece.set(NUMBER + "min-integer-digits", "1")
                else:
                    piece.set(NUMBER + "style", "long")
                    if how == "textual":
                        piece.set(NUMBER + "textual", "true")
            self._cell_style(name, {STYLE + "data-style-name": data_name})
        return name

    def text_style(self, name: str) -> str:
        """The header, title or note style (added once)."""
        if name in self.styles:
            return name
        style = self._cell_style(name)
        if name == HEADER_STYLE:
            _sub(style, STYLE + "table-cell-properties",
                 {FO + "background-color": HEADER_FILL, FO + "wrap-option": "wrap",
                  STYLE + "vertical-align": "middle", FO + "border-bottom": HEADER_BORDER})  # fmt: skip
        text = _sub(style, STYLE + "text-properties")
        if name == NOTE_STYLE:
            text.set(FO + "font-style", "italic")
            return name
        for attr in (
            FO + "font-weight",
            STYLE + "font-weight-asian",
            STYLE + "font-weight-complex",
        ):
            text.set(attr, "bold")
        if name == HEADER_STYLE:
            text.set(FO + "color", HEADER_COLOUR)
        else:
            text.set(FO + "font-size", "14pt")
        return name

    def column_style(self, width: float) -> str:
        """A column ``width`` characters wide (7 pixels each at 96 dpi, plus 5 of padding)."""
        name = f"co-{width:g}"
        if name not in self.styles:
            self.styles.add(name)
            style = _sub(self.automatic, STYLE + "style",
                         {STYLE + "name": name, STYLE + "family": "table-column"})  # fmt: skip
            _sub(style, STYLE + "table-column-properties",
                 {STYLE + "column-width": f"{(width * 7 + 5) / 96 * 2.54:.3f}cm"})  # fmt: skip
        return name

    def validation(self, title: str, f: Field, header: str, first: str) -> str | None:
        """The name of the dropdown of a column's allowed values, or None when it has none."""
        found = dropdown(f, header)
        if found is None:
            return None
        name = f"liste-{len(self.validations) + 1}"
        values = ";".join('"' + v.replace('"', '""') + '"' for v in found.values)
        check = _sub(self.validations, TABLE + "content-validation", {
            TABLE + "name": name,
            TABLE + "condition": f"of:cell-content-is-in-list({values})",
            TABLE + "allow-empty-cell": "true",
            TABLE + "display-list": "unsorted",
            TABLE + "base-cell-address": f"{_quoted(title)}.{first}",
        })  # fmt: skip
        error = _sub(check, TABLE + "error-message", {
            TABLE + "title": "Valeur non prévue", TABLE + "display": "true",
            TABLE + "message-type": "warning",
        })  # fmt: skip
        error.extend(paragraphs(found.message))
        return name

    def _cell_style(self, name: str, attrs: dict[str, str] | None = None) -> etree._Element:
        self.styles.add(name)
        return _sub(self.automatic, STYLE + "style",
                    {STYLE + "name": name, STYLE + "family": "table-cell", **(attrs or {})})  # fmt: skip


def _quoted(title: str) -> str:
    """A sheet's name as a cell address writes it: quoted, quotes doubled."""
    return "'" + title.replace("'", "''") + "'"


def _content(plan: WorkbookPlan, specs: dict[str, TrackerSpec]) -> bytes:
    book = _Book()
    root = _element(OFFICE + "document-content", {OFFICE + "version": "1.3"})
    spreadsheet = _sub(_sub(root, OFFICE + "body"), OFFICE + "spreadsheet")
    tables = [_table(sheet, specs[sheet.tracker], book) for sheet in plan.sheets]
    if len(book.validations):
        spreadsheet.append(book.validations)
    spreadsheet.extend(tables)
    ranges = _sub(spreadsheet, TABLE + "database-ranges")
    for i, sheet in enumerate(plan.sheets):
        last = max(sheet.header_row + len(sheet.rows), sheet.header_row + 1)
        target = (f"{_quoted(sheet.title)}.A{sheet.header_row}:{_quoted(sheet.title)}."
                  f"{column_letter(len(sheet.columns) - 1)}{last}")  # fmt: skip
        _sub(ranges, TABLE + "database-range", {
            TABLE + "name": f"__Anonymous_Sheet_DB__{i}", TABLE + "target-range-address": target,
            TABLE + "display-filter-buttons": "true",
        })  # fmt: skip
    root.insert(0, book.automatic)
    return _xml(root)


def _table(plan: SheetPlan, spec: TrackerSpec, book: _Book) -> etree._Element:
    """One sheet: its columns, the title rows, the header, the rows, then empty rows that
    keep the dropdowns and formats down to ``VALIDATION_ROWS``."""
    table = _element(TABLE + "table", {TABLE + "name": plan.title})
    h = plan.header_row
    fields = [spec.by_name.get(c) for c in plan.columns]
    headers = [
        plan.headers.get(c) or (f.title if f else c)
        for c, f in zip(plan.columns, fields, strict=True)
    ]
    formats = [
        plan.formats.get(c) or column_format(f) for c, f in zip(plan.columns, fields, strict=True)
    ]
    sample = [row for row in plan.rows[:300] if row]
    lists: list[str | None] = []
    for c, (name, f) in enumerate(zip(plan.columns, fields, strict=True)):
        width = column_width(headers[c], f, (row.get(name) for row in sample), formats[c])
        column = _sub(
            table, TABLE + "table-column", {TABLE + "style-name": book.column_style(width)}
        )
        if (number_format := formats[c]) is not None:
            column.set(TABLE + "default-cell-style-name", book.number_style(number_format))
        lists.append(book.validation(plan.title, f, headers[c], a1(h + 1, c)) if f else None)
    for r, text in enumerate(plan.preamble, start=1):
        row = _sub(table, TABLE + "table-row")
        cell = _sub(row, TABLE + "table-cell")
        if text:
            _set_text(cell, text)
            cell.set(TABLE + "style-name", book.text_style(TITLE_STYLE if r == 1 else NOTE_STYLE))
    header = _sub(table, TABLE + "table-row")
    for text in headers:
        cell = _sub(
            header, TABLE + "table-cell", {TABLE + "style-name": book.text_style(HEADER_STYLE)}
        )
        _set_text(cell, text)
    body = [*plan.rows, *plan.footer]
    for values in body:
        row = _sub(table, TABLE + "table-row")
        for c, name in enumerate(plan.columns):
            cell = _empty_cell(row, lists[c])
            value = (values or {}).get(name)
            if value is not None:
                _set_value(cell, value, book, formats[c])
    below = max(VALIDATION_ROWS, h + len(plan.rows) + 500) - (h + len(body))
    if below > 0:
        row = _sub(table, TABLE + "table-row", {TABLE + "number-rows-repeated": str(below)})
        for c in range(len(plan.columns)):
            _empty_cell(row, lists[c])
    return table


def _empty_cell(row: etree._Element, validation: str | None) -> etree._Element:
    cell = _sub(row, TABLE + "table-cell")
    if validation:
        cell.set(TABLE + "content-validation-name", validation)
    return cell


def _set_text(cell: etree._Element, text: str) -> None:
    cell.set(OFFICE + "value-type", "string")
    cell.extend(paragraphs(text))


def _set_value(cell: etree._Element, value: Any, book: _Book, number_format: str | None) -> None:
    """A plan's value in its cell, typed: a text stays a text, even one starting with « = »."""
    if isinstance(value, Percent):
        cell.set(OFFICE + "value-type", "percentage")
        cell.set(OFFICE + "value", repr(float(value.value)))
        cell.set(TABLE + "style-name", book.number_style(PERCENT_FORMAT))
        cell.extend(paragraphs(f"{value.value * 100:g} %"))
    elif isinstance(value, Formula):
        cell.set(TABLE + "formula", _odf_formula(value.text))
        cell.set(OFFICE + "value-type", "float")
    elif isinstance(value, dt.date):
        cell.set(OFFICE + "value-type", "date")
        cell.set(OFFICE + "date-value", value.isoformat())
        cell.set(TABLE + "style-name", book.number_style(number_format or DATE_FORMAT))
        cell.extend(paragraphs(value.strftime("%d/%m/%Y")))
    elif isinstance(value, bool):
        cell.set(OFFICE + "value-type", "boolean")
        cell.set(OFFICE + "boolean-value", "true" if value else "false")
        cell.extend(paragraphs("VRAI" if value else "FAUX"))
    elif isinstance(value, int | float):
        cell.set(OFFICE + "value-type", "float")
        cell.set(OFFICE + "value", str(value))
        cell.extend(paragraphs(str(value)))
    else:
        _set_text(cell, str(value))


def _odf_formula(text: str) -> str:
    """A plan's formula (Excel syntax, « =COUNTA(B4:B600) ») in OpenFormula: « of:=COUNTA([.B4:.B600]) »."""
    body = text.removeprefix("=")
    body = re.sub(r"\b([A-Z]{1,3}[0-9]+):([A-Z]{1,3}[0-9]+)\b", r"[.\1:.\2]", body)
    body = re.sub(r"(?<![.\[:])\b([A-Z]{1,3}[0-9]+)\b(?![\]:])", r"[.\1]", body)
    return "of:=" + body.replace(",", ";")


# ---------------------------------------------------------------- the other parts


def _styles() -> etree._Element:
    root = _element(OFFICE + "document-styles", {OFFICE + "version": "1.3"})
    styles = _sub(root, OFFICE + "styles")
    default = _sub(styles, STYLE + "default-style", {STYLE + "family": "table-cell"})
    _sub(default, STYLE + "text-properties", {FO + "font-size": "10pt"})
    _sub(styles, STYLE + "style", {STYLE + "name": "Default", STYLE + "family": "table-cell"})
    return root


def _meta() -> etree._Element:
    root = etree.Element(OFFICE + "document-meta", nsmap={"office": NS_OFFICE, "meta": NS_META})
    root.set(OFFICE + "version", "1.3")
    meta = etree.SubElement(root, OFFICE + "meta")
    etree.SubElement(meta, f"{{{NS_META}}}generator").text = "qep-sync"
    return root


def _settings(plan: WorkbookPlan) -> etree._Element:
    """The frozen header rows of each sheet: LibreOffice's view settings."""
    root = etree.Element(
        OFFICE + "document-settings", nsmap={"office": NS_OFFICE, "config": NS_CONFIG}
    )
    root.set(OFFICE + "version", "1.3")
    view = _sub(_sub(root, OFFICE + "settings"), CONFIG + "config-item-set",
                {CONFIG + "name": "ooo:view-settings"})  # fmt: skip
    entry = _sub(_sub(view, CONFIG + "config-item-map-indexed", {CONFIG + "name": "Views"}),
                 CONFIG + "config-item-map-entry")  # fmt: skip
    _item(entry, "ViewId", "string", "view1")
    tables = _sub(entry, CONFIG + "config-item-map-named", {CONFIG + "name": "Tables"})
    for sheet in plan.sheets:
        frozen = str(sheet.header_row)
        table = _sub(tables, CONFIG + "config-item-map-entry", {CONFIG + "name": sheet.title})
        for name, kind, value in (
            ("HorizontalSplitMode", "short", "0"), ("VerticalSplitMode", "short", "2"),
            ("HorizontalSplitPosition", "int", "0"), ("VerticalSplitPosition", "int", frozen),
            ("ActiveSplitRange", "short", "2"), ("PositionLeft", "int", "0"),
            ("PositionRight", "int", "0"), ("PositionTop", "int", "0"),
            ("PositionBottom", "int", frozen),
        ):  # fmt: skip
            _item(table, name, kind, value)
    _item(entry, "ActiveTable", "string", plan.sheets[0].title if plan.sheets else "")
    return root


def _item(parent: etree._Element, name: str, kind: str, value: str) -> None:
    _sub(
        parent, CONFIG + "config-item", {CONFIG + "name": name, CONFIG + "type": kind}
    ).text = value


def _manifest() -> etree._Element:
    m = f"{{{NS_MANIFEST}}}"
    root = etree.Element(m + "manifest", nsmap={"manifest": NS_MANIFEST})
    root.set(m + "version", "1.3")
    for path, media in (("/", SPREADSHEET), ("content.xml", "text/xml"), ("styles.xml", "text/xml"),
                        ("meta.xml", "text/xml"), ("settings.xml", "text/xml")):  # fmt: skip
        entry = etree.SubElement(root, m + "file-entry")
        entry.set(m + "full-path", path)
        entry.set(m + "media-type", media)
        if path == "/":
            entry.set(m + "version", "1.3")
    return root
