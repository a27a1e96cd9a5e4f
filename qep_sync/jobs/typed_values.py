"""A value a person typed into an owned column is never lost silently (docs/contract.md §7).

qep-sync remembers, per source, what each owned cell held after its last write (the
history's ``owned`` table: per sheet, per row key, per owned column). At the next sync, an
owned cell that holds something else was typed by a person: the run that replaces it says
so in that row's ``Contrôle`` and in the report (« valeur saisie remplacée : « … » »).
Rows are found by their key fields (``N° action``, ``Référence``…), not their number, so
sorting or inserting rows does not look like typing. The first sync of a source records
only: it cannot tell a person's value from an older tool's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from qep_sync.cells import a1
from qep_sync.core.detect import TrackerSheet
from qep_sync.core.findings import Finding, Severity
from qep_sync.core.parsing import is_empty, show
from qep_sync.core.validate import Table
from qep_sync.jobs.check import SourceRun
from qep_sync.vocabulary import CONTROL_TITLE

CONTROL = "controle"
Owned = dict[str, dict[str, dict[str, str]]]  # sheet -> row key -> owned field -> value


def canon(value: Any) -> str:
    """A cell value as compared across runs: a date by its day, a number by its value."""
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
    kept = table.sheet.kept or table.sheet.keep()
    columns = sorted(kept.anchors)
    keys: dict[int, str] = {}
    seen: set[str] = set()
    for row in table.positions:  # data rows in sheet order (no frame built)
        parts = [canon(kept.anchors[c][row - 1]) if row - 1 < len(kept.anchors[c]) else ""
                 for c in columns]  # fmt: skip
        key = "\x1f".join(parts) if any(parts) else f"#{row}"
        if key in seen:
            key = f"{key}#{row}"
        seen.add(key)
        keys[row] = key
    return keys


def _fields(ts: TrackerSheet) -> dict[str, str]:
    """The owned fields present in the sheet, with their titles."""
    titles = {c.name: c.title for c in ts.spec.computed} | {CONTROL: CONTROL_TITLE}
    return {name: titles.get(name, name) for name in ts.owned}


def flag_replaced(run: SourceRun, recorded: Owned | None) -> int:
    """Add a warning to each row whose owned cell holds what qep-sync did not write there;
    returns how many. Called before the owned columns are computed (Contrôle says it)."""
    if recorded is None:
        return 0  # the first sync with this memory: record only
    count = 0
    for table in run.tables:
        ts = table.sheet
        kept = ts.kept or ts.keep()
        before = recorded.get(ts.title, {})
        keys = row_keys(table)
        for name, title in _fields(ts).items():
            col = ts.owned[name]
            for row, current in kept.owned.get(col, {}).items():
                if row not in keys or is_empty(current):
                    continue
                if canon(current) == before.get(keys[row], {}).get(name, ""):
                    continue
                finding = Finding(
                    run.source.label, run.source.service, ts.title, a1(row, col), title,
                    show(current),
                    f"{title} : valeur saisie remplacée : « {show(current)} » (colonne "
                    "calculée par qep-sync : notez plutôt dans une colonne à vous)",
                    Severity.WARNING, row, table.tracker,
                )  # fmt: skip
                table.findings.append(finding)
                run.report.findings.append(finding)
                count += 1
    return count


def owned_after(run: SourceRun) -> Owned:
    """What the owned cells hold once this run's values are written."""
    out: Owned = {}
    for table in run.tables:
        ts = table.sheet
        names = [c.name for c in ts.spec.computed] + [CONTROL]
        keys = row_keys(table)
        sheet = out.setdefault(ts.title, {})
        for row, values in table.computed.items():
            if row in keys:
                sheet[keys[row]] = {n: canon(v) for n, v in zip(names, values, strict=True)
                                    if canon(v)}  # fmt: skip
    return out
