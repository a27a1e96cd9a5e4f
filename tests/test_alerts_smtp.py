"""Alerts through a real SMTP server on 127.0.0.1: what arrives, once, to whom, and what happens
when the server refuses a recipient, drops the connection or is not there at all."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from alerts_support import (
    ALICE,
    BENOIT,
    CLAIRE,
    DAY,
    KARINE,
    SCRIPT,
    SEBASTIEN,
    SENDER,
    Recorder,
    load,
    make_alerts_workspace,
    now_on,
    smtp_server,
)
from conftest import TODAY

from qep_sync.alerts.job import run_alerts
from qep_sync.alerts.store import STORE_NAME, AlertStore
from qep_sync.errors import MailError

TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def _recorded(config_path: Path) -> set[str]:
    """The recipients the store says were sent something."""
    path = config_path.parent / "etat" / STORE_NAME
    if not path.exists():
        return set()
    with closing(sqlite3.connect(path)) as db:
        return {r for (r,) in db.execute("SELECT DISTINCT recipient FROM sent")}


def test_one_digest_per_recipient_over_one_connection(tmp_path: Path) -> None:
    with smtp_server() as server:
        config = load(make_alerts_workspace(tmp_path, server.port))
        run = run_alerts(config, TODAY, dry_run=False, now=now_on(TODAY))
    received = server.recorder.messages
    assert sorted(r for m in received for r in m.rcpt_tos) == sorted(
        [ALICE, BENOIT, SEBASTIEN, KARINE, CLAIRE]
    )
    assert all(len(m.rcpt_tos) == 1 for m in received)  # nobody in copy of someone else's mail
    assert server.connections == 1
    assert run.count("sent") == 5 and not run.failed
    assert {m.mail_from for m in received} == {SENDER}


def test_each_recipient_gets_exactly_its_items(tmp_path: Path) -> None:
    with smtp_server() as server:
        config = load(make_alerts_workspace(tmp_path, server.port))
        run_alerts(config, TODAY, dry_run=False, now=now_on(TODAY))
    rec = server.recorder
    alice = rec.to(ALICE)[0].part("plain")
    assert "A1 – Afficher les horaires" in alice and "A2" not in alice
    sebastien = rec.to(SEBASTIEN)[0].part("plain")
    assert "A2 – Réviser le courrier type" in sebastien
    assert "Courriel – 2026-001 – Titre de séjour étudiant" in sebastien
    assert "A1 –" not in sebastien and "2026-002" not in sebastien  # answered letter: nothing
    karine = rec.to(KARINE)[0].part("plain")  # the head of service: only what is 15+ days late
    assert "Retards dans votre service" in karine and "chef" not in karine
    assert "A2 – Réviser le courrier type" in karine and "2026-001" not in karine


def test_the_quality_lead_gets_one_copy_digest_naming_who_got_what(tmp_path: Path) -> None:
    with smtp_server() as server:
        config = load(make_alerts_workspace(tmp_path, server.port))
        run_alerts(config, TODAY, dry_run=False, now=now_on(TODAY))
    copies = server.recorder.to(CLAIRE)
    assert len(copies) == 1
    lead = copies[0]
    assert lead.message["Subject"] == "[Qualité] BAS : 4 en copie"
    text = lead.part("plain")
    assert "Copie : relances envoyées (4)" in text
    assert "Envoyé à : Alice Martin" in text and "Envoyé à : Sébastien Bernard" in text


def test_subject_says_what_is_inside(tmp_path: Path) -> None:
    with smtp_server() as server:
        config = load(make_alerts_workspace(tmp_path, server.port))
        run_alerts(config, TODAY, dry_run=False, now=now_on(TODAY))
    rec = server.recorder
    assert rec.to(SEBASTIEN)[0].message["Subject"] == "[Qualité] BAS : 2 en retard"
    assert rec.to(ALICE)[0].message["Subject"] == "[Qualité] BAS : 1 à venir"


def test_text_part_has_no_html_and_html_part_escapes_cell_text(tmp_path: Path) -> None:
    with smtp_server() as server:
        config = load(make_alerts_workspace(tmp_path, server.port))
        run_alerts(config, TODAY, dry_run=False, now=now_on(TODAY))
    alice = server.recorder.to(ALICE)[0]
    assert alice.message.get_content_type() == "multipart/alternative"
    assert TAG.search(alice.part("plain")) is None
    assert "<h3" in alice.part("html") and "A1 – Afficher les horaires" in alice.part("html")
    benoit = server.recorder.to(BENOIT)[0]  # his action's text is « <script>… »
    html = benoit.part("html")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Former l&#39;accueil" in html
    assert SCRIPT in benoit.part("plain")  # plain text shows the cell as written


def test_french_accents_arrive_intact(tmp_path: Path) -> None:
    with smtp_server() as server:
        config = load(make_alerts_workspace(tmp_path, server.port))
        run_alerts(config, TODAY, dry_run=False, now=now_on(TODAY))
    seb = server.recorder.to(SEBASTIEN)[0]
    assert seb.message["To"].addresses[0].display_name == "Sébastien Bernard"
    assert seb.message["From"].addresses[0].display_name == "Mission qualité"
    assert seb.message["Subject"] == "[Qualité] BAS : 2 en retard"
    text = seb.part("plain")
    assert "Bonjour Sébastien Bernard," in text
    assert "Date limite de réponse : 23 novembre 2026 (dépassée de 3 jours)" in text
    assert "Bonjour Sébastien Bernard," in seb.part("html")


def test_messages_carry_date_and_message_id_headers(tmp_path: Path) -> None:
    with smtp_server() as server:
        config = load(make_alerts_workspace(tmp_path, server.port))
        run_alerts(config, TODAY, dry_run=False, now=now_on(TODAY))
    ids = set()
    for received in server.recorder.messages:
        message = received.message
        assert message["Date"].datetime == now_on(TODAY)
        assert message["Message-ID"].endswith("@doubs.gouv.fr>")
        assert message["Auto-Submitted"] == "auto-generated"
        ids.add(message["Message-ID"])
    assert len(ids) == len(server.recorder.messages)


def test_second_run_on_the_same_day_sends_nothing(tmp_path: Path) -> None:
    with smtp_server() as server:
        config = load(make_alerts_workspace(tmp_path, server.port))
        run_alerts(config, TODAY, dry_run=False, now=now_on(TODAY))
        first = len(server.recorder.messages)
        again = run_alerts(config, TODAY, dry_run=False, now=now_on(TODAY) + dt.timedelta(hours=2))
    assert first == 5
    assert len(server.recorder.messages) == first
    assert again.outcomes == [] and server.connections == 1  # no connection when nothing to send


def test_steps_progress_with_the_date_each_sent_once(tmp_path: Path) -> None:
    due = dt.date(2026, 12, 31)  # a Thursday
    plan = [
        ["N° action", "Action", "Responsable", "Email responsable", "Échéance", "État"],
        ["B1", "Bilan annuel", "Alice Martin", ALICE, due, "En cours"],
    ]
    days = {
        dt.date(2026, 11, 30): None,  # D-31: not yet
        dt.date(2026, 12, 1): "J-30",
        dt.date(2026, 12, 2): None,
        dt.date(2026, 12, 24): "J-7",
        dt.date(2026, 12, 28): None,  # 3 days left: still the J-7 step, already sent
        dt.date(2026, 12, 30): "J-1",
        dt.date(2026, 12, 31): None,  # due today: J-1 already sent
        dt.date(2027, 1, 4): "retard-0",
        dt.date(2027, 1, 7): "retard-1",  # a week late
        dt.date(2027, 1, 8): None,
        dt.date(2027, 1, 18): "retard-2",  # and 18 days late: the head of service is told
    }
    with smtp_server() as server:
        config = load(make_alerts_workspace(tmp_path, server.port, plan=plan))
        for day, step in days.items():
            before = len(server.recorder.to(ALICE))
            run = run_alerts(config, day, dry_run=False, now=now_on(day))
            got = [d.step for o in run.outcomes if o.digest.to.email == ALICE
                   for d in o.digest.deliveries]  # fmt: skip
            assert got == ([f"{due.isoformat()}/{step}"] if step else []), day
            assert len(server.recorder.to(ALICE)) == before + (1 if step else 0), day
    assert "1 à venir" in server.recorder.to(ALICE)[0].message["Subject"]
    assert "1 en retard" in server.recorder.to(ALICE)[-1].message["Subject"]
    told = [m for m in server.recorder.to(KARINE) if "B1 – Bilan annuel" in m.part("plain")]
    assert len(told) == 1 and now_on(dt.date(2027, 1, 18)) == told[0].message["Date"].datetime


def test_first_run_on_an_item_sends_only_its_most_advanced_step(tmp_path: Path) -> None:
    with smtp_server() as server:
        config = load(make_alerts_workspace(tmp_path, server.port))
        run_alerts(config, TODAY, dry_run=False, now=now_on(TODAY))  # A1 is at J-5
        later = TODAY + 3 * DAY  # Sunday, then Monday 30/11 (J-1): one more, J-1
        run_alerts(config, later + DAY, dry_run=False, now=now_on(later + DAY))
    steps = [m.part("plain") for m in server.recorder.to(ALICE)]
    assert len(steps) == 2
    assert "(dans 5 jours)" in steps[0] and "(demain)" in steps[1]


def test_no_mail_on_weekends_items_wait_for_the_next_working_day(tmp_path: Path) -> None:
    saturday = dt.date(2026, 11, 28)
    with smtp_server() as server:
        config = load(make_alerts_workspace(tmp_path, server.port))
        held = run_alerts(config, saturday, dry_run=False, now=now_on(saturday))
        assert server.recorder.messages == []
        assert held.held_until == dt.date(2026, 11, 30)
        monday = run_alerts(config, held.held_until, dry_run=False, now=now_on(held.held_until))
    assert monday.count("sent") == 5
    assert server.connections == 1


def test_a_refused_recipient_does_not_stop_the_others_and_is_retried(tmp_path: Path) -> None:
    with smtp_server(Recorder(refuse={ALICE})) as server:
        path = make_alerts_workspace(tmp_path, server.port)
        config = load(path)
        run = run_alerts(config, TODAY, dry_run=False, now=now_on(TODAY))
        assert run.failed
        failed = [o for o in run.outcomes if o.status == "failed"]
        assert [o.digest.to.email for o in failed] == [ALICE]
        assert "550" in failed[0].message
        assert {r for m in server.recorder.messages for r in m.rcpt_tos} == {
            BENOIT, SEBASTIEN, KARINE, CLAIRE}  # fmt: skip
        assert "non envoyé" in server.recorder.to(CLAIRE)[0].part("plain")
        server.recorder.refuse.clear()
        retry = run_alerts(config, TODAY, dry_run=False, now=now_on(TODAY))
    assert [o.digest.to.email for o in retry.outcomes] == [ALICE, CLAIRE]  # and A1's copy
    assert not retry.failed


def test_server_down_sends_nothing_records_nothing_and_fails(tmp_path: Path) -> None:
    with smtp_server() as server:
        port = server.port
    path = make_alerts_workspace(tmp_path, port)  # nothing listens there any more
    run = run_alerts(load(path), TODAY, dry_run=False, now=now_on(TODAY))
    assert run.failed and run.error is not None
    assert f"serveur SMTP 127.0.0.1:{port} injoignable" in run.error
    assert {o.status for o in run.outcomes} == {"failed"}
    assert _recorded(path) == set()


def test_a_connection_lost_midway_leaves_the_rest_for_next_run(tmp_path: Path) -> None:
    with smtp_server(Recorder(fail_data_after=2)) as server:
        path = make_alerts_workspace(tmp_path, server.port)
        run = run_alerts(load(path), TODAY, dry_run=False, now=now_on(TODAY))
        assert run.count("sent") == 2 and run.count("failed") == 3
        assert _recorded(path) == {m.rcpt_tos[0] for m in server.recorder.messages}
        assert len(server.recorder.messages) == 2
        server.recorder.fail_data_after = None
        rest = run_alerts(load(path), TODAY, dry_run=False, now=now_on(TODAY))
    assert rest.count("sent") == 3
    assert len({r for m in server.recorder.messages for r in m.rcpt_tos}) == 5


def test_crash_between_send_and_record_repeats_one_message_and_loses_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    original = AlertStore.record

    def crash_on_second(self: AlertStore, rows: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disque plein")  # the process dies after the server accepted it
        original(self, rows)  # type: ignore[arg-type]

    with smtp_server() as server:
        path = make_alerts_workspace(tmp_path, server.port)
        monkeypatch.setattr(AlertStore, "record", crash_on_second)
        with pytest.raises(MailError, match="non enregistré"):
            run_alerts(load(path), TODAY, dry_run=False, now=now_on(TODAY))
        assert len(server.recorder.messages) == 2  # the second was delivered, not recorded
        crashed = server.recorder.messages[1].rcpt_tos[0]
        monkeypatch.setattr(AlertStore, "record", original)
        run_alerts(load(path), TODAY, dry_run=False, now=now_on(TODAY))
        run_alerts(load(path), TODAY, dry_run=False, now=now_on(TODAY))  # and then nothing
    counts: dict[str, int] = {}
    for m in server.recorder.messages:
        counts[m.rcpt_tos[0]] = counts.get(m.rcpt_tos[0], 0) + 1
    assert set(counts) == {ALICE, BENOIT, SEBASTIEN, KARINE, CLAIRE}  # no loss
    assert {a for a, n in counts.items() if n > 1} == {crashed}  # one duplicate, the crashed one
    assert counts[crashed] == 2


def test_a_name_or_subject_from_a_cell_cannot_add_a_header(tmp_path: Path) -> None:
    evil_service = "Pôle accueil\r\nBcc: victime@attaquant.example"
    correspondants = [
        ["Service", "Nom", "Email", "Rôle"],
        [evil_service, "Jean\nBcc: autre@attaquant.example", SEBASTIEN, "Correspondant qualité"],
    ]
    plan = [
        ["N° action", "Action", "Service pilote", "Échéance", "État"],
        ["H1", "Action\r\nX-Injected: oui", evil_service, TODAY - DAY, "En cours"],
    ]
    with smtp_server() as server:
        path = make_alerts_workspace(tmp_path, server.port, plan=plan,
                                     correspondants=correspondants)  # fmt: skip
        run_alerts(load(path), TODAY, dry_run=False, now=now_on(TODAY))
    received = server.recorder.to(SEBASTIEN)
    assert len(received) == 1
    message = received[0].message
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert "attaquant" not in " ".join(received[0].rcpt_tos)
    subject = message["Subject"]  # the service a cell names may reach it: on one line
    assert subject.startswith("[Qualité] ") and not {"\r", "\n"} & set(subject)
    assert message["To"].addresses[0].display_name == "Jean Bcc: autre@attaquant.example"
    raw_headers = received[0].data.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"(?im)^(bcc|x-injected):", raw_headers)


def test_max_messages_defers_the_rest_to_the_next_run(tmp_path: Path) -> None:
    with smtp_server() as server:
        path = make_alerts_workspace(tmp_path, server.port, alerts="max_messages = 3")
        run = run_alerts(load(path), TODAY, dry_run=False, now=now_on(TODAY))
        assert len(server.recorder.messages) == 3
        assert run.count("sent") == 3 and run.count("deferred") == 2 and not run.failed
        assert "reporté" in server.recorder.to(CLAIRE)[0].part("plain")
        run_alerts(load(path), TODAY, dry_run=False, now=now_on(TODAY))
    got = {r for m in server.recorder.messages for r in m.rcpt_tos}
    assert got == {ALICE, BENOIT, SEBASTIEN, KARINE, CLAIRE}


def test_the_run_lock_refuses_a_second_simultaneous_run(tmp_path: Path) -> None:
    from qep_sync.alerts.store import run_lock

    with smtp_server() as server:
        path = make_alerts_workspace(tmp_path, server.port)
        with run_lock(tmp_path / "etat"), pytest.raises(MailError, match="en cours"):
            run_alerts(load(path), TODAY, dry_run=False, now=now_on(TODAY))
    assert server.recorder.messages == []
