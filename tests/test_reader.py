"""Reading trackers from real workbooks: recognition, lenient headers, values as users type
them, and findings down to the cell (docs/contract.md §2, §3.1 rules 8–10).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import PLAN_HEADER, TODAY, Percent, make_workbook

from qep_sync.config import Config, Source
from qep_sync.core.findings import Finding, Severity
from qep_sync.jobs.check import CheckRun, run_check

# plan_row() keyword -> PLAN_HEADER column
PLAN_KEYS = {
    "engagement": "Engagement",
    "action": "Action",
    "echeance": "Échéance",
    "avancement": "Avancement",
    "etat": "État",
    "realisation": "Date de réalisation",
    "email": "Email responsable",
}
COURRIERS_HEADER = ["N°", "Canal", "Date de réception", "Objet", "Date de réponse", "Email"]


def check(path: Path, sheets: dict[str, str] | None = None, service: str = "BRCIE") -> CheckRun:
    source = Source(service=service, name=service, path=path, sheets=sheets or {})
    return run_check(Config(path=None, sources=(source,)), TODAY)


def check_sheets(tmp_path: Path, sheets: dict[str, list[list[Any]]], **kw: Any) -> CheckRun:
    return check(make_workbook(tmp_path / "suivi.xlsx", sheets), **kw)


def findings(run: CheckRun) -> list[Finding]:
    assert run.report.failed_sources == [], run.report.failed_sources[0].error
    return run.report.findings


def messages(run: CheckRun) -> list[str]:
    return [f.message for f in findings(run)]


def plan_row(numero: str = "A1", **values: Any) -> list[Any]:
    """A clean action-plan row (in PLAN_HEADER order) with some columns replaced."""
    row = {
        "N° action": numero,
        "Engagement": 3,
        "Action": "Afficher les horaires",
        "Échéance": dt.date(2027, 3, 1),
        "Avancement": 0.5,
        "État": "En cours",
        "Date de réalisation": None,
        "Email responsable": "a.b@doubs.gouv.fr",
    }
    for key, value in values.items():
        row[PLAN_KEYS[key]] = value
    return [row[h] for h in PLAN_HEADER]


# --- header row and lenient headers ----------------------------------------------------------


@pytest.mark.parametrize("header_row", [1, 2, 5, 10])
def test_header_row_found_anywhere_in_the_first_10_rows(tmp_path: Path, header_row: int) -> None:
    titles = [["Préfecture du Doubs"], ["Plan d'actions qualité 2026"], [], ["Mis à jour le 20/11"]]
    above = (titles * 3)[: header_row - 1]
    run = check_sheets(tmp_path, {"Plan d'actions": [*above, PLAN_HEADER, plan_row("A1")]})
    assert findings(run) == []
    (summary,) = run.report.sources[0].sheets
    assert summary.header_row == header_row
    assert summary.rows == 1
    (table,) = run.tables("plan_actions")
    assert table.value(header_row + 1, "numero") == "A1"


def test_header_row_below_row_10_is_not_found(tmp_path: Path) -> None:
    rows = [["Titre"]] * 10 + [PLAN_HEADER, plan_row("A1")]
    run = check_sheets(tmp_path, {"Plan d'actions": rows})
    (finding,) = findings(run)
    assert finding.severity is Severity.ERROR
    assert finding.sheet == "Plan d'actions"
    assert "ligne d'en-tête introuvable dans les 10 premières lignes" in finding.message
    assert "« Échéance »" in finding.message


def test_headers_match_whatever_their_case_accents_spaces_and_line_breaks(
    tmp_path: Path,
) -> None:
    header = ["n° ACTION*", "  action ", "ECHEANCE", "Etat :", "Date de\nréalisation", "Porteur"]
    row = ["A1", "Accueil", dt.date(2027, 1, 4), "Fait", dt.date(2026, 11, 2), "M. Martin"]
    run = check_sheets(tmp_path, {"Plan d'actions": [header, row]})
    assert findings(run) == []
    (table,) = run.tables("plan_actions")
    assert table.sheet.columns == {
        "numero": 0,
        "action": 1,
        "echeance": 2,
        "etat": 3,
        "date_realisation": 4,
        "responsable": 5,
    }
    assert table.value(2, "date_realisation") == dt.date(2026, 11, 2)
    assert table.value(2, "responsable") == "M. Martin"


def test_line_break_inside_a_courriers_header_cell(tmp_path: Path) -> None:
    header = ["N°", "Canal", "Date de\nréception", "Date de\u00a0réponse "]
    rows = [header, ["C1", "Courriel", dt.date(2026, 11, 2), dt.date(2026, 11, 3)]]
    run = check_sheets(tmp_path, {"Délais": rows})
    assert findings(run) == []
    (table,) = run.tables("courriers")
    assert table.value(2, "date_reception") == dt.date(2026, 11, 2)
    assert table.value(2, "date_reponse") == dt.date(2026, 11, 3)


def test_header_aliases_of_the_spec_are_recognised(tmp_path: Path) -> None:
    header = ["Chrono", "Nature", "Reçu le", "Répondu le", "Traité par"]
    rows = [header, ["C1", "Lettre", "12/09/2022", "15/09/2022", "Mme Roy"]]
    run = check_sheets(tmp_path, {"Courriers": rows})
    assert findings(run) == []
    (table,) = run.tables("courriers")
    assert table.value(2, "canal") == "Courrier"  # a value alias, too
    assert table.value(2, "agent") == "Mme Roy"


# --- recognition -----------------------------------------------------------------------------


def test_sheet_recognised_by_its_title(tmp_path: Path) -> None:
    run = check_sheets(
        tmp_path, {"Suivi des formations": [["Agent", "Formation"], ["A. B", "Accueil"]]}
    )
    (summary,) = run.report.sources[0].sheets
    assert (summary.sheet, summary.tracker) == ("Suivi des formations", "formations")


def test_sheet_with_unknown_title_recognised_by_its_header_row(tmp_path: Path) -> None:
    rows = [["Registre 2026"], COURRIERS_HEADER, ["C1", "Courriel", dt.date(2026, 11, 2), "Carte"]]
    run = check_sheets(tmp_path, {"Feuil1": rows})
    assert findings(run) == []
    (summary,) = run.report.sources[0].sheets
    assert (summary.sheet, summary.tracker, summary.header_row, summary.rows) == (
        "Feuil1",
        "courriers",
        2,
        1,
    )


def test_sheet_recognised_only_when_forced_by_config(tmp_path: Path) -> None:
    # Canal is missing, so the header alone is not enough to recognise the tracker.
    rows = [["N°", "Date de réception", "Objet"], ["C1", dt.date(2026, 11, 2), "Carte"]]
    book = make_workbook(tmp_path / "suivi.xlsx", {"Feuil1": rows})

    unforced = check(book)
    assert unforced.report.sources[0].sheets == []
    assert "aucun onglet de suivi reconnu" in (unforced.report.sources[0].error or "")

    forced = check(book, sheets={"Feuil1": "courriers"})
    assert forced.report.sources[0].error is None
    (summary,) = forced.report.sources[0].sheets
    assert (summary.tracker, summary.rows) == ("courriers", 1)
    assert messages(forced) == [
        "colonne obligatoire « Canal » absente de la ligne d'en-tête (ligne 1)"
    ]


def test_config_forcing_wins_over_the_sheet_title(tmp_path: Path) -> None:
    rows = [COURRIERS_HEADER, ["C1", "Courriel", dt.date(2026, 11, 2), "Carte"]]
    book = make_workbook(tmp_path / "suivi.xlsx", {"Documents": rows})
    assert check(book).report.sources[0].findings  # read as documents: no header found
    forced = check(book, sheets={"Documents": "courriers"})
    assert findings(forced) == []
    assert [s.tracker for s in forced.report.sources[0].sheets] == ["courriers"]


def test_forced_sheet_absent_from_the_workbook_is_the_source_error(tmp_path: Path) -> None:
    book = make_workbook(tmp_path / "suivi.xlsx", {"Plan d'actions": [PLAN_HEADER, plan_row()]})
    report = check(book, sheets={"Feuil9": "courriers"}).report.sources[0]
    assert report.error == "onglet « Feuil9 » (indiqué dans la configuration) absent du classeur"


def test_sheet_that_is_not_a_tracker_is_ignored(tmp_path: Path) -> None:
    run = check_sheets(
        tmp_path,
        {
            "Mode d'emploi": [["Comment remplir ce tableau"], ["Date", "Échéance", "31/02/2022"]],
            "Plan d'actions": [PLAN_HEADER, plan_row()],
            "Liste": [["En cours"], ["Fait"]],
        },
    )
    assert findings(run) == []
    assert [s.sheet for s in run.report.sources[0].sheets] == ["Plan d'actions"]


# --- rows and columns ------------------------------------------------------------------------


def test_extra_user_columns_are_ignored(tmp_path: Path) -> None:
    header = [*PLAN_HEADER, "Priorité", "Date perso"]
    rows = [header, [*plan_row("A1"), "Très haute !", "31/02/2022"]]
    run = check_sheets(tmp_path, {"Plan d'actions": rows})
    assert findings(run) == []
    (table,) = run.tables("plan_actions")
    assert len(PLAN_HEADER) not in table.sheet.columns.values()
    assert table.sheet.last_header_col == len(header) - 1


def test_empty_rows_in_the_middle_are_skipped(tmp_path: Path) -> None:
    rows = [
        PLAN_HEADER,
        plan_row("A1"),
        [],
        [None] * 8,
        ["  "] * 8,
        plan_row("A2"),
        [],
        plan_row("A3"),
    ]
    run = check_sheets(tmp_path, {"Plan d'actions": rows})
    assert findings(run) == []
    (table,) = run.tables("plan_actions")
    assert list(table.frame.index) == [2, 6, 8]
    assert run.report.sources[0].sheets[0].rows == 3


@pytest.mark.parametrize("label", ["Total", "TOTAL", "total : 2 actions", "Total général"])
def test_total_row_at_the_bottom_is_skipped_silently(tmp_path: Path, label: str) -> None:
    total = [label, None, None, None, 0.75, None, None, None]
    rows = [PLAN_HEADER, plan_row("A1"), plan_row("A2"), [], total]
    run = check_sheets(tmp_path, {"Plan d'actions": rows})
    assert findings(run) == []
    (table,) = run.tables("plan_actions")
    assert list(table.frame.index) == [2, 3]


def test_total_row_with_its_label_in_a_later_column_is_skipped(tmp_path: Path) -> None:
    total = [None, None, "Total", None, 0.75, None, None, None]
    run = check_sheets(tmp_path, {"Plan d'actions": [PLAN_HEADER, plan_row("A1"), total]})
    assert findings(run) == []


def test_data_starting_at_column_b_maps_cells_correctly(tmp_path: Path) -> None:
    rows = [["Plan d'actions"], PLAN_HEADER, plan_row("A1"), plan_row("A2", echeance="31/02/2022")]
    book = make_workbook(tmp_path / "suivi.xlsx", {"Plan d'actions": rows}, start_col=1)
    run = check(book)
    (finding,) = findings(run)
    assert finding.cell == "E4"
    assert finding.column == "Échéance"
    assert finding.message == "Échéance : date illisible « 31/02/2022 »"
    (table,) = run.tables("plan_actions")
    assert table.sheet.columns["numero"] == 1
    assert table.value(3, "numero") == "A1"


def test_empty_leading_rows_and_columns_keep_cell_references(tmp_path: Path) -> None:
    rows = [[], [], PLAN_HEADER, plan_row("A1", email="x@")]
    book = make_workbook(tmp_path / "suivi.xlsx", {"Plan d'actions": rows}, start_col=2)
    run = check(book)
    (finding,) = findings(run)
    assert (finding.cell, finding.row) == ("J4", 4)
    assert run.report.sources[0].sheets[0].header_row == 3


# --- values as real spreadsheets hold them ---------------------------------------------------


def test_values_as_users_type_them_give_no_finding(tmp_path: Path) -> None:
    header = [*PLAN_HEADER, "Date de début", "Fait ?"]
    rows = [
        header,
        [*plan_row("A1", echeance=dt.date(2027, 1, 15), avancement="50 %"), "12/09/2022", "Oui"],
        [*plan_row("A2", echeance=46400, avancement="0,5"), "2022-09-12", "Non"],
        [*plan_row("A3", echeance="15/01/27", avancement=50), "12 septembre 2022", "oui"],
        [*plan_row("A4", echeance="1er février 2027", avancement=" 25% "), "1er août 2022", None],
        [*plan_row(" A5 ", echeance=" 2027-02-01 ", avancement=1, etat=" En cours ",
                   email=" a.b@doubs.gouv.fr "), dt.datetime(2022, 9, 12, 9, 30), None],
        [*plan_row("A6", echeance="12\u00a0mars\u00a02027", avancement="100 %", engagement="12")],
    ]  # fmt: skip
    run = check_sheets(tmp_path, {"Plan d'actions": rows})
    assert findings(run) == []
    (table,) = run.tables("plan_actions")
    assert [table.value(r, "echeance") for r in range(2, 8)] == [
        dt.date(2027, 1, 15),
        dt.date(2027, 1, 13),  # serial 46400 (46388 is 01/01/2027)
        dt.date(2027, 1, 15),
        dt.date(2027, 2, 1),
        dt.date(2027, 2, 1),
        dt.date(2027, 3, 12),
    ]
    assert [table.value(r, "avancement") for r in range(2, 8)] == [0.5, 0.5, 0.5, 0.25, 1.0, 1.0]
    assert [table.value(r, "date_debut") for r in range(2, 7)] == [
        dt.date(2022, 9, 12),
        dt.date(2022, 9, 12),
        dt.date(2022, 9, 12),
        dt.date(2022, 8, 1),
        dt.date(2022, 9, 12),
    ]
    assert table.value(6, "numero") == "A5"
    assert table.value(6, "email_responsable") == "a.b@doubs.gouv.fr"
    assert table.value(7, "engagement") == 12


def test_percent_formatted_avancement_is_read_as_a_percentage(tmp_path: Path) -> None:
    rows = [
        PLAN_HEADER,
        plan_row("A1", avancement=Percent(0.5)),
        plan_row("A2", avancement=Percent(1)),
        plan_row("A3", avancement=Percent(0.01)),
    ]
    run = check_sheets(tmp_path, {"Plan d'actions": rows})
    assert findings(run) == []
    (table,) = run.tables("plan_actions")
    assert [table.value(r, "avancement") for r in (2, 3, 4)] == [0.5, 1.0, 0.01]


def test_percent_format_decides_between_150_percent_and_1_5_percent(tmp_path: Path) -> None:
    rows = [PLAN_HEADER, plan_row("A1", avancement=Percent(1.5)), plan_row("A2", avancement=1.5)]
    run = check_sheets(tmp_path, {"Plan d'actions": rows})
    (finding,) = findings(run)
    assert finding.cell == "E2"
    assert finding.message == "Avancement : 150 % hors de l'intervalle 0 % – 100 %"
    (table,) = run.tables("plan_actions")
    assert table.value(3, "avancement") == pytest.approx(0.015)


@pytest.mark.parametrize("num_format", ["0.0%", "0.00 %", "#,##0%", "[Blue]0%;[Red]-0%"])
def test_custom_percent_formats_are_percentages(tmp_path: Path, num_format: str) -> None:
    rows = [PLAN_HEADER, plan_row("A1", avancement=Percent(0.5, num_format))]
    run = check_sheets(tmp_path, {"Plan d'actions": rows})
    assert findings(run) == []
    (table,) = run.tables("plan_actions")
    assert table.value(2, "avancement") == 0.5
    # 1.5 in the same format is 150 %, hence out of range; as a plain number it would be 1.5 %.
    rows = [PLAN_HEADER, plan_row("A1", avancement=Percent(1.5, num_format))]
    (finding,) = findings(check_sheets(tmp_path, {"Plan d'actions": rows}))
    assert finding.message == "Avancement : 150 % hors de l'intervalle 0 % – 100 %"


@pytest.mark.parametrize("num_format", ['0" %"', "0\\%"])
def test_percent_sign_as_literal_text_in_a_format_is_not_a_percentage(
    tmp_path: Path, num_format: str
) -> None:
    # 50 shown « 50 % » by a literal sign: the cell holds 50, a plain number above 1.
    rows = [PLAN_HEADER, plan_row("A1", avancement=Percent(50, num_format))]
    run = check_sheets(tmp_path, {"Plan d'actions": rows})
    assert findings(run) == []
    (table,) = run.tables("plan_actions")
    assert table.value(2, "avancement") == 0.5


def test_workbook_written_by_openpyxl_is_read_the_same(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Plan d'actions"
    sheet["C3"] = "Plan d'actions 2026"
    for col, title in enumerate(PLAN_HEADER, start=3):
        sheet.cell(row=5, column=col, value=title)
    row = ["A1", 3, "Accueil", dt.date(2027, 3, 1), 0.25, "en cours", None, "a@doubs.gouv.fr"]
    for col, value in enumerate(row, start=3):
        sheet.cell(row=6, column=col, value=value)
    sheet["F6"].number_format = "DD/MM/YYYY"
    sheet["G6"].number_format = "0%"
    sheet["G7"] = 1.5  # a percent-formatted 150 %
    sheet["G7"].number_format = "0%"
    for col, value in zip("CEFH", ["A2", "Courriers", "31/02/2022", "Fait"], strict=True):
        sheet[f"{col}7"] = value
    book.save(tmp_path / "suivi.xlsx")

    run = check(tmp_path / "suivi.xlsx")
    assert [(f.cell, f.message) for f in findings(run)] == [
        ("F7", "Échéance : date illisible « 31/02/2022 »"),
        ("G7", "Avancement : 150 % hors de l'intervalle 0 % – 100 %"),
        ("H7", "État : action « Fait » sans Date de réalisation"),
    ]
    (table,) = run.tables("plan_actions")
    assert table.sheet.header_row == 5
    assert table.value(6, "echeance") == dt.date(2027, 3, 1)
    assert table.value(6, "avancement") == 0.25
    assert table.value(6, "etat") == "En cours"


def test_avancement_above_100_percent_is_an_error(tmp_path: Path) -> None:
    rows = [PLAN_HEADER, plan_row("A1", avancement=150), plan_row("A2", avancement="120 %")]
    run = check_sheets(tmp_path, {"Plan d'actions": rows})
    assert [(f.cell, f.message, f.severity) for f in findings(run)] == [
        ("E2", "Avancement : 150 % hors de l'intervalle 0 % – 100 %", Severity.ERROR),
        ("E3", "Avancement : 120 % hors de l'intervalle 0 % – 100 %", Severity.ERROR),
    ]


def test_allowed_values_match_ignoring_case_accents_and_spaces(tmp_path: Path) -> None:
    plan = [
        PLAN_HEADER,
        plan_row("A1", etat="en cours"),
        plan_row("A2", etat="EN COURS"),
        plan_row("A3", etat="a faire"),
        plan_row("A4", etat="abandonne"),
        plan_row("A5", etat="fait", realisation=dt.date(2026, 11, 2)),
        plan_row("A6", etat="  En   cours "),
    ]
    documents = [
        ["Référence", "Intitulé", "État", "Date prévue", "Date de caducité"],
        ["D1", "Charte", "validé", None, dt.date(2027, 6, 1)],
        ["D2", "Guide", "VALIDE", None, dt.date(2027, 6, 1)],
        ["D3", "Fiche", "en redaction", dt.date(2027, 1, 1), None],
    ]
    indicateurs = [
        ["Indicateur", "Période", "Valeur", "Cible", "Sens"],
        ["Taux de décroché", "2026-10", "92 %", "90 %", ">="],
        ["Délai moyen", "octobre 2026", 4, 5, "<="],
        ["Réclamations", "10/2026", 2, 3, "≤"],
    ]
    run = check_sheets(tmp_path, {"Plan d'actions": plan, "Documents": documents,
                                  "Indicateurs": indicateurs})  # fmt: skip
    assert findings(run) == []
    (actions,) = run.tables("plan_actions")
    assert [actions.value(r, "etat") for r in range(2, 8)] == [
        "En cours", "En cours", "À faire", "Abandonné", "Fait", "En cours",
    ]  # fmt: skip
    (docs,) = run.tables("documents")
    assert [docs.value(r, "etat") for r in (2, 3, 4)] == ["Validé", "Validé", "En rédaction"]
    (indic,) = run.tables("indicateurs")
    assert [indic.value(r, "sens") for r in (2, 3, 4)] == ["≥", "≤", "≤"]
    assert [indic.value(r, "periode") for r in (2, 3, 4)] == [dt.date(2026, 10, 1)] * 3
    assert indic.value(2, "valeur") == pytest.approx(0.92)


def test_value_not_allowed_is_an_error_listing_the_allowed_values(tmp_path: Path) -> None:
    run = check_sheets(tmp_path, {"Plan d'actions": [PLAN_HEADER, plan_row(etat="Suspendu")]})
    (finding,) = findings(run)
    assert finding.cell == "F2"
    assert finding.value == "Suspendu"
    assert finding.message == (
        "État : « Suspendu » n'est pas une valeur autorisée "
        "(valeurs possibles : À faire, En cours, Fait, Abandonné)"
    )


# --- findings, down to the cell --------------------------------------------------------------


def test_unreadable_date_finding_has_every_field(tmp_path: Path) -> None:
    rows = [
        ["Plan d'actions 2026"],
        PLAN_HEADER,
        plan_row("A1"),
        plan_row("A2", echeance="31/02/2022"),
    ]
    run = check_sheets(tmp_path, {"Plan d'actions": rows}, service="SIDSIC")
    assert findings(run) == [
        Finding(
            source="suivi.xlsx",
            service="SIDSIC",
            sheet="Plan d'actions",
            cell="D4",
            column="Échéance",
            value="31/02/2022",
            message="Échéance : date illisible « 31/02/2022 »",
            severity=Severity.ERROR,
            row=4,
            tracker="plan_actions",
        )
    ]


def test_finding_names_the_column_as_the_user_wrote_it(tmp_path: Path) -> None:
    header = ["N° action", "Action", "Date butoir ", "Etat"]
    rows = [header, ["A1", "Accueil", "12/09", "En cours"]]
    (finding,) = findings(check_sheets(tmp_path, {"Plan d'actions": rows}))
    assert finding.cell == "C2"
    assert finding.column == "Date butoir"
    assert finding.message == "Date butoir : date incomplète « 12/09 » : l'année manque"


def test_missing_required_value_is_an_error_at_its_cell(tmp_path: Path) -> None:
    rows = [PLAN_HEADER, plan_row("A1", action=None)]
    (finding,) = findings(check_sheets(tmp_path, {"Plan d'actions": rows}))
    assert (finding.cell, finding.message, finding.severity) == (
        "C2",
        "Action : valeur obligatoire manquante",
        Severity.ERROR,
    )


def test_duplicate_key_reported_on_every_later_occurrence_naming_the_first_row(
    tmp_path: Path,
) -> None:
    rows = [
        PLAN_HEADER,
        plan_row("A1"),
        plan_row("A2"),
        plan_row("A1"),
        plan_row("A3"),
        plan_row("A1"),
    ]
    dups = findings(check_sheets(tmp_path, {"Plan d'actions": rows}))
    assert [(f.cell, f.message, f.severity) for f in dups] == [
        (
            "A4",
            "N° action : « A1 » est déjà utilisé ligne 2 (valeur unique attendue)",
            Severity.ERROR,
        ),
        (
            "A6",
            "N° action : « A1 » est déjà utilisé ligne 2 (valeur unique attendue)",
            Severity.ERROR,
        ),
    ]


def test_duplicate_key_ignores_stray_spaces(tmp_path: Path) -> None:
    rows = [PLAN_HEADER, plan_row("A1"), plan_row(" A1 ")]
    (finding,) = findings(check_sheets(tmp_path, {"Plan d'actions": rows}))
    assert finding.cell == "A3"
    assert "déjà utilisé ligne 2" in finding.message


def test_reply_before_reception_is_an_error_at_the_reply_cell(tmp_path: Path) -> None:
    rows = [
        COURRIERS_HEADER,
        ["C1", "Courrier", "12/09/2022", "Carte grise", "01/09/2022"],
        ["C2", "Courrier", "12/09/2022", "Carte grise", "12/09/2022"],
    ]
    (finding,) = findings(check_sheets(tmp_path, {"Délais": rows}))
    assert (finding.cell, finding.column, finding.severity) == (
        "E2",
        "Date de réponse",
        Severity.ERROR,
    )
    assert finding.message == (
        "Date de réponse : réponse datée du 01/09/2022, avant la réception (12/09/2022)"
    )


def test_completion_date_in_the_future_is_an_error(tmp_path: Path) -> None:
    tomorrow = TODAY + dt.timedelta(days=1)
    plan = [
        PLAN_HEADER,
        plan_row("A1", etat="Fait", realisation=tomorrow),
        plan_row("A2", etat="Fait", realisation=TODAY),
    ]
    formations = [["Agent", "Formation", "Date réalisée"], ["A. Roy", "Accueil", tomorrow]]
    run = check_sheets(tmp_path, {"Plan d'actions": plan, "Formations": formations})
    assert [(f.sheet, f.cell, f.severity) for f in findings(run)] == [
        ("Plan d'actions", "G2", Severity.ERROR),
        ("Formations", "C2", Severity.ERROR),
    ]
    assert findings(run)[0].message == (
        "Date de réalisation : date de réalisation dans le futur (27/11/2026)"
    )


def test_fait_without_completion_date_is_a_warning_at_the_etat_cell(tmp_path: Path) -> None:
    rows = [PLAN_HEADER, plan_row("A1", etat="Fait"), plan_row("A2", etat="En cours")]
    (finding,) = findings(check_sheets(tmp_path, {"Plan d'actions": rows}))
    assert (finding.cell, finding.severity) == ("F2", Severity.WARNING)
    assert finding.message == "État : action « Fait » sans Date de réalisation"


@pytest.mark.parametrize(
    "email", ["pas un mail", "a.b@", "a b@doubs.gouv.fr", "a@b@c.fr", "a.b@doubs", "a;b@doubs.fr"]
)
def test_invalid_email_is_an_error(tmp_path: Path, email: str) -> None:
    rows = [PLAN_HEADER, plan_row("A1", email=email)]
    (finding,) = findings(check_sheets(tmp_path, {"Plan d'actions": rows}))
    assert (finding.cell, finding.value, finding.severity) == ("H2", email, Severity.ERROR)
    assert finding.message == f"Email responsable : adresse électronique invalide « {email} »"


def test_half_integer_engagement_is_an_error(tmp_path: Path) -> None:
    rows = [PLAN_HEADER, plan_row("A1", engagement=12.5), plan_row("A2", engagement=0)]
    assert [
        (f.cell, f.message) for f in findings(check_sheets(tmp_path, {"Plan d'actions": rows}))
    ] == [
        ("B2", "Engagement : nombre entier attendu, « 12,5 » trouvé"),
        ("B3", "Engagement : « 0 » doit être supérieur ou égal à 1"),
    ]


def test_unreadable_period_is_an_error(tmp_path: Path) -> None:
    rows = [["Indicateur", "Période", "Valeur"], ["Décroché", "T3 2026", 0.9]]
    (finding,) = findings(check_sheets(tmp_path, {"Indicateurs": rows}))
    assert finding.cell == "B2"
    assert finding.message.startswith("Période : mois illisible « T3 2026 »")


def test_percent_and_plain_number_above_1_mix_in_indicateurs_is_a_warning(tmp_path: Path) -> None:
    rows = [
        ["Indicateur", "Période", "Valeur", "Cible"],
        ["Décroché", "2026-10", "92 %", 90],
        ["Décroché", "2026-11", Percent(0.92), 0.9],
    ]
    (finding,) = findings(check_sheets(tmp_path, {"Indicateurs": rows}))
    assert (finding.cell, finding.severity) == ("D2", Severity.WARNING)
    assert "même unité" in finding.message


def test_percent_cells_of_a_part_too_big_to_keep_are_read_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sheet part above the quick pass's size is streamed, not held: its percent cells are
    found while the snapshot is open, and say the same."""
    from qep_sync.backends import sheetscan

    rows = [PLAN_HEADER, plan_row("A1", avancement=Percent(1.5)), plan_row("A2", avancement=1.5)]
    monkeypatch.setattr(sheetscan, "QUICK_SCAN_BYTES", 0)
    run = check_sheets(tmp_path, {"Plan d'actions": rows})
    (finding,) = findings(run)
    assert finding.message == "Avancement : 150 % hors de l'intervalle 0 % – 100 %"
    (table,) = run.tables("plan_actions")
    assert table.value(3, "avancement") == pytest.approx(0.015)
