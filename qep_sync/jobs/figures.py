"""The figures of a checked run, service by service: each tracker row attributed to its service,
the counts of Synthèse, the latest self-assessment of each engagement.

``read_figures(check, today)`` reads the run's tables (their user fields and the computed
columns that ``sync`` filled) once; ``consolidate`` builds its tables from what it returns.
``sync`` gathers them source by source instead (``Gathered``), as it writes each one, so that
it can let each source's tables go: the view then reads only what was gathered.
"""

from __future__ import annotations

import datetime as dt
import pickle
from array import array
from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, overload

from qep_sync.cells import a1
from qep_sync.core.services import ALL_SERVICES, UNASSIGNED, ServiceIndex
from qep_sync.core.spill import Spill, Spilled
from qep_sync.core.validate import RowPositions, Table
from qep_sync.jobs.check import CheckRun, SourceRun
from qep_sync.text import fold
from qep_sync.vocabulary import (
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

INVALID_LEVEL = "Niveau à corriger"  # a level that is missing or none of the allowed ones
folded = lru_cache(maxsize=4096)(fold)  # ``fold`` of the names that repeat over the rows


@dataclass
class ServiceEntry:
    code: str
    name: str
    run: SourceRun | None  # the service's own source, if the config names one
    contributors: dict[str, SourceRun] = field(default_factory=dict)  # by source service code


class Services:
    """The services of the run (core.services): the known ones, in order, then « Non
    attribué » and « Tous services » when rows count there."""

    def __init__(self, check: CheckRun) -> None:
        self.index = check.services
        own = {run.source.service: run for run in check.sources if not run.source.central}
        self.by_code: dict[str, ServiceEntry] = {
            code: ServiceEntry(code, self.index.name(code), own.get(code))
            for code in self.index.codes
        }

    def resolve(self, text: Any, default: str) -> str:
        """The service a row belongs to: its Service cell (code or name) when filled."""
        code = self.index.resolve(text, default)
        if code not in self.by_code:  # UNASSIGNED or ALL_SERVICES
            self.by_code[code] = ServiceEntry(code, code, None)
        return code

    def ordered(self) -> list[ServiceEntry]:
        """The known services (sources in config order, then Correspondants'), then the
        rows of no known service, then those of the whole prefecture."""
        apart = [UNASSIGNED, ALL_SERVICES]
        known = [s for code, s in self.by_code.items() if code not in apart]
        return known + [self.by_code[code] for code in apart if code in self.by_code]

    def rank(self) -> dict[str, int]:
        return {s.code: i for i, s in enumerate(self.ordered())}

    @staticmethod
    def is_service(code: str) -> bool:
        """A real service, not a bucket of rows (« Non attribué », « Tous services »)."""
        return code not in (UNASSIGNED, ALL_SERVICES)


# What the consolidated view reads of each tracker's user fields (lists, trends, engagements
# and the figures here): all a gathered sheet keeps of them (``TrackerRows.detach``).
VIEW_FIELDS: dict[str, tuple[str, ...]] = {
    "plan_actions": ("numero", "action", "responsable", "echeance", "engagement"),
    "documents": ("reference", "intitule", "responsable"),
    "formations": ("agent", "formation"),
    "courriers": ("numero", "canal", "objet", "agent", "date_reception"),
    "indicateurs": ("indicateur", "periode", "valeur", "cible", "sens", "unite"),
    "autoevaluation": ("module", "engagement", "intitule", "niveau", "date_evaluation",
                       "evaluateur"),
}  # fmt: skip
# Of those, the fields read only on the lines of open items (Échéances, Réponses: the
# statuses of OPEN_STATUSES): a gathered sheet keeps them on those lines alone (most
# letters of a year are answered: their numbers are never shown).
OPEN_ONLY: dict[str, tuple[str, ...]] = {
    "plan_actions": ("numero", "action", "responsable", "echeance"),
    "documents": ("reference", "intitule", "responsable"),
    "formations": ("agent", "formation"),
    "courriers": ("numero", "objet", "agent"),
}


class Coded(Sequence[Any]):
    """A column of few distinct values, as a code per row (2 bytes, not a pointer of 8) and
    the values: what a gathered sheet keeps of a column, for every source to the end of a sync."""

    __slots__ = ("_codes", "_values")

    def __init__(self, codes: array[int], values: list[Any]) -> None:
        self._codes, self._values = codes, values

    def __len__(self) -> int:
        return len(self._codes)

    def __iter__(self) -> Iterator[Any]:
        return map(self._values.__getitem__, self._codes)

    @overload
    def __getitem__(self, i: int) -> Any: ...
    @overload
    def __getitem__(self, i: slice) -> list[Any]: ...
    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return [self._values[c] for c in self._codes[i]]
        return self._values[self._codes[i]]


def coded(values: Sequence[Any]) -> Sequence[Any]:
    """``values`` as a ``Coded`` column when it holds at most 65,536 distinct values, else
    as they are; so too when numbers of two kinds (1, 1.0, True) or floats (0.0, -0.0) could
    be taken for one another as keys: they stay apart."""
    try:
        distinct = dict.fromkeys(values)
    except TypeError:  # a value that cannot be a key
        return values
    kinds = set(map(type, values))  # all of them: 1 and True make one key
    if len(distinct) > 65536 or float in kinds or len(kinds & {int, bool}) > 1:
        return values
    index = {v: i for i, v in enumerate(distinct)}
    return Coded(array("H", map(index.__getitem__, values)), list(distinct))


class TrackerRows:
    """One tracker sheet as plain column lists, each row attributed to its service."""

    def __init__(self, run: SourceRun, table: Table, services: Services) -> None:
        self.run = run
        self.table = table
        self.rows: RowPositions = table.positions  # the sheet rows, in order
        self._fields: dict[str, Sequence[Any]] = {}
        self._computed: dict[str, Sequence[Any]] = {}
        self._owned = [c.name for c in table.sheet.spec.computed]
        self._detached: dict[str, Any] | None = None  # what detach kept of the table
        self._spilled: Spilled | None = None  # where detach set it all aside (see _load)
        self._resident: _Resident | None = None
        default = ServiceIndex.default(run.source, table.tracker)
        name = SERVICE_FIELD.get(table.tracker)
        raw = self.field(name) if name else [None] * len(self.rows)
        codes = {v: services.resolve(v, default) for v in dict.fromkeys(raw)}  # few texts
        self._services: Sequence[str] = [codes[v] for v in raw]
        for code in set(self._services):
            services.by_code[code].contributors.setdefault(run.source.service, run)

    def detach(self, resident: _Resident | None = None) -> None:
        """Read now what the consolidated view reads of the table (``VIEW_FIELDS``, the
        computed columns, the measures, the invalid levels), so that the table's own values
        can go (sync parks them once the source is written); any other field then fails.
        ``resident``: set it all aside in its run's scratch file, brought back when read."""
        for name in VIEW_FIELDS.get(self.tracker, ()):
            self.field(name)
        for name in self._owned:
            self.owned(name)
        if self.tracker in OPEN_ONLY:
            status = self.owned("statut")
            still_open = OPEN_STATUSES[self.tracker]
            for name in OPEN_ONLY[self.tracker]:
                self._fields[name] = [v if s in still_open else None
                                      for v, s in zip(self._fields[name], status, strict=True)]  # fmt: skip
        for columns in (self._fields, self._computed):
            for name, values in columns.items():
                columns[name] = coded(values)
        self._services = coded(self._services)
        self._detached = {"measures": self.table.measures,  # parking sets a new one
                          "niveau": self._invalid_rows("niveau")}  # fmt: skip
        if resident is not None:
            held = (self._fields, self._computed, self._services, self._detached)
            self._spilled = resident.spill.put(pickle.dumps(held, protocol=5))
            self._resident = resident
            self._unload()

    def _load(self) -> None:
        """Bring back what ``detach`` set aside in the run's scratch file, if it is not here:
        a sync holds in memory the columns of a few sheets at a time (``_Resident``)."""
        if self._spilled is None or self._detached is not None:
            return
        assert self._resident is not None
        self._fields, self._computed, self._services, self._detached = pickle.loads(
            self._spilled.read()
        )
        self._resident.admit(self)

    def _unload(self) -> None:
        """Let the columns go (a spilled sheet only: ``_load`` brings them back as they were)."""
        assert self._spilled is not None
        self._fields, self._computed, self._services = {}, {}, []
        self._detached = None

    @property
    def services(self) -> Sequence[str]:
        """The service of each row, in row order."""
        self._load()
        return self._services

    @property
    def measures(self) -> dict[tuple[int, str], Any]:
        """How each number was written (a percentage...), by (row, field)."""
        self._load()
        return self.table.measures if self._detached is None else self._detached["measures"]

    def invalid_rows(self, name: str) -> set[int]:
        """The rows whose ``name`` a check rejected (kept by ``detach`` for ``niveau``)."""
        self._load()
        if self._detached is None:
            return self._invalid_rows(name)
        return self._detached[name]

    def _invalid_rows(self, name: str) -> set[int]:
        return {row for row, f in self.table.invalid if f == name}

    @property
    def tracker(self) -> str:
        return self.table.tracker

    @property
    def file(self) -> str:
        return self.run.source.label

    @property
    def sheet(self) -> str:
        return self.table.sheet.title

    @property
    def run_part(self) -> str | None:
        """The backend's handle on the sheet (a Google tab's id makes its link)."""
        return self.table.sheet.sheet.part

    def cell(self, row: int) -> str:
        """The A1 reference of a row's first tracker column: where its link opens."""
        return a1(row, min(self.table.sheet.columns.values(), default=0))

    def field(self, name: str) -> Sequence[Any]:
        """A user field in row order: None where empty, absent or invalid. Made once per
        name (each sheet of the view reads the same columns): not to be changed."""
        self._load()
        values = self._fields.get(name)
        if values is None:
            values = self._fields[name] = self._field(name)
        return values

    def _field(self, name: str) -> list[Any]:
        if self._detached is not None:
            raise KeyError(f"{name}: not gathered for the view (figures.VIEW_FIELDS)")
        column = self.table.columns.get(name)
        if column is None:
            return [None] * len(self.rows)
        values = [None if v is None or (isinstance(v, float) and v != v) else v for v in column]
        bad = self._invalid_rows(name)
        if bad:
            values = [None if r in bad else v for r, v in zip(self.rows, values, strict=True)]
        return values

    def owned(self, name: str) -> Sequence[Any]:
        """A computed column in row order (None when sync has not computed it); made once
        per name, as ``field``."""
        self._load()
        values = self._computed.get(name)
        if values is None:
            values = self._computed[name] = self._owned_column(name)
        return values

    def _owned_column(self, name: str) -> list[Any]:
        if name not in self._owned:
            return [None] * len(self.rows)
        i = self._owned.index(name)
        computed = self.table.computed
        return [computed[r][i] if r in computed else None for r in self.rows]

    def service_of(self, row: int | None) -> str | None:
        if row is None:
            return None
        at = self.rows.get(row)
        return None if at is None else self.services[at]


@dataclass
class ServiceStats:
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

    def add(self, other: ServiceStats) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Assessment:
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
    view: TrackerRows
    row: int


@dataclass
class Figures:
    """Everything read from the run that the sheets need."""

    today: dt.date
    services: Services
    views: list[TrackerRows]
    stats: defaultdict[str, ServiceStats]
    assessments: list[Assessment]
    letters: dict[tuple[str, str, dt.date], dict[str, Any]] | None = None  # trends' groups

    def of(self, tracker: str) -> Iterator[TrackerRows]:
        return (v for v in self.views if v.tracker == tracker)


@dataclass
class Gathered:
    """The sheets of a run as the view reads them, gathered source by source (``add``)."""

    services: Services
    views: list[TrackerRows] = field(default_factory=list)
    # Where the gathered columns wait until the view reads them (None: in memory).
    spill: Spill | None = None

    def __post_init__(self) -> None:
        self._resident = _Resident(self.spill) if self.spill is not None else None

    def add(self, run: SourceRun, *, detach: bool = True) -> None:
        """The source's tracker sheets; ``detach``: read now all the view will read of them
        (set aside in ``spill``)."""
        for table in run.tables:
            if table.tracker in SERVICE_FIELD:
                view = TrackerRows(run, table, self.services)
                if detach:
                    view.detach(self._resident)
                self.views.append(view)


# The gathered sheets whose columns are in memory at a time: the view's sheets each read
# the sheets of a tracker in turn, source after source.
RESIDENT_SHEETS = 8


class _Resident:
    """The spilled sheets whose columns are in memory, the last read last; the oldest lets
    its columns go when a sheet beyond ``RESIDENT_SHEETS`` is read."""

    def __init__(self, spill: Spill) -> None:
        self.spill = spill
        self.views: deque[TrackerRows] = deque()

    def admit(self, view: TrackerRows) -> None:
        self.views.append(view)
        while len(self.views) > RESIDENT_SHEETS:
            self.views.popleft()._unload()


def read_figures(check: CheckRun, today: dt.date, gathered: Gathered | None = None) -> Figures:
    """The figures of the run, from its tables, or from what sync gathered of them."""
    if gathered is None:
        gathered = Gathered(Services(check))
        for run in check.sources:
            gathered.add(run, detach=False)
    data = Figures(today, gathered.services, gathered.views, defaultdict(ServiceStats), [])
    data.assessments = _latest_assessments(data)
    _count_statuses(data)
    return data


def _latest_assessments(data: Figures) -> list[Assessment]:
    """One assessment per service, module and engagement: the latest (a sheet may keep history)."""
    latest: dict[tuple[str, str, int], Assessment] = {}
    for v in data.of("autoevaluation"):
        columns = zip(v.rows, v.services, v.field("module"), v.field("engagement"),
                      v.field("intitule"), v.field("niveau"), v.field("date_evaluation"),
                      v.owned("prochaine_evaluation"), v.owned("statut"), v.field("evaluateur"),
                      strict=True)  # fmt: skip
        invalid = v.invalid_rows("niveau")
        for row, service, module, number, title, level, when, due, status, who in columns:
            if module is None or number is None:
                continue  # an error of the sheet, listed in Anomalies
            if level is None:  # also an error listed in Anomalies; the engagement stays shown
                level = INVALID_LEVEL if row in invalid else Level.NOT_ASSESSED
            key = (service, folded(module), int(number))
            known = latest.get(key)
            if known is not None and (when or dt.date.min) < (known.evaluated or dt.date.min):
                continue
            latest[key] = Assessment(service, str(module), int(number), title, level, when,
                                      due, status, who, v, row)  # fmt: skip
    return list(latest.values())


def _count_statuses(data: Figures) -> None:
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
