"""The SQLite files of the state folder (alerts sent, run journal) and its run locks.

One way to open a state database (created with its schema, or read-only without ever
creating it) and one exclusive lock that tells « another run holds it » from « this folder
cannot be used »: both the alerts and serve rely on them.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path

from qep_sync.clock import paris_now


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
    path: Path,
    *,
    busy: Callable[[], Exception],
    unusable: Callable[[str], Exception],
    wait: float = 0.0,
) -> Iterator[None]:
    """Held for the ``with`` block; released when it ends or the process dies.

    A lock another process holds is waited for ``wait`` seconds at most; then ``busy()`` is
    raised (``holder(path)`` says who holds it). ``unusable(reason)`` is raised when the
    folder cannot hold a lock (missing rights, a file in the way...).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=wait, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise unusable(str(exc)) from None
    with closing(connection) as lock:
        try:
            lock.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise busy() from None
            raise unusable(str(exc)) from None
        _write_holder(path)
        try:
            yield
        finally:
            lock.execute("ROLLBACK")


def _owner_file(path: Path) -> Path:
    return path.with_name(path.name + ".owner")


def _write_holder(path: Path) -> None:
    """Who holds the lock, for the message of the next one that finds it held."""
    since = paris_now()  # a courtesy message only: the lock itself does not depend on it
    text = f"pid {os.getpid()} sur {socket.gethostname()}, depuis le {since:%d/%m/%Y à %H:%M}"
    with suppress(OSError):  # the lock holds without it; only the message would be poorer
        _owner_file(path).write_text(text + "\n", encoding="utf-8")


def holder(path: Path) -> str:
    """« pid 1234 sur srv, depuis le 01/12/2026 à 08:30 », or "" when it is not known."""
    try:
        return _owner_file(path).read_text(encoding="utf-8").strip()
    except OSError:
        return ""
