"""Alert items: the reminder steps, an identity that survives re-sorting, the pause column,
rows of central workbooks, self-assessment history, and anomalies told again only weekly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alerts_support import (
    ALICE,
    CLAIRE,
    DAY,
    SEBASTIEN,
    MemoryTransport,
    load,
    make_alerts_workspace,
    now_on,
    plan_rows,
)
from conftest import TODAY, make_workbook

from qep_sync.alerts.items import AlertItem, current_step
from qep_sync.alerts.job import run_alerts
from qep_sync.config import Alerts

D = dt.date(2026, 12, 31)


@pytest.mark.parametrize(
    ("today", "step"),
    [
        (D - 31 * DAY, None),
        (D - 30 * DAY, "J-30"),
        (D - 8 * DAY, "J-30"),
        (D - 7 * DAY, "J-7"),
        (D - 2 * DAY, "J-7"),
        (D - 1 * DAY, "J-1"),
        (D, "J-1"),
        (D + 1 * DAY, "retard-0"),
        (D + 6 * DAY, "retard-0"),
        (D + 7 * DAY, "retard-1"),
        (D + 15 * DAY, "retard-2"),
    ],
)
def test_current_step_follows_j30_j7_j1_then_weekly_while_late(
    today: dt.date, step: str | None
) -> None:
    assert current_step(D, today, Alerts(), upcoming=True) == step


def test_kinds_without_reminders_before_their_date_only_get_late_steps() -> None:
    assert current_step(D, D - 3 * DAY, Alerts(), upcoming=False) is None
    assert current_step(D, D + 8 * DAY, Alerts(), upcoming=False) == "retard-1"


def test_a_step_dated_on_or_before_the_start_is_skipped() -> None:
    received = D - 7 * DAY  # an email due 7 days after it came: no J-30, no J-7 on arrival
    assert current_step(D, received, Alerts(), upcoming=True, start=received) is None
    assert current_step(D, D - DAY, Alerts(), upcoming=True, start=received) == "J-1"


def test_custom_steps_and_a_single_late_reminder() -> None:
    alerts = Alerts(reminder_days=(14, 3), late_every_days=0)
    assert current_step(D, D - 10 * DAY, alerts, upcoming=True) == "J-14"
    assert current_step(D, D - 2 * DAY, alerts, upcoming=True) == "J-3"
    assert current_step(D, D + 40 * DAY, alerts, upcoming=True) == "retard-0"


def _items(path: Path, today: dt.date = TODAY) -> dict[str, AlertItem]:
    run = run_alerts(load(path), today, dry_run=True, now=now_on(today))
    return {i.title: i for i in run.items if i.kind != "anomalie"}


def test_item_identity_survives_re_sorting_and_inserted_rows(tmp_path: Path) -> None:
    before = _items(make_alerts_workspace(tmp_path / "a", None))
    rows = plan_rows()
    moved = [rows[0], ["A0", "Nouvelle action", None, None, None, None, "À faire", None],
             *reversed(rows[1:])]  # fmt: skip
    after = _items(make_alerts_workspace(tmp_path / "b", None, plan=moved))
    assert set(before) == set(after) and len(before) == 4
    for title, item in before.items():
        assert after[title].id == item.id and after[title].step_key == item.step_key
    assert before["A1 – Afficher les horaires"].place.row != after[
        "A1 – Afficher les horaires"].place.row  # fmt: skip
    assert before["A1 – Afficher les horaires"].id == "BAS|plan_actions|plan d'actions|a1"


def test_ne_pas_relancer_avant_pauses_a_row_until_that_date(tmp_path: Path) -> None:
    plan = [
        ["N° action", "Action", "Email responsable", "Échéance", "État", "Ne pas relancer avant"],
        ["P1", "En pause", ALICE, TODAY - 10 * DAY, "En cours", TODAY + 4 * DAY],
        ["P2", "Pause finie", ALICE, TODAY - 10 * DAY, "En cours", TODAY],
    ]
    path = make_alerts_workspace(tmp_path, None, plan=plan)
    assert "P1 – En pause" not in _items(path) and "P2 – Pause finie" in _items(path)
    later = TODAY + 4 * DAY  # Monday 30/11: the pause is over
    assert _items(path, later)["P1 – En pause"].step == "retard-2"


def test_a_row_of_a_central_workbook_goes_to_its_service_correspondent(tmp_path: Path) -> None:
    path = make_alerts_workspace(tmp_path, None, plan=[["N° action", "Action", "Échéance", "État"]])
    make_workbook(
        tmp_path / "qualite" / "Plan d'actions.xlsx",
        {"Plan d'actions": [
            ["N° action", "Action", "Service pilote", "Échéance", "État"],
            ["PA-1", "Former les agents", "Bureau de l'admission au séjour", TODAY - DAY, "En cours"],
            ["PA-2", "Revoir l'affichage", "QUALITE", TODAY - DAY, "En cours"],
        ]},
    )  # fmt: skip
    with path.open("a", encoding="utf-8") as f:
        f.write('\n[[sources]]\nservice = "QUALITE-ACTIONS"\nname = "Mission qualité"\n'
                "xlsx = \"qualite/Plan d'actions.xlsx\"\n")  # fmt: skip
    transport = MemoryTransport()
    run_alerts(load(path), TODAY, dry_run=False, now=now_on(TODAY), sender=transport)
    assert "PA-1 – Former les agents" in transport.text(transport.to(SEBASTIEN)[0])
    lead = transport.text(transport.to(CLAIRE)[0])  # QUALITE has no correspondent: the lead
    assert "Sans destinataire" in lead and "PA-2 – Revoir l'affichage" in lead


def test_only_the_latest_self_assessment_of_an_engagement_is_reminded(tmp_path: Path) -> None:
    path = make_alerts_workspace(tmp_path, None)
    module = "Module 1 : Relations générales avec les usagers"
    make_workbook(
        tmp_path / "services" / "Autoeval.xlsx",
        {"Autoévaluation": [
            ["Module", "N° engagement", "Engagement", "Niveau", "Date d'évaluation"],
            [module, 3, "À votre écoute", "Conforme", dt.date(2025, 1, 10)],
            [module, 3, "À votre écoute", "Conforme", dt.date(2026, 9, 1)],
            [module, 4, "Former nos agents", "Conforme", dt.date(2026, 1, 15)],
        ]},
    )  # fmt: skip
    with path.open("a", encoding="utf-8") as f:
        f.write('\n[[sources]]\nservice = "BAS-AUTOEVAL"\nxlsx = "services/Autoeval.xlsx"\n')
    assessments = [i for i in _items(path).values() if i.kind == "autoevaluation"]
    assert [i.title for i in assessments] == [f"{module} – engagement n° 4 – Former nos agents"]
    assert assessments[0].due == dt.date(2026, 7, 15)


def test_an_anomaly_is_told_once_then_again_a_week_later_if_still_there(tmp_path: Path) -> None:
    plan = [*plan_rows(), ["A6", "Date fausse", None, None, None, "31/02/2026", "À faire", None]]
    path = make_alerts_workspace(tmp_path, None, plan=plan)
    transport = MemoryTransport()
    days = [TODAY, TODAY + DAY, TODAY + 7 * DAY, TODAY + 8 * DAY]
    told = []
    for day in days:
        transport.sent.clear()
        run_alerts(load(path), day, dry_run=False, now=now_on(day), sender=transport)
        messages = transport.to(SEBASTIEN)
        told.append(bool(messages) and "31/02/2026" in transport.text(messages[0]))
    assert told == [True, False, True, False]


def test_an_invalid_row_address_falls_back_to_the_correspondent_and_is_reported(
    tmp_path: Path,
) -> None:
    plan = [*plan_rows(), ["A7", "Adresse coupée", None, "Jean", "jean.dupont@", TODAY - DAY,
                           "En cours", None]]  # fmt: skip
    transport = MemoryTransport()
    path = make_alerts_workspace(tmp_path, None, plan=plan)
    run_alerts(load(path), TODAY, dry_run=False, now=now_on(TODAY), sender=transport)
    text = transport.text(transport.to(SEBASTIEN)[0])
    assert "A7 – Adresse coupée" in text  # the item still reaches someone
    assert "adresse électronique invalide « jean.dupont@ »" in text  # and the address is a finding
    assert all("jean.dupont@" not in r for r, _ in transport.sent)
    assert len(transport.to(ALICE)) == 1
