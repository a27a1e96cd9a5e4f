"""The `audit` job: the evidence pack an auditor asks for, engagement by engagement (§8).

``run_audit(config, today, numbers, output)`` reads every source, then for each engagement
gathers: each service's latest self-assessment (level, date, evaluator, the ``Preuves``
cell with its links), the actions of the action plan that name the engagement, and the
documents, trainings and indicators that support it. The trackers name the engagement of
actions and self-assessments; for documents (by their Type), trainings (every training,
and by Post) and indicators (by words of their name) the référentiel's tables say which
engagements they bear on (``referential``). One workbook (an index sheet, one sheet per
engagement) and the same as a .docx for printing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qep_sync import places
from qep_sync.config import Config
from qep_sync.errors import UsageError, WriteBackError
from qep_sync.files import os_reason
from qep_sync.jobs.consolidate import ViewContext, consolidate
from qep_sync.jobs.documents import Document, write_sections
from qep_sync.jobs.figures import Figures, TrackerRows, read_figures
from qep_sync.jobs.links import Linker
from qep_sync.jobs.report import check_as_of, output_folder, past_of
from qep_sync.jobs.view import Column, Link, ViewTable
from qep_sync.referential import (
    document_engagements,
    indicator_engagements,
    training_engagements,
)

_URL = re.compile(r"^(https?|file)://\S+$", re.IGNORECASE)
# Items of a Preuves cell: « ; », a line break, or a space before an address or a drive path
# (a cell's line breaks arrive as spaces once its text is cleaned).
_SPLIT = re.compile(r"\s*(?:[;\n]|\s\|\s)\s*|\s+(?=(?:https?|file)://|[A-Za-z]:\\|\\\\)",
                    re.IGNORECASE)  # fmt: skip
_PATHLIKE = re.compile(r"(^[A-Za-z]:[\\/])|(^\\\\)|[\\/]|\.(pdf|docx?|xlsx?|odt|ods|png|jpe?g)$",
                       re.IGNORECASE)  # fmt: skip


def parse_engagements(text: str) -> list[int]:
    """« 1-23 », « 4,16-17 » → the numbers; UsageError in French otherwise."""
    numbers: list[int] = []
    for part in text.replace(" ", "").split(","):
        m = re.fullmatch(r"(\d{1,3})(?:-(\d{1,3}))?", part)
        if not m:
            raise UsageError(f"--engagements « {text} » : numéros attendus, par exemple 1-23 ou "
                             "4,16-17")  # fmt: skip
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        if first < 1 or last < first:
            raise UsageError(f"--engagements « {part} » : intervalle vide ou à l'envers")
        numbers += [n for n in range(first, last + 1) if n not in numbers]
    return numbers


@dataclass
class Evidence:
    """One engagement's pack."""

    number: int
    title: str | None
    level: str
    assessments: ViewTable
    proofs: ViewTable
    actions: ViewTable
    documents: ViewTable
    trainings: ViewTable
    indicators: ViewTable

    @property
    def tables(self) -> list[ViewTable]:
        return [self.assessments, self.proofs, self.actions, self.documents, self.trainings,
                self.indicators]  # fmt: skip


@dataclass
class AuditRun:
    workbook: Path
    document: Path
    engagements: list[int] = field(default_factory=list)
    broken_links: int = 0
    failed_sources: list[str] = field(default_factory=list)


def _proofs(text: Any, config: Config, linker: Linker) -> list[list[Any]]:
    """The items of a Preuves cell: a web address or a file as a link (a missing file said)."""
    out: list[list[Any]] = []
    for item in (p for p in _SPLIT.split(str(text or "")) if p.strip()):
        if _URL.match(item):
            out.append([Link(item, item), "lien"])
        elif _PATHLIKE.search(item):
            path = (
                Path(item.replace("\\", "/")) if not re.match(r"^([A-Za-z]:|\\\\)", item) else None
            )
            base = config.path.parent if config.path else Path.cwd()
            local = (base / path) if path is not None and not path.is_absolute() else path
            if local is not None and local.exists():
                out.append([Link(places.shown(local, config), linker.file(local)), "fichier"])
            elif local is not None:
                out.append([item, "lien introuvable : fichier absent"])
            else:
                out.append([item, "chemin du poste de travail : non vérifié"])
        else:
            out.append([item, "texte"])
    return out


def _evidence(number: int, data: Figures, view_rows: dict[int, list[Any]], config: Config,
              linker: Linker) -> Evidence:  # fmt: skip
    row = view_rows.get(number)
    title, level = (row[2], row[3]) if row else (None, "Non évalué")
    assessments, proofs = [], []
    for a in sorted((a for a in data.assessments if a.number == number),
                    key=lambda a: data.services.rank()[a.service]):  # fmt: skip
        v = a.view
        link = linker.to(v.run.source, v.sheet, v.run_part, v.cell(a.row))
        assessments.append([a.service, a.level, a.evaluated, a.evaluator, link])
        for item in _proofs(v.table.value(a.row, "preuves"), config, linker):
            proofs.append([a.service, *item])
    actions = []
    for v in data.of("plan_actions"):
        for r, svc, num, n, text, due, state, status in zip(
            v.rows, v.services, v.field("numero"), v.field("engagement"), v.field("action"),
            v.field("echeance"), v.field("etat"), v.owned("statut"), strict=True,
        ):  # fmt: skip
            if n is not None and int(n) == number:
                actions.append([num, text, svc, due, state, status, _link(linker, v, r)])
    documents = [
        [ref, title_, kind, svc, state, status, _link(linker, v, r)]
        for v in data.of("documents")
        for r, svc, ref, title_, kind, state, status in zip(
            v.rows, v.services, v.field("reference"), v.field("intitule"), v.field("type"),
            v.field("etat"), v.owned("statut"), strict=True)
        if number in document_engagements(kind)
    ]  # fmt: skip
    trainings = [
        [agent, training, post, svc, done, status, _link(linker, v, r)]
        for v in data.of("formations")
        for r, svc, agent, training, post, done, status in zip(
            v.rows, v.services, v.field("agent"), v.field("formation"), v.field("poste"),
            v.field("date_realisee"), v.owned("statut"), strict=True)
        if number in training_engagements(post)
    ]  # fmt: skip
    indicators: dict[tuple[str, str], list[Any]] = {}
    for v in data.of("indicateurs"):
        for r, svc, name, period, value, target, reached in zip(
            v.rows, v.services, v.field("indicateur"), v.field("periode"), v.field("valeur"),
            v.field("cible"), v.owned("atteint"), strict=True,
        ):  # fmt: skip
            if name is None or period is None or number not in indicator_engagements(name):
                continue
            known = indicators.get((svc, name))
            if known is None or period >= known[2]:
                indicators[(svc, name)] = [name, svc, period, value, target, reached,
                                           _link(linker, v, r)]  # fmt: skip
    c = Column
    return Evidence(
        number, title, level,
        ViewTable("Autoévaluation", "Autoévaluation", "La dernière évaluation de chaque service.",
                  [c("Service", width=14), c("Niveau", width=20), c("Date", "date"),
                   c("Évaluateur", width=20), c("Source", width=30)], assessments),
        ViewTable("Preuves", "Preuves", "La colonne Preuves de l'autoévaluation, élément par "
                  "élément ; les liens s'ouvrent d'un clic.",
                  [c("Service", width=14), c("Preuve", width=60), c("Nature", width=24)], proofs),
        ViewTable("Actions", "Actions liées", "Les actions du plan d'actions qui citent "
                  "l'engagement.", [c("N°", width=10), c("Action", width=44), c("Service", width=14),
                                    c("Échéance", "date"), c("État", width=12),
                                    c("Statut", width=16), c("Source", width=30)], actions),
        ViewTable("Documents", "Documents", "Selon leur type (table du référentiel).",
                  [c("Référence", width=12), c("Intitulé", width=40), c("Type", width=16),
                   c("Service", width=14), c("État", width=12), c("Statut", width=16),
                   c("Source", width=30)], documents),
        ViewTable("Formations", "Formations", "Toutes les formations (engagement 4) et, selon "
                  "le poste, celles qui portent sur l'engagement.",
                  [c("Agent", width=20), c("Formation", width=34), c("Poste", width=16),
                   c("Service", width=14), c("Réalisée le", "date"), c("Statut", width=14),
                   c("Source", width=30)], trainings),
        ViewTable("Indicateurs", "Indicateurs", "Le dernier mois renseigné des indicateurs qui "
                  "mesurent l'engagement (selon leur nom).",
                  [c("Indicateur", width=36), c("Service", width=14), c("Mois", "month"),
                   c("Valeur", "number"), c("Cible", "number"), c("Atteint", width=10),
                   c("Source", width=30)], list(indicators.values())),
    )  # fmt: skip


def _link(linker: Linker, v: TrackerRows, row: int) -> Link:
    return linker.to(v.run.source, v.sheet, v.run_part, v.cell(row))


def _index(packs: list[Evidence]) -> ViewTable:
    rows = []
    for p in packs:
        latest = max((r[2] for r in p.assessments.rows if r[2] is not None), default=None)
        evaluators = sorted({str(r[3]) for r in p.assessments.rows if r[3]})
        rows.append([p.number, p.title, p.level, latest, ", ".join(evaluators) or None,
                     len(p.proofs.rows), len(p.actions.rows), len(p.documents.rows),
                     len(p.trainings.rows), len(p.indicators.rows)])  # fmt: skip
    columns = [Column("N°", "int", width=5), Column("Engagement", width=50, wrap=True),
               Column("Niveau consolidé", width=16), Column("Dernière évaluation", "date"),
               Column("Évaluateurs", width=20), Column("Preuves", "int"),
               Column("Actions", "int"), Column("Documents", "int"),
               Column("Formations", "int"), Column("Indicateurs", "int")]  # fmt: skip
    return ViewTable("Index", "Dossier de preuves — index",
                     "Une feuille par engagement ; les nombres comptent les éléments de chaque "
                     "rubrique.", columns, rows)  # fmt: skip


def run_audit(config: Config, today: dt.date, numbers: list[int] | None = None,
              output: Path | None = None) -> AuditRun:  # fmt: skip
    folder = output_folder(config, output)
    check = check_as_of(config, today)
    context = ViewContext.of(config, past_of(config, check, today),
                             Linker(folder, lambda p: places.shown(p, config),
                                    (lambda p: places.file_url(p, config))
                                    if config.display_root else None))  # fmt: skip
    view = consolidate(check, today, context=context)
    data = read_figures(check, today)
    view_rows = {int(r[1]): r for r in view.table("Engagements").rows}
    wanted = numbers or sorted(view_rows)
    unknown = [n for n in wanted if n not in view_rows]
    if unknown:
        raise UsageError(f"engagement(s) {', '.join(map(str, unknown))} absent(s) du référentiel "
                         f"et des autoévaluations (engagements : 1 à {max(view_rows)})")  # fmt: skip
    packs = [_evidence(n, data, view_rows, config, context.linker) for n in wanted]
    run = AuditRun(folder / "Dossier d'audit.xlsx", folder / "Dossier d'audit.docx", wanted)
    run.broken_links = sum(1 for p in packs for r in p.proofs.rows if "introuvable" in r[2])
    run.failed_sources = [r.source.label for r in check.sources if r.report.error]
    index = _index(packs)
    sheets = [("Index", [index])] + [(f"Engagement {p.number}", p.tables) for p in packs]
    try:
        write_sections(sheets, run.workbook, headings={
            f"Engagement {p.number}": f"Engagement n° {p.number} — {p.title or ''} "
            f"({p.level})" for p in packs})  # fmt: skip
        _document(packs, index, config, today).save(run.document)
    except OSError as exc:
        raise WriteBackError(f"{folder} : écriture impossible ({os_reason(exc)})") from None
    return run


def _document(packs: list[Evidence], index: ViewTable, config: Config, today: dt.date
              ) -> Document:  # fmt: skip
    doc = Document("Dossier de preuves Qual-e-pref",
                   f"{config.prefecture or 'Préfecture'} — audit du label",
                   [f"Situation au {today:%d/%m/%Y}, établie par qep-sync"],
                   toc_levels=1, landscape=True)  # fmt: skip
    doc.heading("Index")
    doc.table(index)
    for p in packs:
        doc.page_break()
        doc.heading(f"Engagement n° {p.number} — {p.title or ''}")
        doc.paragraph(f"Niveau consolidé : {p.level}", bold=True)
        for table in p.tables:
            doc.heading(table.heading, 2)
            if table.rows:
                doc.table(table)
            else:
                doc.paragraph(f"Aucun élément ({table.note.lower().rstrip('.')}).", italic=True)
    return doc
