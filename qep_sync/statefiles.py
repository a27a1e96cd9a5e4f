"""The SQLite files of the state folder (alerts sent, run journal) and its run locks.

One way to open a state database (created with its schema, or read-only without ever
creating it) and one exclusive lock that tells « another run holds it » from « this folder
cannot be used »: both the alerts and serve rely on them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path


def open_state_db(
    path: Path, schema: str, version: str, *, readonly: bool, error: Callable[[str], Exception]
) -> sqlite3.Connection | None:
    """The database at ``path``; None when ``readonly`` and it does not exist yet.

    ``error(message)`` builds the exception raised when it cannot be opened.
    """
    try:
        if readonly:
            if not path.is_file():
                return None
            return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=30)
        db.executescript(schema)
        db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (version,))
        db.commit()
        return db
    except (sqlite3.Error, OSError) as exc:
        raise error(f"{path} : {exc}") from None


@contextmanager
def exclusive_lock(
    path: Path, *, busy: Callable[[], Exception], unusable: Callable[[str], Exception]
) -> Iterator[None]:
    """Held for the ``with`` block; released when it ends or the process dies.

    ``busy()`` is raised when another process holds it, ``unusable(reason)`` when the
    folder cannot hold a lock (missing rights, a file in the way...).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=0, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise unusable(str(exc)) from None
    with closing(connection) as lock:
        try:
            lock.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise busy() from None
            raise unusable(str(exc)) from None
        try:
            yield
        finally:
            lock.execute("ROLLBACK")
