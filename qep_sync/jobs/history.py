"""What the state folder remembers for the quality lead's view (docs/contract.md §4).

One SQLite file, ``history.sqlite``:

- ``snapshots``: the consolidated view's figures per service, engagement and in total, one
  snapshot per day (the latest sync of a day replaces that day's), read back for Tendances
  and the comparison with the last COPIL;
- ``sources``: per source, the modification time qep-sync's own last write left, and the
  last change made by a person. A file whose time differs from the one qep-sync left was
  changed by someone; when it is the same, the person's change recorded before stands;
- ``owned``: per source, what each owned cell held after qep-sync's last write, so that a
  value a person typed there is reported when it is replaced (``typed_values``);
- ``meta``, beside the schema version: per source file, its modification time when its
  ``owned`` cells were recorded (``owned-time:`` and the source's key: a file still at that
  time holds exactly them, so nobody typed into it and the sync skips comparing), and per
  consolidated workbook, a digest of the view it holds and the file's stamp after qep-sync
  wrote it (``consolidated:`` and its path: a view identical to it, on a file nobody touched,
  is not rewritten; ``consolidated_workbook.ViewState``); and ``workspace-state``, the digest
  of the workspace as the last sync whose writes all went through left it: a sync that finds
  the same (every source, the consolidated workbook, the settings, the day) does no more
  than read (``sync.workspace_state``).

The schema is versioned (``meta.schema_version``) and upgraded in place by ``MIGRATIONS``,
each in one transaction; a file of a newer version is refused, never downgraded. A run
records its snapshot in one transaction at its very end: a failed run leaves the history as
it was.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qep_sync.config import Source
from qep_sync.errors import QepSyncError

HISTORY_NAME = "history.sqlite"
GSHEET_PREFIX = "gsheet:"  # how the history names a Google Sheet: this, then its key
OWNED_TIME = "owned-time:"  # meta key of a file's time when its owned cells were recorded
VIEW_STATE = "consolidated:"  # meta key of a consolidated workbook's digest and stamp
WORKSPACE_STATE = "workspace-state"  # meta key of the workspace as a sync found nothing to do

# Each entry brings the schema from version i to i + 1.
MIGRATIONS = (
    """
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE snapshots (
        day TEXT NOT NULL,       -- the run's date (--today), ISO
        scope TEXT NOT NULL,     -- service, engagement, total
        subject TEXT NOT NULL,   -- service code, « module|n° », or empty for the total
        figure TEXT NOT NULL,    -- ServiceStats field name, or « niveau »
        value,                   -- a number, or a level's text
        PRIMARY KEY (day, scope, subject, figure)
    ) WITHOUT ROWID;
    """,
    """
    CREATE TABLE sources (
        source TEXT PRIMARY KEY, -- the file's path or the spreadsheet's key
        written TEXT,            -- modification time after qep-sync's last write, ISO
        person TEXT              -- last change by a person, ISO with offset
    ) WITHOUT ROWID;
    """,
    """
    CREATE TABLE owned (
        source TEXT PRIMARY KEY, -- as in sources
        cells BLOB NOT NULL      -- zlib(JSON): sheet -> row key -> owned field -> value
    ) WITHOUT ROWID;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class HistoryError(QepSyncError):
    """The history file cannot be used; French message. The sync itself goes on."""


@dataclass(frozen=True)
class Figure:
    """One figure of a snapshot."""

    scope: str
    subject: str
    figure: str
    value: float | str | None


@dataclass
class Past:
    """What the history tells a run: last changes by a person, the figures at the last
    COPIL and at each month's end. Empty for a run without history (check, dry run)."""

    persons: dict[str, dt.datetime | None] = field(default_factory=dict)  # by source_key
    copil: dt.date | None = None  # the last COPIL on or before the run's date
    copil_snapshot: dt.date | None = None  # the snapshot that stands for it (on or before)
    at_copil_figures: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    months: dict[dt.date, dict[tuple[str, str, str], Any]] = field(default_factory=dict)

    def at_copil(self, subject: str, figure: str) -> Any:
        """A figure at the last COPIL; ``subject`` a service code, ``""`` the total."""
        return self.at_copil_figures.get(_key(subject, figure))

    def at_month(self, month: dt.date, subject: str, figure: str) -> Any:
        return self.months.get(month, {}).get(_key(subject, figure))


def _key(subject: str, figure: str) -> tuple[str, str, str]:
    return ("service" if subject else "total", subject, figure)


def source_key(source: Source) -> str:
    """How the history names a source: its file's path, or its spreadsheet's key."""
    return str(source.path) if source.path is not None else f"{GSHEET_PREFIX}{source.gsheet}"


class History:
    """The history file of a workspace's state folder, upgraded to SCHEMA_VERSION on open."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / HISTORY_NAME
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._migrate()
        except sqlite3.Error as exc:
            raise HistoryError(f"historique illisible ({self.path.name} : {exc})") from None
        except OSError as exc:
            raise HistoryError(f"historique inaccessible ({self.path} : {exc.strerror})") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def version(self) -> int:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.OperationalError:  # no meta table: a new file
            return 0
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        version = self.version
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"historique d'une version plus récente de qep-sync (schéma {version}, celle-ci "
                f"lit jusqu'au {SCHEMA_VERSION}) : mettez qep-sync à jour"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self._transaction():
                for statement in MIGRATIONS[target - 1].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(target),)
                )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    # ------------------------------------------------------------ last change by a person

    def person_changes(self, seen: dict[str, dt.datetime | None]) -> dict[str, dt.datetime | None]:
        """For each source (``seen``: its modification time as read now), its last change by
        a person: the time read when it is not the one qep-sync's last write left."""
        known = {
            source: (written, person)
            for source, written, person in self._db.execute(
                "SELECT source, written, person FROM sources"
            )
        }
        out: dict[str, dt.datetime | None] = {}
        for source, moment in seen.items():
            written, person = known.get(source, (None, None))
            if moment is not None and _by_a_person(source, moment, written):
                out[source] = moment
            else:
                out[source] = dt.datetime.fromisoformat(person) if person else None
        return out

    # ------------------------------------------------------------ recording a run

    def owned(self, source: str) -> dict[str, Any] | None:
        """What the owned cells of ``source`` held after qep-sync's last write (None: never
        recorded)."""
        row = self._db.execute("SELECT cells FROM owned WHERE source = ?", (source,)).fetchone()
        if row is None:
            return None
        try:
            value = json.loads(zlib.decompress(row[0]))
        except (zlib.error, ValueError):
            return None  # damaged: as if never recorded (nothing is flagged)
        return value if isinstance(value, dict) else None

    @staticmethod
    def encode_owned(cells: dict[str, Any]) -> bytes:
        """What ``record`` keeps of a source's owned cells (``owned`` reads it back): small,
        so that a sync holds its sources' states compressed until it records them."""
        text = json.dumps(cells, ensure_ascii=False, separators=(",", ":"))
        return zlib.compress(text.encode("utf-8"), 1)  # level 1: a third of level 6's time

    def owned_time(self, source: str) -> str | None:
        """The time (ISO) the file ``source`` had when its owned cells were recorded."""
        return self._meta(OWNED_TIME + source)

    def view_state(self, path: Path) -> tuple[str, list[int] | None] | None:
        """The digest of the view last written into the workbook at ``path``, and the
        file's stamp after that write (None: never recorded, or unreadable)."""
        text = self._meta(VIEW_STATE + str(path))
        try:
            digest, stamp = json.loads(text) if text else (None, None)
        except ValueError:
            return None
        return (digest, stamp) if isinstance(digest, str) else None

    def workspace_state(self) -> str | None:
        """The digest of the workspace as the last sync whose writes all went through left it
        (``sync.workspace_state``); None after any other run."""
        return self._meta(WORKSPACE_STATE)

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def record(
        self,
        day: dt.date,
        figures: Iterable[Figure],
        persons: dict[str, dt.datetime | None],
        written: dict[str, dt.datetime | None],
        owned: dict[str, bytes] | None = None,
        *,
        owned_times: dict[str, dt.datetime | None] | None = None,
        views: dict[Path, tuple[str, list[int] | None]] | None = None,
        workspace: str | None = None,
    ) -> None:
        """The run's snapshot (replacing the day's), the sources' times and what their owned
        cells hold now, in one transaction.

        ``written``: the modification time each source has after qep-sync wrote it this run.
        ``owned_times``: the time of each file whose owned cells are as recorded (those in
        ``owned``, or the ones recorded before; None: unknown, forgotten); ``views``: each consolidated workbook's
        digest and stamp (see ``view_state``); ``workspace``: the workspace's state when
        every write of the run went through (None forgets the one recorded before).
        """
        with self._transaction():
            for source, blob in (owned or {}).items():
                self._db.execute("INSERT OR REPLACE INTO owned VALUES (?, ?)", (source, blob))
            times = owned_times or {}
            marks = {OWNED_TIME + s: t.isoformat() for s, t in times.items() if t is not None}
            marks |= {VIEW_STATE + str(p): json.dumps(v) for p, v in (views or {}).items()}
            self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", marks.items())
            unknown = [(OWNED_TIME + s,) for s, t in times.items() if t is None]
            self._db.executemany("DELETE FROM meta WHERE key = ?", unknown)
            if workspace is None:
                self._db.execute("DELETE FROM meta WHERE key = ?", (WORKSPACE_STATE,))
            else:
                self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                 (WORKSPACE_STATE, workspace))  # fmt: skip
            rows = [(day.isoformat(), f.scope, f.subject, f.figure, f.value) for f in figures]
            if rows:  # a run without a consolidated view leaves the day's snapshot as it was
                self._db.execute("DELETE FROM snapshots WHERE day = ?", (day.isoformat(),))
                self._db.executemany("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?, ?)",
                                     rows)  # fmt: skip
            for source, person in persons.items():
                previous = self._db.execute(
                    "SELECT written FROM sources WHERE source = ?", (source,)
                ).fetchone()
                mark = written.get(source)
                kept = mark.isoformat() if mark else (previous[0] if previous else None)
                self._db.execute(
                    "INSERT OR REPLACE INTO sources VALUES (?, ?, ?)",
                    (source, kept, person.isoformat() if person else None),
                )

    # ------------------------------------------------------------ reading it back

    def snapshot_on_or_before(self, day: dt.date) -> tuple[dt.date | None, list[Figure]]:
        """The latest snapshot taken on ``day`` or before, and its date (None: there is none)."""
        row = self._db.execute(
            "SELECT max(day) FROM snapshots WHERE day <= ?", (day.isoformat(),)
        ).fetchone()
        if not row or row[0] is None:
            return None, []
        return dt.date.fromisoformat(row[0]), self._figures("day = ?", (row[0],))

    def month_ends(self, months: list[dt.date]) -> dict[dt.date, list[Figure]]:
        """For each month (its first day), the last snapshot taken in that month."""
        out: dict[dt.date, list[Figure]] = {}
        for month in months:
            end = _next_month(month)
            row = self._db.execute(
                "SELECT max(day) FROM snapshots WHERE day >= ? AND day < ?",
                (month.isoformat(), end.isoformat()),
            ).fetchone()
            if row and row[0] is not None:
                out[month] = self._figures("day = ?", (row[0],))
        return out

    def past(
        self, today: dt.date, copil_dates: Iterable[dt.date], months: list[dt.date],
        seen: dict[str, dt.datetime | None],
    ) -> Past:  # fmt: skip
        """What this run shows from the history (``seen``: each source's time as read)."""
        past = Past(persons=self.person_changes(seen))
        before = [d for d in copil_dates if d <= today]
        if before:
            past.copil = max(before)
            past.copil_snapshot, figures = self.snapshot_on_or_before(past.copil)
            past.at_copil_figures = {(f.scope, f.subject, f.figure): f.value for f in figures}
        for month, figures in self.month_ends(months).items():
            past.months[month] = {(f.scope, f.subject, f.figure): f.value for f in figures}
        return past

    def days(self) -> list[dt.date]:
        return [dt.date.fromisoformat(d) for (d,) in self._db.execute(
            "SELECT DISTINCT day FROM snapshots ORDER BY day")]  # fmt: skip

    def _figures(self, where: str, args: tuple[str, ...]) -> list[Figure]:
        query = f"SELECT scope, subject, figure, value FROM snapshots WHERE {where}"
        return [Figure(*row) for row in self._db.execute(query, args)]


def _by_a_person(source: str, moment: dt.datetime, written: str | None) -> bool:
    """Whether a source's time as read is a change since qep-sync's last write.

    A file keeps the exact time qep-sync's write left until someone saves it. A Google
    Sheet's modified time is Google's clock: qep-sync keeps the time its write ended, and
    only a later time is someone's edit.
    """
    if written is None:
        return True
    if source.startswith(GSHEET_PREFIX):
        return moment > dt.datetime.fromisoformat(written)
    return moment.isoformat() != written


def _next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK when the block raises."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        self.db.execute("ROLLBACK" if kind else "COMMIT")
