"""LibreOffice .ods workbooks for the tests: made by LibreOffice itself, or written by hand.

``soffice_convert(sources, fmt, outdir)`` runs LibreOffice headless once for several files
(a fresh profile each time, so that parallel runs never share one); ``to_ods(source,
cache)`` converts an .xlsx or a flat .fods once and keeps the result under ``cache``,
keyed by the source's bytes (LibreOffice takes seconds per start; the sources are
deterministic, so a session, or the next one, converts each only once).

``build_fidelity_workbook(folder, cache)`` writes, with xlsxwriter, then converts with
LibreOffice, a tracker workbook carrying what a bureau's .ods holds (docs/contract.md §7):

- « Plan d'actions »: a title merged over the header, the header on row 3, an extra user
  column (« Notes internes ») in the middle, an owned column already there (« Jours
  restants », stale values, one a formula, one with a comment), percentages, a cell
  spanning two columns, three empty rows in the middle (one repeated row), two adjacent
  cells holding the same value (one repeated cell: an owned one and a user's), two identical
  rows (a duplicated action) and three identical rows without a number (LibreOffice 7.4
  repeats only empty rows: the unit tests repeat rows with values), two hidden rows, a
  text date, a
  date that does not exist, texts that look like formulas, a user note right of the table,
  a totals row, frozen header rows, column widths, a dropdown (named range), conditional
  formatting, a comment on the header, an image;
- « Délais » (a second tracker, header on row 1); « Synthèse »: formulas with their cached
  values (one counting the owned « Statut » column) and a chart fed by the plan's data;
  « Listes »: hidden, the dropdown's values.

``write_ods(path, tables)`` writes a minimal .ods by hand (no LibreOffice): the unit tests
of the reader and the writer control every repeat and span that way.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import io
import os
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from fidelity_workbooks import tiny_png
from lxml import etree

SOFFICE = shutil.which("soffice")
needs_soffice = pytest.mark.skipif(
    SOFFICE is None and not os.environ.get("CI"),
    reason="LibreOffice absent (installed by .ci/run: in CI these tests always run)",
)
# Every sheet (-1), UTF-8 (76), each cell as shown (its number format applied: the 9th token).
EVERY_SHEET_CSV = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"

PLAN_SHEET = "Plan d'actions"
DELAIS_SHEET = "Délais"
PLAN_HEADER = ["N° action", "Action", "Notes internes", "Échéance", "Avancement", "État",
               "Date de réalisation", "Jours restants", "Commentaire"]  # fmt: skip
PLAN_HEADER_ROW = 3
JOURS, STATUT, NOTE_COL, CONTROLE = 7, 9, 10, 11  # H (already there), J, K (user note), L
PLAN_OWNED = {JOURS, STATUT, CONTROLE}
DELAIS_HEADER = ["N°", "Canal", "Date de réception", "Date de réponse", "Objet"]
DELAIS_OWNED = {5, 6, 7, 8, 9}  # F to J
NOTE_TEXT = "Note du service : voir avec le SG"
FORMULA_TEXT = "=1+1"
OF_FORMULA_TEXT = "of:=SUM(1)"
STALE = 999
NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
    "number": "urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
    "calcext": "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
    "manifest": "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0",
}


# ---------------------------------------------------------------- LibreOffice


def soffice_convert(sources: list[Path], fmt: str, outdir: Path) -> None:
    """Convert files with LibreOffice headless, in a profile of its own, removed after."""
    assert SOFFICE is not None, "LibreOffice (soffice) is needed here"
    profile = Path(tempfile.mkdtemp(prefix="qep-soffice-"))
    try:
        subprocess.run(
            [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless",
             "--convert-to", fmt, "--outdir", str(outdir), *map(str, sources)],
            check=True, timeout=300, capture_output=True,
        )  # fmt: skip
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def cache_dir(config: pytest.Config) -> Path:
    """Where LibreOffice's conversions of the test sources are kept between runs."""
    return Path(config.cache.mkdir("qep-sync-libreoffice"))


def to_ods(source: Path, cache: Path, key: str | None = None) -> Path:
    """``source`` (.xlsx, .fods) converted by LibreOffice to an .ods beside it, once per
    content: the conversion is kept in ``cache`` under the hash of the source's bytes (or of
    ``key``, for a source whose bytes carry the time it was written)."""
    digest = hashlib.sha256(key.encode() if key else source.read_bytes()).hexdigest()[:20]
    kept = cache / f"{digest}.ods"
    if not kept.exists():
        work = Path(tempfile.mkdtemp(dir=cache))
        copy = work / f"{digest}{source.suffix}"
        shutil.copyfile(source, copy)
        soffice_convert([copy], "ods", work)
        (work / f"{digest}.ods").replace(kept)
        shutil.rmtree(work, ignore_errors=True)
    target = source.with_suffix(".ods")
    shutil.copyfile(kept, target)
    return target


def ods_from_rows(path: Path, sheets: dict[str, list[list[Any]]], cache: Path) -> Path:
    """An .ods made by LibreOffice from ``conftest.make_workbook``'s sheets (title -> rows)."""
    from conftest import make_workbook

    xlsx = make_workbook(path.with_suffix(".xlsx"), sheets)
    ods = to_ods(xlsx, cache, key=repr(sorted(sheets.items())))
    xlsx.unlink()
    if ods != path:
        ods.replace(path)
    return path


def edit_with_libreoffice(path: Path, sheet: str, cells: dict[str, Any]) -> None:
    """A person edits cells (A1 -> value, None empties one) and LibreOffice saves the .ods:
    LibreOffice exports it to .xlsx, openpyxl edits that, LibreOffice converts it back."""
    import openpyxl

    work = Path(tempfile.mkdtemp(dir=path.parent))
    try:
        soffice_convert([path], "xlsx", work)
        xlsx = work / path.with_suffix(".xlsx").name
        book = openpyxl.load_workbook(xlsx)
        for ref, value in cells.items():
            book[sheet][ref] = value
        book.save(xlsx)
        soffice_convert([xlsx], "ods", work)
        (work / path.name).replace(path)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def csv_sheets(path: Path, outdir: Path) -> dict[str, list[list[str]]]:
    """Every sheet of a workbook as LibreOffice shows it (its CSV export), by title."""
    import csv

    outdir.mkdir(parents=True, exist_ok=True)
    soffice_convert([path], EVERY_SHEET_CSV, outdir)
    sheets = {}
    for csv_path in outdir.glob(f"{path.stem}-*.csv"):
        with csv_path.open(encoding="utf-8", newline="") as fh:
            sheets[csv_path.stem.removeprefix(f"{path.stem}-")] = list(csv.reader(fh))
    return sheets


# ---------------------------------------------------------------- the fidelity workbook


@dataclass
class Built:
    """The feature-rich workbook: its .xlsx source, its .ods (made by LibreOffice) and the
    rows the tests name."""

    xlsx: Path
    ods: Path
    today: dt.date
    duplicate_rows: tuple[int, int] = (12, 13)  # the same action twice
    unnumbered_rows: tuple[int, int, int] = (14, 15, 16)  # identical rows, no N° action
    repeated_cell_row: int = 5  # H5:I5 hold the same value: one repeated cell
    empty_rows: tuple[int, int, int] = (8, 9, 10)
    hidden_rows: tuple[int, int] = (17, 18)
    spanned_row: int = 7  # Action spans B:C
    formula_row: int = 19  # Jours restants holds a formula; the user note is in K
    commented_row: int = 4  # Jours restants holds a stale value with a comment
    text_date_row: int = 21
    bad_date_row: int = 20
    formula_text_row: int = 11
    total_row: int = 22
    last_row: int = 22


def build_fidelity_workbook(folder: Path, cache: Path, today: dt.date) -> Built:
    """The feature-rich tracker workbook (see the module docstring), as .xlsx and .ods."""
    folder.mkdir(parents=True, exist_ok=True)
    xlsx = folder / "Suivi qualité élections.xlsx"
    _write_fidelity_xlsx(xlsx, today)
    ods = to_ods(xlsx, cache)
    freeze_rows(ods, PLAN_SHEET, PLAN_HEADER_ROW)
    return Built(xlsx, ods, today)


def freeze_rows(path: Path, sheet: str, rows: int) -> None:
    """Freeze a sheet's first rows as LibreOffice records it when saved from its window (its
    view settings, in settings.xml: a headless conversion writes none)."""
    view = (
        '<config:config-item-map-indexed config:name="Views"><config:config-item-map-entry>'
        '<config:config-item config:name="ViewId" config:type="string">view1</config:config-item>'
        '<config:config-item-map-named config:name="Tables">'
        f'<config:config-item-map-entry config:name="{sheet}">'
        + "".join(
            f'<config:config-item config:name="{name}" config:type="{kind}">{value}</config:config-item>'
            for name, kind, value in (
                ("HorizontalSplitMode", "short", 0), ("VerticalSplitMode", "short", 2),
                ("HorizontalSplitPosition", "int", 0), ("VerticalSplitPosition", "int", rows),
                ("ActiveSplitRange", "short", 2), ("PositionLeft", "int", 0),
                ("PositionRight", "int", 0), ("PositionTop", "int", 0),
                ("PositionBottom", "int", rows),
            )
        )
        + "</config:config-item-map-entry></config:config-item-map-named>"
        f'<config:config-item config:name="ActiveTable" config:type="string">{sheet}</config:config-item>'
        "</config:config-item-map-entry></config:config-item-map-indexed>"
    )  # fmt: skip
    with zipfile.ZipFile(path) as zf:
        parts = [(info, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in parts:
            if info.filename == "settings.xml":
                marker = b'<config:config-item-set config:name="ooo:view-settings">'
                assert marker in data
                data = data.replace(marker, marker + view.encode(), 1)
            zf.writestr(info, data)


def _plan_rows(today: dt.date) -> dict[int, list[Any]]:
    """Sheet row -> the user's cells A..I of « Plan d'actions » (H: stale owned values)."""

    def day(n: int) -> dt.date:
        return today + dt.timedelta(days=n)

    return {
        4: ["PA-01", "Afficher les horaires", "voir SG", day(-10), 0.5, "En cours", None, STALE],
        5: ["PA-02", "Former l'accueil", None, day(15), 0.0, "À faire", None, STALE, STALE],
        6: ["PA-03", "Charte Marianne", None, day(60), 1.0, "Fait", day(-5), STALE, "COPIL"],
        7: ["PA-04", "Signalétique du hall", None, day(40), 0.25, "En cours", None, STALE],
        11: ["PA-05", OF_FORMULA_TEXT, None, today, 0.75, FORMULA_TEXT, None, STALE],
        12: ["PA-06", "Enquête de satisfaction", None, day(100), 0.1, "En cours"],
        13: ["PA-06", "Enquête de satisfaction", None, day(100), 0.1, "En cours"],
        14: [None, "Action sans numéro", None, day(5), 0.1, "En cours"],
        15: [None, "Action sans numéro", None, day(5), 0.1, "En cours"],
        16: [None, "Action sans numéro", None, day(5), 0.1, "En cours"],
        17: ["PA-07", "Relancer le pilote", None, day(-1), 0.0, "À faire", None, STALE],
        18: ["PA-08", "Ancien projet", None, day(200), 0.0, "Abandonné", None, STALE],
        19: ["PA-09", "Borne d'accueil", None, day(3), 0.5, "En cours"],
        20: ["PA-10", "Plan de formation", None, "31/02/2026", 0.5, "En cours", None, STALE],
        21: ["PA-11", "Guide de l'agent", None, "15/12/2026", 0.3, "En cours", None, STALE],
    }


def _delais_rows() -> dict[int, list[Any]]:
    d = dt.date
    return {
        2: ["C1", "Courriel", d(2026, 11, 2), d(2026, 11, 5), "Horaires"],
        3: ["C2", "Courrier", d(2026, 11, 2), None, "Titre de séjour"],
        4: ["C3", "Courriel", d(2026, 11, 20), d(2026, 11, 10), "Erreur de saisie"],
        5: ["C4", "Réclamation", d(2026, 11, 25), None, "Accueil"],
        6: ["C5", "Suggestion", "12/11/2026", d(2026, 11, 13), "Boîte à idées"],
        7: ["C6", "Courriel", d(2026, 10, 1), d(2026, 10, 2), "Rendez-vous"],
    }


def _write_fidelity_xlsx(path: Path, today: dt.date) -> None:
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False,
                                           "strings_to_formulas": False})  # fmt: skip
    book.set_properties({"title": "Suivi qualité", "created": dt.datetime(2026, 1, 5, 9, 0)})
    title_fmt = book.add_format({"bold": True, "font_size": 14, "align": "center",
                                 "bg_color": "#1F4E78", "font_color": "#FFFFFF"})  # fmt: skip
    header_fmt = book.add_format({"bold": True, "text_wrap": True, "bg_color": "#DDEBF7",
                                  "border": 1})  # fmt: skip
    date_fmt = book.add_format({"num_format": "dd/mm/yyyy"})
    pct_fmt = book.add_format({"num_format": "0%"})
    red = book.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
    italic = book.add_format({"italic": True})
    plan = book.add_worksheet(PLAN_SHEET)
    delais = book.add_worksheet(DELAIS_SHEET)
    synthese = book.add_worksheet("Synthèse")
    listes = book.add_worksheet("Listes")
    listes.hide()
    for r, value in enumerate(["À faire", "En cours", "Fait", "Abandonné"]):
        listes.write_string(r, 0, value)
    book.define_name("Etats", "=Listes!$A$1:$A$4")
    book.define_name("Echeances", "='Plan d''actions'!$D$4:$D$21")

    plan.merge_range(0, 0, 0, len(PLAN_HEADER) - 1, "Plan d'actions 2026 — Bureau des élections",
                     title_fmt)  # fmt: skip
    for c, title in enumerate(PLAN_HEADER):
        plan.write_string(PLAN_HEADER_ROW - 1, c, title, header_fmt)
    for row, cells in _plan_rows(today).items():
        for c, value in enumerate(cells):
            _write(plan, row - 1, c, value, date_fmt, pct_fmt if c == 4 else None)
    plan.merge_range(6, 1, 6, 2, "Signalétique du hall", None)  # row 7: B7:C7
    plan.write_formula(18, JOURS, "=D19-TODAY()", None, STALE)
    plan.write_string(18, NOTE_COL, NOTE_TEXT, italic)
    plan.write_string(21, 0, "Total")
    plan.write_formula(21, 1, "=COUNTA(A4:A21)", None, 13)
    for r in (16, 17):
        plan.set_row(r, None, None, {"hidden": True})
    plan.write_comment(3, JOURS, "Saisi à la main en septembre", {"author": "Bureau"})
    plan.write_comment(PLAN_HEADER_ROW - 1, 3, "Échéance fixée en COPIL", {"author": "Qualité"})
    plan.freeze_panes(PLAN_HEADER_ROW, 1)
    plan.set_column(0, 0, 11)
    plan.set_column(1, 1, 32)
    plan.set_column(2, 2, 20)
    plan.set_column(3, 8, 13)
    plan.data_validation(3, 5, 20, 5, {"validate": "list", "source": "=Etats",
                                      "error_type": "warning"})  # fmt: skip
    plan.conditional_format("D4:D21", {"type": "cell", "criteria": "<", "value": "TODAY()",
                                       "format": red})  # fmt: skip
    plan.insert_image(23, 1, "logo.png", {"image_data": io.BytesIO(tiny_png()), "x_scale": 6,
                                          "y_scale": 6})  # fmt: skip

    for c, title in enumerate(DELAIS_HEADER):
        delais.write_string(0, c, title, header_fmt)
    for row, cells in _delais_rows().items():
        for c, value in enumerate(cells):
            _write(delais, row - 1, c, value, date_fmt, None)
    delais.set_column(0, 4, 16)

    synthese.write_string(0, 0, "Synthèse", title_fmt)
    for r, etat in enumerate(["À faire", "En cours", "Fait", "Abandonné"], start=2):
        count = sum(1 for cells in _plan_rows(today).values() if cells[5] == etat)
        synthese.write_string(r, 0, etat)
        synthese.write_formula(r, 1, f"=COUNTIF('Plan d''actions'!$F$4:$F$21,\"{etat}\")",
                               None, count)  # fmt: skip
    synthese.write_string(7, 0, "Actions en retard (statut calculé)")
    synthese.write_formula(7, 1, "=COUNTIF('Plan d''actions'!$J$4:$J$21,\"En retard\")", None, 0)
    chart = book.add_chart({"type": "column"})
    chart.add_series({"name": "Avancement", "categories": "='Plan d''actions'!$A$4:$A$7",
                      "values": "='Plan d''actions'!$E$4:$E$7"})  # fmt: skip
    synthese.insert_chart("D2", chart)
    book.close()


def _write(sheet: Any, r: int, c: int, value: Any, date_fmt: Any, num_fmt: Any) -> None:
    if value is None:
        return
    if isinstance(value, dt.date):
        sheet.write_datetime(r, c, value, date_fmt)
    elif isinstance(value, int | float):
        sheet.write_number(r, c, value, num_fmt)
    else:
        sheet.write_string(r, c, value)


# ---------------------------------------------------------------- .ods by hand

CONTENT_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content '
    + " ".join(f'xmlns:{p}="{u}"' for p, u in NS.items() if p != "manifest")
    + ' office:version="1.3">'
)
MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<manifest:manifest xmlns:manifest="{NS["manifest"]}" manifest:version="1.3">'
    '<manifest:file-entry manifest:full-path="/" manifest:version="1.3" '
    'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    '<manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)
STYLES = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<office:document-styles xmlns:office="{NS["office"]}" xmlns:style="{NS["style"]}" '
    'office:version="1.3"><office:styles><style:style style:name="Default" '
    'style:family="table-cell"/></office:styles></office:document-styles>'
)


def content_xml(tables: str, automatic_styles: str = "") -> bytes:
    """A content.xml holding ``tables`` (the XML of the table:table elements)."""
    return (
        CONTENT_HEAD
        + f"<office:automatic-styles>{automatic_styles}</office:automatic-styles>"
        + f"<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body>"
        + "</office:document-content>"
    ).encode()


def write_ods(
    path: Path,
    tables: str,
    *,
    automatic_styles: str = "",
    content: bytes | None = None,
    extra: dict[str, bytes] | None = None,
    mimetype: bytes = b"application/vnd.oasis.opendocument.spreadsheet",
) -> Path:
    """A minimal .ods: mimetype first and stored, a manifest, styles, and the content."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype", (2026, 1, 5, 9, 0, 0)), mimetype,
                    compress_type=zipfile.ZIP_STORED)  # fmt: skip
        entries = {
            "content.xml": content
            if content is not None
            else content_xml(tables, automatic_styles),
            "styles.xml": STYLES.encode(),
            "META-INF/manifest.xml": MANIFEST.encode(),
            **(extra or {}),
        }
        for name, data in entries.items():
            zf.writestr(zipfile.ZipInfo(name, (2026, 1, 5, 9, 0, 0)), data,
                        compress_type=zipfile.ZIP_DEFLATED)  # fmt: skip
    return path


def text_cell(text: str, attrs: str = "") -> str:
    return f'<table:table-cell office:value-type="string" {attrs}><text:p>{text}</text:p></table:table-cell>'


def date_cell(day: dt.date, attrs: str = "") -> str:
    return (f'<table:table-cell office:value-type="date" office:date-value="{day.isoformat()}" '
            f"{attrs}><text:p>{day:%d/%m/%Y}</text:p></table:table-cell>")  # fmt: skip


def float_cell(value: float, attrs: str = "", kind: str = "float") -> str:
    return (f'<table:table-cell office:value-type="{kind}" office:value="{value!r}" {attrs}>'
            f"<text:p>{value}</text:p></table:table-cell>")  # fmt: skip


def row(*cells: str, attrs: str = "") -> str:
    return f"<table:table-row {attrs}>{''.join(cells)}</table:table-row>"


def table(name: str, *rows: str, columns: str = "") -> str:
    return f'<table:table table:name="{name}">{columns}{"".join(rows)}</table:table>'


# ---------------------------------------------------------------- content.xml, cell by cell

T = f"{{{NS['table']}}}"
ROW_GROUPS = {T + "table-row-group", T + "table-header-rows", T + "table-rows"}
COLUMN_GROUPS = {T + "table-column-group", T + "table-header-columns", T + "table-columns"}
REPEATS = (T + "number-rows-repeated", T + "number-columns-repeated")


def runs(parent: etree._Element, tags: set[str], groups: set[str]) -> list[tuple[int, Any]]:
    """(count, element) of the rows, cells or columns under ``parent``, through groups."""
    found: list[tuple[int, Any]] = []
    for child in parent:
        if child.tag in tags:
            attr = REPEATS[0] if child.tag == T + "table-row" else REPEATS[1]
            found.append((int(child.get(attr, "1")), child))
        elif child.tag in groups:
            found.extend(runs(child, tags, groups))
    return found


def row_runs(table_el: etree._Element) -> list[tuple[int, Any]]:
    return runs(table_el, {T + "table-row"}, ROW_GROUPS)


def cell_runs(row_el: etree._Element) -> list[tuple[int, Any]]:
    return runs(row_el, {T + "table-cell", T + "covered-table-cell"}, set())


def column_runs(table_el: etree._Element) -> list[tuple[int, Any]]:
    return runs(table_el, {T + "table-column"}, COLUMN_GROUPS)


def segments(
    a: list[tuple[int, Any]], b: list[tuple[int, Any]]
) -> tuple[list[tuple[int, int, Any, Any]], list[tuple[int, int, Any]]]:
    """Walk two run lists over the same positions: (start, length, element of a, of b),
    then what ``b`` has past the end of ``a`` (start, length, element of b)."""
    out, i, j, pos = [], 0, 0, 0
    left_a = a[0][0] if a else 0
    left_b = b[0][0] if b else 0
    while i < len(a) and j < len(b):
        length = min(left_a, left_b)
        out.append((pos, length, a[i][1], b[j][1]))
        pos += length
        left_a -= length
        left_b -= length
        if not left_a:
            i += 1
            left_a = a[i][0] if i < len(a) else 0
        if not left_b:
            j += 1
            left_b = b[j][0] if j < len(b) else 0
    assert i == len(a), "rows, cells or columns removed"
    rest = []
    for k in range(j, len(b)):
        count = left_b if k == j else b[k][0]
        rest.append((pos, count, b[k][1]))
        pos += count
    return out, rest


def _added_only_for(rest: list[tuple[int, int, Any]], allowed: set[int], what: str) -> None:
    """Elements past the old end: empty runs, or elements holding only ``allowed`` positions."""
    for start, count, el in rest:
        if set(range(start, start + count)) <= allowed:
            continue
        plain = [c for c in [el, *el] if len(c) or set(c.attrib) - set(REPEATS)]
        assert plain in ([], [el]) and not set(el.attrib) - set(REPEATS), (
            f"{what} {start}: added with content"
        )


def canonical(el: etree._Element) -> bytes:
    """An element as compared: its XML without its repeat count."""
    el = copy.deepcopy(el)
    for attr in REPEATS:
        el.attrib.pop(attr, None)
    el.tail = None
    return etree.tostring(el, method="c14n")


def _skeleton(table_el: etree._Element) -> bytes:
    """A table without its rows and columns: forms, shapes, groups, conditional formats."""
    el = copy.deepcopy(table_el)
    for tag in (T + "table-row", T + "table-column"):
        for found in list(el.iter(tag)):
            found.getparent().remove(found)
    return etree.tostring(el, method="c14n")


def tables_of(root: etree._Element) -> list[etree._Element]:
    return root.findall(f"{{{NS['office']}}}body/{{{NS['office']}}}spreadsheet/{T}table")


def assert_only_owned_cells_changed(
    before: bytes, after: bytes, owned: dict[str, set[int]], new_columns: dict[str, set[int]]
) -> None:
    """content.xml changed only in the owned cells (``owned``: columns by table title) and
    the widths of the new owned columns; qep-sync's styles are appended, nothing else moves."""
    old, new = etree.fromstring(before), etree.fromstring(after)
    assert old.tag == new.tag and dict(old.attrib) == dict(new.attrib)
    assert [el.tag for el in new] == [el.tag for el in old]
    for old_el, new_el in zip(old, new, strict=True):
        if etree.QName(old_el).localname == "automatic-styles":
            kept = list(new_el)[: len(old_el)]
            assert [canonical(e) for e in kept] == [canonical(e) for e in old_el]
            added = list(new_el)[len(old_el) :]
            assert all(e.get(f"{{{NS['style']}}}name", "").startswith("qep-") for e in added)
        elif etree.QName(old_el).localname != "body":
            assert canonical(new_el) == canonical(old_el), etree.QName(old_el).localname
    old_sheet = old.find(f"{{{NS['office']}}}body/{{{NS['office']}}}spreadsheet")
    new_sheet = new.find(f"{{{NS['office']}}}body/{{{NS['office']}}}spreadsheet")
    assert old_sheet is not None and new_sheet is not None
    others = [(canonical(e), e.tag) for e in old_sheet if e.tag != T + "table"]
    assert [(canonical(e), e.tag) for e in new_sheet if e.tag != T + "table"] == others
    for old_table, new_table in zip(tables_of(old), tables_of(new), strict=True):
        title = old_table.get(T + "name", "")
        assert _skeleton(new_table) == _skeleton(old_table), f"{title}: more than cells changed"
        cols, new_cols = owned.get(title, set()), new_columns.get(title, set())
        same, added = segments(column_runs(old_table), column_runs(new_table))
        for start, length, a, b in same:
            if not set(range(start, start + length)) <= new_cols:
                assert canonical(a) == canonical(b), f"{title}: column {start + 1} changed"
        _added_only_for(added, new_cols, f"{title}: column")
        same_rows, added_rows = segments(row_runs(old_table), row_runs(new_table))
        for start, length, a, b in same_rows:
            where = f"{title}, rows {start + 1}–{start + length}"
            assert {k: v for k, v in a.attrib.items() if k not in REPEATS} == {
                k: v for k, v in b.attrib.items() if k not in REPEATS}, where  # fmt: skip
            same_cells, added_cells = segments(cell_runs(a), cell_runs(b))
            for col, width, cell_a, cell_b in same_cells:
                if width > sum(1 for c in cols if col <= c < col + width):  # a user's cell
                    assert canonical(cell_a) == canonical(cell_b), f"{where}, column {col}"
            _added_only_for(added_cells, cols, f"{where}, column")
        for start, _, el in added_rows:
            _, cells = segments([], cell_runs(el))
            _added_only_for(cells, cols, f"{title}, row {start + 1}, column")


def content_of(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read("content.xml")
