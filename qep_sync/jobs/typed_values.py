"""A value a person typed into an owned column is never lost silently (docs/contract.md §7).

qep-sync remembers, per source, what each owned cell held after its last write (the
history's ``owned`` table: per sheet, per row key, per owned column). At the next sync, an
owned cell that holds something else was typed by a person: the run that replaces it says
so in that row's ``Contrôle`` and in the report (« valeur saisie remplacée : « … » »).
Rows are found by their key fields (``N° action``, ``Référence``…), not their number, so
sorting or inserting rows does not look like typing. The first sync of a source records
only: it cannot tell a person's value from an older tool's.

A file still at the modification time it had when its owned cells were recorded holds
exactly them: nobody typed there, and ``OwnedMemory`` skips comparing its cells (and, when
nothing is written, recording them again). A Google Sheet is always compared.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

from qep_sync.cells import a1
from qep_sync.core.detect import TrackerSheet
from qep_sync.core.findings import Finding, Severity
from qep_sync.core.parsing import is_empty, show
from qep_sync.core.validate import Table
from qep_sync.jobs.check import SourceRun
from qep_sync.jobs.history import History, source_key
from qep_sync.vocabulary import CONTROL_TITLE

CONTROL = "controle"
Owned = dict[str, dict[str, dict[str, str]]]  # sheet -> row key -> owned field -> value


def canon(value: Any) -> str:
    """A cell value as compared across runs: a date by its day, a number by its value."""
    if type(value) is str:  # most cells: no cache needed
        return value.strip()
    try:
        return _canon_cached(value)
    except TypeError:  # unhashable: not a cell value a backend gives, but never fail on it
        return _canon(value)


@lru_cache(maxsize=8192, typed=True)  # typed: True, 1 and 1.0 are cached apart
def _canon_cached(value: Any) -> str:
    """``_canon`` by value: dates, numbers and statuses repeat over thousands of rows."""
    return _canon(value)


def _canon(value: Any) -> str:
    if value is None or is_empty(value):
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return f"{float(value):.10g}"
    return str(value).strip()


def row_keys(table: Table) -> dict[int, str]:
    """Each data row's key (its key fields' values; the row number when they repeat)."""
    kept = table.sheet.planning()
    rows = list(table.positions)  # data rows in sheet order (no frame built)
    parts = [_column_parts(kept.anchors[c], rows) for c in sorted(kept.anchors)]
    keys: dict[int, str] = {}
    seen: set[str] = set()
    for row, values in zip(rows, zip(*parts, strict=True) if parts else [()] * len(rows),
                           strict=True):  # fmt: skip
        key = "\x1f".join(values) if any(values) else f"#{row}"
        if key in seen:
            key = f"{key}#{row}"
        seen.add(key)
        keys[row] = key
    return keys


def _column_parts(column: list[Any], rows: list[int]) -> list[str]:
    """An anchor column's values at ``rows`` (1-based sheet rows), as compared."""
    size = len(column)
    return [canon(column[row - 1]) if row <= size else "" for row in rows]


class RowKeys:
    """Each table's row keys, made once for both ``flag_replaced`` and ``owned_after``."""

    def __init__(self) -> None:
        self._by_table: dict[int, tuple[Table, dict[int, str]]] = {}

    def of(self, table: Table) -> dict[int, str]:
        known = self._by_table.get(id(table))
        if known is None or known[0] is not table:
            known = self._by_table[id(table)] = (table, row_keys(table))
        return known[1]


def _fields(ts: TrackerSheet) -> dict[str, str]:
    """The owned fields present in the sheet, with their titles."""
    titles = {c.name: c.title for c in ts.spec.computed} | {CONTROL: CONTROL_TITLE}
    return {name: titles.get(name, name) for name in ts.owned}


def flag_replaced(run: SourceRun, recorded: Owned | None, keys: RowKeys | None = None) -> int:
    """Add a warning to each row whose owned cell holds what qep-sync did not write there;
    returns how many. Called before the owned columns are computed (Contrôle says it)."""
    if recorded is None:
        return 0  # the first sync with this memory: record only
    keys = keys or RowKeys()
    count = 0
    for table in run.tables:
        ts = table.sheet
        kept = ts.planning()
        before = recorded.get(ts.title, {})
        row_key = keys.of(table).get
        for name, title in _fields(ts).items():
            col = ts.owned[name]
            for row, current in kept.owned.get(col, {}).items():
                key = row_key(row)
                value = canon(current)
                if key is None or not value:  # not a data row, or empty
                    continue
                if value == before.get(key, _NOTHING).get(name, ""):
                    continue
                _flag(run, table, row, col, title, current)
                count += 1
    return count


_NOTHING: dict[str, str] = {}


def _flag(run: SourceRun, table: Table, row: int, col: int, title: str, current: Any) -> None:
    """The warning of one owned cell that a person typed into."""
    finding = Finding(
        run.source.label, run.source.service, table.sheet.title, a1(row, col), title,
        show(current),
        f"{title} : valeur saisie remplacée : « {show(current)} » (colonne "
        "calculée par qep-sync : notez plutôt dans une colonne à vous)",
        Severity.WARNING, row, table.tracker,
    )  # fmt: skip
    table.findings.append(finding)
    run.report.findings.append(finding)


def owned_after(run: SourceRun, keys: RowKeys | None = None) -> Owned:
    """What the owned cells hold once this run's values are written."""
    keys = keys or RowKeys()
    out: Owned = {}
    for table in run.tables:
        names = [c.name for c in table.sheet.spec.computed] + [CONTROL]
        row_key = keys.of(table).get
        sheet = out.setdefault(table.sheet.title, {})
        for row, values in table.computed.items():
            key = row_key(row)
            if key is not None:
                sheet[key] = {n: c for n, v in zip(names, values, strict=True) if (c := canon(v))}
    return out


class OwnedMemory:
    """The owned cells of one sync's sources: compared with what the history recorded,
    before they are computed; what to record once they are written."""

    def __init__(self, history: History) -> None:
        self.history = history
        self.owned: dict[str, bytes] = {}  # by source_key: states that changed, encoded
        self.times: dict[str, dt.datetime | None] = {}  # by source_key: files' times with them
        self._recorded: dict[str, Owned | None] = {}
        self._keys: dict[str, RowKeys] = {}
        self._untouched: set[str] = set()

    def compare(self, run: SourceRun) -> int:
        """``flag_replaced`` for a source read, unless it is a file nobody saved since its
        owned cells were recorded; returns how many cells were flagged."""
        key = source_key(run.source)
        moment = run.book.last_change() if run.book and run.source.path is not None else None
        if moment is not None and self.history.owned_time(key) == moment.isoformat():
            self._untouched.add(key)
            return 0
        recorded = self._recorded[key] = self.history.owned(key)
        return flag_replaced(run, recorded, self._keys.setdefault(key, RowKeys()))

    def keep(self, run: SourceRun, written: bool, moment: dt.datetime | None) -> None:
        """What the owned cells of a source hold once written (``written``) or found right;
        ``moment``: the file's modification time then."""
        key = source_key(run.source)
        if key in self._untouched and not written:
            return  # the cells and the time recorded still stand
        state = owned_after(run, self._keys.pop(key, None))
        if key in self._untouched or state != self._recorded.pop(key, None):
            self.owned[key] = History.encode_owned(state)
        if run.source.path is not None:
            self.times[key] = moment
