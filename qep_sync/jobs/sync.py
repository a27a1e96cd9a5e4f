"""The `sync` job: check, compute the owned columns, write them back, consolidate.

Library entry point: ``run_sync(config, today, dry_run=False) -> SyncRun``. Only cells of
owned columns are planned; a cell whose value is already right is not written, and a file
with nothing to change is not rewritten at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qep_sync import __version__, files
from qep_sync.cells import a1, to_serial
from qep_sync.config import Config
from qep_sync.core.contract import OwnedLayout, SheetPatch, SkippedWrite
from qep_sync.core.findings import Finding, Severity
from qep_sync.core.parsing import is_empty, show
from qep_sync.core.specs import TrackerSpec
from qep_sync.core.spill import Spill
from qep_sync.core.validate import Table
from qep_sync.errors import STOPS_THE_RUN, WriteBackError, unexpected
from qep_sync.jobs.check import CheckRun, Progress, SourceRun, run_check
from qep_sync.jobs.consolidate import ViewContext, consolidate, last_change
from qep_sync.jobs.consolidated_workbook import ConsolidationResult, write_view
from qep_sync.jobs.figures import Gathered, Services
from qep_sync.jobs.heap import long_lived_run, settle
from qep_sync.jobs.history import History, HistoryError, source_key
from qep_sync.jobs.outcome import RunSummary
from qep_sync.jobs.trends import months_until
from qep_sync.jobs.typed_values import OwnedMemory
from qep_sync.statefiles import exclusive_lock, holder
from qep_sync.text import plural
from qep_sync.vocabulary import CONTROL, CONTROL_TITLE, STATUS_COLOURS
from qep_sync.workdays import WorkingCalendar, calendar_of

CONTROL_WIDTH = 60.0
MAX_WIDTH = 45.0  # a new owned column is never wider (a status is at most 25 characters)
LOCK_NAME = "sync.lock"
LOCK_WAIT = 120.0  # seconds a sync waits for another one of the same workspace
log = logging.getLogger(__name__)


@dataclass
class FileWrite:
    """What sync did (or would do) to one source file."""

    source: str
    service: str
    status: str  # written, unchanged, skipped, failed, planned (dry run), not-read
    cells: int = 0
    message: str = ""
    changes: list[dict[str, Any]] = field(default_factory=list)  # per cell, for --dry-run
    ended: dt.datetime | None = None  # when the write ended (aware), for the history
    # The file's (mtime_ns, size) at once after the write: what this run left, never a
    # person's save that followed it (None: not written, or a Google Sheet).
    stamp: tuple[int, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "service": self.service,
            "status": self.status,
            "cells": self.cells,
            "message": self.message,
            "changes": self.changes,
        }


@dataclass
class SyncRun:
    check: CheckRun
    writes: list[FileWrite]
    dry_run: bool
    consolidated: ConsolidationResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """``sync --format json``: the check report, plus the writes and the consolidation."""
        data = self.check.report.to_dict()
        data["dry_run"] = self.dry_run
        data["writes"] = [w.to_dict() for w in self.writes]
        data["consolidated"] = self.consolidated.to_dict() if self.consolidated else None
        return data

    @property
    def failed(self) -> bool:
        """A source could not be read or written, or the consolidation could not be written."""
        return any(w.status in ("failed", "not-read") for w in self.writes) or (
            self.consolidated is not None and self.consolidated.status == "failed"
        )


def _same(current: Any, wanted: Any) -> bool:
    """Is the value already in the cell the one we would write (so no write is needed)?"""
    if wanted is None:
        return is_empty(current)
    if isinstance(wanted, dt.date):
        if isinstance(current, dt.datetime):
            return current.date() == wanted and current.time() == dt.time()
        if isinstance(current, int | float) and not isinstance(current, bool):
            return current == to_serial(wanted)  # Google Sheets gives dates as serial numbers
        return isinstance(current, dt.date) and current == wanted
    if isinstance(wanted, int | float) and not isinstance(wanted, bool):
        return (
            isinstance(current, int | float)
            and not isinstance(current, bool)
            and math.isclose(current, wanted, rel_tol=0, abs_tol=1e-9)
        )
    return isinstance(current, str) and current == wanted


def _width(spec: TrackerSpec, name: str, title: str, longest: int) -> float:
    """A new owned column's width: its title and its longest value fit (`Contrôle` wraps)."""
    if name == "controle":
        return CONTROL_WIDTH
    kind = next((c.type for c in spec.computed if c.name == name), "string")
    shortest = 13.0 if kind == "date" else 12.0
    return min(MAX_WIDTH, max(shortest, len(title) + 3.0, longest + 3.0))


def _longest(values: dict[int, tuple[Any, ...]], i: int) -> int:
    """The length of the longest value of owned column ``i`` as a cell shows it; each value
    shown once (a column holds a few statuses or dates over thousands of rows; typed: True
    and 1 show differently)."""
    distinct = {(type(v[i]), v[i]) for v in values.values()}
    return max((len(show(v)) for _, v in distinct if not is_empty(v)), default=0)


def plan_sheet(
    table: Table, values: dict[int, tuple[Any, ...]], *, extend_autofilter: bool = True
) -> SheetPatch:
    """The owned cells of one sheet that differ from what the sheet holds now, and where the
    owned columns stand (``SheetPatch.layout``: colours, header prompts, autofilter)."""
    ts = table.sheet
    spec = ts.spec
    kept = ts.planning()
    names = [c.name for c in spec.computed] + ["controle"]
    titles = [c.title for c in spec.computed] + [CONTROL_TITLE]
    patch = SheetPatch(ts.title, ts.sheet.part or "", ts.header_row)
    positions: dict[str, int] = {}
    next_col = ts.last_header_col + 1
    for i, (name, title) in enumerate(zip(names, titles, strict=True)):
        if name in ts.owned:
            positions[name] = ts.owned[name]
            continue
        while next_col in ts.owned.values() or next_col in kept.occupied:
            next_col += 1  # never write over anything a user put beside the table
        positions[name] = next_col
        patch.headers[next_col] = title
        patch.widths[next_col] = _width(spec, name, title, _longest(values, i))
        next_col += 1
    kinds = {c.name: c.type for c in spec.computed}
    patch.date_columns = {positions[n] for n in names if kinds.get(n) == "date"}
    patch.layout = _layout(names, titles, positions, kinds, values, extend_autofilter)
    patch.anchors = dict(kept.anchors)
    patch.cells.update(_changed(values, [positions[n] for n in names], kept.owned))
    skip = set(values) | set(ts.total_rows)
    for col, cells in kept.owned.items():  # stale values left in rows that no longer hold data
        for row in cells:
            if row not in skip:
                patch.cells[(row, col)] = None
    return patch


def _changed(
    values: dict[int, tuple[Any, ...]], columns: list[int], owned: dict[int, dict[int, Any]]
) -> dict[tuple[int, int], Any]:
    """The owned cells whose value is not the one wanted, row by row, as (row, col) -> value.

    Compared column by column (most cells hold the text or nothing wanted: told apart
    without ``_same``), then put back in row order."""
    rows = list(values)
    found: list[tuple[int, int, int, Any]] = []  # (row position, column position, col, value)
    for i, col in enumerate(columns):
        column = [v[i] for v in values.values()]
        if not owned.get(col):  # a column written for the first time: every value is new
            found.extend((at, i, col, wanted) for at, wanted in enumerate(column)
                         if wanted is not None)  # fmt: skip
            continue
        current = owned[col].get
        for at, (row, wanted) in enumerate(zip(rows, column, strict=True)):
            now = current(row)
            if (now is None and wanted is None) or (type(now) is str and now == wanted):
                continue
            if not _same(now, wanted):
                found.append((at, i, col, wanted))
    found.sort()  # by row, then column: no two alike there, so values are never compared
    return {(rows[at], col): wanted for at, _, col, wanted in found}


def _layout(
    names: list[str],
    titles: list[str],
    positions: dict[str, int],
    kinds: dict[str, str],
    values: dict[int, tuple[Any, ...]],
    extend_autofilter: bool,
) -> OwnedLayout:
    """Where the owned columns stand; the status words each text column holds, coloured."""
    layout = OwnedLayout(
        columns={positions[n]: t for n, t in zip(names, titles, strict=True)},
        first_row=min(values, default=0),
        last_row=max(values, default=0),
        wrapped={positions[CONTROL]},
        extend_autofilter=extend_autofilter,
    )
    for i, name in enumerate(names):
        if kinds.get(name) != "string":  # `Contrôle` is not a computed column: never coloured
            continue
        words = {v[i] for v in values.values() if isinstance(v[i], str)}
        layout.colours[positions[name]] = {w: STATUS_COLOURS[w] for w in words
                                           if w in STATUS_COLOURS}  # fmt: skip
    return layout


def _describe(patch: SheetPatch) -> list[dict[str, Any]]:
    """The cells of a patch as the dry run lists them."""
    out: list[dict[str, Any]] = [
        {"sheet": patch.title, "cell": a1(patch.header_row, col), "value": title}
        for col, title in sorted(patch.headers.items())
    ]
    for (row, col), value in sorted(patch.cells.items()):
        shown = None if value is None else show(value)
        out.append({"sheet": patch.title, "cell": a1(row, col), "value": shown})
    return out


def sync_source(
    run: SourceRun, today: dt.date, config: Config, cal: WorkingCalendar, dry_run: bool
) -> FileWrite:
    """Compute and write back the owned cells of one source; a failure is this source's only."""
    try:
        return _sync_source(run, today, config, cal, dry_run)
    except BaseException as exc:
        if isinstance(exc, STOPS_THE_RUN):
            raise
        log.error("sync of %s failed", run.source.label, exc_info=True)
        return FileWrite(run.source.label, run.source.service, "failed", message=unexpected(exc))


def _sync_source(
    run: SourceRun, today: dt.date, config: Config, cal: WorkingCalendar, dry_run: bool
) -> FileWrite:
    src = run.source
    result = FileWrite(src.label, src.service, "not-read")
    if run.report.error or run.book is None:
        result.message = run.report.error or ""
        return result
    patches = []
    run.compute(today, config.rules, cal)
    for table in run.tables:
        patch = plan_sheet(table, table.computed, extend_autofilter=config.extend_autofilter)
        if patch.changed:
            patches.append(patch)
    result.cells = sum(p.changed for p in patches)
    if dry_run:
        result.status = "planned" if patches else "unchanged"
        for patch in patches:
            result.changes.extend(_describe(patch))
        return result
    if not patches:
        result.status = "unchanged"
        return result
    missing = [p.title for p in patches if not p.part]
    if missing:
        result.status, result.message = (
            "failed",
            f"onglet « {missing[0]} » introuvable dans l'archive",
        )
        return result
    try:
        warnings = run.book.write(patches)
        result.status, result.ended = "written", dt.datetime.now(dt.UTC)
        result.stamp = _stamp_after_write(src.path)
        result.message = " ; ".join(warnings)
        for text in warnings:  # parts skipped this run (a tab whose rows moved), retried next
            run.report.findings.append(
                Finding(src.label, src.service, "", "", "", "", text, Severity.WARNING)
            )
    except SkippedWrite as exc:
        result.status, result.message = "skipped", str(exc)
        run.report.findings.append(
            Finding(src.label, src.service, "", "", "", "", str(exc), Severity.WARNING)
        )
    except WriteBackError as exc:
        result.status, result.message = "failed", str(exc)
    return result


def run_sync(
    config: Config,
    today: dt.date,
    *,
    dry_run: bool = False,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
    lock_wait: float | None = None,
) -> SyncRun:
    """Check every source, write the owned columns back into each, rebuild the consolidation.

    With ``dry_run`` nothing is written, neither sources nor the consolidated workbook.
    ``now`` (the run's wall-clock time) is shown in the consolidated workbook's titles.
    One sync at a time per workspace (``serve`` and a sync typed at the terminal): a second
    one waits ``lock_wait`` seconds at most (default ``LOCK_WAIT``), then fails saying who
    holds the workspace.
    """
    wait = LOCK_WAIT if lock_wait is None else lock_wait
    writes_files = config.path is not None and not dry_run
    lock = _one_at_a_time(config.state_dir, wait) if writes_files else nullcontext()
    with lock, long_lived_run():
        return _run_sync(config, today, dry_run, now, progress)


class _LockUnusable(Exception):
    """The state folder cannot hold the lock (a file in its place, no rights)."""


def sync_lock(state_dir: Path, wait: float) -> AbstractContextManager[None]:
    """Held while a sync of the workspace writes; released when it ends or its process dies."""
    path = state_dir / LOCK_NAME

    def busy() -> WriteBackError:
        who = holder(path)
        return WriteBackError(
            f"une autre synchronisation de cet espace de travail est en cours"
            f"{f' ({who})' if who else ''} ; attendue {wait:.0f} s, celle-ci n'a rien écrit : "
            "relancez-la quand l'autre sera finie"
        )

    return exclusive_lock(path, busy=busy, unusable=_LockUnusable, wait=wait)


@contextmanager
def _one_at_a_time(state_dir: Path, wait: float) -> Iterator[None]:
    """The workspace's sync lock; a state folder that cannot hold it does not stop the sync
    (as a journal that cannot be written does not): the files' own checks still hold."""
    try:
        with sync_lock(state_dir, wait):
            yield
    except _LockUnusable as exc:
        log.warning("sync lock unusable in %s: %s", state_dir, exc)
        yield


def _run_sync(
    config: Config,
    today: dt.date,
    dry_run: bool,
    now: dt.datetime | None,
    progress: Progress | None,
) -> SyncRun:
    history = _history(config) if config.path is not None and not dry_run else None
    try:
        # Every file as the last sync left it: read for the report alone (nothing kept for
        # writing); confirmed by the stamps as read, else read again for writing. Tables
        # parked as read, unparked one by one (a dry run's caller may use them all after).
        unchanged = history is not None and _as_left_before(history, config, today, now, None)
        check = run_check(config, today, progress=progress, tables=not unchanged,
                          park=not dry_run)  # fmt: skip
        if history is not None and _as_left_before(history, config, today, now, check):
            return _left_as_they_are(check, config)
        if unchanged:  # saved between the look and the read
            check = run_check(config, today, progress=progress, park=True)
        cal = calendar_of(config)
        memory = OwnedMemory(history) if history is not None else None
        gathered = (
            Gathered(Services(check), spill=Spill())
            if config.consolidated is not None and not dry_run
            else None
        )
        writes = []
        for run in check.sources:
            run.unpark()
            if memory is not None and run.book is not None:
                memory.compare(run)
            write = sync_source(run, today, config, cal, dry_run)
            writes.append(write)
            if memory is not None and _settled(write):
                memory.keep(run, write.status == "written", _time_after(run, write))
            if gathered is not None:
                gathered.add(run)
            if not dry_run:  # a dry run's caller may plan the sheets again (bench, tests)
                for table in run.tables:  # what planning and typed values needed, not the view
                    table.sheet.kept = None
                run.park(keep=frozenset())  # the view reads what was gathered; alerts unpark
            settle()
        result = SyncRun(check, writes, dry_run)
        if gathered is not None:
            result.consolidated = _consolidate(check, today, now, config, history, writes, memory,
                                               gathered)  # fmt: skip
        elif history is not None and memory is not None:
            history.record(today, [], {}, _written_times(check, writes), memory.owned,
                           owned_times=memory.times)  # fmt: skip
    finally:
        if history is not None:
            history.close()
    return result


def _history(config: Config) -> History | None:
    """The workspace's history; a state folder that cannot hold it does not stop the sync."""
    try:
        return History(config.state_dir)
    except HistoryError as exc:
        log.warning("history unusable: %s", exc)
        return None


def _consolidate(
    check: CheckRun,
    today: dt.date,
    now: dt.datetime | None,
    config: Config,
    history: History | None,
    writes: list[FileWrite],
    memory: OwnedMemory | None,
    gathered: Gathered,
) -> ConsolidationResult:
    """Build the view and write it, unless the workbook already shows it (the history keeps
    the state of its last write); record the run's snapshot, and the workspace's state when
    every source holds what this run computed (``workspace_state``)."""
    assert config.consolidated is not None
    path = config.consolidated
    try:
        seen = {source_key(run.source): last_change(run) for run in check.sources}
        past = (
            history.past(today, config.copil_dates, months_until(today), seen) if history else None
        )
        view = consolidate(check, today, generated=now, context=ViewContext.of(config, past),
                           gathered=gathered)  # fmt: skip
        result = write_view(view, path, history.view_state(path) if history else None)
        if history is not None and past is not None and memory is not None:
            state = None
            if result.status == "written" and all(_settled(w) for w in writes):
                state = workspace_state(config, today, now, _stamps(check, writes))
            history.record(today, view.snapshot, past.persons, _written_times(check, writes),
                           memory.owned, owned_times=memory.times,
                           views={path: result.state} if result.state else None,
                           workspace=state)  # fmt: skip
        return result
    except BaseException as exc:
        if isinstance(exc, STOPS_THE_RUN):
            raise
        log.error("consolidation failed", exc_info=True)
        return ConsolidationResult("failed", f"{path.name} : {unexpected(exc)}", path)


def workspace_state(
    config: Config,
    today: dt.date,
    now: dt.datetime | None,
    stamps: list[tuple[str, str | None]],
) -> str | None:
    """What a sync's outcome depends on, as a digest: qep-sync's version, the day (and the
    day of generation the workbook shows, from ``now``), the settings, every source's
    ``stamps`` (by ``source_key``: see ``_stamps``) and the consolidated workbook as it is
    now. None when one of them is unknown (a source not read, a Google Sheet just written,
    a workbook missing): such a workspace is never taken as left as it was."""
    generated = now.date().isoformat() if now is not None else ""
    digest = hashlib.sha256(f"{__version__}\n{today}\n{generated}\n{config!r}\n".encode())
    for key, stamp in stamps:
        if stamp is None:
            return None
        digest.update(f"{key}={stamp}\n".encode())
    if config.consolidated is None or not config.consolidated.is_file():
        return None
    digest.update(f"consolidated={files.stamp(config.consolidated)}\n".encode())
    return digest.hexdigest()


def _stamps(check: CheckRun, writes: list[FileWrite] | None = None) -> list[tuple[str, str | None]]:
    """Each source's stamp: as this run read it, or as its write left it."""
    out = []
    for i, run in enumerate(check.sources):
        write = writes[i] if writes is not None else None
        if write is not None and write.status == "written":
            out.append((source_key(run.source), _as_written(write)))
        else:
            out.append((source_key(run.source), None if run.report.error else run.stamp))
    return out


def _stamps_now(config: Config) -> list[tuple[str, str | None]]:
    """Each source file's stamp as it is now, before reading (a Google Sheet's is not known
    without reading it: None)."""
    out = []
    for source in config.sources:
        stamp = files.stamp(source.path) if source.path is not None else None
        out.append((source_key(source), None if stamp is None else f"{stamp[0]}:{stamp[1]}"))
    return out


def _stamp_after_write(path: Path | None) -> tuple[int, int] | None:
    """A written file's stamp, taken at once (None: a Google Sheet, or a file that cannot
    be looked at: then the workspace is never taken as left as it was)."""
    try:
        return files.stamp(path) if path is not None else None
    except OSError:
        return None


def _as_written(write: FileWrite) -> str | None:
    """A file's stamp as this run's write left it, taken at once after the write (a Google
    Sheet's modification time after a write is not known: None)."""
    return None if write.stamp is None else f"{write.stamp[0]}:{write.stamp[1]}"


def _as_left_before(
    history: History,
    config: Config,
    today: dt.date,
    now: dt.datetime | None,
    check: CheckRun | None,
) -> bool:
    """Whether the workspace is as a sync left it earlier today (the history keeps its
    ``workspace_state``): every source and the consolidated workbook as that sync wrote or
    found them, the same settings, the same day. Then computing, planning and the view
    would find what that sync made: nothing to do. With ``check`` None: the files as they
    are now, before reading them (a guess, that the stamps as read must confirm)."""
    if config.consolidated is None:
        return False
    recorded = history.workspace_state()
    stamps = _stamps(check) if check is not None else _stamps_now(config)
    return recorded is not None and recorded == workspace_state(config, today, now, stamps)


def _left_as_they_are(check: CheckRun, config: Config) -> SyncRun:
    """The run of a workspace left as it was: every source unchanged, the consolidated
    workbook already up to date."""
    writes = [FileWrite(run.source.label, run.source.service, "unchanged") for run in check.sources]
    result = SyncRun(check, writes, False)
    path = config.consolidated
    assert path is not None
    result.consolidated = ConsolidationResult(
        "written", f"{path.name} : consolidation déjà à jour, rien n'a changé depuis le passage "
        "précédent", path,
    )  # fmt: skip
    return result


def _settled(write: FileWrite) -> bool:
    """Written in full, or found right: the owned cells hold what this run computed."""
    return write.status in ("written", "unchanged") and not write.message


def _time_after(run: SourceRun, write: FileWrite) -> dt.datetime | None:
    """A source's modification time once synced: as read, or as this run's write left it."""
    if write.status == "written":
        return _modified(write)
    return last_change(run)


def _modified(write: FileWrite) -> dt.datetime | None:
    """When this run's write left the source: the file's time taken at once after it, a
    Google Sheet's end of write."""
    return files.from_mtime(write.stamp[0]) if write.stamp is not None else write.ended


def _written_times(check: CheckRun, writes: list[FileWrite]) -> dict[str, dt.datetime | None]:
    """What this run's writes left, so that they never count as a person's change: a file's
    modification time; for a Google Sheet, the moment its write ended."""
    out: dict[str, dt.datetime | None] = {}
    for run, write in zip(check.sources, writes, strict=True):
        if write.status == "written":
            out[source_key(run.source)] = _modified(write)
    return out


def summarize_sync(run: SyncRun) -> RunSummary:
    """The counts and the failed or skipped sources of a sync."""
    report = run.check.report
    writes = run.writes
    failed = [w for w in writes if w.status in ("failed", "not-read")]
    skipped = [w for w in writes if w.status == "skipped"]
    written = [w for w in writes if w.status == "written"]
    counts = {
        "sources": len(report.sources),
        "sources_read": len(report.sources) - len(report.failed_sources),
        "sources_skipped": len(skipped),
        "sources_failed": len(failed),
        "files_written": len(written),
        "cells_written": sum(w.cells for w in written),
        "errors": report.errors,
        "warnings": report.warnings,
    }
    details: dict[str, Any] = {
        "failed": [{"source": w.source, "service": w.service, "message": w.message} for w in failed],
        "skipped": [{"source": w.source, "service": w.service, "message": w.message}
                    for w in skipped],
        "written": [{"source": w.source, "cells": w.cells} for w in written],
    }  # fmt: skip
    consolidated = run.consolidated
    if consolidated is not None:
        details["consolidated"] = consolidated.to_dict()
    problems = [f"{w.source} : {w.message}" for w in failed]
    if consolidated is not None and consolidated.status == "failed":
        problems.append(f"consolidation : {consolidated.message}")
    message = " ; ".join(problems) if problems else (
        f"{plural(counts['cells_written'], 'cellule écrite', 'cellules écrites')} dans "
        f"{plural(len(written), 'classeur')}"
        + (f", {plural(len(skipped), 'classeur laissé', 'classeurs laissés')} pour le prochain "
           "passage" if skipped else "")
    )  # fmt: skip
    return RunSummary("partial" if run.failed else "ok", counts, message, details)
