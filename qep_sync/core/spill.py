"""A run's temporary store: bytes set aside on disk, read back when the run needs them.

What a run holds for each source to its end (a parked table's values, the figures the
consolidated view reads) would otherwise grow with the workspace: a ``Spill`` keeps it in
an unnamed temporary file (``tempfile.TemporaryFile``: no name in the folder on Linux,
readable by its owner only, gone with the run, or the process killed),
so that memory holds per source only the place of its bytes. Nothing is ever rewritten
in place: the file grows by what is put, for one run (a ``serve`` tick makes a new one).

A file that cannot be written (a full temporary folder) keeps the bytes in memory: a run
never fails for want of its scratch space.

``SortedRows``: the long lists of the consolidated view (every due item of every service),
sorted through the file, so that a big workspace's view is never all in memory.
"""

from __future__ import annotations

import heapq
import logging
import pickle
import tempfile
import weakref
from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from typing import IO, Any, overload

log = logging.getLogger(__name__)

__all__ = ["SortedRows", "Spill", "Spilled"]


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

    def put(self, data: bytes) -> Spilled:
        """Set ``data`` aside; ``Spilled.read`` gives it back."""
        if not self._broken:
            try:
                if self._file is None:
                    # Held open for the run: closed with the spill (the last place in it).
                    self._file = tempfile.TemporaryFile(prefix="qep-sync-")  # noqa: SIM115
                    weakref.finalize(self, self._file.close)
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
        assert self._file is not None  # a place in the file: the file was opened
        self._file.seek(offset)
        data = self._file.read(length)
        if len(data) != length:
            raise OSError(f"temporary file cut short: {len(data)} of {length} bytes")
        return data

    @property
    def size(self) -> int:
        """Bytes in the file so far."""
        return self._end


# Rows set aside per batch (pickled together), and per sorted run (sorted in memory).
BATCH_ROWS = 500
RUN_ROWS = 8192


class SortedRows(Sequence[Any]):
    """Rows added one by one and read back sorted by ``key``, as ``sorted`` would give them
    (ties in the order they were added), held in a ``Spill`` (an external merge sort): at
    most ``RUN_ROWS`` rows in memory while adding, a batch per run while reading. Each
    reading merges again from the file: read it whole (``list``) only when small."""

    def __init__(self, spill: Spill, key: Callable[[Any], Any]) -> None:
        self._spill = spill
        self._key = key
        self._runs: list[list[Spilled]] = []
        self._pending: list[Any] = []
        self._count = 0

    def append(self, row: Any) -> None:
        self._pending.append(row)
        self._count += 1
        if len(self._pending) >= RUN_ROWS:
            self._flush()

    def _flush(self) -> None:
        run = sorted(self._pending, key=self._key)
        self._pending = []
        self._runs.append([self._spill.put(pickle.dumps(run[i : i + BATCH_ROWS], protocol=5))
                           for i in range(0, len(run), BATCH_ROWS)])  # fmt: skip

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Any]:
        pending = sorted(self._pending, key=self._key)
        if not self._runs:
            return iter(pending)
        runs = [_batches(run) for run in self._runs]
        return heapq.merge(*runs, pending, key=self._key)

    @overload
    def __getitem__(self, i: int) -> Any: ...
    @overload
    def __getitem__(self, i: slice) -> list[Any]: ...
    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return list(self)[i]
        if i < 0:
            i += self._count
        if not 0 <= i < self._count:
            raise IndexError(i)
        return next(islice(self, i, None))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SortedRows | list):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by content


def _batches(run: list[Spilled]) -> Iterator[Any]:
    for batch in run:
        yield from pickle.loads(batch.read())
