"""``qep-sync serve``: sync and alerts on the config's schedule, until SIGTERM or SIGINT.

The loop is ``schedule``'s (an own ``schedule.Scheduler``): a sync every
``schedule.sync_every_minutes`` (run only within ``office_hours``, on working days unless
``working_days_only = false``), the alerts every day at ``alerts_at`` (Europe/Paris, through
pytz; ``run_alerts`` itself holds them on non-working days), and both once at start unless
``run_at_start = false`` or ``--no-initial-run``. Between ticks it waits on a
``threading.Event`` for ``min(idle_seconds, 60)`` s, so a signal stops it at once.

**Time is injected** (a clock and a wait function): see ``scheduler_clock``.

**Contained failures.** A job that raises is caught, logged and journaled (``error``); a run
that ends with a source or a message in failure is ``partial``. After
``failure_alert_after`` such runs in a row of the same job, the quality lead gets one email
(through the alerts' transport: SMTP, or the outbox without ``[smtp]``), once per streak,
even across restarts (the streak is read back from the journal at start).

**One serve per workspace**: a lock (``serve.lock``, SQLite, released by the OS if the process
dies) in the state folder. **Config reload**: the file is re-read when its content changes;
an invalid one is logged and shown by ``qep-sync status``, and the running config stays.
**Stop**: a signal sets the event; a sync still reading stops before its next source (nothing
is written then), one already writing finishes its atomic writes first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import signal
import socket
import threading
import types
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schedule as schedule_lib

from qep_sync.alerts.transport import Transport
from qep_sync.clock import PARIS, paris_now
from qep_sync.config import Config, Source, load_config
from qep_sync.env import Environment
from qep_sync.errors import ConfigError, QepSyncError, UsageError
from qep_sync.jobs.outcome import RunSummary
from qep_sync.service.failure_notice import JOB_NAMES, send_failure_notice
from qep_sync.service.journal import (
    FAILED,
    JOURNAL_NAME,
    Journal,
    JournalError,
    RunRecord,
    Stopped,
    journaled,
)
from qep_sync.service.logs import Redactor, log_event, secrets_of
from qep_sync.service.office_hours import in_office_hours, next_office_run
from qep_sync.service.scheduler_clock import Clock, scheduler_clock, to_paris
from qep_sync.service.workspace_jobs import Jobs, WorkspaceJobs
from qep_sync.statefiles import exclusive_lock
from qep_sync.text import plural
from qep_sync.workdays import calendar_of

LOCK_NAME = "serve.lock"
MAX_WAIT = 60.0  # seconds between two looks at the stop event, the config and the schedule
HEARTBEAT = 60.0  # seconds between two heartbeats written to the journal

Wait = Callable[[float], None]

log = logging.getLogger("qep_sync.service.serve")


# ---------------------------------------------------------------- one serve per workspace


def _describe_holder(state_dir: Path) -> str:
    """« (pid 1234 sur srv, démarré le 26/11/2026 à 07:58) », from the running serve's heartbeat."""
    try:
        with Journal(state_dir / JOURNAL_NAME, readonly=True) as journal:
            beat = journal.get_meta("serve") or {}
        started = dt.datetime.fromisoformat(str(beat.get("started"))).astimezone(PARIS)
    except (JournalError, ValueError):
        return ""
    if not beat.get("pid"):
        return ""
    return (
        f" (pid {beat['pid']} sur {beat.get('host', '?')}, démarré le {started:%d/%m/%Y à %H:%M})"
    )


def serve_lock(state_dir: Path) -> AbstractContextManager[None]:
    """Held while serve runs; a second serve of the same workspace gets a UsageError."""
    path = state_dir / LOCK_NAME
    return exclusive_lock(
        path,
        busy=lambda: UsageError(
            f"qep-sync serve tourne déjà pour cet espace de travail{_describe_holder(state_dir)} ; "
            f"un seul à la fois (verrou : {path}). Arrêtez l'autre (systemctl stop qep-sync) "
            "ou voyez son état avec qep-sync status"
        ),
        unusable=lambda why: UsageError(
            f"dossier d'état inaccessible ({state_dir}) : {why} ; vérifiez les droits du "
            "compte du service sur workspace.state_dir"
        ),
    )


# ---------------------------------------------------------------- the service


@dataclass
class Streak:
    """Failed runs in a row of one job, and whether the quality lead has been told."""

    count: int = 0
    since: dt.datetime | None = None
    notified: bool = False
    runs: list[RunRecord] = field(default_factory=list)


def _digest(path: Path | None) -> str | None:
    if path is None or not path.is_file():  # a pipe put in its place would block the loop
        return None
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class ServeLoop:
    """The serve loop for one workspace; ``run()`` returns when ``stop`` is set."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock = paris_now,
        stop: threading.Event | None = None,
        wait: Wait | None = None,
        jobs: Jobs | None = None,
        sender: Transport | None = None,
        env: Environment | None = None,
        run_at_start: bool | None = None,
        max_wait: float = MAX_WAIT,
        heartbeat: float = HEARTBEAT,
        every: dt.timedelta | None = None,
        on_reload: Callable[[Config], None] | None = None,
    ) -> None:
        """``wait(seconds)`` waits up to that long (default: on ``stop``); ``every`` overrides
        the sync period (the soak test syncs every few seconds; the config counts in minutes);
        ``on_reload(config)`` is told of a new config (the CLI masks its secrets in the logs)."""
        self.config = config
        self.clock = clock
        self.stop = stop or threading.Event()
        self.wait: Wait = wait or self._wait_on_stop
        self.jobs: Jobs = jobs or WorkspaceJobs(sender, env)
        self.sender, self.env = sender, env
        self.run_at_start = config.schedule.run_at_start if run_at_start is None else run_at_start
        self.max_wait, self.heartbeat, self.every = max_wait, heartbeat, every
        self.on_reload = on_reload
        self.redact = Redactor()  # secrets out of the journal and the notice, as out of the logs
        self.redact.add(*secrets_of(config, env))
        self.scheduler = schedule_lib.Scheduler()
        self.journal: Journal | None = None
        self.streaks = {"sync": Streak(), "alerts": Streak()}
        self.config_error: str | None = None
        self.ticks = 0
        self._digest = _digest(config.path)
        self._started = clock()
        self._last_beat: dt.datetime | None = None
        self._sync_anchor: dt.datetime | None = None  # when the sync job last came due

    # -- the loop

    def _wait_on_stop(self, seconds: float) -> None:
        self.stop.wait(seconds)

    def run(self) -> None:
        with serve_lock(self.config.state_dir):
            self._open_journal()
            log_event(log, logging.INFO, "serve_started", config=self.config.path,
                      pid=os.getpid(), sources=len(self.config.sources))  # fmt: skip
            try:
                self._install_jobs()
                self._beat(force=True)
                if self.run_at_start and not self.stop.is_set():
                    self._sync_anchor = self.clock()
                    self._run_job("sync")
                    if self.config.schedule.alerts and not self.stop.is_set():
                        self._run_job("alerts")
                    self.jobs.end_tick()
                while not self.stop.is_set():
                    self.tick()
                    if self.stop.is_set():
                        break
                    self.wait(self._idle())
            finally:
                self._beat(force=True, stopped=True)
                log_event(log, logging.INFO, "serve_stopped", ticks=self.ticks)
                if self.journal is not None:
                    self.journal.close()

    def tick(self) -> None:
        """One turn: look at the config, run what is due, write the heartbeat."""
        self.ticks += 1
        self._reload_if_changed()
        try:
            with scheduler_clock(self.clock):
                self.scheduler.run_pending()
        finally:
            self.jobs.end_tick()
        self._beat()

    def _idle(self) -> float:
        with scheduler_clock(self.clock):
            idle = self.scheduler.idle_seconds
        return min(max(idle if idle is not None else self.max_wait, 0.0), self.max_wait)

    def _install_jobs(self) -> None:
        """(Re)build the jobs; after a reload the next sync is the last one + the new period."""
        plan = self.config.schedule
        self.scheduler.clear()
        every = self.every or dt.timedelta(minutes=plan.sync_every_minutes)
        with scheduler_clock(self.clock):
            job = self.scheduler.every(max(int(every.total_seconds()), 1)).seconds.do(
                self._scheduled, "sync"
            )
            job.tag("sync")
            if self._sync_anchor is not None:
                due = max(self._sync_anchor + every, self.clock())
                job.next_run = due.astimezone().replace(tzinfo=None)  # schedule's naive local time
            if plan.alerts:
                self.scheduler.every().day.at(f"{plan.alerts_at:%H:%M}", "Europe/Paris").do(
                    self._scheduled, "alerts"
                ).tag("alerts")

    def _scheduled(self, kind: str) -> None:
        """What schedule calls: never raises (schedule would re-run a failing job every tick)."""
        try:
            if kind == "sync":
                self._sync_anchor = self.clock()
            if kind == "sync" and not in_office_hours(
                self.clock(), self.config.schedule, calendar_of(self.config)
            ):
                log_event(log, logging.DEBUG, "sync_skipped", reason="outside office hours")
                return
            self._run_job(kind)
        except Exception:  # a defect of the loop itself: logged, the service goes on
            log.exception("job_wrapper_failed")

    # -- one run

    def _progress(self, i: int, total: int, source: Source) -> None:
        if self.stop.is_set():
            raise Stopped()
        self._beat()

    def _run_job(self, kind: str) -> None:
        now = self.clock()
        log_event(log, logging.INFO, f"{kind}_started", today=now.date().isoformat())
        summary: RunSummary | None = None
        try:
            with journaled(self.journal, kind, "serve", self.clock, now.date(),
                           self._journal_failed, self.redact) as entry:  # fmt: skip
                entry.summary = self.jobs.run(kind, self.config, now, self._progress)
            summary = entry.summary
        except Stopped:
            log_event(log, logging.WARNING, f"{kind}_interrupted", reason="stop requested")
            return
        except QepSyncError as exc:
            log_event(log, logging.ERROR, f"{kind}_failed", message=str(exc))
            summary = RunSummary("error", message=self.redact(str(exc)))
        except Exception as exc:
            log.exception(f"{kind}_failed", extra={"fields": {"message": str(exc)}})
            message = f"erreur inattendue : {type(exc).__name__}: {exc}"
            summary = RunSummary("error", message=self.redact(message))
        assert summary is not None
        self._after(kind, summary, now)

    def _after(self, kind: str, summary: RunSummary, now: dt.datetime) -> None:
        elapsed = (self.clock() - now).total_seconds()
        fields: dict[str, Any] = {"status": summary.status, "seconds": round(elapsed, 1),
                                  **{k: v for k, v in summary.counts.items() if v}}  # fmt: skip
        streak = self.streaks[kind]
        if summary.status not in FAILED:
            log_event(log, logging.INFO, f"{kind}_finished", **fields, message=summary.message)
            if streak.count:
                log_event(log, logging.INFO, f"{kind}_recovered", failures=streak.count)
            self.streaks[kind] = Streak()
            return
        streak.count += 1
        streak.since = streak.since or now
        streak.runs.append(
            RunRecord(0, kind, "serve", now, self.clock(), summary.status, now.date(),
                      summary.counts, summary.message, summary.details)
        )  # fmt: skip
        streak.runs = streak.runs[-50:]
        log_event(log, logging.WARNING, f"{kind}_finished", **fields, failures=streak.count,
                  message=summary.message)  # fmt: skip
        limit = self.config.schedule.failure_alert_after
        if limit and streak.count >= limit and not streak.notified:
            self._notify(kind, streak)

    def _notify(self, kind: str, streak: Streak) -> None:
        now = self.clock()
        runs = streak.runs
        try:
            place = send_failure_notice(
                self.config, kind, runs, now, sender=self.sender, env=self.env
            )
        except (QepSyncError, OSError) as exc:
            log_event(log, logging.ERROR, "failure_notice_failed", job=kind, message=str(exc))
            summary = RunSummary("error", message=str(exc), details={"job": kind})
            if self.config.alerts.quality_lead is None:
                streak.notified = True  # nobody to tell: say it once, not at every failure
        else:
            streak.notified = True
            log_event(log, logging.WARNING, "failure_notice_sent", job=kind,
                      failures=streak.count, to=place)  # fmt: skip
            summary = RunSummary("ok", {"messages_sent": 1},
                              f"référent qualité prévenu : {JOB_NAMES[kind]} en échec depuis "
                              f"{plural(streak.count, 'passage')}", {"job": kind, "failures": streak.count,
                                                          "to": self.config.alerts.quality_lead})  # fmt: skip
        if self.journal is not None:
            try:
                self.journal.record("notice", "serve", now, self.clock(), summary)
            except JournalError as exc:
                self._journal_failed(exc)

    # -- state kept across restarts

    def _open_journal(self) -> None:
        try:
            self.journal = Journal.of(self.config)
            self.journal.mark_interrupted("serve", self.clock())
            for kind, streak in self.streaks.items():
                runs = self.journal.failure_streak(kind)
                if not runs:
                    continue
                streak.count, streak.since, streak.runs = len(runs), runs[0].started, runs[-50:]
                notices = self.journal.runs(kind="notice", since=runs[0].started)
                streak.notified = any(
                    n.details.get("job") == kind and n.status == "ok" for n in notices
                )
        except JournalError as exc:
            self._journal_failed(exc)

    def _journal_failed(self, exc: JournalError) -> None:
        log_event(log, logging.ERROR, "journal_failed", message=str(exc))

    def next_runs(self) -> dict[str, dt.datetime | None]:
        """When each job will next really run (a sync due at night waits for office hours)."""
        with scheduler_clock(self.clock):
            sync = [to_paris(j.next_run) for j in self.scheduler.get_jobs("sync")]
            alerts = [to_paris(j.next_run) for j in self.scheduler.get_jobs("alerts")]
        plan = self.config.schedule
        every = self.every or dt.timedelta(minutes=plan.sync_every_minutes)
        first = sync[0] if sync else None
        return {
            "sync": next_office_run(first, every, plan, calendar_of(self.config))
            if first
            else None,
            "alerts": alerts[0] if alerts else None,
        }

    def _beat(self, *, force: bool = False, stopped: bool = False) -> None:
        """Write what ``status`` shows of the running service (at most every ``heartbeat`` s)."""
        now = self.clock()
        if self.journal is None or (
            not force
            and self._last_beat is not None
            and (now - self._last_beat).total_seconds() < self.heartbeat
        ):
            return
        self._last_beat = now
        nxt = self.next_runs()
        state = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": self._started.isoformat(timespec="seconds"),
            "beat": now.isoformat(timespec="seconds"),
            "beat_every": self.heartbeat,
            "stopped": now.isoformat(timespec="seconds") if stopped else None,
            "config": str(self.config.path) if self.config.path else None,
            "config_error": self.config_error,
            "next_sync": nxt["sync"].isoformat(timespec="seconds") if nxt["sync"] else None,
            "next_alerts": nxt["alerts"].isoformat(timespec="seconds") if nxt["alerts"] else None,
            "failures": {k: s.count for k, s in self.streaks.items()},
        }
        try:
            self.journal.set_meta("serve", state)
        except JournalError as exc:
            self._journal_failed(exc)

    def _reload_if_changed(self) -> None:
        path = self.config.path
        digest = _digest(path)
        if path is None or digest == self._digest:
            return
        self._digest = digest
        try:
            new = load_config(path)
            if new.state_dir.resolve() != self.config.state_dir.resolve():
                raise ConfigError(
                    "ne change qu'au redémarrage de qep-sync serve (l'état et le verrou y sont)",
                    "workspace.state_dir",
                )
        except ConfigError as exc:
            self.config_error = str(exc)
            log_event(log, logging.ERROR, "config_invalid", config=path, message=str(exc),
                      action="keeping the previous config")  # fmt: skip
            self._beat(force=True)
            return
        old, self.config, self.config_error = self.config, new, None
        self.redact.add(*secrets_of(new, self.env))
        if self.on_reload is not None:
            self.on_reload(new)
        if new.logging != old.logging:
            log_event(log, logging.WARNING, "config_logging_unchanged",
                      message="[logging] s'applique au prochain démarrage de serve")  # fmt: skip
        if new.schedule != old.schedule:
            self._install_jobs()
        log_event(log, logging.INFO, "config_reloaded", config=path,
                  sources=len(new.sources), schedule_changed=new.schedule != old.schedule)  # fmt: skip
        self._beat(force=True)


def install_signal_handlers(stop: threading.Event) -> Callable[[], None]:
    """SIGTERM and SIGINT (and SIGBREAK on Windows) set ``stop``; a second one stops at once.

    Returns a function that puts the previous handlers back.
    """
    names = ["SIGTERM", "SIGINT", "SIGBREAK"]
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: types.FrameType | None) -> None:
        if stop.is_set():  # asked twice: the default behaviour (KeyboardInterrupt, termination)
            signal.signal(signum, previous.get(signum, signal.SIG_DFL))
            signal.raise_signal(signum)
            return
        log_event(log, logging.INFO, "stop_requested", signal=signal.Signals(signum).name)
        stop.set()

    for name in names:
        signum = getattr(signal, name, None)
        if signum is not None:
            previous[signum] = signal.signal(signum, handler)

    def restore() -> None:
        for signum, old in previous.items():
            signal.signal(signum, old)

    return restore
