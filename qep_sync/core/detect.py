"""Finding trackers in a workbook: which sheet is which tracker, where its header row is,
which column holds which field, and which rows hold data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from qep_sync.cells import a1
from qep_sync.core.contract import SheetData
from qep_sync.core.parsing import bare, blank_row, is_empty
from qep_sync.core.specs import TrackerSpec
from qep_sync.text import clean, fold

HEADER_SEARCH_ROWS = 10


class LayoutError(Exception):
    """A sheet that is a tracker but cannot be read as one; carries the cell and a French message."""

    def __init__(self, message: str, cell: str = "") -> None:
        self.cell = cell
        super().__init__(message)


@dataclass
class TrackerSheet:
    """A sheet recognised as a tracker, with its layout and its data rows."""

    spec: TrackerSpec
    sheet: SheetData
    header_row: int  # 1-based
    columns: dict[str, int]  # field name -> 0-based column
    headers: dict[str, str]  # field name -> header as written in the sheet
    owned: dict[str, int]  # computed name (and "controle") -> 0-based column, when present
    last_header_col: int  # 0-based index of the last non-empty header cell
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)  # (sheet row, cells)
    missing: list[str] = field(default_factory=list)  # required fields whose column is absent
    total_rows: list[int] = field(default_factory=list)  # « Total » rows under the data
    kept: Kept | None = None  # what write-back needs once the raw rows are freed

    @property
    def title(self) -> str:
        return self.sheet.title

    @property
    def anchor_columns(self) -> list[int]:
        """Columns that identify rows: the key fields, else the required ones."""
        names = self.spec.key or tuple(f.name for f in self.spec.required)
        return [self.columns[n] for n in names if n in self.columns]

    def planning(self) -> Kept:
        """What planning the write-back needs: as kept when the rows were freed, else taken
        from the raw rows now. Raw rows gone and nothing kept (a parked table) is an error:
        an empty state would let a new owned column land on a user's cells."""
        if self.kept is None:
            if not self.sheet.rows:  # a tracker holds its header row at least: freed
                raise RuntimeError(f"{self.title}: write-back state asked once the rows were "
                                   "freed (a parked table: unpark it first)")  # fmt: skip
            self.keep()
        assert self.kept is not None
        return self.kept

    def keep(self) -> Kept:
        """Take from the raw rows what planning the write-back needs, so they can be freed."""
        rows = self.sheet.rows
        owned: dict[int, dict[int, Any]] = {col: {} for col in self.owned.values()}
        occupied: set[int] = set()
        end = len(rows)  # bare rows at the bottom hold nothing to keep: cut before the walks
        while end and bare(rows[end - 1]):
            end -= 1
        right = self.last_header_col + 1
        for i in range(max(self.header_row - 2, 0), end):
            row = rows[i]
            # Bare rows (a far tail padded by calamine) skipped; a first cell that holds
            # something, the usual data row, spares the test.
            if not row or (row[0] == "" and bare(row)):
                continue
            if len(row) > right and not bare(row[right:]):
                occupied.update(col for col in range(right, len(row)) if not _blank(row[col]))
        for col, cells in owned.items():  # column by column: the values of one column at a time
            cells.update(_filled(rows, col, self.header_row, end))
        anchors = {}
        for col in self.anchor_columns:
            last = _last_value(rows, col, end)
            anchors[col] = [r[col] if col < len(r) else "" for r in rows[:last]]
        self.kept = Kept(owned, occupied, len(rows), anchors)
        return self.kept


def _filled(rows: list[list[Any]], col: int, start: int, end: int) -> Iterator[tuple[int, Any]]:
    """(sheet row, value) of the cells of ``col`` that hold something in ``rows[start:end]``
    (texts tested without a call: most cells of an owned column are texts)."""
    for i in range(start, end):
        row = rows[i]
        if col < len(row):
            value = row[col]
            if type(value) is str:
                if value.strip():
                    yield i + 1, value
            elif value is not None and not is_empty(value):
                yield i + 1, value


def _last_value(rows: list[list[Any]], col: int, end: int) -> int:
    """How many rows an anchor column spans: 1 + the last of ``rows[:end]`` with a value in
    ``col`` (neither ``""`` nor None), found from the bottom without a list of the tail."""
    for i in range(end - 1, -1, -1):
        row = rows[i]
        if len(row) > col and row[col] is not None and row[col] != "":
            return i + 1
    return 0


@dataclass
class Kept:
    """A sheet's raw content reduced to what sync needs after validation."""

    owned: dict[int, dict[int, Any]]  # existing owned column -> {row: non-empty value}
    occupied: set[int]  # columns right of the header holding anything, from the row above it
    row_count: int
    anchors: dict[int, list[Any]]  # anchor column -> its values from row 1, trailing blanks cut


def _header_score(spec: TrackerSpec, row: list[Any]) -> tuple[int, int]:
    """(required fields found, fields found) in a candidate header row."""
    found = {spec.header_index.get(fold(v)) for v in row if isinstance(v, str) and v.strip()}
    found.discard(None)
    return sum(1 for f in spec.required if f.name in found), len(found)


def find_header(spec: TrackerSpec, rows: list[list[Any]]) -> int | None:
    """0-based index of the most plausible header row of ``spec`` in the first rows, or None."""
    best, best_score = None, (0, 0)
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        score = _header_score(spec, row)
        if score[1] >= 2 and score > best_score:
            best, best_score = i, score
    return best


def recognise(
    sheet: SheetData, specs: dict[str, TrackerSpec], forced: str | None
) -> TrackerSpec | None:
    """The tracker a sheet holds: forced by config, else by title, else by its header row."""
    if forced:
        return specs[forced]
    for spec in specs.values():
        if spec.matches_title(sheet.title):
            return spec
    best: tuple[float, TrackerSpec] | None = None
    for spec in specs.values():
        i = find_header(spec, sheet.rows)
        if i is None:
            continue
        required, found = _header_score(spec, sheet.rows[i])
        if required == len(spec.required) and found >= 3:
            ratio = found / len(spec.fields)
            if best is None or ratio > best[0]:
                best = (ratio, spec)
    return best[1] if best else None


@dataclass(frozen=True)
class NearMiss:
    """The sheet that came closest to a tracker when none was recognised, and what it lacked."""

    sheet: str
    spec: TrackerSpec
    header_row: int  # 1-based row of the most plausible header
    missing: tuple[str, ...]  # titles of the required columns not found in it

    def describe(self) -> str:
        """« l'onglet « Feuil1 » ressemble le plus au suivi Plan d'actions (en-tête ligne 2),
        mais il lui manque les colonnes obligatoires « N° action », « État » »."""
        titles = ", ".join(f"« {t} »" for t in self.missing)
        which = "la colonne obligatoire" if len(self.missing) == 1 else "les colonnes obligatoires"
        lacks = f", mais il lui manque {which} {titles}" if self.missing else ""
        return (f"l'onglet « {self.sheet} » ressemble le plus au suivi {self.spec.title} "
                f"(en-tête ligne {self.header_row}){lacks}")  # fmt: skip


def closest_tracker(sheets: list[SheetData], specs: dict[str, TrackerSpec]) -> NearMiss | None:
    """Among sheets that no tracker recognised, the sheet × tracker whose header row holds the
    most of the tracker's columns (required ones first); None when no row holds two of them
    (one matching word, « Poste » in a budget, says nothing)."""
    best: tuple[tuple[int, int], NearMiss] | None = None
    for sheet in sheets:
        for spec in specs.values():
            for i, row in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
                required, found = _header_score(spec, row)
                if found < 2 or (best is not None and (found, required) <= best[0]):
                    continue
                present = {spec.header_index.get(fold(v)) for v in row if isinstance(v, str)}
                missing = tuple(f.title for f in spec.required if f.name not in present)
                best = ((found, required), NearMiss(sheet.title, spec, i + 1, missing))
    return best[1] if best else None


def layout(spec: TrackerSpec, sheet: SheetData) -> TrackerSheet:
    """Locate header and columns of a recognised tracker sheet; LayoutError when impossible."""
    if all(blank_row(row) for row in sheet.rows):
        raise LayoutError("onglet vide : aucune ligne d'en-tête")
    index = find_header(spec, sheet.rows)
    if index is None:
        expected = ", ".join(f"« {f.title} »" for f in spec.required)
        raise LayoutError(
            f"ligne d'en-tête introuvable dans les {HEADER_SEARCH_ROWS} premières lignes "
            f"(colonnes attendues : {expected})"
        )
    header_row = index + 1
    header = sheet.rows[index]
    columns: dict[str, int] = {}
    owned: dict[str, int] = {}
    headers: dict[str, str] = {}
    last = 0
    for col, value in enumerate(header):
        if is_empty(value):
            continue
        last = col
        key = fold(value)
        name = spec.header_index.get(key)
        target, kind = columns, "field"
        if name is None:
            name, target, kind = spec.owned_index.get(key), owned, "owned"
        if name is None:
            continue  # a user column of their own: left alone
        if name in target:
            first = a1(header_row, target[name])
            raise LayoutError(
                f"en-tête en double : « {clean(str(value))} » ({a1(header_row, col)}) "
                f"désigne la même colonne que {first} ; renommez ou supprimez l'une des deux",
                a1(header_row, col),
            )
        target[name] = col
        if kind == "field":
            headers[name] = clean(str(value))
    ts = TrackerSheet(spec, sheet, header_row, columns, headers, owned, last)
    ts.missing = [f.name for f in spec.required if f.name not in columns]
    ts.rows, ts.total_rows = _data_rows(ts)
    return ts


def _blank(value: Any) -> bool:
    return value is None or value == "" or is_empty(value)


def _holds_data(cells: list[Any], cols: list[int]) -> bool:
    """Whether a row has a value in one of the tracker's columns (most rows: a text in the
    first, tested without a call)."""
    width = len(cells)
    for col in cols:
        if col < width:
            value = cells[col]
            if type(value) is str:
                if value.strip():  # is_empty of a text
                    return True
            elif value is not None and not is_empty(value):
                return True
    return False


def _data_rows(ts: TrackerSheet) -> tuple[list[tuple[int, list[Any]]], list[int]]:
    cols = list(ts.columns.values())
    sheet_rows = ts.sheet.rows
    rows = [
        (i + 1, cells)
        for i, cells in enumerate(sheet_rows[ts.header_row :], ts.header_row)
        if cells and _holds_data(cells, cols)
    ]
    # Total rows at the bottom: first non-empty cell starts with « Total ».
    totals: list[int] = []
    while rows:
        first = next((v for v in rows[-1][1] if not is_empty(v)), None)
        if isinstance(first, str) and fold(first).startswith("total"):
            totals.append(rows.pop()[0])
        else:
            break
    return rows, totals
