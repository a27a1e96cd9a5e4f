"""What ``qep-sync status`` shows: the service, the next runs, the last runs, and the health.

Healthy means: the last successful sync (status ``ok``: every source read and written, or
left for the next run because it was open) is no older than twice ``sync_every_minutes``,
counted in office time (nights, weekends and holidays do not count, since no sync runs
then). That is the exit code monitoring watches. The service's state comes from the
heartbeat ``serve`` writes into the journal; with the systemd timer instead of ``serve``,
there is none and only the runs are shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from qep_sync.clock import PARIS
from qep_sync.config import Config
from qep_sync.service.journal import Journal, RunRecord
from qep_sync.service.office_hours import office_seconds_between
from qep_sync.workdays import calendar_of

ALIVE_BEATS = 3  # heartbeats missed before serve is said not to answer


@dataclass
class ServeState:
    """The last heartbeat of ``qep-sync serve``, read from the journal."""

    state: str  # running, stopped, silent (no heartbeat for a while: killed, or hung)
    pid: int | None
    host: str | None
    started: dt.datetime | None
    beat: dt.datetime | None
    stopped: dt.datetime | None
    config_error: str | None
    next_sync: dt.datetime | None
    next_alerts: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        def iso(v: dt.datetime | None) -> str | None:
            return v.isoformat(timespec="seconds") if v else None

        return {
            "state": self.state, "pid": self.pid, "host": self.host,
            "started": iso(self.started), "heartbeat": iso(self.beat), "stopped": iso(self.stopped),
            "config_error": self.config_error, "next_sync": iso(self.next_sync),
            "next_alerts": iso(self.next_alerts),
        }  # fmt: skip


@dataclass
class Health:
    healthy: bool
    message: str  # French, one line
    last_success: RunRecord | None
    office_seconds: float | None  # office time since the last successful sync
    limit_seconds: float


@dataclass
class Status:
    now: dt.datetime
    health: Health
    serve: ServeState | None
    runs: list[RunRecord]
    failures: dict[str, int]  # failed runs in a row, per job
    failing_sources: list[dict[str, Any]] = field(default_factory=list)  # of the last sync

    def to_dict(self) -> dict[str, Any]:
        last = self.health.last_success
        return {
            "version": 1,
            "now": self.now.isoformat(timespec="seconds"),
            "healthy": self.health.healthy,
            "health": {
                "message": self.health.message,
                "last_successful_sync": last.started.isoformat(timespec="seconds") if last else None,
                "office_seconds_since": (
                    None if self.health.office_seconds is None
                    else round(min(self.health.office_seconds, 10**9))
                ),
                "limit_seconds": round(self.health.limit_seconds),
            },
            "serve": self.serve.to_dict() if self.serve else None,
            "failures": self.failures,
            "failing_sources": self.failing_sources,
            "runs": [r.to_dict() for r in self.runs],
        }  # fmt: skip


def _moment(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value).astimezone(PARIS)
    except ValueError:
        return None


def serve_state(beat: dict[str, Any] | None, now: dt.datetime) -> ServeState | None:
    if not beat:
        return None
    last = _moment(beat.get("beat"))
    stopped = _moment(beat.get("stopped"))
    every = float(beat.get("beat_every") or 60)
    if stopped is not None:
        state = "stopped"
    elif last is not None and (now - last).total_seconds() <= ALIVE_BEATS * every + 60:
        state = "running"
    else:
        state = "silent"
    running = state == "running"
    return ServeState(
        state=state,
        pid=beat.get("pid"),
        host=beat.get("host"),
        started=_moment(beat.get("started")),
        beat=last,
        stopped=stopped,
        config_error=beat.get("config_error") if running else None,
        next_sync=_moment(beat.get("next_sync")) if running else None,
        next_alerts=_moment(beat.get("next_alerts")) if running else None,
    )


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d}"


def health(config: Config, last: RunRecord | None, now: dt.datetime) -> Health:
    plan = config.schedule
    limit = 2 * plan.sync_every_minutes * 60.0
    if last is None:
        return Health(False, "aucune synchronisation réussie dans le journal", None, None, limit)
    since = office_seconds_between(last.started, now, plan, calendar_of(config))
    when = f"{last.started:%d/%m/%Y %H:%M}"
    if since > limit:
        return Health(
            False,
            f"dernière synchronisation réussie le {when}, il y a {_duration(since)} d'heures "
            f"ouvrées, plus de 2 × {plan.sync_every_minutes} min",
            last,
            since,
            limit,
        )
    return Health(True, f"dernière synchronisation réussie le {when}", last, since, limit)


def workspace_status(config: Config, now: dt.datetime, *, runs: int = 10) -> Status:
    """Everything ``qep-sync status`` shows, read from the journal (never written)."""
    now = now.astimezone(PARIS)
    with Journal.of(config, readonly=True) as journal:
        last_ok = journal.last("sync", ("ok",))
        recent = journal.runs(limit=runs)
        failures = {kind: len(journal.failure_streak(kind)) for kind in ("sync", "alerts")}
        last_sync = journal.last("sync", ("ok", "partial"))
        beat = journal.get_meta("serve")
    failing = []
    if last_sync is not None and last_sync.status == "partial":
        failing = list(last_sync.details.get("failed", []))
    return Status(now, health(config, last_ok, now), serve_state(beat, now), recent, failures,
                  failing)  # fmt: skip
