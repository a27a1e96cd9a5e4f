"""The `check` job: read every source, recognise its trackers, validate them, report.

Library entry point: ``run_check(config, today) -> CheckRun``. Nothing is written.
One source failing is recorded in the report and the others go on.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from qep_sync.backends import open_book
from qep_sync.cells import a1
from qep_sync.config import Config, Rules, Source
from qep_sync.core.compute import compute_table
from qep_sync.core.contract import Book
from qep_sync.core.detect import LayoutError, TrackerSheet, closest_tracker, layout, recognise
from qep_sync.core.findings import Finding, Report, Severity, SheetSummary, SourceReport
from qep_sync.core.parsing import blank_row
from qep_sync.core.services import UNASSIGNED, ServiceIndex
from qep_sync.core.specs import TrackerSpec, load_specs
from qep_sync.core.spill import Spill
from qep_sync.core.validate import Table, validate_sheet
from qep_sync.errors import STOPS_THE_RUN, SourceError, unexpected
from qep_sync.jobs.heap import long_lived_run, settle
from qep_sync.vocabulary import SERVICE_FIELD
from qep_sync.workdays import WorkingCalendar, calendar_of

Progress = Callable[[int, int, Source], None]
log = logging.getLogger(__name__)
# What the checks across sources read of a table (_engagements_listed, _services_named).
CROSS_CHECKED = frozenset({"engagement", *SERVICE_FIELD.values()})


@dataclass
class SourceRun:
    """One source after reading and validation."""

    source: Source
    report: SourceReport
    book: Book | None = None
    tables: list[Table] = field(default_factory=list)
    # The source as read: a file's modification time and size, a Google Sheet's
    # modification time (None when unknown); what tells a sync the workspace is as it was.
    stamp: str | None = None
    # Where park sets the tables' values aside (the run's scratch file), None: in memory.
    spill: Spill | None = field(default=None, repr=False, compare=False)

    def compute(self, today: dt.date, rules: Rules, cal: WorkingCalendar) -> None:
        """Fill each table's owned columns for ``today``; a table already computed is kept."""
        for table in self.tables:
            if len(table.computed) != len(table.positions):
                table.computed = compute_table(table, today, rules, cal)

    def park(self, keep: frozenset[str] = CROSS_CHECKED) -> None:
        """Set every table's values aside, compressed, but the fields in ``keep``
        (``Table.park``): by default what the checks across sources still read."""
        for table in self.tables:
            table.park(keep, self.spill)

    def unpark(self) -> None:
        """Bring every table's values back, before they are used."""
        for table in self.tables:
            table.unpark()


@dataclass
class CheckRun:
    report: Report
    sources: list[SourceRun]
    specs: dict[str, TrackerSpec]
    services: ServiceIndex = field(default_factory=lambda: ServiceIndex(()))
    whole: bool = True  # every table kept whole (False: a report's check, ``tables=False``)

    def tables(self, tracker: str) -> list[Table]:
        return [t for s in self.sources for t in s.tables if t.tracker == tracker]

    def compute(self, today: dt.date, config: Config) -> None:
        """The owned columns of every source, where they are not computed yet."""
        cal = calendar_of(config)
        for run in self.sources:
            run.compute(today, config.rules, cal)

    def unpark(self) -> None:
        """Bring back the values of every source parked (``SourceRun.park``)."""
        for run in self.sources:
            run.unpark()


def read_source(
    source: Source,
    specs: dict[str, TrackerSpec],
    today: dt.date,
    config: Config,
    *,
    for_writing: bool = True,
) -> SourceRun:
    """Read and validate one source; whatever stops it becomes the report's error for it.

    A SourceError carries its French reason; anything else (a library's own failure) is
    logged with its traceback and reported as an unexpected error of that source alone.
    ``for_writing``: keep what writing the owned cells back needs (not for a report).
    """
    try:
        return _read_and_validate(source, specs, today, config, for_writing)
    except BaseException as exc:
        if isinstance(exc, STOPS_THE_RUN):
            raise
        log.error("reading %s failed", source.label, exc_info=True)
        report = SourceReport(source=source.label, service=source.service, name=source.name)
        report.error = unexpected(exc)
        return SourceRun(source, report)


def _read_and_validate(
    source: Source,
    specs: dict[str, TrackerSpec],
    today: dt.date,
    config: Config,
    for_writing: bool,
) -> SourceRun:
    report = SourceReport(source=source.label, service=source.service, name=source.name)
    run = SourceRun(source, report)
    try:
        workbook = open_book(source, config)
    except SourceError as exc:
        report.error = exc.reason
        return run
    run.book = workbook
    run.stamp = _stamp_of(workbook)
    for title in source.sheets:
        if title not in {s.title for s in workbook.sheets}:
            report.error = f"onglet « {title} » (indiqué dans la configuration) absent du classeur"
            return run
    recognised = 0
    for sheet in workbook.sheets:
        spec = recognise(sheet, specs, source.sheets.get(sheet.title))
        if spec is None:
            continue
        recognised += 1
        try:
            ts = layout(spec, sheet)
        except LayoutError as exc:
            report.findings.append(
                Finding(
                    source.label,
                    source.service,
                    sheet.title,
                    exc.cell,
                    "",
                    "",
                    str(exc),
                    Severity.ERROR,
                    tracker=spec.name,
                )
            )
            continue
        percent = workbook.percent_cells(sheet) if _needs_percent(ts) else set()
        table = validate_sheet(ts, source.label, source.service, today, percent)
        run.tables.append(table)
        report.findings.extend(table.findings)
        report.sheets.append(SheetSummary(sheet.title, spec.name, ts.header_row, len(ts.rows)))
    if recognised == 0:
        titles = ", ".join(f"« {s.title} »" for s in workbook.sheets)
        if all(blank_row(row) for s in workbook.sheets for row in s.rows):
            report.error = "classeur vide : aucun tableau de suivi à lire"
        else:
            near = closest_tracker(workbook.sheets, specs)
            hint = f" ; {near.describe()}" if near else ""
            report.error = (
                f"aucun onglet de suivi reconnu (onglets : {titles}){hint} ; nommez l'onglet comme "
                "le suivi (par exemple « Plan d'actions »), complétez son en-tête ou indiquez-le "
                "dans la configuration (sources.sheets)"
            )
    _free_rows(run, for_writing)
    return run


def _stamp_of(book: Book) -> str | None:
    """A book's stamp as read (never as it is now: a save after the read is not in this
    run's figures)."""
    mtime_ns, size = getattr(book, "mtime_ns", None), getattr(book, "size", None)
    if mtime_ns is not None:
        return f"{mtime_ns}:{size}"
    moment = book.last_change()
    return moment.isoformat() if moment is not None else None


def _free_rows(run: SourceRun, for_writing: bool) -> None:
    """Keep what write-back needs (``for_writing``: a report needs none of it) and let the
    raw rows go: memory stays flat with sources."""
    for table in run.tables:
        if for_writing:
            table.sheet.keep()
        table.sheet.rows = []
    if run.book is not None:
        for sheet in run.book.sheets:
            sheet.rows = []


def _slim(run: SourceRun) -> None:
    """Keep of a source read for a report only what the checks across sources need: its
    findings, and of each table its rows and the fields those checks read."""
    run.book = None
    for table in run.tables:
        table.columns = {k: v for k, v in table.columns.items() if k in CROSS_CHECKED}
        table.measures = {}
        table.sheet.kept = None


def _needs_percent(ts: TrackerSheet) -> bool:
    """Whether a sheet's percent-formatted cells can change how it parses, so that the backend
    is asked for them (it may have to read the sheet's XML again to say which they are).

    Only a number or a text in a percent or measure field can read differently when its
    cell is formatted as a percentage (docs/contract.md §3.1 rule 10); an absent or empty
    column, dates and booleans cannot.
    """
    for f in ts.spec.fields:
        col = ts.columns.get(f.name)
        if col is None or f.format not in ("percent", "measure"):
            continue
        for _, cells in ts.rows:
            value = cells[col] if col < len(cells) else None
            if type(value) in (int, float) or (type(value) is str and value):
                return True
    return False


def _warn(run: SourceRun, table: Table, row: int, name: str, message: str) -> None:
    """A warning on one cell of a table, found once every source is read."""
    sheet = table.sheet
    value = table.value(row, name)
    finding = Finding(
        run.source.label,
        run.source.service,
        sheet.title,
        a1(row, sheet.columns[name]),
        sheet.headers[name],
        "" if value is None else str(value),
        f"{sheet.headers[name]} : {message}",
        Severity.WARNING,
        row,
        table.tracker,
    )
    table.findings.append(finding)
    run.report.findings.append(finding)


def _engagements_listed(run: CheckRun) -> None:
    """Warn about action-plan engagement numbers that no self-assessment lists (docs/contract.md §3.1.12)."""
    listed = {number for t in run.tables("autoevaluation") for number in t.values("engagement")}
    listed.discard(None)
    if not listed:
        return
    for source in run.sources:
        for table in source.tables:
            if table.tracker != "plan_actions" or "engagement" not in table.sheet.columns:
                continue
            for row, number in zip(table.positions, table.values("engagement"), strict=True):
                if number is not None and number not in listed:
                    _warn(source, table, row, "engagement",
                          f"l'engagement n° {number} ne figure dans aucune autoévaluation")  # fmt: skip


def _services_named(run: CheckRun) -> None:
    """Warn about Service cells that name no known service: the row counts under « Non
    attribué » (docs/contract.md §4), and so does an empty one in a central workbook."""
    for source in run.sources:
        for table in source.tables:
            name = SERVICE_FIELD.get(table.tracker)
            if name is None or name not in table.sheet.columns:
                continue  # no Service column: the rows count under the source's own service
            empty_unassigned = ServiceIndex.default(source.source, table.tracker) == UNASSIGNED
            texts = table.values(name)
            # A column names few services, on many rows: each distinct text is judged once.
            messages = {text: _service_warning(run.services, text, empty_unassigned)
                        for text in dict.fromkeys(texts)}  # fmt: skip
            for row, text in zip(table.positions, texts, strict=True):
                message = messages[text]
                if message is not None:
                    _warn(source, table, row, name, message)


def _service_warning(services: ServiceIndex, text: Any, empty_unassigned: bool) -> str | None:
    """The warning a Service cell gets, if any (see _services_named)."""
    if text is None or not str(text).strip():
        if not empty_unassigned:
            return None
        return f"service non renseigné : la ligne est comptée dans « {UNASSIGNED} » ; indiquez le service"
    if services.known(text) is not None:
        return None
    return (f"service inconnu « {text} » : la ligne est comptée dans « {UNASSIGNED} » ; indiquez "
            "le code ou le nom d'un service de la configuration ou de l'onglet Correspondants")  # fmt: skip


def run_check(
    config: Config,
    today: dt.date,
    specs: dict[str, TrackerSpec] | None = None,
    progress: Progress | None = None,
    *,
    tables: bool = True,
    park: bool = False,
) -> CheckRun:
    """Read and validate every source of the config.

    ``tables``: keep every source's tables whole, for what sync, alerts and the deliverables
    do with them. False (the check command, which only reports) keeps of each source what
    the checks across sources read (``_slim``): memory then stays flat as sources are added.

    ``park`` (with ``tables``): each source's tables are parked as soon as it is read
    (``SourceRun.park``), all but the fields the checks across sources read set aside
    compressed into the run's scratch file (``core.spill``), so that memory grows by little
    per source. The caller unparks a source before it uses its tables (sync does, one
    source at a time).
    """
    with long_lived_run():
        return _run_check(config, today, specs, progress, tables, park)


def _run_check(
    config: Config,
    today: dt.date,
    specs: dict[str, TrackerSpec] | None,
    progress: Progress | None,
    tables: bool,
    park: bool,
) -> CheckRun:
    specs = specs or load_specs(config.schemas_dir)
    report = Report(today=today)
    runs = []
    spill = Spill() if tables and park else None  # the parked values, on disk
    for i, source in enumerate(config.sources):
        if progress:
            progress(i, len(config.sources), source)
        run = read_source(source, specs, today, config, for_writing=tables)
        if not tables:
            _slim(run)
        elif park:
            run.spill = spill
            run.park()
        runs.append(run)
        settle()  # its tables live to the end of the run
        report.sources.append(run.report)
    named = [text for s in runs for t in s.tables if t.tracker == "correspondants"
             for text in t.values("service")]  # fmt: skip
    result = CheckRun(report, runs, specs, ServiceIndex(config.sources, named), whole=tables)
    _engagements_listed(result)
    if config.consolidated is not None:  # a quick look at files knows no service but theirs
        _services_named(result)
    return result
