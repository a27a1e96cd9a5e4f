"""The run journal: one row per run of ``sync`` or ``alerts`` (from ``serve`` or the command line).

A small SQLite file in the workspace's state folder (``journal.sqlite``), beside the alerts
store. A run is written when it starts (status ``running``) and completed when it ends:
``ok``, ``partial`` (it went to the end, but a source could not be read or written, or a
message was not sent: the commands' exit code 1), ``error`` (it stopped: invalid config,
lock held, unexpected failure) or ``interrupted`` (stopped by a signal). ``notice`` rows say
when the quality lead was told of repeated failures. ``qep-sync status`` reads it, and
``qep-sync journal`` exports it (CSV or JSON) for an audit.

Times are stored in UTC (sortable text) and shown in Europe/Paris. Writing the journal never
makes a run fail: ``journaled`` reports a journal error to its caller and lets the run go on.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import socket
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qep_sync.clock import PARIS, paris_now
from qep_sync.config import Config
from qep_sync.errors import QepSyncError
from qep_sync.jobs.outcome import RunSummary
from qep_sync.statefiles import open_state_db
from qep_sync.text import no_formula

JOURNAL_NAME = "journal.sqlite"
SCHEMA_VERSION = "1"
KINDS = ("sync", "alerts", "notice")
ORIGINS = ("serve", "cli")
FAILED = ("partial", "error")  # statuses that count in a failure streak
COUNTS = (
    "sources",  # sources in the config
    "sources_read",  # read and checked
    "sources_skipped",  # not written this run: open in Excel, changed since read (retried)
    "sources_failed",  # could not be read or written
    "files_written",
    "cells_written",
    "errors",  # findings in the data (not failures)
    "warnings",
    "messages_sent",
    "messages_failed",
)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,          -- sync, alerts, notice (quality lead told of failures)
    origin TEXT NOT NULL,        -- serve, cli
    started TEXT NOT NULL,       -- UTC, ISO 8601 with milliseconds
    ended TEXT,                  -- UTC; NULL while running
    status TEXT NOT NULL,        -- running, ok, partial, error, interrupted
    run_date TEXT,               -- the date the run computed for (--today), ISO
    {", ".join(f"{c} INTEGER NOT NULL DEFAULT 0" for c in COUNTS)},
    message TEXT NOT NULL DEFAULT '',  -- one French line: what went wrong, or what was done
    details TEXT NOT NULL DEFAULT '{{}}', -- JSON: failed and skipped sources, errors, digests
    pid INTEGER,
    host TEXT
);
CREATE INDEX IF NOT EXISTS runs_kind_started ON runs (kind, started);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class JournalError(QepSyncError):
    """The journal cannot be opened or written (disk full, permissions, damaged file)."""


class Stopped(Exception):
    """Raised inside a job when ``serve`` is asked to stop (SIGTERM, SIGINT): nothing half-done."""


@dataclass
class RunRecord:
    """One row of the journal."""

    id: int
    kind: str
    origin: str
    started: dt.datetime  # aware, Europe/Paris
    ended: dt.datetime | None
    status: str
    run_date: dt.date | None
    counts: dict[str, int]
    message: str
    details: dict[str, Any]

    @property
    def seconds(self) -> float | None:
        return None if self.ended is None else (self.ended - self.started).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "origin": self.origin,
            "started": self.started.isoformat(timespec="seconds"),
            "ended": self.ended.isoformat(timespec="seconds") if self.ended else None,
            "seconds": None if self.seconds is None else round(self.seconds, 1),
            "status": self.status,
            "run_date": self.run_date.isoformat() if self.run_date else None,
            **self.counts,
            "message": self.message,
            "details": self.details,
        }


def _utc(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("aware datetime expected")
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def _paris(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text).astimezone(PARIS)


class Journal:
    """The journal file of one workspace. ``readonly`` (status, export) never creates it."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = open_state_db(
            path, _SCHEMA, SCHEMA_VERSION, readonly=readonly,
            error=lambda why: JournalError(f"journal des passages illisible ({why})"),
        )  # fmt: skip

    @classmethod
    def of(cls, config: Config, *, readonly: bool = False) -> Journal:
        return cls(config.state_dir / JOURNAL_NAME, readonly=readonly)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, params: tuple[Any, ...] | dict[str, Any]) -> int:
        if self._db is None:
            raise JournalError(f"journal des passages ouvert en lecture seule ({self.path})")
        try:
            with self._db:
                cursor = self._db.execute(sql, params)
        except sqlite3.Error as exc:
            raise JournalError(f"journal des passages non écrit ({self.path}) : {exc}") from None
        return int(cursor.lastrowid or 0)

    def start(
        self, kind: str, origin: str, started: dt.datetime, run_date: dt.date | None = None
    ) -> int:
        """A run begins; returns its id, to ``finish`` it."""
        return self._write(
            "INSERT INTO runs (kind, origin, started, status, run_date, pid, host) "
            "VALUES (?, ?, ?, 'running', ?, ?, ?)",
            (kind, origin, _utc(started), run_date.isoformat() if run_date else None,
             os.getpid(), socket.gethostname()),
        )  # fmt: skip

    def finish(self, run_id: int, ended: dt.datetime, summary: RunSummary) -> None:
        counts = {c: int(summary.counts.get(c, 0)) for c in COUNTS}
        assignments = ", ".join(f"{c} = :{c}" for c in COUNTS)
        self._write(
            f"UPDATE runs SET ended = :ended, status = :status, message = :message, "
            f"details = :details, {assignments} WHERE id = :id",
            {"id": run_id, "ended": _utc(ended), "status": summary.status,
             "message": summary.message,
             "details": json.dumps(summary.details, ensure_ascii=False, default=str), **counts},
        )  # fmt: skip

    def record(
        self, kind: str, origin: str, started: dt.datetime, ended: dt.datetime, summary: RunSummary
    ) -> int:
        """A run written in one go (a notice)."""
        run_id = self.start(kind, origin, started)
        self.finish(run_id, ended, summary)
        return run_id

    def mark_interrupted(self, origin: str, ended: dt.datetime) -> int:
        """Runs of ``origin`` left ``running`` by a process that died (serve, at its start)."""
        if self._db is None:
            return 0
        try:
            with self._db:
                cursor = self._db.execute(
                    "UPDATE runs SET status = 'interrupted', ended = ?, "
                    "message = 'interrompu (arrêt brutal du processus)' "
                    "WHERE status = 'running' AND origin = ?",
                    (_utc(ended), origin),
                )
        except sqlite3.Error as exc:
            raise JournalError(f"journal des passages non écrit ({self.path}) : {exc}") from None
        return cursor.rowcount

    def runs(
        self,
        *,
        since: dt.datetime | None = None,
        kind: str | None = None,
        limit: int | None = None,
        newest_first: bool = True,
    ) -> list[RunRecord]:
        if self._db is None:
            return []
        where, params = [], []
        if since is not None:
            where.append("started >= ?")
            params.append(_utc(since))
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
        sql += f" ORDER BY id {'DESC' if newest_first else 'ASC'}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        try:
            self._db.row_factory = sqlite3.Row
            rows = self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise JournalError(f"journal des passages illisible ({self.path}) : {exc}") from None
        return [_record(row) for row in rows]

    def last(self, kind: str, statuses: tuple[str, ...]) -> RunRecord | None:
        """The latest run of ``kind`` that ended with one of ``statuses``."""
        if self._db is None:
            return None
        marks = ",".join("?" * len(statuses))
        try:
            self._db.row_factory = sqlite3.Row
            row = self._db.execute(
                f"SELECT * FROM runs WHERE kind = ? AND status IN ({marks}) ORDER BY id DESC LIMIT 1",
                (kind, *statuses),
            ).fetchone()
        except sqlite3.Error as exc:
            raise JournalError(f"journal des passages illisible ({self.path}) : {exc}") from None
        return None if row is None else _record(row)

    def failure_streak(self, kind: str) -> list[RunRecord]:
        """The failed runs of ``kind`` since its last ``ok`` one, oldest first."""
        streak: list[RunRecord] = []
        last_ok = self.last(kind, ("ok",))
        for run in self.runs(kind=kind, since=last_ok.started if last_ok else None):
            if last_ok is not None and run.id <= last_ok.id:
                break
            if run.status in FAILED:
                streak.append(run)
        return streak[::-1]

    def get_meta(self, key: str) -> dict[str, Any] | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            raise JournalError(f"journal des passages illisible ({self.path}) : {exc}") from None
        if row is None:
            return None
        value = json.loads(row[0])
        return value if isinstance(value, dict) else None

    def set_meta(self, key: str, value: dict[str, Any]) -> None:
        self._write(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value, ensure_ascii=False, default=str)),
        )


def _record(row: sqlite3.Row) -> RunRecord:
    started = _paris(row["started"])
    assert started is not None
    return RunRecord(
        id=row["id"],
        kind=row["kind"],
        origin=row["origin"],
        started=started,
        ended=_paris(row["ended"]),
        status=row["status"],
        run_date=dt.date.fromisoformat(row["run_date"]) if row["run_date"] else None,
        counts={c: int(row[c]) for c in COUNTS},
        message=row["message"],
        details=json.loads(row["details"] or "{}"),
    )


# ---------------------------------------------------------------- what a run did


def error_summary(exc: BaseException) -> RunSummary:
    """A run stopped by an exception: the French message of ours, the type of the others."""
    if isinstance(exc, Stopped | KeyboardInterrupt):
        return RunSummary("interrupted", message="interrompu (arrêt demandé)")
    if isinstance(exc, QepSyncError):
        return RunSummary("error", message=str(exc))
    return RunSummary("error", message=f"erreur inattendue : {type(exc).__name__}: {exc}")


@dataclass
class Entry:
    """What the body of ``journaled`` sets: the run's summary once it has one."""

    summary: RunSummary | None = None
    id: int | None = None


@contextmanager
def journaled(
    journal: Journal | None,
    kind: str,
    origin: str,
    clock: Callable[[], dt.datetime],
    run_date: dt.date | None,
    on_error: Callable[[JournalError], None],
    redact: Callable[[str], str] = str,
) -> Iterator[Entry]:
    """Journal the run of the ``with`` body: started now, ended with ``entry.summary``.

    An exception in the body is journaled (error, or interrupted) and raised again. A journal
    that cannot be written goes to ``on_error`` and the run goes on as if there were none.
    ``redact`` masks secrets in the message (an exception of a library may quote one).
    """
    entry = Entry()
    if journal is not None:
        try:
            entry.id = journal.start(kind, origin, clock(), run_date)
        except JournalError as exc:
            on_error(exc)
    try:
        yield entry
    except BaseException as exc:
        _finish(journal, entry, clock, error_summary(exc), on_error, redact)
        raise
    _finish(journal, entry, clock, entry.summary or RunSummary("ok"), on_error, redact)


def _finish(
    journal: Journal | None,
    entry: Entry,
    clock: Callable[[], dt.datetime],
    summary: RunSummary,
    on_error: Callable[[JournalError], None],
    redact: Callable[[str], str],
) -> None:
    summary.message = redact(summary.message)
    entry.summary = summary
    if journal is None or entry.id is None:
        return
    try:
        journal.finish(entry.id, clock(), summary)
    except JournalError as exc:
        on_error(exc)


# ---------------------------------------------------------------- export

EXPORT_FIELDS = ("id", "kind", "origin", "started", "ended", "seconds", "status", "run_date",
                 *COUNTS, "message", "details")  # fmt: skip


def export_csv(runs: list[RunRecord]) -> str:
    """The runs as CSV (UTF-8, comma, one header line; ``details`` as JSON text).

    A message that a spreadsheet would take for a formula (a workbook named ``=…``) gets a
    leading apostrophe, as Excel itself shows text.
    """
    out = io.StringIO()
    writer = csv.DictWriter(out, EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for run in runs:
        row = run.to_dict()
        row["details"] = json.dumps(row["details"], ensure_ascii=False, sort_keys=True)
        row["message"] = no_formula(row["message"])  # opened in Excel, never a formula
        writer.writerow(row)
    return out.getvalue()


def export_json(runs: list[RunRecord], since: dt.date | None) -> str:
    data = {
        "version": 1,
        "since": since.isoformat() if since else None,
        "runs": [run.to_dict() for run in runs],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


@contextmanager
def cli_run(
    config: Config,
    kind: str,
    today: dt.date,
    on_error: Callable[[JournalError], None],
    redact: Callable[[str], str] = str,
) -> Iterator[Entry]:
    """Journal a ``sync`` or ``alerts`` typed on the command line (origin ``cli``).

    A throwaway config (``qep-sync sync a.xlsx``: no config file, so no workspace) is not
    journaled; neither is a dry run (the caller does not call this then).
    """
    journal: Journal | None = None
    if config.path is not None:
        try:
            journal = Journal.of(config)
        except JournalError as exc:
            on_error(exc)
    try:
        with journaled(journal, kind, "cli", paris_now, today,
                       on_error, redact) as entry:  # fmt: skip
            yield entry
    finally:
        if journal is not None:
            journal.close()
