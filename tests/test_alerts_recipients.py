"""Who gets what: the quality lead (configured, or the tracker's référent), her copy, escalation
to the head of service once, and items that nobody can receive."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from alerts_support import (
    ALICE,
    CLAIRE,
    CORRESPONDANTS,
    DAY,
    KARINE,
    SEBASTIEN,
    MemoryTransport,
    load,
    make_alerts_workspace,
    now_on,
    plan_rows,
)
from conftest import TODAY

from qep_sync.alerts.job import run_alerts


def _send(path: Path, day: dt.date = TODAY) -> MemoryTransport:
    transport = MemoryTransport()
    run_alerts(load(path), day, dry_run=False, now=now_on(day), sender=transport)
    return transport


def test_without_a_configured_lead_the_referent_of_the_tracker_is_the_lead(tmp_path: Path) -> None:
    sent = _send(make_alerts_workspace(tmp_path, None, lead=None))
    assert len(sent.to(CLAIRE)) == 1
    assert sent.to(CLAIRE)[0]["To"].addresses[0].display_name == "Claire Faivre"


def test_copy_quality_lead_false_leaves_the_lead_out_when_everyone_has_a_recipient(
    tmp_path: Path,
) -> None:
    sent = _send(make_alerts_workspace(tmp_path, None, alerts="copy_quality_lead = false"))
    assert sent.to(CLAIRE) == []
    assert len(sent.sent) == 4


def test_the_head_of_service_is_told_once_while_the_correspondent_is_reminded_weekly(
    tmp_path: Path,
) -> None:
    path = make_alerts_workspace(tmp_path, None)
    first, week_later = _send(path), _send(path, TODAY + 7 * DAY)
    assert "A2 – Réviser" in first.text(first.to(KARINE)[0])
    assert "A2 – Réviser" in week_later.text(week_later.to(SEBASTIEN)[0])
    assert all("A2 – Réviser" not in week_later.text(m) for m in week_later.to(KARINE))


def test_escalation_days_zero_never_escalates(tmp_path: Path) -> None:
    sent = _send(make_alerts_workspace(tmp_path, None, alerts="escalation_days = 0"))
    assert sent.to(KARINE) == []


def test_the_lead_responsible_for_an_item_gets_it_as_hers_in_one_message(tmp_path: Path) -> None:
    plan = [*plan_rows(), ["A8", "Charte", None, "Claire Faivre", CLAIRE, TODAY - DAY,
                           "En cours", None]]  # fmt: skip
    sent = _send(make_alerts_workspace(tmp_path, None, plan=plan))
    assert len(sent.to(CLAIRE)) == 1
    text = sent.text(sent.to(CLAIRE)[0])
    own, copies = text.split("== Copie : relances envoyées (4) ==")
    assert "A8 – Charte" in own and "A8 – Charte" not in copies
    assert "A1 – Afficher les horaires" in copies


def test_an_item_with_nobody_to_send_it_to_goes_to_the_quality_lead(tmp_path: Path) -> None:
    correspondants = [CORRESPONDANTS[0], CORRESPONDANTS[3]]  # BAS has no correspondent now
    sent = _send(make_alerts_workspace(tmp_path, None, correspondants=correspondants))
    text = sent.text(sent.to(CLAIRE)[0])
    assert "== Sans destinataire (2) ==" in text
    assert "A2 – Réviser le courrier type" in text.split("== Sans destinataire (2) ==")[1]
    assert sent.to(SEBASTIEN) == [] and len(sent.to(ALICE)) == 1


def test_with_no_lead_at_all_an_unroutable_item_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    correspondants = [CORRESPONDANTS[0]]
    path = make_alerts_workspace(tmp_path, None, correspondants=correspondants, lead=None)
    run = run_alerts(load(path), TODAY, dry_run=True, now=now_on(TODAY))
    lost = [f.message for f in run.findings if "sans destinataire" in f.message]
    assert any("A2 – Réviser le courrier type" in m for m in lost)
    assert {o.digest.to.email for o in run.outcomes} == {ALICE, "benoit.perrin@doubs.gouv.fr"}


def test_the_leads_digest_shows_twenty_items_per_section_the_total_and_the_workbook(
    tmp_path: Path,
) -> None:
    many = [[f"M{i:02}", f"Action {i}", None, "Alice Martin", ALICE, TODAY - (i + 1) * DAY,
             "En cours", None] for i in range(35)]  # fmt: skip
    sent = _send(make_alerts_workspace(tmp_path, None, plan=[plan_rows()[0], *many]))
    lead = sent.to(CLAIRE)[0]
    copy = sent.text(lead)
    assert "== Copie : relances envoyées (36) ==" in copy  # 35 actions and the late letter
    assert copy.count("Envoyé à : ") == 20
    assert "M34 – Action 34" in copy and "M15 – Action 15" in copy  # the most overdue first
    assert "M14 – Action 14" not in copy  # 15 days late: past the twenty shown
    consolidated = tmp_path / "Consolidation qualité.xlsx"
    assert (f"… et 16 autres, moins urgents : la feuille « Échéances » du classeur consolidé "
            f"les donne tous ({consolidated}).") in copy  # fmt: skip
    html = lead.get_body(("html",)).get_content()
    assert f'href="{consolidated.as_uri()}"' in html  # file:///…/Consolidation%20qualit%C3%A9.xlsx
    assert sent.text(sent.to(ALICE)[0]).count("– Action ") == 35  # her own digest lists all
