"""The figures of the bilan annuel (docs/contract.md §8), as tables the document lays out.

``bilan(check, year, as_of, past)`` reads the run's figures through ``figures.read_figures``
(the consolidated view's one code path) and the consolidated view itself, computed on the
same data and date: a figure the bilan shares with the view (late actions, expired
documents, compliance, the letters of a month) is the view's, never computed twice.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from qep_sync.jobs.check import CheckRun
from qep_sync.jobs.consolidate import ViewContext, consolidate
from qep_sync.jobs.figures import Figures, read_figures
from qep_sync.jobs.history import Past
from qep_sync.jobs.trends import letters_by_month, month_title
from qep_sync.jobs.view import Column, ConsolidatedView, Percentage, ViewTable
from qep_sync.text import MONTHS, fold
from qep_sync.vocabulary import (
    CANALS,
    EVALUATED_LEVELS,
    ActionState,
    ActionStatus,
    DocumentState,
    DocumentStatus,
    Level,
    TrainingStatus,
)


@dataclass
class Bilan:
    """The bilan's tables in the document's order, and what it says about missing history."""

    year: int
    as_of: dt.date
    view: ConsolidatedView
    tables: dict[str, ViewTable] = field(default_factory=dict)
    history_since: dt.date | None = None  # the first snapshot of the year, if any
    notes: list[str] = field(default_factory=list)

    def table(self, key: str) -> ViewTable:
        return self.tables[key]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _in(year: int, value: Any) -> bool:
    return isinstance(value, dt.date) and value.year == year


def as_of_date(year: int, today: dt.date) -> dt.date:
    """The bilan of a year is the situation on 31 December, or today for the current year."""
    return min(today, dt.date(year, 12, 31))


def bilan(check: CheckRun, year: int, as_of: dt.date, context: ViewContext) -> Bilan:
    """Every table of the bilan of ``year``, as of ``as_of`` (tables computed for that date)."""
    view = consolidate(check, as_of, context=context)
    data = read_figures(check, as_of)
    result = Bilan(year, as_of, view)
    t = result.tables
    t["canaux"], t["mois"] = _letters(data, year)
    t["autoevaluation"] = _assessment(view, context.past, year, result)
    t["actions_origine"], t["actions_service"], t["actions_engagement"] = _actions(data, year)
    t["documents"] = _documents(data, year)
    t["formations"] = _trainings(data, year)
    t["indicateurs"] = _indicators(data, year)
    t["anomalies"] = _anomalies(view, year)
    t["objectifs"] = _objectives(view, data, year)
    return result


# ---------------------------------------------------------------- letters


def _letters(data: Figures, year: int) -> tuple[ViewTable, ViewTable]:
    groups = letters_by_month(data)
    by_canal: dict[str, dict[str, Any]] = {}
    by_month: dict[int, dict[str, Any]] = {m: {"received": 0, "on_time": 0, "delays": []}
                                           for m in range(1, 13)}  # fmt: skip
    for (_, canal, month), g in groups.items():
        if month.year != year:
            continue
        c = by_canal.setdefault(canal, {"received": 0, "on_time": 0, "delays": [], "late": 0})
        for target in (c, by_month[month.month]):
            target["received"] += g["received"]
            target["on_time"] += g["on_time"]
            target["delays"] += g["delays"]
        c["late"] += g["late"]
    order = {canal: i for i, canal in enumerate(CANALS)}
    rows, total = [], {"received": 0, "on_time": 0, "delays": [], "late": 0}
    for canal, c in sorted(by_canal.items(), key=lambda i: order.get(i[0], 99)):
        rows.append(_letter_row(canal, c))
        for k in total:
            total[k] += c[k]
    columns = [Column("Canal", width=14), Column("Reçus", "int"), Column("Répondus", "int"),
               Column("Répondus dans le délai", "int"), Column("% dans le délai", "percent"),
               Column("Délai médian (jours ouvrés)", "number"),
               Column("Sans réponse, en retard", "int")]  # fmt: skip
    canals = ViewTable("Courriers", f"Courriers, courriels et réclamations reçus en {year}",
                       "Par canal ; délai en jours ouvrés après la réception.", columns, rows,
                       _letter_row("Total", total))  # fmt: skip
    months = [[f"{MONTHS[m - 1]} {year}", g["received"], len(g["delays"]), g["on_time"],
               _ratio(g["on_time"], len(g["delays"]))] for m, g in by_month.items()]  # fmt: skip
    month_columns = [Column("Mois", width=16), Column("Reçus", "int"), Column("Répondus", "int"),
                     Column("Répondus dans le délai", "int"),
                     Column("% dans le délai", "percent")]  # fmt: skip
    monthly = ViewTable("Mois", f"Mois par mois en {year}", "Par mois de réception.",
                        month_columns, months)  # fmt: skip
    return canals, monthly


def _letter_row(label: str, c: dict[str, Any]) -> list[Any]:
    answered = len(c["delays"])
    delays = [d for d in c["delays"] if d is not None]
    return [label, c["received"], answered, c["on_time"], _ratio(c["on_time"], answered),
            statistics.median(delays) if delays else None, c["late"]]  # fmt: skip


# ---------------------------------------------------------------- self-assessment


def _assessment(view: ConsolidatedView, past: Past, year: int, result: Bilan) -> ViewTable:
    """The consolidated level of each engagement (the view's) and its level at the start of
    the year (the year's first snapshot)."""
    start = min((m for m in past.months if m.year == year), default=None)
    before = past.months.get(start, {}) if start else {}
    levels_then = {k[1]: v for k, v in before.items() if k[0] == "engagement"}
    result.history_since = start
    if start is None:
        result.notes.append(
            f"Aucun historique enregistré en {year} : l'évolution des niveaux sur l'année ne "
            "peut pas être donnée (qep-sync l'enregistre à chaque synchronisation)."
        )
    elif start.month > 1:
        result.notes.append(
            f"L'historique commence en {MONTHS[start.month - 1]} {year} : l'évolution des "
            f"niveaux est donnée depuis ce mois-là, pas depuis janvier."
        )
    rows = []
    for r in view.table("Engagements").rows:
        module, number, title, level = r[0], r[1], r[2], r[3]
        then = levels_then.get(f"{module}|{number}")
        rows.append([number, title, then, level, _trend(then, level)])
    columns = [Column("N°", "int", width=5), Column("Engagement", width=60, wrap=True),
               Column("Niveau en début de période", width=16, wrap=True),
               Column("Niveau consolidé", width=16, wrap=True),
               Column("Évolution", width=12)]  # fmt: skip
    since = f"{MONTHS[start.month - 1]} {year}" if start else "—"
    return ViewTable("Autoévaluation", f"Autoévaluation par engagement, {year}",
                     f"Début de période : {since} ; niveau consolidé : le plus faible des "
                     "niveaux évalués des services.", columns, rows)  # fmt: skip


_RANK = {level: i for i, level in enumerate(reversed(EVALUATED_LEVELS))}  # Conforme = 0


def _trend(then: Any, now: Any) -> str | None:
    if then not in _RANK or now not in _RANK:
        return None
    if _RANK[now] < _RANK[then]:
        return "en progrès"
    return "en recul" if _RANK[now] > _RANK[then] else "stable"


# ---------------------------------------------------------------- actions


def _actions(data: Figures, year: int) -> tuple[ViewTable, ViewTable, ViewTable]:
    counts: dict[str, dict[Any, list[int]]] = {"origine": defaultdict(lambda: [0, 0, 0, 0]),
                                               "service": defaultdict(lambda: [0, 0, 0, 0]),
                                               "engagement": defaultdict(lambda: [0, 0, 0, 0])}  # fmt: skip
    for v in data.of("plan_actions"):
        for svc, origin, number, start, done, state, status in zip(
            v.services, v.field("origine"), v.field("engagement"), v.field("date_debut"),
            v.field("date_realisation"), v.field("etat"), v.owned("statut"), strict=True,
        ):  # fmt: skip
            figures = (_in(year, start), _in(year, done), status == ActionStatus.LATE,
                       state == ActionState.ABANDONED)  # fmt: skip
            keys = {"origine": origin or "Non renseignée", "service": svc,
                    "engagement": int(number) if number is not None else None}  # fmt: skip
            for axis, key in keys.items():
                entry = counts[axis][key]
                for i, f in enumerate(figures):
                    entry[i] += f
    titles = ["Ouvertes dans l'année", "Réalisées dans l'année", "En retard", "Abandonnées"]

    def table(axis: str, label: str, key: Any) -> ViewTable:
        rows: list[list[Any]] = [[k, *c] for k, c in sorted(counts[axis].items(), key=key)]
        total = ["Total", *(sum(r[i + 1] for r in rows) for i in range(4))]
        columns = [Column(label, width=30, wrap=True), *(Column(t, "int") for t in titles)]
        return ViewTable(f"Actions par {axis}", f"Plan d'actions par {label.lower()}, {year}",
                         "Ouvertes : date de début dans l'année ; réalisées : date de "
                         "réalisation dans l'année ; en retard : à la date du bilan.",
                         columns, rows, total)  # fmt: skip

    rank = data.services.rank()
    return (table("origine", "Origine", lambda i: fold(i[0])),
            table("service", "Service", lambda i: rank.get(i[0], 99)),
            table("engagement", "Engagement", lambda i: (i[0] is None, i[0] or 0)))  # fmt: skip


# ---------------------------------------------------------------- documents and trainings


def _first_version(version: Any) -> bool:
    text = str(version or "").strip().lower().lstrip("v").replace(",", ".")
    return text in ("", "1", "1.0", "1.00")


def _documents(data: Figures, year: int) -> ViewTable:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for v in data.of("documents"):
        for svc, state, updated, version, status in zip(
            v.services, v.field("etat"), v.field("date_mise_a_jour"), v.field("version"),
            v.owned("statut"), strict=True,
        ):  # fmt: skip
            entry = counts[svc]
            valid = state == DocumentState.VALIDATED and _in(year, updated)
            entry[0] += valid and _first_version(version)
            entry[1] += valid and not _first_version(version)
            entry[2] += status == DocumentStatus.EXPIRED
            entry[3] += status == DocumentStatus.TO_RENEW
    rank = data.services.rank()
    rows: list[list[Any]] = [
        [k, *c] for k, c in sorted(counts.items(), key=lambda i: rank.get(i[0], 99))
    ]
    total = ["Total", *(sum(r[i + 1] for r in rows) for i in range(4))]
    columns = [Column("Service", width=16), Column("Formalisés dans l'année", "int"),
               Column("Renouvelés dans l'année", "int"), Column("Caducs", "int"),
               Column("À renouveler", "int")]  # fmt: skip
    note = (
        "Formalisé : validé dans l'année en première version ; renouvelé : validé dans "
        "l'année en version suivante ; caducs et à renouveler : à la date du bilan."
    )
    return ViewTable("Documents", f"Documents, {year}", note, columns, rows, total)


def _trainings(data: Figures, year: int) -> ViewTable:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for v in data.of("formations"):
        for svc, arrived, done, limit, status in zip(
            v.services, v.field("date_arrivee"), v.field("date_realisee"), v.owned("date_limite"),
            v.owned("statut"), strict=True,
        ):  # fmt: skip
            entry = counts[svc]
            entry[0] += _in(year, done)
            entry[1] += status == TrainingStatus.LATE
            newcomer = _in(year, arrived)
            entry[2] += newcomer
            entry[3] += newcomer and done is not None and limit is not None and done <= limit
    rank = data.services.rank()
    rows: list[list[Any]] = [[k, *c, _ratio(c[3], c[2])]
                             for k, c in sorted(counts.items(), key=lambda i: rank.get(i[0], 99))]  # fmt: skip
    sums = [sum(r[i + 1] for r in rows) for i in range(4)]
    columns = [Column("Service", width=16), Column("Réalisées dans l'année", "int"),
               Column("En retard", "int"), Column("Arrivés dans l'année", "int"),
               Column("dont formés dans le délai", "int"),
               Column("% des arrivants formés dans le délai", "percent")]  # fmt: skip
    return ViewTable("Formations", f"Formations, {year}",
                     "Délai : rules.formation_delai_mois après l'arrivée (Date limite).",
                     columns, rows, ["Total", *sums, _ratio(sums[3], sums[2])])  # fmt: skip


# ---------------------------------------------------------------- indicators


def _indicators(data: Figures, year: int) -> ViewTable:
    lines: dict[tuple[str, str], dict[str, Any]] = {}
    for v in data.of("indicateurs"):
        measures = v.measures
        for row, svc, name, period, value, target, reached, source in zip(
            v.rows, v.services, v.field("indicateur"), v.field("periode"), v.field("valeur"),
            v.field("cible"), v.owned("atteint"), v.field("source"), strict=True,
        ):  # fmt: skip
            if name is None or not _in(year, period):
                continue
            line = lines.setdefault((svc, fold(name)), {"name": name, "months": 0, "reached": 0,
                                                        "last": None, "survey": False})  # fmt: skip
            line["months"] += 1
            line["reached"] += reached == "Oui"
            line["survey"] |= fold(source or "") == "sphinx" or "satisfaction" in fold(name)
            if line["last"] is None or period >= line["last"][0]:
                pct = getattr(measures.get((row, "valeur")), "percent", False)
                pct_target = getattr(measures.get((row, "cible")), "percent", False)
                line["last"] = (period, _pct(value, pct), _pct(target, pct_target), reached)
    rank = data.services.rank()
    rows = []
    for (svc, _), line in sorted(lines.items(), key=lambda i: (i[0][1], rank.get(i[0][0], 99))):
        period, value, target, reached = line["last"]
        rows.append([line["name"], svc, "oui" if line["survey"] else None, target,
                     line["months"], line["reached"], month_title(period.replace(day=1)), value,
                     reached])  # fmt: skip
    columns = [Column("Indicateur", width=34, wrap=True), Column("Service", width=12),
               Column("Enquête de satisfaction", width=11), Column("Cible", "number"),
               Column("Mois renseignés", "int"), Column("Mois où la cible est atteinte", "int"),
               Column("Dernier mois", width=11), Column("Dernière valeur", "number"),
               Column("Atteint (dernier mois)", width=10)]  # fmt: skip
    return ViewTable("Indicateurs", f"Indicateurs et cibles, {year}",
                     "Enquête de satisfaction : indicateur de source SPHINX ou dont le nom dit "
                     "la satisfaction.", columns, rows)  # fmt: skip


def _pct(value: Any, percent: bool) -> Any:
    return Percentage(value) if percent and isinstance(value, int | float) else value


# ---------------------------------------------------------------- anomalies and objectives


def _anomalies(view: ConsolidatedView, year: int) -> ViewTable:
    """The errors of each month of the year, from Tendances (the history's month ends)."""
    trends = view.table("Tendances")
    header = [c.title for c in trends.columns]
    total = next(r for r in trends.rows if r[0] == "Anomalies (erreurs)" and r[1] == "Total")
    rows = [[title, value] for title, value in zip(header[2:], total[2:], strict=True)
            if title.endswith(str(year))]  # fmt: skip
    columns = [Column("Mois", width=14), Column("Erreurs relevées (fin de mois)", "number")]
    return ViewTable("Anomalies", f"Anomalies des tableaux de suivi, {year}",
                     "Erreurs relevées dans les tableaux à la fin de chaque mois (historique de "
                     "qep-sync ; vide avant le premier passage).", columns, rows)  # fmt: skip


def _objectives(view: ConsolidatedView, data: Figures, year: int) -> ViewTable:
    """A draft of next year's objectives from what is open, late or not compliant."""
    rows: list[list[Any]] = []
    synthese = view.table("Synthèse")
    total = synthese.total or []
    header = [c.title for c in synthese.columns]

    def figure(title: str) -> Any:
        return total[header.index(title)] if title in header else None

    late = figure("Actions en retard") or 0
    if late:
        rows.append(["Plan d'actions", f"Solder les {late} actions en retard au "
                     f"{view.today:%d/%m/%Y}", late])  # fmt: skip
    for r in view.table("Engagements").rows:
        if r[3] in (Level.NON_COMPLIANT, Level.PARTIAL):
            rows.append(["Autoévaluation", f"Engagement n° {r[1]} ({r[3].lower()}) : atteindre "
                         f"la conformité — {r[2]}", 1])  # fmt: skip
    expired = (figure("Documents caducs") or 0) + (figure("Documents à renouveler") or 0)
    if expired:
        rows.append(["Documents", f"Mettre à jour les {expired} documents caducs ou à "
                     "renouveler", expired])  # fmt: skip
    trainings = figure("Formations en retard") or 0
    if trainings:
        rows.append(["Formations", f"Former les {trainings} agents en retard de formation",
                     trainings])  # fmt: skip
    rate = figure("Réponses dans le délai")
    if isinstance(rate, float) and rate < 1:
        rows.append(["Délais de réponse", f"Porter la part des réponses dans le délai "
                     f"au-delà de {rate:.0%} (taux de {year})", None])  # fmt: skip
    missed = [r for r in _indicators(data, year).rows if r[8] == "Non"]
    for r in missed:
        rows.append(["Indicateurs", f"{r[0]} ({r[1]}) : atteindre la cible", None])
    columns = [Column("Thème", width=18), Column("Objectif proposé (projet à compléter)",
                                                  width=70, wrap=True),
               Column("Nombre", "int")]  # fmt: skip
    return ViewTable("Objectifs", f"Objectifs proposés pour {year + 1} — projet",
                     "Projet établi par qep-sync à partir de ce qui reste ouvert ou en retard : "
                     "à reprendre et compléter par le référent qualité avant le COPIL.",
                     columns, rows)  # fmt: skip
