"""Surgical edits of an .xlsx's XML parts: owned cells of a worksheet, and the styles qep-sync
needs (computed header, date, wrapped text; the status colours' three differential formats)
appended to styles.xml.

Around the owned cells, and only there, a patch with a layout (``OwnedLayout``) also sets what
a person sees of the owned columns: conditional colours on the status columns' data range, an
input message on the owned header cells (« Colonne calculée »), and an autofilter over the
table extended over the owned columns. qep-sync recognises its own conditional formats (on
owned columns only, every rule one of its status words in one of its colours) and its own
input message (by its title), and replaces only those: the user's rules and validations stay
as they are, their priorities and order included.

Nothing else of a part changes: other cells, rows, merged ranges, conditional formats,
extensions (x14 data bars, sparklines) and unknown elements are kept as parsed. Strings are
written inline (t="inlineStr") so the shared strings table is untouched, and never as
formulas: a text starting with « = » stays text.

Whatever produced the sheet, what comes out is what Excel requires: rows ascending by number,
cells ascending by column, no duplicate. Rows and cells are found by their reference, not by
their position (LibreOffice and other readers accept rows out of order; Excel, once a patch
duplicated one of them, reported the file as damaged). A sheet whose references are
ambiguous (a row or a cell twice, a reference that is not one) cannot be patched safely: it
is refused with ``SkippedWrite`` and left as it is. Dates are written in the workbook's date
system (Mac Excel's 1904 system counts 1462 days fewer).

Strict Open XML parts (Excel's « Feuille de calcul Open XML stricte » save, another
namespace) are refused, not patched: Excel saves it only on request, the guarantees of a
write-back (valid for Excel, nothing else changed) could not be checked on such files (the
test readers, openpyxl among them, do not read them), and re-saving as a « Classeur Excel »
gives the user the computed columns at once. ``refuse_strict`` says so in French.

Every error is French and names the part or the sheet (``PartError``, ``SkippedWrite``); the
parser's own words go to the debug log.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from qep_sync.backends.ooxml import NS_MAIN
from qep_sync.cells import a1, column_index, to_serial
from qep_sync.core.contract import OwnedLayout, SheetPatch, SkippedWrite
from qep_sync.vocabulary import STATUS_COLOURS

M = f"{{{NS_MAIN}}}"
NS_STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
XML_NS = "http://www.w3.org/XML/1998/namespace"
BOM = b"\xef\xbb\xbf"
DAYS_1900_TO_1904 = 1462  # serial of 1904-01-01 in the 1900 system: day 0 of the 1904 system
MAX_ROW = 1_048_576  # Excel's last row
MAX_COL = 16_383  # Excel's last column (XFD), 0-based
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed in XML: escaped
_NON_CHARACTER = re.compile("[\ufffe\uffff]")  # not allowed in XML, never read from a file: dropped
_ESCAPE_LIKE = re.compile("_(x[0-9A-Fa-f]{4}_)")
_REF = re.compile(r"([A-Z]{1,3})([1-9][0-9]{0,6})")
_ROW_NUMBER = re.compile(r"[1-9][0-9]{0,6}")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False,
                          huge_tree=True, load_dtd=False)  # fmt: skip
HEADER_FILL = "FFE2EFDA"  # pale green: « computed by qep-sync », distinct from usual header blues
HEADER_FONT_COLOUR = "FF375623"
DATE_FORMAT = "dd/mm/yyyy"
# The status colours (differential formats of conditional formatting): fill, font colour.
COLOURS = {"red": ("FFFFC7CE", "FF9C0006"), "orange": ("FFFFE0B2", "FF8A4B00"),
           "green": ("FFC6EFCE", "FF006100")}  # fmt: skip
PROMPT_TITLE = "Colonne calculée"  # how qep-sync's input message on owned headers is known
PROMPT = (
    "Calculée par qep-sync à chaque synchronisation : ne pas saisir ici (une valeur saisie "
    "est remplacée)."
)

_log = logging.getLogger(__name__)


class PartError(Exception):
    """A part cannot be parsed or edited; the message is French and names the part."""


@dataclass(frozen=True)
class StyleIds:
    header: int
    date: int
    wrap: int = 0  # cell format of the wrapped `Contrôle` cells
    dxfs: tuple[tuple[str, int], ...] = ()  # colour -> differential format of its status rule

    @property
    def dxf(self) -> dict[str, int]:
        return dict(self.dxfs)


def parse(xml: bytes, part: str = "") -> etree._Element:
    """A part's XML tree; PartError (French, naming the part) when it cannot be parsed."""
    if xml.startswith(BOM + BOM):
        # Some tools add a byte order mark to a text that already has one: the second one
        # is text before the XML declaration, which Excel refuses.
        raise PartError(f"partie {part} illisible : marque d'ordre des octets en double")
    try:
        return etree.fromstring(xml, _PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        _log.debug("%s: XML refused by the parser: %s", part, exc)
        line = getattr(exc, "lineno", None)
        where = f", ligne {line}" if line else ""
        raise PartError(f"partie {part} illisible : XML mal formé{where}") from None


def serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def refuse_strict(what: str) -> SkippedWrite:
    """The warning for a Strict Open XML workbook: kept as it is, and how to get the columns."""
    return SkippedWrite(
        f"{what} au format Open XML strict : qep-sync laisse le classeur tel quel, sans les "
        "colonnes calculées. Pour les obtenir, ouvrez-le dans Excel et enregistrez-le au "
        "format Classeur Excel (.xlsx) : il sera mis à jour au prochain passage"
    )


def check_namespace(root: etree._Element, part: str, what: str) -> None:
    """SkippedWrite for a Strict Open XML part (``what`` names it for the user), PartError
    for any other namespace than SpreadsheetML's."""
    namespace = etree.QName(root).namespace
    if namespace == NS_STRICT:
        raise refuse_strict(what)
    if namespace != NS_MAIN:
        _log.debug("%s: root element %s", part, root.tag)
        raise PartError(f"partie {part} inattendue : ce n'est pas du SpreadsheetML")


# ---------------------------------------------------------------- styles.xml


def _same(a: etree._Element, b: etree._Element) -> bool:
    """Same tag, attributes, text and children. Not c14n: an element built here serialises with
    a generated prefix (ns0:font) while the file's uses the default namespace, and the file's
    root may declare other namespaces; either would hide an identical style and add it again."""
    return (
        a.tag == b.tag
        and dict(a.attrib) == dict(b.attrib)
        and (a.text or "").strip() == (b.text or "").strip()
        and len(a) == len(b)
        and all(_same(x, y) for x, y in zip(a, b, strict=True))
    )


def _find_or_append(parent: etree._Element, tag: str, new: etree._Element) -> int:
    items = parent.findall(M + tag)
    for i, item in enumerate(items):
        if _same(item, new):
            return i
    if items:
        items[-1].addnext(new)
    else:
        parent.append(new)
    parent.set("count", str(len(items) + 1))
    return len(items)


def _section(root: etree._Element, tag: str, before: tuple[str, ...]) -> etree._Element:
    found = root.find(M + tag)
    if found is not None:
        return found
    section = etree.Element(M + tag, nsmap=None)
    section.set("count", "0")
    for other in before:
        anchor = root.find(M + other)
        if anchor is not None:
            anchor.addprevious(section)
            return section
    root.append(section)
    return section


_ORDER = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs",
          "tableStyles", "colors", "extLst")  # fmt: skip


def ensure_styles(xml: bytes, part: str = "xl/styles.xml") -> tuple[bytes | None, StyleIds]:
    """The indexes of qep-sync's two cell styles, appending them to styles.xml when absent.

    Returns (new styles.xml or None when nothing had to be added, style ids). Existing
    entries keep their positions, so no cell of the workbook changes its look. Raises
    PartError when the part cannot be parsed, SkippedWrite when it is Strict Open XML.
    """
    root = parse(xml, part)
    check_namespace(root, part, "feuille de styles")
    before = etree.tostring(root, method="c14n")
    try:
        ids = _add_styles(root)
    except ValueError as exc:  # a numFmtId that is not a number
        _log.debug("%s: %s", part, exc)
        raise PartError(f"partie {part} illisible : numéro de format invalide") from None
    if etree.tostring(root, method="c14n") == before:
        return None, ids
    return serialise(root), ids


def _add_styles(root: etree._Element) -> StyleIds:
    """Find or append the date format, the header font and fill, and the two cell formats."""
    num_fmts = _section(root, "numFmts", _ORDER[1:])
    fmt_id = None
    for f in num_fmts.findall(M + "numFmt"):
        if f.get("formatCode") == DATE_FORMAT:
            fmt_id = int(f.get("numFmtId", "0"))
    if fmt_id is None:
        used = [int(f.get("numFmtId", "0")) for f in num_fmts.findall(M + "numFmt")]
        fmt_id = max([163, *used]) + 1
        new_fmt = etree.SubElement(num_fmts, M + "numFmt")
        new_fmt.set("numFmtId", str(fmt_id))
        new_fmt.set("formatCode", DATE_FORMAT)
        num_fmts.set("count", str(len(num_fmts.findall(M + "numFmt"))))
    if not len(num_fmts):
        root.remove(num_fmts)

    fonts = _section(root, "fonts", _ORDER[2:])
    base_font = fonts.find(M + "font")
    font = etree.Element(M + "font")
    etree.SubElement(font, M + "b")
    size = base_font.find(M + "sz") if base_font is not None else None
    etree.SubElement(font, M + "sz").set("val", size.get("val", "11") if size is not None else "11")
    etree.SubElement(font, M + "color").set("rgb", HEADER_FONT_COLOUR)
    name = base_font.find(M + "name") if base_font is not None else None
    etree.SubElement(font, M + "name").set(
        "val", name.get("val", "Calibri") if name is not None else "Calibri"
    )
    font_id = _find_or_append(fonts, "font", font)

    fills = _section(root, "fills", _ORDER[3:])
    fill = etree.Element(M + "fill")
    pattern = etree.SubElement(fill, M + "patternFill")
    pattern.set("patternType", "solid")
    etree.SubElement(pattern, M + "fgColor").set("rgb", HEADER_FILL)
    etree.SubElement(pattern, M + "bgColor").set("indexed", "64")
    fill_id = _find_or_append(fills, "fill", fill)

    xfs = _section(root, "cellXfs", _ORDER[6:])
    header = etree.Element(M + "xf")
    for key, value in (("numFmtId", "0"), ("fontId", str(font_id)), ("fillId", str(fill_id)),
                       ("borderId", "0"), ("xfId", "0"), ("applyFont", "1"), ("applyFill", "1"),
                       ("applyAlignment", "1")):  # fmt: skip
        header.set(key, value)
    align = etree.SubElement(header, M + "alignment")
    align.set("vertical", "center")
    align.set("wrapText", "1")
    date = etree.Element(M + "xf")
    for key, value in (("numFmtId", str(fmt_id)), ("fontId", "0"), ("fillId", "0"),
                       ("borderId", "0"), ("xfId", "0"), ("applyNumberFormat", "1")):  # fmt: skip
        date.set(key, value)
    wrap = etree.Element(M + "xf")
    for key, value in (("numFmtId", "0"), ("fontId", "0"), ("fillId", "0"), ("borderId", "0"),
                       ("xfId", "0"), ("applyAlignment", "1")):  # fmt: skip
        wrap.set(key, value)
    wrap_align = etree.SubElement(wrap, M + "alignment")
    wrap_align.set("vertical", "top")
    wrap_align.set("wrapText", "1")
    ids = (_find_or_append(xfs, "xf", header), _find_or_append(xfs, "xf", date),
           _find_or_append(xfs, "xf", wrap))  # fmt: skip
    dxfs = _section(root, "dxfs", _ORDER[8:])
    found = []
    for colour, (fill_rgb, font_rgb) in COLOURS.items():
        dxf = etree.Element(M + "dxf")  # as Excel writes its own: font, then fill
        etree.SubElement(etree.SubElement(dxf, M + "font"), M + "color").set("rgb", font_rgb)
        dxf_pattern = etree.SubElement(etree.SubElement(dxf, M + "fill"), M + "patternFill")
        etree.SubElement(dxf_pattern, M + "bgColor").set("rgb", fill_rgb)
        found.append((colour, _find_or_append(dxfs, "dxf", dxf)))
    return StyleIds(*ids, dxfs=tuple(found))


# ---------------------------------------------------------------- worksheet


@dataclass
class _Row:
    """A row of the sheet: its element and its cells by ascending column."""

    element: etree._Element
    cols: list[int]
    cells: list[etree._Element]
    implied: bool = False  # some cells have no reference: their place tells their column


@dataclass
class _Writer:
    """What writing a cell needs beyond its value, and what the writes did."""

    styles: StyleIds
    date1904: bool
    wrapped: frozenset[int] = frozenset()  # columns whose written cells wrap
    # Removed anchors of shared formulas: si -> (formula text, anchor cell).
    shared: dict[str, tuple[str, str]] = field(default_factory=dict)
    had_formula: bool = False


def _refusal(title: str, what: str) -> SkippedWrite:
    """The warning for a sheet whose references are ambiguous: left as it is."""
    return SkippedWrite(
        f"onglet « {title} » : {what} ; la feuille ne peut pas être modifiée sans risque, le "
        "classeur n'est pas modifié. Ouvrez-le dans Excel ou LibreOffice et enregistrez-le "
        "(ce qui le répare) : il sera mis à jour au prochain passage"
    )


def _serial(day: dt.date, date1904: bool) -> int:
    """A date as the workbook counts it: from 1900, or from 1904 (Mac Excel's system)."""
    return to_serial(day) - (DAYS_1900_TO_1904 if date1904 else 0)


def xstring(text: str) -> str:
    """A text as SpreadsheetML stores it: characters XML cannot hold become Excel's escapes
    (_x0007_), and a text that already looks like an escape has its « _ » escaped (_x005F_).
    Excel and calamine decode both, so what is read back is exactly ``text`` (dropping the
    characters instead made the next run see a difference and rewrite the file every time)."""
    text = _ESCAPE_LIKE.sub(r"_x005F_\1", _NON_CHARACTER.sub("", text))
    return _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def _clear(c: etree._Element, writer: _Writer) -> None:
    """Remove a cell's value, formula and type, recording a removed shared-formula anchor."""
    for child in list(c):
        if child.tag in (M + "v", M + "f", M + "is"):
            if child.tag == M + "f":
                writer.had_formula = True
                si = child.get("si")
                if child.get("t") == "shared" and child.get("ref") and si is not None:
                    writer.shared[si] = (child.text or "", c.get("r", ""))
            c.remove(child)
    for attr in ("t", "cm", "vm"):
        c.attrib.pop(attr, None)


def cell_style(value: Any, header: bool, col: int, writer: _Writer) -> int | None:
    """The cell format a written cell gets: the computed header's, a date's, the wrapped
    `Contrôle`'s; None for none (the cell's own style is dropped with its old value)."""
    if header:
        return writer.styles.header
    if isinstance(value, dt.date):
        return writer.styles.date
    if value is not None and col in writer.wrapped:
        return writer.styles.wrap
    return None


def _set_value(c: etree._Element, value: Any, writer: _Writer, header: bool, col: int) -> None:
    """Replace the content of a cell (``None`` leaves it empty, keeping only its style)."""
    _clear(c, writer)
    style = cell_style(value, header, col, writer)
    if style is None:
        c.attrib.pop("s", None)
    else:
        c.set("s", str(style))
    if value is None:
        return
    if isinstance(value, str):
        c.set("t", "inlineStr")
        is_el = etree.Element(M + "is")
        t = etree.SubElement(is_el, M + "t")
        text = xstring(value)
        if text != text.strip():
            t.set(f"{{{XML_NS}}}space", "preserve")
        t.text = text
        c.insert(0, is_el)
        return
    v = etree.Element(M + "v")
    if isinstance(value, bool):
        c.set("t", "b")
    v.text = number_text(value, writer.date1904)
    c.insert(0, v)


def number_text(value: Any, date1904: bool) -> str:
    """The <v> text of a value that is not a string: a boolean, a date, a number."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.date):
        return str(_serial(value, date1904))
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def _reorder(parent: etree._Element, first: etree._Element, ordered: list[etree._Element]) -> None:
    """Put ``ordered`` (children of ``parent``) in that order, from where ``first`` stands.

    Each element is moved to the next slot; the ones not yet placed always stand after it,
    so the slots already filled do not shift. Siblings of another kind (an extLst after a
    row's cells) stay after them.
    """
    start = parent.index(first)
    for i, element in enumerate(ordered):
        parent.insert(start + i, element)


_COLUMNS: dict[str, int] = {}  # column letters already checked -> 0-based index


def _cell_column(ref: str, row_num: int, row_text: str, title: str) -> int:
    """The column of a cell of row ``row_num``; SkippedWrite when ``ref`` is not a reference
    of that row. Letters seen before are looked up: a 5,000-row sheet has a few of them."""
    if ref.endswith(row_text):
        col = _COLUMNS.get(ref[: -len(row_text)])
        if col is not None:
            return col
    m = _REF.fullmatch(ref)
    if m is None:
        raise _refusal(title, f"référence de cellule « {ref} » invalide en ligne {row_num}")
    if int(m.group(2)) != row_num:
        raise _refusal(title, f"la cellule {ref} est rangée dans la ligne {row_num}")
    col = column_index(m.group(1))
    if col > MAX_COL:
        raise _refusal(title, f"la cellule {ref} est au-delà de la dernière colonne d'Excel")
    _COLUMNS[m.group(1)] = col
    return col


def _index_cells(row_el: etree._Element, row_num: int, title: str) -> _Row:
    """A row's cells by column, checked; put in ascending order when they are not."""
    cols: list[int] = []
    cells: list[etree._Element] = []
    row_text = str(row_num)
    last = -1
    ascending = True
    implied = False
    for c in row_el.iterchildren(M + "c"):
        ref = c.get("r")
        # A cell without a reference follows the previous one in the document.
        if ref is None:
            col, implied = last + 1, True
        else:
            col = _cell_column(ref, row_num, row_text, title)
        if col > MAX_COL:
            raise _refusal(title, f"la ligne {row_num} va au-delà de la dernière colonne d'Excel")
        ascending = ascending and col > last
        cols.append(col)
        cells.append(c)
        last = col
    if not ascending:  # reordered, unless a column comes twice
        order = sorted(range(len(cols)), key=cols.__getitem__)
        cols, cells, first = [cols[i] for i in order], [cells[i] for i in order], cells[0]
        for a, b in itertools.pairwise(cols):
            if a == b:
                raise _refusal(title, f"la cellule {a1(row_num, a)} y figure deux fois")
        _name_cells(row_num, cols, cells)  # their places will no longer tell their columns
        _reorder(row_el, first, cells)
        implied = False
    return _Row(row_el, cols, cells, implied)


def _name_cells(row_num: int, cols: list[int], cells: list[etree._Element]) -> None:
    """Give every cell without a reference its reference."""
    for col, c in zip(cols, cells, strict=True):
        if c.get("r") is None:
            c.set("r", a1(row_num, col))


def _row_number(row_el: etree._Element, previous: int, title: str) -> int:
    r = row_el.get("r")
    if r is None:  # a row without a number follows the previous one
        num = previous + 1
        row_el.set("r", str(num))
    elif _ROW_NUMBER.fullmatch(r):
        num = int(r)
    else:
        raise _refusal(title, f"numéro de ligne « {r} » invalide")
    if num > MAX_ROW:
        raise _refusal(title, f"la ligne {num} est au-delà de la dernière ligne d'Excel")
    return num


def _index_rows(sheet_data: etree._Element, title: str) -> dict[int, _Row]:
    """Every row of the sheet by number, each checked, put in ascending order when they are
    not: a row is found by its number, never by its position."""
    rows: dict[int, _Row] = {}
    previous = 0
    ascending = True
    for row_el in sheet_data.iterchildren(M + "row"):
        num = _row_number(row_el, previous, title)
        if num in rows:
            raise _refusal(title, f"la ligne {num} y figure deux fois")
        ascending = ascending and num > previous
        rows[num] = _index_cells(row_el, num, title)
        previous = num
    if not ascending:
        ordered = [rows[num].element for num in sorted(rows)]
        _reorder(sheet_data, next(iter(rows.values())).element, ordered)
    return rows


def _new_row(sheet_data: etree._Element, rows: dict[int, _Row], nums: list[int], num: int) -> _Row:
    """An empty row numbered ``num``, placed among the others (``nums``: their sorted numbers)."""
    row_el = etree.Element(M + "row")
    row_el.set("r", str(num))
    i = bisect.bisect_left(nums, num)
    if i < len(nums):
        rows[nums[i]].element.addprevious(row_el)
    elif nums:
        rows[nums[-1]].element.addnext(row_el)
    else:
        sheet_data.append(row_el)
    nums.insert(i, num)
    rows[num] = _Row(row_el, [], [])
    return rows[num]


def _cell_at(row: _Row, row_num: int, col: int) -> etree._Element:
    """The cell of ``row`` in column ``col``, created in its place when absent."""
    i = bisect.bisect_left(row.cols, col)
    if i < len(row.cols) and row.cols[i] == col:
        return row.cells[i]
    c = etree.Element(M + "c")
    c.set("r", a1(row_num, col))
    if i < len(row.cells):
        row.cells[i].addprevious(c)
    elif row.cells:
        row.cells[-1].addnext(c)
    else:
        row.element.insert(0, c)  # before a row's extLst, if any
    row.cols.insert(i, col)
    row.cells.insert(i, c)
    return c


def _write_row(row: _Row, row_num: int, writes: Mapping[int, Any], writer: _Writer,
               header: bool) -> None:  # fmt: skip
    if row.implied:  # a new cell among them must not shift their columns
        _name_cells(row_num, row.cols, row.cells)
        row.implied = False
    for col in sorted(writes):
        if writes[col] is None and col not in row.cols:
            continue  # clearing a cell that does not exist
        _set_value(_cell_at(row, row_num, col), writes[col], writer, header, col)
    spans = row.element.get("spans")
    if spans and row.cols:
        lo, _, hi = spans.partition(":")
        if lo.isdigit() and hi.isdigit():
            spans = f"{min(int(lo), row.cols[0] + 1)}:{max(int(hi), row.cols[-1] + 1)}"
            row.element.set("spans", spans)


def _ensure_cols(root: etree._Element, widths: Mapping[int, float]) -> None:
    if not widths:
        return
    cols_el = root.find(M + "cols")
    if cols_el is None:
        cols_el = etree.Element(M + "cols")
        root.find(M + "sheetData").addprevious(cols_el)
    existing = [(_int(c.get("min")), _int(c.get("max")), c) for c in cols_el.findall(M + "col")]
    for col, width in sorted(widths.items()):
        n = col + 1
        if any(lo <= n <= hi for lo, hi, _ in existing):
            continue
        new = etree.Element(M + "col")
        new.set("min", str(n))
        new.set("max", str(n))
        new.set("width", f"{width:g}")
        new.set("customWidth", "1")
        after = [c for lo, _, c in existing if lo < n]
        if after:
            after[-1].addnext(new)
        else:
            cols_el.insert(0, new)
        existing.append((n, n, new))
        existing.sort(key=lambda item: item[0])


def _int(text: str | None) -> int:
    return int(text) if text and text.isdigit() else 0


def _parse_ref(ref: str) -> tuple[int, int] | None:
    """(1-based row, 0-based column) of an A1 reference, None when it is not one."""
    m = _REF.fullmatch(ref)
    return (int(m.group(2)), column_index(m.group(1))) if m else None


def _extend_dimension(root: etree._Element, max_row: int, max_col: int) -> None:
    dim = root.find(M + "dimension")
    if dim is None:
        return
    ref = dim.get("ref", "A1")
    first, _, last = ref.partition(":")
    corner = _parse_ref(last or first)
    if corner is None:
        return
    new_last = a1(max(corner[0], max_row), max(corner[1], max_col))
    dim.set("ref", f"{first}:{new_last}" if new_last != first else first)


def _unshare(
    sheet_data: etree._Element, anchors: Mapping[str, tuple[str, str]], title: str
) -> None:
    """Give their own formula to the cells of a shared formula whose anchor was overwritten.

    The other cells of the group only say « same formula as group si »: with the anchor gone,
    Excel reports the file as damaged (and openpyxl reads the formula « = »). Each one gets
    the formula it meant, written out: the anchor's formula moved to its own position.
    """
    if not anchors:
        return
    from openpyxl.formula.translate import Translator  # only here: openpyxl is slow to import

    for f in sheet_data.iter(M + "f"):
        si = f.get("si")
        if f.get("t") != "shared" or si not in anchors or f.get("ref"):
            continue
        text, origin = anchors[si]
        cell = f.getparent()
        try:
            moved = Translator("=" + text, origin).translate_formula(cell.get("r", ""))
        except Exception as exc:  # openpyxl raises its own errors on formulas it cannot move
            _log.debug("shared formula %r from %s to %s: %s", text, origin, cell.get("r"), exc)
            raise PartError(
                f"onglet « {title} » : formule partagée de la cellule {origin} impossible à "
                f"recopier en {cell.get('r')}"
            ) from None
        for attr in ("t", "si"):
            f.attrib.pop(attr, None)
        f.text = moved[1:]


@dataclass
class Patched:
    """A worksheet part as patched: its XML in pieces, written into the file one after the
    other (never joined there: a big sheet is not held twice), whether a formula was
    overwritten, and the autofilter's range when it was extended (old ref, new ref), for
    the workbook's name."""

    pieces: list[bytes]
    had_formula: bool
    autofilter: tuple[str, str] | None = None

    @property
    def xml(self) -> bytes:
        """The part's XML, whole."""
        return b"".join(self.pieces)


def patch_sheet(
    xml: bytes, patch: SheetPatch, styles: StyleIds, *, date1904: bool = False
) -> Patched:
    """Apply a patch to a worksheet part: its cells, and with them its layout (colours, header
    input message, autofilter), never the layout alone.

    ``date1904``: the workbook counts dates from 1904, so do the dates written. Raises
    SkippedWrite when the sheet cannot be patched safely (a row or a cell twice, an invalid
    reference, Strict Open XML), PartError when it cannot be parsed or edited.
    """
    root = parse(xml, patch.part)
    check_namespace(root, patch.part, f"onglet « {patch.title} »")
    sheet_data = root.find(M + "sheetData")
    if sheet_data is None:
        raise PartError(f"partie {patch.part} (onglet « {patch.title} ») sans cellules (sheetData)")
    rows = _index_rows(sheet_data, patch.title)
    nums = sorted(rows)
    by_row: dict[int, dict[int, Any]] = {}
    for (r, col), value in patch.cells.items():
        by_row.setdefault(r, {})[col] = value
    header_writes = dict(patch.headers)
    layout = patch.layout
    wrapped = frozenset(layout.wrapped) if layout else frozenset()
    writer = _Writer(styles, date1904, wrapped)
    max_row = max_col = 0
    for num in sorted(set(by_row) | ({patch.header_row} if header_writes else set())):
        header = num == patch.header_row and bool(header_writes)
        row = rows.get(num)
        if row is None:
            if not header and all(v is None for v in by_row[num].values()):
                continue  # only clearing cells of a row that does not exist
            row = _new_row(sheet_data, rows, nums, num)
        if header:
            _write_row(row, num, header_writes, writer, True)
        if num in by_row:
            _write_row(row, num, by_row[num], writer, False)
        max_row = max(max_row, num)
        max_col = max([max_col, *by_row.get(num, {}), *header_writes])
    _unshare(sheet_data, writer.shared, patch.title)
    header_row = rows.get(patch.header_row)
    filled = None
    if header_row is not None:
        filled = [col for col, c in zip(header_row.cols, header_row.cells, strict=True)
                  if _has_value(c)]  # fmt: skip
    autofilter = finish_sheet(root, patch, styles, (max_row, max_col), filled)
    return Patched([serialise(root)], writer.had_formula, autofilter)


def finish_sheet(
    root: etree._Element,
    patch: SheetPatch,
    styles: StyleIds,
    corner: tuple[int, int],
    header_filled: list[int] | None,
) -> tuple[str, str] | None:
    """What a patch changes around the cells once they are written: the new columns' widths,
    the dimension grown to ``corner`` (last row, last column written), and with a layout the
    status colours, the header input message and the autofilter. ``header_filled``: the
    columns of the header row holding a value (None: no header row). Returns the autofilter's
    old and new ranges when it was extended."""
    _ensure_cols(root, patch.widths)
    _extend_dimension(root, *corner)
    layout = patch.layout
    if layout is None or not layout.columns:
        return None
    _colour_statuses(root, layout, styles)
    _mark_headers(root, patch.header_row, layout)
    if not layout.extend_autofilter or header_filled is None:
        return None
    return _extend_autofilter(root, patch.header_row, header_filled, layout)


# ---------------------------------------------------------------- around the owned cells

# CT_Worksheet's children, in the order the schema requires.
_SHEET_ORDER = ("sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData",
                "sheetCalcPr", "sheetProtection", "protectedRanges", "scenarios", "autoFilter",
                "sortState", "dataConsolidate", "customSheetViews", "mergeCells", "phoneticPr",
                "conditionalFormatting", "dataValidations", "hyperlinks", "printOptions",
                "pageMargins", "pageSetup", "headerFooter", "rowBreaks", "colBreaks",
                "customProperties", "cellWatches", "ignoredErrors", "smartTags", "drawing",
                "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects",
                "controls", "webPublishItems", "tableParts", "extLst")  # fmt: skip
_RANK = {name: i for i, name in enumerate(_SHEET_ORDER)}


def _place(root: etree._Element, element: etree._Element, tag: str) -> None:
    """Put a new child of the worksheet where the schema wants it: after the last one of its
    kind, else before the first child that must follow it."""
    same = root.findall(M + tag)
    if same:
        same[-1].addnext(element)
        return
    rank = _RANK[tag]
    for child in root:
        if not isinstance(child.tag, str) or not child.tag.startswith(M):
            continue  # comments, markup-compatibility blocks
        if _RANK.get(etree.QName(child).localname, -1) > rank:
            child.addprevious(element)
            return
    root.append(element)


def _span(token: str) -> tuple[int, int, int, int] | None:
    """(first row, first col, last row, last col) of « A1 » or « A1:B9 »; None otherwise."""
    first, _, last = token.replace("$", "").partition(":")
    a, b = _parse_ref(first), _parse_ref(last or first)
    if a is None or b is None:
        return None
    return a[0], a[1], b[0], b[1]


def _quoted(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _is_ours(cf: etree._Element, owned: set[int], dxfs: set[str]) -> bool:
    """A conditional format qep-sync wrote: on owned columns only, and every rule one of its
    status words (cellIs equal) in one of its colours."""
    spans = [_span(t) for t in (cf.get("sqref") or "").split()]
    if not spans or any(s is None or not set(range(s[1], s[3] + 1)) <= owned for s in spans):
        return False
    rules = cf.findall(M + "cfRule")
    words = {_quoted(w) for w in STATUS_COLOURS}
    return bool(rules) and all(
        r.get("type") == "cellIs" and r.get("operator") == "equal" and r.get("dxfId") in dxfs
        and [f.text for f in r.findall(M + "formula")] in ([w] for w in words)
        for r in rules
    )  # fmt: skip


def _colour_statuses(root: etree._Element, layout: OwnedLayout, styles: StyleIds) -> None:
    """qep-sync's conditional formats: replaced by this run's, over the data rows now."""
    dxf = styles.dxf
    if not dxf:
        return
    owned = set(layout.columns)
    for cf in root.findall(M + "conditionalFormatting"):
        if _is_ours(cf, owned, {str(i) for i in dxf.values()}):
            root.remove(cf)
    if not layout.first_row:
        return
    priorities = [_int(r.get("priority")) for r in root.iter("{*}cfRule")]  # x14 rules too
    priority = max(priorities, default=0)
    for col, words in sorted(layout.colours.items()):
        present = [(w, c) for c in COLOURS for w in sorted(words) if words[w] == c]
        if not present:
            continue
        letters = a1(1, col)[:-1]
        cf = etree.Element(M + "conditionalFormatting")
        cf.set("sqref", f"{letters}{layout.first_row}:{letters}{layout.last_row}")
        for word, colour in present:
            priority += 1
            rule = etree.SubElement(cf, M + "cfRule")
            for key, value in (("type", "cellIs"), ("dxfId", str(dxf[colour])),
                               ("priority", str(priority)), ("operator", "equal")):  # fmt: skip
                rule.set(key, value)
            etree.SubElement(rule, M + "formula").text = _quoted(word)
        _place(root, cf, "conditionalFormatting")


def _mark_headers(root: etree._Element, header_row: int, layout: OwnedLayout) -> None:
    """An input message on the owned header cells: « Colonne calculée », once."""
    validations = root.find(M + "dataValidations")
    if validations is None:
        validations = etree.Element(M + "dataValidations")
        _place(root, validations, "dataValidations")
    for dv in validations.findall(M + "dataValidation"):
        if dv.get("promptTitle") == PROMPT_TITLE:
            validations.remove(dv)
    dv = etree.SubElement(validations, M + "dataValidation")
    for key, value in (("allowBlank", "1"), ("showInputMessage", "1"),
                       ("promptTitle", PROMPT_TITLE), ("prompt", PROMPT),
                       ("sqref", " ".join(a1(header_row, c) for c in sorted(layout.columns)))):  # fmt: skip
        dv.set(key, value)
    validations.set("count", str(len(validations.findall(M + "dataValidation"))))


def _has_value(c: etree._Element) -> bool:
    return any(child.tag in (M + "v", M + "is", M + "f") for child in c)


def _extend_autofilter(
    root: etree._Element, header_row: int, filled: list[int], layout: OwnedLayout
) -> tuple[str, str] | None:
    """Extend an autofilter over the table (its top row the header row, its right edge at
    the last user column of the header or beyond) over the owned columns. Its criteria and
    sort keep their columns: the left edge does not move. ``filled``: the header row's
    columns holding a value."""
    af = root.find(M + "autoFilter")
    if af is None:
        return None
    ref = af.get("ref") or ""
    span = _span(ref)
    if span is None or ":" not in ref:
        return None
    top, left, bottom, right = span
    owned = set(layout.columns)
    users = [col for col in filled if col not in owned]
    last_owned = max(owned)
    if top != header_row or not users or right < max(users) or left > min(users):
        return None
    if right >= last_owned:
        return None
    new = f"{a1(top, left)}:{a1(bottom, last_owned)}"
    af.set("ref", new)
    return ref, new
