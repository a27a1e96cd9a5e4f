"""The sheets of the consolidated view that show time: Délais, Indicateurs, Tendances (§4).

Figures the trackers date themselves (letters received and answered, indicators by month)
are recomputed from the rows for every month; figures that only exist as a state at a
moment (late actions, expired documents, compliance, anomalies) come from the history's
snapshots (``history.Past``), the current month from this run.
"""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any

from qep_sync.jobs.figures import Figures, ServiceStats, folded
from qep_sync.jobs.history import Past
from qep_sync.jobs.links import Linker
from qep_sync.jobs.view import Chart, Column, Percentage, ViewTable
from qep_sync.text import MONTH_ABBREVIATIONS, fold
from qep_sync.vocabulary import CANALS, YES, ReplyStatus

MONTHS_SHOWN = 12


def months_until(today: dt.date, n: int = MONTHS_SHOWN) -> list[dt.date]:
    """The first days of the ``n`` months ending with ``today``'s, oldest first."""
    months = []
    year, month = today.year, today.month
    for _ in range(n):
        months.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def month_title(month: dt.date) -> str:
    return f"{MONTH_ABBREVIATIONS[month.month - 1]} {month.year}"


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# ---------------------------------------------------------------- Délais


def letters_by_month(data: Figures) -> dict[tuple[str, str, dt.date], dict[str, Any]]:
    """Letters by service, canal and month of reception; grouped once per ``data`` (Délais
    and Tendances both read them): not to be changed."""
    if data.letters is None:
        data.letters = _group_letters(data)
    return data.letters


def _group_letters(data: Figures) -> dict[tuple[str, str, dt.date], dict[str, Any]]:
    groups: dict[tuple[str, str, dt.date], dict[str, Any]] = {}
    months: dict[dt.date, dt.date] = {}  # day -> its month: letters share their days
    for v in data.of("courriers"):
        letters = zip(v.services, v.field("canal"), v.field("date_reception"),
                      v.owned("delai_jours_ouvres"), v.owned("dans_le_delai"), v.owned("statut"),
                      strict=True)  # fmt: skip
        for service, canal, received, delay, on_time, status in letters:
            if canal is None or received is None:
                continue  # an error of the sheet, listed in Anomalies
            month = months.get(received)
            if month is None:
                month = months[received] = received.replace(day=1)
            g = groups.get((service, canal, month))
            if g is None:
                g = groups[(service, canal, month)] = {"received": 0, "on_time": 0, "delays": [],
                                                       "late": 0, "waiting": 0}  # fmt: skip
            g["received"] += 1
            if on_time is not None:
                g["delays"].append(delay)
                g["on_time"] += on_time == YES
            elif status == ReplyStatus.LATE:
                g["late"] += 1
            elif status == ReplyStatus.WAITING:
                g["waiting"] += 1
    return groups


def delais_table(data: Figures, heading: str) -> ViewTable:
    first = months_until(data.today)[0]
    rank = data.services.rank()
    canal_rank = {c: i for i, c in enumerate(CANALS)}
    groups = {k: g for k, g in letters_by_month(data).items() if k[2] >= first}
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
        Column("Service", width=14), Column("Canal", width=13), Column("Mois", "month"),
        Column("Reçus", "int"), Column("Répondus", "int"),
        Column("Répondus dans le délai", "int"), Column("% dans le délai", "percent"),
        Column("Délai médian (jours ouvrés)", "number"),
        Column("En retard (sans réponse)", "int", colour="alarm"), Column("En attente", "int"),
    ]  # fmt: skip
    note = (f"Les {MONTHS_SHOWN} derniers mois, par mois de réception. Délai en jours ouvrés "
            "après la réception ; en retard : sans réponse après la date limite. L'évolution "
            "mois par mois est dans l'onglet Tendances.")  # fmt: skip
    return ViewTable("Délais", heading, note, columns, rows, frozen_columns=3)


# ---------------------------------------------------------------- Indicateurs


def _is_percent(measure: Any) -> bool:
    return bool(getattr(measure, "percent", False))


def _shown(value: Any, percent: bool) -> Any:
    return Percentage(value) if percent and isinstance(value, int | float) else value


def indicateurs_table(data: Figures, heading: str, linker: Linker) -> ViewTable:
    """Indicator × month: one line per service and indicator, its target and the last month."""
    months = months_until(data.today)
    lines: dict[tuple[str, str], dict[str, Any]] = {}
    for v in data.of("indicateurs"):
        measures = v.measures
        fields = [v.field(n) for n in ("indicateur", "periode", "valeur", "cible", "sens", "unite")]
        entries = zip(v.rows, v.services, *fields, v.owned("atteint"), strict=True)
        for row, service, name, period, value, target, sense, unit, reached in entries:
            if name is None or period is None:
                continue  # an error of the sheet, listed in Anomalies
            pct = _is_percent(measures.get((row, "valeur")))
            line = lines.setdefault((service, folded(name)), {
                "name": name, "values": {}, "latest": None, "unit": unit, "sense": sense})  # fmt: skip
            month = period.replace(day=1)
            line["values"][month] = _shown(value, pct)
            if line["latest"] is None or month >= line["latest"][0]:
                target_pct = _is_percent(measures.get((row, "cible")))
                line["latest"] = (
                    month,
                    _shown(target, target_pct),
                    reached,
                    linker.to(v.run.source, v.sheet, v.run_part, v.cell(row)),
                )
                line["unit"], line["sense"] = unit or line["unit"], sense or line["sense"]
    rank = data.services.rank()
    rows = []
    for (service, _key), line in sorted(lines.items(), key=lambda i: (i[0][1], rank[i[0][0]])):
        _, target, reached, link = line["latest"]
        rows.append([line["name"], service, line["unit"], line["sense"], target,
                     *(line["values"].get(m) for m in months), reached, link])  # fmt: skip
    columns = [
        Column("Indicateur", width=32, wrap=True), Column("Service", width=12),
        Column("Unité", width=8), Column("Sens", width=5), Column("Cible", "number", width=8),
        *(Column(month_title(m), "number", width=9) for m in months),
        Column("Atteint (dernier mois)", width=10, colour="status"),
        Column("Source (dernier mois)", width=28, wrap=True),
    ]  # fmt: skip
    charts, start = [], 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or fold(rows[i][0]) != fold(rows[start][0]):
            charts.append(Chart(str(rows[start][0]), category_column=1, kind="line",
                                rows=(start, i), columns=(5, 5 + len(months))))  # fmt: skip
            start = i
    note = ("Valeur de chaque indicateur par mois (les 12 derniers), sa cible et, pour le dernier "
            "mois renseigné, s'il est atteint selon le sens (≥ par défaut).")  # fmt: skip
    return ViewTable("Indicateurs", heading, note, columns, rows, frozen_columns=2,
                     charts=charts)  # fmt: skip


# ---------------------------------------------------------------- Tendances

# Figures of Tendances: title, how a service's stats give it, percent.
TREND_FIGURES: tuple[tuple[str, str, bool], ...] = (
    ("Actions en retard", "actions_late", False),
    ("Réponses dans le délai", "replies_on_time_rate", True),
    ("Documents caducs", "documents_expired", False),
    ("Engagements conformes", "compliance_rate", True),
    ("Anomalies (erreurs)", "errors", False),
)


def stat_value(stats: ServiceStats, figure: str) -> float | None:
    """A figure of a service's stats, rates included (None when there is nothing to rate)."""
    if figure == "replies_on_time_rate":
        return _ratio(stats.replies_on_time, stats.replies_answered)
    if figure == "compliance_rate":
        return _ratio(stats.engagements_compliant, stats.engagements_evaluated)
    return float(getattr(stats, figure))


def _replies_by_month(data: Figures) -> dict[tuple[str, dt.date], tuple[int, int]]:
    """(on time, answered) by service and month of reception, and by month for ``""`` (total)."""
    out: dict[tuple[str, dt.date], list[int]] = {}
    for (service, _, month), g in letters_by_month(data).items():
        for key in ((service, month), ("", month)):
            entry = out.setdefault(key, [0, 0])
            entry[0] += g["on_time"]
            entry[1] += len(g["delays"])
    return {k: (v[0], v[1]) for k, v in out.items()}


def tendances_table(data: Figures, heading: str, past: Past) -> ViewTable:
    months = months_until(data.today)
    current = months[-1]
    services = [s.code for s in data.services.ordered() if data.services.is_service(s.code)]
    total = ServiceStats()
    for code in data.stats:
        total.add(data.stats[code])
    replies = _replies_by_month(data)
    rows: list[list[Any]] = []
    charts = []
    for title, figure, percent in TREND_FIGURES:
        start = len(rows)
        for code in [*services, ""]:
            values: list[Any] = []
            for month in months:
                if figure == "replies_on_time_rate":
                    on_time, answered = replies.get((code, month), (0, 0))
                    value = _ratio(on_time, answered)
                elif month == current:
                    value = stat_value(total if not code else data.stats[code], figure)
                else:
                    value = past.at_month(month, code, figure)
                values.append(Percentage(value) if percent and value is not None else value)
            rows.append([title, code or "Total", *values])
        charts.append(Chart(title, category_column=1, kind="line", rows=(start, len(rows)),
                            columns=(2, 2 + len(months)), percent=percent))  # fmt: skip
    columns = [Column("Indicateur", width=22, wrap=True), Column("Service", width=12),
               *(Column(month_title(m), "number", width=9) for m in months)]  # fmt: skip
    note = ("Les 12 derniers mois. Réponses dans le délai : recalculées des tableaux, par mois de "
            "réception ; les autres chiffres : la situation de fin de mois enregistrée par qep-sync "
            "(vide avant le premier passage), le mois en cours : aujourd'hui.")  # fmt: skip
    return ViewTable("Tendances", heading, note, columns, rows, frozen_columns=2, charts=charts)
