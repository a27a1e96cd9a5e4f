"""Excel's strictness (docs/contract.md §7): whatever produced a workbook, a write-back keeps every
worksheet part and styles.xml valid against the ECMA-376 transitional schemas
(tests/data/ecma-376, checked by tests/ooxml_schema.py after markup-compatibility processing,
with Excel's sheetData rules: rows and cells in order, no duplicate cell).

Producers: xlsxwriter (the feature-rich tracker of tests/fidelity_workbooks.py, also with owned
shared formulas and as an .xlsm), openpyxl, an « Excel-like » file (the openpyxl one reworked
as Excel 365 saves it: mc:Ignorable namespaces, x14 extLst, no cols, Excel's styles.xml),
LibreOffice (the openpyxl file converted by ``soffice``) and the demo workspace. Each workbook's
parts are validated before and after a real sync, and the sync must add no violation the
original did not have. The consolidated workbook the demo sync writes must be valid. The first
tests prove the validator reports real violations, so that the others can fail.

``pytest -s`` prints one line per producer: parts validated, violations before / after.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from conftest import PLAN_HEADER, TODAY
from fidelity_workbooks import (
    PLAN_FIRST_ROW,
    PLAN_ROWS,
    PLAN_SHEET,
    build_tracker_workbook,
    make_shared_formulas,
    rewrite_parts,
    sheet_part,
)
from lxml import etree
from ooxml_schema import (
    NS_MAIN,
    SCHEMA_DIR,
    schema,
    violations,
    without_line,
    workbook_parts,
    workbook_violations,
)
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from qep_sync.config import Config, config_for_files, load_config
from qep_sync.jobs.sync import SyncRun, run_sync
from qep_sync.workspace.create import create_workspace

NS_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
NS_X14AC = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"
NS_XR = "http://schemas.microsoft.com/office/spreadsheetml/2014/revision"
NS_X14 = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
NS_X15 = "http://schemas.microsoft.com/office/spreadsheetml/2010/11/main"
ETATS = ["À faire", "En cours", "Fait", "Abandonné"]
LIBREOFFICE = pytest.mark.skipif(
    shutil.which("soffice") is None and not os.environ.get("CI"),
    reason="LibreOffice absent (installed by .ci/run: in CI these tests always run)",
)


def sheet(body: str, root_attrs: str = "") -> bytes:
    """A worksheet part with ``body`` inside the root element."""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{NS_MAIN}" {root_attrs}>\n{body}\n</worksheet>'
    ).encode()


COLS = '<cols><col min="1" max="2" width="12" customWidth="1"/></cols>'
SHEET_DATA = (
    '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>N° action</t></is></c>'
    '<c r="B1"><v>3</v></c></row></sheetData>'
)
MARGINS = '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'


# ---------------------------------------------------------------- the validator can fail


def test_the_schemas_are_in_the_repository_and_compile() -> None:
    names = {p.name for p in SCHEMA_DIR.glob("*.xsd")}
    assert {"sml.xsd", "shared-commonSimpleTypes.xsd", "shared-relationshipReference.xsd"} <= names
    assert (SCHEMA_DIR / "README.md").is_file()
    assert schema() is schema()  # compiled once


def test_a_valid_worksheet_has_no_violation() -> None:
    assert violations(sheet(f"{COLS}\n{SHEET_DATA}\n{MARGINS}"), "worksheet") == []


def test_cols_after_sheet_data_is_reported() -> None:
    found = violations(sheet(f"{SHEET_DATA}\n{COLS}\n{MARGINS}"), "worksheet")
    assert len(found) == 1, found
    assert found[0].startswith("line 4: cols: This element is not expected."), found


def test_an_invalid_cell_type_is_reported() -> None:
    bad = SHEET_DATA.replace('<c r="B1">', '<c r="B1" t="number">')
    found = violations(sheet(f"{COLS}\n{bad}"), "worksheet")
    assert len(found) == 1, found
    assert found[0].startswith("line 4: c@t: [facet 'enumeration'] The value 'number'"), found


def test_duplicate_and_misplaced_cells_are_reported() -> None:
    """What Excel « repairs » and the schema cannot say: a cell twice, cells or rows out of
    order, a cell whose reference is in another row."""
    data = (
        '<sheetData><row r="2"><c r="A2"><v>1</v></c><c r="A2"><v>2</v></c></row>'
        '<row r="1"><c r="B1"><v>1</v></c><c r="A1"><v>1</v></c><c r="C7"><v>1</v></c></row>'
        "</sheetData>"
    )
    found = [without_line(m) for m in violations(sheet(data), "worksheet")]
    assert found == [
        "c@r: cell A2 after column 1 in row 2 (cells must be in increasing column order, "
        "each once)",
        "row: r=1 after row 2 (rows must be in increasing order, each once)",
        "c@r: cell A1 after column 2 in row 1 (cells must be in increasing column order, "
        "each once)",
        "c@r: cell C7 in row 1",
    ]


def test_a_duplicate_attribute_is_reported() -> None:
    found = violations(sheet(SHEET_DATA.replace('r="B1"', 'r="B1" r="B1"')), "worksheet")
    assert len(found) == 1 and "not well-formed" in found[0], found


def test_xml_space_is_accepted_as_excel_writes_it() -> None:
    text = '<c r="C1" t="inlineStr"><is><t xml:space="preserve"> Fait </t></is></c></row>'
    assert violations(sheet(SHEET_DATA.replace("</row>", text)), "worksheet") == []
    found = violations(sheet(SHEET_DATA.replace("</row>", text.replace("preserve", "keep"))),
                       "worksheet")  # fmt: skip
    assert found == ["line 3: t@xml:space: invalid value 'keep' (preserve or default)"]


def test_styles_out_of_order_are_reported() -> None:
    fonts = '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    fills = '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    borders = (
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    )
    xfs = '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellXfs>'

    def styles(*parts: str) -> bytes:
        return f'<styleSheet xmlns="{NS_MAIN}">{"".join(parts)}</styleSheet>'.encode()

    assert violations(styles(fonts, fills, borders, xfs), "styles") == []
    found = violations(styles(fills, fonts, borders, xfs), "styles")
    assert found and "fonts: This element is not expected." in found[0], found
    assert violations(styles(fonts), "worksheet") == ["line 1: styleSheet: root is not worksheet"]


def test_markup_compatibility_is_processed_before_validating() -> None:
    """Ignorable namespaces are dropped, AlternateContent falls back, extLst is left alone;
    the same markup without mc:Ignorable is a violation."""
    root_attrs = (
        f'xmlns:mc="{NS_MC}" xmlns:x14ac="{NS_X14AC}" xmlns:xr="{NS_XR}" '
        f'xmlns:x14="{NS_X14}" xmlns:x15="{NS_X15}" '
        'mc:Ignorable="x14ac xr" xr:uid="{00000000-0001-0000-0000-000000000000}"'
    )
    body = (
        '<sheetFormatPr defaultRowHeight="15" x14ac:dyDescent="0.25"/>\n'
        f"{SHEET_DATA}\n"
        '<mc:AlternateContent><mc:Choice Requires="x15"><x15:webExtensions/></mc:Choice>'
        f"<mc:Fallback>{MARGINS}</mc:Fallback></mc:AlternateContent>\n"
        '<xr:revisionInfo/>\n<extLst><ext uri="{78C0D931-6437-407d-A8EE-F0AAD7539E65}">'
        "<x14:conditionalFormattings><x14:conditionalFormatting/></x14:conditionalFormattings>"
        "</ext></extLst>"
    )
    assert violations(sheet(body, root_attrs), "worksheet") == []
    strict = violations(sheet(body, root_attrs.replace('mc:Ignorable="x14ac xr"', "")), "worksheet")
    assert [m.split(":")[0] for m in strict] == ["line 2", "line 3", "line 6"], strict
    assert any("dyDescent" in m for m in strict), strict
    assert any("revisionInfo" in m for m in strict), strict
    # A Choice requiring only what is understood is taken (not the Fallback, here invalid);
    # with no Fallback the block goes away.
    taken = body.replace('Requires="x15"><x15:webExtensions/>', f'Requires="x">{MARGINS}')
    taken = taken.replace(f"<mc:Fallback>{MARGINS}", "<mc:Fallback><bogus/>")
    attrs = f'{root_attrs} xmlns:x="{NS_MAIN}"'
    assert violations(sheet(taken, attrs), "worksheet") == []
    fallback = taken.replace('Requires="x"', 'Requires="x15"')
    assert "bogus: This element is not expected." in " ".join(
        violations(sheet(fallback, attrs), "worksheet")
    )
    dropped = body.replace(f"<mc:Fallback>{MARGINS}</mc:Fallback>", "")
    assert violations(sheet(dropped, root_attrs), "worksheet") == []


# ---------------------------------------------------------------- producers, before and after


@dataclass
class Checked:
    """Violations of every checked part before and after a sync, per workbook and part."""

    producer: str
    run: SyncRun
    before: dict[str, dict[str, list[str]]]
    after: dict[str, dict[str, list[str]]]
    changed: set[str]  # "workbook:part" whose bytes the sync changed

    def added(self) -> dict[str, list[str]]:
        """Violations present after the sync and not before (line numbers ignored)."""
        added = {}
        for book, parts in self.after.items():
            for part, found in parts.items():
                old = Counter(without_line(m) for m in self.before.get(book, {}).get(part, []))
                new = Counter(without_line(m) for m in found)
                if new - old:
                    added[f"{book}:{part}"] = sorted((new - old).elements())
        return added

    def summary(self) -> str:
        parts_before = sum(len(p) for p in self.before.values())
        parts_after = sum(len(p) for p in self.after.values())
        count_before = sum(len(v) for p in self.before.values() for v in p.values())
        count_after = sum(len(v) for p in self.after.values() for v in p.values())
        return (f"[ooxml] {self.producer}: {parts_before + parts_after} parts validated "
                f"({parts_before} before, {parts_after} after, {len(self.changed)} changed by "
                f"the sync), violations before {count_before}, after {count_after}")  # fmt: skip


def part_bytes(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in workbook_parts(path)}


def check_sync(producer: str, books: list[Path], config: Config) -> Checked:
    """Validate ``books``, sync with ``config`` on TODAY, validate them again."""
    before = {b.name: workbook_violations(b) for b in books}
    raw = {b.name: part_bytes(b) for b in books}
    run = run_sync(config, TODAY)
    assert not run.failed, [w.to_dict() for w in run.writes]
    after = {b.name: workbook_violations(b) for b in books}
    changed = {f"{b.name}:{part}" for b in books
               for part, data in part_bytes(b).items() if raw[b.name].get(part) != data}  # fmt: skip
    checked = Checked(producer, run, before, after, changed)
    print("\n" + checked.summary())
    for book, parts in before.items():
        for part, found in parts.items():
            for message in found:
                print(f"    before {book}:{part}: {message}")
    return checked


def assert_sync_adds_no_violation(checked: Checked) -> None:
    assert any(w.status == "written" for w in checked.run.writes), checked.run.to_dict()
    assert any(":xl/worksheets/" in name for name in checked.changed), checked.changed
    assert checked.added() == {}


def make_openpyxl_tracker(path: Path) -> Path:
    """A simple action plan as openpyxl saves it: styles, a comment, a validation, a format,
    a note beside the table."""
    book = openpyxl.Workbook()
    plan = book.active
    assert plan is not None
    plan.title = "Plan d'actions"
    plan.append(PLAN_HEADER)
    for i in range(12):
        etat = ETATS[i % 4]
        plan.append([f"A{i + 1}", i % 5 + 1, f"Action {i + 1}",
                     TODAY + dt.timedelta(days=i * 9 - 40), (i % 5) / 4, etat,
                     TODAY - dt.timedelta(days=2) if etat == "Fait" else None,
                     f"agent{i}@doubs.gouv.fr"])  # fmt: skip
    last = plan.max_row
    for r in range(2, last + 1):
        plan.cell(r, 4).number_format = "dd/mm/yyyy"
        plan.cell(r, 5).number_format = "0%"
        plan.cell(r, 7).number_format = "dd/mm/yyyy"
    for cell in plan[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    plan.freeze_panes = "B2"
    plan.auto_filter.ref = f"A1:H{last}"
    plan.column_dimensions["C"].width = 40
    validation = DataValidation(type="list", formula1=f'"{",".join(ETATS)}"')
    plan.add_data_validation(validation)
    validation.add(f"F2:F{last}")
    plan.conditional_formatting.add(f"D2:D{last}", CellIsRule(
        operator="lessThan", formula=["TODAY()"], fill=PatternFill("solid", fgColor="FFC7CE")))  # fmt: skip
    plan["C3"].comment = Comment("Voir en COPIL", "Bureau qualité")
    # A user's note one column right of the last header, on an action still running: the
    # sync's first owned cell of that row goes between the row's cells, not after them.
    plan["J3"] = "Note : relancer le pilote"
    synthese = book.create_sheet("Synthèse")
    synthese["A1"] = "Actions"
    synthese["B1"] = f"=COUNTA('Plan d''actions'!A2:A{last})"
    synthese.merge_cells("A3:C3")
    synthese["A3"] = "Synthèse du plan d'actions"
    book.save(path)
    return path


EXCEL_ROOT = (
    f'xmlns:mc="{NS_MC}" xmlns:x14ac="{NS_X14AC}" xmlns:xr="{NS_XR}" '
    'xmlns:xr2="http://schemas.microsoft.com/office/spreadsheetml/2015/revision2" '
    'xmlns:xr3="http://schemas.microsoft.com/office/spreadsheetml/2016/revision3" '
    'mc:Ignorable="x14ac xr xr2 xr3" xr:uid="{6F3B2A51-0C4D-4E8B-9A1F-2D7C5E9B8A10}"'
)
EXCEL_EXT = (
    f'<extLst><ext xmlns:x14="{NS_X14}" uri="{{78C0D931-6437-407d-A8EE-F0AAD7539E65}}">'
    "<x14:conditionalFormattings><x14:conditionalFormatting "
    'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
    '<x14:cfRule type="dataBar" id="{00000000-000E-0000-0000-000001000000}"><x14:dataBar '
    'minLength="0" maxLength="100"><x14:cfvo type="autoMin"/><x14:cfvo type="autoMax"/>'
    "</x14:dataBar></x14:cfRule><xm:sqref>E2:E13</xm:sqref></x14:conditionalFormatting>"
    "</x14:conditionalFormattings></ext></extLst>"
)
EXCEL_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<styleSheet xmlns="{NS_MAIN}" xmlns:mc="{NS_MC}" mc:Ignorable="x14ac x16r2 xr" '
    f'xmlns:x14ac="{NS_X14AC}" xmlns:xr="{NS_XR}" '
    'xmlns:x16r2="http://schemas.microsoft.com/office/spreadsheetml/2015/02/main">'
    '<fonts count="1" x14ac:knownFonts="1"><font><sz val="11"/><color theme="1"/>'
    '<name val="Calibri"/><family val="2"/><scheme val="minor"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="9" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    '</cellStyles><dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium2" '
    'defaultPivotStyle="PivotStyleLight16"/><extLst><ext '
    'uri="{EB79DEF2-80B8-43e5-95BD-54CBDDF9020C}" '
    f'xmlns:x14="{NS_X14}"><x14:slicerStyles defaultSlicerStyle="SlicerStyleLight1"/></ext>'
    "</extLst></styleSheet>"
).encode()


def make_excel_like_tracker(path: Path) -> Path:
    """The openpyxl tracker reworked into what Excel 365 saves: its namespaces declared
    ignorable on the root, ``x14ac:dyDescent`` and ``spans`` on the rows, no ``<cols>``, an
    x14 data bar in the extLst, and Excel's styles.xml (no numFmts, built-in formats 14 and 9,
    an extLst)."""
    make_openpyxl_tracker(path)
    with zipfile.ZipFile(path) as zf:
        part = "xl/worksheets/sheet1.xml"
        root = etree.fromstring(zf.read(part))
    m = f"{{{NS_MAIN}}}"
    cols = root.find(m + "cols")
    if cols is not None:
        root.remove(cols)
    for row in root.iter(m + "row"):
        row.set("spans", "1:8")
        for cell in row.iter(m + "c"):  # Excel's cellXfs: 1 is a date, 2 a percentage
            col = cell.get("r", "A")[0] if row.get("r") != "1" else "header"
            cell.set("s", {"D": "1", "G": "1", "E": "2"}.get(col, "0"))
    xml = etree.tostring(root, encoding="unicode")
    xml = xml.replace(
        f'<worksheet xmlns="{NS_MAIN}"', f'<worksheet xmlns="{NS_MAIN}" {EXCEL_ROOT}', 1
    )
    xml = xml.replace(' spans="1:8"', ' spans="1:8" x14ac:dyDescent="0.25"')
    xml = xml.replace("</worksheet>", EXCEL_EXT + "</worksheet>")
    xml = xml.replace("<sheetFormatPr ", '<sheetFormatPr x14ac:dyDescent="0.25" ', 1)
    assert "<sheetFormatPr " in xml and "<cols>" not in xml
    body = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n' + xml
    rewrite_parts(path, {part: body.encode(), "xl/styles.xml": EXCEL_STYLES}, {})
    return path


@pytest.fixture(scope="module")
def libreoffice_tracker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The openpyxl tracker as LibreOffice saves it (converted once for the module)."""
    folder = tmp_path_factory.mktemp("libreoffice")
    source = make_openpyxl_tracker(folder / "suivi-libreoffice.xlsx")
    out = folder / "out"
    profile = f"-env:UserInstallation={(folder / 'profile').as_uri()}"
    subprocess.run(["soffice", profile, "--headless", "--convert-to", "xlsx", "--outdir", str(out),
                    str(source)], check=True, timeout=120, capture_output=True)  # fmt: skip
    return out / source.name


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Checked:
    """The demo workspace, validated before and after one sync."""
    folder = tmp_path_factory.mktemp("demo")
    create_workspace(folder, demo=True, today=TODAY, force=True)
    config = load_config(folder / "qep-sync.toml")
    books = sorted(s.path for s in config.sources if s.path and s.path.suffix != ".ods")
    assert books
    return check_sync("demo workspace", books, config)


@pytest.mark.parametrize("variant", ["plain", "owned shared formulas", "macro"])
def test_xlsxwriter_tracker_sync_adds_no_violation(tmp_path: Path, variant: str) -> None:
    """The feature-rich tracker; also with a « Jours restants » column of shared formulas the
    sync overwrites, and as an .xlsm."""
    suffix = ".xlsm" if variant == "macro" else ".xlsx"
    owned = variant == "owned shared formulas"
    built = build_tracker_workbook(tmp_path / f"suivi{suffix}", TODAY, macro=variant == "macro",
                                   owned_formulas=owned)  # fmt: skip
    if owned:
        part = sheet_part(built.path, PLAN_SHEET)
        make_shared_formulas(built.path, part, "N", PLAN_FIRST_ROW, PLAN_FIRST_ROW + PLAN_ROWS - 1)
    checked = check_sync(f"xlsxwriter (fidelity tracker, {variant})", [built.path],
                         config_for_files([built.path]))  # fmt: skip
    assert_sync_adds_no_violation(checked)


def test_openpyxl_tracker_sync_adds_no_violation(tmp_path: Path) -> None:
    path = make_openpyxl_tracker(tmp_path / "suivi-openpyxl.xlsx")
    checked = check_sync("openpyxl", [path], config_for_files([path]))
    assert_sync_adds_no_violation(checked)


def test_excel_like_tracker_sync_adds_no_violation(tmp_path: Path) -> None:
    path = make_excel_like_tracker(tmp_path / "suivi-excel.xlsx")
    checked = check_sync("Excel-like (namespaces, x14 extLst, no cols)", [path],
                         config_for_files([path]))  # fmt: skip
    assert_sync_adds_no_violation(checked)
    with zipfile.ZipFile(path) as zf:  # the sync had to create <cols> and <numFmts>
        assert b"<cols>" in zf.read("xl/worksheets/sheet1.xml")
        assert b"<numFmts" in zf.read("xl/styles.xml")


@LIBREOFFICE
def test_libreoffice_tracker_sync_adds_no_violation(
    libreoffice_tracker: Path, tmp_path: Path
) -> None:
    path = tmp_path / libreoffice_tracker.name
    shutil.copyfile(libreoffice_tracker, path)
    with zipfile.ZipFile(path) as zf:  # really LibreOffice's file
        assert b"LibreOffice" in zf.read("docProps/app.xml")
    checked = check_sync("LibreOffice (soffice --convert-to xlsx)", [path],
                         config_for_files([path]))  # fmt: skip
    assert_sync_adds_no_violation(checked)


def test_demo_workspace_sync_adds_no_violation(demo: Checked) -> None:
    xlsx = [w for w in demo.run.writes if not w.source.endswith(".ods")]  # .ods: its own suite
    assert len(demo.before) == len(xlsx) >= 2
    assert_sync_adds_no_violation(demo)


def test_the_consolidated_workbook_is_valid(demo: Checked) -> None:
    result = demo.run.consolidated
    assert result is not None and result.status == "written", result
    found = workbook_violations(result.path)
    print(f"\n[ooxml] consolidated workbook ({result.path.name}): {len(found)} parts validated, "
          f"violations {sum(len(v) for v in found.values())}")  # fmt: skip
    assert any(kind == "worksheet" for kind in workbook_parts(result.path).values())
    assert found == {part: [] for part in found}


def test_a_write_back_that_broke_the_order_would_be_caught(tmp_path: Path) -> None:
    """The before/after comparison can fail: the same part with its cols moved after
    sheetData (what a careless patch would write) is a violation added to that part, and a
    violation the original already had is not counted again."""
    path = make_openpyxl_tracker(tmp_path / "suivi.xlsx")
    part = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as zf:
        root = etree.fromstring(zf.read(part))
    cols = root.find(f"{{{NS_MAIN}}}cols")
    sheet_data = root.find(f"{{{NS_MAIN}}}sheetData")
    assert cols is not None and sheet_data is not None
    sheet_data.addnext(cols)  # moves it
    broken = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    before = {path.name: workbook_violations(path)}
    after = {path.name: {**before[path.name], part: violations(broken, "worksheet")}}
    run = SyncRun(check=None, writes=[], dry_run=True)  # type: ignore[arg-type]
    added = Checked("broken on purpose", run, before, after, {f"{path.name}:{part}"}).added()
    assert list(added) == [f"{path.name}:{part}"]
    assert [m.split(".")[0] for m in added[f"{path.name}:{part}"]] == [
        "cols: This element is not expected"
    ]
    assert Checked("already broken", run, after, after, set()).added() == {}
