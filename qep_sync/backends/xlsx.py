"""Excel backend: reads a service's workbook (.xlsx, .xlsm) into plain rows (writing: ``xlsx_write``).

Values come from python-calamine (several times faster than openpyxl, cached formula
values included); the zip is checked first (ooxml.open_package) and the few things
calamine does not say, such as which cells are formatted as percentages, are read
from the sheet XML only where a tracker needs them.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import python_calamine

from qep_sync.backends.ooxml import (
    PackageError,
    SheetPart,
    open_package,
    percent_styles,
    sheet_parts,
    styled_cells,
)
from qep_sync.backends.xlsx_write import write_back
from qep_sync.core.contract import SheetData, SheetPatch
from qep_sync.errors import SourceError


@dataclass
class WorkbookData:
    """What was read from one workbook, and enough to find its parts again."""

    path: Path
    sheets: list[SheetData]
    mtime_ns: int
    size: int
    date1904: bool = False  # Mac Excel's date system: dates count from 1904-01-01
    _percent_styles: frozenset[int] = frozenset()
    _percent_cache: dict[str, set[tuple[int, int]]] = field(default_factory=dict)

    def last_change(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.mtime_ns / 1e9, tz=dt.UTC)

    def write(self, patches: list[SheetPatch]) -> list[str]:
        write_back(self.path, (self.mtime_ns, self.size), patches, date1904=self.date1904)
        return []

    def percent_cells(self, sheet: SheetData) -> set[tuple[int, int]]:
        """(row, column) of the cells shown as percentages in ``sheet``."""
        if sheet.part is None or not self._percent_styles:
            return set()
        if sheet.title not in self._percent_cache:
            with zipfile.ZipFile(self.path) as zf:
                self._percent_cache[sheet.title] = styled_cells(
                    zf, sheet.part, self._percent_styles
                )
        return self._percent_cache[sheet.title]


def read_workbook(path: Path, label: str | None = None) -> WorkbookData:
    """Every worksheet of a workbook; SourceError with a French reason when it cannot be read."""
    label = label or path.name
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise SourceError(label, "fichier introuvable") from None
    except OSError as exc:
        raise SourceError(label, f"lecture impossible ({exc.strerror or exc})") from None
    try:
        with open_package(path) as zf:
            parts = {p.title: p for p in sheet_parts(zf)}
            styles = percent_styles(zf)
    except PackageError as exc:
        raise SourceError(label, str(exc)) from None
    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own types for damaged content
        raise SourceError(label, f"classeur illisible ({_short(exc)})") from None
    sheets: list[SheetData] = []
    try:
        for meta in book.sheets_metadata:
            if str(meta.typ) != "SheetTypeEnum.WorkSheet":
                continue
            sheet = book.get_sheet_by_name(meta.name)
            rows = sheet.to_python(skip_empty_area=False)
            part: SheetPart | None = parts.get(meta.name)
            sheets.append(SheetData(meta.name, rows, part.part if part else None))
    except Exception as exc:
        raise SourceError(label, f"classeur illisible ({_short(exc)})") from None
    finally:
        book.close()
    return WorkbookData(path, sheets, stat.st_mtime_ns, stat.st_size, _percent_styles=styles)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
