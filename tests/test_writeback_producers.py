"""Write-back whatever produced the file (docs/contract.md §7, « Whatever the producer »):
rows and cells out of order, ambiguous references, Mac Excel's 1904 date system, Strict Open
XML, damaged parts. A write either leaves a file Excel opens (entries that check out, rows and
cells in ascending order, no duplicate, the user's other cells as they were) or does not
touch it at all, with a French message that names the file, the sheet or the part.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from conftest import PLAN_HEADER, TODAY, make_good_workbook, make_workbook
from fidelity_workbooks import rewrite_parts, sheet_part, tiny_png
from lxml import etree

from qep_sync.backends.xlsx_write import write_back
from qep_sync.cells import column_index
from qep_sync.config import config_for_files
from qep_sync.core.contract import SheetPatch, SkippedWrite
from qep_sync.errors import WriteBackError
from qep_sync.jobs.sync import run_sync

PLAN = "Plan d'actions"
NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
M = f"{{{NS_MAIN}}}"
LOGO = tiny_png(6, 5)
OWNED_FROM = len(PLAN_HEADER)  # 0-based: the computed columns come after the user's
# Words of zipfile's, lxml's and the system's own messages: none may reach a user.
ENGLISH = re.compile(
    r"\b(bad|error|invalid|line \d|column \d|file|expected|errno|xmlParse\w*|start tag|"
    r"document|the|of|for|not)\b",
    re.IGNORECASE,
)


# ---------------------------------------------------------------- helpers


def plan_rows(actions: int) -> list[list[Any]]:
    """A clean action plan of ``actions`` rows (due dates after TODAY, nothing late)."""
    rows: list[list[Any]] = [list(PLAN_HEADER)]
    for i in range(1, actions + 1):
        due = TODAY + dt.timedelta(days=30 + i)
        rows.append([f"A{i}", 3, f"Action {i}", due, 0.5, "En cours", None, "a.b@doubs.gouv.fr"])
    return rows


def stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size


def snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".qep-sync.tmp"))


def read_part(path: Path, part: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(part)


def edit_sheet(path: Path, part: str, edit: Callable[[etree._Element], None]) -> None:
    """Rewrite a worksheet part after ``edit`` changed its tree (as another tool saved it)."""
    root = etree.fromstring(read_part(path, part))
    edit(root)
    rewrite_parts(path, {part: etree.tostring(root, xml_declaration=True, encoding="UTF-8")}, {})


def row_el(root: etree._Element, r: int) -> etree._Element:
    (found,) = [row for row in root.iter(M + "row") if row.get("r") == str(r)]
    return found


def swap(a: etree._Element, b: etree._Element) -> None:
    """Exchange two siblings' places in the document."""
    mark = etree.Element("mark")
    a.addprevious(mark)
    b.addprevious(a)
    mark.addprevious(b)
    mark.getparent().remove(mark)


def cell_values(path: Path) -> dict[tuple[str, str], Any]:
    """Every non-empty cell of every worksheet as openpyxl reads it: (sheet, ref) -> value."""
    book = openpyxl.load_workbook(path)
    return {
        (ws.title, cell.coordinate): cell.value
        for ws in book.worksheets
        for row in ws.iter_rows()
        for cell in row
        if cell.value is not None
    }


def users_cells(path: Path, owned: Callable[[str, str], bool]) -> dict[tuple[str, str], Any]:
    return {k: v for k, v in cell_values(path).items() if not owned(*k)}


def owned_plan_column(sheet: str, ref: str) -> bool:
    letters = re.match(r"[A-Z]+", ref)
    assert letters is not None
    return sheet == PLAN and column_index(letters.group()) >= OWNED_FROM


def assert_valid_sheet(path: Path, part: str) -> None:
    """What Excel requires of a patched sheet: rows strictly ascending, each row's cells
    strictly ascending and in that row, so no reference twice. A row or cell without a
    reference follows the previous one."""
    root = etree.fromstring(read_part(path, part))
    rows: list[int] = []
    refs: list[tuple[int, int]] = []
    for row in root.iter(M + "row"):
        rows.append(int(row.get("r", rows[-1] + 1 if rows else 1)))
        cols: list[int] = []
        for c in row.iter(M + "c"):
            ref = c.get("r")
            if ref is None:
                cols.append(cols[-1] + 1 if cols else 0)
                continue
            m = re.fullmatch(r"([A-Z]+)(\d+)", ref)
            assert m is not None and int(m.group(2)) == rows[-1], (ref, rows[-1])
            cols.append(column_index(m.group(1)))
        assert cols == sorted(set(cols)), (rows[-1], cols)
        refs.extend((rows[-1], col) for col in cols)
    assert rows == sorted(set(rows)), rows
    assert len(refs) == len(set(refs))


def assert_valid_zip(path: Path) -> None:
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None


def assert_french(message: str, *expected: str) -> None:
    """A message for a user: French, naming what it must, nothing of a library's English."""
    for text in expected:
        assert text in message, message
    assert not ENGLISH.search(message), message


def plan_patch(path: Path, cells: dict[tuple[int, int], Any] | None = None) -> SheetPatch:
    """A patch of the good workbook's plan: a « Contrôle » header and one value."""
    return SheetPatch(PLAN, sheet_part(path, PLAN), 1, headers={8: "Contrôle"},
                      cells=cells or {(2, 8): "vérifié"})  # fmt: skip


def assert_refused(path: Path, error: type[Exception], patch: SheetPatch, *expected: str) -> None:
    """The write raises ``error`` with a French message, and the file is left byte for byte."""
    before = snapshot(path)
    with pytest.raises(error) as caught:
        write_back(path, stamp(path), [patch])
    assert_french(str(caught.value), *expected)
    assert snapshot(path) == before
    assert leftovers(path.parent) == []


# ---------------------------------------------------------------- 1. rows and cells out of order


def swap_rows(root: etree._Element) -> None:
    swap(row_el(root, 5), row_el(root, 9))


def swap_cells(root: etree._Element) -> None:
    cells = list(row_el(root, 5).iter(M + "c"))
    swap(cells[1], cells[2])


def swap_both(root: etree._Element) -> None:
    swap_cells(root)
    swap_rows(root)


@pytest.mark.parametrize("disorder", [swap_rows, swap_cells, swap_both], ids=lambda f: f.__name__)
def test_rows_and_cells_out_of_order_are_found_by_reference_and_come_out_in_order(
    tmp_path: Path, disorder: Callable[[etree._Element], None]
) -> None:
    """LibreOffice and other tools accept rows out of document order (here rows 5 and 9
    swapped, or two cells of row 5): the sync writes as many cells as into the same file in
    order, finds each row by its number (no row added twice, which Excel reports as damage)
    and leaves rows and cells in the order Excel requires."""
    twin = make_workbook(tmp_path / "dans l'ordre.xlsx", {PLAN: plan_rows(10)})
    path = make_workbook(tmp_path / "désordre.xlsx", {PLAN: plan_rows(10)})
    part = sheet_part(path, PLAN)
    edit_sheet(path, part, disorder)
    before = users_cells(path, owned_plan_column)

    (expected,) = run_sync(config_for_files([twin]), TODAY).writes
    (write,) = run_sync(config_for_files([path]), TODAY).writes

    assert (write.status, write.cells) == ("written", expected.cells)
    assert_valid_zip(path)
    assert_valid_sheet(path, part)
    assert users_cells(path, owned_plan_column) == before
    assert cell_values(path) == cell_values(twin)
    (again,) = run_sync(config_for_files([path]), TODAY).writes
    assert again.status == "unchanged"


def drop_implied_references(root: etree._Element) -> None:
    """Leave out every reference a reader can infer, as some producers save: a row's number
    when it follows the previous row, a cell's when it follows the previous cell."""
    previous_row = 0
    for row in root.iter(M + "row"):
        num = int(row.get("r", "0"))
        if num == previous_row + 1:
            del row.attrib["r"]
        previous_row, previous_col = num, -1
        for c in row.iter(M + "c"):
            col = column_index(re.sub(r"\d", "", c.get("r", "")))
            if col == previous_col + 1:
                del c.attrib["r"]
            previous_col = col


def test_rows_and_cells_without_references_are_patched_in_place(tmp_path: Path) -> None:
    """Rows and cells without ``r`` are where their place says: a value written into the gap
    of row 2 (G2, between F2 without reference and H2 with one) and after the last cells
    lands there, and every other cell keeps its column."""
    path = make_good_workbook(tmp_path / "suivi.xlsx")
    patch = plan_patch(path, {(2, 6): dt.date(2026, 11, 20), (2, 8): "vérifié", (3, 8): "ok"})
    edit_sheet(path, patch.part, drop_implied_references)
    assert re.findall(rb' r="(\w+)"', row_xml(path, patch.part, 1)) == [b"H2"]  # no row number
    owned = {"G2", "I1", "I2", "I3"}
    before = users_cells(path, lambda _, ref: ref in owned)

    write_back(path, stamp(path), [patch])

    assert_valid_zip(path)
    assert_valid_sheet(path, patch.part)
    assert users_cells(path, lambda _, ref: ref in owned) == before
    ws = openpyxl.load_workbook(path)[PLAN]
    assert [ws[ref].value for ref in ("G2", "I1", "I2", "I3")] == [
        dt.datetime(2026, 11, 20), "Contrôle", "vérifié", "ok"]  # fmt: skip


def row_xml(path: Path, part: str, index: int) -> bytes:
    """The XML of the ``index``-th row element of a sheet (0-based, document order)."""
    root = etree.fromstring(read_part(path, part))
    return etree.tostring(list(root.iter(M + "row"))[index])


def duplicate_row(root: etree._Element) -> None:
    row = row_el(root, 2)
    row.addnext(etree.fromstring(etree.tostring(row)))


def duplicate_cell(root: etree._Element) -> None:
    first = next(row_el(root, 2).iter(M + "c"))
    first.addnext(etree.fromstring(etree.tostring(first)))


def implied_duplicate(root: etree._Element) -> None:
    """B2 then a cell without reference (hence C2) then C2."""
    cells = list(row_el(root, 2).iter(M + "c"))
    del cells[1].attrib["r"]  # follows A2: B2
    cells[2].set("r", "B2")


def row_number(value: str) -> Callable[[etree._Element], None]:
    return lambda root: row_el(root, 2).set("r", value)


def cell_reference(value: str) -> Callable[[etree._Element], None]:
    return lambda root: next(row_el(root, 2).iter(M + "c")).set("r", value)


@pytest.mark.parametrize(
    ("damage", "what"),
    [
        (duplicate_row, "la ligne 2 y figure deux fois"),
        (duplicate_cell, "la cellule A2 y figure deux fois"),
        (implied_duplicate, "la cellule B2 y figure deux fois"),
        (row_number("2x"), "numéro de ligne « 2x » invalide"),
        (row_number("0"), "numéro de ligne « 0 » invalide"),
        (row_number("1048577"), "la ligne 1048577 est au-delà de la dernière ligne d'Excel"),
        (cell_reference("a2"), "référence de cellule « a2 » invalide en ligne 2"),
        (cell_reference("A$2"), "référence de cellule « A$2 » invalide en ligne 2"),
        (cell_reference("A3"), "la cellule A3 est rangée dans la ligne 2"),
        (cell_reference("XFE2"), "la cellule XFE2 est au-delà de la dernière colonne d'Excel"),
    ],
    ids=[
        "row-twice",
        "cell-twice",
        "implied-cell-twice",
        "row-r-text",
        "row-r-zero",
        "row-beyond-excel",
        "lowercase-ref",
        "absolute-ref",
        "cell-in-another-row",
        "column-beyond-excel",
    ],
)
def test_a_sheet_with_ambiguous_references_is_skipped_untouched(
    tmp_path: Path, damage: Callable[[etree._Element], None], what: str
) -> None:
    """Two rows or cells with one reference, or a reference that is none: whichever the
    patch picked, Excel would see a damaged sheet. The file is left as it is, with a
    warning (retried next run) naming the sheet, what is wrong and what to do."""
    path = make_good_workbook(tmp_path / "suivi.xlsx")
    patch = plan_patch(path)
    edit_sheet(path, patch.part, damage)
    assert_refused(path, SkippedWrite, patch, f"onglet « {PLAN} » : {what}",
                   "classeur n'est pas modifié", "enregistrez-le")  # fmt: skip


# ---------------------------------------------------------------- 2. the 1904 date system


@pytest.mark.parametrize("date1904", [True, False], ids=["1904", "1900"])
def test_dates_are_written_in_the_workbook_date_system(tmp_path: Path, date1904: bool) -> None:
    """Mac Excel's 1904 system counts 1462 days fewer: a date written as a 1900 serial showed
    4 years and 1 day late. openpyxl honours the workbook's epoch: it must read the day."""
    path = tmp_path / "suivi mac.xlsx"
    book = xlsxwriter.Workbook(str(path), {"date_1904": date1904})
    sheet = book.add_worksheet(PLAN)
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    for c, title in enumerate(["N° action", "Échéance"]):
        sheet.write_string(0, c, title)
    sheet.write_string(1, 0, "A1")
    sheet.write_datetime(1, 1, dt.date(2027, 3, 1), date_format)
    book.close()
    before = users_cells(path, lambda _, ref: ref.startswith("C"))
    day = dt.date(2026, 11, 26)
    patch = SheetPatch(PLAN, sheet_part(path, PLAN), 1, headers={2: "Date limite"},
                       cells={(2, 2): day})  # fmt: skip

    write_back(path, stamp(path), [patch], date1904=date1904)

    serial = (day - dt.date(1899, 12, 30)).days - (1462 if date1904 else 0)
    assert f"<v>{serial}</v>".encode() in read_part(path, patch.part)
    ws = openpyxl.load_workbook(path)[PLAN]
    assert ws["C2"].value == dt.datetime(2026, 11, 26)
    assert ws["B2"].value == dt.datetime(2027, 3, 1)  # the user's date, read in the same system
    assert_valid_zip(path)
    assert_valid_sheet(path, patch.part)
    assert users_cells(path, lambda _, ref: ref.startswith("C")) == before


# ---------------------------------------------------------------- 3. Strict Open XML

TRANSITIONAL = (b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                b"http://schemas.openxmlformats.org/officeDocument/2006/relationships")  # fmt: skip
STRICT = (b"http://purl.oclc.org/ooxml/spreadsheetml/main",
          b"http://purl.oclc.org/ooxml/officeDocument/relationships")  # fmt: skip


def as_strict(path: Path, only: str | None = None) -> None:
    """Rewrite the namespaces as Excel's « Open XML strict » save writes them: workbook,
    worksheets, styles, shared strings and the relationships (or only the part ``only``)."""
    edits: dict[str, bytes | None] = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if only not in (None, name) or not name.endswith((".xml", ".rels")):
                continue
            data = zf.read(name)
            new = data
            for old, strict in zip(TRANSITIONAL, STRICT, strict=True):
                new = new.replace(old, strict)
            if new != data:
                edits[name] = new
    assert "xl/workbook.xml" in edits or only
    rewrite_parts(path, edits, {})


@pytest.mark.parametrize("strict_part", [None, "sheet", "xl/styles.xml"],
                         ids=["whole-workbook", "one-sheet", "styles"])  # fmt: skip
def test_a_strict_open_xml_workbook_is_kept_as_it_is(
    tmp_path: Path, strict_part: str | None
) -> None:
    """Strict Open XML is refused, not patched (sheetxml says why): the warning says the file
    is kept as it is and how to get the computed columns."""
    path = make_good_workbook(tmp_path / "suivi strict.xlsx")
    patch = plan_patch(path)
    as_strict(path, patch.part if strict_part == "sheet" else strict_part)
    assert_refused(path, SkippedWrite, patch, "Open XML strict", "tel quel",
                   "enregistrez-le au format Classeur Excel (.xlsx)")  # fmt: skip


# ---------------------------------------------------------------- 4. damaged parts


def with_entry(path: Path, name: str, data: bytes, compress_type: int) -> None:
    """Add an entry to the workbook's zip, compressed as asked."""
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(zipfile.ZipInfo(name, (2026, 11, 26, 9, 0, 0)), data,
                    compress_type=compress_type)  # fmt: skip


def flip_a_data_byte(path: Path, name: str) -> None:
    """Damage an entry's stored bytes (a disk or a copy gone wrong); its CRC stays."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0x10
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("compress_type", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED],
                         ids=["stored", "deflated"])  # fmt: skip
def test_a_damaged_part_copied_raw_is_refused(tmp_path: Path, compress_type: int) -> None:
    """A part that is copied as it is (an image) but no longer matches its CRC would be
    carried into the new file unnoticed: the write is refused, naming the part."""
    path = make_good_workbook(tmp_path / "suivi.xlsx")
    with_entry(path, "xl/media/image1.png", LOGO, compress_type)
    flip_a_data_byte(path, "xl/media/image1.png")
    assert_refused(path, WriteBackError, plan_patch(path),
                   "suivi.xlsx : partie xl/media/image1.png abîmée dans le classeur : non modifié")  # fmt: skip


def test_an_intact_workbook_written_twice_keeps_every_copied_entry_byte_for_byte(
    tmp_path: Path,
) -> None:
    """The CRC check decompresses but keeps the raw copy: the entries not patched are the
    same compressed bytes, and the written file checks out."""
    path = make_good_workbook(tmp_path / "suivi.xlsx")
    with_entry(path, "xl/media/image1.png", LOGO, zipfile.ZIP_STORED)
    patch = plan_patch(path)
    with zipfile.ZipFile(path) as zf:
        raw_before = {i.filename: (i.CRC, i.compress_size, i.compress_type) for i in zf.infolist()}
    before = users_cells(path, owned_plan_column)
    write_back(path, stamp(path), [patch])
    assert_valid_zip(path)
    assert_valid_sheet(path, patch.part)
    assert users_cells(path, owned_plan_column) == before
    with zipfile.ZipFile(path) as zf:
        after = {i.filename: (i.CRC, i.compress_size, i.compress_type) for i in zf.infolist()}
        assert zf.read("xl/media/image1.png") == LOGO
    changed = {name for name in raw_before if raw_before[name] != after.get(name)}
    assert changed == {patch.part, "xl/styles.xml"}


def no_content_types(path: Path) -> None:
    rewrite_parts(path, {"[Content_Types].xml": None}, {})


def garbled_content_types(path: Path) -> None:
    rewrite_parts(path, {"[Content_Types].xml": b"<Types xmlns='x'><Default Ext"}, {})


def double_bom(part: str) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        rewrite_parts(path, {part: b"\xef\xbb\xbf\xef\xbb\xbf" + read_part(path, part)}, {})

    return damage


@pytest.mark.parametrize(
    ("damage", "what"),
    [
        (no_content_types, "partie [Content_Types].xml absente"),
        (garbled_content_types, "partie [Content_Types].xml illisible"),
        (
            double_bom("xl/worksheets/sheet1.xml"),
            "partie xl/worksheets/sheet1.xml illisible : marque d'ordre des octets en double",
        ),
        (
            double_bom("xl/styles.xml"),
            "partie xl/styles.xml illisible : marque d'ordre des octets en double",
        ),
        (
            double_bom("xl/workbook.xml"),
            "partie xl/workbook.xml illisible : marque d'ordre des octets en double",
        ),
    ],
    ids=[
        "no-content-types",
        "garbled-content-types",
        "sheet-double-bom",
        "styles-double-bom",
        "workbook-double-bom",
    ],
)
def test_a_package_whose_parts_do_not_parse_is_refused(
    tmp_path: Path, damage: Callable[[Path], None], what: str
) -> None:
    path = make_good_workbook(tmp_path / "suivi.xlsx")
    patch = plan_patch(path)
    damage(path)
    assert_refused(path, WriteBackError, patch, f"suivi.xlsx : écriture impossible ({what}",
                   "classeur non modifié")  # fmt: skip


# ---------------------------------------------------------------- 5. French messages only


def test_a_sheet_the_parser_refuses_is_reported_in_french_only(tmp_path: Path) -> None:
    """lxml's own words (« xmlParseCharRef: invalid xmlChar value 1, line 2 ») stay in the
    debug log: the user reads which part of which file, and what to do."""
    path = make_good_workbook(tmp_path / "suivi.xlsx")
    patch = plan_patch(path)
    xml = read_part(path, patch.part).replace(
        b"</sheetData>", b'<row r="9"><c r="A9" t="inlineStr"><is><t>A&#1;B</t></is></c></row>'
        b"</sheetData>")  # fmt: skip
    rewrite_parts(path, {patch.part: xml}, {})
    assert_refused(path, WriteBackError, patch,
                   f"suivi.xlsx : écriture impossible (partie {patch.part} illisible : XML mal formé, ligne",
                   "Ouvrez-le dans Excel et enregistrez-le")  # fmt: skip


def test_a_patch_naming_a_part_the_workbook_lacks_is_reported_in_french(tmp_path: Path) -> None:
    """The workbook lost the sheet's part since it was read (zipfile would raise KeyError)."""
    path = make_good_workbook(tmp_path / "suivi.xlsx")
    patch = plan_patch(path)
    patch.part = "xl/worksheets/sheet7.xml"
    assert_refused(path, WriteBackError, patch,
                   f"onglet « {PLAN} » : partie xl/worksheets/sheet7.xml absente du classeur")  # fmt: skip


# ---------------------------------------------------------------- end to end, through sync


def test_a_1904_workbook_synced_twice_is_not_rewritten_the_second_time(tmp_path: Path) -> None:
    """Mac Excel's date system: the dates read back are the ones written, so nothing differs."""
    path = tmp_path / "mac.xlsx"
    book = xlsxwriter.Workbook(str(path), {"date_1904": True})
    sheet, dates = (
        book.add_worksheet("Plan d'actions"),
        book.add_format({"num_format": "dd/mm/yyyy"}),
    )
    for c, title in enumerate(["N° action", "Action", "Échéance", "État"]):
        sheet.write_string(0, c, title)
    for r, days in enumerate([20, -5, 40], start=1):
        sheet.write_string(r, 0, f"A{r}")
        sheet.write_string(r, 1, "Afficher les horaires")
        sheet.write_datetime(
            r, 2, dt.datetime.combine(TODAY + dt.timedelta(days=days), dt.time()), dates
        )
        sheet.write_string(r, 3, "En cours")
    book.close()
    first = run_sync(config_for_files([path]), TODAY).writes[0]
    assert first.status == "written"
    second = run_sync(config_for_files([path]), TODAY).writes[0]
    assert (second.status, second.cells) == ("unchanged", 0)
    assert_valid_zip(path)


def test_a_strict_workbook_is_read_by_check_and_left_by_sync_with_its_reason(
    tmp_path: Path,
) -> None:
    path = make_good_workbook(tmp_path / "strict.xlsx")
    as_strict(path)
    before = snapshot(path)
    run = run_sync(config_for_files([path]), TODAY)
    assert run.check.report.sources[0].error is None  # read, and checked
    (write,) = run.writes
    assert write.status == "skipped"
    assert "Classeur Excel (.xlsx)" in write.message and "introuvable" not in write.message
    assert snapshot(path) == before


@pytest.mark.parametrize(
    "xml",
    [
        b'<c r="A1"><f>1+1</f><v>2</v></c>',
        b'<c r="A1"><f t="shared" si="0"/></c>',
        b'<c r="A1"><f t="array" ref="A1">B1</f></c>',
        b'<x:c r="A1"><x:f>1+1</x:f></x:c>',
        b'<x:c r="A1"><x:f/></x:c>',
        b'<c r="A1" t="s"><v>0</v></c>',
        b'<x:c r="A1"><x:v>2</x:v></x:c><x:fill/>',  # « :f » without a formula tag
        b'<font/><c r="A1"><v>f</v></c><f',  # « <f » ending the part, « <font »
        b"<mc:AlternateContent><mc:Fallback/></mc:AlternateContent>",
        b"",
    ],
)
def test_the_formula_test_answers_as_its_pattern(xml: bytes) -> None:
    """The quick ``in`` tests give the answer the pattern gives, on formulas written plainly,
    with a prefix, and on what only looks like one."""
    from qep_sync.backends.xlsx_write import _FORMULA, _mentions_formula

    assert _mentions_formula(xml) is (_FORMULA.search(xml) is not None)


def test_a_part_in_pieces_is_written_as_writestr_writes_it_whole(tmp_path: Path) -> None:
    """The pieces of a patched sheet go into the zip one after the other: the entry reads
    back as the joined bytes, deflated at the chosen level, dated and named as the original
    entry, with no ZIP64 extra (it is small) and a CRC that checks."""
    from qep_sync.backends.xlsx_write import COMPRESS_LEVEL, _write_part
    from qep_sync.backends.zipparts import check_written

    pieces = [b"<worksheet><sheetData>", *(b'<row r="%d"/>' % i for i in range(1, 5000)),
              b"</sheetData></worksheet>"]  # fmt: skip
    info = zipfile.ZipInfo("xl/worksheets/sheet1.xml", date_time=(2024, 3, 1, 12, 30, 0))
    whole, streamed = tmp_path / "whole.zip", tmp_path / "streamed.zip"
    with zipfile.ZipFile(whole, "w") as zout:
        zout.writestr(info, b"".join(pieces), zipfile.ZIP_DEFLATED, COMPRESS_LEVEL)
    with zipfile.ZipFile(streamed, "w") as zout:
        _write_part(zout, zipfile.ZipInfo(info.filename, info.date_time), pieces)
    check_written(streamed)
    with zipfile.ZipFile(whole) as a, zipfile.ZipFile(streamed) as b:
        (x,), (y,) = a.infolist(), b.infolist()
        assert b.read(y) == a.read(x) == b"".join(pieces)
        assert (y.compress_type, y.date_time, y.extra) == (zipfile.ZIP_DEFLATED, x.date_time, b"")
        assert y.compress_size == x.compress_size < y.file_size // 4
    assert streamed.read_bytes() == whole.read_bytes()


def test_the_pieces_are_written_a_block_at_a_time() -> None:
    from qep_sync.backends.xlsx_write import _blocks

    pieces = [b"<row/>" * (i % 7) for i in range(1000)]
    blocks = list(_blocks(pieces, 100))
    assert b"".join(blocks) == b"".join(pieces)
    assert len(blocks) > 100 and all(100 <= len(b) < 100 + 6 * 7 for b in blocks[:-1])
    assert list(_blocks([], 100)) == []
