"""One snapshot of a workbook file: its bytes, read once while no save was under way.

Both file backends (.xlsx, .ods) read a source from such a snapshot, never from the path
again: values, formats and the stamp that write-back compares all come from the same bytes
(docs/contract.md §7: a file is read once per run, and a save during the run is a
« changed since read » skip, not a crash or a mix of two versions).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from qep_sync import files
from qep_sync.errors import SourceError

# The snapshot is held in memory while the workbook is read: a file larger than this is
# refused before reading (real trackers weigh a few MB; photos included, tens of MB).
MAX_FILE_BYTES = 256 << 20

SAVING = (
    "classeur en cours d'enregistrement (il a changé pendant la lecture) : "
    "non lu, nouvel essai au prochain passage"
)


def take_snapshot(path: Path, label: str) -> tuple[bytes, files.Stamp]:
    """The file's bytes and their (mtime_ns, size), taken while no save was under way.

    A save that rewrites the file in place (or replaces it) between the two stats shows as a
    different stamp: read once more, then leave the file to the next run.
    """
    for _ in range(2):
        before = _stat(path, label)
        if before.st_size > MAX_FILE_BYTES:
            raise SourceError(label, _too_big(before.st_size))
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue  # replaced at that very moment: the second try or the next run
        except OSError as exc:
            raise SourceError(label, f"lecture impossible ({files.os_reason(exc)})") from None
        after = _stat(path, label)
        if _identity(before) == _identity(after) and len(data) == after.st_size:
            return data, (after.st_mtime_ns, after.st_size)
    raise SourceError(label, SAVING)


def _too_big(size: int) -> str:
    return (
        f"fichier trop volumineux pour un suivi ({size >> 20} Mo, au-delà de "
        f"{MAX_FILE_BYTES >> 20} Mo) : retirez-en les images ou les feuilles inutiles"
    )


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    # Not the whole stat: reading the file may update its access time.
    return st.st_mtime_ns, st.st_size, st.st_ino, st.st_dev


def _stat(path: Path, label: str) -> os.stat_result:
    try:
        return path.stat()
    except FileNotFoundError:
        raise SourceError(label, "fichier introuvable") from None
    except OSError as exc:
        raise SourceError(label, f"lecture impossible ({files.os_reason(exc)})") from None


class SnapshotFile(io.BytesIO):
    """The snapshot shaped as the package openers expect a path (``open``, ``stat``).

    They read a path; this lets their safety checks run on the very bytes the readers read,
    not on a file that may have been saved since.
    """

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self._data = data

    def open(self, mode: str = "rb") -> io.BytesIO:
        return io.BytesIO(self._data)

    def stat(self) -> os.stat_result:
        return os.stat_result((0, 0, 0, 0, 0, 0, len(self._data), 0, 0, 0))
