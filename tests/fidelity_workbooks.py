"""Realistic tracker workbooks carrying every feature a user's .xlsx/.xlsm may hold, for the
write-back fidelity and safety tests (docs/contract.md §7).

``build_tracker_workbook(path)`` writes, with xlsxwriter:

- « Plan d'actions » (the tracker): a merged title row, a rich-text subtitle, the header on
  row 3, 50 data rows (real dates, percentages, borders and fills, a few anomalies), a user
  note two columns right of the last header, frozen panes, an autofilter, a dropdown on État
  (through a defined name), classic conditional formats, a 2010 data bar, a sparkline,
  comments (VML), an image, two text boxes (one a bare outlined shape), print settings;
- « Délais » (a second tracker) laid out as an Excel table with a totals row;
- « Synthèse »: COUNTIF formulas on the tracker (cached values included), an embedded chart,
  a sparkline, an image;
- « Graphique »: a chartsheet; « Listes »: a hidden sheet holding the allowed values.

The file is then made to look as Excel saves it: no ``fullCalcOnLoad`` in workbook.xml, and a
``calcChain.xml``. With ``macro=True`` it is an .xlsm whose vbaProject.bin (added by xlsxwriter's
``add_vba_project`` from memory) is arbitrary bytes behind an OLE signature: it need not run,
the tests check it is kept byte for byte.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import xlsxwriter
from lxml import etree

PLAN_SHEET = "Plan d'actions"
DELAIS_SHEET = "Délais"
PLAN_HEADER = ["N° action", "Engagement", "Origine", "Action", "Service pilote", "Responsable",
               "Email responsable", "Date de début", "Échéance", "Avancement", "État",
               "Date de réalisation", "Commentaire"]  # fmt: skip
DELAIS_HEADER = ["N°", "Canal", "Service", "Date de réception", "Objet", "Date de réponse",
                 "Agent en charge", "Email"]  # fmt: skip
PLAN_HEADER_ROW = 3  # 1-based, under a title row and a subtitle row
PLAN_FIRST_ROW = 4
PLAN_ROWS = 50
DELAIS_HEADER_ROW = 2
DELAIS_ROWS = 20
NOTE_TEXT = "Note du service : revoir les échéances avec le SG"
FORMULA_TEXT = "=1+1"  # typed as text in État: must come back as text, quoted, in Contrôle
ETATS = ["À faire", "En cours", "Fait", "Abandonné"]
ORIGINES = ["Autoévaluation", "Audit", "Réclamation", "Enquête mystère", "Enquête de satisfaction",
            "Groupe de travail", "Autre"]  # fmt: skip
VBA_BYTES = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + random.Random(7).randbytes(4096)
NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CALC_CHAIN_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain"
CALC_CHAIN_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"


@dataclass
class Built:
    """A built workbook and what the tests need to know about it."""

    path: Path
    today: dt.date
    # Plan d'actions: sheet row -> (Jours restants, Statut) expected on ``today``.
    plan_expected: dict[int, tuple[int | None, str | None]] = field(default_factory=dict)
    # Plan d'actions: sheet row -> a text the row's Contrôle must contain.
    plan_controle: dict[int, str] = field(default_factory=dict)
    # Délais: sheet row -> (Date limite, Délai, Dans le délai, Statut) expected on ``today``.
    delais_expected: dict[int, tuple[dt.date | None, int | None, str | None, str | None]] = field(
        default_factory=dict
    )
    note_cell: tuple[int, int] = (0, 0)  # (1-based row, 0-based column) of the user note
    table_ref: str = ""  # the Délais table's ref as built
    formula_cells: dict[str, str] = field(default_factory=dict)  # Synthèse cell -> formula


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    """A valid RGB PNG made with zlib and struct (no Pillow)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    pixels = b"".join(
        b"\x00" + b"".join(bytes((40 * x, 120, 200 - 40 * y)) for x in range(width))
        for y in range(height)
    )
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


# ---------------------------------------------------------------- the Plan d'actions rows


def _plan_rows(today: dt.date) -> tuple[list[list[object]], Built]:
    """50 action rows (header excluded), with the expected computed values of some rows."""
    built = Built(Path(), today)
    services = ["BRCIE", "Accueil", "SIDSIC", "Bureau des titres", "Pôle courrier"]
    people = [("Claire Martin", "claire.martin"), ("Hugo Bernard", "hugo.bernard"),
              ("Inès Petit", "ines.petit"), ("Paul Roux", "paul.roux")]  # fmt: skip
    actions = ["Afficher les horaires d'ouverture", "Former les agents d'accueil",
               "Mettre à jour la fiche de procédure courrier", "Réduire l'attente au guichet",
               "Publier les résultats de l'enquête de satisfaction",
               "Revoir la signalétique du hall"]  # fmt: skip
    rows: list[list[object]] = []
    for i in range(PLAN_ROWS):
        sheet_row = PLAN_FIRST_ROW + i
        name, login = people[i % len(people)]
        offset = (i * 37) % 160 - 60  # échéances from 60 days ago to 100 days ahead
        etat = ETATS[i % 4]
        due = today + dt.timedelta(days=offset)
        done = due - dt.timedelta(days=3) if etat == "Fait" else None
        if done is not None and done > today:
            done = today - dt.timedelta(days=1)
        rows.append([
            f"PA-2026-{i + 1:03d}", i % 23 + 1, ORIGINES[i % len(ORIGINES)],
            actions[i % len(actions)], services[i % len(services)], name,
            f"{login}@doubs.gouv.fr", today - dt.timedelta(days=90 - i), due,
            (i * 13 % 101) / 100, etat, done, "" if i % 3 else "Suivi en COPIL",
        ])  # fmt: skip
        if etat == "Fait":
            built.plan_expected[sheet_row] = (None, "Terminée")
        elif etat == "Abandonné":
            built.plan_expected[sheet_row] = (None, "Abandonnée")
        else:
            status = (
                "En retard"
                if offset < 0
                else "Échéance proche"
                if offset <= 15
                else "Dans les temps"
            )
            built.plan_expected[sheet_row] = (offset, status)

    def anomaly(i: int, col: int, value: object, controle: str) -> None:
        rows[i][col] = value
        sheet_row = PLAN_FIRST_ROW + i
        built.plan_controle[sheet_row] = controle
        built.plan_expected.pop(sheet_row, None)

    # A few anomalies, as real trackers have them (each explained in Contrôle).
    anomaly(5, 10, "En pause", "« En pause » n'est pas une valeur autorisée")
    anomaly(9, 8, "31/02/2026", "31/02/2026")
    anomaly(13, 6, "jean.dupont@", "adresse électronique invalide « jean.dupont@ »")
    anomaly(17, 10, FORMULA_TEXT, f"« {FORMULA_TEXT} »")
    anomaly(21, 0, "PA-2026-001", "déjà utilisé ligne 4")
    anomaly(25, 9, 1.5, "hors de l'intervalle")
    # Known cases, named for readability.
    rows[1][8], rows[1][10] = today - dt.timedelta(days=10), "En cours"
    built.plan_expected[PLAN_FIRST_ROW + 1] = (-10, "En retard")
    rows[2][8], rows[2][10] = today + dt.timedelta(days=15), "À faire"
    built.plan_expected[PLAN_FIRST_ROW + 2] = (15, "Échéance proche")
    rows[3][8], rows[3][10] = today, "En cours"
    built.plan_expected[PLAN_FIRST_ROW + 3] = (0, "Échéance proche")
    return rows, built


def _delais_rows(today: dt.date) -> tuple[list[list[object]], dict[int, tuple]]:
    canals = ["Courriel", "Courrier", "Réclamation", "Suggestion"]
    rows: list[list[object]] = []
    for i in range(DELAIS_ROWS):
        received = today - dt.timedelta(days=5 + 3 * i)
        replied = received + dt.timedelta(days=i % 9) if i % 3 else None
        rows.append([f"C-{i + 1:03d}", canals[i % 4], "Accueil", received,
                     f"Demande n° {i + 1}", replied, "Léa Morel", "lea.morel@doubs.gouv.fr"])  # fmt: skip
    expected: dict[int, tuple] = {}
    first = DELAIS_HEADER_ROW + 1
    # Courriel received Monday 02/11/2026, answered Wednesday 04/11: 2 working days, 5 allowed;
    # limit = 5th working day after the reception = Monday 09/11 (11/11 comes later).
    rows[0][1:6] = ["Courriel", "Accueil", dt.date(2026, 11, 2), "Demande d'horaires",
                    dt.date(2026, 11, 4)]  # fmt: skip
    expected[first] = (dt.date(2026, 11, 9), 2, "Oui", "Répondu dans le délai")
    # Courrier received Thursday 01/10/2026, unanswered: limit 22/10, late on 26/11.
    rows[1][1:6] = ["Courrier", "Accueil", dt.date(2026, 10, 1), "Titre de séjour", None]
    expected[first + 1] = (dt.date(2026, 10, 22), None, None, "En retard")
    return rows, expected


# ---------------------------------------------------------------- the workbook


def build_tracker_workbook(
    path: Path, today: dt.date, *, macro: bool = False, owned_formulas: bool = False
) -> Built:
    """Write the feature-rich tracker workbook at ``path`` (see the module docstring).

    ``owned_formulas``: the user already has a « Jours restants » column (right after the
    last header) filled with formulas, so the sync has to overwrite formula cells.
    """
    plan_rows, built = _plan_rows(today)
    delais_rows, built.delais_expected = _delais_rows(today)
    built.path, built.today = path, today
    book = xlsxwriter.Workbook(
        str(path), {"strings_to_numbers": False, "strings_to_formulas": False}
    )
    book.calc_on_load = False  # as Excel saves: no fullCalcOnLoad unless someone adds it
    book.set_properties({"title": "Suivi Qual-e-pref", "author": "Bureau qualité",
                         "company": "Préfecture du Doubs"})  # fmt: skip
    book.set_custom_property("Service", "Accueil")
    if macro:
        book.add_vba_project(io.BytesIO(VBA_BYTES), is_stream=True)  # type: ignore[arg-type]

    title_fmt = book.add_format({"bold": True, "font_size": 14, "align": "center",
                                 "bg_color": "#1F4E78", "font_color": "#FFFFFF"})  # fmt: skip
    header_fmt = book.add_format({"bold": True, "text_wrap": True, "valign": "vcenter",
                                  "bg_color": "#DDEBF7", "border": 1})  # fmt: skip
    cell_fmt = book.add_format({"border": 1, "border_color": "#808080"})
    date_fmt = book.add_format({"num_format": "dd/mm/yyyy", "border": 1, "border_color": "#808080"})
    pct_fmt = book.add_format({"num_format": "0%", "border": 1, "border_color": "#808080"})
    bold = book.add_format({"bold": True})
    italic = book.add_format({"italic": True, "font_color": "#C00000"})
    red = book.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
    green = book.add_format({"bg_color": "#C6EFCE", "font_color": "#006100"})
    png = tiny_png()

    plan = book.add_worksheet(PLAN_SHEET)
    delais = book.add_worksheet(DELAIS_SHEET)
    synthese = book.add_worksheet("Synthèse")
    chartsheet = book.add_chartsheet("Graphique")
    listes = book.add_worksheet("Listes")
    listes.hide()

    # --- Listes (hidden) and defined names
    for r, value in enumerate(ETATS):
        listes.write_string(r, 0, value)
    for r, value in enumerate(["Courrier", "Courriel", "Réclamation", "Suggestion"]):
        listes.write_string(r, 1, value)
    book.define_name("Etats", "=Listes!$A$1:$A$4")
    book.define_name("Canaux", "=Listes!$B$1:$B$4")
    book.define_name("Echeances", "='Plan d''actions'!$I$4:$I$53")
    book.define_name("'Délais'!Premier", "='Délais'!$A$3")  # a name local to a sheet

    # --- Plan d'actions
    last = len(PLAN_HEADER) - 1
    plan.merge_range(0, 0, 0, last, "Plan d'actions qualité 2026 — Préfecture du Doubs", title_fmt)
    plan.write_rich_string(1, 0, "Mis à jour le ", bold, today.strftime("%d/%m/%Y"), " — ",
                           italic, "ne pas modifier les colonnes vertes")  # fmt: skip
    plan.set_row(PLAN_HEADER_ROW - 1, 30)
    for c, title in enumerate(PLAN_HEADER):
        plan.write_string(PLAN_HEADER_ROW - 1, c, title, header_fmt)
    plan.set_column(0, 0, 13)
    plan.set_column(3, 3, 40)
    plan.set_column(6, 6, 28)
    plan.set_column(7, 11, 12)
    plan.set_column(12, 12, 30)
    for i, row in enumerate(plan_rows):
        r = PLAN_FIRST_ROW - 1 + i
        for c, value in enumerate(row):
            if value is None or value == "":
                plan.write_blank(r, c, None, cell_fmt)
            elif isinstance(value, dt.date):
                plan.write_datetime(r, c, value, date_fmt)
            elif c == 9 and isinstance(value, float):
                plan.write_number(r, c, value, pct_fmt)
            elif isinstance(value, int | float):
                plan.write_number(r, c, value, cell_fmt)
            else:
                plan.write_string(r, c, str(value), cell_fmt)
    plan.write_rich_string(PLAN_FIRST_ROW + 6, 12, "À voir ", bold, "en priorité", " au COPIL",
                           cell_fmt)  # fmt: skip
    note_row = PLAN_FIRST_ROW + 7  # a data row
    plan.write_string(note_row - 1, last + 2, NOTE_TEXT, italic)
    built.note_cell = (note_row, last + 2)
    if owned_formulas:
        plan.write_string(PLAN_HEADER_ROW - 1, last + 1, "Jours restants", header_fmt)
        for i in range(PLAN_ROWS):
            r = PLAN_FIRST_ROW - 1 + i
            plan.write_formula(r, last + 1, f"=I{r + 1}-TODAY()", cell_fmt, 0)
    last_row = PLAN_FIRST_ROW + PLAN_ROWS - 1
    plan.freeze_panes(PLAN_HEADER_ROW, 1)
    plan.autofilter(PLAN_HEADER_ROW - 1, 0, last_row - 1, last)
    plan.data_validation(PLAN_FIRST_ROW - 1, 10, last_row - 1, 10, {
        "validate": "list", "source": "=Etats", "input_title": "État",
        "input_message": "Choisir dans la liste", "error_type": "warning",
    })  # fmt: skip
    plan.data_validation(PLAN_FIRST_ROW - 1, 9, last_row - 1, 9,
                         {"validate": "decimal", "criteria": "between", "minimum": 0,
                          "maximum": 1})  # fmt: skip
    rng = f"I{PLAN_FIRST_ROW}:I{last_row}"
    plan.conditional_format(rng, {"type": "cell", "criteria": "<", "value": "TODAY()",
                                  "format": red})  # fmt: skip
    plan.conditional_format(f"K{PLAN_FIRST_ROW}:K{last_row}", {
        "type": "text", "criteria": "containing", "value": "Fait", "format": green})  # fmt: skip
    plan.conditional_format(f"J{PLAN_FIRST_ROW}:J{last_row}", {
        "type": "data_bar", "data_bar_2010": True, "bar_color": "#63BE7B",
        "bar_solid": True, "bar_direction": "left"})  # fmt: skip
    plan.conditional_format(f"B{PLAN_FIRST_ROW}:B{last_row}", {"type": "3_color_scale"})
    plan.add_sparkline(1, last, {"range": f"'{PLAN_SHEET}'!J{PLAN_FIRST_ROW}:J{last_row}",
                                 "type": "column", "high_point": True})  # fmt: skip
    plan.write_comment(PLAN_HEADER_ROW - 1, 8, "Date butoir fixée en COPIL.",
                       {"author": "Bureau qualité"})  # fmt: skip
    plan.write_comment(PLAN_FIRST_ROW + 4, 10, "Relancer le pilote avant le 15.",
                       {"author": "Référent qualité", "visible": True})  # fmt: skip
    plan.insert_image(last_row + 2, 1, "logo.png", {"image_data": io.BytesIO(png),
                                                   "x_scale": 8, "y_scale": 8})  # fmt: skip
    plan.insert_textbox(last_row + 2, 4, "Colonnes vertes : calculées par qep-sync.\n"
                        "Ne pas les modifier.", {"width": 320, "height": 60,
                                                  "fill": {"color": "#FFF2CC"}})  # fmt: skip
    plan.insert_textbox(last_row + 2, 9, "", {"object_position": 1, "width": 60, "height": 40,
                                              "line": {"color": "red"}})  # fmt: skip
    plan.set_landscape()
    plan.set_paper(9)
    plan.repeat_rows(PLAN_HEADER_ROW - 1)
    plan.print_area(0, 0, last_row - 1, last)
    plan.set_header("&CPlan d'actions — &D")
    plan.set_tab_color("#1F4E78")

    # --- Délais as an Excel table (with a totals row), title above it
    delais.write_string(0, 0, "Courriers et réclamations 2026", bold)
    first = DELAIS_HEADER_ROW - 1
    end = first + DELAIS_ROWS + 1  # the totals row
    delais.add_table(first, 0, end, len(DELAIS_HEADER) - 1, {
        "name": "Courriers", "style": "Table Style Medium 2", "total_row": True,
        "columns": [{"header": DELAIS_HEADER[0], "total_string": "Total"},
                    {"header": DELAIS_HEADER[1], "total_function": "count"},
                    *({"header": h} for h in DELAIS_HEADER[2:])],
    })  # fmt: skip
    built.table_ref = f"A{first + 1}:{chr(ord('A') + len(DELAIS_HEADER) - 1)}{end + 1}"
    for i, row in enumerate(delais_rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, dt.date):
                delais.write_datetime(first + 1 + i, c, value, date_fmt)
            else:
                delais.write_string(first + 1 + i, c, str(value))
    delais.data_validation(first + 1, 1, end - 1, 1, {"validate": "list", "source": "=Canaux"})
    delais.set_column(0, 7, 16)

    # --- Synthèse: formulas on the tracker with their cached values
    synthese.write_string(0, 0, "Synthèse", title_fmt)
    etat_range = f"'Plan d''actions'!$K${PLAN_FIRST_ROW}:$K${last_row}"
    statut_col = "P"  # where qep-sync will put « Statut » (N = Jours restants, O = the note)
    for r, etat in enumerate(ETATS, start=2):
        count = sum(1 for row in plan_rows if row[10] == etat)
        formula = f'=COUNTIF({etat_range},"{etat}")'
        synthese.write_string(r, 0, etat)
        synthese.write_formula(r, 1, formula, None, count)
        built.formula_cells[f"B{r + 1}"] = formula
    formula = f"=COUNTIF('Plan d''actions'!${statut_col}:${statut_col},\"En retard\")"
    synthese.write_string(7, 0, "Actions en retard (statut calculé)")
    synthese.write_formula(7, 1, formula, None, 0)
    built.formula_cells["B8"] = formula
    synthese.write_formula(8, 1, "=SUM(B3:B6)", bold, PLAN_ROWS)
    built.formula_cells["B9"] = "=SUM(B3:B6)"
    chart = book.add_chart({"type": "column"})
    chart.add_series({"name": "Actions par état", "categories": "=Synthèse!$A$3:$A$6",
                      "values": "=Synthèse!$B$3:$B$6"})  # fmt: skip
    synthese.insert_chart("D2", chart)
    synthese.add_sparkline(9, 1, {"range": "Synthèse!B3:B6"})
    synthese.insert_image("D20", "logo.png", {"image_data": io.BytesIO(png)})
    pie = book.add_chart({"type": "pie"})
    pie.add_series({"categories": "=Synthèse!$A$3:$A$6", "values": "=Synthèse!$B$3:$B$6"})
    chartsheet.set_chart(pie)
    book.close()
    _as_excel_saves(path, sheet_index=3, cells=list(built.formula_cells))
    if owned_formulas:
        _add_to_calc_chain(path, 1, [f"N{r}" for r in range(PLAN_FIRST_ROW, last_row + 1)])
    return built


def rewrite_parts(path: Path, edits: dict[str, bytes | None], added: dict[str, bytes]) -> None:
    """Rewrite a zip with some entries replaced (None: removed) and some appended."""
    with zipfile.ZipFile(path) as zin:
        entries = [(info, zin.read(info.filename)) for info in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in entries:
            if info.filename in edits:
                new = edits[info.filename]
                if new is None:
                    continue
                data = new
            zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
        for name, data in added.items():
            zout.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data,
                          compress_type=zipfile.ZIP_DEFLATED)  # fmt: skip


def _as_excel_saves(path: Path, sheet_index: int, cells: list[str]) -> None:
    """Give the workbook a calcChain.xml (Excel writes one; xlsxwriter does not)."""
    with zipfile.ZipFile(path) as zf:
        rels = zf.read("xl/_rels/workbook.xml.rels")
        types = zf.read("[Content_Types].xml")
    chain = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<calcChain xmlns="{NS_MAIN}">'
        + "".join(f'<c r="{ref}" i="{sheet_index}"/>' for ref in cells)
        + "</calcChain>"
    ).encode()
    rels = rels.replace(
        b"</Relationships>",
        f'<Relationship Id="rId99" Type="{CALC_CHAIN_TYPE}" Target="calcChain.xml"/>'
        "</Relationships>".encode(),
    )
    types = types.replace(
        b"</Types>",
        f'<Override PartName="/xl/calcChain.xml" ContentType="{CALC_CHAIN_CT}"/></Types>'.encode(),
    )
    rewrite_parts(path, {"xl/_rels/workbook.xml.rels": rels, "[Content_Types].xml": types},
             {"xl/calcChain.xml": chain})  # fmt: skip


def _add_to_calc_chain(path: Path, sheet_index: int, cells: list[str]) -> None:
    with zipfile.ZipFile(path) as zf:
        chain = zf.read("xl/calcChain.xml")
    extra = "".join(f'<c r="{ref}" i="{sheet_index}"/>' for ref in cells).encode()
    rewrite_parts(path, {"xl/calcChain.xml": chain.replace(b"</calcChain>", extra + b"</calcChain>")},
             {})  # fmt: skip


def build_small_workbook(path: Path, today: dt.date) -> Path:
    """A small action plan (3 actions) and a « Synthèse » sheet with one formula on it."""
    book = xlsxwriter.Workbook(str(path))
    book.calc_on_load = False
    date_fmt = book.add_format({"num_format": "dd/mm/yyyy"})
    plan = book.add_worksheet(PLAN_SHEET)
    for c, title in enumerate(["N° action", "Action", "Échéance", "État"]):
        plan.write_string(0, c, title)
    for r, (due, etat) in enumerate([(30, "En cours"), (-3, "À faire"), (5, "Fait")], start=1):
        plan.write_string(r, 0, f"A{r}")
        plan.write_string(r, 1, "Afficher les horaires")
        plan.write_datetime(r, 2, today + dt.timedelta(days=due), date_fmt)
        plan.write_string(r, 3, etat)
    synthese = book.add_worksheet("Synthèse")
    synthese.write_formula(0, 0, "=COUNTA('Plan d''actions'!A2:A4)", None, 3)
    book.close()
    return path


def make_shared_formulas(path: Path, part: str, column: str, first: int, last: int) -> None:
    """Turn a column of simple formulas ``=I4-TODAY()`` into one shared formula, as Excel saves
    a column filled down: the first cell holds ``<f t="shared" ref=.. si="0">``, the others
    ``<f t="shared" si="0"/>``."""
    with zipfile.ZipFile(path) as zf:
        root = etree.fromstring(zf.read(part))
    m = f"{{{NS_MAIN}}}"
    for cell in root.iter(m + "c"):
        ref = cell.get("r", "")
        match = re.fullmatch(rf"{column}(\d+)", ref)
        if not match or not first <= int(match.group(1)) <= last:
            continue
        f = cell.find(m + "f")
        assert f is not None, ref
        f.set("t", "shared")
        f.set("si", "0")
        if int(match.group(1)) == first:
            f.set("ref", f"{column}{first}:{column}{last}")
        else:
            f.text = None
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    rewrite_parts(path, {part: xml}, {})


def sheet_part(path: Path, title: str) -> str:
    """The zip entry of a worksheet, from workbook.xml and its relationships."""
    with zipfile.ZipFile(path) as zf:
        wb = etree.fromstring(zf.read("xl/workbook.xml"))
        rels = etree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    rel_ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    rid = next(s.get(f"{{{rel_ns}}}id") for s in wb.iter(f"{{{NS_MAIN}}}sheet")
               if s.get("name") == title)  # fmt: skip
    target = next(r.get("Target") for r in rels.iter(f"{{{NS_PKG_REL}}}Relationship")
                  if r.get("Id") == rid)  # fmt: skip
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
