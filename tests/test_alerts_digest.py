"""What a digest says and how it reads (docs/contract.md §5): « Où » as agents see it and a link
that opens it, escalation words only for an escalation sent, central-workbook anomalies for the
quality lead, her summary, subjects under 80 characters, neutral titles, a phone-sized layout.

Everything goes through a real SMTP server on 127.0.0.1 (tests/alerts_support.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alerts_support import (
    ALICE,
    BENOIT,
    CLAIRE,
    CORRESPONDANTS,
    DAY,
    KARINE,
    SEBASTIEN,
    Received,
    Recorder,
    load,
    make_alerts_workspace,
    now_on,
    plan_rows,
    smtp_server,
)
from click.testing import CliRunner
from conftest import TODAY, make_workbook

from qep_sync.alerts.digest import SUBJECT_LIMIT, Digest
from qep_sync.alerts.items import AlertItem, Place
from qep_sync.alerts.job import run_alerts
from qep_sync.alerts.recipients import Delivery, Person
from qep_sync.cli import main

SHARE = "display_root = '\\\\srv-pref\\qualite'"  # TOML: '\\srv-pref\qualite'
DRIVE = "display_root = 'S:\\Qualité'"


def _send(
    folder: Path,
    recorder: Recorder | None = None,
    edit: Callable[[Path], None] | None = None,
    **workspace: Any,
) -> list[Received]:
    """The messages of one run on the alerts workspace (``edit``: changes before the run)."""
    with smtp_server(recorder) as server:
        path = make_alerts_workspace(folder, server.port, **workspace)
        if edit is not None:
            edit(path)
        run_alerts(load(path), TODAY, dry_run=False, now=now_on(TODAY))
    return server.recorder.messages


def _to(messages: list[Received], address: str) -> Received:
    found = [m for m in messages if address in m.rcpt_tos]
    assert len(found) == 1, address
    return found[0]


def _item(text: str, title: str) -> str:
    """The lines of one item in a text part, from its title to the next item."""
    start = text.index(f"  - {title}")
    end = text.find("\n  - ", start + 1)
    return text[start : end if end != -1 else None]


# ---------------------------------------------------------------- « Où »


def test_where_is_the_path_agents_see_and_a_file_link_that_opens_it(tmp_path: Path) -> None:
    messages = _send(tmp_path, workspace=SHARE)
    alice = _to(messages, ALICE)
    text, html = alice.part("plain"), alice.part("html")
    assert (
        "Où : \\\\srv-pref\\qualite\\services\\BAS.xlsx, onglet « Plan d'actions », ligne 2" in text
    )
    assert "      file://srv-pref/qualite/services/BAS.xlsx\r\n" in text
    assert '<a href="file://srv-pref/qualite/services/BAS.xlsx"' in html
    assert (
        ">\\\\srv-pref\\qualite\\services\\BAS.xlsx</a>, onglet «\u00a0Plan d&#39;actions\u00a0», ligne 2"
        in html
    )
    for message in messages:  # the server's own folder never reaches a person
        assert str(tmp_path) not in message.part("plain") + message.part("html")
    lead = _to(messages, CLAIRE).part("plain")
    assert "classeur consolidé \\\\srv-pref\\qualite\\Consolidation qualité.xlsx" in lead
    assert "file://srv-pref/qualite/Consolidation%20qualit%C3%A9.xlsx" in lead


def test_a_drive_letter_root_gives_a_drive_path_and_an_encoded_link(tmp_path: Path) -> None:
    alice = _to(_send(tmp_path, workspace=DRIVE), ALICE)
    assert "Où : S:\\Qualité\\services\\BAS.xlsx, onglet" in alice.part("plain")
    assert 'href="file:///S:/Qualit%C3%A9/services/BAS.xlsx"' in alice.part("html")


def test_without_a_display_root_the_link_is_the_servers_file_url(tmp_path: Path) -> None:
    alice = _to(_send(tmp_path), ALICE)
    book = tmp_path / "services" / "BAS.xlsx"
    assert f"Où : {book}, onglet « Plan d'actions », ligne 2" in alice.part("plain")
    assert f'href="{book.as_uri()}"' in alice.part("html")


# ---------------------------------------------------------------- escalation words


ESCALATED = "signalé au responsable du service"


def test_a_digest_names_the_escalation_only_once_it_was_sent(tmp_path: Path) -> None:
    messages = _send(tmp_path)
    seb = _to(messages, SEBASTIEN).part("plain")
    assert ESCALATED in _item(seb, "A2 – Réviser le courrier type")  # Karine was told
    assert ESCALATED not in _item(seb, "Courriel – 2026-001")  # 3 days late: not escalated
    assert "A2 – Réviser le courrier type" in _to(messages, KARINE).part("plain")
    assert ESCALATED in _item(_to(messages, CLAIRE).part("plain"), "A2 – Réviser")


def test_no_head_of_service_on_record_no_escalation_words(tmp_path: Path) -> None:
    correspondants = [row for row in CORRESPONDANTS if row[1] != "Karine Guyon"]
    messages = _send(tmp_path, correspondants=correspondants)
    assert KARINE not in {r for m in messages for r in m.rcpt_tos}
    for message in messages:
        assert ESCALATED not in message.part("plain") and ESCALATED not in message.part("html")


def test_an_escalation_refused_by_the_server_is_not_claimed(tmp_path: Path) -> None:
    messages = _send(tmp_path, Recorder(refuse={KARINE}))
    assert KARINE not in {r for m in messages for r in m.rcpt_tos}
    seb = _to(messages, SEBASTIEN).part("plain")
    assert "A2 – Réviser le courrier type" in seb and ESCALATED not in seb
    assert ESCALATED not in _to(messages, CLAIRE).part("plain")


def test_dry_run_json_marks_escalated_exactly_the_items_with_an_escalation(tmp_path: Path) -> None:
    path = make_alerts_workspace(tmp_path, None)
    result = CliRunner().invoke(
        main, ["alerts", "-c", str(path), "--today", TODAY.isoformat(), "--dry-run",
               "--format", "json"], catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0
    items = [i for d in json.loads(result.output)["digests"] for i in d["items"]]
    escalations = {i["id"] for i in items if i["role"] == "escalation"}
    assert escalations == {"BAS|plan_actions|plan d'actions|a2"}
    assert {i["id"] for i in items if i["escalated"]} == escalations
    assert all(not i["escalated"] for i in items if i["role"] == "escalation")


# ---------------------------------------------------------------- central workbooks


def test_an_anomaly_of_a_central_workbook_goes_to_the_quality_lead(tmp_path: Path) -> None:
    def add_central_plan(path: Path) -> None:
        make_workbook(
            tmp_path / "qualite" / "Plan d'actions.xlsx",
            {"Plan d'actions": [
                ["N° action", "Action", "Service pilote", "Échéance", "État"],
                ["PA-1", "Former les agents", "BAS", TODAY + 40 * DAY, "Terminé ?"],
            ]},
        )  # fmt: skip
        with path.open("a", encoding="utf-8") as f:
            f.write('\n[[sources]]\nservice = "QUALITE-ACTIONS"\nname = "Mission qualité — '
                    "plan d'actions\"\npath = \"qualite/Plan d'actions.xlsx\"\ncentral = true\n")  # fmt: skip

    messages = _send(tmp_path, edit=add_central_plan,
                     plan=[["N° action", "Action", "Échéance", "État"]])  # fmt: skip
    anomaly = "État : « Terminé ? » n'est pas une valeur autorisée"
    seb = _to(messages, SEBASTIEN).part("plain")  # BAS's correspondent cannot fix that file
    assert anomaly not in seb
    lead = _to(messages, CLAIRE).part("plain")
    own = lead.split("== À corriger dans vos tableaux (1) ==")[1]
    assert anomaly in own
    assert "QUALITE-ACTIONS — Mission qualité — plan d'actions · Anomalies à corriger (1)" in own


# ---------------------------------------------------------------- the quality lead's digest


def test_the_leads_digest_starts_with_a_summary_per_service_and_kind(tmp_path: Path) -> None:
    lead = _to(_send(tmp_path), CLAIRE).part("plain")
    summary, rest = lead.split("== Copie : relances envoyées (4) ==")
    assert "== En bref ==\r\n4 relances envoyées aux services.\r\n" in summary
    assert "  - BAS : 3 actions, 1 réponse attendue\r\n" in summary
    assert "A1 – Afficher les horaires" not in summary and "A1 – Afficher les horaires" in rest


def test_the_lead_is_never_listed_among_those_her_copy_went_to(tmp_path: Path) -> None:
    plan = [*plan_rows(), ["A8", "Charte", None, "Claire Faivre", CLAIRE, TODAY - DAY,
                           "En cours", None]]  # fmt: skip
    lead = _to(_send(tmp_path, plan=plan), CLAIRE).part("plain")
    assert "Envoyé à : Claire Faivre" not in lead
    assert "Envoyé à : " not in _item(lead, "A8 – Charte")


def test_other_digests_have_no_summary(tmp_path: Path) -> None:
    messages = _send(tmp_path)
    for address in (ALICE, BENOIT, SEBASTIEN, KARINE):
        assert "En bref" not in _to(messages, address).part("plain")


# ---------------------------------------------------------------- subjects and titles


LONG_CODE = "BUREAU-ADMISSION-SEJOUR-NATURALISATIONS"  # 39 characters: codes go up to 40


def test_every_subject_stays_under_80_characters_with_the_service_code(tmp_path: Path) -> None:
    late = [[f"L{i:03}", f"Action {i}", None, None, None, TODAY - (i + 1) * DAY, "En cours", None]
            for i in range(120)]  # fmt: skip
    correspondants = [[LONG_CODE if c == "BAS" else c for c in row] for row in CORRESPONDANTS]

    def rename_bas(path: Path) -> None:
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace('"BAS"', f'"{LONG_CODE}"'), encoding="utf-8")

    messages = _send(tmp_path, edit=rename_bas, plan=[plan_rows()[0], *late],
                     correspondants=correspondants)  # fmt: skip
    subjects = {m.rcpt_tos[0]: str(m.message["Subject"]) for m in messages}
    assert subjects[SEBASTIEN] == f"[Qualité] {LONG_CODE} : 121 en retard"
    assert all(len(s) < 80 for s in subjects.values()), subjects
    assert "Bureau de l'admission" not in " ".join(subjects.values())  # the code, not the name


def test_a_subject_cuts_a_long_code_never_the_counts() -> None:
    place = Place("BAS.xlsx", "/srv/BAS.xlsx", None, "Délais", 2)
    code = "X" * 40
    deliveries = [
        Delivery(AlertItem(f"i{i}", kind, code, "t", "s", TODAY if kind != "anomalie" else None,
                           days, "anomalie" if days is None else "retard-0", place), Person(ALICE),
                 role)
        for i, (kind, days, role) in enumerate(
            [("action", -3, "direct")] * 1200 + [("action", 4, "direct")] * 3400
            + [("anomalie", None, "direct")] * 5600 + [("reponse", -1, "copy")] * 7800
        )
    ]  # fmt: skip
    subject = Digest(Person(ALICE), deliveries).subject()
    assert len(subject) <= SUBJECT_LIMIT < 80
    assert subject.endswith(
        " : 1\u202f200 en retard, 3\u202f400 à venir, 5\u202f600 anomalies, 7\u202f800 en copie"
    )
    assert re.match(r"\[Qualité\] X+… : ", subject), subject


def test_titles_are_neutral_no_chef_de_service(tmp_path: Path) -> None:
    messages = _send(tmp_path)
    karine = _to(messages, KARINE).part("plain")
    assert "== Retards dans votre service (1) ==" in karine
    assert "comme responsable du service" in karine
    for message in messages:
        everything = message.part("plain") + message.part("html") + str(message.message["Subject"])
        assert "chef" not in everything.lower()


# ---------------------------------------------------------------- on a phone


FIXED_WIDTH = re.compile(r"(?<![-\w])width\s*:\s*\d+px|<td[^>]*\bwidth=|<table")


def test_the_html_part_is_one_column_without_fixed_widths(tmp_path: Path) -> None:
    for message in _send(tmp_path, workspace=SHARE):
        html = message.part("html")
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
        assert FIXED_WIDTH.search(html) is None, FIXED_WIDTH.search(html)
        assert "max-width: 760px" in html  # wide screens: a readable measure, no more
        links = re.findall(r'<a href="file:[^"]*" style="([^"]*)"', html)
        assert links and all("overflow-wrap: anywhere" in style for style in links)


@pytest.mark.parametrize("address", [ALICE, SEBASTIEN, CLAIRE])
def test_the_status_badge_sits_on_the_items_own_line(tmp_path: Path, address: str) -> None:
    html = _to(_send(tmp_path), address).part("html")
    blocks = re.findall(r'<div style="border-top[^"]*">(.*?)</div>', html, re.DOTALL)
    assert blocks
    for block in blocks:  # badge, then the title, in one block: no column of its own
        assert re.match(r'\s*<span style="display: inline-block;[^"]*">[^<]+</span>\s*<strong>',
                        block), block  # fmt: skip
