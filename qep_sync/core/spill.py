"""A run's temporary store: bytes set aside on disk, read back when the run needs them.

What a run holds for each source to its end (a parked table's values, the figures the
consolidated view reads) would otherwise grow with the workspace: a ``Spill`` keeps it in
an unnamed temporary file (``tempfile.TemporaryFile``: no name in the folder on Linux,
readable by its owner only, gone when it is closed, the run over or the process killed),
so that memory holds per source only the place of its bytes. Nothing is ever rewritten
in place: the file grows by what is put, for one run (a ``serve`` tick makes a new one).

A file that cannot be written (a full temporary folder) keeps the bytes in memory: a run
never fails for want of its scratch space.
"""

from __future__ import annotations

import logging
import tempfile
import weakref
from typing import IO

log = logging.getLogger(__name__)

__all__ = ["Spill", "Spilled"]


class Spilled:
    """Bytes put in a ``Spill``: their place in its file, or the bytes themselves when the
    file could not take them."""

    __slots__ = ("_length", "_offset", "_spill")

    def __init__(self, spill: Spill | bytes, offset: int = 0, length: int = 0) -> None:
        self._spill = spill
        self._offset = offset
        self._length = length

    def read(self) -> bytes:
        if isinstance(self._spill, bytes):
            return self._spill
        return self._spill.read(self._offset, self._length)

    def __len__(self) -> int:
        return len(self._spill) if isinstance(self._spill, bytes) else self._length


class Spill:
    """An append-only scratch file of one run (opened on the first ``put``)."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._end = 0
        self._broken = False
        self._closer: weakref.finalize[[], Spill] | None = None

    def put(self, data: bytes) -> Spilled:
        """Set ``data`` aside; ``Spilled.read`` gives it back."""
        if not self._broken:
            try:
                if self._file is None:
                    # Held open for the run, closed by close() or with the spill.
                    self._file = tempfile.TemporaryFile(prefix="qep-sync-")  # noqa: SIM115
                    self._closer = weakref.finalize(self, self._file.close)  # at the run's end
                self._file.seek(self._end)
                self._file.write(data)
            except OSError as exc:
                log.warning("temporary file unusable, kept in memory: %s", exc)
                self._broken = True
            else:
                offset, self._end = self._end, self._end + len(data)
                return Spilled(self, offset, len(data))
        return Spilled(bytes(data))

    def read(self, offset: int, length: int) -> bytes:
        if self._file is None:
            raise RuntimeError("spill closed: its bytes are gone")
        self._file.seek(offset)
        data = self._file.read(length)
        if len(data) != length:
            raise OSError(f"temporary file cut short: {len(data)} of {length} bytes")
        return data

    @property
    def size(self) -> int:
        """Bytes in the file so far."""
        return self._end

    def close(self) -> None:
        """Let the file go now (else it goes with the last table that points into it)."""
        if self._closer is not None:
            self._closer()
            self._file = None
            self._broken = True  # a closed spill takes no more bytes in its file
