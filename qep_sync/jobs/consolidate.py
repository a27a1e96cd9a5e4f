"""The quality lead's consolidated view (docs/contract.md §4), as plain data: six tables and two charts.

``consolidate(check, today) -> Summary`` turns a checked run, whose tables carry their computed
columns (``sync_source`` fills ``Table.computed``), into one table per sheet. The workbook
itself is written by ``backends/xlsx_summary.py``.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from qep_sync.clock import PARIS
from qep_sync.core.findings import Severity
from qep_sync.core.services import ServiceIndex
from qep_sync.core.validate import Table
from qep_sync.jobs.check import CheckRun, SourceRun
from qep_sync.text import fold
from qep_sync.vocabulary import (
    CANALS,
    EVALUATED_LEVELS,
    OPEN_STATUSES,
    SERVICE_FIELD,
    YES,
    ActionStatus,
    DocumentStatus,
    Level,
    ReplyStatus,
    TrainingStatus,
)

HORIZON_DAYS = 30  # Échéances lists what is late or due within this many days
SHEETS = ("Synthèse", "Engagements", "Délais", "Indicateurs", "Échéances", "Anomalies")
# Échéances: the kind of each line, in the order of a day's lines, and its tracker.
KINDS = {"action": "plan_actions", "document": "documents", "formation": "formations",
         "réponse": "courriers", "autoévaluation": "autoevaluation"}  # fmt: skip


# ---------------------------------------------------------------- the summary, as plain data


class Percentage(float):
    """A number to show as a percentage in a column that also holds plain numbers."""


@dataclass(frozen=True)
class Column:
    """A column of a summary table. ``kind``: text, int, number, percent, date, month, datetime.

    ``colour``: ``status`` (cells coloured by their text), ``alarm`` (red when > 0),
    ``watch`` (orange when > 0), ``days`` (red when < 0).
    """

    title: str
    kind: str = "text"
    width: float | None = None
    colour: str | None = None


@dataclass(frozen=True)
class Chart:
    """A bar chart of one column of a table, one bar per row (the total row left out)."""

    title: str
    value_column: int
    category_column: int = 0


@dataclass
class SummaryTable:
    """One sheet of the consolidated view."""

    title: str
    heading: str
    note: str
    columns: list[Column]
    rows: list[list[Any]]
    total: list[Any] | None = None
    frozen_columns: int = 1
    charts: list[Chart] = field(default_factory=list)


@dataclass
class Summary:
    today: dt.date
    tables: list[SummaryTable]

    def table(self, title: str) -> SummaryTable:
        return next(t for t in self.tables if t.title == title)


# ---------------------------------------------------------------- reading the run


@dataclass
class _Service:
    code: str
    name: str
    run: SourceRun | None  # the service's own source, if the config names one
    contributors: dict[str, SourceRun] = field(default_factory=dict)  # by source service code


class _Services:
    """The services of the run: each source's, plus any named only in a row's Service column."""

    def __init__(self, runs: Iterable[SourceRun]) -> None:
        runs = list(runs)
        self.index = ServiceIndex(run.source for run in runs)
        self.by_code: dict[str, _Service] = {}
        for run in runs:
            code = run.source.service
            self.by_code[code] = _Service(code, run.source.name, run)

    def resolve(self, text: Any, default: str) -> str:
        """The service a row belongs to: its Service cell (code or name) when filled."""
        code = self.index.resolve(text, default)
        if code not in self.by_code:
            self.by_code[code] = _Service(code, "", None)
        return code

    def ordered(self) -> list[_Service]:
        """Services with a source of their own in config order, then the others by name."""
        own = [s for s in self.by_code.values() if s.run is not None]
        others = sorted(
            (s for s in self.by_code.values() if s.run is None), key=lambda s: fold(s.code)
        )
        return own + others

    def rank(self) -> dict[str, int]:
        return {s.code: i for i, s in enumerate(self.ordered())}


class _View:
    """One tracker sheet as plain column lists, each row attributed to its service."""

    def __init__(self, run: SourceRun, table: Table, services: _Services) -> None:
        self.run = run
        self.table = table
        self.rows: list[int] = [int(r) for r in table.frame.index]
        self._owned = [c.name for c in table.sheet.spec.computed]
        default = run.source.service
        name = SERVICE_FIELD.get(table.tracker)
        raw = self.field(name) if name else [None] * len(self.rows)
        self.services = [services.resolve(v, default) for v in raw]
        for code in set(self.services):
            services.by_code[code].contributors.setdefault(run.source.service, run)
        self._by_row: dict[int, str] | None = None

    @property
    def tracker(self) -> str:
        return self.table.tracker

    @property
    def file(self) -> str:
        return self.run.source.label

    @property
    def sheet(self) -> str:
        return self.table.sheet.title

    def field(self, name: str) -> list[Any]:
        """A user field in row order: None where empty, absent or invalid."""
        frame = self.table.frame
        if name not in frame.columns:
            return [None] * len(self.rows)
        values = [None if _missing(v) else v for v in frame[name].tolist()]
        bad = {row for row, f in self.table.invalid if f == name}
        if bad:
            values = [None if r in bad else v for r, v in zip(self.rows, values, strict=True)]
        return values

    def owned(self, name: str) -> list[Any]:
        """A computed column in row order (None when sync has not computed it)."""
        if name not in self._owned:
            return [None] * len(self.rows)
        i = self._owned.index(name)
        computed = self.table.computed
        return [computed[r][i] if r in computed else None for r in self.rows]

    def service_of(self, row: int | None) -> str | None:
        if row is None:
            return None
        if self._by_row is None:
            self._by_row = dict(zip(self.rows, self.services, strict=True))
        return self._by_row.get(row)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


@dataclass
class _Stats:
    """The figures of one service's line in Synthèse."""

    errors: int = 0
    warnings: int = 0
    actions_late: int = 0
    documents_expired: int = 0
    documents_expiring: int = 0
    formalisation_late: int = 0
    replies_answered: int = 0
    replies_on_time: int = 0
    replies_late: int = 0
    trainings_late: int = 0
    engagements_evaluated: int = 0
    engagements_compliant: int = 0

    def add(self, other: _Stats) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class _Assessment:
    """The latest self-assessment of one engagement by one service."""

    service: str
    module: str
    number: int
    title: str | None
    level: str
    evaluated: dt.date | None
    next_due: dt.date | None
    status: str | None
    evaluator: str | None
    view: _View
    row: int


@dataclass
class _Run:
    """Everything read from the run that the sheets need."""

    today: dt.date
    services: _Services
    views: list[_View]
    stats: defaultdict[str, _Stats]
    assessments: list[_Assessment]

    def of(self, tracker: str) -> Iterator[_View]:
        return (v for v in self.views if v.tracker == tracker)


def _read_run(check: CheckRun, today: dt.date) -> _Run:
    services = _Services(check.sources)
    views = [
        _View(run, table, services)
        for run in check.sources
        for table in run.tables
        if table.tracker in SERVICE_FIELD
    ]
    data = _Run(today, services, views, defaultdict(_Stats), [])
    data.assessments = _latest_assessments(data)
    _count_statuses(data)
    return data


def _latest_assessments(data: _Run) -> list[_Assessment]:
    """One assessment per service, module and engagement: the latest (a sheet may keep history)."""
    latest: dict[tuple[str, str, int], _Assessment] = {}
    for v in data.of("autoevaluation"):
        columns = zip(v.rows, v.services, v.field("module"), v.field("engagement"),
                      v.field("intitule"), v.field("niveau"), v.field("date_evaluation"),
                      v.owned("prochaine_evaluation"), v.owned("statut"), v.field("evaluateur"),
                      strict=True)  # fmt: skip
        for row, service, module, number, title, level, when, due, status, who in columns:
            if module is None or number is None or level is None:
                continue  # an error of the sheet, listed in Anomalies
            key = (service, fold(module), int(number))
            known = latest.get(key)
            if known is not None and (when or dt.date.min) < (known.evaluated or dt.date.min):
                continue
            latest[key] = _Assessment(service, str(module), int(number), title, level, when,
                                      due, status, who, v, row)  # fmt: skip
    return list(latest.values())


def _count_statuses(data: _Run) -> None:
    stats = data.stats
    for v in data.of("plan_actions"):
        for service, status in zip(v.services, v.owned("statut"), strict=True):
            stats[service].actions_late += status == ActionStatus.LATE
    for v in data.of("documents"):
        for service, status in zip(v.services, v.owned("statut"), strict=True):
            if status == DocumentStatus.EXPIRED:
                stats[service].documents_expired += 1
            elif status == DocumentStatus.TO_RENEW:
                stats[service].documents_expiring += 1
            elif status == DocumentStatus.DRAFTING_LATE:
                stats[service].formalisation_late += 1
    for v in data.of("formations"):
        for service, status in zip(v.services, v.owned("statut"), strict=True):
            stats[service].trainings_late += status == TrainingStatus.LATE
    for v in data.of("courriers"):
        columns = zip(v.services, v.owned("dans_le_delai"), v.owned("statut"), strict=True)
        for service, on_time, status in columns:
            if on_time is not None:
                stats[service].replies_answered += 1
                stats[service].replies_on_time += on_time == YES
            elif status == ReplyStatus.LATE:
                stats[service].replies_late += 1
    for a in data.assessments:
        if a.level in EVALUATED_LEVELS:
            stats[a.service].engagements_evaluated += 1
            stats[a.service].engagements_compliant += a.level == Level.COMPLIANT


# ---------------------------------------------------------------- the six tables


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _paris(mtime_ns: int) -> dt.datetime:
    """A file time as Paris wall-clock time (Excel dates carry no time zone)."""
    moment = dt.datetime.fromtimestamp(mtime_ns / 1e9, tz=PARIS)
    return moment.replace(tzinfo=None, microsecond=0)


def _last_change(run: SourceRun) -> dt.datetime | None:
    if run.book is not None:
        moment = run.book.last_change()
        return moment.astimezone(PARIS).replace(tzinfo=None, microsecond=0) if moment else None
    if run.source.xlsx is None:
        return None
    try:
        return _paris(run.source.xlsx.stat().st_mtime_ns)
    except OSError:
        return None


def _source_status(run: SourceRun) -> str:
    return f"illisible : {run.report.error}" if run.report.error else "lue"


def _synthese(data: _Run, heading: str) -> SummaryTable:
    columns = [
        Column("Service", width=14), Column("Intitulé", width=40),
        Column("Erreurs", "int", colour="alarm"), Column("Avertissements", "int", colour="watch"),
        Column("Actions en retard", "int", colour="alarm"),
        Column("Documents caducs", "int", colour="alarm"),
        Column("Documents à renouveler", "int", colour="watch"),
        Column("Formalisation en retard", "int", colour="alarm"),
        Column("Courriers répondus", "int"), Column("Réponses dans le délai", "percent"),
        Column("Réponses en retard", "int", colour="alarm"),
        Column("Formations en retard", "int", colour="alarm"),
        Column("Engagements évalués", "int"), Column("Engagements conformes", "percent"),
        Column("Fichier", width=30), Column("Dernière modification", "datetime"),
        Column("État de la source", width=40),
    ]  # fmt: skip
    rows: list[list[Any]] = []
    total = _Stats()
    for service in data.services.ordered():
        s = data.stats[service.code]
        total.add(s)
        runs = [service.run] if service.run else list(service.contributors.values())
        changes = [c for c in (_last_change(r) for r in runs) if c is not None]
        rows.append([
            service.code, service.name, *_figures(s),
            ", ".join(r.source.label for r in runs), max(changes, default=None),
            _source_status(service.run) if service.run else "lue",
        ])  # fmt: skip
    failed = sum(1 for s in data.services.by_code.values() if s.run and s.run.report.error)
    files = sum(1 for s in data.services.by_code.values() if s.run)
    total_row = ["Total", f"{len(rows)} services", *_figures(total), f"{files} classeurs", None,
                 f"{failed} illisible(s)" if failed else "toutes lues"]  # fmt: skip
    note = ("Une ligne par service. Les lignes d'un classeur central sont comptées au service "
            "indiqué dans leur colonne Service (ou Service pilote).")  # fmt: skip
    charts = [Chart("Réponses dans le délai par service", 9),
              Chart("Engagements conformes par service", 13)]  # fmt: skip
    return SummaryTable("Synthèse", heading, note, columns, rows, total_row, 1, charts)


def _figures(s: _Stats) -> list[Any]:
    return [
        s.errors, s.warnings, s.actions_late, s.documents_expired, s.documents_expiring,
        s.formalisation_late, s.replies_answered, _ratio(s.replies_on_time, s.replies_answered),
        s.replies_late, s.trainings_late, s.engagements_evaluated,
        _ratio(s.engagements_compliant, s.engagements_evaluated),
    ]  # fmt: skip


def consolidated_level(levels: Iterable[str]) -> str:
    """The worst evaluated level; Non évalué if none is evaluated, Non applicable if all are."""
    levels = list(levels)
    for level in EVALUATED_LEVELS:
        if level in levels:
            return level
    if levels and all(level == Level.NOT_APPLICABLE for level in levels):
        return Level.NOT_APPLICABLE
    return Level.NOT_ASSESSED


def _engagements(data: _Run, heading: str) -> SummaryTable:
    rank = data.services.rank()
    codes = sorted({a.service for a in data.assessments}, key=rank.__getitem__)
    engagements: dict[tuple[str, int], dict[str, Any]] = {}
    for a in data.assessments:
        entry = engagements.setdefault(
            (fold(a.module), a.number), {"module": a.module, "title": None, "levels": {}}
        )
        entry["title"] = entry["title"] or a.title
        entry["levels"][a.service] = a.level
    rows = []
    for (_, number), entry in sorted(engagements.items()):
        levels: dict[str, str] = entry["levels"]
        rows.append([entry["module"], number, entry["title"],
                     consolidated_level(levels.values()),
                     sum(1 for lv in levels.values() if lv == Level.COMPLIANT),
                     sum(1 for lv in levels.values() if lv in EVALUATED_LEVELS),
                     *(levels.get(code) for code in codes)])  # fmt: skip
    columns = [
        Column("Module", width=30), Column("N°", "int", width=6),
        Column("Engagement", width=50), Column("Niveau consolidé", width=22, colour="status"),
        Column("Services conformes", "int"), Column("Services évalués", "int"),
        *(Column(code, width=max(14.0, len(code) + 2.0), colour="status") for code in codes),
    ]  # fmt: skip
    note = ("Dernière autoévaluation de chaque service ; niveau consolidé = le plus faible des "
            "niveaux évalués (Non conforme < Partiellement conforme < Conforme).")  # fmt: skip
    return SummaryTable("Engagements", heading, note, columns, rows, frozen_columns=4)


def _delais(data: _Run, heading: str) -> SummaryTable:
    groups: dict[tuple[str, str, dt.date], dict[str, Any]] = {}
    for v in data.of("courriers"):
        letters = zip(v.services, v.field("canal"), v.field("date_reception"),
                      v.owned("delai_jours_ouvres"), v.owned("dans_le_delai"), v.owned("statut"),
                      strict=True)  # fmt: skip
        for service, canal, received, delay, on_time, status in letters:
            if canal is None or received is None:
                continue  # an error of the sheet, listed in Anomalies
            g = groups.setdefault((service, canal, received.replace(day=1)),
                                  {"received": 0, "on_time": 0, "delays": [], "late": 0,
                                   "waiting": 0})  # fmt: skip
            g["received"] += 1
            if on_time is not None:
                g["delays"].append(delay)
                g["on_time"] += on_time == YES
            elif status == ReplyStatus.LATE:
                g["late"] += 1
            elif status == ReplyStatus.WAITING:
                g["waiting"] += 1
    rank = data.services.rank()
    canal_rank = {c: i for i, c in enumerate(CANALS)}
    rows = []
    for (service, canal, month), g in sorted(
        groups.items(), key=lambda i: (rank[i[0][0]], canal_rank.get(i[0][1], 99), i[0][1], i[0][2])
    ):
        answered = len(g["delays"])
        delays = [d for d in g["delays"] if d is not None]
        median = statistics.median(delays) if delays else None
        rows.append([service, canal, month, g["received"], answered, g["on_time"],
                     _ratio(g["on_time"], answered), median, g["late"], g["waiting"]])  # fmt: skip
    columns = [
        Column("Service", width=14), Column("Canal", width=14), Column("Mois", "month"),
        Column("Reçus", "int"), Column("Répondus", "int"), Column("Répondus dans le délai", "int"),
        Column("% dans le délai", "percent"), Column("Délai médian (jours ouvrés)", "number"),
        Column("En retard (sans réponse)", "int", colour="alarm"),
        Column("En attente", "int"),
    ]  # fmt: skip
    note = ("Par mois de réception. Délai en jours ouvrés après la réception ; en retard : sans "
            "réponse après la date limite.")  # fmt: skip
    return SummaryTable("Délais", heading, note, columns, rows, frozen_columns=3)


def _indicateurs(data: _Run, heading: str) -> SummaryTable:
    rank = data.services.rank()
    rows = []
    for v in data.of("indicateurs"):
        measures = v.table.measures
        fields = [v.field(n) for n in ("indicateur", "periode", "valeur", "cible", "sens", "unite")]
        owned = [v.owned("ecart"), v.owned("atteint"), v.field("source")]
        lines = zip(v.rows, v.services, *fields, *owned, strict=True)
        for row, service, name, period, value, target, sense, unit, gap, reached, origin in lines:
            value_pct = _is_percent(measures.get((row, "valeur")))
            target_pct = _is_percent(measures.get((row, "cible")))
            rows.append([service, name, period, _shown(value, value_pct),
                         _shown(target, target_pct), sense, unit,
                         _shown(gap, value_pct and target_pct), reached, origin,
                         v.file, v.sheet, row])  # fmt: skip
    rows.sort(key=lambda r: (rank[r[0]], fold(r[1] or ""), r[2] or dt.date.min))
    columns = [
        Column("Service", width=14), Column("Indicateur", width=45), Column("Période", "month"),
        Column("Valeur", "number"), Column("Cible", "number"), Column("Sens", width=6),
        Column("Unité", width=10), Column("Écart", "number"),
        Column("Atteint", width=9, colour="status"), Column("Source", width=10),
        Column("Fichier", width=24), Column("Onglet", width=16), Column("Ligne", "int", width=7),
    ]  # fmt: skip
    note = (
        "Écart = Valeur − Cible, dans l'unité des valeurs ; Atteint selon le sens (≥ par défaut)."
    )
    return SummaryTable("Indicateurs", heading, note, columns, rows, frozen_columns=2)


def _is_percent(measure: Any) -> bool:
    return bool(getattr(measure, "percent", False))


def _shown(value: Any, percent: bool) -> Any:
    return Percentage(value) if percent and isinstance(value, int | float) else value


def _label(*parts: Any) -> str:
    return " – ".join(str(p) for p in parts if p not in (None, ""))


def _echeances(data: _Run, heading: str) -> SummaryTable:
    """Every open item late or due within HORIZON_DAYS, soonest first, with its place."""
    items: list[list[Any]] = []
    horizon = data.today + dt.timedelta(days=HORIZON_DAYS)

    def add(kind: str, v: _View, row: int, service: str, label: str, due: Any, status: Any,
            who: Any) -> None:  # fmt: skip
        if due is None or due > horizon or status not in OPEN_STATUSES[KINDS[kind]]:
            return
        items.append([due, (due - data.today).days, kind, service, label, who, status,
                      v.file, v.sheet, row])  # fmt: skip

    for v in data.of("plan_actions"):
        for row, svc, num, action, who, due, status in zip(
            v.rows, v.services, v.field("numero"), v.field("action"), v.field("responsable"),
            v.field("echeance"), v.owned("statut"), strict=True,
        ):  # fmt: skip
            add("action", v, row, svc, _label(num, action), due, status, who)
    for v in data.of("documents"):
        for row, svc, ref, title, who, due, status in zip(
            v.rows, v.services, v.field("reference"), v.field("intitule"),
            v.field("responsable"), v.owned("prochaine_echeance"), v.owned("statut"), strict=True,
        ):  # fmt: skip
            add("document", v, row, svc, _label(ref, title), due, status, who)
    for v in data.of("formations"):
        for row, svc, agent, training, due, status in zip(
            v.rows, v.services, v.field("agent"), v.field("formation"), v.owned("date_limite"),
            v.owned("statut"), strict=True,
        ):  # fmt: skip
            add("formation", v, row, svc, _label(training, agent), due, status, agent)
    for v in data.of("courriers"):
        for row, svc, num, canal, subject, who, due, status in zip(
            v.rows, v.services, v.field("numero"), v.field("canal"), v.field("objet"),
            v.field("agent"), v.owned("date_limite_reponse"), v.owned("statut"), strict=True,
        ):  # fmt: skip
            add("réponse", v, row, svc, _label(_label(canal, num), subject), due, status, who)
    for a in data.assessments:
        label = _label(a.module, f"engagement n° {a.number}", a.title)
        add("autoévaluation", a.view, a.row, a.service, label, a.next_due, a.status, a.evaluator)
    rank = data.services.rank()
    kind_rank = {k: i for i, k in enumerate(KINDS)}
    items.sort(key=lambda i: (i[0], kind_rank[i[2]], rank[i[3]], i[7], i[8], i[9]))
    columns = [
        Column("Échéance", "date"), Column("Jours restants", "int", colour="days"),
        Column("Type", width=15), Column("Service", width=14), Column("Objet", width=55),
        Column("Responsable", width=22), Column("Statut", width=24, colour="status"),
        Column("Fichier", width=24), Column("Onglet", width=16), Column("Ligne", "int", width=7),
    ]  # fmt: skip
    note = (
        f"Tout ce qui est en retard ou arrive à échéance d'ici {HORIZON_DAYS} jours, le plus "
        "proche d'abord ; Fichier, Onglet et Ligne mènent à la ligne d'origine."
    )
    return SummaryTable("Échéances", heading, note, columns, items, frozen_columns=1)


def _anomalies(check: CheckRun, data: _Run, heading: str) -> SummaryTable:
    """Every finding of the run, attributed like Synthèse counts it, plus unreadable sources."""
    views = {(v.run.source.service, v.sheet): v for v in data.views}
    rows: list[list[Any]] = []
    for run in check.sources:
        label = run.source.label
        if run.report.error:
            rows.append([run.source.service, label, None, None, None, None,
                         f"classeur non lu : {run.report.error}", Severity.ERROR.label])  # fmt: skip
        for f in run.report.findings:
            view = views.get((run.source.service, f.sheet))
            service = (view.service_of(f.row) if view else None) or run.source.service
            stats = data.stats[service]
            if f.severity is Severity.ERROR:
                stats.errors += 1
            else:
                stats.warnings += 1
            severity = f.severity.label
            rows.append([service, label, f.sheet or None, f.cell or None, f.column or None,
                         f.value or None, f.message, severity])  # fmt: skip
    columns = [
        Column("Service", width=14), Column("Fichier", width=24), Column("Onglet", width=16),
        Column("Cellule", width=8), Column("Colonne", width=20), Column("Valeur", width=20),
        Column("Message", width=80), Column("Gravité", width=14, colour="status"),
    ]  # fmt: skip
    note = "Chaque anomalie relevée dans les classeurs, avec sa cellule, à corriger à la source."
    return SummaryTable("Anomalies", heading, note, columns, rows, frozen_columns=1)


def consolidate(check: CheckRun, today: dt.date, generated: dt.datetime | None = None) -> Summary:
    """The six tables of the consolidated view, from a run whose tables carry computed values."""
    data = _read_run(check, today)
    when = f"situation au {today:%d/%m/%Y}"
    if generated is not None:
        when += f", générée le {generated:%d/%m/%Y à %H:%M}"
    anomalies = _anomalies(check, data, f"Anomalies – {when}")  # counts errors in data.stats
    tables = [
        _synthese(data, f"Consolidation qualité – {when}"),
        _engagements(data, f"Engagements – {when}"),
        _delais(data, f"Délais de réponse – {when}"),
        _indicateurs(data, f"Indicateurs – {when}"),
        _echeances(data, f"Échéances – {when}"),
        anomalies,
    ]
    return Summary(today, tables)
