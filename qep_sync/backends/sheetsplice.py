"""The fast path of a worksheet patch: the rows of a plain sheet patched as bytes.

``sheetxml.patch_sheet`` parses a worksheet into a tree, indexes every row and cell, edits
the tree and serialises it back. That is safe for any sheet, but its Python per row and per
cell was most of a first sync. Most sheets are plain, as spreadsheet applications write
them: UTF-8, no DTD, comment or CDATA, one ``<sheetData>``, rows ascending by their ``r``
(first: ``<row r="7"``), each row only cells, each cell with its reference first
(``<c r="B7"``), ascending, nothing between them (no indentation). For them
``splice_sheet`` makes the same edit on the bytes: the rows that change are rebuilt from
their cells, every other row is kept byte for byte, and what lies around ``<sheetData>``
(columns, dimension, conditional formats, validations, autofilter) is still edited as a
tree by ``sheetxml.finish_sheet``, on the sheet without its rows (small).

Anything else, or an owned cell holding a formula or more than a value, returns None and
``patch_sheet`` takes the tree path, which repairs what it may (rows or cells out of order,
cells without a reference) or refuses. Both paths give the same document (the tests compare
their canonical XML on every fixture); the splice also keeps the untouched rows exactly as
the file had them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from qep_sync.backends.sheetscan import Span, cell_references, cell_tags
from qep_sync.backends.sheetxml import (
    M,
    Patched,
    StyleIds,
    _Writer,
    cell_style,
    check_namespace,
    finish_sheet,
    number_text,
    parse,
    serialise,
    xstring,
)
from qep_sync.backends.zipparts import well_formed
from qep_sync.cells import column_index, column_letter
from qep_sync.core.contract import SheetPatch

_OPEN, _CLOSE, _EMPTY = b"<sheetData>", b"</sheetData>", b"<sheetData/>"
_DECLARED_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]*encoding=["']([^"']+)""")
# An attribute value holding « > » or a single-quoted one: the patterns below would misread
# the tag (text matching it only sends the sheet down the tree path, which is always right).
_ODD_TAG = re.compile(rb"""="[^"]*>|='""")
_ROW_START = re.compile(rb'<row r="([1-9][0-9]{0,6})"([^>]*?)(/?)>')  # its end: found by find
_CELL = re.compile(rb'<c r="([A-Z]{1,3})([1-9][0-9]{0,6})"([^>]*?)(?:/>|>(.*?)</c>)', re.S)
# The bytes a cell's end may be followed by in rows of cells only: the next cell or the row's
# end (each 6 bytes long); and those that may follow « <c » in another tag's name.
_NEXT = (np.frombuffer(b'<c r="', dtype=np.uint8), np.frombuffer(b"</row>", dtype=np.uint8))
_NAME_BYTE = np.zeros(256, dtype=bool)
_NAME_BYTE[list(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:.-")] = True
_LT, _GT, _SLASH, _C, _SPACE = (ord(c) for c in "<>/c ")
_ATTRS = re.compile(rb'(?:\s+[\w:.-]+="[^"]*")*\s*')
_ATTR = re.compile(rb'\s+([\w:.-]+)="([^"]*)"')
_VALUE_ONLY = re.compile(rb"(?:<v>[^<]*</v>|<v/>|<is>.*?</is>)?", re.S)  # what a write replaces
_COLUMNS: dict[bytes, int] = {}  # column letters seen -> 0-based index


class NotPlain(Exception):
    """The sheet is not plain: the tree path patches it."""


def splice_sheet(
    xml: bytes, patch: SheetPatch, styles: StyleIds, *, date1904: bool = False
) -> Patched | None:
    """``patch_sheet``'s result for a plain sheet, None for any other (see the module)."""
    try:
        return _splice(xml, patch, styles, date1904)
    except NotPlain:
        return None


def _splice(xml: bytes, patch: SheetPatch, styles: StyleIds, date1904: bool) -> Patched:
    start, end = _sheet_data(xml)
    skeleton = parse(xml[:start] + _EMPTY + xml[end + len(_CLOSE) :], patch.part)
    check_namespace(skeleton, patch.part, f"onglet « {patch.title} »")
    if skeleton.find(M + "sheetData") is None:
        raise NotPlain
    body = Span(xml, start + len(_OPEN), end)  # read in place: never copied
    rows = list(_rows(body))
    _check_cells(body, rows)
    layout = patch.layout
    writer = _Writer(styles, date1904, frozenset(layout.wrapped) if layout else frozenset())
    pieces, corner, header_cells = _patched_rows(rows, patch, _Encoder(writer))
    filled = None if header_cells is None else [c.col for c in header_cells if c.has_value]
    autofilter = finish_sheet(skeleton, patch, styles, corner, filled)
    head, placeholder, tail = serialise(skeleton).partition(_EMPTY)
    if not placeholder or _EMPTY in tail:
        raise NotPlain
    return Patched([head, _OPEN, *pieces, _CLOSE, tail], False, autofilter)


def _sheet_data(xml: bytes) -> tuple[int, int]:
    """Where ``<sheetData>`` and ``</sheetData>`` stand, once the sheet is known plain XML."""
    declared = _DECLARED_ENCODING.match(xml)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        raise NotPlain
    if b"<!" in xml or xml.count(b"<sheetData") != 1:
        raise NotPlain
    start, end = xml.find(_OPEN), xml.find(_CLOSE)
    if start < 0 or end < start or _ODD_TAG.search(xml, start, end):
        raise NotPlain
    if not well_formed(xml):  # the tree path refuses it in its own words
        raise NotPlain
    return start, end


@dataclass(slots=True)
class _Cell:
    """A cell of a row: its column, its bytes, its attributes after ``r`` and its content."""

    col: int
    xml: bytes
    attrs: bytes
    content: bytes | None

    @property
    def has_value(self) -> bool:
        content = self.content or b""
        return b"<v" in content or b"<is" in content or b"<f" in content


@dataclass(slots=True)
class _Row:
    """A row of the sheet: its number, its start tag's attributes after ``r``, and where
    its bytes and its content lie in the part (sliced when asked: most rows are only
    copied into the new part, and a copy of each would double the sheet in memory)."""

    num: int
    attrs: bytes
    part: bytes
    start: int  # its offset in the part
    end: int
    content_start: int
    content_end: int
    first: int = -1  # the columns of its first and last cells (-1: no cell)
    last: int = -1

    @property
    def xml(self) -> bytes:
        return self.part[self.start : self.end]

    @property
    def content(self) -> bytes:
        return self.part[self.content_start : self.content_end]


def _rows(body: Span) -> Iterator[_Row]:
    """The rows of ``<sheetData>``, checked: nothing else between them, each numbered, in
    ascending order, each holding only plain cells of its own (checked when read).

    Each start tag is matched where the previous row ended, and its « </row> » found by
    ``bytes.find`` (3 times faster than a lazy ``.*?`` in the pattern)."""
    data, pos, end, previous = body.data, body.start, body.end, 0
    while pos < end:
        m = _ROW_START.match(data, pos, end)
        if m is None:
            raise NotPlain  # anything between rows, even spaces: the tree path keeps it in place
        number = int(m.group(1))
        if number <= previous:
            raise NotPlain
        previous = number
        start, head = pos, m.end()
        if m.group(3):  # <row r="7"/>
            inner = pos = head
        else:
            inner = data.find(b"</row>", head, end)
            if inner < 0 or (inner != head and not data.startswith(b'<c r="', head)):
                raise NotPlain  # not closed, or its content does not start with a cell
            pos = inner + len(b"</row>")
        yield _Row(number, m.group(2), data, start, pos, head, inner)


def _attribute(attrs: bytes, name: bytes) -> bytes | None:
    if _ATTRS.fullmatch(attrs) is None:
        raise NotPlain
    for key, value in _ATTR.findall(attrs):
        if key == name:
            return bytes(value)
    return None


def _cells(row: _Row) -> list[_Cell]:
    """A row's cells, each referenced in this row, columns strictly ascending."""
    cells: list[_Cell] = []
    content, number = row.content, str(row.num).encode()
    pos, last = 0, -1
    for m in _CELL.finditer(content):
        letters, digits, attrs, inner = m.groups()
        if m.start() != pos or digits != number:
            raise NotPlain
        pos = m.end()
        col = _column(letters)
        if col <= last or _ATTRS.fullmatch(attrs) is None:
            raise NotPlain
        last = col
        cells.append(_Cell(col, m.group(0), attrs, inner))
    if pos != len(content):
        raise NotPlain  # an extLst, a cell without its reference first, spaces...
    return cells


def _column(letters: bytes) -> int:
    col = _COLUMNS.get(letters)
    if col is None:
        col = _COLUMNS[letters] = column_index(letters.decode())
    return col


def _check_cells(body: Span, rows: list[_Row]) -> None:
    """Every row holds only cells, each referenced in that row, columns strictly ascending;
    sets each row's first and last column. Checked in arrays, ``_CELLS_AT_ONCE`` cells at a
    time, not cell by cell (the tree path would reorder or refuse such rows, and the two
    paths must agree)."""
    if not rows:
        return
    if not _only_cells(body):
        raise NotPlain  # an extLst, a cell without its reference first, spaces...
    buf = body.array()
    tags = cell_tags(buf)
    starts = np.fromiter((row.start - body.start for row in rows), dtype=np.int64, count=len(rows))
    numbers = np.fromiter((row.num for row in rows), dtype=np.int64, count=len(rows))
    before = (-1, 0)  # the row and column of the cell before these (none yet)
    for lo in range(0, tags.size, _CELLS_AT_ONCE):
        some = tags[lo : lo + _CELLS_AT_ONCE]
        cols, nums = cell_references(buf, some)  # every cell tag is « <c r=" » (_only_cells)
        owner = np.searchsorted(starts, some, side="right") - 1  # the row each cell lies in
        if (owner < 0).any() or (nums != numbers[owner]).any():
            raise NotPlain
        owners, columns = np.insert(owner, 0, before[0]), np.insert(cols, 0, before[1])
        same = owners[1:] == owners[:-1]
        if (columns[1:] <= columns[:-1])[same].any():
            raise NotPlain
        for i in np.flatnonzero(~same).tolist():  # a row's first cell
            rows[int(owner[i])].first = int(cols[i]) - 1
        for i in np.flatnonzero(np.append(~same[1:], True)).tolist():  # its last one so far
            rows[int(owner[i])].last = int(cols[i]) - 1
        before = (int(owner[-1]), int(cols[-1]))


_CELLS_AT_ONCE = 1 << 16  # a few MB of arrays, whatever the sheet


def _only_cells(body: Span) -> bool:
    """Whether the rows (``_rows``: they tile the body, each content starting with a cell)
    hold cells only, each tag beginning « <c r=" », and whether every cell's end, « </c> »
    or a self-closed cell's « /> », is followed by the next cell or « </row> ».

    In arrays, a chunk at a time: several times faster than a pattern tried at every cell.
    The sheet is well-formed and no attribute holds a « > » (``_sheet_data``): every « < »
    is a tag's, and the « < » before a « /> » starts its tag. A « /> » followed otherwise
    (a self-closed row, rich text's properties, text) has its tag looked at one by one.
    """
    data, buf = body.data, body.array()
    size = buf.size
    for start, stop in body.cuts():
        seg = buf[start : min(stop + 2, size)]  # 2 more: a pair across the cut is seen once
        n = max(seg.size - 2, 0)
        first, second = seg[:n], seg[1 : n + 1]
        opens = np.flatnonzero((first == _LT) & (second == _C)) + start  # « <c »
        if opens.size and opens[-1] + 6 > size:
            return False
        third = buf[opens + 2]
        spaced = third == _SPACE
        if not (_NAME_BYTE[third] | spaced).all():
            return False  # « <c> », « <c/> », « <c\tr=… »: not a cell referenced first
        cells = opens[spaced]
        r_first = (buf[cells + 3] == ord("r")) & (buf[cells + 4] == ord("="))
        if not (r_first & (buf[cells + 5] == ord('"'))).all():
            return False  # « <c s="2" r="A1" »
        closes = np.flatnonzero((first == _SLASH) & (second == _C)) + start  # « /c »
        closes = closes[(closes > 0) & (buf[closes - 1] == _LT) & (buf[closes + 2] == _GT)]
        if not _followed_by_next(buf, closes + 3).all():
            return False  # « </c> » followed by anything else
        ends = np.flatnonzero((first == _SLASH) & (second == _GT)) + start  # « /> »
        for end in ends[~_followed_by_next(buf, ends + 2)].tolist():
            if data.startswith(b"<c ", data.rfind(b"<", body.start, body.start + end)):
                return False  # a self-closed cell followed by anything else
    return True


def _followed_by_next(buf: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Whether the bytes at each of ``at`` begin « <c r=" » or « </row> »."""
    inside = at + 6 <= buf.size
    at = np.where(inside, at, 0)
    ok = np.zeros(at.size, dtype=bool)
    for text in _NEXT:
        same = inside.copy()
        for k, byte in enumerate(text.tolist()):
            same &= buf[at + k] == byte
        ok |= same
    return ok


def _patched_rows(
    rows: list[_Row], patch: SheetPatch, enc: _Encoder
) -> tuple[list[bytes], tuple[int, int], list[_Cell] | None]:
    """The new ``<sheetData>`` content (its pieces, joined once into the part), the last
    row and column written (for the dimension, as the tree path counts them) and the header
    row's cells after the writes (None when the sheet has no header row). Each row's writes
    are let go once it is written."""
    by_row: dict[int, dict[int, Any]] = {}
    for (r, col), value in patch.cells.items():
        by_row.setdefault(r, {})[col] = value
    headers = dict(patch.headers)
    todo = set(by_row) | ({patch.header_row} if headers else set())
    existing = {row.num: row for row in rows}
    header_cells = _cells(existing[patch.header_row]) if patch.header_row in existing else None
    out: list[bytes] = []
    max_row = max_col = 0
    new_rows = sorted(n for n in todo if n not in existing)
    for row in rows:
        while new_rows and new_rows[0] < row.num:
            max_row, max_col = _add_new(out, new_rows.pop(0), by_row, headers, patch, enc,
                                        (max_row, max_col))  # fmt: skip
        if row.num not in todo:
            out.append(row.xml)
            continue
        if row.num != patch.header_row and min(by_row[row.num]) > row.last:
            out.append(_appended(row, by_row[row.num], enc))  # the usual first write
        else:
            cells = _apply(_cells(row), row.num, by_row, headers, patch, enc)
            if row.num == patch.header_row:
                header_cells = cells
            out.append(_row_xml(row, b"".join(c.xml for c in cells), cells[0].col if cells else
                                None, cells[-1].col if cells else None))  # fmt: skip
        max_row = max(max_row, row.num)
        max_col = max([max_col, *by_row.pop(row.num, {}), *headers])
    while new_rows:
        max_row, max_col = _add_new(out, new_rows.pop(0), by_row, headers, patch, enc,
                                    (max_row, max_col))  # fmt: skip
    return out, (max_row, max_col), header_cells


def _add_new(
    out: list[bytes],
    num: int,
    by_row: dict[int, dict[int, Any]],
    headers: Mapping[int, str],
    patch: SheetPatch,
    enc: _Encoder,
    corner: tuple[int, int],
) -> tuple[int, int]:
    """A row the sheet does not have, unless it would only clear cells."""
    header = num == patch.header_row and bool(headers)
    if not header and all(v is None for v in by_row[num].values()):
        del by_row[num]
        return corner
    cells = _apply([], num, by_row, headers, patch, enc)
    out.append(b'<row r="%d">' % num + b"".join(c.xml for c in cells) + b"</row>")
    return max(corner[0], num), max([corner[1], *by_row.pop(num, {}), *headers])


def _apply(
    cells: list[_Cell],
    num: int,
    by_row: Mapping[int, dict[int, Any]],
    headers: Mapping[int, str],
    patch: SheetPatch,
    enc: _Encoder,
) -> list[_Cell]:
    """The cells of row ``num`` once written: the header texts first, then the row's values
    (as the tree path writes them, one after the other)."""
    if num == patch.header_row and headers:
        cells = _write(cells, num, headers, enc, True)
    if num in by_row:
        cells = _write(cells, num, by_row[num], enc, False)
    return cells


def _write(
    cells: list[_Cell], num: int, writes: Mapping[int, Any], enc: _Encoder, header: bool
) -> list[_Cell]:
    at = {c.col: i for i, c in enumerate(cells)}
    result = list(cells)
    added: list[_Cell] = []
    for col in sorted(writes):
        value = writes[col]
        i = at.get(col)
        if i is None:
            if value is not None:
                added.append(enc.cell(num, col, b"", value, header))
            continue
        old = cells[i]
        if _VALUE_ONLY.fullmatch(old.content or b"") is None:
            raise NotPlain  # a formula, an extLst: the tree path clears them as it must
        result[i] = enc.cell(num, col, old.attrs, value, header)
    if added:
        result = sorted(result + added, key=lambda c: c.col)
    return result


class _Encoder:
    """Written cells as XML, for one sheet: each distinct value and column encoded once."""

    def __init__(self, writer: _Writer) -> None:
        self.writer = writer
        self._values: dict[tuple[type, Any], tuple[bytes, bytes]] = {}
        self._tails: dict[tuple[int, type, Any], bytes] = {}  # a new cell after its reference
        self._refs: dict[int, bytes] = {}

    def cell(self, num: int, col: int, attrs: bytes, value: Any, header: bool) -> _Cell:
        """A written cell: its other attributes kept, its type, value and style this run's
        (attributes in the tree path's order: the kept ones, then s, then t)."""
        style = cell_style(value, header, col, self.writer)
        s = None if style is None else b"%d" % style
        if not attrs:  # a new cell: its style, its type, nothing else
            typed, content = self._value(value)
            rest = (b' s="' + s + b'"' if s is not None else b"") + typed
            tail = rest + (b">" + content + b"</c>" if content else b"/>")
            return _Cell(col, self._ref(col) + b"%d" % num + b'"' + tail, rest, content or None)
        pairs = [(k, v) for k, v in _ATTR.findall(attrs) if k not in (b"t", b"cm", b"vm")]
        if s is None:
            pairs = [(k, v) for k, v in pairs if k != b"s"]
        elif any(k == b"s" for k, _ in pairs):
            pairs = [(k, s if k == b"s" else v) for k, v in pairs]  # set in its place
        else:
            pairs.append((b"s", s))
        typed, content = self._value(value)
        rest = b"".join(b" " + k + b'="' + v + b'"' for k, v in pairs) + typed
        tail = rest + (b">" + content + b"</c>" if content else b"/>")
        return _Cell(col, self._ref(col) + b"%d" % num + b'"' + tail, rest, content or None)

    def new_cells(self, num: int, writes: Mapping[int, Any]) -> tuple[bytes, int | None]:
        """The cells a row gains (data, not header; None values skipped) and the last one's
        column: the first write of a sheet, tens of thousands of them, each distinct value
        of a column encoded once (floats by their repr: -0.0 is not 0.0)."""
        number = b"%d" % num
        out = []
        last = None
        tails = self._tails
        for col in sorted(writes):
            value = writes[col]
            if value is None:
                continue
            kind = value.__class__
            key = (col, kind, repr(value) if kind is float else value)
            tail = tails.get(key)
            if tail is None:
                cell = self.cell(1, col, b"", value, False)
                tail = tails[key] = cell.xml[cell.xml.index(b'"', 6) :]
            out.append(self._ref(col) + number + tail)
            last = col
        return b"".join(out), last

    def _ref(self, col: int) -> bytes:
        """« <c r="K » (a cell's start, its row number to follow)."""
        ref = self._refs.get(col)
        if ref is None:
            ref = self._refs[col] = b'<c r="' + column_letter(col).encode()
        return ref

    def _value(self, value: Any) -> tuple[bytes, bytes]:
        """The type attribute and the content of a cell holding ``value`` (None: empty)."""
        key = (type(value), repr(value) if isinstance(value, float) else value)  # -0.0 ≠ 0.0
        found = self._values.get(key)
        if found is None:
            found = self._values[key] = self._encode(value)
        return found

    def _encode(self, value: Any) -> tuple[bytes, bytes]:
        if value is None:
            return b"", b""
        if isinstance(value, str):
            text = xstring(value)
            space = b' xml:space="preserve"' if text != text.strip() else b""
            return b' t="inlineStr"', b"<is><t" + space + b">" + _escape(text) + b"</t></is>"
        number = b"<v>" + number_text(value, self.writer.date1904).encode() + b"</v>"
        return (b' t="b"' if isinstance(value, bool) else b""), number


def _escape(text: str) -> bytes:
    """A text as element content, escaped as lxml writes it (a CR kept as a reference: a
    parser would turn a bare one into a line feed)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    try:
        return text.replace("\r", "&#13;").encode("utf-8")
    except UnicodeEncodeError:
        raise NotPlain from None  # a lone surrogate: the tree path says what is wrong


def _appended(row: _Row, writes: Mapping[int, Any], enc: _Encoder) -> bytes:
    """A row whose writes all fall after its last cell: its cells kept as bytes, the new
    ones added after them."""
    added, last = enc.new_cells(row.num, writes)
    if last is None:
        return row.xml
    start = row.first if row.first >= 0 else min(c for c, v in writes.items() if v is not None)
    return _row_xml(row, row.content + added, start, last)


def _row_xml(row: _Row, inner: bytes, first: int | None, last: int | None) -> bytes:
    """A row rebuilt around its cells (``inner``, from column ``first`` to ``last``); its
    ``spans`` grown over them, as the tree path does."""
    attrs = row.attrs if first is None or last is None else _spanning(row.attrs, first, last)
    return b'<row r="%d"' % row.num + attrs + b">" + inner + b"</row>"


@functools.lru_cache(maxsize=256)
def _spanning(attrs: bytes, first: int, last: int) -> bytes:
    """A row's attributes with its ``spans`` grown over columns ``first`` to ``last``
    (0-based); rows share a few of them (« spans="1:9" »), each worked out once."""
    spans = _attribute(attrs, b"spans")
    if not spans:
        return attrs
    lo, _, hi = spans.partition(b":")
    if not (lo.isdigit() and hi.isdigit()):
        return attrs
    new = b"%d:%d" % (min(int(lo), first + 1), max(int(hi), last + 1))
    return attrs.replace(b'spans="' + spans + b'"', b'spans="' + new + b'"', 1)
