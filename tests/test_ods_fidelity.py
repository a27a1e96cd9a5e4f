"""Write-back fidelity for LibreOffice's own files (docs/contract.md §3, §7): a sync changes an
.ods only in the cells qep-sync owns. The workbook is made by LibreOffice (``soffice
--convert-to ods``, see ``ods_workbooks``) with what a bureau's tracker holds; after a sync
every zip entry but content.xml is byte-identical, content.xml differs only in owned cells
(compared cell by cell, repeats expanded), the values are those the .xlsx path computes from
the same data, and LibreOffice opens the result and shows them (its CSV export).
"""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import python_calamine
from conftest import TODAY
from lxml import etree
from ods_workbooks import (
    CONTROLE,
    DELAIS_OWNED,
    DELAIS_SHEET,
    FORMULA_TEXT,
    JOURS,
    NOTE_COL,
    NOTE_TEXT,
    NS,
    OF_FORMULA_TEXT,
    PLAN_HEADER_ROW,
    PLAN_OWNED,
    PLAN_SHEET,
    STALE,
    STATUT,
    Built,
    assert_only_owned_cells_changed,
    build_fidelity_workbook,
    cache_dir,
    cell_runs,
    content_of,
    csv_sheets,
    needs_soffice,
    row_runs,
    soffice_convert,
    tables_of,
    to_ods,
)

from qep_sync.backends.ods import read_ods
from qep_sync.config import config_for_files
from qep_sync.jobs.sync import SyncRun, run_sync

pytestmark = needs_soffice
T, OFFICE, STYLE = (f"{{{NS[k]}}}" for k in ("table", "office", "style"))
OWNED = {PLAN_SHEET: PLAN_OWNED, DELAIS_SHEET: DELAIS_OWNED}
NEW_COLUMNS = {PLAN_SHEET: {STATUT, CONTROLE}, DELAIS_SHEET: DELAIS_OWNED}


@pytest.fixture(scope="session")
def libreoffice_cache(request: pytest.FixtureRequest) -> Path:
    return cache_dir(request.config)


@dataclass
class Synced:
    built: Built
    original: Path  # the .ods as LibreOffice made it, untouched
    synced: Path
    xlsx_synced: Path  # the same data as .xlsx, synced by the Excel backend
    run: SyncRun
    xlsx_run: SyncRun
    before: dict[str, bytes]
    after: dict[str, bytes]
    infos_before: list[zipfile.ZipInfo]
    infos_after: list[zipfile.ZipInfo]


def entries(path: Path) -> tuple[list[zipfile.ZipInfo], dict[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        return zf.infolist(), {i.filename: zf.read(i) for i in zf.infolist()}


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory, libreoffice_cache: Path) -> Synced:
    folder = tmp_path_factory.mktemp("ods-fidelity")
    built = build_fidelity_workbook(folder / "source", libreoffice_cache, TODAY)
    original = folder / "original.ods"
    shutil.copy2(built.ods, original)
    synced = folder / built.ods.name
    shutil.copy2(built.ods, synced)
    xlsx_synced = folder / "excel" / built.xlsx.name
    xlsx_synced.parent.mkdir()
    shutil.copy2(built.xlsx, xlsx_synced)
    infos_before, before = entries(synced)
    run = run_sync(config_for_files([synced]), TODAY)
    xlsx_run = run_sync(config_for_files([xlsx_synced]), TODAY)
    infos_after, after = entries(synced)
    return Synced(built, original, synced, xlsx_synced, run, xlsx_run, before, after,
                  infos_before, infos_after)  # fmt: skip


@pytest.fixture(scope="module")
def shown(synced: Synced, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What LibreOffice shows of the original and of the synced file (one CSV per sheet)."""
    out = tmp_path_factory.mktemp("ods-csv")
    return {"before": csv_sheets(synced.original, out / "before"),
            "after": csv_sheets(synced.synced, out / "after")}  # fmt: skip


def grids(path: Path) -> dict[str, list[list[Any]]]:
    """Every sheet as python-calamine reads it (a reader that is not qep-sync's)."""
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        return {name: _trimmed(book.get_sheet_by_name(name).to_python(skip_empty_area=False))
                for name in book.sheet_names}  # fmt: skip
    finally:
        book.close()


def _trimmed(rows: list[list[Any]]) -> list[list[Any]]:
    out = []
    for r in rows:
        r = list(r)
        while r and r[-1] == "":
            r.pop()
        out.append(r)
    while out and not out[-1]:
        out.pop()
    return out


def at(grid: list[list[Any]], row: int, col: int) -> Any:
    """The value of 1-based ``row``, 0-based ``col`` ("" outside the grid)."""
    if row > len(grid) or col >= len(grid[row - 1]):
        return ""
    return grid[row - 1][col]


def plan_table(xml: bytes) -> etree._Element:
    return tables_of(etree.fromstring(xml))[0]


def cell_el(xml: bytes, row: int, col: int) -> etree._Element:
    """The element holding the cell at 1-based ``row``, 0-based ``col`` of the plan."""
    pos = 1
    for count, row_el in row_runs(plan_table(xml)):
        if pos <= row < pos + count:
            start = 0
            for width, cell in cell_runs(row_el):
                if start <= col < start + width:
                    return cell
                start += width
        pos += count
    raise AssertionError((row, col))


# ---------------------------------------------------------------- the workbook is LibreOffice's


def test_libreoffice_made_the_workbook_with_every_feature(synced: Synced) -> None:
    """Not only kept: present (the comparisons below had these to compare)."""
    xml = synced.before["content.xml"].decode()
    for mark in ("table:number-columns-spanned", "table:covered-table-cell", "office:annotation",
                 "table:content-validation ", "calcext:conditional-format", "draw:frame",
                 'table:named-range table:name="Etats"', 'table:named-range table:name="Echeances"',
                 'table:visibility="collapse"', "table:formula", 'table:name="Listes"'):  # fmt: skip
        assert mark in xml, mark
    assert any(n.startswith("Pictures/") for n in synced.before)
    assert "Object 1/content.xml" in synced.before  # the chart, on « Synthèse »
    assert "Thumbnails/thumbnail.png" in synced.before
    assert b'"VerticalSplitPosition" config:type="int">3<' in synced.before["settings.xml"]
    plan = plan_table(synced.before["content.xml"])
    runs = row_runs(plan)
    assert [count for count, _ in runs][7] == 3  # rows 8–10: one repeated empty row
    assert runs[-2][0] > 1_000_000  # LibreOffice's empty rows to the end of the grid
    assert cell_el(synced.before["content.xml"], synced.built.repeated_cell_row, JOURS).get(
        T + "number-columns-repeated") == "2"  # fmt: skip


def test_sync_writes_the_workbook(synced: Synced) -> None:
    (write,) = synced.run.writes
    assert (write.status, write.message) == ("written", "")
    report = synced.run.check.report.sources[0]
    assert report.error is None
    assert {(s.sheet, s.tracker, s.header_row) for s in report.sheets} == {
        (PLAN_SHEET, "plan_actions", PLAN_HEADER_ROW), (DELAIS_SHEET, "courriers", 1)}  # fmt: skip


# ---------------------------------------------------------------- part by part, cell by cell


def test_every_entry_but_content_xml_is_copied_raw(synced: Synced) -> None:
    """Same entries in the same order, mimetype first and stored, every entry but content.xml
    byte-identical with its compressed size, CRC and date (the manifest, the thumbnail, the
    settings, styles.xml, meta.xml, the chart and the image among them)."""
    assert [i.filename for i in synced.infos_after] == [i.filename for i in synced.infos_before]
    first = synced.infos_after[0]
    assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
    old = {i.filename: i for i in synced.infos_before}
    for info in synced.infos_after:
        if info.filename == "content.xml":
            continue
        was = old[info.filename]
        assert synced.after[info.filename] == synced.before[info.filename], info.filename
        assert (info.CRC, info.compress_size, info.compress_type, info.date_time) == (
            was.CRC, was.compress_size, was.compress_type, was.date_time), info.filename  # fmt: skip
    assert synced.after["content.xml"] != synced.before["content.xml"]


def test_content_xml_changes_only_in_owned_cells(synced: Synced) -> None:
    assert_only_owned_cells_changed(synced.before["content.xml"], synced.after["content.xml"],
                                    OWNED, NEW_COLUMNS)  # fmt: skip


def test_values_read_back_are_those_of_the_xlsx_path(synced: Synced) -> None:
    """The same data as .xlsx, synced by the Excel backend, gives the same cells, owned ones
    included, and the same findings at the same cells (dates, percentages, text dates and
    repeated rows read alike)."""
    ods, xlsx = grids(synced.synced), grids(synced.xlsx_synced)
    for sheet in (PLAN_SHEET, DELAIS_SHEET):
        assert ods[sheet] == xlsx[sheet], sheet
    found = [{(f.sheet, f.cell, f.severity, f.message) for f in r.check.report.findings}
             for r in (synced.run, synced.xlsx_run)]  # fmt: skip
    assert found[0] == found[1]
    assert len(found[0]) >= 5


def test_known_rows_get_their_computed_cells(synced: Synced) -> None:
    b = synced.built
    plan = grids(synced.synced)[PLAN_SHEET]
    assert plan[PLAN_HEADER_ROW - 1][JOURS:] == ["Jours restants", "Commentaire", "Statut", "",
                                                 "Contrôle"]  # fmt: skip
    assert [at(plan, 4, c) for c in (JOURS, STATUT, CONTROLE)] == [-10.0, "En retard", ""]
    assert at(plan, 6, JOURS) == "" and at(plan, 6, STATUT) == "Terminée"  # stale value cleared
    assert [at(plan, b.repeated_cell_row, c) for c in (JOURS, JOURS + 1)] == [15.0, float(STALE)]
    assert at(plan, b.spanned_row, STATUT) == "Dans les temps"
    assert f"« {FORMULA_TEXT} »" in at(plan, b.formula_text_row, CONTROLE)
    first, second = b.duplicate_rows
    assert at(plan, first, CONTROLE) == "" and "déjà utilisé ligne 12" in at(plan, second, CONTROLE)
    assert len({tuple(plan[r - 1]) for r in b.unnumbered_rows}) == 1
    assert at(plan, b.hidden_rows[0], STATUT) == "En retard"
    assert at(plan, b.hidden_rows[1], STATUT) == "Abandonnée"
    assert [at(plan, b.formula_row, c) for c in (JOURS, NOTE_COL)] == [3.0, NOTE_TEXT]
    assert "31/02/2026" in at(plan, b.bad_date_row, CONTROLE)
    assert at(plan, b.text_date_row, JOURS) == 19.0
    assert all(at(plan, b.total_row, c) == "" for c in (JOURS, STATUT, CONTROLE))
    assert all(at(plan, r, c) == "" for r in b.empty_rows for c in range(12))
    delais = grids(synced.synced)[DELAIS_SHEET]
    assert delais[1][5:10] == [dt.date(2026, 11, 9), 3.0, "Oui", "Répondu dans le délai"]
    assert at(delais, 3, 8) == "En retard" and "avant la réception" in at(delais, 4, 9)


def test_the_cells_kept_their_own_features(synced: Synced) -> None:
    """The comment on a stale owned cell stays; the formula of an owned cell is gone, not
    copied; hidden rows stay hidden; a user's half of a repeated cell keeps its value."""
    b, xml = synced.built, synced.after["content.xml"]
    commented = cell_el(xml, b.commented_row, JOURS)
    assert commented.find(OFFICE + "annotation") is not None
    assert commented.get(OFFICE + "value") == "-10"
    formula = cell_el(xml, b.formula_row, JOURS)
    assert formula.get(T + "formula") is None and formula.get(OFFICE + "value") == "3"
    for r in b.hidden_rows:
        assert cell_el(xml, r, 0).getparent().get(T + "visibility") == "collapse"
    user = cell_el(xml, b.repeated_cell_row, JOURS + 1)
    assert (
        user.get(OFFICE + "value") == str(STALE) and user.get(T + "number-columns-repeated") is None
    )


def test_formula_looking_texts_stay_texts(synced: Synced) -> None:
    b, xml = synced.built, synced.after["content.xml"]
    for col, text in ((1, OF_FORMULA_TEXT), (5, FORMULA_TEXT)):
        cell = cell_el(xml, b.formula_text_row, col)
        assert cell.get(OFFICE + "value-type") == "string" and cell.get(T + "formula") is None
        assert "".join(cell.itertext()) == text
    controle = cell_el(xml, b.formula_text_row, CONTROLE)
    assert controle.get(OFFICE + "value-type") == "string" and controle.get(T + "formula") is None
    for r in range(PLAN_HEADER_ROW, b.last_row + 1):
        for c in (JOURS, STATUT, CONTROLE):
            assert cell_el(xml, r, c).get(T + "formula") is None, (r, c)


def test_qep_sync_styles_are_in_content_xml_only(synced: Synced) -> None:
    styles = etree.fromstring(synced.after["content.xml"]).find(OFFICE + "automatic-styles")
    ours = [s.get(STYLE + "name") for s in styles if s.get(STYLE + "name", "").startswith("qep-")]
    assert {"qep-entete", "qep-date-jj-mm-aaaa", "qep-date"} <= set(ours)
    # One column style per width of the new columns, each as wide as its title and its longest
    # value (« Date limite de réponse » 25, the two Statut columns by their longest status),
    # Contrôle 60, « Délai (jours ouvrés) » and « Dans le délai » by their titles.
    assert {n for n in ours if n.startswith("qep-colonne-")} == {
        f"qep-colonne-{w}" for w in (25, 24, 18, 60, 23, 16)}  # fmt: skip
    assert len(ours) == len(set(ours))
    header = cell_el(synced.after["content.xml"], PLAN_HEADER_ROW, STATUT)
    assert header.get(T + "style-name") == "qep-entete"
    controle = cell_el(synced.after["content.xml"], synced.built.bad_date_row, CONTROLE)
    assert controle.get(T + "style-name") == "qep-renvoi"  # `Contrôle` wraps, as in .xlsx


# ---------------------------------------------------------------- LibreOffice shows them


def test_libreoffice_shows_the_owned_values(synced: Synced, shown: dict[str, Any]) -> None:
    plan = shown["after"][PLAN_SHEET]
    assert plan[PLAN_HEADER_ROW - 1][JOURS:CONTROLE + 1] == [
        "Jours restants", "Commentaire", "Statut", "", "Contrôle"]  # fmt: skip
    assert plan[3][JOURS] == "-10" and plan[3][STATUT] == "En retard"
    assert plan[synced.built.formula_row - 1][NOTE_COL] == NOTE_TEXT
    assert plan[synced.built.formula_text_row - 1][5] == FORMULA_TEXT  # not evaluated
    delais = shown["after"][DELAIS_SHEET]
    assert delais[1][5:9] == ["09/11/2026", "3", "Oui", "Répondu dans le délai"]  # dd/mm/yyyy


def test_libreoffice_shows_every_user_cell_as_before(synced: Synced, shown: dict[str, Any]) -> None:
    before, after = shown["before"], shown["after"]
    assert set(after) == set(before)
    for sheet, rows in before.items():
        owned = OWNED.get(sheet, set())
        for r, row in enumerate(rows):
            new = after[sheet][r] if r < len(after[sheet]) else []
            for c, value in enumerate(row):
                if c not in owned and not (sheet == "Synthèse" and (r, c) == (7, 1)):
                    assert (new[c] if c < len(new) else "") == value, (sheet, r + 1, c)


def test_libreoffice_recomputes_a_formula_on_the_owned_column(shown: dict[str, Any]) -> None:
    """« Synthèse » counts the late actions in the owned « Statut » column: its cached result
    (0, the column did not exist) is recomputed when LibreOffice opens the synced file."""
    assert shown["before"]["Synthèse"][7][1] == "0"
    assert shown["after"]["Synthèse"][7][1] == "2"  # rows 4 and 17 are late


# ---------------------------------------------------------------- later runs


def test_a_second_sync_writes_nothing(synced: Synced, tmp_path: Path) -> None:
    path = tmp_path / synced.synced.name
    shutil.copy2(synced.synced, path)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    (write,) = run_sync(config_for_files([path]), TODAY).writes
    assert write.status == "unchanged"
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_a_later_sync_changes_only_owned_cells_again(synced: Synced, tmp_path: Path) -> None:
    path = tmp_path / synced.synced.name
    shutil.copy2(synced.synced, path)
    (write,) = run_sync(config_for_files([path]), TODAY + dt.timedelta(days=20)).writes
    assert write.status == "written"
    _, later = entries(path)
    assert {n for n in later if later[n] != synced.after[n]} == {"content.xml"}
    assert_only_owned_cells_changed(synced.after["content.xml"], later["content.xml"], OWNED, {})
    assert at(grids(path)[PLAN_SHEET], 4, JOURS) == -30.0


def test_a_file_libreoffice_saved_again_needs_no_write(synced: Synced, tmp_path: Path) -> None:
    """LibreOffice re-saves the synced file (its own XML, qep-sync's styles among its own):
    the owned values read back unchanged, so the next sync writes nothing."""
    soffice_convert([synced.synced], "ods", tmp_path)
    path = tmp_path / synced.synced.name
    assert content_of(path) != synced.after["content.xml"]
    before = path.read_bytes()
    (write,) = run_sync(config_for_files([path]), TODAY).writes
    assert (write.status, write.cells) == ("unchanged", 0)
    assert path.read_bytes() == before
    assert read_ods(path).sheets[0].rows[3][JOURS] == -10.0


def test_reading_matches_calamine_on_a_file_libreoffice_made(
    tmp_path: Path, libreoffice_cache: Path
) -> None:
    """Booleans, currency, percentages, dates and times, text dates, repeated and spanned
    cells, header rows and row groups, comments, paragraphs: LibreOffice writes them, and
    qep-sync's reader gives what python-calamine gives."""
    fods = tmp_path / "valeurs.fods"
    fods.write_text(FODS, encoding="utf-8")
    path = to_ods(fods, libreoffice_cache)
    book = read_ods(path)
    calamine = grids(path)
    for sheet in book.sheets:
        assert _trimmed(sheet.rows) == calamine[sheet.title], sheet.title
    (sheet,) = book.sheets
    assert sheet.rows[1][:8] == [True, 12.5, 0.25, dt.date(2026, 12, 4),
                                 dt.datetime(2026, 12, 4, 10, 30), dt.time(13, 30), "12/09/2022",
                                 False]  # fmt: skip
    assert sheet.rows[2] == ["deux", "deux", "", "", "x"]
    assert sheet.rows[3:6] == [[], [], ["groupé", "titre", "", "caché"]]
    assert sheet.rows[6] == ["a  b\nligne 2"]
    assert book.percent_cells(sheet) == {(2, 2)}


FODS = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0"
 xmlns:dc="http://purl.org/dc/elements/1.1/" office:version="1.3"
 office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
<office:automatic-styles>
<number:boolean-style style:name="NB"><number:boolean/></number:boolean-style>
<number:date-style style:name="ND"><number:day number:style="long"/><number:text>/</number:text><number:month number:style="long"/><number:text>/</number:text><number:year number:style="long"/></number:date-style>
<number:date-style style:name="NDT"><number:day number:style="long"/><number:text>/</number:text><number:month number:style="long"/><number:text>/</number:text><number:year number:style="long"/><number:text> </number:text><number:hours number:style="long"/><number:text>:</number:text><number:minutes number:style="long"/></number:date-style>
<number:time-style style:name="NT"><number:hours number:style="long"/><number:text>:</number:text><number:minutes number:style="long"/></number:time-style>
<number:percentage-style style:name="NP"><number:number number:decimal-places="0" number:min-integer-digits="1"/><number:text> %</number:text></number:percentage-style>
<number:currency-style style:name="NC"><number:number number:decimal-places="2" number:min-integer-digits="1"/><number:text> </number:text><number:currency-symbol number:language="fr" number:country="FR">€</number:currency-symbol></number:currency-style>
<style:style style:name="cb" style:family="table-cell" style:data-style-name="NB"/>
<style:style style:name="cd" style:family="table-cell" style:data-style-name="ND"/>
<style:style style:name="cdt" style:family="table-cell" style:data-style-name="NDT"/>
<style:style style:name="ct" style:family="table-cell" style:data-style-name="NT"/>
<style:style style:name="cp" style:family="table-cell" style:data-style-name="NP"/>
<style:style style:name="cc" style:family="table-cell" style:data-style-name="NC"/>
</office:automatic-styles>
<office:body><office:spreadsheet>
<table:table table:name="Valeurs">
<table:table-header-rows><table:table-row><table:table-cell office:value-type="string"><text:p>en-tête</text:p></table:table-cell></table:table-row></table:table-header-rows>
<table:table-row>
<table:table-cell table:style-name="cb" office:value-type="boolean" office:boolean-value="true"><text:p>VRAI</text:p></table:table-cell>
<table:table-cell table:style-name="cc" office:value-type="currency" office:currency="EUR" office:value="12.5"><text:p>12,50 €</text:p></table:table-cell>
<table:table-cell table:style-name="cp" office:value-type="percentage" office:value="0.25"><text:p>25 %</text:p></table:table-cell>
<table:table-cell table:style-name="cd" office:value-type="date" office:date-value="2026-12-04"><text:p>04/12/2026</text:p></table:table-cell>
<table:table-cell table:style-name="cdt" office:value-type="date" office:date-value="2026-12-04T10:30:00"><text:p>04/12/2026 10:30</text:p></table:table-cell>
<table:table-cell table:style-name="ct" office:value-type="time" office:time-value="PT13H30M00S"><text:p>13:30</text:p></table:table-cell>
<table:table-cell office:value-type="string"><text:p>12/09/2022</text:p></table:table-cell>
<table:table-cell table:style-name="cb" office:value-type="boolean" office:boolean-value="false"><text:p>FAUX</text:p></table:table-cell>
</table:table-row>
<table:table-row><table:table-cell office:value-type="string" table:number-columns-repeated="2"><text:p>deux</text:p></table:table-cell><table:table-cell table:number-columns-repeated="2"/><table:table-cell office:value-type="string"><office:annotation><dc:creator>Qualité</dc:creator><text:p>une note</text:p></office:annotation><text:p>x</text:p></table:table-cell></table:table-row>
<table:table-row table:number-rows-repeated="2"><table:table-cell/></table:table-row>
<table:table-row-group><table:table-row><table:table-cell office:value-type="string"><text:p>groupé</text:p></table:table-cell><table:table-cell office:value-type="string" table:number-columns-spanned="2"><text:p>titre</text:p></table:table-cell><table:covered-table-cell/><table:table-cell office:value-type="string"><text:p>caché</text:p></table:table-cell></table:table-row></table:table-row-group>
<table:table-row><table:table-cell office:value-type="string"><text:p>a<text:s text:c="2"/>b</text:p><text:p>ligne 2</text:p></table:table-cell></table:table-row>
</table:table>
</office:spreadsheet></office:body></office:document>
"""
