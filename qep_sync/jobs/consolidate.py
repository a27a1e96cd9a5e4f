"""The quality lead's consolidated view (docs/contract.md §4), as plain data: its nine sheets.

``consolidate(check, today, ...) -> ConsolidatedView`` turns a checked run, whose tables carry
their computed columns (``sync`` fills them), into one table per sheet, from the figures of
``figures.read_figures`` and what the history tells (``history.Past``). This module builds
the two sheets of figures per service, COPIL and Synthèse; the others are in
``engagements``, ``lists`` and ``trends``. The workbook is written by ``consolidated_workbook``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from typing import Any

from qep_sync import files, places
from qep_sync.clock import PARIS
from qep_sync.config import Config
from qep_sync.core.services import ALL_SERVICES, UNASSIGNED
from qep_sync.jobs.check import CheckRun, SourceRun
from qep_sync.jobs.engagements import consolidated_level, engagements_table
from qep_sync.jobs.figures import Figures, Gathered, ServiceStats, read_figures
from qep_sync.jobs.history import Figure, Past, source_key
from qep_sync.jobs.links import Linker
from qep_sync.jobs.lists import anomalies_table, echeances_table, reponses_table
from qep_sync.jobs.trends import (
    delais_table,
    indicateurs_table,
    stat_value,
    tendances_table,
)
from qep_sync.jobs.view import (
    Block,
    Chart,
    Column,
    ConsolidatedView,
    Delta,
    DeltaPercentage,
    Percentage,
    ViewTable,
)
from qep_sync.text import plural

__all__ = ["ViewContext", "consolidate", "consolidated_level", "last_change"]


@dataclass
class ViewContext:
    """What a view needs beyond the run: the history, the rules, where links lead."""

    past: Past = field(default_factory=Past)
    inactive_days: int = 30  # rules.source_inactive_jours
    linker: Linker = field(default_factory=Linker)
    title: str = "Consolidation qualité"

    @classmethod
    def of(cls, config: Config, past: Past | None = None, linker: Linker | None = None
           ) -> ViewContext:  # fmt: skip
        if linker is None:
            folder = config.consolidated.parent if config.consolidated is not None else None
            linker = Linker(
                folder,
                shown=lambda path: places.shown(path, config),
                url=(lambda path: places.file_url(path, config)) if config.display_root else None,
            )
        return cls(past or Past(), config.rules.source_inactive_jours, linker)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def last_change(run: SourceRun) -> dt.datetime | None:
    """When the source was last modified (by anyone), as read; aware."""
    if run.book is not None:
        return run.book.last_change()
    return files.modified(run.source.path) if run.source.path is not None else None


def _wall_clock(moment: dt.datetime | None) -> dt.datetime | None:
    """Paris wall-clock time, to the second (Excel dates carry no time zone)."""
    if moment is None:
        return None
    return moment.astimezone(PARIS).replace(tzinfo=None, microsecond=0)


# The figures of a service's line, in Synthèse's order: title, stats field or rate, kind.
SYNTHESE_FIGURES: tuple[tuple[str, str, str, str | None], ...] = (
    ("Erreurs", "errors", "int", "alarm"),
    ("Points d'attention", "warnings", "int", "watch"),
    ("Actions en retard", "actions_late", "int", "alarm"),
    ("Documents caducs", "documents_expired", "int", "alarm"),
    ("Documents à renouveler", "documents_expiring", "int", "watch"),
    ("Formalisation en retard", "formalisation_late", "int", "alarm"),
    ("Courriers répondus", "replies_answered", "int", None),
    ("Réponses dans le délai", "replies_on_time_rate", "percent", None),
    ("Réponses en retard", "replies_late", "int", "alarm"),
    ("Formations en retard", "trainings_late", "int", "alarm"),
    ("Engagements évalués", "engagements_evaluated", "int", None),
    ("Engagements conformes", "compliance_rate", "percent", None),
)
_FIRST_FIGURE = 2  # Service, Intitulé, then the figures


def _figures(stats: ServiceStats) -> list[Any]:
    return [stat_value(stats, figure) if kind == "percent" else getattr(stats, figure)
            for _, figure, kind, _ in SYNTHESE_FIGURES]  # fmt: skip


class _Freshness:
    """The last change by a person of each source, and whether it is too old."""

    def __init__(self, data: Figures, context: ViewContext) -> None:
        self.today = data.today
        self.persons = context.past.persons
        self.days = context.inactive_days

    def of(self, run: SourceRun) -> tuple[dt.datetime | None, str]:
        key = source_key(run.source)
        moment = self.persons[key] if key in self.persons else last_change(run)
        if moment is None:
            return None, "inconnue"
        idle = (self.today - moment.astimezone(PARIS).date()).days
        if idle > self.days:
            return _wall_clock(moment), f"sans mise à jour depuis {idle} jours"
        return _wall_clock(moment), "à jour"


def _source_status(run: SourceRun) -> str:
    return f"illisible : {run.report.error}" if run.report.error else "lue"


def _synthese(data: Figures, heading: str, context: ViewContext, check: CheckRun) -> ViewTable:
    columns = [
        Column("Service", width=14), Column("Intitulé", width=30, wrap=True),
        *(Column(title, kind, colour=colour) for title, _, kind, colour in SYNTHESE_FIGURES),
        Column("Classeur", width=30, wrap=True),
        Column("Dernière modification par une personne", "datetime"),
        Column("Mise à jour", width=16, colour="status", wrap=True),
        Column("État de la source", width=24, wrap=True),
    ]  # fmt: skip
    fresh = _Freshness(data, context)
    rows: list[list[Any]] = []
    total = ServiceStats()
    for service in data.services.ordered():
        s = data.stats[service.code]
        total.add(s)
        run = service.run
        if run is None:
            name = {UNASSIGNED: "lignes sans service connu (voir Anomalies)",
                    ALL_SERVICES: "lignes de toute la préfecture"}.get(service.code, service.name)  # fmt: skip
            rows.append([service.code, name, *_figures(s), None, None, None, None])
            continue
        moment, freshness = fresh.of(run)
        rows.append([service.code, service.name, *_figures(s), context.linker.to(run.source),
                     moment, freshness, _source_status(run)])  # fmt: skip
    real = sum(1 for r in rows if data.services.is_service(r[0]))
    failed = sum(1 for run in check.sources if run.report.error)
    total_row = ["Total", plural(real, "service"), *_figures(total),
                 plural(len(check.sources), "classeur"),
                 None, None, plural(failed, "illisible") if failed else "tous lus"]  # fmt: skip
    blocks = [*_copil_blocks(data, context, total), _central_block(check, fresh, context)]
    note = ("Une ligne par service ; les lignes des classeurs centraux comptent au service de leur "
            "colonne Service (ou Service pilote), « Non attribué » si elle n'en nomme aucun. "
            "Sous le tableau : les chiffres au dernier COPIL et l'évolution depuis.")  # fmt: skip
    charts = [
        Chart("Réponses dans le délai par service", _FIRST_FIGURE + 7, rows=(0, real)),
        Chart("Engagements conformes par service", _FIRST_FIGURE + 11, rows=(0, real)),
    ]
    return ViewTable("Synthèse", heading, note, columns, rows, total_row, 2, charts, blocks)


def _copil_blocks(data: Figures, context: ViewContext, total: ServiceStats) -> list[Block]:
    """The figures at the last COPIL and their change since, under Synthèse's own."""
    past = context.past
    if past.copil is None:
        return [Block("Dernier COPIL : aucune date dans la configuration ([copil] dates)", [])]
    if past.copil_snapshot is None:
        return [Block(f"Dernier COPIL le {past.copil:%d/%m/%Y} : pas encore d'historique à "
                      "cette date", [])]  # fmt: skip
    then_rows, change_rows = [], []
    codes = [s.code for s in data.services.ordered()] + [""]
    for code in codes:
        now = _figures(total if not code else data.stats[code])
        then = [past.at_copil(code, figure) for _, figure, _, _ in SYNTHESE_FIGURES]
        label = [code or "Total", "au dernier COPIL" if code else ""]
        then_rows.append(
            label + [_typed(v, k) for v, (_, _, k, _) in zip(then, SYNTHESE_FIGURES, strict=True)]
        )
        change_rows.append(label[:1] + ["évolution"] + [_delta(n, t, k) for n, t, (_, _, k, _)
                                                       in zip(now, then, SYNTHESE_FIGURES,
                                                              strict=True)])  # fmt: skip
    when = past.copil.strftime("%d/%m/%Y")
    shot = "" if past.copil_snapshot == past.copil else (
        f" (situation enregistrée le {past.copil_snapshot:%d/%m/%Y})")  # fmt: skip
    return [
        Block(f"Au dernier COPIL, le {when}{shot}", then_rows),
        Block(f"Évolution depuis le COPIL du {when}", change_rows),
    ]


def _typed(value: Any, kind: str) -> Any:
    return Percentage(value) if kind == "percent" and isinstance(value, int | float) else value


def _delta(now: Any, then: Any, kind: str) -> Any:
    if not isinstance(now, int | float) or not isinstance(then, int | float):
        return None
    return DeltaPercentage(now - then) if kind == "percent" else Delta(now - then)


def _central_block(check: CheckRun, fresh: _Freshness, context: ViewContext) -> Block:
    rows = []
    blank = [None] * len(SYNTHESE_FIGURES)
    for run in check.sources:
        if run.source.central:
            moment, freshness = fresh.of(run)
            rows.append([run.source.service, run.source.name, *blank,
                         context.linker.to(run.source), moment, freshness,
                         _source_status(run)])  # fmt: skip
    caption = ("Classeurs centraux de la mission qualité (leurs lignes sont comptées aux "
               "services ci-dessus)")  # fmt: skip
    return Block(caption, rows)


def _copil_sheet(data: Figures, heading: str, context: ViewContext, check: CheckRun) -> ViewTable:
    """One page for the COPIL: the figures that matter per service, now, then, change."""
    past = context.past
    key_figures = [f for f in SYNTHESE_FIGURES if f[1] in
                   ("actions_late", "documents_expired", "replies_on_time_rate",
                    "trainings_late", "compliance_rate")]  # fmt: skip
    columns = [Column("Service", width=12), Column("Intitulé", width=26, wrap=True)]
    for title, _, kind, colour in key_figures:
        columns += [
            Column(title, kind, width=10, colour=colour, wrap=True),
            Column("au COPIL", kind, width=8),
            Column("évol.", f"delta_{kind}", width=7),
        ]
    columns += [Column("Erreurs", "int", width=8, colour="alarm"),
                Column("Mise à jour", width=18, colour="status", wrap=True)]  # fmt: skip
    fresh = _Freshness(data, context)
    rows: list[list[Any]] = []
    total = ServiceStats()
    for service in data.services.ordered():
        stats = data.stats[service.code]
        total.add(stats)
        rows.append([*_copil_row(service.code, service.name, stats, key_figures, past), stats.errors, fresh.of(service.run)[1] if service.run else None])  # fmt: skip
    total_row = [*_copil_row("", "Total", total, key_figures, past), total.errors, None]
    total_row[0] = "Total"
    if past.copil is None:
        since = "aucune date de COPIL dans la configuration ([copil] dates)"
    elif past.copil_snapshot is None:
        since = f"COPIL du {past.copil:%d/%m/%Y} : pas encore d'historique à cette date"
    else:
        since = f"« au COPIL » : situation au COPIL du {past.copil:%d/%m/%Y}"
    note = f"Aujourd'hui, au dernier COPIL et l'évolution depuis ; {since}."
    return ViewTable("COPIL", heading, note, columns, rows, total_row, 2, one_page=True)


def _copil_row(code: str, name: str, stats: ServiceStats,
               key_figures: list[tuple[str, str, str, str | None]], past: Past) -> list[Any]:  # fmt: skip
    row: list[Any] = [code, name]
    for _, figure, kind, _ in key_figures:
        now = stat_value(stats, figure)
        then = past.at_copil(code, figure)
        row += [_typed(now, kind), _typed(then, kind), _delta(now, then, kind)]
    return row


def snapshot(data: Figures) -> list[Figure]:
    """The figures of this run that the history keeps (docs/contract.md §4)."""
    out: list[Figure] = []
    total = ServiceStats()
    names = [f.name for f in fields(ServiceStats)]
    rates = ["replies_on_time_rate", "compliance_rate"]
    for code, stats in data.stats.items():
        total.add(stats)
        out += [Figure("service", code, n, stat_value(stats, n)) for n in names + rates]
    out += [Figure("total", "", n, stat_value(total, n)) for n in names + rates]
    levels: dict[str, list[str]] = {}
    for a in data.assessments:
        levels.setdefault(f"{a.module}|{a.number}", []).append(a.level)
    out += [Figure("engagement", k, "niveau", consolidated_level(v)) for k, v in levels.items()]
    return out


def consolidate(
    check: CheckRun,
    today: dt.date,
    generated: dt.datetime | None = None,
    context: ViewContext | None = None,
    gathered: Gathered | None = None,
) -> ConsolidatedView:
    """The sheets of the consolidated view, from a run whose tables carry computed values,
    or from what sync ``gathered`` of them source by source."""
    context = context or ViewContext()
    data = read_figures(check, today, gathered)
    spill = gathered.spill if gathered is not None else None  # the long lists sorted there
    when = f"situation au {today:%d/%m/%Y}"
    time_shown = f" à {generated:%H:%M}" if generated is not None else ""
    if generated is not None:
        when += f", générée le {generated:%d/%m/%Y}{time_shown}"
    linker = context.linker
    anomalies = anomalies_table(check, data, f"Anomalies – {when}", linker)  # counts the errors
    tables = [
        _copil_sheet(data, f"COPIL – {when}", context, check),
        _synthese(data, f"Consolidation qualité – {when}", context, check),
        engagements_table(data, f"Engagements – {when}", linker),
        echeances_table(data, f"Échéances – {when}", linker, spill),
        reponses_table(data, f"Réponses aux courriers – {when}", linker, spill),
        delais_table(data, f"Délais de réponse – {when}"),
        indicateurs_table(data, f"Indicateurs – {when}", linker),
        tendances_table(data, f"Tendances – {when}", context.past),
        anomalies,
    ]
    view = ConsolidatedView(today, tables, context.title, time_shown=time_shown)
    view.snapshot = snapshot(data)
    return view
