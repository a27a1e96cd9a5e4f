"""The `report` job: the bilan annuel as an editable .docx and its figures workbook (§8).

``run_report(config, year, today, output)`` reads every source as of the bilan's date
(31 December, or today for the current year), takes the history as it is (it records
nothing), computes the tables of ``yearly.bilan`` and lays them out: the document in
``documents.Document``, its charts in ``charts``, one sheet per table in the workbook.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from qep_sync.config import Config
from qep_sync.errors import UsageError, WriteBackError
from qep_sync.files import os_reason
from qep_sync.jobs import charts
from qep_sync.jobs.check import CheckRun, run_check
from qep_sync.jobs.consolidate import ViewContext, last_change
from qep_sync.jobs.documents import Document, write_tables
from qep_sync.jobs.history import HISTORY_NAME, History, HistoryError, Past, source_key
from qep_sync.jobs.trends import months_until
from qep_sync.jobs.yearly import Bilan, as_of_date, bilan

FIRST_YEAR = 2000


@dataclass
class ReportRun:
    year: int
    as_of: dt.date
    document: Path
    workbook: Path
    notes: list[str] = field(default_factory=list)
    failed_sources: list[str] = field(default_factory=list)


def past_of(config: Config, check: CheckRun, as_of: dt.date) -> Past:
    """What the history says, read without recording anything; empty without a history."""
    if config.path is None or not (config.state_dir / HISTORY_NAME).is_file():
        return Past()
    seen = {source_key(run.source): last_change(run) for run in check.sources}
    try:
        with History(config.state_dir) as history:
            return history.past(as_of, config.copil_dates, months_until(as_of), seen)
    except HistoryError:
        return Past()


def check_as_of(config: Config, as_of: dt.date) -> CheckRun:
    check = run_check(config, as_of)
    check.compute(as_of, config)
    return check


def output_folder(config: Config, output: Path | None) -> Path:
    folder = output or (config.path.parent if config.path else Path.cwd())
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} n'est pas un dossier : indiquez un dossier avec --output")
    return folder


def run_report(config: Config, year: int, today: dt.date, output: Path | None = None) -> ReportRun:
    if not FIRST_YEAR <= year <= today.year:
        raise UsageError(f"année {year} : indiquez une année passée ou en cours "
                         f"({FIRST_YEAR} à {today.year})")  # fmt: skip
    folder = output_folder(config, output)
    as_of = as_of_date(year, today)
    check = check_as_of(config, as_of)
    context = ViewContext.of(config, past_of(config, check, as_of))
    result = bilan(check, year, as_of, context)
    if not _has_data(result):
        raise UsageError(f"aucune donnée pour {year} dans les tableaux ni dans l'historique : "
                         "pas de bilan à établir pour cette année")  # fmt: skip
    name = f"Bilan qualité {year}"
    run = ReportRun(year, as_of, folder / f"{name}.docx", folder / f"{name} - chiffres.xlsx",
                    list(result.notes),
                    [r.source.label for r in check.sources if r.report.error])  # fmt: skip
    try:
        _document(result, config, today).save(run.document)
        write_tables(list(result.tables.values()), run.workbook)
    except OSError as exc:
        raise WriteBackError(f"{folder} : écriture impossible ({os_reason(exc)})") from None
    return run


def _has_data(result: Bilan) -> bool:
    """Whether the year has anything dated in it: letters, actions, documents, trainings,
    indicators, or snapshots of the history."""
    t = result.tables

    def dated(key: str, columns: int) -> bool:
        total = t[key].total or []
        return any(isinstance(v, int) and v > 0 for v in total[1 : 1 + columns])

    return bool(
        dated("canaux", 1) or dated("actions_origine", 2) or dated("documents", 2)
        or (t["formations"].total or [0, 0, 0, 0])[1] or (t["formations"].total or [0] * 4)[3]
        or t["indicateurs"].rows or result.history_since
    )  # fmt: skip


def _document(result: Bilan, config: Config, today: dt.date) -> Document:
    year, t = result.year, result.tables
    prefecture = config.prefecture or "Préfecture"
    doc = Document(
        f"Bilan annuel de la démarche qualité {year}",
        f"{prefecture} — label Qual-e-pref",
        [f"Situation au {result.as_of:%d/%m/%Y}",
         f"Projet établi le {today:%d/%m/%Y} par qep-sync, à relire et compléter "
         "par le référent qualité avant sa présentation au COPIL."],
    )  # fmt: skip
    doc.heading(f"1. L'année {year} en chiffres")
    doc.paragraph(
        "Courriers, courriels, réclamations et suggestions reçus dans l'année, leurs réponses "
        "et leurs délais, d'après les tableaux de suivi des délais des services."
    )
    doc.heading("Par canal", 2)
    doc.table(t["canaux"])
    if t["canaux"].rows:
        doc.image(charts.on_time_by_canal(t["canaux"]), 13)
    doc.heading("Mois par mois", 2)
    doc.table(t["mois"])
    doc.image(charts.letters_by_month(t["mois"]))
    doc.heading("2. L'autoévaluation")
    for note in result.notes:
        doc.paragraph(note, italic=True)
    doc.image(charts.levels(t["autoevaluation"]), 12)
    doc.table(t["autoevaluation"])
    doc.heading("3. Le plan d'actions")
    doc.heading("Par origine", 2)
    doc.table(t["actions_origine"])
    if t["actions_origine"].rows:
        doc.image(charts.actions(t["actions_origine"]), 14)
    doc.heading("Par service", 2)
    doc.table(t["actions_service"])
    doc.heading("Par engagement", 2)
    doc.table(t["actions_engagement"])
    doc.heading("4. Les documents")
    doc.table(t["documents"])
    doc.heading("5. Les formations")
    doc.table(t["formations"])
    doc.heading("6. Les indicateurs")
    doc.table(t["indicateurs"])
    doc.heading("7. Les anomalies des tableaux de suivi")
    doc.table(t["anomalies"])
    if any(r[1] is not None for r in t["anomalies"].rows):
        doc.image(charts.anomalies(t["anomalies"]), 14)
    doc.heading(f"8. Objectifs proposés pour {year + 1} (projet)")
    doc.paragraph(
        "PROJET — à reprendre par le référent qualité : ces objectifs sont déduits de ce qui "
        "reste ouvert, en retard ou non conforme ; ajoutez, retirez, reformulez.",
        bold=True,
    )
    doc.table(t["objectifs"], note=False)
    return doc
