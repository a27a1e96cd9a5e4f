"""The quality lead's consolidated view (docs/contract.md §4), as plain data: six tables and two charts.

``consolidate(check, today) -> ConsolidatedView`` turns a checked run, whose tables carry their
computed columns (``sync`` fills them), into one table per sheet, from the figures of
``figures.read_figures``. The workbook itself is written by ``consolidated_workbook.py``.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable
from typing import Any

from qep_sync.clock import PARIS
from qep_sync.core.findings import Severity
from qep_sync.jobs.check import CheckRun, SourceRun
from qep_sync.jobs.figures import Figures, ServiceStats, TrackerRows, read_figures
from qep_sync.jobs.view import Chart, Column, ConsolidatedView, Percentage, ViewTable
from qep_sync.text import fold
from qep_sync.vocabulary import (
    CANALS,
    EVALUATED_LEVELS,
    OPEN_STATUSES,
    YES,
    Level,
    ReplyStatus,
)

HORIZON_DAYS = 30  # Échéances lists what is late or due within this many days
# Échéances: the kind of each line, in the order of a day's lines, and its tracker.
KINDS = {"action": "plan_actions", "document": "documents", "formation": "formations",
         "réponse": "courriers", "autoévaluation": "autoevaluation"}  # fmt: skip


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
    if run.source.path is None:
        return None
    try:
        return _paris(run.source.path.stat().st_mtime_ns)
    except OSError:
        return None


def _source_status(run: SourceRun) -> str:
    return f"illisible : {run.report.error}" if run.report.error else "lue"


def _synthese(data: Figures, heading: str) -> ViewTable:
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
    total = ServiceStats()
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
    return ViewTable("Synthèse", heading, note, columns, rows, total_row, 1, charts)


def _figures(s: ServiceStats) -> list[Any]:
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


def _engagements(data: Figures, heading: str) -> ViewTable:
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
    return ViewTable("Engagements", heading, note, columns, rows, frozen_columns=4)


def _delais(data: Figures, heading: str) -> ViewTable:
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
    return ViewTable("Délais", heading, note, columns, rows, frozen_columns=3)


def _indicateurs(data: Figures, heading: str) -> ViewTable:
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
    return ViewTable("Indicateurs", heading, note, columns, rows, frozen_columns=2)


def _is_percent(measure: Any) -> bool:
    return bool(getattr(measure, "percent", False))


def _shown(value: Any, percent: bool) -> Any:
    return Percentage(value) if percent and isinstance(value, int | float) else value


def _label(*parts: Any) -> str:
    return " – ".join(str(p) for p in parts if p not in (None, ""))


def _echeances(data: Figures, heading: str) -> ViewTable:
    """Every open item late or due within HORIZON_DAYS, soonest first, with its place."""
    items: list[list[Any]] = []
    horizon = data.today + dt.timedelta(days=HORIZON_DAYS)

    def add(kind: str, v: TrackerRows, row: int, service: str, label: str, due: Any, status: Any,
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
    return ViewTable("Échéances", heading, note, columns, items, frozen_columns=1)


def _anomalies(check: CheckRun, data: Figures, heading: str) -> ViewTable:
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
    return ViewTable("Anomalies", heading, note, columns, rows, frozen_columns=1)


def consolidate(
    check: CheckRun, today: dt.date, generated: dt.datetime | None = None
) -> ConsolidatedView:
    """The six tables of the consolidated view, from a run whose tables carry computed values."""
    data = read_figures(check, today)
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
    return ConsolidatedView(today, tables)
