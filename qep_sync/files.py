"""Writing a file that people also open: never half-written, never under someone's feet.

Every file qep-sync writes (a service's workbook, the consolidated workbook, a new workspace,
an ``.eml``) is written to a temporary file beside it, then put in place in one step. A
file someone holds open (the owner file Excel or LibreOffice leaves beside it), or that
changed since it was read, is left as it is: ``NotReplaced``, retried at the next run.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

OS_REASONS = {
    errno.ENOSPC: "disque plein",
    errno.EDQUOT: "quota du disque atteint",
    errno.EACCES: "droits insuffisants sur le fichier ou son dossier",
    errno.EPERM: "droits insuffisants sur le fichier ou son dossier",
    errno.EROFS: "disque en lecture seule",
    errno.ENOENT: "fichier ou dossier disparu pendant l'écriture",
    errno.EBUSY: "fichier occupé par un autre programme",
    errno.EIO: "erreur de lecture ou d'écriture du disque",
}


def os_reason(exc: OSError) -> str:
    """What went wrong on the disk, in French (the system's own text is English)."""
    if exc.errno in OS_REASONS:
        return OS_REASONS[exc.errno]
    return f"erreur du système de fichiers n° {exc.errno}" if exc.errno else "erreur du disque"


Stamp = tuple[int, int]  # (st_mtime_ns, st_size): « the file as it was read »


class NotReplaced(Exception):
    """The file was left as it is; ``reason`` is French (« ouvert par un utilisateur … »)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def owner_lock(path: Path) -> Path | None:
    """The owner file of Excel (``~$name``) or LibreOffice (``.~lock.name#``) beside ``path``."""
    for lock in (path.with_name("~$" + path.name), path.with_name(f".~lock.{path.name}#")):
        if lock.exists():
            return lock
    return None


def stamp(path: Path) -> Stamp | None:
    """What tells that a file changed; None when there is no file."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size


def modified(path: Path) -> dt.datetime | None:
    """A file's modification time (aware, UTC), as every backend and the history read it."""
    try:
        return from_mtime(path.stat().st_mtime_ns)
    except OSError:
        return None


def from_mtime(mtime_ns: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(mtime_ns / 1e9, tz=dt.UTC)


TEMPORARY_SUFFIX = ".qep-sync.tmp"  # matched by no ``*.xlsx`` glob, and hidden (a leading dot)


def temporaries(path: Path) -> list[Path]:
    """The temporary files of writes to ``path``: this run's, another's, or a killed one's."""
    prefix = f".{path.name}."
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    return [path.parent / n for n in names if n.startswith(prefix) and n.endswith(TEMPORARY_SUFFIX)]


def _new_temporary(path: Path) -> tuple[int, Path]:
    """A temporary file of its own beside ``path`` (two runs never share one), held locked
    while it is written so that another run tells it from a killed run's leftover."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX)
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
    return fd, Path(name)


def _remove_leftovers(path: Path) -> None:
    """Remove what killed runs left beside ``path``; a file another run is writing stays."""
    for leftover in temporaries(path):
        try:
            if fcntl is None:  # Windows refuses to delete a file another process has open
                leftover.unlink()
                continue
            with open(leftover, "rb") as fh:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                leftover.unlink()
        except OSError:
            continue  # being written by another run, or already gone


def check_unchanged(path: Path, expected: Stamp | None) -> None:
    """NotReplaced when ``path`` is held open or is no longer the file that was read."""
    lock = owner_lock(path)
    if lock is not None:
        raise NotReplaced(f"ouvert par un utilisateur ({lock.name} présent)")
    try:
        current = stamp(path)
    except OSError as exc:
        raise NotReplaced(f"inaccessible ({os_reason(exc)})") from None
    if current != expected:
        raise NotReplaced("modifié depuis sa lecture")


def replace_atomically(
    path: Path, write: Callable[[Path], Any], *, check: bool = False, expected: Stamp | None = None
) -> None:
    """``write(tmp)`` fills a temporary file beside ``path``, which then takes its place.

    With ``check``, ``expected`` is the stamp ``path`` had when it was read (None: there was
    no file): it is checked just before the replacement and, where the system can swap two
    files (Linux), an instant after, so that a save that slipped in is put back and nothing of
    it is lost. Raises NotReplaced (``path`` untouched) or OSError; the temporary file never
    stays behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(path)
    fd, tmp = _new_temporary(path)
    try:
        write(tmp)
        _fsync(tmp)
        if path.exists():
            shutil.copymode(path, tmp)  # keep the file's permissions
        else:
            os.chmod(tmp, 0o666 & ~_umask())  # as a new file would be (mkstemp makes it 0600)
        if check:
            check_unchanged(path, expected)
        if not check or not _exchange(tmp, path):
            os.replace(tmp, path)
        elif stamp(tmp) != expected:  # what was at ``path`` an instant ago
            _exchange(tmp, path)  # put the person's save back, drop ours
            raise NotReplaced("modifié pendant l'écriture")
    finally:
        tmp.unlink(missing_ok=True)
        os.close(fd)
    _fsync_dir(path.parent)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if sys.platform != "linux" or not b.exists():
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]  # fmt: skip
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False  # a filesystem (SMB, some FUSE) or kernel without it
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(b))


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable where the platform allows it (not on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
