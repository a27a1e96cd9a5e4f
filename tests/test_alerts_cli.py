"""`qep-sync alerts` and the end of `qep-sync demo`: options, output, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from alerts_support import ALICE, CLAIRE, make_alerts_workspace, smtp_server
from click.testing import CliRunner

from qep_sync.cli import main


def _invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)
    return result.exit_code, result.output


def test_dry_run_shows_who_would_get_what_and_writes_nothing(tmp_path: Path) -> None:
    with smtp_server() as server:
        path = make_alerts_workspace(tmp_path, server.port)
        code, out = _invoke("alerts", "-c", str(path), "--today", "2026-11-26", "--dry-run")
    assert code == 0
    assert "Simulation des relances du jeudi 26 novembre 2026 — 5 courriels à envoyer" in out
    assert f"→ {ALICE} (Alice Martin)" in out
    assert "[Qualité] BAS : 1 à venir" in out
    assert "• Échéance proche · A1 – Afficher les horaires" in out
    assert server.recorder.messages == [] and server.connections == 0
    assert not (tmp_path / "etat").exists() and not (tmp_path / "outbox").exists()


def test_json_format_has_stable_keys(tmp_path: Path) -> None:
    path = make_alerts_workspace(tmp_path, None)
    code, out = _invoke("alerts", "-c", str(path), "--today", "2026-11-26", "--dry-run",
                        "--format", "json")  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"version", "today", "dry_run", "transport", "held_until", "error",
                         "summary", "digests", "findings"}  # fmt: skip
    assert data["summary"] == {"items": 4, "digests": 5, "planned": 5, "sent": 0, "failed": 0,
                               "deferred": 0}  # fmt: skip
    alice = next(d for d in data["digests"] if d["to"] == ALICE)
    assert set(alice) == {"to", "name", "subject", "status", "message", "file", "items"}
    assert alice["items"][0] == {
        "id": "BAS|plan_actions|plan d'actions|a1", "kind": "action", "role": "direct",
        "step": "2026-12-01/J-7", "service": "BAS", "title": "A1 – Afficher les horaires",
        "status": "Échéance proche", "due": "2026-12-01", "days": 5, "source": "BAS.xlsx",
        "sheet": "Plan d'actions", "row": 2, "cell": None, "url": None,
        "path": str(tmp_path / "services" / "BAS.xlsx"),
        "link": (tmp_path / "services" / "BAS.xlsx").as_uri(), "escalated": False,
    }  # fmt: skip


def test_sending_to_the_outbox_prints_each_file_and_exits_0(tmp_path: Path) -> None:
    path = make_alerts_workspace(tmp_path, None)
    code, out = _invoke("alerts", "-c", str(path), "--today", "2026-11-26")
    assert code == 0
    assert f"5 courriels envoyés (dossier {tmp_path / 'outbox'})" in out
    assert out.count("fichier : ") == 5 == len(list((tmp_path / "outbox").glob("*.eml")))
    code, out = _invoke("alerts", "-c", str(path), "--today", "2026-11-26")
    assert code == 0 and "Rien à envoyer" in out


def test_smtp_server_down_exits_1(tmp_path: Path) -> None:
    with smtp_server() as server:
        port = server.port
    path = make_alerts_workspace(tmp_path, port)
    code, out = _invoke("alerts", "-c", str(path), "--today", "2026-11-26")
    assert code == 1
    assert f"serveur SMTP 127.0.0.1:{port} injoignable" in out
    assert "tout sera retenté au prochain passage" in out


def test_a_refused_recipient_exits_1_after_sending_the_others(tmp_path: Path) -> None:
    from alerts_support import Recorder

    with smtp_server(Recorder(refuse={ALICE})) as server:
        path = make_alerts_workspace(tmp_path, server.port)
        code, out = _invoke("alerts", "-c", str(path), "--today", "2026-11-26")
    assert code == 1
    assert f"✗ {ALICE}" in out and "550" in out
    assert len(server.recorder.messages) == 4


def test_missing_password_variable_exits_2_naming_the_key(tmp_path: Path) -> None:
    smtp = 'user = "qep-sync"\npassword_env = "QEP_TEST_ABSENT_PASSWORD"'
    path = make_alerts_workspace(tmp_path, 2525, smtp=smtp)
    result = CliRunner().invoke(
        main, ["alerts", "-c", str(path), "--today", "2026-11-26"],
        env={"QEP_TEST_ABSENT_PASSWORD": ""},
    )  # fmt: skip
    assert result.exit_code == 2
    assert "smtp.password_env" in result.output and "QEP_TEST_ABSENT_PASSWORD" in result.output


def test_on_a_saturday_nothing_is_sent_and_the_next_working_day_is_named(tmp_path: Path) -> None:
    path = make_alerts_workspace(tmp_path, None)
    code, out = _invoke("alerts", "-c", str(path), "--today", "2026-11-28")
    assert code == 0
    assert "elles partiront le lundi 30 novembre 2026" in out
    assert not (tmp_path / "outbox").exists()


def test_demo_ends_with_an_alert_preview_and_the_outbox_path(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    code, out = _invoke("demo", str(directory), "--today", "2026-11-26")
    assert code == 0
    tail = out.split("Relancer : qep-sync sync", 1)[1]
    assert "Relances du jeudi 26 novembre 2026" in tail
    assert "Aperçu d'un courriel" in tail
    assert f"(fichiers .eml, à ouvrir avec la messagerie) : {directory / 'outbox'}\n" in tail
    assert tail.rstrip().endswith("pilote.csv, 3 indicateurs")  # then the lead's deliverables
    files = list((directory / "outbox").glob("*.eml"))
    assert files and any(CLAIRE in f.name for f in files)
    code, _ = _invoke("demo", str(directory), "--today", "2026-11-26")  # recreated afresh
    assert code == 0 and len(list((directory / "outbox").glob("*.eml"))) == len(files)
