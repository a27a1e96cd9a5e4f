"""Surgical edits of an .xlsx's XML parts: owned cells of a worksheet, and the two cell styles
qep-sync needs (computed header, date) appended to styles.xml.

Nothing else of a part changes: other cells, rows, merged ranges, conditional formats,
extensions (x14 data bars, sparklines) and unknown elements are kept as parsed. Strings are
written inline (t="inlineStr") so the shared strings table is untouched, and never as
formulas: a text starting with « = » stays text.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from qep_sync.backends.ooxml import NS_MAIN
from qep_sync.cells import a1, column_index, to_serial
from qep_sync.core.contract import SheetPatch

M = f"{{{NS_MAIN}}}"
XML_NS = "http://www.w3.org/XML/1998/namespace"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed in XML: escaped
_NON_CHARACTER = re.compile("[\ufffe\uffff]")  # not allowed in XML, never read from a file: dropped
_ESCAPE_LIKE = re.compile("_(x[0-9A-Fa-f]{4}_)")
_REF = re.compile(r"^([A-Z]+)(\d+)$")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False,
                          huge_tree=True, load_dtd=False)  # fmt: skip
HEADER_FILL = "FFE2EFDA"  # pale green: « computed by qep-sync », distinct from usual header blues
HEADER_FONT_COLOUR = "FF375623"
DATE_FORMAT = "dd/mm/yyyy"


@dataclass(frozen=True)
class StyleIds:
    header: int
    date: int


def parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml, _PARSER)


def serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


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


def ensure_styles(xml: bytes) -> tuple[bytes | None, StyleIds]:
    """The indexes of qep-sync's two cell styles, appending them to styles.xml when absent.

    Returns (new styles.xml or None when nothing had to be added, style ids). Existing
    entries keep their positions, so no cell of the workbook changes its look.
    """
    root = parse(xml)
    before = etree.tostring(root, method="c14n")
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
    ids = StyleIds(_find_or_append(xfs, "xf", header), _find_or_append(xfs, "xf", date))
    if etree.tostring(root, method="c14n") == before:
        return None, ids
    return serialise(root), ids


# ---------------------------------------------------------------- worksheet


def _letters_row(ref: str) -> tuple[int, int]:
    m = _REF.match(ref)
    if not m:
        raise ValueError(f"référence de cellule inattendue « {ref} »")
    return int(m.group(2)), column_index(m.group(1))


def _xstring(text: str) -> str:
    """A text as SpreadsheetML stores it: characters XML cannot hold become Excel's escapes
    (_x0007_), and a text that already looks like an escape has its « _ » escaped (_x005F_).
    Excel and calamine decode both, so what is read back is exactly ``text`` (dropping the
    characters instead made the next run see a difference and rewrite the file every time)."""
    text = _ESCAPE_LIKE.sub(r"_x005F_\1", _NON_CHARACTER.sub("", text))
    return _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def _set_value(c: etree._Element, value: Any, styles: StyleIds, header: bool,
               shared: dict[str, tuple[str, str]]) -> bool:  # fmt: skip
    """Replace the content of a cell; True when a formula was removed.

    When the removed formula anchors a shared formula (``<f t="shared" ref=.. si=..>``), its
    text and cell are recorded in ``shared`` so the other cells of the group can be repaired.
    """
    had_formula = False
    for child in list(c):
        if child.tag in (M + "v", M + "f", M + "is"):
            if child.tag == M + "f":
                had_formula = True
                si = child.get("si")
                if child.get("t") == "shared" and child.get("ref") and si is not None:
                    shared[si] = (child.text or "", c.get("r", ""))
            c.remove(child)
    for attr in ("t", "cm", "vm"):
        c.attrib.pop(attr, None)
    if header:
        c.set("s", str(styles.header))
    elif isinstance(value, dt.date):
        c.set("s", str(styles.date))
    else:
        c.attrib.pop("s", None)
    if value is None:
        return had_formula
    if isinstance(value, str):
        c.set("t", "inlineStr")
        is_el = etree.Element(M + "is")
        t = etree.SubElement(is_el, M + "t")
        text = _xstring(value)
        if text != text.strip():
            t.set(f"{{{XML_NS}}}space", "preserve")
        t.text = text
        c.insert(0, is_el)
        return had_formula
    v = etree.Element(M + "v")
    if isinstance(value, bool):
        c.set("t", "b")
        v.text = "1" if value else "0"
    elif isinstance(value, dt.date):
        v.text = str(to_serial(value))
    elif isinstance(value, int):
        v.text = str(value)
    else:
        v.text = repr(float(value))
    c.insert(0, v)
    return had_formula


def _row_cells(row_el: etree._Element, row_num: int) -> tuple[list[int], list[etree._Element]]:
    cols, cells, next_col = [], [], 0
    for c in row_el.iterchildren(M + "c"):
        ref = c.get("r")
        if ref:
            col = _letters_row(ref)[1]
        else:
            col = next_col
            c.set("r", a1(row_num, col))
        cols.append(col)
        cells.append(c)
        next_col = col + 1
    return cols, cells


def _write_row(row_el: etree._Element, row_num: int, writes: Mapping[int, Any], styles: StyleIds,
               header: bool, shared: dict[str, tuple[str, str]]) -> bool:  # fmt: skip
    cols, cells = _row_cells(row_el, row_num)
    had_formula = False
    for col in sorted(writes):
        i = bisect.bisect_left(cols, col)
        if i < len(cols) and cols[i] == col:
            c = cells[i]
        else:
            if writes[col] is None:
                continue  # clearing a cell that does not exist
            c = etree.Element(M + "c")
            c.set("r", a1(row_num, col))
            if i < len(cells):
                cells[i].addprevious(c)
            else:
                last_cell = cells[-1] if cells else None
                if last_cell is not None:
                    last_cell.addnext(c)
                else:
                    row_el.insert(0, c)
            cols.insert(i, col)
            cells.insert(i, c)
        had_formula |= _set_value(c, writes[col], styles, header, shared)
    spans = row_el.get("spans")
    if spans and cols:
        lo, _, hi = spans.partition(":")
        if lo.isdigit() and hi.isdigit():
            row_el.set("spans", f"{min(int(lo), cols[0] + 1)}:{max(int(hi), cols[-1] + 1)}")
    return had_formula


def _sheet_rows(sheet_data: etree._Element) -> tuple[list[int], list[etree._Element]]:
    nums, rows, last = [], [], 0
    for row_el in sheet_data.iterchildren(M + "row"):
        r = row_el.get("r")
        num = int(r) if r else last + 1
        if not r:
            row_el.set("r", str(num))
        nums.append(num)
        rows.append(row_el)
        last = num
    return nums, rows


def _ensure_cols(root: etree._Element, widths: Mapping[int, float]) -> None:
    if not widths:
        return
    cols_el = root.find(M + "cols")
    if cols_el is None:
        cols_el = etree.Element(M + "cols")
        root.find(M + "sheetData").addprevious(cols_el)
    existing = [
        (int(c.get("min", "0")), int(c.get("max", "0")), c) for c in cols_el.findall(M + "col")
    ]
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


def _extend_dimension(root: etree._Element, max_row: int, max_col: int) -> None:
    dim = root.find(M + "dimension")
    if dim is None:
        return
    ref = dim.get("ref", "A1")
    first, _, last = ref.partition(":")
    last = last or first
    try:
        last_row, last_col = _letters_row(last)
    except ValueError:
        return
    new_last = a1(max(last_row, max_row), max(last_col, max_col))
    dim.set("ref", f"{first}:{new_last}" if new_last != first else first)


def _unshare(sheet_data: etree._Element, anchors: Mapping[str, tuple[str, str]]) -> None:
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
            raise ValueError(
                f"formule partagée de la cellule {origin} impossible à recopier en "
                f"{cell.get('r')} ({exc})"
            ) from None
        for attr in ("t", "si"):
            f.attrib.pop(attr, None)
        f.text = moved[1:]


def patch_sheet(xml: bytes, patch: SheetPatch, styles: StyleIds) -> tuple[bytes, bool]:
    """Apply a patch to a worksheet part; returns (new xml, whether a formula was overwritten)."""
    root = parse(xml)
    sheet_data = root.find(M + "sheetData")
    if sheet_data is None:
        raise ValueError("partie de feuille sans sheetData")
    by_row: dict[int, dict[int, Any]] = {}
    for (row, col), value in patch.cells.items():
        by_row.setdefault(row, {})[col] = value
    header_writes = dict(patch.headers)
    nums, rows = _sheet_rows(sheet_data)
    had_formula = False
    shared: dict[str, tuple[str, str]] = {}
    max_row = max_col = 0
    targets = sorted(set(by_row) | ({patch.header_row} if header_writes else set()))
    for row in targets:
        i = bisect.bisect_left(nums, row)
        if i < len(nums) and nums[i] == row:
            row_el = rows[i]
        else:
            writes_value = any(v is not None for v in by_row.get(row, {}).values())
            if not writes_value and not (row == patch.header_row and header_writes):
                continue  # only clearing cells of a row that does not exist
            row_el = etree.Element(M + "row")
            row_el.set("r", str(row))
            if i < len(rows):
                rows[i].addprevious(row_el)
            else:
                sheet_data.append(row_el)
            nums.insert(i, row)
            rows.insert(i, row_el)
        if row == patch.header_row and header_writes:
            had_formula |= _write_row(row_el, row, header_writes, styles, True, shared)
        if row in by_row:
            had_formula |= _write_row(row_el, row, by_row[row], styles, False, shared)
        max_row = max(max_row, row)
        max_col = max([max_col, *by_row.get(row, {}), *header_writes])
    _unshare(sheet_data, shared)
    _ensure_cols(root, patch.widths)
    _extend_dimension(root, max_row, max_col)
    return serialise(root), had_formula
