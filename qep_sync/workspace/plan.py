"""What a new workspace holds: the services of the seed prefecture, where each workbook goes,
and the plan of every workbook (sheets, columns, rows). ``init`` writes a blank plan;
``demo_data`` builds one filled with a year of activity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from qep_sync.cells import a1
from qep_sync.core.specs import TrackerSpec

# --- The seed: the Doubs prefecture's quality policy (2022) ---------------------------------


@dataclass(frozen=True)
class PlannedService:
    """A service of the workspace: its code (config, file names) and its full name."""

    code: str
    name: str


SERVICES: tuple[PlannedService, ...] = (
    PlannedService(
        "BRCIE", "Bureau de la représentation et de la communication interministérielle de l'État"
    ),
    PlannedService(
        "BCEEP", "Bureau de la coordination de l'environnement et des enquêtes publiques"
    ),
    PlannedService("BAS", "Bureau de l'admission au séjour"),
    PlannedService("BRGE", "Bureau de la réglementation générale et des élections"),
    PlannedService("CERT", "Centre d'expertise et de ressources titres"),
)
QUALITY_SERVICE = PlannedService("QUALITE", "Mission qualité")
QUALITY_MAILBOX = "prefqualite@doubs.gouv.fr"

MODULES = {
    1: "Module 1 : Relations générales avec les usagers",
    2: "Module 2 : Délivrance des CNI-passeports",
}
# (module, n°, engagement) as the quality policy words them.
ENGAGEMENTS: tuple[tuple[int, int, str], ...] = (
    (1, 1, "Nous vous informons sur les conditions de fonctionnement de nos services"),
    (1, 2, "Un accueil attentif et courtois dans le respect mutuel quel que soit le canal"),
    (1, 3, "A votre écoute pour progresser"),
    (1, 4, "Nous formons nos agents pour améliorer notre qualité de service"),
    (1, 5, "Nous vous orientons vers le bon service et vous prenons en charge"),
    (1, 6, "Nous veillons au confort de nos espaces d'accueil et d'attente"),
    (1, 7, "Nous veillons à limiter votre attente en adaptant notre organisation"),
    (1, 8, "Un serveur vocal interactif local, s'il a été mis en place, vous informe de manière "
           "simple et vous met en relation avec un agent"),
    (1, 9, "Nous vous informons de la mise à disposition d'un serveur vocal interactif national "
           "« 34 00 » dédié aux démarches sur les titres (hors étrangers)"),
    (1, 10, "Nous répondons à tous vos appels de manière attentive et efficace en limitant au "
            "maximum votre temps d'attente"),
    (1, 11, "Nous facilitons votre navigation et l'accès aux informations actualisées sur notre "
            "site internet"),
    (1, 12, "Nous vous délivrons une information administrative numérique fiable"),
    (1, 13, "Nous facilitons vos démarches en ligne grâce à une offre de service numérique"),
    (1, 14, "Plus particulièrement, nous facilitons vos démarches en ligne sur les demandes "
            "de titres"),
    (1, 15, "Si vous n'avez pas d'accès à internet pour réaliser vos démarches, nous mettons à "
            "votre disposition dans nos locaux un point numérique sécurisé"),
    (1, 16, "Nos courriers et courriels sont compréhensibles et complets"),
    (1, 17, "Nous vous répondons dans un délai annoncé et maîtrisé"),
    (1, 18, "Nous assurons la traçabilité de vos courriers/courriels de demande d'informations "
            "pour réduire nos délais"),
    (1, 19, "Nous communiquons de manière active sur au moins un réseau social "
            "(Facebook et/ou Twitter)"),
    (1, 20, "Nous vous garantissons la fiabilité des informations que nous diffusons sur les "
            "réseaux sociaux"),
    (2, 21, "Vous êtes contacté en cas d'incomplétude de votre dossier"),
    (2, 22, "Nous nous organisons pour délivrer vos titres dans un délai raisonnable"),
    (2, 23, "Une délivrance sécurisée des titres grâce à une lutte contre la fraude organisée"),
)  # fmt: skip

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


def service_path(code: str) -> str:
    return f"{SERVICES_DIR}/{code}.xlsx"


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

    @property
    def label(self) -> str:
        """The file name, which is how reports name a source."""
        return PurePosixPath(self.path).name


@dataclass
class WorkspacePlan:
    books: list[WorkbookPlan]
    quality_lead: str
    demo: bool = False


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
    """Empty trackers for the seed's services; the self-assessment lists the 23 engagements."""

    def sheet(tracker: str) -> SheetPlan:
        spec = specs[tracker]
        return SheetPlan(tracker, spec.title, spec_columns(spec))

    books = [
        WorkbookPlan(service_path(s.code), s.code, s.name, [sheet(t) for t in SERVICE_TRACKERS])
        for s in SERVICES
    ]
    for book in CENTRAL_BOOKS:
        plan = sheet(book.tracker)
        if book.tracker == "autoevaluation":
            plan.rows = list(engagement_rows())
        books.append(WorkbookPlan(central_path(book), book.code, central_name(book), [plan]))
    return WorkspacePlan(books, QUALITY_MAILBOX)
