"""The lists of the consolidated view: Échéances, Réponses and Anomalies (docs/contract.md §4).

Each line names its service and links to the cell it comes from. Replies to letters have a
sheet of their own (a bureau receives hundreds of letters: they would drown the actions).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from qep_sync.core.findings import Severity
from qep_sync.core.spill import SortedRows, Spill
from qep_sync.jobs.check import CheckRun
from qep_sync.jobs.figures import Figures, TrackerRows
from qep_sync.jobs.links import Linker
from qep_sync.jobs.view import Column, ViewTable
from qep_sync.vocabulary import OPEN_STATUSES

HORIZON_DAYS = 30  # Échéances and Réponses list what is late or due within this many days
# Échéances: the kind of each line, in the order of a day's lines, and its tracker.
KINDS = {"action": "plan_actions", "document": "documents", "formation": "formations",
         "autoévaluation": "autoevaluation", "réponse": "courriers"}  # fmt: skip


def _label(*parts: Any) -> str:
    return " – ".join([str(p) for p in parts if p is not None and p != ""])


class _Due:
    """Collects the open items late or due within HORIZON_DAYS, with their place."""

    def __init__(self, data: Figures, linker: Linker, spill: Spill | None = None) -> None:
        self.data = data
        self.linker = linker
        self.horizon = data.today + dt.timedelta(days=HORIZON_DAYS)
        rank = data.services.rank()
        kind_rank = {k: i for i, k in enumerate(KINDS)}
        self.key = lambda i: (i[0], kind_rank[i[2]], rank[i[3]], i[7].target, i[8], i[9])
        # Sorted through the run's scratch file when given (a big workspace's list).
        self.items: list[list[Any]] | SortedRows = (
            SortedRows(spill, self.key) if spill is not None else []
        )

    def keeps(self, kind: str, due: Any, status: Any) -> bool:
        """Whether an item is listed: open, and late or due within HORIZON_DAYS."""
        return due is not None and due <= self.horizon and status in OPEN_STATUSES[KINDS[kind]]

    def add(self, kind: str, v: TrackerRows, row: int, service: str, label: str, due: Any,
            status: Any, who: Any) -> None:  # fmt: skip
        """List an item that ``keeps`` keeps."""
        link = self.linker.to(v.run.source, v.sheet, v.run_part, v.cell(row))
        self.items.append([due, (due - self.data.today).days, kind, service, label, who,
                           status, link, v.sheet, row])  # fmt: skip

    def sorted(self) -> Sequence[list[Any]]:
        """The items, soonest first (then by kind, service, place)."""
        items = self.items
        return items if isinstance(items, SortedRows) else sorted(items, key=self.key)


def _columns(what: str) -> list[Column]:
    return [
        Column("Échéance", "date"), Column("Jours restants", "int", colour="days"),
        Column("Type", width=15), Column("Service", width=14),
        Column(what, width=50, wrap=True), Column("Responsable", width=20, wrap=True),
        Column("Statut", width=16, colour="status", wrap=True),
        Column("Source", width=30, wrap=True), Column("Onglet", width=14, wrap=True),
        Column("Ligne", "int", width=7),
    ]  # fmt: skip


def echeances_table(data: Figures, heading: str, linker: Linker, spill: Spill | None = None
                    ) -> ViewTable:  # fmt: skip
    """Actions, documents, trainings and self-assessments late or due soon, soonest first."""
    due = _Due(data, linker, spill)
    for v in data.of("plan_actions"):
        for row, svc, num, action, who, when, status in zip(
            v.rows, v.services, v.field("numero"), v.field("action"), v.field("responsable"),
            v.field("echeance"), v.owned("statut"), strict=True,
        ):  # fmt: skip
            if due.keeps("action", when, status):
                due.add("action", v, row, svc, _label(num, action), when, status, who)
    for v in data.of("documents"):
        for row, svc, ref, title, who, when, status in zip(
            v.rows, v.services, v.field("reference"), v.field("intitule"),
            v.field("responsable"), v.owned("prochaine_echeance"), v.owned("statut"), strict=True,
        ):  # fmt: skip
            if due.keeps("document", when, status):
                due.add("document", v, row, svc, _label(ref, title), when, status, who)
    for v in data.of("formations"):
        for row, svc, agent, training, when, status in zip(
            v.rows, v.services, v.field("agent"), v.field("formation"), v.owned("date_limite"),
            v.owned("statut"), strict=True,
        ):  # fmt: skip
            if due.keeps("formation", when, status):
                due.add("formation", v, row, svc, _label(training, agent), when, status, agent)
    for a in data.assessments:
        if due.keeps("autoévaluation", a.next_due, a.status):
            label = _label(a.module, f"engagement n° {a.number}", a.title)
            due.add("autoévaluation", a.view, a.row, a.service, label, a.next_due, a.status,
                    a.evaluator)  # fmt: skip
    note = (f"Actions, documents, formations et autoévaluations en retard ou à échéance d'ici "
            f"{HORIZON_DAYS} jours, le plus proche d'abord ; les réponses aux courriers sont "
            "dans l'onglet Réponses. Source ouvre la ligne d'origine.")  # fmt: skip
    return ViewTable("Échéances", heading, note, _columns("Objet"), due.sorted(), frozen_columns=2)


def reponses_table(data: Figures, heading: str, linker: Linker, spill: Spill | None = None
                   ) -> ViewTable:  # fmt: skip
    """Letters, emails and complaints without reply, late or due within HORIZON_DAYS."""
    due = _Due(data, linker, spill)
    for v in data.of("courriers"):
        for row, svc, num, canal, subject, who, when, status in zip(
            v.rows, v.services, v.field("numero"), v.field("canal"), v.field("objet"),
            v.field("agent"), v.owned("date_limite_reponse"), v.owned("statut"), strict=True,
        ):  # fmt: skip
            if due.keeps("réponse", when, status):
                due.add("réponse", v, row, svc, _label(_label(canal, num), subject), when,
                        status, who)  # fmt: skip
    note = (
        f"Courriers, courriels et réclamations sans réponse, en retard ou à répondre d'ici "
        f"{HORIZON_DAYS} jours, le plus proche d'abord. Source ouvre la ligne d'origine."
    )
    return ViewTable("Réponses", heading, note, _columns("Courrier"), due.sorted(),
                     frozen_columns=2)  # fmt: skip


def anomalies_table(check: CheckRun, data: Figures, heading: str, linker: Linker) -> ViewTable:
    """Every finding of the run, attributed like Synthèse counts it, plus unreadable sources.

    Counts each finding in its service's errors or warnings (``data.stats``).
    """
    views = {(v.run.source.service, v.sheet): v for v in data.views}
    parts = {(run.source.service, s.title): s.part for run in check.sources if run.book
             for s in run.book.sheets}  # fmt: skip
    rows: list[list[Any]] = []
    for run in check.sources:
        source = run.source
        if run.report.error:
            rows.append([data.services.index.default(source), linker.to(source), None, None,
                         None, None, f"classeur non lu : {run.report.error}",
                         Severity.ERROR.label])  # fmt: skip
        for f in run.report.findings:
            view = views.get((source.service, f.sheet))
            service = (view.service_of(f.row) if view else None) or data.services.index.default(
                source
            )
            stats = data.stats[service]
            if f.severity is Severity.ERROR:
                stats.errors += 1
            else:
                stats.warnings += 1
            link = linker.to(source, f.sheet or None, parts.get((source.service, f.sheet)),
                             f.cell or None)  # fmt: skip
            rows.append([service, link, f.sheet or None, f.cell or None, f.column or None,
                         f.value or None, f.message, f.severity.label])  # fmt: skip
    columns = [
        Column("Service", width=14), Column("Source", width=30, wrap=True),
        Column("Onglet", width=14, wrap=True), Column("Cellule", width=8),
        Column("Colonne", width=18, wrap=True), Column("Valeur", width=18, wrap=True),
        Column("Message", width=70, wrap=True), Column("Gravité", width=14, colour="status"),
    ]  # fmt: skip
    note = ("Chaque anomalie relevée dans les classeurs, avec sa cellule, à corriger à la "
            "source ; Source ouvre la cellule.")  # fmt: skip
    return ViewTable("Anomalies", heading, note, columns, rows, frozen_columns=1)
