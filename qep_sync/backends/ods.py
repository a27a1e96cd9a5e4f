"""LibreOffice backend: reads a service's .ods workbook into plain rows (writing: ``ods_write``).

The same discipline as the Excel backend: the file's bytes are read once (``snapshot``),
the zip is checked before anything else reads it (``odf.open_ods``), and everything later
asked of the workbook (values, percent cells, the stamp write-back compares) comes from
those bytes. Values come from one pass over ``content.xml`` (``odsscan``: why not
python-calamine is said there), typed as the Excel backend types them, so that the
core never knows which kind of file a tracker came from. Every failure is the source's
SourceError with a French reason (docs/contract.md §7).
"""

from __future__ import annotations

import datetime as dt
import logging
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from qep_sync.backends.odf import ADVICE, CONTENT, open_ods
from qep_sync.backends.ods_write import write_back
from qep_sync.backends.odsscan import Table, read_tables
from qep_sync.backends.snapshot import SnapshotFile, take_snapshot
from qep_sync.backends.zipparts import PackageError
from qep_sync.core.contract import SheetData, SheetPatch
from qep_sync.errors import STOPS_THE_RUN, SourceError

log = logging.getLogger(__name__)


@dataclass
class OdsData:
    """What was read from one .ods file: its sheets, and the stamp of the snapshot read."""

    path: Path
    sheets: list[SheetData]
    mtime_ns: int
    size: int
    # The percent cells of each sheet, by its part (two tables may share a title in a
    # hostile file; their parts differ).
    _percent: dict[str, set[tuple[int, int]]] = field(default_factory=dict)

    def last_change(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.mtime_ns / 1e9, tz=dt.UTC)

    def write(self, patches: list[SheetPatch]) -> list[str]:
        return write_back(self.path, (self.mtime_ns, self.size), patches)

    def percent_cells(self, sheet: SheetData) -> set[tuple[int, int]]:
        """(row, column) of the cells shown as percentages in ``sheet``, as read."""
        return self._percent.get(sheet.part or "", set())


def table_part(index: int) -> str:
    """The handle of a table in ``SheetData.part``: its place among the tables of content.xml."""
    return f"{CONTENT}#{index}"


def read_ods(path: Path, label: str | None = None) -> OdsData:
    """Every sheet of an .ods file; SourceError with a French reason when it cannot be read."""
    label = label or path.name
    data, (mtime_ns, size) = take_snapshot(path, label)
    try:
        tables = read_snapshot(data)
    except PackageError as exc:
        raise SourceError(label, str(exc)) from None
    except STOPS_THE_RUN:
        raise
    except Exception as exc:  # a library's own failure: the detail is for the debug log
        log.debug("lecture de %s : %r", label, exc, exc_info=True)
        raise SourceError(
            label, f"classeur illisible (erreur interne de lecture) : {ADVICE}"
        ) from None
    sheets = [SheetData(t.title, t.rows, table_part(t.index)) for t in tables]
    percent = {table_part(t.index): t.percent for t in tables if t.percent}
    return OdsData(path, sheets, mtime_ns, size, percent)


def read_snapshot(data: bytes) -> list[Table]:
    """The tables of an .ods file's bytes; PackageError (French) when they cannot be read."""
    with open_ods(cast(Path, SnapshotFile(data))) as zf:
        try:
            stream = zf.open(CONTENT)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
            log.debug("%s: %r", CONTENT, exc)
            raise PackageError(f"partie {CONTENT} illisible : {ADVICE}") from None
        with stream:
            return read_tables(stream, CONTENT, zf.getinfo(CONTENT).file_size)
