"""Logs: the human and the JSON format, the rotating file, and no secret in any of them."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alerts_support import CLAIRE, Recorder, make_alerts_workspace, password_checker, smtp_server
from gsheet_helpers import make_service_account_key

from qep_sync.config import Config, LogSettings, load_config
from qep_sync.jobs.check import Progress
from qep_sync.jobs.outcome import RunSummary
from qep_sync.service.journal import Journal
from qep_sync.service.logs import MASK, Redactor, log_event, secrets_of, setup_logging
from qep_sync.service.serve import ServeLoop
from qep_sync.service.workspace_jobs import WorkspaceJobs

PARIS = ZoneInfo("Europe/Paris")
PASSWORD = "Mot-de-passe-SMTP_tr3s-secret"
log = logging.getLogger("qep_sync.test")


@pytest.fixture
def capture() -> Iterator[io.StringIO]:
    """setup_logging to a string, at DEBUG, taken away after the test."""
    stream = io.StringIO()
    setup = setup_logging(LogSettings(level="DEBUG"), stream=stream)
    try:
        yield stream
    finally:
        setup.close()


def test_the_text_format_is_one_line_per_event_with_its_keys(capture: io.StringIO) -> None:
    log_event(log, logging.INFO, "sync_finished", status="ok", cells=12,
              message="12 cellules écrites")  # fmt: skip
    line = capture.getvalue().strip()
    assert line.endswith(
        'INFO qep_sync.test sync_finished status=ok cells=12 message="12 cellules écrites"'
    )
    dt.datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S")


def test_the_json_format_is_one_object_per_line_with_the_traceback(tmp_path: Path) -> None:
    stream = io.StringIO()
    setup = setup_logging(LogSettings(format="json"), stream=stream)
    try:
        log_event(log, logging.WARNING, "sync_finished", status="partial", failures=2, ok=False)
        try:
            raise ValueError("cassé")
        except ValueError:
            log.exception("sync_failed", extra={"fields": {"message": "cassé"}})
        log.debug("not shown at INFO")
    finally:
        setup.close()
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["level"] == "WARNING" and first["logger"] == "qep_sync.test"
    assert (first["event"], first["status"], first["failures"], first["ok"]) == (
        "sync_finished", "partial", 2, False,
    )  # fmt: skip
    assert dt.datetime.fromisoformat(first["time"]).tzinfo is not None
    assert second["event"] == "sync_failed" and "ValueError: cassé" in second["exception"]


def test_the_log_file_rotates(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "qep-sync.log"
    setup = setup_logging(LogSettings(file=path, max_megabytes=1, backup_count=2),
                          stream=io.StringIO())  # fmt: skip
    try:
        for i in range(12_000):
            log_event(log, logging.INFO, "filler", i=i, text="x" * 200)
    finally:
        setup.close()
    assert path.exists() and (tmp_path / "logs" / "qep-sync.log.1").exists()
    assert (tmp_path / "logs" / "qep-sync.log.2").exists()
    assert not (tmp_path / "logs" / "qep-sync.log.3").exists()  # backup_count
    assert path.stat().st_size <= 1024 * 1024


def test_library_warnings_go_to_the_log(capture: io.StringIO) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("always")  # the suite turns warnings into errors
        warnings.warn("attention openpyxl", UserWarning, stacklevel=1)
    assert "attention openpyxl" in capture.getvalue()


def test_the_redactor_masks_values_and_secret_looking_text() -> None:
    redact = Redactor()
    redact.add(PASSWORD, "abc")  # too short to be masked without masking words
    pem = (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
    )
    assert redact(f"login {PASSWORD} refused") == f"login {MASK} refused"
    assert redact(repr(f"a{PASSWORD}\n")) == repr(f"a{MASK}\n")
    assert redact(f"key: {pem}") == f"key: {MASK}\n"
    assert redact('{"password": "hunter2", "user": "x"}') == f'{{"password": {MASK}, "user": "x"}}'
    assert redact("token=eyJhbGciOi&next=1") == f"token={MASK}&next=1"
    assert redact("abc def") == "abc def"


# ---------------------------------------------------------------- a real run, grepped


class LeakyJobs(WorkspaceJobs):
    """The real jobs, and once a library error that quotes the secrets it was given."""

    def __init__(self, leak: str, env: dict[str, str]) -> None:
        super().__init__(env=env)
        self.leak = leak

    def run(self, kind: str, config: Config, now: dt.datetime, progress: Progress) -> RunSummary:
        summary = super().run(kind, config, now, progress)
        logging.getLogger("qep_sync.backends").debug("connected with %s", self.leak)
        if kind == "sync" and now.hour == 8:
            raise RuntimeError(f"authentication failed for {self.leak}")
        return summary


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_no_secret_reaches_the_logs_the_journal_or_the_notice(tmp_path: Path, fmt: str) -> None:
    key = make_service_account_key(tmp_path / "cle-google.json", "http://127.0.0.1:9/token")
    env = {
        "QEP_SMTP_PASSWORD": PASSWORD,
        "QEP_GOOGLE_CREDENTIALS": str(tmp_path / "cle-google.json"),
    }
    recorder = Recorder()
    checker = password_checker("qep-sync", PASSWORD, recorder)
    with smtp_server(recorder, authenticator=checker, auth_require_tls=False) as server:
        smtp = 'user = "qep-sync"\npassword_env = "QEP_SMTP_PASSWORD"'
        path = make_alerts_workspace(tmp_path, server.port, smtp=smtp)
        path.write_text(path.read_text() + "\n[schedule]\nfailure_alert_after = 1\n")
        config = load_config(path)
        assert set(secrets_of(config, env)) == {PASSWORD, key["private_key"], key["private_key_id"]}
        logfile = tmp_path / "qep-sync.log"
        stream = io.StringIO()
        setup = setup_logging(LogSettings(format=fmt, file=logfile, level="DEBUG"),
                              secrets=secrets_of(config, env), stream=stream)  # fmt: skip
        leak = f"user=qep-sync {PASSWORD} key={key['private_key']!r} raw={key['private_key']}"
        stop = threading.Event()
        now = {"t": dt.datetime(2026, 11, 26, 7, 0, tzinfo=PARIS)}

        def wait(seconds: float) -> None:
            now["t"] += dt.timedelta(seconds=seconds)
            if now["t"] >= dt.datetime(2026, 11, 26, 8, 1, tzinfo=PARIS):
                stop.set()

        try:
            service = ServeLoop(config, clock=lambda: now["t"], wait=wait, stop=stop,
                              jobs=LeakyJobs(leak, env), env=env, heartbeat=3600)  # fmt: skip
            service.run()
        finally:
            setup.close()
        logging.getLogger("qep_sync.backends").setLevel(logging.NOTSET)
    assert recorder.logins and recorder.logins[0] == ("qep-sync", PASSWORD)  # really used
    lead_mail = recorder.to(CLAIRE)
    notice = [m for m in lead_mail if "en échec" in str(m.message["Subject"])]
    assert len(notice) == 1  # the 08:00 sync failed: failure_alert_after = 1

    logged = logfile.read_text(encoding="utf-8")
    assert logged == stream.getvalue()
    assert "authentication failed" in logged and MASK in logged
    with Journal.of(config, readonly=True) as journal:
        journaled = json.dumps([r.to_dict() for r in journal.runs()], ensure_ascii=False)
    assert "authentication failed" in journaled
    notice_text = notice[0].part("plain")
    assert "authentication failed" in notice_text
    texts: dict[str, Any] = {"log": logged, "journal": journaled, "notice": notice_text}
    body_lines = [ln for ln in key["private_key"].splitlines() if ln and not ln.startswith("-----")]
    for where, text in texts.items():
        assert PASSWORD not in text, where
        assert key["private_key_id"] not in text, where
        for line in body_lines:
            assert line not in text, (where, line)
        assert "BEGIN PRIVATE KEY" not in text, where


@pytest.mark.parametrize(
    ("utc", "text", "iso"),
    [
        (dt.datetime(2026, 11, 26, 7, 30, tzinfo=dt.UTC), "2026-11-26 08:30:00+01:00",
         "2026-11-26T08:30:00.000+01:00"),
        (dt.datetime(2026, 7, 1, 6, 0, 0, 250000, tzinfo=dt.UTC), "2026-07-01 08:00:00+02:00",
         "2026-07-01T08:00:00.250+02:00"),
    ],
)  # fmt: skip
def test_log_times_are_paris_time_with_the_offset_whatever_the_machines_zone(
    monkeypatch: pytest.MonkeyPatch, utc: dt.datetime, text: str, iso: str
) -> None:
    import time

    from qep_sync.service.logs import JsonFormatter, TextFormatter

    monkeypatch.setenv("TZ", "America/New_York")  # a server left in another zone
    time.tzset()
    try:
        record = logging.LogRecord("qep_sync.test", logging.INFO, __file__, 1, "tick", None, None)
        record.created = utc.timestamp()
        assert TextFormatter(Redactor()).format(record).startswith(f"{text} INFO qep_sync.test")
        assert json.loads(JsonFormatter(Redactor()).format(record))["time"] == iso
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
