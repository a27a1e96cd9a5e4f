"""Surgical edits of an .ods file's ``content.xml``: the owned cells of its tables, the
styles they need (added once to ``office:automatic-styles``) and the widths of new columns.
Of ``SheetPatch.layout``, only the wrapping of ``Contrôle`` is written: the status colours,
header prompts and autofilter of the .xlsx are not written in .ods files (yet).

An .ods table is written compactly: LibreOffice stores a run of identical rows as one
``table:table-row`` with ``table:number-rows-repeated`` (a million empty rows at the end of
every sheet), a run of identical cells as one ``table:table-cell`` with
``table:number-columns-repeated``, and columns likewise. A cell to write inside such a run
is given an element of its own by splitting the run into the fewest elements needed: the
rows (or cells) before it, the ones written (consecutive ones that receive the same values
stay one repeated element), the ones after; each piece is a copy of the original, so
styles, validations, hidden rows, annotations and everything else of the run are kept.
Rows or cells past the last element (files written by other tools stop at their last
value) are added as empty repeated elements first. Nothing else of the part is touched.

Values are typed, never formulas: text as ``office:value-type="string"`` and paragraphs
(``<text:p>``, line breaks as new paragraphs, runs of spaces as ``<text:s>``), numbers as
``float``, dates as ``date`` with ``office:date-value`` and a dd/mm/yyyy style, booleans as
``boolean``. Writing a cell removes its old value, formula
(``table:formula``, matrix spans) and LibreOffice's own ``calcext:value-type``; its
annotation (a comment) and anchored shapes stay. A text starting with « = » or « of:= »
stays a text: no attribute of a written cell holds a formula. The dates LibreOffice shows
are the dates written (ODF stores them as ISO dates, with no serial epoch to convert).

Errors are French and name the sheet (``PartError``); a table that cannot be patched
safely (beyond LibreOffice's grid) is refused with ``SkippedWrite``.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from qep_sync.backends.odf import (
    MAX_COLUMNS,
    MAX_ROWS,
    NS_CALCEXT,
    NS_FO,
    NS_NUMBER,
    NS_STYLE,
)
from qep_sync.backends.odsscan import (
    CELL,
    COLUMNS_REPEATED,
    COVERED,
    OFFICE,
    ROW,
    ROW_GROUPS,
    ROWS_REPEATED,
    TABLE,
    VALUE_TYPE,
    P,
    T,
    X,
    repeat,
)
from qep_sync.core.contract import SheetPatch, SkippedWrite

STYLE, FO, NUMBER = f"{{{NS_STYLE}}}", f"{{{NS_FO}}}", f"{{{NS_NUMBER}}}"
COLUMN = T + "table-column"
STYLE_NAME, DEFAULT_CELL_STYLE = T + "style-name", T + "default-cell-style-name"
COLUMN_GROUPS = frozenset({T + "table-column-group", T + "table-header-columns",
                           T + "table-columns"})  # fmt: skip
# What a cell's value is made of: written anew, or removed when the cell is cleared.
VALUE_ATTRIBUTES = (
    *(OFFICE + name for name in ("value-type", "value", "date-value", "time-value",
                                 "boolean-value", "string-value", "currency")),
    f"{{{NS_CALCEXT}}}value-type", T + "formula", T + "number-matrix-columns-spanned",
    T + "number-matrix-rows-spanned",
)  # fmt: skip

_VALUE_ATTRIBUTES = frozenset(VALUE_ATTRIBUTES)

HEADER_STYLE = "qep-entete"  # pale green, bold: « computed by qep-sync », as in .xlsx files
DATE_STYLE = "qep-date"
WRAPPED_STYLE = "qep-renvoi"
DATE_DATA_STYLE = "qep-date-jj-mm-aaaa"
HEADER_FILL = "#e2efda"
HEADER_FONT_COLOUR = "#375623"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML
_SPACES = re.compile(r" {2,}|^ | $")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          huge_tree=True, remove_blank_text=False)  # fmt: skip

_log = logging.getLogger(__name__)

Write = tuple[str, Any]  # (kind: header, date, wrapped or plain, value); None clears the cell


class PartError(Exception):
    """content.xml cannot be parsed or edited; the message is French and names the sheet."""


@dataclass(slots=True)
class _Span:
    """An element covering ``count`` rows or columns from ``start`` (1-based rows,
    0-based columns)."""

    start: int
    count: int
    element: etree._Element

    @property
    def end(self) -> int:
        return self.start + self.count


# ---------------------------------------------------------------- the part


def parse(xml: bytes, part: str) -> etree._Element:
    """content.xml's tree; PartError when it is not XML or not an OpenDocument content part."""
    try:
        root = etree.fromstring(xml, _PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        _log.debug("%s: XML refused by the parser: %s", part, exc)
        raise PartError(f"partie {part} illisible : XML mal formé") from None
    if root.tag != OFFICE + "document-content":
        raise PartError(f"partie {part} inattendue : ce n'est pas le contenu d'un classeur")
    return root


def serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def tables(root: etree._Element) -> list[etree._Element]:
    """The sheets of the part, in order (the sub-tables of cells are not sheets)."""
    spreadsheet = root.find(f"{OFFICE}body/{OFFICE}spreadsheet")
    return [] if spreadsheet is None else list(spreadsheet.iterchildren(TABLE))


def patch_table(table: etree._Element, patch: SheetPatch, styles: Styles) -> None:
    """Apply a patch to one table (``table:table``): its owned cells and new columns.

    Raises SkippedWrite when a cell to write lies beyond LibreOffice's grid.
    """
    writes: dict[int, dict[int, Write]] = {}
    for col, title in patch.headers.items():
        writes.setdefault(patch.header_row, {})[col] = ("header", title)
    wrapped = patch.layout.wrapped if patch.layout is not None else set()
    for (row, col), value in patch.cells.items():
        kind = "date" if isinstance(value, dt.date) else "wrapped" if col in wrapped else "plain"
        writes.setdefault(row, {})[col] = (kind, value)
    last_col = max((c for cells in writes.values() for c in cells), default=-1)
    last_col = max([last_col, *patch.widths])
    if max(writes, default=1) > MAX_ROWS or last_col >= MAX_COLUMNS:
        raise SkippedWrite(
            f"onglet « {patch.title} » : cellules calculées au-delà de la grille de "
            "LibreOffice ; le classeur n'est pas modifié"
        )
    if writes:
        _write_rows(table, writes, styles)
    _set_widths(table, patch, styles)


# ---------------------------------------------------------------- rows and cells


def _row_spans(table: etree._Element) -> list[_Span]:
    """Every row element of a table in order (through row groups and header rows)."""
    spans: list[_Span] = []
    start = 1

    def walk(parent: etree._Element) -> None:
        nonlocal start
        for child in parent:
            if child.tag == ROW:
                count = repeat(child.get(ROWS_REPEATED))
                spans.append(_Span(start, count, child))
                start += count
            elif child.tag in ROW_GROUPS:
                walk(child)

    walk(table)
    return spans


def _cell_spans(row: etree._Element) -> list[_Span]:
    spans: list[_Span] = []
    start = 0
    for child in row.iterchildren(CELL, COVERED):
        repeated = child.get(COLUMNS_REPEATED)
        count = 1 if repeated is None else repeat(repeated)
        spans.append(_Span(start, count, child))
        start += count
    return spans


def _write_rows(table: etree._Element, writes: dict[int, dict[int, Write]], styles: Styles) -> None:
    spans = _row_spans(table)
    if not spans:
        raise PartError("tableau sans lignes")
    last = max(writes)
    if spans[-1].end <= last:  # rows past the last element: one empty row element for them
        filler = etree.Element(ROW)
        etree.SubElement(filler, CELL)
        _set_repeat(filler, ROWS_REPEATED, last - spans[-1].end + 1)
        spans[-1].element.addnext(filler)
        spans.append(_Span(spans[-1].end, last - spans[-1].end + 1, filler))
    for span, targets in _targets_by_span(spans, writes):
        if any(value is None for w in targets.values() for _, value in w.values()):
            cells = _cell_spans(span.element)  # rows repeated are alike: the first tells
            targets = {
                r: e for r, e in ((r, _effective(w, cells)) for r, w in targets.items()) if e
            }
        if not targets:
            continue
        for piece, row_writes in _split(span, targets, ROWS_REPEATED):
            if row_writes is not None:
                _write_cells(piece, row_writes, styles)


def _effective(writes: dict[int, Write], cells: list[_Span]) -> dict[int, Write]:
    """The writes that change something: clearing a cell that holds nothing is none."""
    kept = {}
    for col, (kind, value) in writes.items():
        if value is None:
            span = _covering(cells, col)
            if span is None or _is_empty(span.element):
                continue
        kept[col] = (kind, value)
    return kept


def _write_cells(row: etree._Element, writes: dict[int, Write], styles: Styles) -> None:
    spans = _cell_spans(row)
    last = max(writes)
    end = spans[-1].end if spans else 0
    if end <= last:  # cells past the row's last one: one empty cell element for them
        filler = etree.Element(CELL)
        _set_repeat(filler, COLUMNS_REPEATED, last - end + 1)
        if spans:
            spans[-1].element.addnext(filler)
        else:
            row.append(filler)
        spans.append(_Span(end, last - end + 1, filler))
    for span, targets in _targets_by_span(spans, writes):
        for piece, write in _split(span, targets, COLUMNS_REPEATED):
            if write is not None:
                _set_value(piece, write, styles)


def _targets_by_span(
    spans: list[_Span], writes: Mapping[int, Any]
) -> Iterator[tuple[_Span, dict[int, Any]]]:
    """Each span holding written positions, with its writes (spans in order)."""
    positions = sorted(writes)
    i = 0
    for span in spans:
        found: dict[int, Any] = {}
        while i < len(positions) and positions[i] < span.end:
            if positions[i] >= span.start:
                found[positions[i]] = writes[positions[i]]
            i += 1
        if found:
            yield span, found
        if i == len(positions):
            return


def _split(span: _Span, targets: dict[int, Any], attr: str) -> list[tuple[etree._Element, Any]]:
    """Cut a span's element into runs: the positions not written, and the written ones
    (consecutive positions receiving the same writes make one run). Returns each run's
    element and its writes (None for the runs not written); the first keeps the element."""
    if span.count == 1:  # the usual row: nothing to cut
        return [(span.element, targets[span.start])]
    runs: list[tuple[int, Any]] = []  # (length, writes)
    pos = span.start
    for target in sorted(targets):
        if target > pos:
            runs.append((target - pos, None))
        write = targets[target]
        if runs and runs[-1][1] is not None and runs[-1][1] == write and target == pos:
            runs[-1] = (runs[-1][0] + 1, write)
        else:
            runs.append((1, write))
        pos = target + 1
    if pos < span.end:
        runs.append((span.end - pos, None))
    pieces = [span.element]
    for _ in runs[1:]:
        pieces.append(copy.copy(span.element))  # lxml copies an element with its content
        pieces[-2].addnext(pieces[-1])
    for piece, (length, _) in zip(pieces, runs, strict=True):
        _set_repeat(piece, attr, length)
    return [(piece, write) for piece, (_, write) in zip(pieces, runs, strict=True)]


def _set_repeat(el: etree._Element, attr: str, count: int) -> None:
    if count == 1:
        el.attrib.pop(attr, None)
    else:
        el.set(attr, str(count))


def _covering(spans: list[_Span], pos: int) -> _Span | None:
    for span in spans:
        if span.start <= pos < span.end:
            return span
    return None


def _is_empty(cell: etree._Element) -> bool:
    """Nothing in the cell to clear: no value, no formula, no text."""
    if any(cell.get(attr) is not None for attr in VALUE_ATTRIBUTES):
        return False
    return not any(child.tag.startswith(X) for child in cell if isinstance(child.tag, str))


# ---------------------------------------------------------------- values


def _set_value(cell: etree._Element, write: Write, styles: Styles) -> None:
    """Replace the value of a cell (None leaves it empty); its annotation and shapes stay."""
    kind, value = write
    attrib = cell.attrib
    for attr in [a for a in attrib if a in _VALUE_ATTRIBUTES]:
        del attrib[attr]
    if len(cell):
        for child in list(cell):
            if isinstance(child.tag, str) and child.tag.startswith(X):
                cell.remove(child)
    if kind == "header":
        cell.set(STYLE_NAME, styles.header())
    elif kind == "date" and value is not None:
        cell.set(STYLE_NAME, styles.date())
    elif kind == "wrapped" and value is not None:
        cell.set(STYLE_NAME, styles.wrapped())
    else:
        cell.attrib.pop(STYLE_NAME, None)
    if value is None:
        return
    cell.extend(paragraphs(_typed(cell, value)))


def _typed(cell: etree._Element, value: Any) -> str:
    """Set a cell's value attributes; returns the text it shows."""
    if isinstance(value, str):
        cell.set(VALUE_TYPE, "string")
        return value
    if isinstance(value, bool):
        cell.set(VALUE_TYPE, "boolean")
        cell.set(OFFICE + "boolean-value", "true" if value else "false")
        return "VRAI" if value else "FAUX"
    if isinstance(value, dt.datetime):
        cell.set(VALUE_TYPE, "date")
        cell.set(OFFICE + "date-value", value.isoformat())
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, dt.date):
        cell.set(VALUE_TYPE, "date")
        cell.set(OFFICE + "date-value", value.isoformat())
        return value.strftime("%d/%m/%Y")
    number = float(value)
    cell.set(VALUE_TYPE, "float")
    cell.set(OFFICE + "value", str(value) if isinstance(value, int) else repr(number))
    return str(value) if isinstance(value, int) else f"{number:g}".replace(".", ",")


def clean_text(text: str) -> str:
    """A text as it can be written: without the characters XML cannot hold (a control
    character has no place in a cell; LibreOffice drops them too)."""
    return _CONTROL.sub("", text)


def paragraphs(text: str) -> list[etree._Element]:
    """A cell's text as OpenDocument paragraphs: one per line."""
    return [_paragraph(line) for line in text.split("\n")]


def _paragraph(line: str) -> etree._Element:
    """One paragraph of text, its spaces kept (ODF collapses runs of spaces, and drops them
    at a paragraph's edges, unless written as <text:s>). A tab stays a character: as a
    <text:tab/>, LibreOffice Calc would drop it."""
    p = etree.Element(P)
    line = clean_text(line)
    if not _SPACES.search(line):  # the usual text: no space to keep apart
        p.text = line or None
        return p
    last: etree._Element | None = None
    pos = 0

    def add_text(text: str) -> None:
        if not text:
            return
        if last is None:
            p.text = (p.text or "") + text
        else:
            last.tail = (last.tail or "") + text

    for m in _SPACES.finditer(line):
        add_text(line[pos : m.start()])
        last = etree.SubElement(p, X + "s")
        if len(m.group()) > 1:
            last.set(X + "c", str(len(m.group())))
        pos = m.end()
    add_text(line[pos:])
    return p


# ---------------------------------------------------------------- columns


def _column_spans(table: etree._Element) -> list[_Span]:
    spans: list[_Span] = []
    start = 0

    def walk(parent: etree._Element) -> None:
        nonlocal start
        for child in parent:
            if child.tag == COLUMN:
                count = repeat(child.get(COLUMNS_REPEATED))
                spans.append(_Span(start, count, child))
                start += count
            elif child.tag in COLUMN_GROUPS:
                walk(child)

    walk(table)
    return spans


def _set_widths(table: etree._Element, patch: SheetPatch, styles: Styles) -> None:
    """The new owned columns get their width, and date columns the date style by default."""
    if not patch.widths:
        return
    spans = _column_spans(table)
    last = max(patch.widths)
    end = spans[-1].end if spans else 0
    if end <= last:  # columns past the last column element
        filler = etree.Element(COLUMN)
        _set_repeat(filler, COLUMNS_REPEATED, last - end + 1)
        if spans:
            spans[-1].element.addnext(filler)
        else:
            _first_row_element(table).addprevious(filler)
        spans.append(_Span(end, last - end + 1, filler))
    targets = {col: (width, col in patch.date_columns) for col, width in patch.widths.items()}
    for span, found in _targets_by_span(spans, targets):
        for piece, target in _split(span, found, COLUMNS_REPEATED):
            if target is not None:
                width, is_date = target
                piece.set(STYLE_NAME, styles.column(width))
                if is_date:
                    piece.set(DEFAULT_CELL_STYLE, styles.date())


def _first_row_element(table: etree._Element) -> etree._Element:
    for child in table:
        if child.tag == ROW or child.tag in ROW_GROUPS:
            return child
    raise PartError("tableau sans lignes")


# ---------------------------------------------------------------- styles


class Styles:
    """qep-sync's styles in content.xml's automatic styles, each added once when first used
    (and found again, by its name, in a file qep-sync wrote before)."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self._automatic: etree._Element | None = root.find(OFFICE + "automatic-styles")
        self._names: set[str] | None = None

    def header(self) -> str:
        return self._ensure(HEADER_STYLE, _header_style)

    def date(self) -> str:
        self._ensure(DATE_DATA_STYLE, _date_data_style)
        return self._ensure(DATE_STYLE, _date_style)

    def wrapped(self) -> str:
        return self._ensure(WRAPPED_STYLE, _wrapped_style)

    def column(self, width: float) -> str:
        name = f"qep-colonne-{width:g}"
        return self._ensure(name, lambda n: _column_style(n, width))

    def _ensure(self, name: str, build: Callable[[str], etree._Element]) -> str:
        if self._names is None:
            self._names = {el.get(STYLE + "name", "") for el in self._container()}
        if name not in self._names:
            self._container().append(build(name))
            self._names.add(name)
        return name

    def _container(self) -> etree._Element:
        if self._automatic is None:
            self._automatic = etree.Element(OFFICE + "automatic-styles")
            body = self.root.find(OFFICE + "body")
            if body is None:
                raise PartError("contenu sans corps (office:body)")
            body.addprevious(self._automatic)
        return self._automatic


def _header_style(name: str) -> etree._Element:
    style = _cell_style(name)
    cell = etree.SubElement(style, STYLE + "table-cell-properties")
    cell.set(FO + "background-color", HEADER_FILL)
    cell.set(FO + "wrap-option", "wrap")
    cell.set(STYLE + "vertical-align", "middle")
    text = etree.SubElement(style, STYLE + "text-properties")
    text.set(FO + "color", HEADER_FONT_COLOUR)
    for attr in (FO + "font-weight", STYLE + "font-weight-asian", STYLE + "font-weight-complex"):
        text.set(attr, "bold")
    return style


def _wrapped_style(name: str) -> etree._Element:
    """A long text (``Contrôle``) wraps within its column's width, as in the .xlsx."""
    style = _cell_style(name)
    etree.SubElement(style, STYLE + "table-cell-properties").set(FO + "wrap-option", "wrap")
    return style


def _date_style(name: str) -> etree._Element:
    style = _cell_style(name)
    style.set(STYLE + "data-style-name", DATE_DATA_STYLE)
    return style


def _cell_style(name: str) -> etree._Element:
    style = etree.Element(STYLE + "style")
    style.set(STYLE + "name", name)
    style.set(STYLE + "family", "table-cell")
    return style


def _date_data_style(name: str) -> etree._Element:
    """dd/mm/yyyy, as the Excel backend's date format."""
    style = etree.Element(NUMBER + "date-style")
    style.set(STYLE + "name", name)
    for i, part in enumerate(("day", "month", "year")):
        if i:
            etree.SubElement(style, NUMBER + "text").text = "/"
        etree.SubElement(style, NUMBER + part).set(NUMBER + "style", "long")
    return style


def _column_style(name: str, width: float) -> etree._Element:
    """A column ``width`` characters wide (the Excel backend's unit: 7 pixels at 96 dpi, plus
    5 of padding), in centimetres."""
    style = etree.Element(STYLE + "style")
    style.set(STYLE + "name", name)
    style.set(STYLE + "family", "table-column")
    centimetres = (width * 7 + 5) / 96 * 2.54
    etree.SubElement(style, STYLE + "table-column-properties").set(
        STYLE + "column-width", f"{centimetres:.3f}cm"
    )
    return style
