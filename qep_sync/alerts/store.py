"""What was sent, when and to whom: a small SQLite file in the workspace's state folder.

A row per (item, step, recipient) once the mail server has accepted the message, written in
the same moment (one transaction per message). A crash between the server's acceptance and
that commit sends the message again on the next run (one duplicate at most), never loses it.
A lock file keeps two runs (``serve`` and a manual ``alerts``) from sending at the same time.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from qep_sync.errors import MailError
from qep_sync.statefiles import exclusive_lock, open_state_db

STORE_NAME = "alerts.sqlite"
LOCK_NAME = "alerts.lock"
SCHEMA_VERSION = "1"
_CHUNK = 500  # ids per query (SQLite caps the number of parameters)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (
    item TEXT NOT NULL,        -- AlertItem.id: source|tracker|sheet|key
    step TEXT NOT NULL,        -- due date/step: 2026-12-03/J-7, 2026-11-02/retard-3, anomalie
    recipient TEXT NOT NULL,   -- address, lower case
    role TEXT NOT NULL,        -- direct, service, escalation, unroutable, copy
    sent_on TEXT NOT NULL,     -- the run's date (--today), ISO
    sent_at TEXT NOT NULL,     -- wall-clock time of the send, ISO with offset
    message_id TEXT NOT NULL,
    PRIMARY KEY (item, step, recipient)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Sent:
    """One record: an item's step delivered to one recipient."""

    item: str
    step: str
    recipient: str
    role: str
    sent_on: dt.date
    sent_at: dt.datetime
    message_id: str


Key = tuple[str, str, str]  # item, step, recipient


class AlertStore:
    """The record of sent alerts. ``readonly`` (for --dry-run) never creates nor writes."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self._db: sqlite3.Connection | None = open_state_db(
            path, _SCHEMA, SCHEMA_VERSION, readonly=readonly,
            error=lambda why: MailError(f"registre des relances illisible ({why})"),
        )  # fmt: skip

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def sent_on(self, keys: Iterable[Key]) -> dict[Key, dt.date]:
        """When each of these (item, step, recipient) was last sent, for those that were."""
        if self._db is None:
            return {}
        wanted = set(keys)
        items = sorted({k[0] for k in wanted})
        found: dict[Key, dt.date] = {}
        try:
            for i in range(0, len(items), _CHUNK):
                chunk = items[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT item, step, recipient, sent_on FROM sent WHERE item IN ({marks})",
                    chunk,
                )
                for item, step, recipient, day in rows:
                    if (item, step, recipient) in wanted:
                        found[(item, step, recipient)] = dt.date.fromisoformat(day)
        except sqlite3.Error as exc:
            raise MailError(f"registre des relances illisible ({self.path}) : {exc}") from None
        return found

    def record(self, rows: Iterable[Sent]) -> None:
        """Record one message's deliveries, in one transaction (all or nothing)."""
        if self.readonly or self._db is None:
            return
        with self._db:
            self._db.executemany(
                "INSERT INTO sent VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (item, step, recipient) "
                "DO UPDATE SET role = excluded.role, sent_on = excluded.sent_on, "
                "sent_at = excluded.sent_at, message_id = excluded.message_id",
                [
                    (s.item, s.step, s.recipient, s.role, s.sent_on.isoformat(),
                     s.sent_at.isoformat(timespec="seconds"), s.message_id)
                    for s in rows
                ],
            )  # fmt: skip

    def count(self) -> int:
        if self._db is None:
            return 0
        return int(self._db.execute("SELECT COUNT(*) FROM sent").fetchone()[0])


def run_lock(state_dir: Path) -> AbstractContextManager[None]:
    """Only one sending run at a time; released when the run ends, or the process dies."""
    path = state_dir / LOCK_NAME
    return exclusive_lock(
        path,
        busy=lambda: MailError(
            "une autre exécution des relances est en cours (qep-sync serve ou alerts) ; "
            f"réessayez quand elle sera finie (verrou : {path})"
        ),
        unusable=lambda why: MailError(f"dossier d'état inutilisable ({state_dir}) : {why}"),
    )
