"""The computed columns of docs/contract.md §3 and the edge cases of §3.1, tracker by tracker.

Each test writes a real workbook, runs ``run_check`` on it and computes the owned columns
with ``compute_table`` for a pinned date (``TODAY``, a Thursday, unless the test says
otherwise). Values are compared by owned-column title, so a test reads like the sheet.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from conftest import TODAY, Percent, make_workbook

from qep_sync.config import DEFAULT_DELAIS, Rules, config_for_files, parse_config
from qep_sync.core.compute import compute_table, control_text
from qep_sync.core.findings import Finding, Severity
from qep_sync.jobs.check import run_check
from qep_sync.jobs.sync import run_sync
from qep_sync.workdays import WorkingCalendar

D = dt.date
TRACKERS = {
    "Plan d'actions": "plan_actions",
    "Documents": "documents",
    "Formations": "formations",
    "Délais": "courriers",
    "Autoévaluation": "autoevaluation",
    "Indicateurs": "indicateurs",
}
Row = dict[str, Any]


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def computed(
    tmp_path: Path,
    sheet: str,
    rows: list[list[Any]],
    *,
    today: dt.date = TODAY,
    rules: Rules | None = None,
    cal: WorkingCalendar | None = None,
) -> list[Row]:
    """The owned cells of each data row, by owned-column title (``Contrôle`` included)."""
    path = make_workbook(tmp_path / f"suivi-{len(list(tmp_path.iterdir()))}.xlsx", {sheet: rows})
    run = run_check(config_for_files([path]), today)
    assert run.report.sources[0].error is None
    (table,) = run.tables(TRACKERS[sheet])
    out = compute_table(table, today, rules or Rules(), cal or WorkingCalendar())
    titles = table.sheet.spec.owned_titles
    return [dict(zip(titles, out[row], strict=True)) for row in sorted(out)]


def one(tmp_path: Path, sheet: str, header: list[str], row: list[Any], **kwargs: Any) -> Row:
    (result,) = computed(tmp_path, sheet, [header, row], **kwargs)
    return result


# --- plan_actions ---------------------------------------------------------------------------

PLAN = ["N° action", "Action", "Échéance", "État", "Date de réalisation", "Email responsable"]


def action(tmp_path: Path, due: Any, state: str = "En cours", done: Any = None,
           email: Any = None, **kwargs: Any) -> Row:  # fmt: skip
    values = ["A1", "Accueil", due, state, done, email]
    return one(tmp_path, "Plan d'actions", PLAN, values, **kwargs)


def test_action_due_today_is_echeance_proche_with_0_days(tmp_path: Path) -> None:
    row = action(tmp_path, TODAY)
    assert row == {"Jours restants": 0, "Statut": "Échéance proche", "Contrôle": None}


@pytest.mark.parametrize(
    ("offset", "status"),
    [(-30, "En retard"), (-1, "En retard"), (0, "Échéance proche"), (1, "Échéance proche"),
     (15, "Échéance proche"), (16, "Dans les temps"), (400, "Dans les temps")],
)  # fmt: skip
def test_action_status_and_days_left_on_the_default_edges(
    tmp_path: Path, offset: int, status: str
) -> None:
    row = action(tmp_path, days(offset))
    assert (row["Jours restants"], row["Statut"]) == (offset, status)


@pytest.mark.parametrize(
    ("threshold", "offset", "status"),
    [(5, 5, "Échéance proche"), (5, 6, "Dans les temps"), (5, -1, "En retard"),
     (0, 0, "Échéance proche"), (0, 1, "Dans les temps"), (30, 30, "Échéance proche"),
     (30, 31, "Dans les temps")],
)  # fmt: skip
def test_action_status_follows_a_custom_echeance_proche_jours(
    tmp_path: Path, threshold: int, offset: int, status: str
) -> None:
    row = action(tmp_path, days(offset), rules=Rules(echeance_proche_jours=threshold))
    assert (row["Jours restants"], row["Statut"]) == (offset, status)


def test_action_fait_is_terminee_with_empty_days_left(tmp_path: Path) -> None:
    row = action(tmp_path, days(-40), "Fait", days(-41))
    assert row == {"Jours restants": None, "Statut": "Terminée", "Contrôle": None}


def test_action_abandonne_is_abandonnee_with_empty_days_left(tmp_path: Path) -> None:
    row = action(tmp_path, days(3), "Abandonné")
    assert row == {"Jours restants": None, "Statut": "Abandonnée", "Contrôle": None}


def test_action_abandonne_with_unreadable_echeance_is_still_abandonnee(tmp_path: Path) -> None:
    row = action(tmp_path, "31/02/2022", "Abandonné")
    assert row == {
        "Jours restants": None,
        "Statut": "Abandonnée",
        "Contrôle": "Échéance : date illisible « 31/02/2022 »",
    }


def test_action_fait_with_unreadable_echeance_is_still_terminee(tmp_path: Path) -> None:
    row = action(tmp_path, "31/02/2022", "Fait", days(-2))
    assert (row["Jours restants"], row["Statut"]) == (None, "Terminée")


def test_open_action_with_unreadable_echeance_has_empty_cells_and_exact_control_text(
    tmp_path: Path,
) -> None:
    row = action(tmp_path, "31/02/2022")
    assert row == {
        "Jours restants": None,
        "Statut": None,
        "Contrôle": "Échéance : date illisible « 31/02/2022 »",
    }


def test_action_with_invalid_etat_has_empty_computed_cells_but_control_filled(
    tmp_path: Path,
) -> None:
    row = action(tmp_path, days(3), "Terminer")
    assert (row["Jours restants"], row["Statut"]) == (None, None)
    assert row["Contrôle"] == (
        "État : « Terminer » n'est pas une valeur autorisée "
        "(valeurs possibles : À faire, En cours, Fait, Abandonné)"
    )


def test_action_etat_matches_ignoring_case_and_accents_with_no_finding(tmp_path: Path) -> None:
    row = action(tmp_path, days(20), "  a FAIRE ")
    assert row == {"Jours restants": 20, "Statut": "Dans les temps", "Contrôle": None}


def test_action_unrelated_anomaly_does_not_blank_the_computed_cells(tmp_path: Path) -> None:
    row = action(tmp_path, days(-1), email="pas-une-adresse")
    assert (row["Jours restants"], row["Statut"]) == (-1, "En retard")
    error = "Email responsable : adresse électronique invalide « pas-une-adresse »"
    assert row["Contrôle"] == error


# --- documents ------------------------------------------------------------------------------

DOC = ["Référence", "Intitulé", "État", "Date prévue", "Date de mise à jour",
       "Périodicité de révision (mois)", "Date de caducité"]  # fmt: skip


def document(tmp_path: Path, state: str, planned: Any = None, updated: Any = None,
             months: Any = None, expiry: Any = None, **kwargs: Any) -> Row:  # fmt: skip
    values = ["FP-01", "Accueil physique", state, planned, updated, months, expiry]
    return one(tmp_path, "Documents", DOC, values, **kwargs)


def test_document_validated_expiring_today_is_a_renouveler_0_days_not_caduc(
    tmp_path: Path,
) -> None:
    row = document(tmp_path, "Validé", expiry=TODAY)
    assert row == {"Prochaine échéance": TODAY, "Jours restants": 0, "Statut": "À renouveler",
                   "Contrôle": None}  # fmt: skip


@pytest.mark.parametrize(
    ("offset", "status"),
    [(-1, "Caduc"), (0, "À renouveler"), (1, "À renouveler"), (60, "À renouveler"),
     (61, "Valide")],
)  # fmt: skip
def test_document_validated_status_on_the_default_edges(
    tmp_path: Path, offset: int, status: str
) -> None:
    row = document(tmp_path, "Validé", expiry=days(offset))
    assert (row["Prochaine échéance"], row["Jours restants"], row["Statut"]) == (
        days(offset), offset, status
    )  # fmt: skip


@pytest.mark.parametrize(
    ("offset", "status"), [(-1, "Caduc"), (0, "À renouveler"), (30, "À renouveler"), (31, "Valide")]
)
def test_document_validated_status_follows_a_custom_document_alerte_jours(
    tmp_path: Path, offset: int, status: str
) -> None:
    row = document(tmp_path, "Validé", expiry=days(offset), rules=Rules(document_alerte_jours=30))
    assert (row["Jours restants"], row["Statut"]) == (offset, status)


def test_document_next_date_is_the_review_date_when_it_comes_before_the_expiry(
    tmp_path: Path,
) -> None:
    # 31/08/2026 + 6 months = 28/02/2027 (EDATE), before the expiry of 30/06/2027
    row = document(tmp_path, "Validé", updated=D(2026, 8, 31), months=6, expiry=D(2027, 6, 30))
    assert row["Prochaine échéance"] == D(2027, 2, 28)
    assert (row["Jours restants"], row["Statut"]) == (94, "Valide")


def test_document_next_date_is_the_expiry_when_it_comes_before_the_review_date(
    tmp_path: Path,
) -> None:
    row = document(tmp_path, "Validé", updated=D(2026, 8, 31), months=6, expiry=D(2027, 1, 15))
    assert row["Prochaine échéance"] == D(2027, 1, 15)
    assert (row["Jours restants"], row["Statut"]) == (50, "À renouveler")


def test_document_review_date_alone_is_update_plus_periodicity_edate(tmp_path: Path) -> None:
    row = document(tmp_path, "Validé", updated=D(2026, 5, 31), months=6)
    assert row == {"Prochaine échéance": D(2026, 11, 30), "Jours restants": 4,
                   "Statut": "À renouveler", "Contrôle": None}  # fmt: skip


def test_document_review_date_in_the_past_is_caduc(tmp_path: Path) -> None:
    row = document(tmp_path, "Validé", updated=D(2025, 5, 25), months=18)
    assert (row["Prochaine échéance"], row["Jours restants"], row["Statut"]) == (
        D(2026, 11, 25), -1, "Caduc"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("updated", "months"), [(None, None), (D(2026, 1, 5), None), (None, 12)],
    ids=["no-dates", "update-without-periodicity", "periodicity-without-update"],
)  # fmt: skip
def test_document_validated_without_review_nor_expiry_is_valide_with_a_warning(
    tmp_path: Path, updated: Any, months: Any
) -> None:
    row = document(tmp_path, "Validé", updated=updated, months=months)
    assert (row["Prochaine échéance"], row["Jours restants"], row["Statut"]) == (
        None, None, "Valide"
    )  # fmt: skip
    assert row["Contrôle"].startswith("Attention — ")
    assert "révision ni de caducité" in row["Contrôle"]


@pytest.mark.parametrize("state", ["À rédiger", "En rédaction"])
def test_document_to_write_past_its_planned_date_is_formalisation_en_retard(
    tmp_path: Path, state: str
) -> None:
    row = document(tmp_path, state, planned=days(-1))
    assert row == {"Prochaine échéance": days(-1), "Jours restants": -1,
                   "Statut": "Formalisation en retard", "Contrôle": None}  # fmt: skip


@pytest.mark.parametrize("offset", [0, 1, 90])
def test_document_to_write_planned_today_or_later_is_en_cours_de_formalisation(
    tmp_path: Path, offset: int
) -> None:
    row = document(tmp_path, "À rédiger", planned=days(offset))
    assert (row["Prochaine échéance"], row["Jours restants"], row["Statut"]) == (
        days(offset), offset, "En cours de formalisation"
    )  # fmt: skip


def test_document_to_write_ignores_expiry_and_review_dates(tmp_path: Path) -> None:
    row = document(tmp_path, "En rédaction", planned=days(10), expiry=days(-5),
                   updated=D(2020, 1, 1), months=1)  # fmt: skip
    assert (row["Prochaine échéance"], row["Statut"]) == (days(10), "En cours de formalisation")


def test_document_to_write_without_planned_date_is_en_cours_with_a_warning(
    tmp_path: Path,
) -> None:
    row = document(tmp_path, "À rédiger")
    assert (row["Prochaine échéance"], row["Jours restants"], row["Statut"]) == (
        None, None, "En cours de formalisation"
    )  # fmt: skip
    assert row["Contrôle"].startswith("Attention — ")
    assert "Date prévue" in row["Contrôle"]


def test_document_archived_is_archive_with_no_date_and_no_days_left(tmp_path: Path) -> None:
    row = document(tmp_path, "Archivé", planned=days(-9), updated=D(2020, 1, 1), months=12,
                   expiry=days(-100))  # fmt: skip
    assert row == {"Prochaine échéance": None, "Jours restants": None, "Statut": "Archivé",
                   "Contrôle": None}  # fmt: skip


def test_document_validated_with_unreadable_expiry_has_empty_computed_cells(
    tmp_path: Path,
) -> None:
    row = document(tmp_path, "Validé", updated=D(2026, 1, 1), months=24, expiry="31/02/2027")
    assert (row["Prochaine échéance"], row["Jours restants"], row["Statut"]) == (None, None, None)
    assert row["Contrôle"] == "Date de caducité : date illisible « 31/02/2027 »"


# --- formations -----------------------------------------------------------------------------

FORM = ["Agent", "Formation", "Date d'arrivée", "Date prévue", "Date réalisée"]


def training(tmp_path: Path, arrived: Any = None, planned: Any = None, done: Any = None,
             **kwargs: Any) -> Row:  # fmt: skip
    values = ["Camille Martin", "Accueil", arrived, planned, done]
    return one(tmp_path, "Formations", FORM, values, **kwargs)


def test_training_planned_date_wins_over_arrival_plus_delay(tmp_path: Path) -> None:
    row = training(tmp_path, arrived=D(2026, 1, 10), planned=D(2027, 1, 15))
    assert row == {"Date limite": D(2027, 1, 15), "Statut": "Planifiée", "Contrôle": None}


@pytest.mark.parametrize(
    ("arrived", "limit"),
    [(D(2026, 8, 31), D(2027, 2, 28)), (D(2027, 8, 31), D(2028, 2, 29)),
     (D(2026, 5, 31), D(2026, 11, 30)), (D(2026, 6, 15), D(2026, 12, 15))],
)  # fmt: skip
def test_training_limit_is_arrival_plus_6_months_edate(
    tmp_path: Path, arrived: dt.date, limit: dt.date
) -> None:
    row = training(tmp_path, arrived=arrived)
    assert (row["Date limite"], row["Statut"]) == (limit, "À planifier")


def test_training_limit_follows_a_custom_formation_delai_mois(tmp_path: Path) -> None:
    rules = Rules(formation_delai_mois=3)
    assert training(tmp_path, arrived=D(2026, 8, 31), rules=rules)["Date limite"] == D(2026, 11, 30)
    row = training(tmp_path, arrived=D(2026, 8, 25), rules=rules)
    assert (row["Date limite"], row["Statut"]) == (D(2026, 11, 25), "En retard")
    row = training(tmp_path, arrived=D(2026, 8, 25))
    assert (row["Date limite"], row["Statut"]) == (D(2027, 2, 25), "À planifier")


def test_training_done_is_realisee_even_past_its_limit(tmp_path: Path) -> None:
    row = training(tmp_path, arrived=D(2025, 1, 1), done=D(2025, 9, 1))
    assert row == {"Date limite": D(2025, 7, 1), "Statut": "Réalisée", "Contrôle": None}


@pytest.mark.parametrize(
    ("arrived", "planned", "status"),
    [(D(2026, 5, 25), None, "En retard"), (D(2026, 5, 26), None, "À planifier"),
     (None, days(-1), "En retard"), (None, TODAY, "Planifiée")],
    ids=["arrival-limit-yesterday", "arrival-limit-today", "planned-yesterday", "planned-today"],
)  # fmt: skip
def test_training_is_late_only_strictly_before_today(
    tmp_path: Path, arrived: Any, planned: Any, status: str
) -> None:
    assert training(tmp_path, arrived=arrived, planned=planned)["Statut"] == status


def test_training_with_planned_date_in_the_future_is_planifiee(tmp_path: Path) -> None:
    row = training(tmp_path, planned=days(30))
    assert (row["Date limite"], row["Statut"]) == (days(30), "Planifiée")


def test_training_without_any_date_is_a_planifier_with_no_limit(tmp_path: Path) -> None:
    assert training(tmp_path) == {"Date limite": None, "Statut": "À planifier", "Contrôle": None}


def test_training_done_in_the_future_is_an_error_and_blanks_the_cells(tmp_path: Path) -> None:
    row = training(tmp_path, arrived=D(2026, 9, 1), done=days(1))
    assert (row["Date limite"], row["Statut"]) == (None, None)
    assert "dans le futur" in row["Contrôle"]


# --- courriers ------------------------------------------------------------------------------

MAIL = ["N°", "Canal", "Date de réception", "Date de réponse"]
FRIDAY = D(2026, 10, 2)  # a Friday; a 5-day target ends on Friday 9 October


def letter(tmp_path: Path, received: Any, replied: Any = None, canal: str = "Courriel",
           **kwargs: Any) -> Row:  # fmt: skip
    return one(tmp_path, "Délais", MAIL, ["C-1", canal, received, replied], **kwargs)


def test_courriel_answered_on_the_saturday_after_a_friday_limit_is_in_time(
    tmp_path: Path,
) -> None:
    row = letter(tmp_path, FRIDAY, D(2026, 10, 10))
    assert row == {"Date limite de réponse": D(2026, 10, 9), "Délai (jours ouvrés)": 5,
                   "Dans le délai": "Oui", "Statut": "Répondu dans le délai",
                   "Contrôle": None}  # fmt: skip


@pytest.mark.parametrize(
    ("replied", "delay", "in_time", "status"),
    [(D(2026, 10, 9), 5, "Oui", "Répondu dans le délai"),
     (D(2026, 10, 11), 5, "Oui", "Répondu dans le délai"),
     (D(2026, 10, 12), 6, "Non", "Répondu hors délai"),
     (D(2026, 10, 8), 4, "Oui", "Répondu dans le délai")],
    ids=["on-the-limit", "sunday-after", "monday-after", "day-before"],
)  # fmt: skip
def test_courriel_delay_exactly_target_is_in_time_and_target_plus_one_is_not(
    tmp_path: Path, replied: dt.date, delay: int, in_time: str, status: str
) -> None:
    row = letter(tmp_path, FRIDAY, replied)
    assert (row["Délai (jours ouvrés)"], row["Dans le délai"], row["Statut"]) == (
        delay, in_time, status
    )  # fmt: skip


def test_reply_on_the_reception_day_has_a_delay_of_0(tmp_path: Path) -> None:
    row = letter(tmp_path, FRIDAY, FRIDAY)
    assert (row["Délai (jours ouvrés)"], row["Dans le délai"]) == (0, "Oui")


def test_reply_over_the_weekend_after_a_friday_reception_has_a_delay_of_0(tmp_path: Path) -> None:
    row = letter(tmp_path, FRIDAY, D(2026, 10, 4))
    assert (row["Délai (jours ouvrés)"], row["Statut"]) == (0, "Répondu dans le délai")


@pytest.mark.parametrize(
    ("today", "status"),
    [(D(2026, 10, 5), "En attente"), (D(2026, 10, 9), "En attente"),
     (D(2026, 10, 10), "En retard"), (D(2026, 10, 12), "En retard")],
    ids=["before", "limit-day", "day-after-limit", "monday-after"],
)  # fmt: skip
def test_unanswered_is_en_retard_only_when_today_is_after_the_limit(
    tmp_path: Path, today: dt.date, status: str
) -> None:
    row = letter(tmp_path, FRIDAY, today=today)
    assert row == {"Date limite de réponse": D(2026, 10, 9), "Délai (jours ouvrés)": None,
                   "Dans le délai": None, "Statut": status, "Contrôle": None}  # fmt: skip


def test_reply_before_reception_is_an_error_and_every_computed_cell_is_empty(
    tmp_path: Path,
) -> None:
    row = letter(tmp_path, FRIDAY, D(2026, 10, 1))
    assert row == {
        "Date limite de réponse": None,
        "Délai (jours ouvrés)": None,
        "Dans le délai": None,
        "Statut": None,
        "Contrôle": (
            "Date de réponse : réponse datée du 01/10/2026, avant la réception (02/10/2026)"
        ),
    }


@pytest.mark.parametrize(
    ("canal", "limit"),
    [("Courriel", D(2026, 10, 9)), ("Courrier", D(2026, 10, 23)),
     ("Réclamation", D(2026, 10, 23)), ("Suggestion", D(2026, 10, 23)),
     ("mail", D(2026, 10, 9)), ("reclamation", D(2026, 10, 23))],
)  # fmt: skip
def test_default_target_per_canal(tmp_path: Path, canal: str, limit: dt.date) -> None:
    row = letter(tmp_path, FRIDAY, canal=canal)
    assert (row["Date limite de réponse"], row["Contrôle"]) == (limit, None)


def test_custom_targets_from_the_rules(tmp_path: Path) -> None:
    rules = Rules(delai_reponse_jours_ouvres=dict(DEFAULT_DELAIS, Courriel=3, Réclamation=30))
    row = letter(tmp_path, FRIDAY, D(2026, 10, 8), rules=rules)
    assert row["Date limite de réponse"] == D(2026, 10, 7)
    assert (row["Délai (jours ouvrés)"], row["Dans le délai"], row["Statut"]) == (
        4, "Non", "Répondu hors délai"
    )  # fmt: skip
    # 30 working days from Friday 2 October, 11 November (a Wednesday) not counted
    row = letter(tmp_path, FRIDAY, D(2026, 11, 16), canal="Réclamation", rules=rules)
    assert row["Date limite de réponse"] == D(2026, 11, 16)
    assert (row["Délai (jours ouvrés)"], row["Dans le délai"]) == (30, "Oui")
    row = letter(tmp_path, FRIDAY, canal="Courrier", rules=rules)
    assert row["Date limite de réponse"] == D(2026, 10, 23)


def test_14_july_inside_the_window_shifts_the_limit(tmp_path: Path) -> None:
    # Friday 11 July 2025, Monday 14 July is a holiday: 15, 16, 17, 18, 21
    row = letter(tmp_path, D(2025, 7, 11), D(2025, 7, 21), today=D(2025, 8, 1))
    assert row["Date limite de réponse"] == D(2025, 7, 21)
    assert (row["Délai (jours ouvrés)"], row["Dans le délai"]) == (5, "Oui")
    row = letter(tmp_path, D(2025, 7, 11), D(2025, 7, 22), today=D(2025, 8, 1))
    assert (row["Délai (jours ouvrés)"], row["Dans le délai"]) == (6, "Non")


def test_11_november_inside_the_window_shifts_the_limit(tmp_path: Path) -> None:
    # Friday 6 November 2026: 9, 10, (11), 12, 13, 16
    row = letter(tmp_path, D(2026, 11, 6))
    assert (row["Date limite de réponse"], row["Statut"]) == (D(2026, 11, 16), "En retard")


def test_christmas_and_new_year_inside_the_window_shift_a_15_day_limit(tmp_path: Path) -> None:
    row = letter(tmp_path, D(2026, 12, 18), canal="Courrier", today=D(2026, 12, 18))
    assert (row["Date limite de réponse"], row["Statut"]) == (D(2027, 1, 12), "En attente")


def _sync_courriers(tmp_path: Path, calendar: dict[str, Any], row: list[Any],
                    today: dt.date) -> Row:  # fmt: skip
    path = make_workbook(tmp_path / "delais.xlsx", {"Délais": [MAIL, row]})
    raw = {"sources": [{"service": "BRCIE", "xlsx": str(path)}], "calendar": calendar}
    result = run_sync(parse_config(raw, tmp_path), today, dry_run=True)
    (table,) = result.check.tables("courriers")
    ((_, values),) = table.computed.items()
    return dict(zip(table.sheet.spec.owned_titles, values, strict=True))


def test_closure_day_from_the_config_shifts_the_limit_in_a_sync(tmp_path: Path) -> None:
    # Friday 6 November 2026, Tuesday 10 closed, Wednesday 11 a holiday: 9, 12, 13, 16, 17
    row = _sync_courriers(tmp_path, {"closure_days": ["2026-11-10"]},
                          ["C-1", "Courriel", D(2026, 11, 6), D(2026, 11, 17)], TODAY)  # fmt: skip
    assert row["Date limite de réponse"] == D(2026, 11, 17)
    assert (row["Délai (jours ouvrés)"], row["Dans le délai"]) == (5, "Oui")


def test_worked_whit_monday_from_the_config_counts_in_a_sync(tmp_path: Path) -> None:
    # Friday 22 May 2026; Whit Monday 25 worked (journée de solidarité): 25, 26, 27, 28, 29
    row = _sync_courriers(tmp_path, {"worked_holidays": ["2026-05-25"]},
                          ["C-1", "Courriel", D(2026, 5, 22), D(2026, 6, 1)], TODAY)  # fmt: skip
    assert row["Date limite de réponse"] == D(2026, 5, 29)
    assert (row["Délai (jours ouvrés)"], row["Dans le délai"]) == (6, "Non")


def test_whit_monday_is_not_worked_by_default_in_a_sync(tmp_path: Path) -> None:
    row = _sync_courriers(tmp_path, {}, ["C-1", "Courriel", D(2026, 5, 22), D(2026, 6, 1)], TODAY)
    assert row["Date limite de réponse"] == D(2026, 6, 1)
    assert (row["Délai (jours ouvrés)"], row["Dans le délai"]) == (5, "Oui")


def test_courrier_with_invalid_canal_has_empty_computed_cells(tmp_path: Path) -> None:
    row = letter(tmp_path, FRIDAY, D(2026, 10, 5), canal="Pigeon")
    assert [row[t] for t in list(row)[:4]] == [None, None, None, None]
    assert row["Contrôle"].startswith("Canal : « Pigeon » n'est pas une valeur autorisée")


# --- autoevaluation -------------------------------------------------------------------------

AUTO = ["Module", "N° engagement", "Niveau", "Date d'évaluation"]


def assessment(tmp_path: Path, level: str, evaluated: Any = None, **kwargs: Any) -> Row:
    return one(tmp_path, "Autoévaluation", AUTO, ["Accueil", 1, level, evaluated], **kwargs)


@pytest.mark.parametrize("level", ["Non évalué", "Non applicable"])
def test_assessment_not_evaluated_or_not_applicable_has_its_status_and_no_date(
    tmp_path: Path, level: str
) -> None:
    row = assessment(tmp_path, level, D(2025, 1, 15))
    assert row == {"Prochaine évaluation": None, "Statut": level, "Contrôle": None}


@pytest.mark.parametrize(
    ("evaluated", "due", "status"),
    [(D(2026, 5, 26), D(2026, 11, 26), "À jour"), (D(2026, 5, 25), D(2026, 11, 25), "À réévaluer"),
     (D(2026, 5, 31), D(2026, 11, 30), "À jour"), (D(2026, 8, 31), D(2027, 2, 28), "À jour"),
     (D(2024, 3, 31), D(2024, 9, 30), "À réévaluer")],
)  # fmt: skip
def test_assessment_next_date_is_date_plus_6_months_edate_and_late_strictly_before_today(
    tmp_path: Path, evaluated: dt.date, due: dt.date, status: str
) -> None:
    row = assessment(tmp_path, "Conforme", evaluated)
    assert row == {"Prochaine évaluation": due, "Statut": status, "Contrôle": None}


def test_assessment_follows_a_custom_periodicity(tmp_path: Path) -> None:
    rules = Rules(autoevaluation_periodicite_mois=12)
    row = assessment(tmp_path, "Partiellement conforme", D(2025, 11, 26), rules=rules)
    assert (row["Prochaine évaluation"], row["Statut"]) == (D(2026, 11, 26), "À jour")
    row = assessment(tmp_path, "Non conforme", D(2025, 11, 25), rules=rules)
    assert (row["Prochaine évaluation"], row["Statut"]) == (D(2026, 11, 25), "À réévaluer")


def test_assessment_without_date_is_non_evalue(tmp_path: Path) -> None:
    row = assessment(tmp_path, "Conforme")
    assert row == {"Prochaine évaluation": None, "Statut": "Non évalué", "Contrôle": None}


def test_assessment_with_unreadable_date_has_empty_computed_cells(tmp_path: Path) -> None:
    row = assessment(tmp_path, "Conforme", "31/02/2026")
    assert (row["Prochaine évaluation"], row["Statut"]) == (None, None)
    assert row["Contrôle"] == "Date d'évaluation : date illisible « 31/02/2026 »"


# --- indicateurs ----------------------------------------------------------------------------

IND = ["Indicateur", "Période", "Valeur", "Cible", "Sens"]


def indicator(tmp_path: Path, value: Any, target: Any, sense: Any = None) -> Row:
    return one(tmp_path, "Indicateurs", IND, ["Taux de décroché", "2026-10", value, target, sense])


def test_indicator_gap_is_in_the_values_own_unit_for_percentages(tmp_path: Path) -> None:
    row = indicator(tmp_path, Percent(0.92), Percent(0.90))
    assert row["Écart"] == pytest.approx(0.02, abs=1e-12)
    assert (row["Atteint"], row["Contrôle"]) == ("Oui", None)


def test_indicator_gap_for_percent_texts(tmp_path: Path) -> None:
    row = indicator(tmp_path, "92 %", "90 %")
    assert row["Écart"] == pytest.approx(0.02, abs=1e-12)
    assert row["Atteint"] == "Oui"


def test_indicator_gap_for_plain_numbers(tmp_path: Path) -> None:
    row = indicator(tmp_path, 45, 50)
    assert (row["Écart"], row["Atteint"], row["Contrôle"]) == (-5, "Non", None)


@pytest.mark.parametrize(
    ("value", "target", "sense", "reached"),
    [(0.92, 0.90, None, "Oui"), (0.88, 0.90, None, "Non"), (0.90, 0.90, None, "Oui"),
     (0.92, 0.90, "≥", "Oui"), (0.88, 0.90, ">=", "Non"),
     (0.92, 0.90, "≤", "Non"), (0.88, 0.90, "≤", "Oui"), (0.90, 0.90, "≤", "Oui"),
     (0.92, 0.90, "<=", "Non"), (0.88, 0.90, "<=", "Oui")],
)  # fmt: skip
def test_indicator_atteint_follows_sens_default_higher_is_better(
    tmp_path: Path, value: float, target: float, sense: str | None, reached: str
) -> None:
    row = indicator(tmp_path, Percent(value), Percent(target), sense)
    assert (row["Atteint"], row["Contrôle"]) == (reached, None)


def test_indicator_without_cible_has_empty_atteint_and_ecart(tmp_path: Path) -> None:
    assert indicator(tmp_path, Percent(0.92), None, "≥") == {
        "Atteint": None, "Écart": None, "Contrôle": None
    }  # fmt: skip


def test_indicator_percent_against_plain_number_above_1_is_a_warning(tmp_path: Path) -> None:
    row = indicator(tmp_path, Percent(0.92), 90)
    assert row["Contrôle"].startswith("Attention — ")
    assert "même unité" in row["Contrôle"]


def test_indicator_percent_against_plain_fraction_is_not_a_warning(tmp_path: Path) -> None:
    row = indicator(tmp_path, Percent(0.92), 0.9)
    assert row["Écart"] == pytest.approx(0.02, abs=1e-12)
    assert (row["Atteint"], row["Contrôle"]) == ("Oui", None)


# --- Contrôle -------------------------------------------------------------------------------


def _finding(message: str, severity: Severity) -> Finding:
    return Finding("s.xlsx", "S", "Plan d'actions", "C2", "", "", message, severity, row=2)


def test_control_text_puts_errors_first_then_prefixed_warnings() -> None:
    text = control_text([
        _finding("un avertissement", Severity.WARNING),
        _finding("première erreur", Severity.ERROR),
        _finding("second avertissement", Severity.WARNING),
        _finding("seconde erreur", Severity.ERROR),
    ])  # fmt: skip
    assert text is not None
    order = [text.index(part) for part in ("première erreur", "seconde erreur",
             "Attention — un avertissement", "Attention — second avertissement")]  # fmt: skip
    assert order == sorted(order)
    assert text.count("Attention — ") == 2
    assert not text.startswith("Attention")


def test_control_text_is_empty_when_there_is_no_finding() -> None:
    assert not control_text([])


def test_control_cell_lists_error_then_warning_for_a_row(tmp_path: Path) -> None:
    # « Fait » without Date de réalisation (warning) and a bad email (error)
    row = action(tmp_path, days(-3), "Fait", email="x@")
    assert row["Statut"] == "Terminée"
    error = "Email responsable : adresse électronique invalide « x@ »"
    warning = "Attention — État : action « Fait » sans Date de réalisation"
    assert error in row["Contrôle"] and warning in row["Contrôle"]
    assert row["Contrôle"].index(error) < row["Contrôle"].index(warning)


def test_control_cell_is_empty_for_a_clean_row_of_every_tracker(tmp_path: Path) -> None:
    rows = [
        action(tmp_path, days(3)),
        document(tmp_path, "Validé", expiry=days(200)),
        training(tmp_path, arrived=D(2026, 9, 1)),
        letter(tmp_path, FRIDAY, D(2026, 10, 5)),
        assessment(tmp_path, "Conforme", D(2026, 9, 1)),
        indicator(tmp_path, 12, 10),
    ]
    assert [r["Contrôle"] for r in rows] == [None] * 6


# --- typed cells (§3.1 rule 13) ---------------------------------------------------------------


def test_computed_cells_are_typed_dates_ints_and_texts(tmp_path: Path) -> None:
    cells = [
        (action(tmp_path, days(3)), {"Jours restants": int, "Statut": str}),
        (document(tmp_path, "Validé", expiry=days(10)),
         {"Prochaine échéance": dt.date, "Jours restants": int, "Statut": str}),
        (training(tmp_path, arrived=D(2026, 9, 1)), {"Date limite": dt.date, "Statut": str}),
        (letter(tmp_path, FRIDAY, D(2026, 10, 5)),
         {"Date limite de réponse": dt.date, "Délai (jours ouvrés)": int, "Dans le délai": str,
          "Statut": str}),
        (assessment(tmp_path, "Conforme", D(2026, 9, 1)),
         {"Prochaine évaluation": dt.date, "Statut": str}),
        (indicator(tmp_path, Percent(0.92), Percent(0.9)), {"Atteint": str, "Écart": float}),
    ]  # fmt: skip
    for row, types in cells:
        for title, kind in types.items():
            # exactly date (not datetime), int (not bool or numpy), str
            assert type(row[title]) is kind, (title, row[title])
