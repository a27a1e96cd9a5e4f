"""Excel backend: reads a service's workbook (.xlsx, .xlsm) into plain rows (writing: ``xlsx_write``).

Reading is one snapshot (``snapshot``): the file's bytes are read once (and again once if a
save was under way), and everything later asked of the workbook (values, percent-formatted
cells, the stamp write-back compares) comes from those bytes, never from the path again.

Values come from python-calamine (several times faster than openpyxl, cached formula
values included). Before calamine sees anything, the zip is checked (ooxml.open_package)
and every worksheet part is scanned (sheetscan.scan_sheet): a damaged part is refused at
check time, and a sheet calamine would blow up on (one far cell makes it allocate the
whole rectangle; a date it cannot convert makes it panic) is read by the streaming
reader instead. The few things calamine does not say, such as which cells are formatted
as percentages, are read from the sheet XML. Every failure of the reading libraries,
Rust panics included, becomes the source's SourceError with a French reason
(docs/contract.md §7: one source failing does not stop the others).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import python_calamine

from qep_sync import files
from qep_sync.backends.ooxml import (
    MAX_CELLS,
    PackageError,
    SheetPart,
    date_styles,
    is_date1904,
    mentions_styles,
    open_package,
    percent_styles,
    sheet_parts,
    styled_cells,
    styled_cells_in,
)
from qep_sync.backends.sheetscan import (
    part_bytes,
    read_sheet_rows,
    scan_shared_strings,
    scan_sheet,
)
from qep_sync.backends.snapshot import SnapshotFile, take_snapshot
from qep_sync.backends.xlsx_write import write_back
from qep_sync.core.contract import SheetData, SheetPatch
from qep_sync.errors import SourceError

log = logging.getLogger(__name__)

# Failures that are the process's, not the file's: they must go through.
_NOT_THE_FILE = (KeyboardInterrupt, SystemExit, GeneratorExit)

_ADVICE = "restaurez une version précédente ou réenregistrez-le depuis Excel"


@dataclass
class _PercentCells:
    """The percent-formatted cells of a workbook's sheets (by title), from its snapshot.

    Computed on first ask from the XML kept (``pending``) of the sheets that may hold some,
    which is released then; at reading (``computed``) for a part too big to keep whole. The
    other sheets hold none and keep nothing.
    """

    styles: frozenset[int] = frozenset()
    computed: dict[str, set[tuple[int, int]]] = field(default_factory=dict)
    pending: dict[str, bytes] = field(default_factory=dict)

    def of(self, title: str) -> set[tuple[int, int]]:
        xml = self.pending.pop(title, None)
        if xml is not None:
            self.computed[title] = styled_cells_in(xml, self.styles)
        return self.computed.get(title, set())


@dataclass
class WorkbookData:
    """What was read from one workbook: its sheets, and the stamp of the snapshot read."""

    path: Path
    sheets: list[SheetData]
    mtime_ns: int
    size: int
    date1904: bool = False  # Mac Excel's date system: dates count from 1904-01-01
    _percent: _PercentCells = field(default_factory=_PercentCells)

    def last_change(self) -> dt.datetime:
        return files.from_mtime(self.mtime_ns)

    def write(self, patches: list[SheetPatch]) -> list[str]:
        write_back(self.path, (self.mtime_ns, self.size), patches, date1904=self.date1904)
        return []

    def percent_cells(self, sheet: SheetData) -> set[tuple[int, int]]:
        """(row, column) of the cells shown as percentages in ``sheet``, as read."""
        return self._percent.of(sheet.title)


def read_workbook(path: Path, label: str | None = None) -> WorkbookData:
    """Every worksheet of a workbook; SourceError with a French reason when it cannot be read."""
    label = label or path.name
    data, (mtime_ns, size) = take_snapshot(path, label)
    try:
        sheets, percent, date1904 = _read_snapshot(data, label)
    except (SourceError, *_NOT_THE_FILE):
        raise
    except BaseException as exc:  # pyo3's PanicException derives from BaseException
        log.debug("lecture de %s : %s: %s", label, type(exc).__name__, exc, exc_info=True)
        raise SourceError(label, french_reason(exc)) from None
    return WorkbookData(path, sheets, mtime_ns, size, date1904, percent)


@contextmanager
def _package(data: bytes, label: str) -> Iterator[zipfile.ZipFile]:
    try:
        zf = open_package(cast(Path, SnapshotFile(data)))
    except PackageError as exc:
        raise SourceError(label, str(exc)) from None
    with zf:
        yield zf


# --------------------------------------------------------------------------- reading

_CALAMINE, _STREAM = "calamine", "stream"


def _read_snapshot(data: bytes, label: str) -> tuple[list[SheetData], _PercentCells, bool]:
    """The sheets, percent cells and date system of a workbook's bytes."""
    with _package(data, label) as zf:
        try:
            located = sheet_parts(zf)
            styles = percent_styles(zf)
            date1904 = is_date1904(zf)
            scan_shared_strings(zf)  # calamine reserves memory for the count it declares
        except PackageError as exc:
            raise SourceError(label, str(exc)) from None
        plan = _plan_reading(zf, located, styles, label)
        sheets = _read_sheets(zf, data, plan.parts, plan.readers, date1904, label)
        percent = _PercentCells(styles)
        for sheet in sheets:
            if sheet.title not in plan.styled:
                continue  # no cell of a percent style: nothing kept
            xml = plan.styled[sheet.title]
            if xml is None:
                percent.computed[sheet.title] = _percent_of(zf, sheet, styles, label)
            else:
                percent.pending[sheet.title] = xml
    return sheets, percent, date1904


@dataclass
class _Plan:
    """How a workbook's sheets are read: the part of each title, the reader each needs, and
    the XML of the sheets that may hold percent-formatted cells (None: a part too big to
    keep whole, read again at once; absent: a sheet that holds none)."""

    parts: dict[str, SheetPart] = field(default_factory=dict)
    readers: dict[str, str] = field(default_factory=dict)
    styled: dict[str, bytes | None] = field(default_factory=dict)


def _plan_reading(
    zf: zipfile.ZipFile, located: list[SheetPart], styles: frozenset[int], label: str
) -> _Plan:
    """The part of each sheet title, the reader each title needs, the XML it may need again.

    A title listed twice (never written by Excel; a hostile file may) is streamed: which
    of its parts calamine would pick is not ours to guess, and it is never left unscanned.
    Each part is inflated once, for its scan and for its percent cells.
    """
    plan = _Plan()
    for part in located:
        xml = part_bytes(zf, part.part)
        reader = _reader_for(zf, part, xml, label)
        if part.title in plan.parts:
            reader = _STREAM
        elif styles and (xml is None or mentions_styles(xml, styles)):
            plan.styled[part.title] = xml
        plan.parts.setdefault(part.title, part)
        if plan.readers.get(part.title) != _STREAM:
            plan.readers[part.title] = reader
    return plan


def _reader_for(zf: zipfile.ZipFile, part: SheetPart, xml: bytes | None, label: str) -> str:
    """Which reader may read a sheet: calamine, or the streaming reader when calamine would
    allocate a huge rectangle (one far cell), misread the part or panic on it.

    Every worksheet part is scanned, trackers or not: a damaged part is found at check
    time, not when a sync writes the file.
    """
    try:
        extent = scan_sheet(zf, part.part, xml)
    except PackageError as exc:
        raise _sheet_error(label, part.title, str(exc)) from None
    if extent.rectangle > MAX_CELLS or not extent.calamine_safe:
        return _STREAM
    return _CALAMINE


def _read_sheets(
    zf: zipfile.ZipFile,
    data: bytes,
    parts: dict[str, SheetPart],
    readers: dict[str, str],
    date1904: bool,
    label: str,
) -> list[SheetData]:
    """Every worksheet's rows, in tab order, from the snapshot's bytes."""
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    sheets: list[SheetData] = []
    dates: frozenset[int] | None = None
    try:
        for meta in book.sheets_metadata:
            if str(meta.typ) != "SheetTypeEnum.WorkSheet":
                continue
            part: SheetPart | None = parts.get(meta.name)
            if part is not None and readers.get(meta.name) == _STREAM:
                dates = date_styles(zf) if dates is None else dates
                rows = _streamed_rows(zf, part, dates, date1904, label)
            else:
                rows = _calamine_rows(book, meta.name, label)
            sheets.append(SheetData(meta.name, rows, part.part if part else None))
    finally:
        book.close()
    return sheets


def _streamed_rows(
    zf: zipfile.ZipFile, part: SheetPart, dates: frozenset[int], date1904: bool, label: str
) -> list[list[Any]]:
    try:
        return read_sheet_rows(zf, part.part, date_styles=dates, date1904=date1904)
    except PackageError as exc:
        raise _sheet_error(label, part.title, str(exc)) from None


def _calamine_rows(book: Any, title: str, label: str) -> list[list[Any]]:
    """One sheet's rows as calamine reads them; any failure of it names the sheet."""
    try:
        rows: list[list[Any]] = book.get_sheet_by_name(title).to_python(skip_empty_area=False)
        return rows
    except _NOT_THE_FILE:
        raise
    except BaseException as exc:  # a Rust panic too: it derives from BaseException
        log.debug("lecture de %s, onglet %s : %s: %s", label, title, type(exc).__name__, exc)
        raise _sheet_error(label, title, french_reason(exc)) from None


def _sheet_error(label: str, title: str, reason: str) -> SourceError:
    # The sheet goes in the reason itself: the report keeps only the reason of a source.
    return SourceError(label, f"onglet « {title} » : {reason}")


def _percent_of(
    zf: zipfile.ZipFile, sheet: SheetData, styles: frozenset[int], label: str
) -> set[tuple[int, int]]:
    assert sheet.part is not None
    try:
        return styled_cells(zf, sheet.part, styles)
    except (KeyError, zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        log.debug("styles de %s, onglet %s : %s", label, sheet.title, exc)
        raise _sheet_error(label, sheet.title, french_reason(exc)) from None


# --------------------------------------------------------------------------- French reasons

# Library texts (English) → what the user is told. Matched in the exception's text.
_KNOWN = [
    (
        re.compile(r"checksum|crc", re.I),
        "données compressées abîmées (somme de contrôle fausse)",
    ),
    (
        re.compile(r"missing the expected (row|column) component|cell reference|dimension", re.I),
        "référence de cellule invalide dans une feuille",
    ),
    (re.compile(r"zip|archive|deflate|inflate|eof", re.I), "archive endommagée ou incomplète"),
    (re.compile(r"xml|utf-?8|encoding|tag|attribute", re.I), "contenu XML abîmé"),
    (re.compile(r"password|encrypt", re.I), "classeur protégé par un mot de passe"),
    (re.compile(r"detect file format|unsupported|unrecognized", re.I), "format non reconnu"),
]
_DATE_PANIC = re.compile(r"TimeDelta|out of bounds|out of range", re.I)


def _is_date_panic(exc: BaseException) -> bool:
    return type(exc).__name__ == "PanicException" and bool(_DATE_PANIC.search(str(exc)))


def french_reason(exc: BaseException) -> str:
    """What the user reads for a reading library's failure: French, no library text (the
    library's own words go to the debug log)."""
    if isinstance(exc, MemoryError):
        return "classeur trop volumineux pour être lu : allégez-le (feuilles ou plages inutiles)"
    if _is_date_panic(exc):
        return (
            "classeur illisible : une cellule au format date contient un nombre hors des dates "
            "possibles d'Excel ; corrigez ou effacez cette valeur"
        )
    text = str(exc)
    for pattern, reason in _KNOWN:
        if pattern.search(text):
            return f"classeur illisible ({reason}) : {_ADVICE}"
    return f"classeur illisible (erreur interne de lecture) : {_ADVICE}"
