"""The Engagements sheet: every engagement of the référentiel × services (docs/contract.md §4).

The 23 engagements of the seed's two modules are always listed, evaluated or not, and so is
any other engagement a self-assessment names. Each line gives the consolidated level (the
worst evaluated one), the latest evaluation date, the services due for re-evaluation, the
open and late actions of the action plan that name it, and a link to the latest evaluation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from qep_sync.jobs.figures import INVALID_LEVEL, Assessment, Figures
from qep_sync.jobs.links import Linker
from qep_sync.jobs.view import Column, ViewTable
from qep_sync.referential import ENGAGEMENTS, MODULES, seed_module
from qep_sync.text import fold
from qep_sync.vocabulary import (
    EVALUATED_LEVELS,
    OPEN_STATUSES,
    ActionStatus,
    AssessmentStatus,
    Level,
)


def consolidated_level(levels: Iterable[str]) -> str:
    """The worst evaluated level; Non évalué if none is evaluated, Non applicable if all are;
    « Niveau à corriger » when a level is unusable and none is evaluated."""
    levels = list(levels)
    for level in EVALUATED_LEVELS:
        if level in levels:
            return level
    if INVALID_LEVEL in levels:
        return INVALID_LEVEL
    if levels and all(level == Level.NOT_APPLICABLE for level in levels):
        return Level.NOT_APPLICABLE
    return Level.NOT_ASSESSED


@dataclass
class _Line:
    module: str
    number: int
    title: str | None
    assessments: dict[str, Assessment] = field(default_factory=dict)  # by service


def _key(module: Any, number: int) -> tuple[Any, int]:
    seed = seed_module(module)
    return (seed if seed is not None else fold(module), number)


def _lines(data: Figures) -> list[_Line]:
    lines: dict[tuple[Any, int], _Line] = {
        (module, number): _Line(MODULES[module], number, title)
        for module, number, title in ENGAGEMENTS
    }
    for a in data.assessments:
        line = lines.setdefault(_key(a.module, a.number), _Line(a.module, a.number, None))
        line.title = a.title or line.title
        line.assessments[a.service] = a
    return sorted(lines.values(), key=lambda x: (_order(x.module), x.number))


def _order(module: str) -> tuple[int, str]:
    seed = seed_module(module)
    return (seed if seed is not None else 99, fold(module))


def _actions(data: Figures) -> dict[int, tuple[int, int]]:
    """Open and late actions by engagement number (the action plan's « Engagement »)."""
    counts: dict[int, list[int]] = {}
    for v in data.of("plan_actions"):
        for number, status in zip(v.field("engagement"), v.owned("statut"), strict=True):
            if number is None or status not in OPEN_STATUSES["plan_actions"]:
                continue
            entry = counts.setdefault(int(number), [0, 0])
            entry[0] += 1
            entry[1] += status == ActionStatus.LATE
    return {n: (c[0], c[1]) for n, c in counts.items()}


def engagements_table(data: Figures, heading: str, linker: Linker) -> ViewTable:
    rank = data.services.rank()
    codes = sorted({a.service for a in data.assessments}, key=rank.__getitem__)
    actions = _actions(data)
    rows = []
    for line in _lines(data):
        found = line.assessments
        levels = {code: a.level for code, a in found.items()}
        dates = [a.evaluated for a in found.values() if a.evaluated is not None]
        latest = max(found.values(), key=lambda a: a.evaluated or dt.date.min, default=None)
        due = sum(1 for a in found.values() if a.status == AssessmentStatus.DUE)
        open_, late = actions.get(line.number, (0, 0))
        link = (linker.to(latest.view.run.source, latest.view.sheet, latest.view.run_part,
                          latest.view.cell(latest.row)) if latest else None)  # fmt: skip
        rows.append([line.module, line.number, line.title, consolidated_level(levels.values()),
                     max(dates, default=None), due, open_, late,
                     sum(1 for lv in levels.values() if lv == Level.COMPLIANT),
                     sum(1 for lv in levels.values() if lv in EVALUATED_LEVELS),
                     *(levels.get(code) for code in codes), link])  # fmt: skip
    columns = [
        Column("Module", width=22, wrap=True), Column("N°", "int", width=5),
        Column("Engagement", width=48, wrap=True),
        Column("Niveau consolidé", width=14, colour="status", wrap=True),
        Column("Dernière évaluation", "date"),
        Column("Services à réévaluer", "int", colour="watch"),
        Column("Actions ouvertes", "int"), Column("Actions en retard", "int", colour="alarm"),
        Column("Services conformes", "int"), Column("Services évalués", "int"),
        *(Column(code, width=max(12.0, len(code) + 2.0), colour="status", wrap=True)
          for code in codes),
        Column("Dernière évaluation (source)", width=30),
    ]  # fmt: skip
    note = ("Tous les engagements du référentiel, évalués ou non. Niveau consolidé = le plus "
            "faible des niveaux évalués (Non conforme < Partiellement conforme < Conforme) ; "
            "actions : celles du plan d'actions qui citent l'engagement.")  # fmt: skip
    return ViewTable("Engagements", heading, note, columns, rows, frozen_columns=3)
