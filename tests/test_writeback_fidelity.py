"""Write-back fidelity (docs/contract.md §3, §7): a sync changes a user's workbook only in the cells
qep-sync owns. Everything else — other sheets, charts, images, shapes, comments, data
validation, conditional formats and data bars, sparklines, tables, defined names, macros,
formula cached values — is compared with the original part by part and cell by cell.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import os
import re
import shutil
import struct
import subprocess
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import python_calamine
from conftest import TODAY, make_good_workbook
from fidelity_workbooks import (
    DELAIS_HEADER_ROW,
    DELAIS_SHEET,
    FORMULA_TEXT,
    NOTE_TEXT,
    NS_MAIN,
    PLAN_FIRST_ROW,
    PLAN_HEADER,
    PLAN_HEADER_ROW,
    PLAN_ROWS,
    PLAN_SHEET,
    VBA_BYTES,
    Built,
    build_small_workbook,
    build_tracker_workbook,
    make_shared_formulas,
    rewrite_parts,
    sheet_part,
)
from lxml import etree

from qep_sync.backends.sheetxml import HEADER_FILL, PROMPT_TITLE, ensure_styles
from qep_sync.backends.xlsx import WorkbookData, read_workbook
from qep_sync.backends.xlsx_write import write_back
from qep_sync.config import config_for_files
from qep_sync.core.contract import SheetPatch
from qep_sync.jobs.sync import SyncRun, run_sync

M = f"{{{NS_MAIN}}}"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
# openpyxl does not know the x14 data bars, sparklines and other 2010 extensions: it warns that
# it would drop them if it saved. We only read with it (the file itself keeps them).
OPENPYXL_EXTENSIONS = pytest.mark.filterwarnings("ignore:.* is not supported:UserWarning")

LAST_HEADER = len(PLAN_HEADER) - 1  # column M
# Where the owned columns go: after the last header, skipping the user's note in column O.
PLAN_OWNED = {LAST_HEADER + 1: "Jours restants", LAST_HEADER + 3: "Statut",
              LAST_HEADER + 4: "Contrôle"}  # fmt: skip
DELAIS_OWNED = {8: "Date limite de réponse", 9: "Délai (jours ouvrés)", 10: "Dans le délai",
                11: "Statut", 12: "Contrôle"}  # fmt: skip


# ---------------------------------------------------------------- helpers


def read_parts(path: Path) -> tuple[list[str], dict[str, bytes]]:
    """The entry names (in order) and every entry's decompressed bytes."""
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        return zf.namelist(), {name: zf.read(name) for name in zf.namelist()}


def c14n(el: etree._Element) -> bytes:
    return etree.tostring(el, method="c14n")


def col_of(ref: str) -> int:
    letters = re.match(r"[A-Z]+", ref)
    assert letters, ref
    n = 0
    for ch in letters.group():
        n = n * 26 + ord(ch) - 64
    return n - 1


def cells_by_col(row: etree._Element) -> dict[int, etree._Element]:
    return {col_of(c.get("r", "")): c for c in row.iterchildren(M + "c")}


def rows_by_num(root: etree._Element) -> dict[int, etree._Element]:
    sheet_data = root.find(M + "sheetData")
    assert sheet_data is not None
    return {int(r.get("r", "0")): r for r in sheet_data.iterchildren(M + "row")}


def is_our_colours(cf: etree._Element, owned: set[int]) -> bool:
    """A conditional format of qep-sync's status colours: one owned column, « equal » rules."""
    sqref = cf.get("sqref", "")
    cols = {col_of(ref) for ref in re.split("[ :]", sqref)}
    rules = cf.findall(M + "cfRule")
    return len(cols) == 1 and cols <= owned and bool(rules) and all(
        (r.get("type"), r.get("operator")) == ("cellIs", "equal") for r in rules)  # fmt: skip


def status_columns(owned: dict[int, str]) -> set[int]:
    return {col for col, title in owned.items() if title in ("Statut", "Dans le délai")}


def is_our_prompt(dv: etree._Element) -> bool:
    return dv.get("promptTitle") == PROMPT_TITLE


def assert_only_owned_cells_changed(
    before: bytes, after: bytes, owned: set[int], autofilter: str | None = None
) -> None:
    """Every element of the sheet and every cell outside ``owned`` columns is unchanged, but
    for what qep-sync adds around its columns: its status colours (conditional formats of
    owned columns), its input message on the owned headers (in dataValidations, whose count
    follows), and, when ``autofilter`` is given, the autofilter's range (its criteria kept)."""
    old, new = etree.fromstring(before), etree.fromstring(after)
    assert old.tag == new.tag and dict(old.attrib) == dict(new.attrib)
    assert old.nsmap == new.nsmap
    added_cols = old.find(M + "cols") is None and new.find(M + "cols") is not None
    added_dv = (
        old.find(M + "dataValidations") is None and new.find(M + "dataValidations") is not None
    )
    ours = [cf for cf in new.findall(M + "conditionalFormatting") if is_our_colours(cf, owned)]
    old_ours = [cf for cf in old.findall(M + "conditionalFormatting") if is_our_colours(cf, owned)]
    new_children = [el for el in new if not (added_cols and el.tag == M + "cols")
                    and not (added_dv and el.tag == M + "dataValidations") and el not in ours]  # fmt: skip
    old = copy.deepcopy(old)  # compared without qep-sync's colours of a previous run
    for cf in old.findall(M + "conditionalFormatting"):
        if any(c14n(cf) == c14n(mine) for mine in old_ours):
            old.remove(cf)
    assert [el.tag for el in new_children] == [el.tag for el in old], "elements added or moved"
    if added_dv:
        dvs = new.find(M + "dataValidations")
        assert dvs is not None and all(is_our_prompt(dv) for dv in dvs) and dvs.get("count") == "1"
    for el, match in zip(old, new_children, strict=True):
        name = etree.QName(el).localname
        if name == "sheetData":
            continue
        if name == "cols":  # the original widths kept, in order; new ones only for owned columns
            old_cols = [c14n(c) for c in el]
            kept = [c14n(c) for c in match if c14n(c) in old_cols]
            added = [c for c in match if c14n(c) not in old_cols]
            assert kept == old_cols
            assert all(c.get("min") == c.get("max") for c in added)
            assert all(int(c.get("min", "0")) - 1 in owned for c in added)
            continue
        if name == "dimension":  # may only grow to the right or down
            assert match.get("ref", "").split(":")[0] == el.get("ref", "").split(":")[0]
            continue
        if name == "dataValidations":  # the user's, in order, and qep-sync's prompt once
            theirs = [c14n(dv) for dv in match if not is_our_prompt(dv)]
            before_theirs = [c14n(dv) for dv in el if not is_our_prompt(dv)]
            assert theirs == before_theirs, "the user's data validations changed"
            assert sum(is_our_prompt(dv) for dv in match) == 1
            assert match.get("count") == str(len(match))
            continue
        if name == "autoFilter" and autofilter is not None:
            assert match.get("ref") == autofilter
            assert [c14n(c) for c in match] == [c14n(c) for c in el], "filter criteria changed"
            continue
        assert c14n(match) == c14n(el), f"<{name}> changed"
    if added_cols:
        assert all(int(c.get("min", "0")) - 1 in owned for c in new.find(M + "cols"))
    old_rows, new_rows = rows_by_num(old), rows_by_num(new)
    for num, row in old_rows.items():
        assert num in new_rows, f"row {num} removed"
        new_row = new_rows[num]
        old_attrs = {k: v for k, v in row.attrib.items() if k != "spans"}
        assert {k: v for k, v in new_row.attrib.items() if k != "spans"} == old_attrs, num
        old_cells, new_cells = cells_by_col(row), cells_by_col(new_row)
        for col, cell in old_cells.items():
            if col in owned:
                continue
            assert col in new_cells, f"cell {cell.get('r')} removed"
            assert c14n(new_cells[col]) == c14n(cell), f"cell {cell.get('r')} changed"
        assert set(new_cells) - set(old_cells) <= owned, f"cells added outside owned in row {num}"
        refs = list(cells_by_col(new_row))
        assert refs == sorted(refs), f"cells out of order in row {num}"
    for num in set(new_rows) - set(old_rows):
        assert set(cells_by_col(new_rows[num])) <= owned
    assert list(new_rows) == sorted(new_rows), "rows out of order"


def cell_xml(part: bytes, ref: str) -> etree._Element:
    found = etree.fromstring(part).find(f"{M}sheetData/{M}row/{M}c[@r='{ref}']")
    assert found is not None, ref
    return found


def calamine_grids(path: Path) -> dict[str, list[list[Any]]]:
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        return {
            meta.name: book.get_sheet_by_name(meta.name).to_python(skip_empty_area=False)
            for meta in book.sheets_metadata
            if str(meta.typ) == "SheetTypeEnum.WorkSheet"
        }
    finally:
        book.close()


def value_at(grid: list[list[Any]], row: int, col: int) -> Any:
    """The value of 1-based ``row``, 0-based ``col`` ('' when outside the grid)."""
    if row - 1 >= len(grid) or col >= len(grid[row - 1]):
        return ""
    return grid[row - 1][col]


# ---------------------------------------------------------------- one sync of each workbook


@dataclass
class Synced:
    built: Built
    original: Path  # an untouched copy of the workbook as built
    names_before: list[str]
    names_after: list[str]
    before: dict[str, bytes]
    after: dict[str, bytes]
    run: SyncRun
    plan_part: str
    delais_part: str


def sync_copy(built: Built, folder: Path) -> Synced:
    original = folder / f"original{built.path.suffix}"
    shutil.copy2(built.path, original)
    names_before, before = read_parts(built.path)
    run = run_sync(config_for_files([built.path]), built.today)
    names_after, after = read_parts(built.path)
    return Synced(built, original, names_before, names_after, before, after, run,
                  sheet_part(original, PLAN_SHEET), sheet_part(original, DELAIS_SHEET))  # fmt: skip


@pytest.fixture(scope="module", params=["xlsx", "xlsm"])
def synced(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Synced:
    folder = tmp_path_factory.mktemp(request.param)
    path = folder / f"Suivi qualité accueil.{request.param}"
    built = build_tracker_workbook(path, TODAY, macro=request.param == "xlsm")
    return sync_copy(built, folder)


def test_sync_writes_the_tracker_workbook(synced: Synced) -> None:
    (write,) = synced.run.writes
    assert (write.status, write.message) == ("written", "")
    report = synced.run.check.report.sources[0]
    assert report.error is None
    assert {(s.sheet, s.tracker) for s in report.sheets} == {
        (PLAN_SHEET, "plan_actions"), (DELAIS_SHEET, "courriers")}  # fmt: skip
    # Headers (3 + 5) and one cell at least per data row of each tracker.
    assert write.cells >= 3 + 5 + PLAN_ROWS + 20


def test_every_other_part_is_byte_identical(synced: Synced) -> None:
    assert synced.names_after == synced.names_before
    allowed = {synced.plan_part, synced.delais_part, "xl/styles.xml", "xl/workbook.xml"}
    changed = {n for n in synced.names_before if synced.before[n] != synced.after[n]}
    assert changed <= allowed, f"parts changed that qep-sync does not own: {changed - allowed}"
    assert {synced.plan_part, synced.delais_part} <= changed
    # No formula cell was overwritten: calcChain stays, with its relationship and content type.
    assert "xl/calcChain.xml" in synced.names_after
    for name in ("xl/drawings/drawing1.xml", "xl/comments1.xml", "xl/tables/table1.xml",
                 "xl/media/image1.png", "xl/charts/chart1.xml", "xl/chartsheets/sheet1.xml",
                 "xl/drawings/vmlDrawing1.vml", "xl/sharedStrings.xml"):  # fmt: skip
        assert synced.after[name] == synced.before[name], name


def test_zip_entries_are_copied_raw(synced: Synced) -> None:
    """Unchanged entries keep their compressed bytes, CRC and timestamps, not only their content."""
    with zipfile.ZipFile(synced.original) as old, zipfile.ZipFile(synced.built.path) as new:
        for info in old.infolist():
            if synced.before[info.filename] != synced.after[info.filename]:
                continue
            other = new.getinfo(info.filename)
            assert (other.CRC, other.compress_size, other.compress_type, other.date_time) == (
                info.CRC, info.compress_size, info.compress_type, info.date_time)  # fmt: skip


def test_macros_are_kept_byte_for_byte(synced: Synced) -> None:
    if synced.built.path.suffix != ".xlsm":
        assert "xl/vbaProject.bin" not in synced.names_after
        return
    assert synced.after["xl/vbaProject.bin"] == VBA_BYTES
    types = synced.after["[Content_Types].xml"]
    assert b"application/vnd.ms-excel.sheet.macroEnabled.main+xml" in types
    assert b"vbaProject" in synced.after["xl/_rels/workbook.xml.rels"]
    assert b'codeName="ThisWorkbook"' in synced.after["xl/workbook.xml"]


def test_styles_only_gain_appended_entries(synced: Synced) -> None:
    old = etree.fromstring(synced.before["xl/styles.xml"])
    new = etree.fromstring(synced.after["xl/styles.xml"])
    assert [el.tag for el in new] == [el.tag for el in old]
    for section in old:
        match = new.find(section.tag)
        assert match is not None
        old_items, new_items = list(section), list(match)
        assert len(new_items) >= len(old_items)
        for i, item in enumerate(old_items):
            assert c14n(new_items[i]) == c14n(item), f"{etree.QName(section).localname}[{i}]"
        if section.get("count") is not None:
            assert match.get("count") == str(len(new_items))
        assert {k: v for k, v in match.attrib.items() if k != "count"} == {
            k: v for k, v in section.attrib.items() if k != "count"}  # fmt: skip
    # What was appended: the pale green header style (the date format existed: reused).
    header_cell = cell_xml(synced.after[synced.plan_part], f"N{PLAN_HEADER_ROW}")
    xf = new.find(f"{M}cellXfs")[int(header_cell.get("s", "0"))]  # type: ignore[index]
    fill = new.find(f"{M}fills")[int(xf.get("fillId", "0"))]  # type: ignore[index]
    assert fill.find(f"{M}patternFill/{M}fgColor").get("rgb") == HEADER_FILL  # type: ignore[union-attr]
    assert int(header_cell.get("s", "0")) >= len(old.find(f"{M}cellXfs"))  # type: ignore[arg-type]


def test_workbook_xml_only_gains_full_calc_on_load_and_the_extended_filter(synced: Synced) -> None:
    """fullCalcOnLoad, and the hidden name of the plan's autofilter extended with it (the
    print area and titles as the user set them)."""
    before, after = synced.before["xl/workbook.xml"], synced.after["xl/workbook.xml"]
    assert b"fullCalcOnLoad" not in before
    assert after.count(b' fullCalcOnLoad="1"') == 1
    old_filter = b"'Plan d''actions'!$A$3:$M$53</definedName>"
    assert before.count(old_filter) == 1
    new_filter = b"'Plan d''actions'!$A$3:$Q$53</definedName>"
    assert after.count(new_filter) == 1
    names = {n.get("name"): n.text for n in etree.fromstring(after).iter(M + "definedName")}
    assert names["_xlnm._FilterDatabase"] == "'Plan d''actions'!$A$3:$Q$53"
    assert names["_xlnm.Print_Area"] == "'Plan d''actions'!$A$1:$M$53"
    assert names["_xlnm.Print_Titles"] == "'Plan d''actions'!$3:$3"
    restored = after.replace(b' fullCalcOnLoad="1"', b"").replace(new_filter, old_filter)
    assert restored == before


@pytest.mark.parametrize("which", ["plan", "delais"])
def test_patched_sheets_change_only_owned_cells(synced: Synced, which: str) -> None:
    part, owned, autofilter = ((synced.plan_part, PLAN_OWNED, "A3:Q53") if which == "plan"
                               else (synced.delais_part, DELAIS_OWNED, None))  # fmt: skip
    assert_only_owned_cells_changed(synced.before[part], synced.after[part], set(owned), autofilter)


def test_sheet_features_are_still_in_the_patched_sheet(synced: Synced) -> None:
    """Not only unchanged: present (a check that the comparison above had things to compare)."""
    new = etree.fromstring(synced.after[synced.plan_part])
    for tag in ("sheetViews", "autoFilter", "mergeCells", "conditionalFormatting",
                "dataValidations", "pageSetup", "headerFooter", "drawing", "legacyDrawing",
                "extLst"):  # fmt: skip
        assert new.find(M + tag) is not None, tag
    ext = etree.tostring(new.find(M + "extLst"))  # type: ignore[arg-type]
    assert b"x14:dataBar" in ext and b"x14:sparklineGroup" in ext
    assert new.find(f"{M}sheetViews/{M}sheetView/{M}pane").get("state") == "frozen"  # type: ignore[union-attr]
    delais = etree.fromstring(synced.after[synced.delais_part])
    assert delais.find(M + "tableParts") is not None


def test_owned_headers_come_after_the_last_header_with_their_style(synced: Synced) -> None:
    grids = calamine_grids(synced.built.path)
    plan, delais = grids[PLAN_SHEET], grids[DELAIS_SHEET]
    for col, title in PLAN_OWNED.items():
        assert value_at(plan, PLAN_HEADER_ROW, col) == title
    for col, title in DELAIS_OWNED.items():
        assert value_at(delais, DELAIS_HEADER_ROW, col) == title
    styles = {cell_xml(synced.after[synced.plan_part], f"{letter}{PLAN_HEADER_ROW}").get("s")
              for letter in "NPQ"}  # fmt: skip
    assert len(styles) == 1


def test_computed_values_are_right(synced: Synced) -> None:
    built = synced.built
    plan = calamine_grids(built.path)[PLAN_SHEET]
    jours, statut, controle = LAST_HEADER + 1, LAST_HEADER + 3, LAST_HEADER + 4
    assert len(built.plan_expected) > 30
    for row, (days, status) in built.plan_expected.items():
        assert value_at(plan, row, jours) == ("" if days is None else days), row
        assert value_at(plan, row, statut) == status, row
        assert value_at(plan, row, controle) == "", row
    for row, text in built.plan_controle.items():
        assert text in value_at(plan, row, controle), row
    delais = calamine_grids(built.path)[DELAIS_SHEET]
    for row, expected in built.delais_expected.items():
        got = tuple(value_at(delais, row, col) for col in (8, 9, 10, 11))
        assert got == tuple("" if v is None else v for v in expected), row
    # Computed cells are typed (§3.1 rule 13): a real date shown dd/mm/yyyy, integers.
    new = synced.after[synced.delais_part]
    first = DELAIS_HEADER_ROW + 1
    date_cell = cell_xml(new, f"I{first}")
    assert date_cell.get("t") is None and date_cell.findtext(M + "v") == "46335"  # 09/11/2026
    styles = etree.fromstring(synced.after["xl/styles.xml"])
    xf = styles.find(f"{M}cellXfs")[int(date_cell.get("s", "0"))]  # type: ignore[index]
    fmt_id = xf.get("numFmtId")
    codes = {f.get("numFmtId"): f.get("formatCode") for f in styles.iter(M + "numFmt")}
    assert codes[fmt_id] == "dd/mm/yyyy"
    assert cell_xml(new, f"J{first}").findtext(M + "v") == "2"


def test_other_values_read_the_same(synced: Synced) -> None:
    """Every value outside the owned columns reads the same (calamine, cached formula values)."""
    old, new = calamine_grids(synced.original), calamine_grids(synced.built.path)
    assert list(new) == list(old)
    owned = {PLAN_SHEET: set(PLAN_OWNED), DELAIS_SHEET: set(DELAIS_OWNED)}
    for title, grid in old.items():
        for r, row in enumerate(grid, start=1):
            for c, value in enumerate(row):
                if c not in owned.get(title, set()):
                    assert value_at(new[title], r, c) == value, (title, r, c)
    synthese = new["Synthèse"]
    assert [value_at(synthese, r, 1) for r in range(3, 7)] == [14, 12, 11, 11]
    assert value_at(synthese, 9, 1) == PLAN_ROWS


def test_a_user_note_beside_the_header_is_kept_and_skipped(synced: Synced) -> None:
    row, col = synced.built.note_cell
    assert col == LAST_HEADER + 2
    plan = calamine_grids(synced.built.path)[PLAN_SHEET]
    assert value_at(plan, row, col) == NOTE_TEXT
    assert value_at(plan, PLAN_HEADER_ROW, col) == ""  # no owned header over the note's column
    assert all(value_at(plan, r, col) == "" for r in range(PLAN_FIRST_ROW, 54) if r != row)
    before, after = (
        cell_xml(synced.before[synced.plan_part], f"O{row}"),
        cell_xml(synced.after[synced.plan_part], f"O{row}"),
    )
    assert c14n(after) == c14n(before)


def test_table_keeps_its_ref_and_owned_columns_go_beside_it(synced: Synced) -> None:
    table = etree.fromstring(synced.after["xl/tables/table1.xml"])
    assert table.get("ref") == synced.built.table_ref == "A2:H23"
    assert synced.after["xl/tables/table1.xml"] == synced.before["xl/tables/table1.xml"]
    last_table_col = col_of(synced.built.table_ref.split(":")[1])
    assert min(DELAIS_OWNED) == last_table_col + 1
    delais = calamine_grids(synced.built.path)[DELAIS_SHEET]
    # The totals row is not a data row: no status, no finding.
    total_row = DELAIS_HEADER_ROW + 21
    assert value_at(delais, total_row, 0) == "Total"
    assert all(value_at(delais, total_row, c) == "" for c in DELAIS_OWNED)


def test_formula_looking_text_is_written_as_text(synced: Synced) -> None:
    row = PLAN_FIRST_ROW + 17  # État « =1+1 »
    cell = cell_xml(synced.after[synced.plan_part], f"Q{row}")
    assert cell.get("t") == "inlineStr" and cell.find(M + "f") is None
    assert f"« {FORMULA_TEXT} »" in "".join(cell.itertext())
    assert b"<f" not in synced.after[synced.plan_part].replace(b"<formula", b"")


@OPENPYXL_EXTENSIONS
def test_openpyxl_loads_the_result(synced: Synced) -> None:
    book = openpyxl.load_workbook(synced.built.path)
    assert book.sheetnames == [PLAN_SHEET, DELAIS_SHEET, "Synthèse", "Graphique", "Listes"]
    assert book["Listes"].sheet_state == "hidden"
    assert set(book.defined_names) >= {"Etats", "Canaux", "Echeances"}
    plan = book[PLAN_SHEET]
    assert plan.freeze_panes == "B4"
    assert plan.auto_filter.ref == "A3:Q53"  # extended over the owned columns
    assert plan.print_area == "'Plan d''actions'!$A$1:$M$53"
    assert [str(r) for r in plan.merged_cells.ranges] == ["A1:M1"]
    assert plan["I3"].comment is not None and "COPIL" in plan["I3"].comment.text
    assert len(plan.data_validations.dataValidation) == 3  # the user's two, the header prompt
    assert plan["P5"].value == "En retard" and plan["N5"].value == -10
    assert plan["Q21"].data_type == "s" and plan["Q21"].value.startswith("État : « =1+1 »")
    assert book["Synthèse"]["B3"].value.startswith("=COUNTIF(")
    delais = book[DELAIS_SHEET]
    assert delais.tables["Courriers"].ref == "A2:H23"
    assert delais["I3"].value == dt.datetime(2026, 11, 9)
    assert delais["I3"].number_format == "dd/mm/yyyy"
    assert delais["L4"].value == "En retard"


@pytest.mark.skipif(
    shutil.which("soffice") is None and not os.environ.get("CI"),
    reason="LibreOffice absent (installed by .ci/run: in CI this test always runs)",
)
def test_libreoffice_reads_the_result(synced: Synced, tmp_path: Path) -> None:
    """A third reader: LibreOffice opens the file and exports every sheet (CSV, as shown)."""
    out = tmp_path / "csv"
    every_sheet = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
    profile = f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}"
    subprocess.run(["soffice", profile, "--headless", "--convert-to", every_sheet, "--outdir",
                    str(out), str(synced.built.path)], check=True, timeout=120,
                   capture_output=True)  # fmt: skip
    stem = synced.built.path.stem

    def rows(sheet: str) -> list[list[str]]:
        with (out / f"{stem}-{sheet}.csv").open(encoding="utf-8", newline="") as fh:
            return list(csv.reader(fh))

    plan = rows(PLAN_SHEET)
    assert plan[PLAN_HEADER_ROW - 1][LAST_HEADER + 1 :] == ["Jours restants", "", "Statut",
                                                            "Contrôle"]  # fmt: skip
    assert plan[PLAN_FIRST_ROW][LAST_HEADER + 1 :][:3] == ["-10", "", "En retard"]  # row 5
    formula_row = plan[PLAN_FIRST_ROW + 16]  # row 21 (0-based list)
    assert formula_row[10] == FORMULA_TEXT  # the user's text, not evaluated
    assert f"« {FORMULA_TEXT} »" in formula_row[LAST_HEADER + 4]
    delais = rows(DELAIS_SHEET)
    assert delais[DELAIS_HEADER_ROW][8:12] in (
        ["09/11/2026", "2", "Oui", "Répondu dans le délai"],
        ["11/09/2026", "2", "Oui", "Répondu dans le délai"],  # LibreOffice's en-US dates
    )
    assert [r[1] for r in rows("Synthèse")[2:6]] == ["14", "12", "11", "11"]


# ---------------------------------------------------------------- later syncs, formulas

EXCEL_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<styleSheet xmlns="{NS_MAIN}" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" mc:Ignorable="x14ac" '
    'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac">'
    '<fonts count="1" x14ac:knownFonts="1"><font><sz val="11"/><color theme="1"/>'
    '<name val="Calibri"/><family val="2"/><scheme val="minor"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '<dxfs count="0"/><tableStyles count="0"/></styleSheet>'
).encode()


def test_styles_are_added_once() -> None:
    """The second run finds qep-sync's styles instead of appending them again (styles.xml
    would otherwise grow by two formats at every run), also in Excel's styles.xml, whose root
    declares more namespaces than the main one."""
    first, ids = ensure_styles(EXCEL_STYLES)
    assert first is not None
    assert (ids.header, ids.date, ids.wrap) == (1, 2, 3)
    assert ids.dxf == {"red": 0, "orange": 1, "green": 2}
    again, same_ids = ensure_styles(first)
    assert again is None and same_ids == ids
    root = etree.fromstring(first)
    tags = ("numFmts", "fonts", "fills", "cellXfs", "dxfs")
    assert [len(root.find(M + tag)) for tag in tags] == [1, 2, 3, 4, 3]  # type: ignore[arg-type]
    assert root.find(M + "dxfs").get("count") == "3"  # type: ignore[union-attr]
    wrap = root.find(M + "cellXfs")[3].find(M + "alignment")  # type: ignore[index, union-attr]
    assert wrap.get("wrapText") == "1"  # type: ignore[union-attr]


def test_full_calc_on_load_goes_at_the_top_level_of_workbook_xml(tmp_path: Path) -> None:
    """Without a calcPr (not every tool writes one), calcPr is added after <sheets> and
    <definedNames>, not inside a <workbookView> that happens to carry its own extLst."""
    path = build_small_workbook(tmp_path / "suivi.xlsx", TODAY)
    with zipfile.ZipFile(path) as zf:
        wb = zf.read("xl/workbook.xml")
    view_ext = b'<extLst><ext uri="{00000000-0000-0000-0000-000000000001}"/></extLst>'
    wb = re.sub(rb"<calcPr[^>]*/>", b"", wb)
    wb = re.sub(rb"(<workbookView[^>]*?)/>", rb"\1>" + view_ext + b"</workbookView>", wb)
    rewrite_parts(path, {"xl/workbook.xml": wb}, {})
    assert sync_one_status(path) == "written"
    with zipfile.ZipFile(path) as zf:
        after = zf.read("xl/workbook.xml")
    root = etree.fromstring(after)
    assert [etree.QName(el).localname for el in root][-2:] == ["sheets", "calcPr"]
    assert root.find(M + "calcPr").get("fullCalcOnLoad") == "1"  # type: ignore[union-attr]
    assert after.replace(b'<calcPr fullCalcOnLoad="1"/>', b"") == wb


def sync_one_status(path: Path) -> str:
    (write,) = run_sync(config_for_files([path]), TODAY).writes
    return write.status


def test_a_later_sync_changes_only_owned_cells_again(synced: Synced, tmp_path: Path) -> None:
    path = tmp_path / synced.built.path.name
    shutil.copy2(synced.built.path, path)
    _, first = read_parts(path)
    run = run_sync(config_for_files([path]), TODAY + dt.timedelta(days=20))
    assert run.writes[0].status == "written"
    _, second = read_parts(path)
    changed = {n for n in first if first[n] != second[n]}
    # The styles are found again, not added once more (styles.xml would grow at every run).
    assert changed == {synced.plan_part, synced.delais_part}
    for part, owned in ((synced.plan_part, PLAN_OWNED), (synced.delais_part, DELAIS_OWNED)):
        assert_only_owned_cells_changed(first[part], second[part], set(owned))
        # qep-sync's colours and header prompt replaced, not added a second time.
        root = etree.fromstring(second[part])
        assert len([cf for cf in root.findall(M + "conditionalFormatting")
                    if is_our_colours(cf, set(owned))]) == len(status_columns(owned))  # fmt: skip
        prompts = [dv for dv in root.iter(M + "dataValidation") if is_our_prompt(dv)]
        assert len(prompts) == 1
    plan = calamine_grids(path)[PLAN_SHEET]
    assert value_at(plan, PLAN_FIRST_ROW + 1, LAST_HEADER + 1) == -30


def test_overwriting_formula_cells_drops_only_the_calc_chain(tmp_path: Path) -> None:
    built = build_tracker_workbook(tmp_path / "suivi.xlsx", TODAY, owned_formulas=True)
    s = sync_copy(built, tmp_path)
    assert s.run.writes[0].status == "written"
    assert set(s.names_after) == set(s.names_before) - {"xl/calcChain.xml"}
    changed = {n for n in s.names_after if s.before[n] != s.after[n]}
    assert changed == {s.plan_part, s.delais_part, "xl/styles.xml", "xl/workbook.xml",
                       "xl/_rels/workbook.xml.rels", "[Content_Types].xml"}  # fmt: skip
    rels = [etree.fromstring(s.before["xl/_rels/workbook.xml.rels"]),
            etree.fromstring(s.after["xl/_rels/workbook.xml.rels"])]  # fmt: skip
    old_rels, new_rels = ({c14n(r) for r in x if not r.get("Target", "").endswith("calcChain.xml")}
                          for x in rels)  # fmt: skip
    assert new_rels == old_rels and len(rels[1]) == len(rels[0]) - 1
    types = [etree.fromstring(s.before["[Content_Types].xml"]),
             etree.fromstring(s.after["[Content_Types].xml"])]  # fmt: skip
    assert [c14n(t) for t in types[0] if t.get("PartName") != "/xl/calcChain.xml"] == [
        c14n(t) for t in types[1]]  # fmt: skip
    owned = {LAST_HEADER + 1, LAST_HEADER + 3, LAST_HEADER + 4}
    assert_only_owned_cells_changed(s.before[s.plan_part], s.after[s.plan_part], owned, "A3:Q53")
    plan = calamine_grids(built.path)[PLAN_SHEET]
    for row, (days, status) in built.plan_expected.items():
        assert value_at(plan, row, LAST_HEADER + 1) == ("" if days is None else days), row
        assert value_at(plan, row, LAST_HEADER + 3) == status, row


@OPENPYXL_EXTENSIONS
def test_overwriting_part_of_a_shared_formula_leaves_no_orphan(tmp_path: Path) -> None:
    """Excel saves a filled-down column as one shared formula: the first cell holds the text,
    the others point to it by ``si``. Overwriting the first cell but not a later one (its
    cached value was already right) must not leave the later one pointing at nothing, which
    Excel reports as a damaged file and openpyxl reads as the formula « = »."""
    path = tmp_path / "suivi.xlsx"
    built = build_tracker_workbook(path, TODAY, owned_formulas=True)
    part = sheet_part(path, PLAN_SHEET)
    make_shared_formulas(path, part, "N", PLAN_FIRST_ROW, PLAN_FIRST_ROW + PLAN_ROWS - 1)
    run = run_sync(config_for_files([path]), built.today)
    assert run.writes[0].status == "written"
    with zipfile.ZipFile(path) as zf:
        root = etree.fromstring(zf.read(part))
    masters = {f.get("si") for f in root.iter(M + "f") if f.get("t") == "shared" and f.get("ref")}
    followers = {f.get("si") for f in root.iter(M + "f")
                 if f.get("t") == "shared" and not f.get("ref")}  # fmt: skip
    assert followers <= masters, "shared formula cells left without their master cell"
    # Row 7's due date is today: 0 days left, as the formula's cached value said: not rewritten.
    row = PLAN_FIRST_ROW + 3
    sheet = openpyxl.load_workbook(path)[PLAN_SHEET]
    assert sheet[f"N{row}"].value == f"=I{row}-TODAY()"
    assert calamine_grids(path)[PLAN_SHEET][row - 1][LAST_HEADER + 1] == 0


# ---------------------------------------------------------------- text is never a formula


@OPENPYXL_EXTENSIONS
def test_texts_that_look_like_formulas_stay_texts(tmp_path: Path) -> None:
    path = make_good_workbook(tmp_path / "suivi.xlsx")
    texts = ["=1+1", "+33 6 12 34 56 78", "-5", "@SOMME(A1:A3)", '=HYPERLINK("http://x.invalid")',
             " =1+1 ", "=", "\t=2"]  # fmt: skip
    workbook = read_workbook(path)
    (sheet,) = workbook.sheets
    patch = SheetPatch(sheet.title, sheet.part or "", 1, headers={8: "Contrôle"})
    for i, text in enumerate(texts, start=2):
        patch.cells[(i, 8)] = text
    write(workbook, [patch])
    with zipfile.ZipFile(path) as zf:
        xml = zf.read(sheet.part or "")
    assert b"<f>" not in xml and b"<f " not in xml
    for i, text in enumerate(texts, start=2):
        cell = cell_xml(xml, f"I{i}")
        assert cell.get("t") == "inlineStr", text
    ws = openpyxl.load_workbook(path)["Plan d'actions"]
    assert [(ws[f"I{i}"].data_type, ws[f"I{i}"].value) for i in range(2, 2 + len(texts))] == [
        ("s", t) for t in texts]  # fmt: skip
    grid = calamine_grids(path)["Plan d'actions"]
    assert [value_at(grid, i, 8) for i in range(2, 2 + len(texts))] == texts


def test_control_characters_are_stored_as_excel_escapes(tmp_path: Path) -> None:
    """XML cannot hold most control characters: they are written as Excel writes them
    (``_x0007_``), and a text that already looks like such an escape is itself escaped, so
    every reader that decodes them (Excel, calamine) gets the exact text back."""
    path = make_good_workbook(tmp_path / "suivi.xlsx")
    texts = ["bip\x07bip", "_x0041_ littéral", "fin\x1f", "a\x00b", "_x005F_ et _xFFFE_"]
    workbook = read_workbook(path)
    (sheet,) = workbook.sheets
    patch = SheetPatch(sheet.title, sheet.part or "", 1)
    for i, text in enumerate(texts, start=2):
        patch.cells[(i, 8)] = text
    write(workbook, [patch])
    grid = calamine_grids(path)["Plan d'actions"]
    assert [value_at(grid, i, 8) for i in range(2, 2 + len(texts))] == texts
    with zipfile.ZipFile(path) as zf:
        xml = zf.read(sheet.part or "")
    assert b"bip_x0007_bip" in xml and b"_x005F_x0041_" in xml


def test_the_image_of_the_test_workbook_is_a_real_png(synced: Synced) -> None:
    """The image part the fidelity tests compare is a decodable PNG, as a user's logo is."""
    png = synced.after["xl/media/image1.png"]
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    (idat,) = re.findall(rb"IDAT(.*)....IEND", png, re.S)
    assert len(zlib.decompress(idat[:-4])) == height * (1 + 3 * width)


def write(workbook: WorkbookData, patches: list[SheetPatch]) -> None:
    write_back(workbook.path, (workbook.mtime_ns, workbook.size), patches)
