"""The quality lead's consolidated workbook: figures, traceability, formats, and file safety.

docs/contract.md §4. Three service workbooks and a central one (self-assessments and actions of several
services) go through a dry-run sync on the pinned date; the workbook is read back with openpyxl.
Every expected figure below was worked out by hand from the rows written here.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from conftest import TODAY, Percent, make_workbook

from qep_sync.config import parse_config
from qep_sync.core.findings import Severity
from qep_sync.jobs.check import CheckRun
from qep_sync.jobs.consolidate import ViewContext, consolidate, consolidated_level
from qep_sync.jobs.consolidated_workbook import ConsolidationResult, write_view
from qep_sync.jobs.links import Linker
from qep_sync.jobs.sync import SyncRun, run_sync
from qep_sync.jobs.view import SHEETS

D = dt.date
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
MODULE = "Module 1 : Relations générales avec les usagers"
BRCIE_NAME = "Bureau de la représentation et de la communication interministérielle"
BAS_NAME = "Bureau de l'admission au séjour"
CENTRAL = "Central qualité.xlsx"
# File times, Paris wall clock: what Synthèse must show as « Dernière modification ».
MTIMES = {
    "BRCIE.xlsx": dt.datetime(2026, 11, 20, 9, 30),
    "BAS.xlsx": dt.datetime(2026, 11, 25, 17, 5),
    CENTRAL: dt.datetime(2026, 10, 2, 8, 0),
    "standard.xlsx": dt.datetime(2026, 6, 1, 12, 0),
}


def brcie(path: Path) -> None:
    letters = [
        ["N°", "Canal", "Date de réception", "Objet", "Date de réponse", "Agent en charge"],
        ["C1", "Courriel", D(2026, 11, 2), "Demande d'horaires", D(2026, 11, 4), None],  # 2 j
        ["C2", "Courriel", D(2026, 11, 2), "Titre de séjour", D(2026, 11, 16), None],  # 9 j (11/11)
        ["C3", "Courrier", D(2026, 10, 5), "Subvention", D(2026, 10, 20), None],  # 11 j
        ["C4", "Courriel", D(2026, 11, 16), "Rendez-vous", None, "Paul Martin"],  # limite 23/11
        ["C5", "Courrier", D(2026, 11, 20), "Carte grise", None, None],  # limite 11/12
    ]
    actions = [
        ["N° action", "Engagement", "Action", "Responsable", "Échéance", "État",
         "Date de réalisation"],
        ["A1", 1, "Afficher les horaires", "Paul Martin", D(2026, 11, 20), "En cours", None],
        ["A2", 2, "Former l'accueil", "Léa Roux", D(2026, 12, 10), "À faire", None],
        ["A3", 3, "Réviser le courrier type", None, D(2027, 3, 1), "En cours", None],
        ["A4", 1, "Ancienne action", None, D(2026, 10, 1), "Fait", D(2026, 9, 30)],
        ["A5", None, "Action abandonnée", None, D(2026, 1, 1), "Abandonné", None],
        ["A6", 2, "Date impossible", None, "31/02/2026", "En cours", None],  # error in E7
    ]  # fmt: skip
    documents = [
        ["Référence", "Intitulé", "Responsable", "État", "Date prévue", "Date de caducité"],
        ["DOC-1", "Accueil physique", "Paul Martin", "Validé", None, D(2026, 11, 1)],  # Caduc
        ["DOC-2", "Réponse aux courriels", None, "Validé", None, D(2027, 1, 10)],  # 45 j
        ["DOC-3", "Charte Marianne", None, "Validé", None, D(2026, 12, 6)],  # 10 j
        ["DOC-4", "Guide d'accueil", None, "À rédiger", D(2026, 11, 1), None],  # en retard
        ["DOC-5", "Affichage", None, "Validé", None, D(2028, 1, 1)],  # Valide
    ]
    make_workbook(path, {"Délais": letters, "Plan d'actions": actions, "Documents": documents})


def bas(path: Path) -> None:
    letters = [
        ["N°", "Canal", "Date de réception", "Objet", "Date de réponse"],
        ["B1", "Courrier", D(2026, 10, 1), "Naturalisation", D(2026, 10, 8)],  # 5 j
        ["B2", "Réclamation", D(2026, 9, 1), "Accueil", D(2026, 10, 30)],  # 43 j
        ["B3", "Courriel", D(2026, 11, 24), "Rendez-vous", None],  # limite 01/12
        ["B4", "=SUM(A1)", D(2026, 11, 2), "Canal inconnu", None],  # error in B5
    ]
    trainings = [
        ["Agent", "Formation", "Date d'arrivée", "Date prévue", "Date réalisée"],
        ["Marie Curie", "Accueil des publics", D(2026, 3, 15), None, None],  # limite 15/09
        ["Jean Moulin", "Qual-e-pref", None, D(2026, 12, 15), None],
        ["Anne Frank", "Accueil téléphonique", None, D(2026, 9, 30), D(2026, 10, 1)],
    ]
    indicators = [
        ["Indicateur", "Période", "Valeur", "Cible", "Sens", "Unité"],
        ["Taux de décroché", "10/2026", Percent(0.92), Percent(0.85), "≥", "%"],
        ["Temps d'attente", "10/2026", 25, 20, "≤", "minutes"],
    ]
    make_workbook(path, {"Délais": letters, "Formations": trainings, "Indicateurs": indicators})


def central(path: Path) -> None:
    """The quality mission's workbook: rows of several services, told by their Service column."""
    assessments = [
        ["Module", "N° engagement", "Engagement", "Service", "Niveau", "Date d'évaluation",
         "Évaluateur"],
        [MODULE, 1, "Informer", "BRCIE", "Conforme", D(2026, 9, 1), "C. Faivre"],
        [MODULE, 2, "Accueillir", "BRCIE", "Partiellement conforme", D(2026, 9, 1), None],
        [MODULE, 3, "Écouter", "BRCIE", "Non applicable", D(2026, 9, 1), None],
        [MODULE, 1, "Informer", BAS_NAME, "Non conforme", D(2026, 6, 10), "C. Faivre"],
        [MODULE, 2, "Accueillir", "bas", "Conforme", D(2026, 4, 1), None],  # due 01/10
        [MODULE, 3, "Écouter", "BAS", "Conforme", D(2026, 9, 1), None],
        [MODULE, 1, "Informer", "BRCIE", "Non conforme", D(2026, 3, 1), None],  # superseded
        [MODULE, 4, "Orienter", "SIDSIC", "Conforme", D(2026, 9, 1), None],  # no own source
        [MODULE, 5, "Confort", None, "Non évalué", None, None],  # the whole prefecture's
    ]  # fmt: skip
    actions = [
        ["N° action", "Engagement", "Action", "Service pilote", "Échéance", "État"],
        ["P1", 2, "Tracer les courriels", "BAS", D(2026, 11, 1), "En cours"],
        ["P2", 4, "Signalétique du hall", None, D(2026, 12, 20), "À faire"],  # no service: D3
        ["P3", None, "Date illisible", "BRCIE", "bientôt", "En cours"],  # error in E4, for BRCIE
        ["P4", 1, "Relancer le standard", "M. Durand", D(2026, 11, 2), "En cours"],  # a person
    ]
    people = [
        ["Service", "Nom", "Email", "Rôle"],
        ["SIDSIC", "Paul Bernard", "paul.bernard@doubs.gouv.fr", "Correspondant qualité"],
        ["QUALITE", "Claire Faivre", "claire.faivre@doubs.gouv.fr", "Référent qualité"],
    ]
    make_workbook(path, {"Autoévaluation": assessments, "Plan d'actions": actions,
                         "Correspondants": people})  # fmt: skip


def build_consolidated(
    check: CheckRun, today: dt.date, path: Path, *, generated: dt.datetime | None = None
) -> ConsolidationResult:
    context = ViewContext(linker=Linker(path.parent))  # links relative to the workbook
    return write_view(consolidate(check, today, generated, context), path)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> SyncRun:
    """A dry-run sync of the four sources on TODAY (computed values, nothing written)."""
    folder = tmp_path_factory.mktemp("sources")
    brcie(folder / "BRCIE.xlsx")
    bas(folder / "BAS.xlsx")
    central(folder / CENTRAL)
    (folder / "standard.xlsx").write_bytes(b"ceci n'est pas un classeur")
    for name, when in MTIMES.items():
        ns = int(when.replace(tzinfo=ZoneInfo("Europe/Paris")).timestamp()) * 10**9
        os.utime(folder / name, ns=(ns, ns))
    raw = {
        "sources": [
            {"service": "BRCIE", "name": BRCIE_NAME, "xlsx": "BRCIE.xlsx"},
            {"service": "BAS", "name": BAS_NAME, "xlsx": "BAS.xlsx"},
            {"service": "MQ", "name": "Mission qualité", "path": CENTRAL, "central": True},
            {"service": "PSTD", "name": "Pôle standard", "xlsx": "standard.xlsx"},
        ]
    }
    return run_sync(parse_config(raw, folder), TODAY, dry_run=True)


@pytest.fixture
def built(run: SyncRun, tmp_path: Path) -> Path:
    path = tmp_path / "Consolidation qualité.xlsx"
    result = build_consolidated(run.check, TODAY, path)
    assert (result.status, result.path) == ("written", path), result.message
    return path


def data_rows(path: Path, sheet: str) -> list[tuple[Any, ...]]:
    """The rows under the header (row 3) of an owned sheet, as values."""
    book = openpyxl.load_workbook(path)
    return list(book[sheet].iter_rows(min_row=4, values_only=True))


def test_a_new_workbook_has_its_sheets_in_order_copil_first(built: Path) -> None:
    book = openpyxl.load_workbook(built)
    assert book.sheetnames == list(SHEETS)
    assert book.active is not None and book.active.title == "COPIL"
    assert "situation au 26/11/2026" in book["Synthèse"]["A1"].value


def test_synthese_has_one_line_per_real_service_with_hand_computed_figures(
    built: Path, run: SyncRun
) -> None:
    rows = data_rows(built, "Synthèse")
    folder = run.check.sources[0].source.path.parent
    unreadable = "illisible : ce fichier n'est pas un classeur Excel (.xlsx)"
    assert rows[:7] == [
        # service, name, errors, warnings, late actions, expired docs, expiring docs,
        # formalisation late, answered, % on time, late replies, late trainings,
        # engagements evaluated, % compliant, file, last change by a person, freshness, status
        ("BRCIE", BRCIE_NAME, 2, 0, 1, 1, 2, 1, 3, pytest.approx(2 / 3), 1, 0, 2, 0.5,
         str(folder / "BRCIE.xlsx"), MTIMES["BRCIE.xlsx"], "à jour", "lue"),
        ("BAS", BAS_NAME, 1, 0, 1, 0, 0, 0, 2, 0.5, 0, 1, 3, pytest.approx(2 / 3),
         str(folder / "BAS.xlsx"), MTIMES["BAS.xlsx"], "à jour", "lue"),
        ("PSTD", "Pôle standard", 0, 0, 0, 0, 0, 0, 0, None, 0, 0, 0, None,
         str(folder / "standard.xlsx"), MTIMES["standard.xlsx"],
         "sans mise à jour depuis 178 jours", unreadable),  # 1 June → 26 November
        # services the Correspondants sheet names: no workbook of their own
        ("SIDSIC", "SIDSIC", 0, 0, 0, 0, 0, 0, 0, None, 0, 0, 1, 1.0, None, None, None, None),
        ("QUALITE", "QUALITE", 0, 0, 0, 0, 0, 0, 0, None, 0, 0, 0, None, None, None, None, None),
        # P2 (no Service pilote) and P4 (« M. Durand », a person): warnings, P4 late
        ("Non attribué", "lignes sans service connu (voir Anomalies)", 0, 2, 1, 0, 0, 0, 0, None,
         0, 0, 0, None, None, None, None, None),
        # engagement 5, whose Service is empty in the central self-assessment
        ("Tous services", "lignes de toute la préfecture", 0, 0, 0, 0, 0, 0, 0, None, 0, 0, 0,
         None, None, None, None, None),
    ]  # fmt: skip
    assert rows[7] == ("Total", "5 services", 3, 2, 3, 1, 2, 1, 5, pytest.approx(3 / 5), 1, 1,
                       6, pytest.approx(4 / 6), "4 classeurs", None, None, "1 illisible")  # fmt: skip
    central_line = next(r for r in rows if r[0] == "MQ")  # the central workbook, apart
    assert central_line[14:] == (str(folder / CENTRAL), MTIMES[CENTRAL],
                                 "sans mise à jour depuis 55 jours", "lue")  # fmt: skip
    assert not any(r[0] == "M. Durand" for r in rows)


def test_a_service_text_that_names_no_service_is_a_warning_on_its_cell(run: SyncRun) -> None:
    found = {(f.cell, f.message) for f in run.check.report.findings if f.source == CENTRAL
             and f.severity is Severity.WARNING}  # fmt: skip
    assert found == {
        ("D3", "Service pilote : service non renseigné : la ligne est comptée dans « Non "
               "attribué » ; indiquez le service"),
        ("D5", "Service pilote : service inconnu « M. Durand » : la ligne est comptée dans « Non "
               "attribué » ; indiquez le code ou le nom d'un service de la configuration ou de "
               "l'onglet Correspondants"),
    }  # fmt: skip


def test_engagements_list_all_23_with_the_latest_levels_dates_and_actions(
    built: Path,
) -> None:
    book = openpyxl.load_workbook(built)
    ws = book["Engagements"]
    header = [c.value for c in ws[3]]
    assert header == ["Module", "N°", "Engagement", "Niveau consolidé", "Dernière évaluation",
                      "Services à réévaluer", "Actions ouvertes", "Actions en retard",
                      "Services conformes", "Services évalués", "BRCIE", "BAS", "SIDSIC",
                      "Tous services", "Dernière évaluation (source)"]  # fmt: skip
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    assert [r[1] for r in rows] == list(range(1, 24))  # every engagement of the seed
    sept = dt.datetime(2026, 9, 1)
    # Actions: n° 1: A1 late, P4 late (A4 done); n° 2: A2 due soon, P1 late (A6 unreadable).
    assert [r[:14] for r in rows[:5]] == [
        (MODULE, 1, "Informer", "Non conforme", sept, 0, 2, 2, 1, 2, "Conforme",
         "Non conforme", None, None),
        (MODULE, 2, "Accueillir", "Partiellement conforme", sept, 1, 2, 1, 1, 2,
         "Partiellement conforme", "Conforme", None, None),
        (MODULE, 3, "Écouter", "Conforme", sept, 0, 1, 0, 1, 1, "Non applicable", "Conforme",
         None, None),
        (MODULE, 4, "Orienter", "Conforme", sept, 0, 1, 0, 1, 1, None, None, "Conforme", None),
        (MODULE, 5, "Confort", "Non évalué", None, 0, 0, 0, 0, 0, None, None, None,
         "Non évalué"),
    ]  # fmt: skip
    assert rows[5][2] == "Nous veillons au confort de nos espaces d'accueil et d'attente"
    assert rows[20][0] == "Module 2 : Délivrance des CNI-passeports"
    assert all(r[3] == "Non évalué" and r[14] is None for r in rows[5:])


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        (["Conforme", "Partiellement conforme", "Non applicable"], "Partiellement conforme"),
        (["Conforme", "Non conforme", "Partiellement conforme"], "Non conforme"),
        (["Conforme", "Non évalué"], "Conforme"),
        (["Non applicable", "Non applicable"], "Non applicable"),
        (["Non applicable", "Non évalué"], "Non évalué"),
        ([], "Non évalué"),
    ],
)
def test_consolidated_level_is_the_worst_evaluated_one(levels: list[str], expected: str) -> None:
    assert consolidated_level(levels) == expected


def test_delais_groups_by_service_canal_and_month(built: Path) -> None:
    # service, canal, month, received, answered, answered in time, %, median delay, late, waiting
    assert data_rows(built, "Délais") == [
        ("BRCIE", "Courrier", dt.datetime(2026, 10, 1), 1, 1, 1, 1.0, 11, 0, 0),
        ("BRCIE", "Courrier", dt.datetime(2026, 11, 1), 1, 0, 0, None, None, 0, 1),
        ("BRCIE", "Courriel", dt.datetime(2026, 11, 1), 3, 2, 1, 0.5, 5.5, 1, 0),
        ("BAS", "Courrier", dt.datetime(2026, 10, 1), 1, 1, 1, 1.0, 5, 0, 0),
        ("BAS", "Courriel", dt.datetime(2026, 11, 1), 1, 0, 0, None, None, 0, 1),
        ("BAS", "Réclamation", dt.datetime(2026, 9, 1), 1, 1, 0, 0.0, 43, 0, 0),
    ]  # the row with an unknown canal is an anomaly, not a letter of any canal


def test_indicateurs_show_each_indicator_month_by_month_against_its_target(built: Path) -> None:
    book = openpyxl.load_workbook(built)
    ws = book["Indicateurs"]
    header = [c.value for c in ws[3]]
    assert header[:6] == ["Indicateur", "Service", "Unité", "Sens", "Cible", "déc. 2025"]
    assert header[16:] == ["nov. 2026", "Atteint (dernier mois)", "Source (dernier mois)"]
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    months = [None] * 10
    assert [r[:18] for r in rows] == [
        ("Taux de décroché", "BAS", "%", "≥", 0.85, *months, 0.92, None, "Oui"),
        ("Temps d'attente", "BAS", "minutes", "≤", 20, *months, 25, None, "Non"),
    ]  # fmt: skip
    assert ws["P4"].number_format == "0 %"  # October's value, a percentage in the source
    assert ws["E4"].number_format == "0 %" and ws["P5"].number_format == "General"
    assert ws["S4"].hyperlink.target == "../sources0/BAS.xlsx#'Indicateurs'!A2"


EXPECTED_ECHEANCES = [
    # due, days left, kind, service, status, file, sheet, row
    (D(2026, 9, 15), -72, "formation", "BAS", "En retard", "BAS.xlsx", "Formations", 2),
    (D(2026, 10, 1), -56, "autoévaluation", "BAS", "À réévaluer", CENTRAL, "Autoévaluation", 6),
    (D(2026, 11, 1), -25, "action", "BAS", "En retard", CENTRAL, "Plan d'actions", 2),
    (D(2026, 11, 1), -25, "document", "BRCIE", "Caduc", "BRCIE.xlsx", "Documents", 2),
    (D(2026, 11, 1), -25, "document", "BRCIE", "Formalisation en retard", "BRCIE.xlsx",
     "Documents", 5),
    (D(2026, 11, 2), -24, "action", "Non attribué", "En retard", CENTRAL, "Plan d'actions", 5),
    (D(2026, 11, 20), -6, "action", "BRCIE", "En retard", "BRCIE.xlsx", "Plan d'actions", 2),
    (D(2026, 12, 6), 10, "document", "BRCIE", "À renouveler", "BRCIE.xlsx", "Documents", 4),
    (D(2026, 12, 10), 14, "action", "BRCIE", "Échéance proche", "BRCIE.xlsx", "Plan d'actions", 3),
    (D(2026, 12, 10), 14, "autoévaluation", "BAS", "À jour", CENTRAL, "Autoévaluation", 5),
    (D(2026, 12, 15), 19, "formation", "BAS", "Planifiée", "BAS.xlsx", "Formations", 3),
    (D(2026, 12, 20), 24, "action", "Non attribué", "Dans les temps", CENTRAL, "Plan d'actions",
     3),
]  # fmt: skip
EXPECTED_REPONSES = [
    (D(2026, 11, 23), -3, "réponse", "BRCIE", "En retard", "BRCIE.xlsx", "Délais", 5),
    (D(2026, 12, 1), 5, "réponse", "BAS", "En attente", "BAS.xlsx", "Délais", 4),
    (D(2026, 12, 11), 15, "réponse", "BRCIE", "En attente", "BRCIE.xlsx", "Délais", 6),
]  # fmt: skip


def _short(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return (row[0].date(), row[1], row[2], row[3], row[6], Path(row[7]).name, row[8], row[9])


def test_echeances_lists_open_items_late_or_due_within_30_days_soonest_first(
    built: Path,
) -> None:
    rows = data_rows(built, "Échéances")
    assert [_short(r) for r in rows] == EXPECTED_ECHEANCES
    labels = {(Path(r[7]).name, r[9]): (r[4], r[5]) for r in rows if r[8] == "Plan d'actions"}
    assert labels[("BRCIE.xlsx", 2)] == ("A1 – Afficher les horaires", "Paul Martin")


def test_replies_to_letters_have_their_own_sheet(built: Path) -> None:
    assert [_short(r) for r in data_rows(built, "Réponses")] == EXPECTED_REPONSES


@pytest.mark.parametrize("sheet", ["Échéances", "Réponses", "Anomalies", "Engagements",
                                   "Indicateurs", "Synthèse"])  # fmt: skip
def test_every_link_opens_an_existing_sheet_and_cell_of_its_source(
    built: Path, run: SyncRun, sheet: str
) -> None:
    """Each hyperlink is relative to the consolidated workbook and names a sheet and a cell
    that exist in the source."""
    ws = openpyxl.load_workbook(built)[sheet]
    links = [c.hyperlink for row in ws.iter_rows(min_row=4) for c in row if c.hyperlink]
    assert links, sheet
    books: dict[str, Any] = {}
    for link in links:
        path, _, place = link.target.partition("#")
        file = (built.parent / unquote(path)).resolve()
        assert file.is_file(), link.target
        if not place:
            continue
        title, _, cell = place.rpartition("!")
        title = title.strip("'").replace("''", "'")
        book = books.setdefault(file.name, openpyxl.load_workbook(file))
        assert title in book.sheetnames, link.target
        assert re.fullmatch(r"[A-Z]{1,3}[0-9]+", cell), link.target
        assert book[title][cell].row <= book[title].max_row, link.target


def test_echeances_links_open_the_row_their_label_names(built: Path, run: SyncRun) -> None:
    folder = run.check.sources[0].source.path.parent
    ws = openpyxl.load_workbook(built)["Échéances"]
    books = {name: openpyxl.load_workbook(folder / name)
             for name in ("BRCIE.xlsx", "BAS.xlsx", CENTRAL)}  # fmt: skip
    for row in ws.iter_rows(min_row=4):
        label, link = row[4].value, row[7].hyperlink
        path, _, place = link.target.partition("#")
        title, _, cell = place.rpartition("!")
        title = title.strip("'").replace("''", "'")
        first_cell = books[Path(unquote(path)).name][title][cell].value
        assert str(first_cell) in label, (label, link.target)


def test_anomalies_list_every_finding_with_its_place_and_the_unreadable_source(
    built: Path, run: SyncRun
) -> None:
    rows = data_rows(built, "Anomalies")
    findings = run.check.report.findings
    severity = {Severity.ERROR: "Erreur", Severity.WARNING: "Attention"}
    # a finding in the central workbook counts for the service named in its row
    owner = {(CENTRAL, "E4"): "BRCIE", (CENTRAL, "D3"): "Non attribué",
             (CENTRAL, "D5"): "Non attribué"}  # fmt: skip
    expected = [(owner[f.source, f.cell] if f.source == CENTRAL else f.service, f.source,
                 f.sheet, f.cell, f.column, f.value or None, f.message, severity[f.severity])
                for f in findings]  # fmt: skip
    unreadable = run.check.sources[3].report.error
    expected.append(("PSTD", "standard.xlsx", None, None, None, None,
                     f"classeur non lu : {unreadable}", "Erreur"))  # fmt: skip
    assert [(r[0], Path(r[1]).name, *r[2:]) for r in rows] == expected
    assert [(r[0], Path(r[1]).name, r[3], r[4], r[5]) for r in rows[:3]] == [
        ("BRCIE", "BRCIE.xlsx", "E7", "Échéance", "31/02/2026"),
        ("BAS", "BAS.xlsx", "B5", "Canal", "=SUM(A1)"),
        ("BRCIE", CENTRAL, "E4", "Échéance", "bientôt"),
    ]


def test_a_cell_text_that_looks_like_a_formula_stays_text(built: Path) -> None:
    ws = openpyxl.load_workbook(built)["Anomalies"]
    cell = next(c for c in ws["F"] if c.value == "=SUM(A1)")
    assert cell.data_type == "s"
    with zipfile.ZipFile(built) as zf:
        assert not any(b"<f>" in zf.read(n) for n in zf.namelist() if "worksheets" in n)


def test_sheet_xml_rows_and_cells_are_in_strict_order(built: Path) -> None:
    """Excel refuses a sheet with a row or a cell twice (the data rows are written as XML)."""
    with zipfile.ZipFile(built) as zf:
        parts = [n for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(parts) == len(SHEETS)
        for part in parts:
            root = ElementTree.fromstring(zf.read(part))
            rows = root.findall(f"{MAIN}sheetData/{MAIN}row")
            numbers = [int(r.get("r", "0")) for r in rows]
            assert numbers == sorted(set(numbers)) and numbers[:3] == [1, 2, 3], part
            for row in rows:
                cols = [openpyxl.utils.column_index_from_string(re.sub(r"\d", "", c.get("r", "")))
                        for c in row]  # fmt: skip
                assert cols == sorted(set(cols)), (part, row.get("r"))


def test_headers_are_bold_frozen_and_filtered_and_cells_are_formatted(built: Path) -> None:
    book = openpyxl.load_workbook(built)
    for title in SHEETS:
        ws = book[title]
        assert ws["A3"].font.b, title
        assert ws.freeze_panes is not None and ws.freeze_panes.endswith("4"), title
        assert ws.auto_filter.ref is not None and ws.auto_filter.ref.startswith("A3:"), title
        assert ws.column_dimensions["A"].width > 5, title
        if title != "Tendances":  # figures month by month, no status to colour
            assert ws.conditional_formatting, title  # statuses and late counts in colour
    synthese, echeances = book["Synthèse"], book["Échéances"]
    assert synthese.auto_filter.ref == "A3:R10"  # the services, not the total line
    assert synthese["J4"].number_format == "0 %"
    assert synthese["P4"].number_format == "DD/MM/YYYY HH:MM"
    assert synthese["A11"].font.b  # total line
    assert echeances["A4"].number_format == "DD/MM/YYYY"
    assert book["Délais"]["C4"].number_format == "MM/YYYY"
    red = [rule for cf in echeances.conditional_formatting for rule in cf.rules
           if rule.formula == ['"En retard"']]  # fmt: skip
    assert red and red[0].dxf.fill.fgColor.rgb.endswith("FFC7CE")


def test_synthese_has_bar_charts_of_replies_on_time_and_compliance(built: Path) -> None:
    with zipfile.ZipFile(built) as zf:
        charts = sorted(n for n in zf.namelist() if re.match(r"xl/charts/chart\d+\.xml$", n))
        xml = [zf.read(n).decode() for n in charts]
    bars = [x for x in xml if "'Synthèse'!" in x]
    assert len(bars) == 2
    assert all(re.search(r"<(c:)?barChart>", x) for x in bars)
    # One bar per real service (rows 4–8), not « Non attribué » nor « Tous services ».
    assert "'Synthèse'!$J$4:$J$8" in bars[0] and "Réponses dans le délai" in bars[0]
    assert "'Synthèse'!$N$4:$N$8" in bars[1] and "Engagements conformes" in bars[1]
    assert "'Synthèse'!$A$4:$A$8" in bars[0]
    assert all('<showSerName val="0"/>' in x and '<showCatName val="0"/>' in x for x in bars)


# Synthèse: 2 bars; Indicateurs: one line chart per indicator (2); Tendances: one per figure.
CHARTS = 2 + 2 + 5


def test_the_leads_own_sheets_and_sheet_order_survive_a_rebuild(built: Path, run: SyncRun) -> None:
    book = openpyxl.load_workbook(built)
    notes = book.create_sheet("Notes COPIL", 1)
    notes["A1"] = "Points à voir avec le secrétaire général"
    notes["B2"] = "=Synthèse!C4*2"
    book.move_sheet("Anomalies", offset=-book.index(book["Anomalies"]))  # anomalies first
    book["Synthèse"]["A50"] = "écrit à la main dans un onglet de qep-sync"
    book.save(built)

    result = build_consolidated(run.check, TODAY, built)

    assert result.status == "written", result.message
    book = openpyxl.load_workbook(built)
    assert book.sheetnames == ["Anomalies", "COPIL", "Notes COPIL", "Synthèse", "Engagements",
                               "Échéances", "Réponses", "Délais", "Indicateurs",
                               "Tendances"]  # fmt: skip
    assert book["Notes COPIL"]["A1"].value == "Points à voir avec le secrétaire général"
    assert book["Notes COPIL"]["B2"].value == "=Synthèse!C4*2"
    assert book["Synthèse"]["A50"].value is None  # owned sheets are rebuilt from scratch
    assert book["Synthèse"]["A4"].value == "BRCIE"
    with zipfile.ZipFile(built) as zf:
        charts = len([n for n in zf.namelist() if n.startswith("xl/charts/chart")])
    assert charts == CHARTS  # the old sheets' charts went with them


def test_a_missing_owned_sheet_comes_back_after_its_predecessor(built: Path, run: SyncRun) -> None:
    book = openpyxl.load_workbook(built)
    del book["Délais"]
    book.create_sheet("Mes graphiques")
    book.save(built)
    assert build_consolidated(run.check, TODAY, built).status == "written"
    assert openpyxl.load_workbook(built).sheetnames == [*SHEETS, "Mes graphiques"]


@pytest.mark.parametrize("owner", ["~${}", ".~lock.{}#"], ids=["excel", "libreoffice"])
def test_an_open_workbook_is_skipped_and_left_as_it_is(
    built: Path, run: SyncRun, owner: str
) -> None:
    before = built.read_bytes()
    lock = built.with_name(owner.format(built.name))
    lock.write_bytes(b"owner")

    result = build_consolidated(run.check, TODAY + dt.timedelta(days=1), built)

    assert result.status == "skipped"
    assert "ouvert" in result.message and "nouvel essai" in result.message
    assert built.read_bytes() == before
    assert sorted(p.name for p in built.parent.iterdir()) == sorted([built.name, lock.name])


@pytest.mark.parametrize(
    "content",
    [b"pas un classeur du tout", b"PK\x03\x04tronque", b"PK\x05\x06" + b"\x00" * 18],
    ids=["text", "truncated-zip", "empty-zip"],
)
def test_an_existing_file_that_is_not_a_workbook_is_never_overwritten(
    tmp_path: Path, run: SyncRun, content: bytes
) -> None:
    path = tmp_path / "Consolidation qualité.xlsx"
    path.write_bytes(content)

    result = build_consolidated(run.check, TODAY, path)

    assert result.status == "failed"
    assert "n'est pas un classeur lisible" in result.message and "pas remplacé" in result.message
    assert path.read_bytes() == content
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_the_generation_time_goes_in_the_title(run: SyncRun, tmp_path: Path) -> None:
    path = tmp_path / "c.xlsx"
    when = dt.datetime(2026, 11, 26, 7, 45)
    assert build_consolidated(run.check, TODAY, path, generated=when).status == "written"
    title = openpyxl.load_workbook(path)["Échéances"]["A1"].value
    assert title == "Échéances – situation au 26/11/2026, générée le 26/11/2026 à 07:45"
