"""The reader of an .ods file's ``content.xml``: every table's values as python-calamine
gives them, and the cells shown as percentages, in one streaming pass.

Why not calamine itself, which reads .ods: it expands every repeated row and cell it is
given (LibreOffice writes a million empty rows as one element; a hostile file repeats a
row holding a value a million times over 16,384 columns, and calamine allocates them all:
4 million cells took 542 MB), and it does not say which cells are percentages. A pass over
the part was needed for both; the values come with it, and the write-back (``ods_write``)
reads its result back through this same reader, so that the cells written and the cells
reported are counted the same way.

A part up to ``TREE_BYTES`` is parsed whole by lxml (libxml2, in C) and its cells read from
the tree; a larger one is streamed with lxml's ``iterparse``, told only of cells, rows and
tables, each dropped once read, so that memory grows with the values held, never with the
part or its repeats. Values, as python-calamine 0.9 reads the same cells (the tests compare both on files made by LibreOffice):

- ``float``, ``percentage``, ``currency``: a float (``office:value``);
- ``date``: a ``datetime.date`` at midnight, else a ``datetime.datetime``;
- ``time``: a ``datetime.time`` (a ``datetime.timedelta`` from 24 hours on);
- ``boolean``: a bool;
- ``string`` and cells without a type: ``office:string-value`` when present, else the
  cell's text: paragraphs joined by a line break, ``<text:s text:c="n"/>`` n spaces; a
  ``<text:tab/>`` or ``<text:line-break/>`` inside a paragraph is nothing (LibreOffice
  Calc 7.4 drops them when it opens the file, and so does calamine); the text of
  annotations (comments), shapes and sub-tables is not the cell's;
- a value that does not parse (a date LibreOffice never writes): the text shown.

Empty cells are ``""``; rows are cut after their last value, an empty row is ``[]``; rows
after the last value are not listed (as calamine's ``to_python(skip_empty_area=False)``,
and the Excel backend's streaming reader). Covered cells (under a merged cell) count as
cells, as LibreOffice writes them. Hostile or broken parts are refused with one French
reason naming the part (``PackageError``): XML that is not well-formed or nested beyond
libxml2's limits, a value beyond LibreOffice's grid, more than ``MAX_CELLS`` values once
the repeats are expanded, a cell whose text grows without bound.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from lxml import etree

from qep_sync.backends.odf import (
    ADVICE,
    MAX_COLUMNS,
    MAX_ROWS,
    NS_DRAW,
    NS_OFFICE,
    NS_TABLE,
    NS_TEXT,
    damaged_part,
)
from qep_sync.backends.zipparts import PackageError
from qep_sync.cells import a1

# Values held once the repeats are expanded, for all the tables of a file: a real tracker
# holds a few hundred thousand; each costs about 8 bytes (one reference in a row list).
MAX_CELLS = 10_000_000
MAX_TEXT = 1 << 20  # characters of one cell's text (LibreOffice's own limit is far below)
PRUNE_EVERY = 1024  # cell elements of a row read before those are freed (a row ends sooner)
# Parts up to this size are parsed whole (a tree about six times the part's size for what
# LibreOffice writes, twenty times for a hostile run of tiny elements); larger ones streamed.
TREE_BYTES = 16 << 20

T, OFFICE, X = f"{{{NS_TABLE}}}", f"{{{NS_OFFICE}}}", f"{{{NS_TEXT}}}"
TABLE, ROW, CELL, COVERED = T + "table", T + "table-row", T + "table-cell", T + "covered-table-cell"
ROWS_REPEATED, COLUMNS_REPEATED = T + "number-rows-repeated", T + "number-columns-repeated"
VALUE_TYPE, VALUE, STRING_VALUE = OFFICE + "value-type", OFFICE + "value", OFFICE + "string-value"
DATE_VALUE, TIME_VALUE, BOOLEAN_VALUE = (
    OFFICE + "date-value",
    OFFICE + "time-value",
    OFFICE + "boolean-value",
)
ANNOTATION = OFFICE + "annotation"
SPREADSHEET = OFFICE + "spreadsheet"
ROW_GROUPS = frozenset({T + "table-row-group", T + "table-header-rows", T + "table-rows"})
P, H, S, TAB, BREAK = X + "p", X + "h", X + "s", X + "tab", X + "line-break"
NUMBER_TYPES = frozenset({"float", "percentage", "currency"})
_NAME, _SPACES, _DRAW = T + "name", X + "c", f"{{{NS_DRAW}}}"
_CELLS = (CELL, COVERED)
_NOT_TEXT = (ANNOTATION, TABLE)  # and every shape (draw:*)
_NOT_INLINE = (ANNOTATION, TAB, BREAK)  # a comment; a tab, a line break: Calc drops them
_TOO_MANY = (
    f"classeur trop volumineux pour être lu : plus de {MAX_CELLS // 1_000_000} millions de "
    "cellules une fois les lignes et colonnes répétées comptées ; supprimez les lignes et "
    "colonnes inutiles"
)

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          remove_comments=True, remove_pis=True)  # fmt: skip

_DATE = re.compile(
    r"(-?\d{4,6})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d):(\d\d)(?:[.,](\d+))?)?(?:Z|[+-]\d\d:?\d\d)?"
)
_DURATION = re.compile(r"(-)?P(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?")


@dataclass
class Table:
    """One table (sheet) of content.xml as read: rows from row 1, percent cells by
    (1-based row, 0-based column), and its place among the tables (1 = the first)."""

    title: str
    index: int
    rows: list[list[Any]] = field(default_factory=list)
    percent: set[tuple[int, int]] = field(default_factory=set)


class _Refused(Exception):
    """A part refused: the French reason, the part's name added by ``read_tables``."""


# ---------------------------------------------------------------- values


def repeat(value: str | None) -> int:
    """A ``number-*-repeated`` attribute: a positive count (1 when absent or not a number)."""
    if value is None:
        return 1
    try:
        count = int(value)
    except ValueError:
        return 1
    return count if count > 0 else 1


def date_value(text: str) -> dt.date | None:
    """``office:date-value`` as calamine reads it; None when it is no date of the calendar."""
    m = _DATE.fullmatch(text.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction = m.groups()
    try:
        if hour is None:
            return dt.date(int(year), int(month), int(day))
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        moment = dt.datetime(int(year), int(month), int(day), int(hour), int(minute),
                             int(second), micro)  # fmt: skip
    except ValueError:
        return None
    return moment.date() if moment.time() == dt.time() else moment


def time_value(text: str) -> dt.time | dt.timedelta | None:
    """``office:time-value`` (an ISO 8601 duration, « PT13H30M00S »): a time of day, or a
    duration from 24 hours on; None when it is not one."""
    m = _DURATION.fullmatch(text.strip())
    if m is None or not any(m.groups()[1:]):
        return None
    sign, days, hours, minutes, seconds = m.groups()
    try:
        span = dt.timedelta(days=int(days or 0), hours=int(hours or 0),
                            minutes=int(minutes or 0),
                            seconds=float((seconds or "0").replace(",", ".")))  # fmt: skip
    except OverflowError:
        return None
    if sign:
        span = -span
    if dt.timedelta(0) <= span < dt.timedelta(days=1):
        return (dt.datetime.min + span).time()
    return span


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def cell_value(cell: etree._Element, kind: str | None) -> Any:
    """What a cell of ``office:value-type`` ``kind`` holds, typed as calamine types it (see
    the module's docstring)."""
    value: Any = None
    if kind in NUMBER_TYPES:
        value = _number(cell.get(VALUE))
    elif kind == "date":
        value = date_value(cell.get(DATE_VALUE, ""))
    elif kind == "time":
        value = time_value(cell.get(TIME_VALUE, ""))
    elif kind == "boolean":
        value = {"true": True, "false": False}.get(cell.get(BOOLEAN_VALUE, "").strip().lower())
    else:
        value = cell.get(STRING_VALUE)
    return cell_text(cell) if value is None else value


def cell_text(cell: etree._Element) -> str:
    """A cell's text: its paragraphs, joined by line breaks."""
    if len(cell) == 1:  # the usual cell: one plain paragraph
        p = cell[0]
        if p.tag == P and not len(p):
            return p.text or ""
    text = _Text()
    paragraphs: list[str] = []
    for child in cell:
        _paragraphs(child, paragraphs, text)
    return "\n".join(paragraphs)


def _paragraphs(el: etree._Element, out: list[str], text: _Text) -> None:
    tag = el.tag
    if tag in (P, H):
        text.parts = []
        _inline(el, text)
        out.append("".join(text.parts))
    elif isinstance(tag, str) and tag not in _NOT_TEXT and not tag.startswith(_DRAW):
        for child in el:  # a list, a section: its paragraphs
            _paragraphs(child, out, text)


def _inline(el: etree._Element, text: _Text) -> None:
    text.add(el.text)
    for child in el:
        tag = child.tag
        if tag == S:
            text.add(" " * min(repeat(child.get(_SPACES)), MAX_TEXT + 1))
        elif isinstance(tag, str) and tag not in _NOT_INLINE and not tag.startswith(_DRAW):
            _inline(child, text)  # a span, a link: its text
        text.add(child.tail)


class _Text:
    """The text of one cell as it is put together, refused once it grows without bound."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def add(self, piece: str | None) -> None:
        if not piece:
            return
        self.size += len(piece)
        if self.size > MAX_TEXT:
            raise _Refused(
                f"cellule au texte démesuré (plus de {MAX_TEXT} caractères), refusée par sécurité"
            )
        self.parts.append(piece)


# ---------------------------------------------------------------- tables, rows, cells


class _Reader:
    """Puts cells into rows and rows into tables: as iterparse ends them (``end``), or as a
    parsed tree holds them (``read_tree``)."""

    def __init__(self) -> None:
        self.tables: list[Table] = []
        self.held = 0  # values held, all tables
        self.table_el: etree._Element | None = None
        self.table: Table | None = None
        self.row_el: etree._Element | None = None
        self.row_num = 0  # rows of the current table before the current row
        self.row: list[Any] = []
        self.row_repeat = 1
        self.row_percent: list[int] = []
        self.col = 0
        self.row_cells = 0  # cell elements of the current row read so far

    def end(self, el: etree._Element) -> None:
        """iterparse ended ``el`` (a cell, a row or a table): read it, then free it."""
        tag = el.tag
        if tag in _CELLS:
            row = el.getparent()
            if row is self.row_el or self._start_row(row):
                self._cell(el)
                self.row_cells += 1
                if not self.row_cells % PRUNE_EVERY:
                    _drop_before(el)  # a row of countless cells: memory stays bounded
        elif tag == ROW:
            if el is self.row_el or self._start_row(el):  # (a row without cells)
                self._end_row()
                self.row_el = None
            el.clear(keep_tail=False)
            _drop_before(el)
        elif _is_sheet(el):
            if el is not self.table_el:
                self._start_table(el)  # a table without rows
            el.clear(keep_tail=False)
            _drop_before(el)

    def _start_table(self, el: etree._Element) -> None:
        index = len(self.tables) + 1
        self.table_el = el
        self.table = Table(el.get(_NAME) or f"Feuille{index}", index)
        self.tables.append(self.table)
        self.row_num = 0

    def _start_row(self, el: etree._Element) -> bool:
        """Make ``el`` the current row; False when it is a sub-table's (inside a cell)."""
        table = _table_of(el)
        if table is None or not _is_sheet(table):
            return False
        if table is not self.table_el:
            self._start_table(table)
        self._begin_row(el)
        return True

    def _begin_row(self, el: etree._Element) -> None:
        self.row_el = el
        self.row, self.row_percent, self.col, self.row_cells = [], [], 0, 0
        self.row_repeat = repeat(el.get(ROWS_REPEATED))

    def _cell(self, el: etree._Element) -> None:
        """One cell (``count`` of them when repeated): its value in the row, if it has one.

        The hot path of the reader (once per cell element): no call it can do without.
        """
        repeated = el.get(COLUMNS_REPEATED)
        count = 1 if repeated is None else repeat(repeated)
        kind = el.get(VALUE_TYPE)
        if kind is None and not len(el):
            self.col += count  # an empty cell, the most common element of all
            return
        try:
            value = cell_value(el, kind)
        except _Refused as exc:
            raise _Refused(f"{self._where()} : {exc}") from None
        if value == "":
            self.col += count
            return
        col, row = self.col, self.row
        if col + count > MAX_COLUMNS:
            raise _Refused(f"valeur au-delà de la dernière colonne possible ({self._where()})")
        self.held += count * self.row_repeat
        if self.held > MAX_CELLS:
            raise _Refused(_TOO_MANY)
        if len(row) < col:
            row.extend([""] * (col - len(row)))
        if count == 1:
            row.append(value)
        else:
            row.extend([value] * count)
        if kind == "percentage" and isinstance(value, float):
            self.row_percent.extend(range(col, col + count))
        self.col = col + count

    def _end_row(self) -> None:
        assert self.table is not None
        row, count = self.row, self.row_repeat
        if not row:
            self.row_num += count
            return
        if self.row_num + count > MAX_ROWS:
            raise _Refused(f"valeur au-delà de la dernière ligne possible ({self._where()})")
        rows = self.table.rows
        gap = self.row_num - len(rows)
        self.held += gap
        if self.held > MAX_CELLS:
            raise _Refused(_TOO_MANY)
        rows.extend([] for _ in range(gap))
        rows.append(row)
        rows.extend(list(row) for _ in range(count - 1))
        if self.row_percent:
            for r in range(self.row_num + 1, self.row_num + count + 1):
                self.table.percent.update((r, c) for c in self.row_percent)
        self.row_num += count

    def _where(self) -> str:
        title = self.table.title if self.table else ""
        return f"onglet « {title} », cellule {a1(self.row_num + 1, self.col)}"


def _table_of(el: etree._Element | None) -> etree._Element | None:
    """The table a row belongs to (through row groups and header rows)."""
    while el is not None and el.tag != TABLE:
        el = el.getparent()
    return el


def _is_sheet(table: etree._Element) -> bool:
    """Whether a table is a sheet (a sub-table of a cell is not)."""
    parent = table.getparent()
    return parent is not None and parent.tag == SPREADSHEET


def _rows(parent: etree._Element) -> Iterator[etree._Element]:
    """The rows of a table in order, through row groups and header rows."""
    for child in parent:
        if child.tag == ROW:
            yield child
        elif child.tag in ROW_GROUPS:
            yield from _rows(child)


def _drop_before(el: etree._Element) -> None:
    """Free the siblings read before ``el`` (they are done with)."""
    parent = el.getparent()
    if parent is not None:
        while (previous := el.getprevious()) is not None:
            parent.remove(previous)


def read_tables(stream: IO[bytes], part: str, size: int) -> list[Table]:
    """Every table of a content part of ``size`` bytes, in order; PackageError (French,
    naming the part). A part up to ``TREE_BYTES`` is parsed whole then read (libxml2 builds
    the tree in C: twice as fast); a larger one is streamed, in bounded memory."""
    try:
        if size <= TREE_BYTES:
            return _read_tree(etree.fromstring(stream.read(TREE_BYTES + 1), _PARSER))
        reader = _Reader()
        events = etree.iterparse(
            stream, events=("end",), tag=(TABLE, ROW, CELL, COVERED), resolve_entities=False,
            no_network=True, load_dtd=False, remove_comments=True, remove_pis=True,
        )  # fmt: skip
        for _, el in events:
            reader.end(el)
        return reader.tables
    except _Refused as exc:
        raise PackageError(f"partie {part} : {exc}") from None
    except etree.XMLSyntaxError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise PackageError(
            f"partie {part} illisible : XML mal formé ou démesuré ligne {line}, colonne "
            f"{column + 1} ; {ADVICE}"
        ) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise damaged_part(part) from exc


def read_tree(root: etree._Element, part: str) -> list[Table]:
    """Every table of a parsed content part, the tree left as it is (the write-back reads the
    part so, before and after its patch); PackageError as ``read_tables``."""
    try:
        return _read_tree(root)
    except _Refused as exc:
        raise PackageError(f"partie {part} : {exc}") from None


def _read_tree(root: etree._Element) -> list[Table]:
    reader = _Reader()
    spreadsheet = root.find(f"{OFFICE}body/{SPREADSHEET}")
    for table_el in () if spreadsheet is None else spreadsheet.iterchildren(TABLE):
        reader._start_table(table_el)
        for row_el in _rows(table_el):
            reader._begin_row(row_el)
            for cell in row_el.iterchildren(CELL, COVERED):
                reader._cell(cell)
            reader._end_row()
    return reader.tables
