"""The serve loop on an injected clock: a simulated week in seconds, failures, reloads, stops.

The clock is a ``FakeTime``: the loop's wait moves it on instead of sleeping, so schedule's
own arithmetic runs on simulated time. The jobs are scripted (``ScriptedJobs``) except in
``test_the_real_jobs_sync_and_send_on_a_simulated_morning``, which runs the real ones.
"""

from __future__ import annotations

import datetime as dt
import email
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from email import policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alerts_support import CLAIRE, make_alerts_workspace
from conftest import make_good_workbook

from qep_sync.config import Config, Schedule, load_config
from qep_sync.jobs.check import Progress
from qep_sync.jobs.outcome import RunSummary
from qep_sync.service.journal import Journal, Stopped
from qep_sync.service.office_hours import in_office_hours, next_office_run, office_seconds_between
from qep_sync.service.scheduler_clock import scheduler_clock
from qep_sync.service.serve import ServeLoop
from qep_sync.workdays import WorkingCalendar

PARIS = ZoneInfo("Europe/Paris")
LEAD = "referent.qualite@doubs.gouv.fr"


def paris(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


class FakeTime:
    """A clock that only moves when the loop waits; stops the service at ``end``."""

    def __init__(self, start: dt.datetime, end: dt.datetime, stop: threading.Event) -> None:
        self.now, self.end, self.stop = start, end, stop
        self.waits = 0

    def clock(self) -> dt.datetime:
        return self.now

    def wait(self, seconds: float) -> None:
        self.waits += 1
        self.now = min(self.now + dt.timedelta(seconds=seconds), self.end)
        if self.now >= self.end:
            self.stop.set()


Script = Callable[[str, dt.datetime], Any]


class ScriptedJobs:
    """Jobs that record when they ran and end as ``script(kind, now)`` says (raise, partial)."""

    def __init__(self, script: Script | None = None) -> None:
        self.script = script or (lambda kind, now: None)
        self.calls: list[tuple[str, dt.datetime]] = []

    def run(self, kind: str, config: Config, now: dt.datetime, progress: Progress) -> RunSummary:
        self.calls.append((kind, now))
        outcome = self.script(kind, now)
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome == "partial":
            return RunSummary("partial", {"sources": 2, "sources_failed": 1}, "BAS.xlsx : illisible",
                           {"failed": [{"source": "BAS.xlsx", "message": "illisible"}]})  # fmt: skip
        return RunSummary("ok", {"sources": 2, "sources_read": 2, "cells_written": 4}, "fait")

    def end_tick(self) -> None:
        pass

    def times(self, kind: str) -> list[dt.datetime]:
        return [t for k, t in self.calls if k == kind]


def write_config(directory: Path, schedule: str = "", alerts: str = "") -> Path:
    (directory / "services").mkdir(parents=True, exist_ok=True)
    make_good_workbook(directory / "services" / "BAS.xlsx")
    path = directory / "qep-sync.toml"
    path.write_text(
        f"""
[workspace]
state_dir = "etat"

[alerts]
sender = "prefqualite@doubs.gouv.fr"
quality_lead = "{LEAD}"
outbox = "outbox"
{alerts}

[schedule]
{schedule}

[[sources]]
service = "BAS"
xlsx = "services/BAS.xlsx"
""",
        encoding="utf-8",
    )
    return path


def simulate(
    config: Config, start: dt.datetime, end: dt.datetime, jobs: Any, **kwargs: Any
) -> tuple[ServeLoop, FakeTime]:
    stop = threading.Event()
    fake = FakeTime(start, end, stop)
    service = ServeLoop(config, clock=fake.clock, wait=fake.wait, stop=stop, jobs=jobs,
                      heartbeat=3600, **kwargs)  # fmt: skip
    service.run()
    return service, fake


def outbox_messages(directory: Path) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted((directory / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, email.message.EmailMessage)
        found.append(message)
    return found


# ---------------------------------------------------------------- a week


WEEK_START = paris(2026, 11, 9, 7, 0)  # Monday; Wednesday 11 is a public holiday (Armistice)
WEEK_END = paris(2026, 11, 16, 7, 0)


def week_script(kind: str, now: dt.datetime) -> Any:
    if kind == "sync" and now.date() == dt.date(2026, 11, 10) and 10 <= now.hour < 12:
        return RuntimeError("disque du partage indisponible")  # 4 failures in a row
    if (
        kind == "sync"
        and now.date() == dt.date(2026, 11, 12)
        and (14, 0) <= (now.hour, now.minute) <= (15, 0)
    ):
        return "partial"  # 3 in a row
    if kind == "alerts" and now.date() == dt.date(2026, 11, 13):
        return RuntimeError("boom")  # one failure: no email
    return None


def test_a_simulated_week_follows_office_hours_working_days_and_tells_the_lead_once_per_streak(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = load_config(write_config(tmp_path))
    jobs = ScriptedJobs(week_script)
    caplog.set_level(logging.INFO, logger="qep_sync")
    began = time.monotonic()
    service, fake = simulate(config, WEEK_START, WEEK_END, jobs)
    assert time.monotonic() - began < 20  # a week in seconds

    syncs = jobs.times("sync")
    cal = WorkingCalendar()
    assert syncs[0] == WEEK_START  # once at start, whatever the hour
    for moment in syncs[1:]:
        assert in_office_hours(moment, config.schedule, cal), moment
        assert moment.minute in (0, 30) and moment.second == 0
    days = {m.date() for m in syncs[1:]}
    assert days == {dt.date(2026, 11, d) for d in (9, 10, 12, 13)}  # not the 11th, no weekend
    assert len(syncs) == 1 + 4 * 22  # 08:00, 08:30, …, 18:30 on four working days
    alerts = jobs.times("alerts")
    assert alerts == [WEEK_START] + [paris(2026, 11, d, 8, 30) for d in range(9, 16)]
    assert fake.waits < 7 * 24 * 60 + 200  # never more than a minute of sleep per wait

    with Journal.of(config, readonly=True) as journal:
        runs = journal.runs(newest_first=False)
    sync_runs = [r for r in runs if r.kind == "sync"]
    assert [r.started for r in sync_runs] == syncs
    assert sum(r.status == "error" for r in sync_runs) == 4
    assert sum(r.status == "partial" for r in sync_runs) == 3
    failed = next(r for r in sync_runs if r.status == "error")
    assert failed.message == "erreur inattendue : RuntimeError: disque du partage indisponible"
    notices = [r for r in runs if r.kind == "notice"]
    assert [(n.started, n.status) for n in notices] == [
        (paris(2026, 11, 10, 11, 0), "ok"),  # the third failure of the first streak
        (paris(2026, 11, 12, 15, 0), "ok"),  # the third of the second
    ]
    assert all(r.status == "ok" for r in runs if r.kind == "alerts" and r.started.day != 13)

    messages = outbox_messages(tmp_path)
    assert len(messages) == 2
    first = messages[0]
    assert first["To"] == LEAD
    assert first["Subject"] == "[qep-sync] La synchronisation en échec depuis 3 passages"
    body = first.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "les 3 derniers passages ont échoué, depuis le 10/11/2026 à 10:00" in text
    assert "disque du partage indisponible" in text
    second = messages[1].get_body(("plain",))
    assert second is not None and "BAS.xlsx : illisible" in second.get_content()

    events = [getattr(r, "fields", {}) | {"event": r.getMessage()} for r in caplog.records]
    failures = [e for e in events if e["event"] == "sync_failed"]
    assert len(failures) == 4 and all("disque du partage" in e["message"] for e in failures)
    assert sum(e["event"] == "failure_notice_sent" for e in events) == 2
    assert sum(e["event"] == "sync_recovered" for e in events) == 2
    assert service.streaks["sync"].count == 0


def test_a_streak_survives_a_restart_and_is_told_only_once(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "failure_alert_after = 3\nrun_at_start = false"))
    failing = ScriptedJobs(lambda kind, now: RuntimeError("panne") if kind == "sync" else None)
    simulate(config, paris(2026, 11, 9, 8, 30), paris(2026, 11, 9, 10, 5), failing)  # 09:00…10:00
    assert len(failing.times("sync")) == 3
    assert len(outbox_messages(tmp_path)) == 1
    # Restarted: the streak goes on (read back from the journal), and no second email.
    again = ScriptedJobs(lambda kind, now: RuntimeError("panne") if kind == "sync" else None)
    simulate(config, paris(2026, 11, 9, 10, 10), paris(2026, 11, 9, 12, 0), again)  # 10:40…11:40
    assert len(again.times("sync")) == 3
    assert len(outbox_messages(tmp_path)) == 1
    with Journal.of(config, readonly=True) as journal:
        assert len(journal.failure_streak("sync")) == 6


def test_without_a_quality_lead_the_notice_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config(tmp_path, "failure_alert_after = 2\nrun_at_start = false")
    path.write_text(path.read_text().replace(f'quality_lead = "{LEAD}"', ""), encoding="utf-8")
    config = load_config(path)
    caplog.set_level(logging.INFO, logger="qep_sync")
    jobs = ScriptedJobs(lambda kind, now: "partial" if kind == "sync" else None)
    simulate(config, paris(2026, 11, 9, 8, 45), paris(2026, 11, 9, 11, 0), jobs)
    failed = [r for r in caplog.records if r.getMessage() == "failure_notice_failed"]
    assert len(failed) == 1
    assert "alerts.quality_lead" in failed[0].fields["message"]  # type: ignore[attr-defined]
    assert not (tmp_path / "outbox").exists()


# ---------------------------------------------------------------- time


@pytest.fixture(params=["UTC", "Europe/Paris", "America/New_York"])
def machine_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """The machine's own time zone must not matter (schedule works in naive local time)."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is not available on this platform")
    saved = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield request.param
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


def test_alerts_keep_their_paris_time_across_the_change_to_winter_time(
    tmp_path: Path, machine_zone: str
) -> None:
    config = load_config(write_config(tmp_path, 'alerts_at = "08:30"\nsync_every_minutes = 1440'))
    jobs = ScriptedJobs()
    simulate(config, paris(2026, 10, 23, 7, 0), paris(2026, 10, 28, 7, 0), jobs,
             run_at_start=False)  # fmt: skip
    # Sunday 25 October 2026: clocks go back from 03:00 to 02:00 in Paris.
    assert jobs.times("alerts") == [paris(2026, 10, d, 8, 30) for d in range(23, 28)]
    offsets = [t.utcoffset() for t in jobs.times("alerts")]
    assert offsets[:2] == [dt.timedelta(hours=2)] * 2 and offsets[2:] == [dt.timedelta(hours=1)] * 3


def test_the_scheduler_clock_is_put_back_after_use() -> None:
    import datetime as real

    import schedule

    with scheduler_clock(lambda: paris(2030, 1, 1, 12, 0)):
        assert schedule.datetime.datetime.now(PARIS) == paris(2030, 1, 1, 12, 0)
    assert schedule.datetime is real


def test_office_hours_arithmetic() -> None:
    plan = Schedule(sync_every_minutes=30)
    cal = WorkingCalendar()
    assert in_office_hours(paris(2026, 11, 9, 8, 0), plan, cal)
    assert not in_office_hours(paris(2026, 11, 9, 19, 0), plan, cal)  # the end is excluded
    assert not in_office_hours(paris(2026, 11, 11, 10, 0), plan, cal)  # public holiday
    every = dt.timedelta(minutes=30)
    # Friday evening → Monday morning; Tuesday 10 → Thursday 12 (the 11th is a holiday).
    assert next_office_run(paris(2026, 11, 13, 19, 10), every, plan, cal) == paris(
        2026, 11, 16, 8, 10
    )
    assert next_office_run(paris(2026, 11, 10, 22, 0), every, plan, cal) == paris(
        2026, 11, 12, 8, 0
    )
    assert next_office_run(paris(2026, 11, 9, 9, 15), every, plan, cal) == paris(2026, 11, 9, 9, 15)
    # Office time: Friday 18:45 → Monday 08:10 is 15 + 10 minutes.
    seconds = office_seconds_between(
        paris(2026, 11, 13, 18, 45), paris(2026, 11, 16, 8, 10), plan, cal
    )
    assert seconds == 25 * 60
    everyday = Schedule(working_days_only=False)
    assert in_office_hours(paris(2026, 11, 14, 10, 0), everyday, cal)  # Saturday


# ---------------------------------------------------------------- reload, stop


def test_a_changed_config_is_reloaded_and_an_invalid_one_is_reported_and_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config(tmp_path, "sync_every_minutes = 30\nrun_at_start = false")
    config = load_config(path)
    caplog.set_level(logging.INFO, logger="qep_sync")
    stop = threading.Event()
    fake = FakeTime(paris(2026, 11, 9, 9, 0), paris(2026, 11, 9, 18, 0), stop)
    jobs = ScriptedJobs()
    service = ServeLoop(config, clock=fake.clock, wait=fake.wait, stop=stop, jobs=jobs)
    original = path.read_text()

    def edits(kind: str, now: dt.datetime) -> None:
        if now == paris(2026, 11, 9, 10, 0):
            path.write_text(original.replace("sync_every_minutes = 30", "sync_every_minutes = 60"))
        elif now == paris(2026, 11, 9, 12, 0):
            path.write_text(original + "\n[schedule.oops]\n")  # an unknown key
        elif now == paris(2026, 11, 9, 14, 0):
            path.write_text(original.replace("sync_every_minutes = 30", "sync_every_minutes = 15"))

    jobs.script = edits
    service.run()
    times = [t.strftime("%H:%M") for t in jobs.times("sync")]
    # every 30 min until the 10:00 edit, then hourly (the 12:00 invalid edit changes nothing),
    # then every 15 minutes after the 14:00 fix.
    assert times[:3] == ["09:30", "10:00", "11:00"]
    assert "13:00" in times and "14:00" in times and "14:15" in times and "14:30" in times
    assert "12:30" not in times
    events = [r.getMessage() for r in caplog.records]
    assert events.count("config_invalid") == 1  # reported once, not at every tick
    assert events.count("config_reloaded") == 2
    invalid = next(r for r in caplog.records if r.getMessage() == "config_invalid")
    assert invalid.fields["message"].startswith("schedule.oops : clé inconnue")  # type: ignore[attr-defined]
    assert service.config_error is None  # the last edit is valid again


def test_an_invalid_config_is_shown_by_the_heartbeat(tmp_path: Path) -> None:
    path = write_config(tmp_path, "run_at_start = false")
    config = load_config(path)
    stop = threading.Event()
    fake = FakeTime(paris(2026, 11, 9, 9, 0), paris(2026, 11, 9, 9, 10), stop)
    service = ServeLoop(config, clock=fake.clock, wait=fake.wait, stop=stop, jobs=ScriptedJobs())
    service.journal = Journal.of(config)
    path.write_text(path.read_text().replace("run_at_start = false", "sync_every_minutes = 0"))
    service.tick()
    assert service.config_error is not None and "sync_every_minutes" in service.config_error
    assert service.config is config
    beat = service.journal.get_meta("serve")
    assert beat is not None and beat["config_error"] == service.config_error
    service.journal.close()


def test_a_stop_during_a_sync_interrupts_it_before_the_next_source(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    stop = threading.Event()
    fake = FakeTime(paris(2026, 11, 9, 9, 0), paris(2026, 11, 9, 18, 0), stop)
    read: list[int] = []

    class SlowJobs(ScriptedJobs):
        def run(
            self, kind: str, config: Config, now: dt.datetime, progress: Progress
        ) -> RunSummary:
            for i in range(5):
                progress(i, 5, config.sources[0])
                read.append(i)
                if i == 1:
                    stop.set()  # SIGTERM arrives while the second source is read
            return RunSummary("ok")

    ServeLoop(config, clock=fake.clock, wait=fake.wait, stop=stop, jobs=SlowJobs()).run()
    assert read == [0, 1]
    with Journal.of(config, readonly=True) as journal:
        runs = journal.runs()
        beat = journal.get_meta("serve")
    assert [(r.kind, r.status) for r in runs] == [("sync", "interrupted")]
    assert beat is not None and beat["stopped"] is not None


def test_a_job_raising_stopped_is_not_counted_as_a_failure(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "failure_alert_after = 1"))
    jobs = ScriptedJobs(lambda kind, now: Stopped())
    service, _ = simulate(config, paris(2026, 11, 9, 9, 0), paris(2026, 11, 9, 9, 1), jobs)
    assert service.streaks["sync"].count == 0
    assert not (tmp_path / "outbox").exists()


# ---------------------------------------------------------------- the real jobs


def test_the_real_jobs_sync_and_send_on_a_simulated_morning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_alerts_workspace(tmp_path, None)
    config = load_config(path)
    import qep_sync.jobs.check
    import qep_sync.jobs.sync  # bound to the real run_check before the patch below

    assert qep_sync.jobs.sync.run_check is qep_sync.jobs.check.run_check
    reads: list[dt.date] = []
    real = qep_sync.jobs.check.run_check

    def counting(config: Config, today: dt.date, *args: Any, **kwargs: Any) -> Any:
        reads.append(today)
        return real(config, today, *args, **kwargs)

    monkeypatch.setattr(qep_sync.jobs.check, "run_check", counting)  # the alerts' own reading only
    stop = threading.Event()
    fake = FakeTime(paris(2026, 11, 26, 7, 0), paris(2026, 11, 26, 9, 5), stop)
    service = ServeLoop(config, clock=fake.clock, wait=fake.wait, stop=stop, heartbeat=600)
    service.run()
    with Journal.of(config, readonly=True) as journal:
        runs = journal.runs(newest_first=False)
        beat = journal.get_meta("serve")
    assert [(r.kind, r.started.strftime("%H:%M"), r.status) for r in runs] == [
        ("sync", "07:00", "ok"), ("alerts", "07:00", "ok"), ("sync", "08:00", "ok"),
        ("sync", "08:30", "ok"), ("alerts", "08:30", "ok"), ("sync", "09:00", "ok"),
    ]  # fmt: skip
    assert runs[0].counts["files_written"] == 2 and runs[0].counts["cells_written"] > 0
    assert runs[2].counts["files_written"] == 0  # nothing changed since 07:00
    assert runs[1].counts["messages_sent"] == 5 and runs[4].counts["messages_sent"] == 0
    assert reads == []  # the alerts reused the sync of the same tick: each file read once
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 5
    assert any(CLAIRE in p.name for p in (tmp_path / "outbox").glob("*.eml"))
    assert beat is not None and beat["stopped"] == "2026-11-26T09:05:00+01:00"
    assert beat["failures"] == {"sync": 0, "alerts": 0}


class EventfulTime(FakeTime):
    """A FakeTime that does ``action`` once the clock passes each of its moments."""

    def __init__(self, start: dt.datetime, end: dt.datetime, stop: threading.Event,
                 events: list[tuple[dt.datetime, Callable[[], None]]]) -> None:  # fmt: skip
        super().__init__(start, end, stop)
        self.events = sorted(events, key=lambda e: e[0])

    def wait(self, seconds: float) -> None:
        super().wait(seconds)
        while self.events and self.events[0][0] <= self.now:
            self.events.pop(0)[1]()


def test_a_source_renamed_during_serve_fails_alone_and_is_read_again_once_back(
    tmp_path: Path,
) -> None:
    # docs/contract.md §6: a missing file is a failed source (the others are processed, serve
    # goes on and retries it at the next run, status names it), never a config error.
    from qep_sync.service.status import workspace_status

    config = load_config(make_alerts_workspace(tmp_path, None))
    book = tmp_path / "services" / "BAS.xlsx"
    moved = tmp_path / "services" / "BAS (ancien).xlsx"
    seen: dict[str, Any] = {}

    def rename() -> None:
        book.rename(moved)

    def look_then_restore() -> None:
        seen["status"] = workspace_status(config, paris(2026, 11, 26, 8, 45))
        moved.rename(book)

    stop = threading.Event()
    fake = EventfulTime(paris(2026, 11, 26, 7, 0), paris(2026, 11, 26, 9, 5), stop,
                        [(paris(2026, 11, 26, 7, 30), rename),
                         (paris(2026, 11, 26, 8, 45), look_then_restore)])  # fmt: skip
    ServeLoop(config, clock=fake.clock, wait=fake.wait, stop=stop, heartbeat=600).run()
    with Journal.of(config, readonly=True) as journal:
        syncs = journal.runs(kind="sync", newest_first=False)
    assert [(r.started.strftime("%H:%M"), r.status) for r in syncs] == [
        ("07:00", "ok"), ("08:00", "partial"), ("08:30", "partial"), ("09:00", "ok")]  # fmt: skip
    missing = syncs[1]
    assert missing.counts["sources"] == 2 and missing.counts["sources_read"] == 1
    assert missing.counts["sources_failed"] == 1
    assert missing.message == "BAS.xlsx : fichier introuvable"
    status = seen["status"]
    assert [(f["source"], f["message"]) for f in status.failing_sources] == [
        ("BAS.xlsx", "fichier introuvable")]  # fmt: skip
    assert status.failures["sync"] == 2
    assert syncs[3].counts["sources_read"] == 2  # back under its name: read again


def test_serve_starts_with_a_source_already_missing(tmp_path: Path) -> None:
    path = make_alerts_workspace(tmp_path, None)
    (tmp_path / "services" / "BAS.xlsx").unlink()
    config = load_config(path)  # no config error: the file may come back
    stop = threading.Event()
    fake = FakeTime(paris(2026, 11, 26, 8, 0), paris(2026, 11, 26, 8, 10), stop)
    ServeLoop(config, clock=fake.clock, wait=fake.wait, stop=stop, heartbeat=600).run()
    with Journal.of(config, readonly=True) as journal:
        runs = journal.runs(newest_first=False)
    assert [(r.kind, r.status) for r in runs] == [("sync", "partial"), ("alerts", "ok")]
    assert runs[0].counts["sources_read"] == 1  # the Correspondants workbook was read
