"""A new workspace (``qep-sync init``): the commented config and the tracker workbooks.

The sheets are built from the specs (one column per field, in spec order), with what a
service expects of a template: a styled and frozen header, widths, date and percent formats,
dropdowns for allowed values. ``demo_data`` fills the same layout with a year of activity.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from qep_sync import files
from qep_sync.cells import a1, column_letter
from qep_sync.config import (
    CONFIG_NAME,
    CONSOLIDATED_NAME,
    Alerts,
    Config,
    LogSettings,
    Rules,
    Schedule,
)
from qep_sync.core.specs import Field, TrackerSpec, load_specs
from qep_sync.errors import QepSyncError, UsageError

# --- The seed: the Doubs prefecture's quality policy (2022) ---------------------------------


@dataclass(frozen=True)
class Service:
    code: str
    name: str


SERVICES: tuple[Service, ...] = (
    Service(
        "BRCIE", "Bureau de la représentation et de la communication interministérielle de l'État"
    ),
    Service("BCEEP", "Bureau de la coordination de l'environnement et des enquêtes publiques"),
    Service("BAS", "Bureau de l'admission au séjour"),
    Service("BRGE", "Bureau de la réglementation générale et des élections"),
    Service("CERT", "Centre d'expertise et de ressources titres"),
)
QUALITY_SERVICE = Service("QUALITE", "Mission qualité")
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


# --- The config file -------------------------------------------------------------------------


def _toml(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes).
    return json.dumps(value, ensure_ascii=False)


def _toml_list(values: Iterable[int]) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def config_text(plan: WorkspacePlan, today: dt.date) -> str:
    """The commented French config of a workspace; every value shown is the default."""
    rules, alerts = Rules(), Alerts()
    kind = " (démonstration)" if plan.demo else ""
    lines = [
        f"# Configuration de qep-sync — Préfecture du Doubs{kind}",
        f"# Créée le {today:%d/%m/%Y} par « qep-sync init ». Format TOML : une ligne qui commence",
        "# par # est un commentaire ; les textes sont entre guillemets. Les chemins relatifs",
        "# partent du dossier de ce fichier. Vérifier : qep-sync check -c qep-sync.toml",
        "",
        "[workspace]",
        "# Classeur de synthèse du référent qualité, reconstruit à chaque « qep-sync sync ».",
        f"consolidated = {_toml(CONSOLIDATED_NAME)}",
        "# Dossier où qep-sync garde son état (relances déjà envoyées) : ne pas le modifier.",
        f"state_dir = {_toml(str(Config(path=None, sources=()).state_dir))}",
        "# Descriptions des suivis (colonnes, valeurs autorisées) : par défaut celles fournies.",
        "# Pour ajouter une valeur ou un alias, copiez le dossier schemas/ ici, modifiez-le et",
        "# indiquez-le :",
        '# schemas_dir = "schemas"',
        "",
        "[rules]",
        "# Une action est « Échéance proche » quand il reste au plus ce nombre de jours.",
        f"echeance_proche_jours = {rules.echeance_proche_jours}",
        "# Un document validé est « À renouveler » ce nombre de jours avant sa prochaine échéance.",
        f"document_alerte_jours = {rules.document_alerte_jours}",
        "# Délai pour former un nouvel arrivant sans date prévue (en mois après son arrivée).",
        f"formation_delai_mois = {rules.formation_delai_mois}",
        "# Une autoévaluation est « À réévaluer » ce nombre de mois après sa date.",
        f"autoevaluation_periodicite_mois = {rules.autoevaluation_periodicite_mois}",
        "",
        "[rules.delai_reponse_jours_ouvres]",
        "# Délai de réponse visé par canal, en jours ouvrés (engagement 17). Les chiffres du",
        "# référentiel changent selon les années : ajustez-les ici.",
        *(f"{_toml(canal)} = {days}" for canal, days in rules.delai_reponse_jours_ouvres.items()),
        "",
        "[calendar]",
        "# Jours ouvrés : du lundi au vendredi, hors jours fériés nationaux (le Doubs n'applique",
        "# pas le droit local d'Alsace-Moselle). Jours de fermeture en plus (ponts), au format",
        "# AAAA-MM-JJ, par exemple [2026-05-15, 2026-12-24] :",
        "closure_days = []",
        "# Jours fériés où la préfecture est ouverte (lundi de Pentecôte, journée de solidarité) :",
        "worked_holidays = []",
        "",
        "[alerts]",
        "# Expéditeur des courriels de relance.",
        f"sender = {_toml(QUALITY_MAILBOX)}",
        "# Référent qualité : en copie des relances (copy_quality_lead), prévenu des escalades.",
        f"quality_lead = {_toml(plan.quality_lead)}",
        f"copy_quality_lead = {str(alerts.copy_quality_lead).lower()}",
        "# Relances envoyées ce nombre de jours avant l'échéance…",
        f"reminder_days = {_toml_list(alerts.reminder_days)}",
        "# …puis tous les N jours tant que l'échéance est dépassée.",
        f"late_every_days = {alerts.late_every_days}",
        "# Le chef de service est prévenu quand un retard dépasse ce nombre de jours.",
        f"escalation_days = {alerts.escalation_days}",
        "# Garde-fou : nombre maximal de courriels par exécution.",
        f"max_messages = {alerts.max_messages}",
        "# Pas de courriel le week-end ni les jours fériés.",
        f"send_on_non_working_days = {str(alerts.send_on_non_working_days).lower()}",
        "# Sans section [smtp], rien n'est envoyé : les courriels sont déposés dans ce dossier",
        "# (fichiers .eml, à ouvrir avec la messagerie) pour être relus.",
        f"outbox = {_toml(str(alerts.outbox))}",
        "",
        "# Envoi réel des courriels : décommentez et complétez la section [smtp]. Le mot de passe",
        "# n'est jamais écrit ici : il est lu dans la variable d'environnement que nomme",
        "# password_env.",
        "# [smtp]",
        '# host = "smtp.exemple.gouv.fr"',
        "# port = 587",
        '# security = "starttls"   # starttls, tls ou none',
        '# user = "prefqualite"',
        '# password_env = "QEP_SMTP_PASSWORD"',
        "",
        "# Service (qep-sync serve) : valeurs par défaut ci-dessous, heures de Paris.",
        "[schedule]",
        f"sync_every_minutes = {Schedule().sync_every_minutes}",
        f'office_hours = ["{Schedule().office_hours[0]:%H:%M}", "{Schedule().office_hours[1]:%H:%M}"]',
        f"working_days_only = {str(Schedule().working_days_only).lower()}",
        f'alerts_at = "{Schedule().alerts_at:%H:%M}"   # relances une fois par jour',
        f"failure_alert_after = {Schedule().failure_alert_after}   # échecs d'affilée avant de prévenir",
        "",
        "# Journal du service : texte (ou json pour un collecteur de journaux), fichier tournant.",
        "[logging]",
        f'format = "{LogSettings().format}"',
        '# file = "journaux/qep-sync.log"',
        "",
        "# Sources : un bloc [[sources]] par classeur. service = code court et unique (lettres,",
        "# chiffres, . _ -), name = nom complet, xlsx = chemin du classeur. Les onglets sont",
        "# reconnus par leur nom ou leur ligne d'en-tête ; pour imposer le suivi d'un onglet :",
        '# sheets = { "Feuil1" = "courriers" }',
        "# (suivis : autoevaluation, plan_actions, documents, formations, courriers, indicateurs,",
        "# correspondants).",
    ]
    for book in plan.books:
        lines += [
            "",
            "[[sources]]",
            f"service = {_toml(book.service)}",
            f"name = {_toml(book.name)}",
            f"xlsx = {_toml(book.path)}",
        ]
    return "\n".join(lines) + "\n"


# --- Writing sheets --------------------------------------------------------------------------

DATE_FORMAT = "dd/mm/yyyy"
MONTH_FORMAT = "mm/yyyy"
PERCENT_FORMAT = "0 %"
VALIDATION_ROWS = 2000  # dropdowns cover the header's next rows down to this row (at least)
MAX_LIST_FORMULA = 255  # Excel's limit for an inline list of values
MAX_WIDTH = 60

HEADER_FONT = Font(bold=True, color="1F3864")
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="center")
HEADER_BORDER = Border(bottom=Side(style="thin", color="8EA9DB"))
TITLE_FONT = Font(bold=True, size=14)


def column_format(f: Field | None) -> str | None:
    """The number format of a field's column, if it has one."""
    if f is None:
        return None
    if f.type == "date":
        return DATE_FORMAT
    if f.type == "month":
        return MONTH_FORMAT
    if f.format == "percent":
        return PERCENT_FORMAT
    return None


def column_width(
    header: str, f: Field | None, values: Iterable[Any], number_format: str | None = None
) -> float:
    """A width that shows the header and typical values, from the field's type."""
    base = 16
    if f is not None:
        base = {"date": 12, "month": 10, "integer": 9, "number": 10, "boolean": 8}.get(f.type, 16)
        if f.format == "email":
            base = 28
        if f.enum:
            base = max(base, max(len(v) for v in f.enum) + 4)  # room for the dropdown arrow
    if number_format and "mmmm" in number_format:
        base = max(base, 16)  # « septembre 2026 »
    header_width = max(len(line) for line in header.splitlines()) + 3
    longest = max((len(v) for v in values if isinstance(v, str)), default=0)
    return min(max(base, header_width, longest + 2), MAX_WIDTH)


def list_validation(f: Field, title: str) -> DataValidation | None:
    """A dropdown of the field's allowed values, or None when Excel cannot show it inline."""
    if not f.enum or any("," in v or '"' in v for v in f.enum):
        return None
    formula = '"' + ",".join(f.enum) + '"'
    if len(formula) > MAX_LIST_FORMULA:
        return None  # too long for an inline list; qep-sync still checks the values
    allowed = ", ".join(f.enum)
    message = f"« {title} » : choisissez une valeur de la liste ({allowed})."
    if len(message) > 225:  # Excel's limit for the message
        message = f"« {title} » : choisissez une valeur de la liste déroulante."
    # A warning, not a stop: qep-sync accepts other spellings (« en cours », aliases).
    return DataValidation(
        type="list",
        formula1=formula,
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="warning",
        errorTitle="Valeur non prévue",
        error=message,
    )


def _write_value(ws: Worksheet, row: int, col: int, value: Any, date_format: str | None) -> None:
    if value is None:
        return
    cell = ws.cell(row=row, column=col)
    if isinstance(value, Percent):
        cell.value = value.value
        cell.number_format = PERCENT_FORMAT
    elif isinstance(value, Formula):
        cell.value = value.text
    elif isinstance(value, dt.date):
        cell.value = value
        cell.number_format = date_format or DATE_FORMAT
    elif isinstance(value, str):
        cell.value = value
        cell.data_type = "s"  # a text starting with « = » stays a text
    else:
        cell.value = value


def write_sheet(ws: Worksheet, plan: SheetPlan, spec: TrackerSpec) -> None:
    """Title rows, styled header, data and footer rows, formats, widths, dropdowns."""
    for r, text in enumerate(plan.preamble, start=1):
        if text:
            ws.cell(row=r, column=1, value=text).font = TITLE_FONT if r == 1 else Font(italic=True)
    h = plan.header_row
    fields = [spec.by_name.get(c) for c in plan.columns]
    formats = [
        plan.formats.get(c) or column_format(f) for c, f in zip(plan.columns, fields, strict=True)
    ]
    for c, (name, f) in enumerate(zip(plan.columns, fields, strict=True), start=1):
        cell = ws.cell(row=h, column=c, value=plan.headers.get(name) or (f.title if f else name))
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment, cell.border = HEADER_ALIGNMENT, HEADER_BORDER
    body = [*plan.rows, *plan.footer]
    for r, row in enumerate(body, start=h + 1):
        if row is None:
            continue
        for c, name in enumerate(plan.columns, start=1):
            _write_value(ws, r, c, row.get(name), formats[c - 1])
    last_row = h + len(plan.rows)
    sample = [row for row in plan.rows[:300] if row]
    for c, (name, f) in enumerate(zip(plan.columns, fields, strict=True), start=1):
        letter = column_letter(c - 1)
        header = plan.headers.get(name) or (f.title if f else name)
        dim = ws.column_dimensions[letter]
        dim.width = column_width(header, f, (row.get(name) for row in sample), formats[c - 1])
        if formats[c - 1]:
            dim.number_format = formats[c - 1]  # what the service types next gets the format too
        validation = list_validation(f, header) if f else None
        if validation is not None:
            ws.add_data_validation(validation)
            validation.add(f"{letter}{h + 1}:{letter}{max(VALIDATION_ROWS, last_row + 500)}")
    if any("\n" in ws.cell(row=h, column=c).value for c in range(1, len(plan.columns) + 1)):
        ws.row_dimensions[h].height = 30
    ws.freeze_panes = f"A{h + 1}"
    ws.auto_filter.ref = f"A{h}:{column_letter(len(plan.columns) - 1)}{max(last_row, h + 1)}"


def write_workbook(path: Path, plan: WorkbookPlan, specs: dict[str, TrackerSpec]) -> None:
    """One workbook, written to a temporary file then moved into place."""
    wb = Workbook()
    default = wb.active
    for sheet in plan.sheets:
        write_sheet(wb.create_sheet(sheet.title), sheet, specs[sheet.tracker])
    if default is not None:
        wb.remove(default)
    try:
        files.replace_atomically(path, wb.save)
    except OSError as exc:
        raise QepSyncError(f"écriture impossible de {path} : {exc.strerror or exc}") from None


def write_text(path: Path, text: str) -> None:
    try:
        files.replace_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except OSError as exc:
        raise QepSyncError(f"écriture impossible de {path} : {exc.strerror or exc}") from None


# --- The command -----------------------------------------------------------------------------


def create_workspace(directory: Path, *, demo: bool, today: dt.date, force: bool) -> list[Path]:
    """Write the config and the tracker workbooks into ``directory``; return the files written.

    Refuses (``UsageError``, nothing written) when one of them already exists, unless ``force``.
    """
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} existe et n'est pas un dossier")
    specs = load_specs()
    if demo:
        from qep_sync.workspace.demo_data import (
            build_demo,  # demo_data builds on this module's layout
        )

        plan = build_demo(today, specs)
    else:
        plan = blank_plan(specs)
    config = directory / CONFIG_NAME
    books = [(directory / book.path, book) for book in plan.books]
    if not force:
        existing = [p for p in [config, *(p for p, _ in books)] if p.exists()]
        if existing:
            names = ", ".join(str(p.relative_to(directory)) for p in existing[:3])
            more = f" (et {len(existing) - 3} autres)" if len(existing) > 3 else ""
            raise UsageError(
                f"{directory} contient déjà {names}{more} : rien n'a été écrit. "
                "Choisissez un autre dossier, ou ajoutez --force pour remplacer ces fichiers "
                "(leur contenu serait perdu)."
            )
    for path, book in books:
        write_workbook(path, book, specs)
    write_text(config, config_text(plan, today))  # last: a config never names a missing file
    return [config, *(p for p, _ in books)]
