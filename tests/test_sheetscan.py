"""The streaming scan and reader of worksheet parts (backends/sheetscan.py) and the ooxml
readers they rely on: hostile or damaged parts are one French PackageError naming the part,
far cells cost no memory, values are typed exactly as python-calamine types them, and
Strict Open XML workbooks are read (docs/contract.md §7, hostile or broken input).

Every workbook is real: written with xlsxwriter, then some of its XML parts replaced.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import subprocess
import sys
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import python_calamine
import xlsxwriter
from conftest import TODAY, make_good_workbook, make_workbook
from fidelity_workbooks import build_tracker_workbook, rewrite_parts

from qep_sync.backends import ooxml, sheetscan
from qep_sync.backends.ooxml import PackageError, sheet_parts

SHEET = "xl/worksheets/sheet1.xml"
NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PROLOG = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def sheet_xml(rows: str, before: str = "", prolog: str = PROLOG) -> str:
    """A worksheet part holding ``rows`` (the inside of <sheetData>)."""
    return (
        f'{prolog}<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}">{before}'
        f"<sheetData>{rows}</sheetData></worksheet>"
    )


def with_sheet(tmp_path: Path, xml: str | bytes, name: str = "t.xlsx") -> Path:
    """A real workbook (one sheet, one shared string « x ») whose sheet part is ``xml``."""
    path = make_workbook(tmp_path / name, {"S": [["x"]]})
    rewrite_parts(path, {SHEET: xml.encode() if isinstance(xml, str) else xml}, {})
    return path


def scan(path: Path, part: str = SHEET) -> sheetscan.SheetExtent:
    with zipfile.ZipFile(path) as zf:
        return sheetscan.scan_sheet(zf, part)


def read(path: Path, part: str = SHEET) -> list[list[Any]]:
    with zipfile.ZipFile(path) as zf:
        return sheetscan.read_sheet_rows(
            zf, part, date_styles=ooxml.date_styles(zf), date1904=ooxml.is_date1904(zf)
        )


def refused(call: Callable[[], object], *words: str) -> str:
    """The message of the PackageError ``call`` raises; it names every one of ``words``."""
    with pytest.raises(PackageError) as caught:
        call()
    message = str(caught.value)
    for word in words:
        assert word in message, message
    assert "Traceback" not in message
    return message


# ---------------------------------------------------------------- far cells


# Reads one sheet in a fresh interpreter and prints its peak memory above the start, the
# time taken, and what was read: the 1 048 576 row lists are too many for tracemalloc.
_MEASURE = """
import json, resource, sys, time, zipfile
from qep_sync.backends import ooxml, sheetscan
path, part = sys.argv[1], sys.argv[2]
start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
began = time.perf_counter()
with zipfile.ZipFile(path) as zf:
    extent = sheetscan.scan_sheet(zf, part)
    rows = sheetscan.read_sheet_rows(zf, part, date_styles=ooxml.date_styles(zf), date1904=False)
seconds = time.perf_counter() - began
peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start) * 1024
print(json.dumps({"extent": [extent.rows, extent.columns, extent.cells], "rows": len(rows),
                  "last": rows[-1][-3:], "last_len": len(rows[-1]),
                  "empty": all(r == [] for r in rows[:-1]), "peak": peak, "seconds": seconds}))
"""


@pytest.mark.parametrize(
    ("ref", "rows", "columns"),
    [("XFD1048576", 1_048_576, 16_384), ("A1048576", 1_048_576, 1), ("XFD1", 1, 16_384)],
)
def test_a_single_far_cell_is_read_in_bounded_memory_and_time(
    tmp_path: Path, ref: str, rows: int, columns: int
) -> None:
    # calamine asks 549 GB for XFD1048576 (the process dies), 600 MB for XFD1.
    path = with_sheet(tmp_path, sheet_xml(f'<row r="{rows}"><c r="{ref}"><v>7</v></c></row>'))
    tracemalloc.start()
    try:
        extent = scan(path)
        scanned = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert extent == sheetscan.SheetExtent(rows, columns, 1)
    assert extent.rectangle == rows * columns
    assert scanned < 5 << 20  # the scan holds no cell
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path), SHEET],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    measured = json.loads(done.stdout)
    assert measured["extent"] == [rows, columns, 1]
    assert measured["rows"] == rows and measured["empty"]
    assert measured["last_len"] == columns and measured["last"][-1] == 7.0
    assert measured["peak"] < 200 << 20  # measured: 72 MB for XFD1048576 (a list per row)
    assert measured["seconds"] < 30  # generous: 1.7 s for XFD1048576 on a busy machine


def test_far_cells_beyond_max_cells_is_what_routes_away_from_calamine(tmp_path: Path) -> None:
    path = with_sheet(tmp_path, sheet_xml('<row r="1048576"><c r="AZ1048576"><v>1</v></c></row>'))
    assert scan(path).rectangle > ooxml.MAX_CELLS  # 54 M cells: 2.3 GB in calamine
    small = with_sheet(tmp_path, sheet_xml('<row r="200"><c r="T200"><v>1</v></c></row>'), "s.xlsx")
    assert scan(small).rectangle <= ooxml.MAX_CELLS


# ---------------------------------------------------------------- references and counts


@pytest.mark.parametrize("ref", ["XFD1048577", "ZZZZZZ3", "XFE1", "A0", "1A", "A-1", "Ā1", ""])
def test_a_cell_reference_beyond_excel_limits_is_refused(tmp_path: Path, ref: str) -> None:
    path = with_sheet(tmp_path, sheet_xml(f'<row><c r="{ref}"><v>1</v></c></row>'))
    refused(lambda: scan(path), SHEET, "invalide", "XFD")
    refused(lambda: read(path), SHEET, "invalide")


def test_a_row_number_beyond_excel_limits_is_refused(tmp_path: Path) -> None:
    path = with_sheet(tmp_path, sheet_xml('<row r="1048577"><c><v>1</v></c></row>'))
    refused(lambda: scan(path), SHEET, "1048577", "1 048 576")


def test_cells_without_references_past_column_xfd_are_refused(tmp_path: Path) -> None:
    cells = "<c><v>1</v></c>" * 16_385
    path = with_sheet(tmp_path, sheet_xml(f"<row>{cells}</row>"))
    refused(lambda: scan(path), SHEET, "XFD")


def test_an_absurd_shared_strings_count_is_refused_before_reading(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "t.xlsx", {"S": [["x"]]})
    with zipfile.ZipFile(path) as zf:
        sst = zf.read("xl/sharedStrings.xml")
    hostile = sst.replace(b'uniqueCount="1"', b'uniqueCount="2000000000"')
    assert hostile != sst
    rewrite_parts(path, {"xl/sharedStrings.xml": hostile}, {})
    with zipfile.ZipFile(path) as zf:
        refused(lambda: sheetscan.scan_shared_strings(zf), "xl/sharedStrings.xml", "2000000000")
        refused(lambda: sheetscan.scan_sheet(zf, SHEET), "xl/sharedStrings.xml")


def test_a_slightly_wrong_shared_strings_count_is_tolerated(tmp_path: Path) -> None:
    # Some producers leave a stale count: harmless when small, so not refused.
    path = make_workbook(tmp_path / "t.xlsx", {"S": [["x", "y"]]})
    with zipfile.ZipFile(path) as zf:
        sst = zf.read("xl/sharedStrings.xml")
    rewrite_parts(
        path, {"xl/sharedStrings.xml": sst.replace(b'uniqueCount="2"', b'uniqueCount="40"')}, {}
    )
    with zipfile.ZipFile(path) as zf:
        sheetscan.scan_shared_strings(zf)
    assert read(path) == [["x", "y"]]


def test_a_shared_string_index_past_the_table_is_refused(tmp_path: Path) -> None:
    path = with_sheet(tmp_path, sheet_xml('<row><c r="B2" t="s"><v>7</v></c></row>'))
    refused(lambda: scan(path), SHEET, "B2", "7")


# ---------------------------------------------------------------- damaged XML


def test_a_malformed_row_tag_is_refused_with_its_line(tmp_path: Path) -> None:
    rows = '<row r="1"><c r="A1"><v>1</v></c></row>\n<row r="2"\n<c r="A2"><v>2</v></c></row>'
    path = with_sheet(tmp_path, sheet_xml(rows))
    message = refused(lambda: scan(path), SHEET, "XML mal formé", "ligne 4")
    assert "colonne" in message


def test_nesting_deeper_than_the_limit_is_refused(tmp_path: Path) -> None:
    deep = "<x>" * 3000 + "</x>" * 3000
    path = with_sheet(tmp_path, sheet_xml('<row><c r="A1"><v>1</v></c></row>', before=deep))
    refused(lambda: scan(path), SHEET, "imbriqués", str(sheetscan.MAX_DEPTH))
    inside = with_sheet(
        tmp_path, sheet_xml("<row>" + "<c>" * 200 + "</c>" * 200 + "</row>"), "c.xlsx"
    )
    refused(lambda: scan(inside), SHEET, "imbriqués")


def test_non_numeric_column_bounds_are_refused(tmp_path: Path) -> None:
    cols = '<cols><col min="abc" max="3" width="12" customWidth="1"/></cols>'
    path = with_sheet(tmp_path, sheet_xml('<row><c r="A1"><v>1</v></c></row>', before=cols))
    refused(lambda: scan(path), SHEET, "min=« abc »", "colonnes")


def test_an_unknown_declared_encoding_is_refused(tmp_path: Path) -> None:
    prolog = '<?xml version="1.0" encoding="klingon" standalone="yes"?>\n'
    path = with_sheet(tmp_path, sheet_xml('<row><c r="A1"><v>1</v></c></row>', prolog=prolog))
    refused(lambda: scan(path), SHEET, "encodage")


def test_a_utf16_sheet_is_read_and_sent_away_from_calamine(tmp_path: Path) -> None:
    # calamine reads a UTF-16 sheet as empty: the scan says so, the reader reads it.
    prolog = '<?xml version="1.0" encoding="UTF-16" standalone="yes"?>\n'
    rows = '<row r="2"><c r="B2" t="inlineStr"><is><t>Échéance</t></is></c><c r="C2"><v>3</v></c></row>'
    path = with_sheet(tmp_path, sheet_xml(rows, prolog=prolog).encode("utf-16"))
    with zipfile.ZipFile(path) as zf:
        assert zf.read(SHEET).startswith(b"\xff\xfe")
    extent = scan(path)
    assert (extent.rows, extent.columns, extent.cells) == (2, 3, 2)
    assert not extent.calamine_safe
    assert read(path) == [[], ["", "Échéance", 3.0]]
    utf8 = with_sheet(tmp_path, sheet_xml(rows), "u.xlsx")
    assert scan(utf8).calamine_safe


def test_a_dtd_in_a_sheet_part_is_refused(tmp_path: Path) -> None:
    prolog = PROLOG + '<!DOCTYPE worksheet [<!ENTITY a "aaaa">]>'
    path = with_sheet(tmp_path, sheet_xml('<row><c r="A1"><v>1</v></c></row>', prolog=prolog))
    refused(lambda: scan(path), SHEET, "dangereux")


def _flip_compressed_bit(path: Path, part: str, where: float) -> None:
    """Flip one bit inside the compressed data of ``part`` (its CRC is left as it was)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(part)
    header = info.header_offset
    name_len = int.from_bytes(data[header + 26 : header + 28], "little")
    extra_len = int.from_bytes(data[header + 28 : header + 30], "little")
    start = header + 30 + name_len + extra_len
    data[start + int(info.compress_size * where)] ^= 0x10
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("where", [0.1, 0.5, 0.9])
def test_a_flipped_bit_in_compressed_data_is_refused(tmp_path: Path, where: float) -> None:
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>{r * 7}</v></c></row>' for r in range(1, 3000))
    path = with_sheet(tmp_path, sheet_xml(rows))
    _flip_compressed_bit(path, SHEET, where)
    refused(lambda: scan(path), SHEET, "endommagée", "restaurez")
    # The package checks read only the start of each part: they may pass, never crash.
    with contextlib.suppress(PackageError):
        ooxml.open_package(path).close()


# ---------------------------------------------------------------- styles.xml


def _insert_after(xml: str, opening: str, inserted: str) -> str:
    """``inserted`` as the first child of the element whose start tag begins with ``opening``."""
    end = xml.index(">", xml.index(opening)) + 1
    return xml[:end] + inserted + xml[end:]


def test_a_non_numeric_format_id_is_ignored_not_fatal(tmp_path: Path) -> None:
    book = xlsxwriter.Workbook(str(tmp_path / "t.xlsx"))
    sheet = book.add_worksheet("S")
    sheet.write_number(0, 0, 0.5, book.add_format({"num_format": "0.0%"}))
    sheet.write_datetime(0, 1, dt.date(2026, 1, 2), book.add_format({"num_format": "dd/mm/yyyy"}))
    book.close()
    path = tmp_path / "t.xlsx"
    with zipfile.ZipFile(path) as zf:
        styles = zf.read("xl/styles.xml").decode()
    hostile = _insert_after(styles, "<cellXfs", '<xf numFmtId="xyz"/>')
    hostile = _insert_after(hostile, "<numFmts", '<numFmt numFmtId="abc" formatCode="0%"/>')
    assert '"abc"' in hostile and '"xyz"' in hostile
    rewrite_parts(path, {"xl/styles.xml": hostile.encode()}, {})
    with zipfile.ZipFile(path) as zf:
        assert ooxml.parse_part(zf, "xl/styles.xml") is not None  # still well-formed
        percent, dates = ooxml.percent_styles(zf), ooxml.date_styles(zf)
        cell_styles = ooxml.cell_styles(zf)
    # The inserted style (index 0) names no format: neither a percentage nor a date; the
    # others, shifted by one, keep theirs.
    assert cell_styles.format_ids[0] == "xyz"
    assert 0 not in percent and 0 not in dates
    assert len(percent) == 1 and len(dates) == 1 and percent.isdisjoint(dates)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("dd/mm/yyyy", "date"),
        ("yyyy-mm-dd hh:mm", "date"),
        ("h:mm AM/PM", "date"),
        ("[$-40C]d mmmm yyyy", "date"),
        ("[h]:mm:ss", "duration"),
        ("[mm]:ss", "duration"),
        ("0.00", "other"),
        ('"day "0', "other"),
        ("#,##0*d", "other"),  # * fills with the next character: a literal
        ("0\\d", "other"),
        ("[Red]0.0", "other"),
        ("0;dd/mm/yyyy", "other"),  # only the first section counts, as in calamine
    ],
)
def test_number_kind_reads_codes_as_calamine(code: str, kind: str) -> None:
    assert ooxml.number_kind(code) == kind


def test_date_styles_are_builtin_and_custom_date_formats_not_elapsed_times(tmp_path: Path) -> None:
    book = xlsxwriter.Workbook(str(tmp_path / "t.xlsx"))
    sheet = book.add_worksheet("S")
    codes = {14: "date", 22: "date", 46: "duration", 2: "other", 9: "other"}
    for col, fmt in enumerate(codes):
        sheet.write_number(0, col, 1, book.add_format({"num_format": fmt}))
    for col, code in enumerate(["dd/mm/yyyy", "[h]:mm", "0.0"], start=len(codes)):
        sheet.write_number(0, col, 1, book.add_format({"num_format": code}))
    book.close()
    with zipfile.ZipFile(tmp_path / "t.xlsx") as zf:
        styles = ooxml.cell_styles(zf)
        dates = ooxml.date_styles(zf)
    kinds = {
        (styles.code(i) or styles.format_ids[i]): ("date" if i in dates else "not")
        for i in range(len(styles.format_ids))
    }
    assert kinds["14"] == kinds["22"] == kinds["dd/mm/yyyy"] == "date"
    assert kinds["46"] == kinds["[h]:mm"] == kinds["2"] == kinds["9"] == kinds["0.0"] == "not"


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("true", True), ("0", False),
                                                 ("false", False), (None, False)])  # fmt: skip
def test_is_date1904_reads_workbook_pr(tmp_path: Path, value: str | None, expected: bool) -> None:
    path = make_workbook(tmp_path / "t.xlsx", {"S": [["x"]]})
    with zipfile.ZipFile(path) as zf:
        workbook = zf.read("xl/workbook.xml").decode()
    attribute = "" if value is None else f' date1904="{value}"'
    edited = workbook.replace("<workbookPr", f"<workbookPr{attribute}", 1)
    assert "<workbookPr" in workbook
    rewrite_parts(path, {"xl/workbook.xml": edited.encode()}, {})
    with zipfile.ZipFile(path) as zf:
        assert ooxml.is_date1904(zf) is expected


# ---------------------------------------------------------------- Strict Open XML


def _as_strict(path: Path) -> None:
    """Rewrite a transitional workbook into Strict Open XML's namespaces (every part)."""
    edits: dict[str, bytes | None] = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.endswith((".xml", ".rels")):
                text = zf.read(name).decode()
                strict = text.replace(NS_MAIN, ooxml.NS_MAIN_STRICT).replace(
                    NS_REL, ooxml.NS_REL_STRICT
                )
                if strict != text:
                    edits[name] = strict.encode()
    assert "xl/workbook.xml" in edits and "xl/_rels/workbook.xml.rels" in edits
    rewrite_parts(path, edits, {})


def test_a_strict_open_xml_workbook_is_found_and_read(tmp_path: Path) -> None:
    path = make_workbook(
        tmp_path / "t.xlsx",
        {"Plan d'actions": [["Action", "Échéance"], ["Afficher", dt.date(2026, 3, 1)]],
         "Listes": [["Fait"]]},
    )  # fmt: skip
    _as_strict(path)
    with zipfile.ZipFile(path) as zf:
        assert ooxml.NS_MAIN_STRICT.encode() in zf.read("xl/workbook.xml")
        parts = ooxml.sheet_parts(zf)
        assert [p.title for p in parts] == ["Plan d'actions", "Listes"]
        assert parts[0].part == SHEET
        assert ooxml.date_styles(zf)
    assert read(path) == [["Action", "Échéance"], ["Afficher", dt.date(2026, 3, 1)]]
    assert scan(path) == sheetscan.SheetExtent(2, 2, 4)


# ---------------------------------------------------------------- values as calamine gives them

CODES = ["dd/mm/yyyy", "[h]:mm:ss", "hh:mm", "0.00", "#,##0*d", '"jour "0', "yyyy-mm-dd hh:mm:ss",
         "[Red]0.0", "mm:ss", "0%"]  # fmt: skip
SERIALS = ["-1", "0", "0.5", "1", "59", "60", "61", "45000", "45000.5", "2958465", "2958466",
           "1e20", "NaN", "inf", "-0.25", "-1e7", "-1e8", "-1e9", "1e-9", "45000.9999999",
           "0.99999999999", "45000.0004999"]  # fmt: skip
OTHER_CELLS = (
    # shared, inline (runs, phonetic run skipped, spaces trimmed unless preserved, _x000D_)
    '<row><c t="s"><v>0</v></c><c t="s"><v>1</v></c><c t="inlineStr"><is><r><t>a </t></r>'
    '<r><t xml:space="preserve"> b </t></r><rPh><t>ph</t></rPh></is></c>'
    '<c t="inlineStr"><is><t>x_x000D_y</t></is></c><c t="str"><v> s </v></c>'
    '<c t="d"><v>2026-01-02</v></c><c t="d"><v>2026-01-02T03:04:05</v></c>'
    '<c t="d"><v>10:11:12</v></c><c t="d"><v>2026-01-02T03:04</v></c><c t="d"><v>bad</v></c></row>'
    # booleans, an error, a formula without value, empty values, untyped text, odd styles
    '<row><c t="b"><v>1</v></c><c t="b"><v>0</v></c><c t="b"><v>true</v></c>'
    '<c t="e"><v>#N/A</v></c><c><f>1+1</f></c><c><v/></c><c t="str"><v/></c><c><v>abc</v></c>'
    '<c s="zz"><v>5</v></c><c s="999"><v>5</v></c><c t="inlineStr"><is></is></c>'
    '<c t="inlineStr"><v>7</v></c><c><f>1</f><v>3</v></c><c><v>3</v><f>1</f></c></row>'
    # positions: cells with and without references, a repeated reference, a row without r
    '<row r="30"><c r="C30"><v>1</v></c><c><v>2</v></c><c r="B30"><v>3</v></c></row>'
    '<row><c><v>4</v></c><c r="E31"><v>5</v></c><c r="E31"><v>6</v></c></row>'
    '<x:row xmlns:x="' + NS_MAIN + '"><x:c><x:v>8</x:v></x:c></x:row>'
)


def _calamine_workbook(path: Path, date1904: bool) -> None:
    """A workbook with one number format per CODES, then a sheet of hand-written cells."""
    book = xlsxwriter.Workbook(str(path), {"date_1904": date1904})
    sheet = book.add_worksheet("S")
    formats = [book.add_format({"num_format": code}) for code in CODES]
    for col, fmt in enumerate(formats):
        sheet.write_number(0, col, 1, fmt)
    sheet.write_string(1, 0, "partagé")
    sheet.write_string(1, 1, "  espacé  ")
    book.close()
    with zipfile.ZipFile(path) as zf:
        styles = ooxml.cell_styles(zf)
    index = {styles.code(i): i for i in range(len(styles.format_ids)) if styles.code(i)}
    rows = []
    for r, serial in enumerate(SERIALS, start=1):
        cells = "".join(
            f'<c s="{index[code]}"><v>{serial}</v></c>'
            for code in CODES
            # calamine itself fails on an elapsed time past a billion days (OverflowError)
            if not (code == "[h]:mm:ss" and serial in ("1e20", "inf", "-1e9"))
        )
        rows.append(f'<row r="{r}">{cells}</row>')
    rewrite_parts(path, {SHEET: sheet_xml("".join(rows) + OTHER_CELLS).encode()}, {})


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("date1904", [False, True])
def test_values_are_typed_exactly_as_calamine_gives_them(tmp_path: Path, date1904: bool) -> None:
    path = tmp_path / "t.xlsx"
    _calamine_workbook(path, date1904)
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        expected = book.get_sheet_by_name("S").to_python(skip_empty_area=False)
    finally:
        book.close()
    with zipfile.ZipFile(path) as zf:
        assert ooxml.is_date1904(zf) is date1904
    ours = read(path)
    assert len(ours) == len(expected)
    width = len(expected[0])
    assert max(len(row) for row in ours) == width
    for r, (theirs, mine) in enumerate(zip(expected, ours, strict=True)):
        padded = mine + [""] * (width - len(mine))
        diffs = [
            (c, x, y)
            for c, (x, y) in enumerate(zip(theirs, padded, strict=True))
            if not _same(x, y)
        ]
        assert diffs == [], f"row {r + 1}"
    # Ragged rows: C30, then D30 (no reference), then B30; row 31 repeats E31 (last wins).
    assert ours[29] == ["", 3.0, 1.0, 2.0]
    assert ours[30] == [4.0, "", "", "", 6.0]
    assert ours[31] == [8.0]  # a prefixed row and cell
    extent = scan(path)
    # The scan also counts the last cell of row 2 (a formula read after its value): one
    # column more than calamine's rectangle, never less.
    assert (extent.rows, extent.columns) == (len(expected), width + 1)
    assert extent.calamine_safe


@pytest.mark.parametrize(("code", "serial"), [("dd/mm/yyyy", "-1e15"), ("dd/mm/yyyy", "-1e308"),
                                              ("dd/mm/yyyy", "-inf"), ("[h]:mm", "-1e15"),
                                              ("[h]:mm", "1e20")])  # fmt: skip
def test_a_date_calamine_cannot_convert_is_sent_to_the_streaming_reader(
    tmp_path: Path, code: str, serial: str
) -> None:
    # calamine panics (pyo3_runtime.PanicException, a BaseException) on the first four and
    # raises OverflowError on the last: the scan says so, the reader keeps the number.
    book = xlsxwriter.Workbook(str(tmp_path / "t.xlsx"))
    book.add_worksheet("S").write_number(0, 0, 1, book.add_format({"num_format": code}))
    book.close()
    path = tmp_path / "t.xlsx"
    with zipfile.ZipFile(path) as zf:
        style = next(i for i in range(99) if ooxml.cell_styles(zf).code(i) == code)
    rows = f'<row r="1"><c r="A1" s="{style}"><v>{serial}</v></c><c r="B1"><v>2</v></c></row>'
    rewrite_parts(path, {SHEET: sheet_xml(rows).encode()}, {})
    extent = scan(path)
    assert not extent.calamine_safe
    assert (extent.rows, extent.columns) == (1, 2)
    assert read(path) == [[float(serial), 2.0]]


def test_an_error_value_calamine_does_not_know_is_sent_to_the_streaming_reader(
    tmp_path: Path,
) -> None:
    rows = '<row><c r="A1" t="e"><f>SEQUENCE(3)</f><v>#SPILL!</v></c><c r="B1"><v>1</v></c></row>'
    path = with_sheet(tmp_path, sheet_xml(rows))
    assert not scan(path).calamine_safe
    assert read(path) == [["", 1.0]]
    known = with_sheet(tmp_path, sheet_xml(rows.replace("#SPILL!", "#N/A")), "k.xlsx")
    assert scan(known).calamine_safe


@pytest.mark.parametrize(
    ("cell", "words"),
    [('<c r="A1" t="b"><v>2</v></c>', ["booléenne", "A1"]),
     ('<c r="C3" t="zz"><v>1</v></c>', ["type de cellule", "C3"]),
     ('<c r="B2" t="n"><v>1_0</v></c>', ["nombre illisible", "B2"])],
)  # fmt: skip
def test_values_calamine_refuses_are_one_french_error(
    tmp_path: Path, cell: str, words: list[str]
) -> None:
    path = with_sheet(tmp_path, sheet_xml(f"<row>{cell}</row>"))
    refused(lambda: scan(path), SHEET, *words)


def test_a_formula_without_cached_value_extends_the_extent_not_the_rows(tmp_path: Path) -> None:
    rows = '<row r="1"><c r="A1"><v>1</v></c></row><row r="9"><c r="D9"><f>A1*2</f></c></row>'
    path = with_sheet(tmp_path, sheet_xml(rows))
    assert scan(path) == sheetscan.SheetExtent(9, 4, 1)
    assert read(path) == [[1.0]]


def test_an_empty_sheet_has_no_extent(tmp_path: Path) -> None:
    path = with_sheet(tmp_path, sheet_xml('<row r="5"><c r="C5" s="0"/></row>'))
    assert scan(path) == sheetscan.SheetExtent(0, 0, 0)
    assert read(path) == []


def test_the_feature_rich_tracker_workbook_reads_as_calamine_reads_it(tmp_path: Path) -> None:
    built = build_tracker_workbook(tmp_path / "suivi.xlsx", TODAY)
    book = python_calamine.CalamineWorkbook.from_path(str(built.path))
    try:
        with zipfile.ZipFile(built.path) as zf:
            parts = ooxml.sheet_parts(zf)
            assert len(parts) == 4  # the chartsheet is no worksheet
            for sheet in parts:
                expected = book.get_sheet_by_name(sheet.title).to_python(skip_empty_area=False)
                ours = sheetscan.read_sheet_rows(
                    zf, sheet.part, date_styles=ooxml.date_styles(zf), date1904=False
                )
                width = len(expected[0])
                assert [row + [""] * (width - len(row)) for row in ours] == expected, sheet.title
                extent = sheetscan.scan_sheet(zf, sheet.part)
                assert (extent.rows, extent.columns) == (len(expected), width), sheet.title
                assert extent.calamine_safe
    finally:
        book.close()


def test_a_huge_text_value_is_read_in_linear_time(tmp_path: Path) -> None:
    # 8 MB in one <v>: expat hands it over in pieces, which must not be re-copied each time.
    text = "é" * (8 << 20)
    path = with_sheet(tmp_path, sheet_xml(f'<row><c r="A1" t="str"><v>{text}</v></c></row>'))
    started = time.perf_counter()
    values = read(path)
    assert time.perf_counter() - started < 10  # about 0.2 s
    assert values == [[text]]


def test_utf16_shared_strings_send_every_sheet_to_the_streaming_reader(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "t.xlsx", {"S": [["Échéance", 2]]})
    with zipfile.ZipFile(path) as zf:
        sst = zf.read("xl/sharedStrings.xml").decode()
    utf16 = sst.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    rewrite_parts(path, {"xl/sharedStrings.xml": utf16}, {})
    assert not scan(path).calamine_safe
    assert read(path) == [["Échéance", 2.0]]


def test_styled_cells_finds_cells_written_with_a_namespace_prefix(tmp_path: Path) -> None:
    rows = (
        f'<x:row xmlns:x="{NS_MAIN}" r="2"><x:c r="B2" s="1"><x:v>0.5</x:v></x:c>'
        '<x:c r="C2" s="0"><x:v>1</x:v></x:c></x:row>'
    )
    path = with_sheet(tmp_path, sheet_xml(rows))
    with zipfile.ZipFile(path) as zf:
        assert ooxml.styled_cells(zf, SHEET, frozenset({1})) == {(2, 1)}


def test_a_control_character_reference_is_named_as_such(tmp_path: Path) -> None:
    rows = '<row r="9"><c r="A9" t="inlineStr"><is><t>A&#1;B</t></is></c></row>'
    path = with_sheet(tmp_path, sheet_xml(rows))
    refused(lambda: scan(path), SHEET, "caractère de contrôle", "ligne 2")


# ---------------------------------------------------------------- the quick pass


@pytest.mark.parametrize("chunk", [sheetscan._CHUNK, 64], ids=["1 MB chunks", "64-byte chunks"])
def test_plain_sheets_take_the_quick_pass_and_it_agrees_with_the_full_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """The quick pass reads a part's references by chunks cut before a « < »: cut small, it
    still finds every cell's extent and every self-closed cell."""
    from qep_sync.workspace.create import create_workspace

    monkeypatch.setattr(sheetscan, "_CHUNK", chunk)

    create_workspace(tmp_path / "demo", demo=True, today=TODAY, force=True)
    books = [*sorted((tmp_path / "demo").rglob("*.xlsx")),
             build_tracker_workbook(tmp_path / "suivi.xlsx", TODAY).path]  # fmt: skip
    quick = 0
    for path in books:
        with zipfile.ZipFile(path) as zf:
            for part in sheet_parts(zf):
                fast = sheetscan._quick_scan(zf, part.part)
                if fast is not None:
                    quick += 1
                    assert fast == sheetscan._full_scan(zf, part.part), (path.name, part.title)
    assert quick >= 12  # the demo's trackers and most of the fidelity workbook's sheets


def test_what_the_quick_pass_cannot_prove_goes_to_the_full_one(tmp_path: Path) -> None:
    path = make_good_workbook(tmp_path / "suivi.xlsx")
    part = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as zf:
        xml = zf.read(part)
        assert sheetscan._quick_scan(zf, part) is not None
    odd = {
        "a string formula result": xml.replace(b"</sheetData>", b'<row r="9"><c r="A9" t="str"><f>A1</f><v>x</v></c></row></sheetData>'),
        "a far-past date value": xml.replace(b"</sheetData>", b'<row r="9"><c r="A9"><v>-1E+15</v></c></row></sheetData>'),
        "a cell without a reference": xml.replace(b"</sheetData>", b'<row r="9"><c><v>1</v></c></row></sheetData>'),
        "an unknown element": xml.replace(b"</sheetData>", b"<x><x><x/></x></x></sheetData>"),
        "a comment": xml.replace(b"</sheetData>", b"<!-- note --></sheetData>"),
    }  # fmt: skip
    for why, changed in odd.items():
        rewrite_parts(path, {part: changed}, {})
        with zipfile.ZipFile(path) as zf:
            assert sheetscan._quick_scan(zf, part) is None, why


def _quick_and_full(path: Path) -> tuple[sheetscan.SheetExtent | None, Any]:
    """The quick pass's verdict on a sheet, and the full pass's (its extent, or its refusal)."""
    with zipfile.ZipFile(path) as zf:
        quick = sheetscan._quick_scan(zf, SHEET)
        try:
            full: Any = sheetscan._full_scan(zf, SHEET)
        except PackageError as exc:
            full = exc
    return quick, full


@pytest.mark.parametrize(
    ("why", "rows"),
    [
        ("a tab before a far cell's reference", '<row r="1"><c\tr="XFD1048576"><v>1</v></c></row>'),
        ("an error type in single quotes", "<row r=\"1\"><c r=\"A1\" t='e'><v>1</v></c></row>"),
        ("a type written with spaces", '<row r="1"><c r="A1" t = "b"><v>7</v></c></row>'),
        ("a type after a tab", '<row r="1"><c r="A1"\tt="e"><v>1</v></c></row>'),
        ("a string index after a line break", '<row r="1"><c r="A1" t="s">\n<v>99</v></c></row>'),
        ("a string index after a formula", '<row r="1"><c r="A1" t="s"><f>B1</f><v>99</v></c></row>'),
        ("a boolean after a line break", '<row r="1"><c r="A1" t="b">\n<v>7</v></c></row>'),
        ("a value tag with an attribute", '<row r="1"><c r="A1" t="n"><v a="1">x</v></c></row>'),
        ("a row number after a tab", '<row\tr="0"><c r="A1"><v>1</v></c></row>'),
        ("a row past the last one", '<row r="1048577"><c r="A1"><v>1</v></c></row>'),
        ("a cell on row 0", '<row r="1"><c r="A0"><v>1</v></c></row>'),
        ("a style-only cell past column XFD", '<row r="1"><c r="XFE1" s="1"/></row>'),
    ],
)  # fmt: skip
def test_the_quick_pass_leaves_to_the_full_one_what_only_the_full_one_sees(
    tmp_path: Path, why: str, rows: str
) -> None:
    """Each of these the full pass refuses, flags or finds far: never the quick one's to say."""
    quick, full = _quick_and_full(with_sheet(tmp_path, sheet_xml(rows)))
    assert quick is None, why
    assert isinstance(full, PackageError) or not full.calamine_safe or full.rectangle > 1, why


@pytest.mark.parametrize(
    "rows",
    [
        '<row r="1"><c r="A1"><v>1</v></c><x:y xmlns:x="u"/></row>',  # a prefixed element
        '<row r="1"><c r="A1"><v>1</v></c><Cell/></row>',  # a name outside SHEET_DATA_TAGS
        '<row r="1"><c r="A1"><v>1</v></c><colour/></row>',  # close to a known one
    ],
)
def test_a_tag_outside_the_cells_elements_takes_the_full_pass(tmp_path: Path, rows: str) -> None:
    path = with_sheet(tmp_path, sheet_xml(rows))
    quick, full = _quick_and_full(path)
    assert quick is None
    assert scan(path) == full


@pytest.mark.parametrize(
    "rows",
    [
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C2" s="1"/></row>',  # a style-only cell
        '<row r="3"><c r="Z99" s="1"/><c r="Z99"><v>1</v></c></row>',  # the same cell, valued
        '<row r="0007"><c r="B007"><v>2</v></c><c r="AB7"><v>1</v></c></row>',  # leading zeros
        '<row r="1"><c r="A1" t="b"><v>1</v></c><c r="B1" t="s"><v>00</v></c></row>',
        '<row r="2" spans="1:2"><c r="A2"><f>1+1</f><v>2</v></c><c r="B2"><f>A2</f></c></row>',
    ],
)
def test_the_quick_pass_agrees_with_the_full_one_on_plain_variants(
    tmp_path: Path, rows: str
) -> None:
    quick, full = _quick_and_full(with_sheet(tmp_path, sheet_xml(rows)))
    assert quick is not None
    assert (quick.rows, quick.columns, quick.calamine_safe) == (
        full.rows,
        full.columns,
        full.calamine_safe,
    )


def test_percent_cells_are_found_by_their_style_alone(tmp_path: Path) -> None:
    rows = (
        '<row r="2"><c r="B2" s="01"><v>0.5</v></c><c r="C2" s="10"><v>1</v></c>'
        '<c r="D2" s="1" t="n"><v>1</v></c><c s="1" r="E2"><v>1</v></c></row>'
    )
    path = with_sheet(tmp_path, sheet_xml(rows))
    with zipfile.ZipFile(path) as zf:
        xml = zf.read(SHEET)
        assert ooxml.styled_cells(zf, SHEET, frozenset({1})) == {(2, 1), (2, 3), (2, 4)}
    assert ooxml.mentions_styles(xml, frozenset({1, 10}))
    assert not ooxml.mentions_styles(xml, frozenset({2}))
    assert ooxml.styled_cells_in(xml, frozenset({10})) == {(2, 2)}
