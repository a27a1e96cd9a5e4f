"""A real ``qep-sync serve`` process: it syncs at start, a second one refuses, SIGTERM stops it.

The workspace is the demonstration one (``qep-sync init --demo``: ten workbooks).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import make_good_workbook

from qep_sync.cli import main

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
STOP_WITHIN = 5.0  # seconds, from SIGTERM to the exit of the process


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "qep_sync", *args]


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QEP_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _finished_syncs(state: Path) -> list[tuple[str, str]]:
    path = state / "journal.sqlite"
    if not path.exists():
        return []
    with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as db:
        try:
            return db.execute(
                "SELECT kind, status FROM runs WHERE status != 'running' ORDER BY id"
            ).fetchall()
        except sqlite3.OperationalError:  # being created
            return []


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    result = CliRunner().invoke(
        main, ["init", str(tmp_path / "ws"), "--demo", "--today", "2026-11-26"],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0
    return tmp_path / "ws" / "qep-sync.toml"


@pytest.fixture
def server(workspace: Path, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    log = (tmp_path / "serve.err").open("w")
    process = subprocess.Popen(
        _command("serve", "-c", str(workspace), "--log-format", "json"),
        stdout=subprocess.DEVNULL, stderr=log, text=True, env=_environment(),
    )  # fmt: skip
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        log.close()


def test_serve_syncs_at_start_refuses_a_second_instance_and_stops_on_sigterm(
    workspace: Path, server: subprocess.Popen[str], tmp_path: Path
) -> None:
    state = workspace.parent / ".qep-sync"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_finished_syncs(state)) < 2:
        assert server.poll() is None, (tmp_path / "serve.err").read_text()
        time.sleep(0.2)
    assert _finished_syncs(state) == [("sync", "ok"), ("alerts", "ok")]
    services = workspace.parent / "services"
    assert all(p.stat().st_size > 0 for p in services.glob("*.xlsx"))

    second = subprocess.run(
        _command("serve", "-c", str(workspace)),
        capture_output=True, text=True, timeout=60, env=_environment(),
    )  # fmt: skip
    assert second.returncode == 2
    assert "qep-sync serve tourne déjà pour cet espace de travail" in second.stderr
    assert f"pid {server.pid}" in second.stderr

    status = subprocess.run(
        _command("status", "-c", str(workspace), "--format", "json"),
        capture_output=True, text=True, timeout=60, env=_environment(),
    )  # fmt: skip
    assert status.returncode == 0, status.stdout + status.stderr
    data = json.loads(status.stdout)
    assert data["healthy"] is True
    assert data["serve"]["state"] == "running" and data["serve"]["pid"] == server.pid
    assert data["serve"]["next_alerts"] is not None

    sent = time.monotonic()
    server.send_signal(signal.SIGTERM)
    code = server.wait(timeout=30)
    elapsed = time.monotonic() - sent
    assert code == 0
    assert elapsed < STOP_WITHIN, f"stopped in {elapsed:.1f} s"
    events = [json.loads(line) for line in (tmp_path / "serve.err").read_text().splitlines()]
    names = [e["event"] for e in events]
    assert names[0] == "serve_started"
    assert "sync_finished" in names and "stop_requested" in names
    assert names[-1] == "serve_stopped"
    assert not list(services.glob(".*.tmp")), "a temporary file was left behind"

    stopped = subprocess.run(
        _command("status", "-c", str(workspace)),
        capture_output=True, text=True, timeout=60, env=_environment(),
    )  # fmt: skip
    assert "Service : arrêté aujourd'hui" in stopped.stdout


def test_serve_with_an_invalid_config_exits_2_with_the_key(tmp_path: Path) -> None:
    make_good_workbook(tmp_path / "BAS.xlsx")
    config = tmp_path / "qep-sync.toml"
    config.write_text('[schedule]\nsync_every_minutes = "souvent"\n\n[[sources]]\n'
                      'service = "BAS"\nxlsx = "BAS.xlsx"\n', encoding="utf-8")  # fmt: skip
    result = subprocess.run(
        _command("serve", "-c", str(config)), capture_output=True, text=True, timeout=60,
        env=_environment(),
    )  # fmt: skip
    assert result.returncode == 2
    assert "schedule.sync_every_minutes : doit être un nombre entier" in result.stderr


def test_serve_refuses_today(workspace: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "-c", str(workspace), "--today", "2026-11-26"])
    assert result.exit_code == 2
    assert "--today n'a pas de sens pour qep-sync serve" in result.output


def test_sigterm_during_the_first_sync_stops_it_cleanly(workspace: Path) -> None:
    import zipfile

    process = subprocess.Popen(
        _command("serve", "-c", str(workspace), "--log-format", "json"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_environment(),
    )  # fmt: skip
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if json.loads(line)["event"] == "sync_started":
                sent = time.monotonic()
                process.send_signal(signal.SIGTERM)
                break
        rest = process.stderr.read()
        code = process.wait(timeout=30)
        elapsed = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        if process.stderr is not None:
            process.stderr.close()
    assert code == 0, rest
    assert elapsed < STOP_WITHIN
    runs = _finished_syncs(workspace.parent / ".qep-sync")
    assert runs in ([("sync", "interrupted")], [("sync", "ok")])  # stopped, or done just before
    assert ("alerts", "ok") not in runs  # nothing started after the signal
    folder = workspace.parent
    assert not list(folder.rglob("*.tmp"))
    for path in folder.rglob("*.xlsx"):
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None, path


def test_serve_with_an_unusable_state_folder_exits_2_with_the_folder(tmp_path: Path) -> None:
    make_good_workbook(tmp_path / "BAS.xlsx")
    (tmp_path / "fichier").write_text("pas un dossier")
    config = tmp_path / "qep-sync.toml"
    config.write_text('[workspace]\nstate_dir = "fichier/etat"\n\n[[sources]]\n'
                      'service = "BAS"\nxlsx = "BAS.xlsx"\n', encoding="utf-8")  # fmt: skip
    result = CliRunner().invoke(main, ["serve", "-c", str(config)])
    assert result.exit_code == 2
    assert f"dossier d'état inaccessible ({tmp_path / 'fichier' / 'etat'})" in result.output
