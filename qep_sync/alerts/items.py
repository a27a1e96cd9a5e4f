"""Alert items: what is due, late or wrong in the trackers, read from their computed columns.

``build_items(check, config, today, services)`` turns every source of a checked run (tables
carrying ``Table.computed``) into ``AlertItem``s. An item's identity is stable when rows move:
the source's service code, the tracker, the sheet and the row's key (N° action, Référence, N°,
Agent + Formation; Module + N° engagement + Service for self-assessments). Each item also
names its current reminder step (``J-7``, ``retard-2``…): an item × step is sent once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from qep_sync import places
from qep_sync.config import Alerts, Config, Source
from qep_sync.core.findings import Finding, Severity
from qep_sync.core.services import ServiceIndex
from qep_sync.core.validate import Table
from qep_sync.jobs.check import CheckRun, SourceRun
from qep_sync.text import clean, fold
from qep_sync.vocabulary import (
    KEY_FIELDS,
    OPEN_STATUSES,
    SERVICE_FIELD,
    AssessmentStatus,
    DocumentStatus,
    TrainingStatus,
)

# Kinds in the order digests show them, with the heading of their group.
KINDS: dict[str, str] = {
    "action": "Actions du plan d'actions",
    "reponse": "Réponses aux courriers et courriels",
    "document": "Documents à renouveler ou caducs",
    "formalisation": "Documents à formaliser",
    "formation": "Formations en retard",
    "autoevaluation": "Autoévaluations à refaire",
    "anomalie": "Anomalies à corriger",
}
# Kinds reminded before their date (J-30, J-7, J-1); the others only once late (issue 5).
UPCOMING_KINDS = {"action", "reponse", "document"}
ANOMALY_STEP = "anomalie"
# Documents reminded: dated ones (to renew, expired, valid until a date), and late drafts.
DOCUMENT_DUE = frozenset({DocumentStatus.TO_RENEW, DocumentStatus.EXPIRED, DocumentStatus.VALID,
                          DocumentStatus.DRAFTING_LATE})  # fmt: skip


@dataclass(frozen=True)
class Place:
    """Where an item's row is: the file (or Google Sheet), the sheet, the row and cell."""

    source: str  # file name (or sheet name) as reports show it
    path: str  # full path of the workbook as the server reads it
    url: str | None  # a Google Sheet's address, when the source is one
    sheet: str
    row: int | None
    cell: str = ""
    shown: str = ""  # the workbook as people reach it: display path, or the sheet's address
    link: str | None = None  # what opens it: a file: URL (places.file_url) or the https address


@dataclass(frozen=True)
class AlertItem:
    """One thing to tell someone about: a deadline (soon or past) or an anomaly to correct."""

    id: str
    kind: str
    service: str  # code of the service the row belongs to (its Service column, else the source's)
    title: str
    status: str
    due: dt.date | None
    days: int | None  # due − today in calendar days (negative when late); None for anomalies
    step: str  # J-30, J-7, J-1, retard-0, retard-1…, or « anomalie »
    place: Place
    person: str | None = None  # the row's responsible person, as written
    email: str | None = None  # the row's own address, when it has a valid one
    escalate: bool = False  # late for more than alerts.escalation_days
    severity: str = ""  # anomalies: error or warning
    central: bool = False  # from a central workbook: its keeper is the quality lead

    @property
    def late(self) -> bool:
        return self.days is not None and self.days < 0

    @property
    def step_key(self) -> str:
        """The step with the due date it counts from: a moved deadline is reminded afresh."""
        return f"{self.due.isoformat()}/{self.step}" if self.due else self.step

    @property
    def urgency(self) -> tuple[int, int]:
        """Sort key, most urgent first: the most overdue, then the soonest; anomalies last."""
        if self.days is None:
            return (1, 0 if self.severity == Severity.ERROR else 1)
        return (0, self.days)


@dataclass(frozen=True)
class _Due:
    """A row's deadline as its tracker sees it."""

    kind: str
    due: dt.date
    status: str
    title: str
    person: Any = None
    email: Any = None
    start: dt.date | None = None  # reception date, start date: no reminder step before it


def _label(*parts: Any) -> str:
    return " – ".join(clean(str(p)) for p in parts if p not in (None, ""))


class _Row:
    """A table row, with its computed values by name."""

    def __init__(self, table: Table, row: int, owned: dict[str, int]) -> None:
        self.table, self.row, self._owned = table, row, owned

    def __getitem__(self, name: str) -> Any:
        return self.table.value(self.row, name)

    def owned(self, name: str) -> Any:
        values = self.table.computed.get(self.row)
        return None if values is None or name not in self._owned else values[self._owned[name]]


def _plan_actions(r: _Row) -> _Due | None:
    status, due = r.owned("statut"), r["echeance"]
    if status not in OPEN_STATUSES["plan_actions"] or due is None:
        return None
    return _Due("action", due, status, _label(r["numero"], r["action"]), r["responsable"],
                r["email_responsable"], r["date_debut"])  # fmt: skip


def _documents(r: _Row) -> _Due | None:
    status, due = r.owned("statut"), r.owned("prochaine_echeance")
    if due is None or status not in DOCUMENT_DUE:
        return None
    kind = "formalisation" if status == DocumentStatus.DRAFTING_LATE else "document"
    return _Due(kind, due, status, _label(r["reference"], r["intitule"]), r["responsable"],
                r["email_responsable"])  # fmt: skip


def _formations(r: _Row) -> _Due | None:
    status, due = r.owned("statut"), r.owned("date_limite")
    if status != TrainingStatus.LATE or due is None:
        return None
    return _Due(
        "formation", due, status, _label(r["formation"], r["agent"]), r["agent"], r["email"]
    )


def _courriers(r: _Row) -> _Due | None:
    status, due = r.owned("statut"), r.owned("date_limite_reponse")
    if status not in OPEN_STATUSES["courriers"] or due is None:
        return None
    title = _label(_label(r["canal"], r["numero"]), r["objet"])
    return _Due("reponse", due, status, title, r["agent"], r["email"], r["date_reception"])


def _autoevaluation(r: _Row) -> _Due | None:
    status, due = r.owned("statut"), r.owned("prochaine_evaluation")
    if status != AssessmentStatus.DUE or due is None:
        return None
    title = _label(r["module"], f"engagement n° {r['engagement']}", r["intitule"])
    return _Due("autoevaluation", due, status, title, r["evaluateur"])


DEADLINES = {
    "plan_actions": _plan_actions,
    "documents": _documents,
    "formations": _formations,
    "courriers": _courriers,
    "autoevaluation": _autoevaluation,
}


def current_step(
    due: dt.date, today: dt.date, alerts: Alerts, *, upcoming: bool, start: dt.date | None = None
) -> str | None:
    """The reminder step an item is at today, or None when it is not yet time.

    Before the date: the most advanced ``J-n`` whose day has come (a first run on an item at
    J-5 sends J-7 only, not J-30 too); a step dated on or before ``start`` (a letter's
    reception) is skipped. After the date: ``retard-k``, k = days late // late_every_days.
    """
    days = (due - today).days
    if days < 0:
        every = alerts.late_every_days
        return f"retard-{(-days) // every if every else 0}"
    if not upcoming:
        return None
    reached = [
        n
        for n in alerts.reminder_days
        if days <= n and (start is None or due - dt.timedelta(days=n) > start)
    ]
    return f"J-{min(reached)}" if reached else None


def _key(table: Table, row: int) -> str | None:
    names = table.sheet.spec.key or KEY_FIELDS.get(table.tracker, ())
    parts = [table.parsed(row, n) for n in names]
    if not names or all(p is None for p in parts):
        return None
    return " / ".join("" if p is None else fold(p) for p in parts)


def _place(source: Source, config: Config, sheet: str, row: int | None, cell: str = "") -> Place:
    url = source.url  # Google Sheets sources have an address, files a path
    if source.path is None:
        return Place(source.label, url or "", url, sheet, row, cell, url or "", url)
    path = source.path
    return Place(source.label, str(path), url, sheet, row, cell, places.shown(path, config),
                 places.file_url(path, config))  # fmt: skip


def _deadline_items(
    run: SourceRun, table: Table, today: dt.date, config: Config, services: ServiceIndex
) -> Iterator[AlertItem]:
    extract = DEADLINES.get(table.tracker)
    if extract is None:
        return
    owned = {c.name: i for i, c in enumerate(table.sheet.spec.computed)}
    service_field = SERVICE_FIELD.get(table.tracker)
    source, alerts = run.source, config.alerts
    sheet = fold(table.sheet.title)
    history = table.tracker == "autoevaluation"  # a sheet may keep past assessments
    found: dict[str, tuple[_Row, _Due | None]] = {}
    for row in table.frame.index:
        r = _Row(table, int(row), owned)
        d = extract(r)
        if d is None and not history:
            continue  # most rows: nothing due, no key to fold
        item_id = (
            f"{source.service}|{table.tracker}|{sheet}|{_key(table, r.row) or f'ligne {r.row}'}"
        )
        known = found.get(item_id)
        if known is not None:
            if not history:
                continue  # a duplicate key is an anomaly of its own: one reminder
            if (r["date_evaluation"] or dt.date.min) < (known[0]["date_evaluation"] or dt.date.min):
                continue  # the latest assessment counts
        found[item_id] = (r, d)
    for item_id, (r, d) in found.items():
        if d is None:
            continue
        pause = r["ne_pas_relancer_avant"]
        if isinstance(pause, dt.date) and today < pause:
            continue  # « Ne pas relancer avant » : paused by someone on purpose
        step = current_step(d.due, today, alerts, upcoming=d.kind in UPCOMING_KINDS, start=d.start)
        if step is None:
            continue
        days = (d.due - today).days
        service = services.resolve(r[service_field] if service_field else None,
                                   ServiceIndex.default(source, table.tracker))  # fmt: skip
        yield AlertItem(
            id=item_id,
            kind=d.kind,
            service=service,
            title=d.title,
            status=d.status,
            due=d.due,
            days=days,
            step=step,
            place=_place(source, config, table.sheet.title, r.row),
            person=clean(str(d.person)) if d.person else None,
            email=str(d.email).strip() if d.email else None,
            escalate=bool(alerts.escalation_days) and -days > alerts.escalation_days,
        )


def _anomaly_items(run: SourceRun, config: Config, services: ServiceIndex) -> Iterator[AlertItem]:
    """One item per finding (and one for an unreadable source), for the sheet's service; in
    a central workbook, for the workbook itself (the quality lead keeps it, not the services
    its rows name)."""
    source = run.source
    tables = {t.sheet.title: t for t in run.tables}
    findings = list(run.report.findings)
    if run.report.error:
        findings.insert(
            0,
            Finding(source.label, source.service, "", "", "", "",
                    f"classeur non lu : {run.report.error}", Severity.ERROR),
        )  # fmt: skip
    for f in findings:
        table = tables.get(f.sheet)
        service, where = source.service, f.cell or f.sheet
        if table is not None and f.row is not None and f.row in table.positions:
            field = SERVICE_FIELD.get(table.tracker)
            if not source.central:
                service = services.resolve(table.value(f.row, field) if field else None, service)
            where = _key(table, f.row) or f"ligne {f.row}"
        identity = "\x1f".join((source.service, fold(f.sheet), where, f.column, f.message))
        digest = hashlib.sha1(identity.encode("utf-8")).hexdigest()[:20]
        yield AlertItem(
            id=f"{source.service}|anomalie|{digest}",
            kind="anomalie",
            service=service,
            title=f.message,
            status=f.severity.label,
            due=None,
            days=None,
            step=ANOMALY_STEP,
            place=_place(source, config, f.sheet, f.row, f.cell),
            severity=str(f.severity),
            central=source.central,
        )


def build_items(
    check: CheckRun, config: Config, today: dt.date, services: ServiceIndex
) -> list[AlertItem]:
    """Every item of the run whose reminder step has come, and every anomaly, most urgent first."""
    items: list[AlertItem] = []
    for run in check.sources:
        for table in run.tables:
            items.extend(_deadline_items(run, table, today, config, services))
        items.extend(_anomaly_items(run, config, services))
    items.sort(key=lambda i: (i.urgency, i.id))
    return items
