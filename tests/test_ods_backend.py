"""The .ods backend on files written by hand (docs/contract.md §2, §3, §7), where every repeat
and span is controlled: values typed as the Excel backend types them, repeated rows and cells
counted right (so findings name the right cells), the write-back splitting repeated runs into
the fewest elements, writing values and never formulas, keeping the package valid and the rest
of the file as it was; bad input refused in French, with nothing written. LibreOffice itself is
in ``test_ods_fidelity.py``.
"""

from __future__ import annotations

import datetime as dt
import os
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest
import python_calamine
from conftest import TODAY
from lxml import etree
from ods_workbooks import (
    NS,
    assert_only_owned_cells_changed,
    cell_runs,
    content_of,
    content_xml,
    date_cell,
    float_cell,
    row,
    row_runs,
    table,
    tables_of,
    text_cell,
    write_ods,
)
from test_read_safety import assert_french

from qep_sync.backends import odsscan, odsxml
from qep_sync.backends.ods import read_ods
from qep_sync.config import config_for_files
from qep_sync.core.contract import SheetPatch, SkippedWrite
from qep_sync.errors import SourceError, WriteBackError
from qep_sync.jobs.check import run_check
from qep_sync.jobs.sync import run_sync

T, OFFICE, STYLE = (f"{{{NS[k]}}}" for k in ("table", "office", "style"))
HEADER = ["N° action", "Action", "Échéance", "État", "Date de réalisation"]
EMPTY_TAIL = '<table:table-cell table:number-columns-repeated="16379"/>'
LAST_ROWS = '<table:table-row table:number-rows-repeated="1048500"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>'


def header_row(*titles: str) -> str:
    return row(*(text_cell(t) for t in titles), EMPTY_TAIL)


def action(number: str | None, due: dt.date | str, etat: str, *, repeated: int = 1) -> str:
    cells = [text_cell(number) if number else "<table:table-cell/>", text_cell("Accueil"),
             date_cell(due) if isinstance(due, dt.date) else text_cell(due), text_cell(etat),
             "<table:table-cell/>", EMPTY_TAIL]  # fmt: skip
    attrs = f'table:number-rows-repeated="{repeated}"' if repeated > 1 else ""
    return row(*cells, attrs=attrs)


def plan_ods(path: Path, *rows: str, columns: str = "") -> Path:
    """An action plan as LibreOffice lays one out (trailing repeated cells and rows)."""
    body = table("Plan d'actions", header_row(*HEADER), *rows, LAST_ROWS, columns=columns)
    return write_ods(path, body)


def stamp(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def sync_status(path: Path, today: dt.date = TODAY) -> str:
    (write,) = run_sync(config_for_files([path]), today).writes
    return write.status


# ---------------------------------------------------------------- reading


@pytest.fixture(params=["tree", "stream"])
def reading(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of reading content.xml: parsed whole (the usual), or streamed (large parts)."""
    if request.param == "stream":
        monkeypatch.setattr(odsscan, "TREE_BYTES", 0)
    return str(request.param)


@pytest.mark.usefixtures("reading")
def test_values_are_typed_as_the_excel_backend_types_them(tmp_path: Path) -> None:
    """Dates, datetimes, percentages, currency, booleans, times and texts come out as
    python-calamine gives them for an .xlsx; a comment's text is not the cell's, nor are the
    tabs and line breaks inside a paragraph (LibreOffice Calc drops them)."""
    cells = [
        date_cell(dt.date(2026, 12, 4)),
        '<table:table-cell office:value-type="date" office:date-value="2026-12-04T13:30:00"/>',
        '<table:table-cell office:value-type="date" office:date-value="2026-12-04T00:00:00"/>',
        float_cell(0.5, kind="percentage"),
        '<table:table-cell office:value-type="currency" office:currency="EUR" office:value="12.5"><text:p>12,50 €</text:p></table:table-cell>',
        '<table:table-cell office:value-type="boolean" office:boolean-value="true"><text:p>VRAI</text:p></table:table-cell>',
        '<table:table-cell office:value-type="time" office:time-value="PT13H30M00S"/>',
        float_cell(3.0),
        text_cell("12/09/2022"),
        '<table:table-cell office:value-type="string"><office:annotation><dc:creator>moi</dc:creator><text:p>NOTE</text:p></office:annotation><text:p>a<text:s text:c="3"/>b<text:tab/>c</text:p><text:p>deux<text:line-break/>lignes <text:span>en</text:span> <text:a>lien</text:a></text:p></table:table-cell>',
        '<table:table-cell office:value-type="string" office:string-value="vraie valeur"><text:p>affiché</text:p></table:table-cell>',
        '<table:table-cell office:value-type="date" office:date-value="2026-02-31"><text:p>31/02/2026</text:p></table:table-cell>',
    ]  # fmt: skip
    path = write_ods(tmp_path / "types.ods", table("S", row(*cells)))
    (sheet,) = read_ods(path).sheets
    assert sheet.rows == [[
        dt.date(2026, 12, 4), dt.datetime(2026, 12, 4, 13, 30), dt.date(2026, 12, 4), 0.5, 12.5,
        True, dt.time(13, 30), 3.0, "12/09/2022", "a   bc\ndeuxlignes en lien",
        "vraie valeur", "31/02/2026",
    ]]  # fmt: skip
    assert read_ods(path).percent_cells(sheet) == {(1, 3)}


@pytest.mark.usefixtures("reading")
def test_repeated_and_spanned_cells_are_counted_where_they_are(tmp_path: Path) -> None:
    """Rows and cells stored once with a repeat count, row groups, header rows, spanned cells
    and the covered cells under them: each value at its row and column, as calamine reads it."""
    body = table(
        "S",
        "<table:table-header-rows>" + row(text_cell("h"), text_cell("titre", 'table:number-columns-spanned="2"'),
                                          '<table:covered-table-cell/>', text_cell("x")) + "</table:table-header-rows>",
        row('<table:table-cell table:number-columns-repeated="3"/>', text_cell("loin"),
            attrs='table:number-rows-repeated="2"'),
        row("<table:table-cell/>", attrs='table:number-rows-repeated="3"'),
        "<table:table-row-group>" + row(text_cell("g", 'table:number-columns-repeated="2"'),
                                        float_cell(0.25, 'table:number-columns-repeated="2"', "percentage"))
        + "</table:table-row-group>",
        LAST_ROWS,
    )  # fmt: skip
    path = write_ods(tmp_path / "repetes.ods", body)
    book = read_ods(path)
    (sheet,) = book.sheets
    assert sheet.rows == [
        ["h", "titre", "", "x"],
        ["", "", "", "loin"],
        ["", "", "", "loin"],
        [],
        [],
        [],
        ["g", "g", 0.25, 0.25],
    ]
    assert book.percent_cells(sheet) == {(7, 2), (7, 3)}
    assert book.last_change() == dt.datetime.fromtimestamp(path.stat().st_mtime_ns / 1e9, tz=dt.UTC)


@pytest.mark.usefixtures("reading")
def test_findings_name_the_cell_after_repeated_rows(tmp_path: Path) -> None:
    """The reference of a finding counts the rows and cells LibreOffice stored as repeats."""
    path = plan_ods(
        tmp_path / "suivi.ods",
        action("A1", dt.date(2027, 1, 4), "En cours"),
        row("<table:table-cell/>", attrs='table:number-rows-repeated="4"'),
        row(text_cell("A2", 'table:number-columns-repeated="1"'), text_cell("x"),
            text_cell("31/02/2026"), text_cell("Terminé ?"), EMPTY_TAIL),
    )  # fmt: skip
    report = run_check(config_for_files([path]), TODAY).report
    assert report.sources[0].error is None
    assert {(f.cell, str(f.severity)) for f in report.findings} == {
        ("C7", "error"),
        ("D7", "error"),
    }


@pytest.mark.usefixtures("reading")
def test_a_million_rows_repeated_with_a_value_are_refused_in_bounded_memory(
    tmp_path: Path,
) -> None:
    """A few bytes repeat one value over the whole grid (17 billion cells): refused, with a
    French reason, before memory grows; the other sources are read."""
    bomb = row(text_cell("x", 'table:number-columns-repeated="16384"'),
               attrs='table:number-rows-repeated="1048576"')  # fmt: skip
    path = write_ods(tmp_path / "bombe.ods", table("Plan d'actions", bomb))
    tracemalloc.start()
    try:
        with pytest.raises(SourceError) as caught:
            read_ods(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200 << 20, f"{peak >> 20} Mo"
    assert "trop volumineux" in caught.value.reason
    assert_french(caught.value.reason)


BAD_CONTENT = {
    "entities": (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><office:document-content '
        b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>',
        "dangereux",
    ),
    "not-xml": (content_xml(table("S", row(text_cell("a"))))[:-40], "XML mal formé"),
    "far-value": (content_xml(table("S", row('<table:table-cell table:number-columns-repeated="16384"/>', text_cell("x")))),
                  "au-delà de la dernière colonne"),
    "huge-text": (content_xml(table("S", row('<table:table-cell office:value-type="string"><text:p>'
                                             + '<text:s text:c="1000000"/>' * 3 + "</text:p></table:table-cell>"))),
                  "texte démesuré"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_CONTENT))
@pytest.mark.usefixtures("reading")
def test_a_bad_content_part_is_one_french_error_and_nothing_is_written(
    tmp_path: Path, case: str
) -> None:
    content, words = BAD_CONTENT[case]
    path = write_ods(tmp_path / "mauvais.ods", "", content=content)
    before = stamp(path)
    run = run_sync(config_for_files([path]), TODAY)
    (report,) = run.check.report.sources
    assert report.error is not None and words in report.error, report.error
    assert_french(report.error)
    assert run.writes[0].status == "not-read"
    assert stamp(path) == before


def xlsx_renamed(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")


def encrypted(path: Path) -> None:
    manifest = (f'<manifest:manifest xmlns:manifest="{NS["manifest"]}"><manifest:file-entry '
                'manifest:full-path="content.xml" manifest:media-type="text/xml">'
                '<manifest:encryption-data manifest:checksum-type="SHA1/1K" manifest:checksum="x"/>'
                "</manifest:file-entry></manifest:manifest>")  # fmt: skip
    write_ods(path, "", content=os.urandom(300), extra={"META-INF/manifest.xml": manifest.encode()})


BAD_FILES = {
    "empty": (lambda p: p.write_bytes(b""), "fichier vide"),
    "text": (lambda p: p.write_text("N° action;Action\n", encoding="utf-8"), "pas un classeur LibreOffice"),
    "truncated": (lambda p: p.write_bytes(write_ods(p, table("S", row(text_cell("a")))).read_bytes()[:200]),
                  "archive tronquée"),
    "xlsx-renamed": (xlsx_renamed, "renommez-le en .xlsx"),
    "writer-document": (lambda p: write_ods(p, "", mimetype=b"application/vnd.oasis.opendocument.text"),
                        "document texte"),
    "encrypted": (encrypted, "mot de passe"),
    "xls": (lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)), "97-2003"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_file_that_is_no_spreadsheet_is_told_apart_in_french(tmp_path: Path, case: str) -> None:
    make, words = BAD_FILES[case]
    path = tmp_path / "suivi.ods"
    make(path)
    with pytest.raises(SourceError) as caught:
        read_ods(path)
    assert words in caught.value.reason, caught.value.reason
    assert_french(caught.value.reason)


# ---------------------------------------------------------------- writing


def test_sync_splits_repeated_runs_into_the_fewest_elements(tmp_path: Path) -> None:
    """Rows stored once and repeated (other tools than LibreOffice do it for identical rows)
    get only the elements their values need: identical rows receiving identical computed
    cells stay one repeated row; a duplicated action, whose second row gets an error, is
    split in two; the empty rows between stay one element; the trailing run of empty cells
    of each row gives up only the cells written."""
    path = plan_ods(
        tmp_path / "suivi.ods",
        action("A1", dt.date(2026, 12, 4), "En cours"),
        action("A2", dt.date(2026, 12, 30), "En cours", repeated=2),
        row("<table:table-cell/>", attrs='table:number-rows-repeated="3"'),
        action(None, dt.date(2026, 11, 30), "À faire", repeated=3),
    )
    before = content_of(path)
    assert sync_status(path) == "written"
    after = content_of(path)
    assert_only_owned_cells_changed(
        before, after, {"Plan d'actions": {5, 6, 7}}, {"Plan d'actions": {5, 6, 7}}
    )
    (plan,) = tables_of(etree.fromstring(after))
    counts = [count for count, _ in row_runs(plan)]
    assert counts == [1, 1, 1, 1, 3, 3, 1048500]  # header, A1, A2, A2 (split), empty, unnumbered
    (sheet,) = read_ods(path).sheets
    assert [r[5:8] for r in sheet.rows[1:5]] == [
        [8.0, "Échéance proche"], [34.0, "Dans les temps"],
        [34.0, "Dans les temps", "N° action : « A2 » est déjà utilisé ligne 3 (valeur unique attendue)"],
        [],
    ]  # fmt: skip
    for r in sheet.rows[7:10]:
        assert r[0] == "" and r[5:8] == [4.0, "Échéance proche",
                                         "N° action : valeur obligatoire manquante"]  # fmt: skip
    unnumbered = row_runs(plan)[5][1]
    assert [count for count, _ in cell_runs(unnumbered)] == [1, 1, 1, 1, 1, 1, 1, 1, 16376]


def test_only_owned_cells_change_and_the_package_stays_valid(tmp_path: Path) -> None:
    """mimetype first and stored, every other entry raw (same bytes, CRC, dates), the
    manifest unchanged; in content.xml only the owned cells and new columns changed."""
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(64)
    path = plan_ods(tmp_path / "suivi.ods", action("A1", dt.date(2026, 12, 4), "En cours"),
                    columns='<table:table-column table:number-columns-repeated="16384"/>')  # fmt: skip
    write_ods(path, "", content=content_of(path), extra={"Thumbnails/thumbnail.png": png,
                                                           "settings.xml": b"<settings/>"})  # fmt: skip
    with zipfile.ZipFile(path) as zf:
        old = {i.filename: (i.CRC, i.compress_size, i.compress_type, i.date_time, zf.read(i))
               for i in zf.infolist()}  # fmt: skip
    assert sync_status(path) == "written"
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        first = zf.infolist()[0]
        assert (first.filename, first.compress_type, first.extra) == (
            "mimetype",
            zipfile.ZIP_STORED,
            b"",
        )
        assert zf.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
        assert [i.filename for i in zf.infolist()] == list(old)
        for info in zf.infolist():
            if info.filename != "content.xml":
                assert (info.CRC, info.compress_size, info.compress_type, info.date_time,
                        zf.read(info)) == old[info.filename], info.filename  # fmt: skip
    assert_only_owned_cells_changed(old["content.xml"][4], content_of(path),
                                    {"Plan d'actions": {5, 6, 7}}, {"Plan d'actions": {5, 6, 7}})  # fmt: skip


def test_values_are_typed_and_never_formulas(tmp_path: Path) -> None:
    """Texts that look like formulas stay texts, spaces, tabs and line breaks come back as
    written, dates get the dd/mm/yyyy style, numbers are floats; a formula or an annotation
    already in an owned cell: the formula goes, the comment stays."""
    owned = ('<table:table-cell table:formula="of:=1+1" office:value-type="float" office:value="2">'
             "<office:annotation><dc:creator>moi</dc:creator><text:p>Ma note</text:p></office:annotation>"
             "<text:p>2</text:p></table:table-cell>")  # fmt: skip
    body = table("S", row(text_cell("en-tête"), owned, text_cell("x")), LAST_ROWS)
    path = write_ods(tmp_path / "suivi.ods", body)
    book = read_ods(path)
    (sheet,) = book.sheets
    texts = ["=1+1", "of:=SUM(1)", " deux  espaces ", "tab\tulation", "deux\nlignes", "", "=",
             "bip\x07bip"]  # fmt: skip
    patch = SheetPatch(sheet.title, sheet.part or "", 1, headers={9: "Contrôle"})
    patch.cells = {(1, 1): dt.date(2026, 11, 9), (1, 3): 12, (1, 4): 0.25, (1, 5): True}
    patch.cells.update({(i, 8): text for i, text in enumerate(texts, start=2)})
    assert book.write([patch]) == []
    xml = content_of(path)
    assert b"table:formula" not in xml
    (new,) = read_ods(path).sheets
    assert new.rows[0][:6] == ["en-tête", dt.date(2026, 11, 9), "x", 12.0, 0.25, True]
    assert [r[8] if len(r) > 8 else "" for r in new.rows[1:]] == [*texts[:-1], "bipbip"]
    grid = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("S").to_python()
    assert [r[8] for r in grid[1:9]] == [*texts[:-1], "bipbip"]
    cell = row_runs(tables_of(etree.fromstring(xml))[0])[0][1][1]
    assert (
        cell.get(OFFICE + "value-type") == "date"
        and cell.get(OFFICE + "date-value") == "2026-11-09"
    )
    assert cell.find(OFFICE + "annotation") is not None
    styles = etree.fromstring(xml).find(OFFICE + "automatic-styles")
    date_style = next(s for s in styles if s.get(STYLE + "name") == cell.get(T + "style-name"))
    data_style = next(s for s in styles if s.get(STYLE + "name")
                      == date_style.get(STYLE + "data-style-name"))  # fmt: skip
    assert [etree.QName(e).localname for e in data_style] == [
        "day",
        "text",
        "month",
        "text",
        "year",
    ]


def test_styles_are_added_once(tmp_path: Path) -> None:
    path = plan_ods(tmp_path / "suivi.ods", action("A1", dt.date(2026, 12, 4), "En cours"),
                    action("A2", dt.date(2027, 3, 1), "En cours"))  # fmt: skip
    assert sync_status(path) == "written"
    names = [
        s.get(STYLE + "name")
        for s in etree.fromstring(content_of(path)).find(OFFICE + "automatic-styles")
    ]
    assert sync_status(path, TODAY + dt.timedelta(days=20)) == "written"
    again = [
        s.get(STYLE + "name")
        for s in etree.fromstring(content_of(path)).find(OFFICE + "automatic-styles")
    ]
    assert again == names and len(set(names)) == len(names)
    assert "qep-entete" in names


def test_rows_and_cells_past_the_last_element_are_added(tmp_path: Path) -> None:
    """Files written by other tools stop at their last value: the owned cells beyond are
    added after an empty run, and read back where they belong."""
    body = table("Plan d'actions", row(*(text_cell(t) for t in HEADER)),
                 row(text_cell("A1"), text_cell("x"), date_cell(dt.date(2026, 12, 4)), text_cell("En cours")))  # fmt: skip
    path = write_ods(tmp_path / "court.ods", body)
    assert sync_status(path) == "written"
    (sheet,) = read_ods(path).sheets
    assert sheet.rows[0][5:8] == ["Jours restants", "Statut", "Contrôle"]
    assert sheet.rows[1] == [
        "A1",
        "x",
        dt.date(2026, 12, 4),
        "En cours",
        "",
        8.0,
        "Échéance proche",
    ]


def test_a_second_sync_writes_nothing(tmp_path: Path) -> None:
    path = plan_ods(tmp_path / "suivi.ods", action("A1", dt.date(2026, 12, 4), "En cours"))
    assert sync_status(path) == "written"
    before = stamp(path)
    assert sync_status(path) == "unchanged"
    assert stamp(path) == before


def test_a_file_open_in_libreoffice_is_left_for_the_next_run(tmp_path: Path) -> None:
    path = plan_ods(tmp_path / "suivi.ods", action("A1", dt.date(2026, 12, 4), "En cours"))
    (tmp_path / ".~lock.suivi.ods#").write_text(
        ",Claire,poste-12,01.12.2026 09:12,", encoding="utf-8"
    )
    before = stamp(path)
    run = run_sync(config_for_files([path]), TODAY)
    assert run.writes[0].status == "skipped"
    assert ".~lock.suivi.ods#" in run.writes[0].message
    assert stamp(path) == before


def test_a_file_changed_since_it_was_read_is_not_written(tmp_path: Path) -> None:
    path = plan_ods(tmp_path / "suivi.ods", action("A1", dt.date(2026, 12, 4), "En cours"))
    book = read_ods(path)
    plan_ods(
        path,
        action("A1", dt.date(2026, 12, 4), "En cours"),
        action("A9", dt.date(2027, 1, 1), "Fait"),
    )
    os.utime(path, ns=(book.mtime_ns, book.mtime_ns + 10**9))
    before = stamp(path)
    (sheet,) = book.sheets
    patch = SheetPatch(sheet.title, sheet.part or "", 1, headers={5: "Statut"})
    with pytest.raises(SkippedWrite) as caught:
        book.write([patch])
    assert "modifié depuis sa lecture" in str(caught.value)
    assert stamp(path) == before


def two_sheets(path: Path) -> Path:
    plan = table(
        "Plan d'actions",
        header_row(*HEADER),
        action("A1", dt.date(2026, 12, 4), "En cours"),
        LAST_ROWS,
    )
    other = table(
        "Autre", header_row(*HEADER), action("B1", dt.date(2026, 12, 4), "En cours"), LAST_ROWS
    )
    return write_ods(path, plan + other)


def test_a_sheet_whose_key_column_moved_is_skipped_and_the_others_written(tmp_path: Path) -> None:
    path = two_sheets(tmp_path / "suivi.ods")
    book = read_ods(path)
    plan, other = book.sheets
    moved = SheetPatch(plan.title, plan.part or "", 1, headers={5: "Statut"},
                       anchors={0: ["N° action", "A0"]})  # fmt: skip
    kept = SheetPatch(other.title, other.part or "", 1, headers={5: "Statut"},
                      anchors={0: ["N° action", "B1"]})  # fmt: skip
    (warning,) = book.write([moved, kept])
    assert "onglet « Plan d'actions » : des lignes ont été insérées" in warning
    new_plan, new_other = read_ods(path).sheets
    assert new_plan.rows[0][5:] == [] and new_other.rows[0][5] == "Statut"
    with pytest.raises(SkippedWrite):
        read_ods(path).write([moved])


def test_a_part_damaged_in_the_zip_is_not_copied_and_nothing_is_written(tmp_path: Path) -> None:
    path = plan_ods(tmp_path / "suivi.ods", action("A1", dt.date(2026, 12, 4), "En cours"))
    write_ods(path, "", content=content_of(path), extra={"Pictures/logo.png": os.urandom(4000)})
    book = read_ods(path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("Pictures/logo.png")
    offset = info.header_offset + 30 + len(info.filename) + 100
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(book.mtime_ns, book.mtime_ns))
    before = stamp(path)
    (sheet,) = book.sheets
    with pytest.raises(WriteBackError) as caught:
        book.write([SheetPatch(sheet.title, sheet.part or "", 1, headers={5: "Statut"})])
    assert "Pictures/logo.png abîmée" in str(caught.value)
    assert_french(str(caught.value).split(" : ", 1)[1])
    assert stamp(path) == before


def test_a_patch_that_would_not_read_back_as_planned_is_never_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The safety net: should the writer ever put a value beside its cell, the read-back
    comparison refuses the file before it replaces the workbook."""
    path = plan_ods(tmp_path / "suivi.ods", action("A1", dt.date(2026, 12, 4), "En cours"))
    original = odsxml.patch_table

    def misplaced(table_el: Any, patch: SheetPatch, styles: odsxml.Styles) -> None:
        patch.cells = {(r + 1, c): v for (r, c), v in patch.cells.items()}
        original(table_el, patch, styles)
        patch.cells = {(r - 1, c): v for (r, c), v in patch.cells.items()}

    monkeypatch.setattr(odsxml, "patch_table", misplaced)
    before = stamp(path)
    run = run_sync(config_for_files([path]), TODAY)
    assert run.writes[0].status == "failed"
    assert "ne se relit pas comme prévu" in run.writes[0].message
    assert stamp(path) == before
