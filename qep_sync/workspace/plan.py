"""What a new workspace holds: the services of the seed prefecture, where each workbook goes,
and the plan of every workbook (sheets, columns, rows). ``init`` writes a blank plan;
``demo_data`` builds one filled with a year of activity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any

from qep_sync.cells import a1
from qep_sync.core.specs import TrackerSpec
from qep_sync.referential import ENGAGEMENTS, MODULES

# --- The seed: the Doubs prefecture's quality policy (2022) ---------------------------------


@dataclass(frozen=True)
class PlannedService:
    """A service of the workspace: its code (config, file names), its full name and the kind
    of workbook it keeps (Excel's .xlsx, or LibreOffice's .ods)."""

    code: str
    name: str
    suffix: str = ".xlsx"


SERVICES: tuple[PlannedService, ...] = (
    PlannedService(
        "BRCIE", "Bureau de la représentation et de la communication interministérielle de l'État"
    ),
    PlannedService(
        "BCEEP", "Bureau de la coordination de l'environnement et des enquêtes publiques"
    ),
    PlannedService("BAS", "Bureau de l'admission au séjour"),
    PlannedService("BRGE", "Bureau de la réglementation générale et des élections", ".ods"),
    PlannedService("CERT", "Centre d'expertise et de ressources titres"),
)
# The placeholders of a new workspace (``init`` without ``--demo``): no prefecture's bureaux.
BLANK_SERVICES: tuple[PlannedService, ...] = (
    PlannedService("SERVICE-1", "Service 1 (nom complet à indiquer)"),
    PlannedService("SERVICE-2", "Service 2 (nom complet à indiquer)"),
)
QUALITY_SERVICE = PlannedService("QUALITE", "Mission qualité")
QUALITY_MAILBOX = "prefqualite@doubs.gouv.fr"


# --- The layout of a workspace ---------------------------------------------------------------

SERVICES_DIR = "services"
CENTRAL_DIR = "qualite"
SERVICE_TRACKERS = ("courriers", "indicateurs")


@dataclass(frozen=True)
class CentralBook:
    """A workbook the quality mission keeps for the whole prefecture."""

    tracker: str
    filename: str
    code: str  # source code in the config (codes are unique)
    label: str  # what it holds, for the source name


CENTRAL_BOOKS: tuple[CentralBook, ...] = (
    CentralBook("autoevaluation", "Autoévaluation.xlsx", "QUALITE-AUTOEVAL", "autoévaluation"),
    CentralBook("plan_actions", "Plan d'actions.xlsx", "QUALITE-ACTIONS", "plan d'actions"),
    CentralBook("documents", "Documents.xlsx", "QUALITE-DOCUMENTS", "documents"),
    CentralBook("formations", "Formations.xlsx", "QUALITE-FORMATIONS", "formations"),
    CentralBook(
        "correspondants", "Correspondants.xlsx", "QUALITE-CORRESPONDANTS", "correspondants"
    ),
)


def service_path(code: str, suffix: str = ".xlsx") -> str:
    return f"{SERVICES_DIR}/{code}{suffix}"


def central_path(book: CentralBook) -> str:
    return f"{CENTRAL_DIR}/{book.filename}"


def central_name(book: CentralBook) -> str:
    return f"{QUALITY_SERVICE.name} — {book.label}"


# --- What to write: workbooks, sheets, rows --------------------------------------------------


@dataclass(frozen=True)
class Percent:
    """A number written with a percent format: Percent(0.5) shows « 50 % »."""

    value: float


@dataclass(frozen=True)
class Formula:
    """A formula cell (a total row); every plain text is written as text, never as a formula."""

    text: str


@dataclass(frozen=True)
class Planted:
    """A deliberate anomaly of the demo: where it is, and what ``check`` must say of it."""

    index: int  # position in SheetPlan.rows
    column: str  # field name
    severity: str  # "error" or "warning"
    what: str  # in a few French words, for people reading the demo


@dataclass
class SheetPlan:
    """One tracker sheet to write.

    ``columns`` lists field names in sheet order; any other text is a user column of its own
    (its header is the text). Rows are dicts keyed like ``columns``; ``None`` is an empty row.
    """

    tracker: str
    title: str
    columns: list[str]
    rows: list[dict[str, Any] | None] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # field name -> header, if not the spec's
    preamble: list[str] = field(default_factory=list)  # rows above the header (a title, a blank)
    footer: list[dict[str, Any]] = field(default_factory=list)  # rows below the data (a total)
    formats: dict[str, str] = field(default_factory=dict)  # column -> number format of its dates
    planted: list[Planted] = field(default_factory=list)

    @property
    def header_row(self) -> int:
        return len(self.preamble) + 1

    def cell(self, index: int, column: str) -> str:
        """A1 reference of a data cell: ``index`` counts SheetPlan.rows from 0."""
        return a1(self.header_row + 1 + index, self.columns.index(column))


@dataclass
class WorkbookPlan:
    path: str  # relative to the workspace, with forward slashes
    service: str
    name: str
    sheets: list[SheetPlan]
    central: bool = False  # a workbook of the quality mission for the whole prefecture

    @property
    def label(self) -> str:
        """The file name, which is how reports name a source."""
        return PurePosixPath(self.path).name


@dataclass
class WorkspacePlan:
    books: list[WorkbookPlan]
    quality_lead: str
    demo: bool = False


def in_format(plan: WorkspacePlan, suffix: str) -> WorkspacePlan:
    """The same plan with every workbook of the kind ``suffix`` names (``init --format ods``)."""
    books = [replace(b, path=str(PurePosixPath(b.path).with_suffix(suffix))) for b in plan.books]
    return replace(plan, books=books)


def spec_columns(spec: TrackerSpec, drop: Iterable[str] = ()) -> list[str]:
    """The field names of a tracker in spec order, minus ``drop``."""
    dropped = set(drop)
    return [f.name for f in spec.fields if f.name not in dropped]


def engagement_rows() -> list[dict[str, Any]]:
    """The 23 engagements of the seed, not yet evaluated."""
    return [
        {"module": MODULES[module], "engagement": number, "intitule": title, "niveau": "Non évalué"}
        for module, number, title in ENGAGEMENTS
    ]


def blank_plan(specs: dict[str, TrackerSpec]) -> WorkspacePlan:
    """Empty trackers for two placeholder services and the quality mission's central
    workbooks; the self-assessment lists the 23 engagements."""

    def sheet(tracker: str) -> SheetPlan:
        spec = specs[tracker]
        return SheetPlan(tracker, spec.title, spec_columns(spec))

    books = [
        WorkbookPlan(service_path(s.code), s.code, s.name, [sheet(t) for t in SERVICE_TRACKERS])
        for s in BLANK_SERVICES
    ]
    for book in CENTRAL_BOOKS:
        plan = sheet(book.tracker)
        if book.tracker == "autoevaluation":
            plan.rows = list(engagement_rows())
        books.append(
            WorkbookPlan(central_path(book), book.code, central_name(book), [plan], central=True)
        )
    return WorkspacePlan(books, QUALITY_MAILBOX)
