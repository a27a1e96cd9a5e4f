"""The run journal: what `sync` and `alerts` record, `status` and its exit code, `journal` exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import pytest
from alerts_support import make_alerts_workspace
from click.testing import CliRunner
from conftest import make_good_workbook

from qep_sync.cli import main
from qep_sync.config import load_config
from qep_sync.jobs.outcome import RunSummary
from qep_sync.service.journal import COUNTS, Journal, export_csv
from qep_sync.service.status import health, serve_state, workspace_status

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_sync_and_alerts_on_the_command_line_are_journaled(tmp_path: Path) -> None:
    path = make_alerts_workspace(tmp_path, None)
    assert invoke("sync", "-c", str(path), "--today", "2026-11-26")[0] == 0
    assert invoke("alerts", "-c", str(path), "--today", "2026-11-26")[0] == 0
    with Journal.of(load_config(path), readonly=True) as journal:
        sync, alerts = journal.runs(newest_first=False)
    assert (sync.kind, sync.origin, sync.status, sync.run_date) == (
        "sync", "cli", "ok", dt.date(2026, 11, 26),
    )  # fmt: skip
    assert sync.ended is not None and sync.ended >= sync.started
    assert sync.counts["sources"] == sync.counts["sources_read"] == 2
    assert sync.counts["files_written"] == 2 and sync.counts["cells_written"] > 0
    assert sync.counts["sources_failed"] == sync.counts["sources_skipped"] == 0
    assert sync.details["consolidated"]["status"] == "written"
    assert (alerts.kind, alerts.status, alerts.counts["messages_sent"]) == ("alerts", "ok", 5)
    assert alerts.message == f"5 courriels envoyés (dossier {tmp_path / 'outbox'})"


def test_a_dry_run_and_a_look_at_loose_files_are_not_journaled(tmp_path: Path) -> None:
    path = make_alerts_workspace(tmp_path, None)
    assert invoke("sync", "-c", str(path), "--dry-run")[0] == 0
    assert invoke("alerts", "-c", str(path), "--today", "2026-11-26", "--dry-run")[0] == 0
    assert not (tmp_path / "etat").exists()
    loose = make_good_workbook(tmp_path / "seul.xlsx")
    assert invoke("sync", str(loose), "--today", "2026-11-26")[0] == 0
    assert not (tmp_path / ".qep-sync").exists() and not Path(".qep-sync").exists()


def test_a_source_that_cannot_be_read_makes_a_partial_run(tmp_path: Path) -> None:
    path = make_alerts_workspace(tmp_path, None)
    (tmp_path / "services" / "BAS.xlsx").write_bytes(b"pas un classeur")
    code, _ = invoke("sync", "-c", str(path), "--today", "2026-11-26")
    assert code == 1
    with Journal.of(load_config(path), readonly=True) as journal:
        (run,) = journal.runs()
        assert [r.id for r in journal.failure_streak("sync")] == [run.id]
    assert run.status == "partial" and run.counts["sources_failed"] == 1
    assert run.message.startswith("BAS.xlsx : ")
    assert run.details["failed"][0]["source"] == "BAS.xlsx"


def test_a_journal_that_cannot_be_written_does_not_fail_the_sync(tmp_path: Path) -> None:
    path = make_alerts_workspace(tmp_path, None)
    (tmp_path / "etat").write_text("un fichier, pas un dossier")
    code, out = invoke("sync", "-c", str(path), "--today", "2026-11-26")
    assert code == 0
    assert "Attention : journal des passages illisible" in out
    assert "ce passage n'est pas journalisé" in out


def test_failure_streaks_count_from_the_last_success(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        t = paris(2026, 11, 9, 9, 0)
        for i, status in enumerate(["partial", "ok", "error", "interrupted", "partial"]):
            start = t + dt.timedelta(minutes=30 * i)
            journal.record("sync", "serve", start, start, RunSummary(status))
        journal.record("alerts", "serve", t, t, RunSummary("error"))
        streak = journal.failure_streak("sync")
        assert [r.status for r in streak] == ["error", "partial"]  # interrupted: neither
        assert len(journal.failure_streak("alerts")) == 1
        assert journal.last("sync", ("ok",)) is not None
        assert journal.mark_interrupted("serve", t) == 0


def test_a_run_left_running_by_a_dead_serve_is_marked_interrupted(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        journal.start("sync", "serve", paris(2026, 11, 9, 9, 0))
        journal.start("sync", "cli", paris(2026, 11, 9, 9, 0))
        assert journal.mark_interrupted("serve", paris(2026, 11, 9, 9, 5)) == 1
        assert {(r.origin, r.status) for r in journal.runs()} == {
            ("serve", "interrupted"), ("cli", "running"),
        }  # fmt: skip


# ---------------------------------------------------------------- export


def test_journal_exports_csv_and_json_since_a_date(tmp_path: Path) -> None:
    path = make_alerts_workspace(tmp_path, None)
    config = load_config(path)
    with Journal.of(config) as journal:
        journal.record("sync", "serve", paris(2026, 11, 2, 9, 0), paris(2026, 11, 2, 9, 0, 3),
                       RunSummary("ok", {"cells_written": 7}, "7 cellules"))  # fmt: skip
        journal.record("sync", "serve", paris(2026, 11, 9, 9, 0), paris(2026, 11, 9, 9, 0, 2),
                       RunSummary("partial", {"sources_failed": 1}, "BAS.xlsx : illisible",
                               {"failed": [{"source": "BAS.xlsx"}]}))  # fmt: skip
        journal.record("notice", "serve", paris(2026, 11, 9, 10, 0), paris(2026, 11, 9, 10, 0),
                       RunSummary("ok", {"messages_sent": 1}, "référent prévenu"))  # fmt: skip
    code, out = invoke("journal", "-c", str(path), "--since", "2026-11-09")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["kind"] for r in rows] == ["sync", "notice"]
    assert rows[0]["started"] == "2026-11-09T09:00:00+01:00"
    assert rows[0]["seconds"] == "2.0" and rows[0]["sources_failed"] == "1"
    assert json.loads(rows[0]["details"]) == {"failed": [{"source": "BAS.xlsx"}]}
    assert list(rows[0]) == ["id", "kind", "origin", "started", "ended", "seconds", "status",
                             "run_date", *COUNTS, "message", "details"]  # fmt: skip

    code, out = invoke("journal", "-c", str(path), "--format", "json", "--kind", "sync")
    data = json.loads(out)
    assert data["version"] == 1 and data["since"] is None
    assert [r["status"] for r in data["runs"]] == ["ok", "partial"]
    assert data["runs"][0]["cells_written"] == 7

    target = tmp_path / "audit.csv"
    code, out = invoke("journal", "-c", str(path), "-o", str(target))
    assert code == 0 and "3 passages exportés" in out
    assert target.read_text(encoding="utf-8").count("\n") == 4


def test_journal_of_a_workspace_without_runs_is_an_empty_table(tmp_path: Path) -> None:
    path = make_alerts_workspace(tmp_path, None)
    code, out = invoke("journal", "-c", str(path))
    assert code == 0 and out == export_csv([])
    assert not (tmp_path / "etat").exists()  # reading never creates the journal


def test_journal_rejects_a_bad_date(tmp_path: Path) -> None:
    path = make_alerts_workspace(tmp_path, None)
    result = CliRunner().invoke(main, ["journal", "-c", str(path), "--since", "hier"])
    assert result.exit_code == 2 and "AAAA-MM-JJ" in result.output


# ---------------------------------------------------------------- status


def test_health_counts_office_time_only(tmp_path: Path) -> None:
    config = load_config(make_alerts_workspace(tmp_path, None))  # every 30 min, 08:00–19:00
    with Journal.of(config) as journal:
        journal.record(
            "sync",
            "serve",
            paris(2026, 11, 13, 18, 45),
            paris(2026, 11, 13, 18, 46),
            RunSummary("ok"),
        )  # fmt: skip  (a Friday)
        last = journal.last("sync", ("ok",))
    monday_early = health(config, last, paris(2026, 11, 16, 8, 10))
    assert monday_early.healthy and monday_early.office_seconds == 25 * 60
    monday_late = health(config, last, paris(2026, 11, 16, 9, 5))
    assert not monday_late.healthy
    assert monday_late.message == (
        "dernière synchronisation réussie le 13/11/2026 18:45, il y a 1 h 20 d'heures "
        "ouvrées, plus de 2 × 30 min"
    )
    assert not health(config, None, paris(2026, 11, 16, 9, 5)).healthy


def test_status_shows_the_serve_heartbeat_and_the_next_runs(tmp_path: Path) -> None:
    config = load_config(make_alerts_workspace(tmp_path, None))
    now = paris(2026, 11, 16, 9, 0)
    beat = {"pid": 42, "host": "srv", "started": "2026-11-16T07:00:00+01:00",
            "beat": "2026-11-16T08:59:30+01:00", "beat_every": 60, "stopped": None,
            "config_error": "schedule.alerts_at : heure attendue", "next_sync":
            "2026-11-16T09:30:00+01:00", "next_alerts": "2026-11-17T08:30:00+01:00"}  # fmt: skip
    state = serve_state(beat, now)
    assert state is not None and state.state == "running"
    assert state.next_sync == paris(2026, 11, 16, 9, 30)
    assert serve_state(beat, paris(2026, 11, 16, 9, 10)).state == "silent"  # type: ignore[union-attr]
    assert serve_state(beat | {"stopped": beat["beat"]}, now).state == "stopped"  # type: ignore[union-attr]
    with Journal.of(config) as journal:
        journal.set_meta("serve", beat)
        journal.record("sync", "serve", paris(2026, 11, 16, 8, 30), paris(2026, 11, 16, 8, 31),
                       RunSummary("partial", {"sources": 2, "sources_read": 1, "sources_failed": 1},
                               "BAS.xlsx : illisible",
                               {"failed": [{"source": "BAS.xlsx", "message": "illisible"}]}))  # fmt: skip
    status = workspace_status(config, now)
    data = status.to_dict()
    assert data["healthy"] is False  # a partial sync is not a successful one
    assert data["failures"] == {"sync": 1, "alerts": 0}
    assert data["failing_sources"] == [{"source": "BAS.xlsx", "message": "illisible"}]
    assert data["serve"]["next_alerts"] == "2026-11-17T08:30:00+01:00"

    from qep_sync.cli.render_status import render_status

    text = click.unstyle(render_status(status, "qep-sync.toml"))
    assert "Santé : EN ALERTE — aucune synchronisation réussie dans le journal" in text
    assert "Service : en marche depuis aujourd'hui à 07:00 (pid 42 sur srv)" in text
    assert (
        "Prochains passages : synchronisation aujourd'hui à 09:30 ; relances demain à 08:30" in text
    )
    assert "Configuration modifiée invalide (l'ancienne reste en service)" in text
    assert "source en échec : BAS.xlsx — illisible" in text
    assert "16/11 08:30 synchronisation serve partiel" in text


def test_status_exit_code_is_for_monitoring(tmp_path: Path) -> None:
    path = make_alerts_workspace(tmp_path, None)
    code, out = invoke("status", "-c", str(path))
    assert code == 1  # never synced
    assert "aucune synchronisation réussie" in out
    assert "qep-sync serve n'a jamais tourné" in out
    assert invoke("sync", "-c", str(path))[0] == 0
    code, out = invoke("status", "-c", str(path))
    assert code == 0, out
    assert "Santé : OK" in out and "synchronisation cli   réussi" in out
    code, out = invoke("status", "-c", str(path), "--format", "json")
    assert code == 0 and json.loads(out)["healthy"] is True


def test_status_is_stale_after_twice_the_interval_of_office_time(tmp_path: Path) -> None:
    path = make_alerts_workspace(tmp_path, None)
    text = path.read_text(encoding="utf-8")
    path.write_text(text + '\n[schedule]\noffice_hours = ["00:00", "23:59"]\n'
                    "working_days_only = false\n", encoding="utf-8")  # fmt: skip
    config = load_config(path)
    long_ago = dt.datetime.now(PARIS) - dt.timedelta(hours=3)
    with Journal.of(config) as journal:
        journal.record("sync", "cli", long_ago, long_ago, RunSummary("ok"))
    code, out = invoke("status", "-c", str(path))
    assert code == 1
    assert "EN ALERTE" in out and "plus de 2 × 30 min" in out


def test_status_with_an_invalid_config_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "qep-sync.toml"
    path.write_text("[schedule\n", encoding="utf-8")
    assert invoke("status", "-c", str(path))[0] == 2


@pytest.mark.parametrize("kind", ["sync", "alerts"])
def test_the_journal_is_shared_by_cli_runs_and_serve(tmp_path: Path, kind: str) -> None:
    path = make_alerts_workspace(tmp_path, None)
    with Journal.of(load_config(path)) as journal:
        journal.record(kind, "serve", paris(2026, 11, 9, 9, 0), paris(2026, 11, 9, 9, 1),
                       RunSummary("ok"))  # fmt: skip
    assert invoke(kind, "-c", str(path), "--today", "2026-11-26")[0] == 0
    with Journal.of(load_config(path), readonly=True) as journal:
        assert [r.origin for r in journal.runs(kind=kind, newest_first=False)] == ["serve", "cli"]


def test_a_message_that_looks_like_a_formula_stays_text_in_the_csv(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        t = paris(2026, 11, 9, 9, 0)
        journal.record(
            "sync", "cli", t, t, RunSummary("partial", message="=HYPERLINK(1).xlsx : illisible")
        )
        rows = list(csv.DictReader(io.StringIO(export_csv(journal.runs()))))
    assert rows[0]["message"] == "'=HYPERLINK(1).xlsx : illisible"
