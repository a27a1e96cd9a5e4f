"""What ``check``, ``sync`` and ``demo`` print: text for a terminal (colours only on one)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from qep_sync.cli.render_alerts import render_alerts
from qep_sync.core.findings import Report, Severity
from qep_sync.text import plural

if TYPE_CHECKING:  # the jobs load the data libraries: only their types here
    from qep_sync.jobs.sync import SyncRun
    from qep_sync.workspace.demo import DemoRun

_COLOUR = {Severity.ERROR: "red", Severity.WARNING: "yellow"}


def summary_line(report: Report) -> str:
    """« 10 sources, 3 erreurs, 2 points d'attention »: one word per severity, as in « Contrôle »."""
    failed = len(report.failed_sources)
    parts = [
        plural(len(report.sources), "source"),
        plural(report.errors, Severity.ERROR.label.lower()),
        plural(report.warnings, "point d'attention", "points d'attention"),
    ]
    if failed:
        parts.append(plural(failed, "illisible"))
    return ", ".join(parts)


def render_report(report: Report) -> str:
    """The check report grouped by service and sheet, most useful first."""
    lines = [
        click.style(f"Contrôle du {report.today:%d/%m/%Y} — {summary_line(report)}", bold=True),
        "",
    ]
    for src in report.sources:
        head = (
            f"{src.service} — {src.name} ({src.source})"
            if src.name != src.service
            else (f"{src.service} ({src.source})")
        )
        lines.append(click.style(head, bold=True))
        if src.error:
            lines.append("  " + click.style(f"✗ source non lue : {src.error}", fg="red"))
            lines.append("")
            continue
        by_sheet: dict[str, list] = {}
        for f in src.findings:
            by_sheet.setdefault(f.sheet, []).append(f)
        shown = set()
        for sheet in src.sheets:
            shown.add(sheet.sheet)
            findings = by_sheet.get(sheet.sheet, [])
            rows = plural(sheet.rows, "ligne")
            if not findings:
                lines.append(
                    f"  {sheet.sheet} ({rows}) : " + click.style("aucune anomalie", fg="green")
                )
                continue
            lines.append(f"  {sheet.sheet} ({rows}) :")
            lines.extend(_finding_lines(findings))
        for sheet_title, findings in by_sheet.items():
            if sheet_title not in shown:  # a sheet that could not be laid out
                lines.append(f"  {sheet_title} :")
                lines.extend(_finding_lines(findings))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _finding_lines(findings: list) -> list[str]:
    ordered = sorted(findings, key=lambda f: (f.severity is not Severity.ERROR, f.row or 0, f.cell))
    out = []
    for f in ordered:
        label, colour = f.severity.label.lower(), _COLOUR[f.severity]
        cell = f.cell or "—"
        out.append(f"    {cell:<7} {click.style(f'{label:<9}', fg=colour)} {f.message}")
    return out


_WRITE_STATUS = {
    "written": ("{n} écrite{s}", "green"),
    "unchanged": ("à jour, fichier non modifié", None),
    "planned": ("{n} à modifier (simulation, rien n'est écrit)", "cyan"),
    "skipped": ("ignoré ce passage : {message}", "yellow"),
    "failed": ("échec de l'écriture : {message}", "red"),
    "not-read": ("non lu : {message}", "red"),
}
DRY_RUN_EXAMPLES = 8


def _cells(n: int) -> str:
    return plural(n, "cellule")


def render_sync(run: SyncRun) -> str:
    """Per file: what sync wrote, would write (--dry-run), skipped or failed."""
    report = run.check.report
    title = "Simulation de synchronisation" if run.dry_run else "Synchronisation"
    lines = [
        click.style(f"{title} du {report.today:%d/%m/%Y} — {summary_line(report)}", bold=True),
        "",
    ]
    for w in run.writes:
        template, colour = _WRITE_STATUS[w.status]
        text = template.format(n=_cells(w.cells), s="s" if w.cells >= 2 else "", message=w.message)
        lines.append(f"  {w.source} : " + (click.style(text, fg=colour) if colour else text))
        if w.changes:
            by_sheet: dict[str, list[dict[str, Any]]] = {}
            for change in w.changes:
                by_sheet.setdefault(change["sheet"], []).append(change)
            for sheet, changes in by_sheet.items():
                lines.append(f"      {sheet} : {_cells(len(changes))}")
                for change in changes[:DRY_RUN_EXAMPLES]:
                    text = str(change["value"])
                    text = text if len(text) <= 70 else text[:69] + "…"
                    value = "(vidée)" if change["value"] is None else f"« {text} »"
                    lines.append(f"        {change['cell']:<7} ← {value}")
                if len(changes) > DRY_RUN_EXAMPLES:
                    lines.append(f"        … et {plural(len(changes) - DRY_RUN_EXAMPLES, 'autre')}")
    if run.consolidated:
        c = run.consolidated
        state = {"written": "à jour", "skipped": "non modifiée", "failed": "échec"}[c.status]
        colour = {"written": "green", "skipped": "yellow", "failed": "red"}[c.status]
        lines += ["", f"Consolidation ({click.style(state, fg=colour)}) : {c.path}"]
        if c.status != "written":
            lines.append(f"  {c.message}")
    if report.errors or report.warnings:
        lines += [
            "",
            "Le détail des anomalies est dans la colonne « Contrôle » de chaque onglet "
            "(ou : qep-sync check).",
        ]
    return "\n".join(lines) + "\n"


PREVIEW_LINES = 28


def render_demo(demo: DemoRun) -> str:
    """The demo's check report, what its sync wrote, its reminders, and where to look."""
    synced = demo.sync
    written = [w for w in synced.writes if w.status == "written"]
    cells = sum(w.cells for w in written)
    lines = [render_report(synced.check.report).rstrip("\n"), "",
             f"Synchronisation : {plural(cells, 'cellule calculée écrite', 'cellules calculées écrites')} "
             f"dans {plural(len(written), 'classeur')} "
             "(colonnes à en-tête vert à droite de chaque tableau, et « Contrôle »)."]  # fmt: skip
    if synced.consolidated:
        lines.append(f"Consolidation pour le référent qualité : {synced.consolidated.path}")
    today = synced.check.report.today
    lines += [
        "",
        f"Espace de démonstration : {demo.directory.resolve()}",
        f"  classeurs des services : {demo.services_dir}",
        f"  classeurs de la mission qualité : {demo.central_dir}",
        f"  configuration : {demo.config_path}",
        "Les anomalies ci-dessus ont été placées exprès dans les données de démonstration.",
        f"Relancer : qep-sync sync -c {demo.config_path} --today {today}",
        "",
        render_alerts(demo.alerts).rstrip(),
    ]
    if demo.sample is not None:
        body = demo.sample.text.splitlines()
        lines += ["", click.style(f"Aperçu d'un courriel ({demo.sample.subject}) :", bold=True)]
        lines += ["  │ " + line for line in body[:PREVIEW_LINES]]
        if len(body) > PREVIEW_LINES:
            lines.append(f"  │ … ({plural(len(body) - PREVIEW_LINES, 'ligne')} de plus)")
    lines += [
        "",
        "Courriels de relance (fichiers .eml, à ouvrir avec la messagerie) : "
        f"{demo.config.alerts.outbox}",
    ]
    made = demo.deliverables
    if made is not None:
        lines += [
            "",
            f"Livrables du référent qualité ({made.folder}) :",
            f"  bilan annuel {made.report.year} : {made.report.document.name} "
            f"(et ses chiffres : {made.report.workbook.name})",
            f"  dossier de preuves pour l'audit : {made.audit.document.name} "
            f"et {made.audit.workbook.name}",
            f"  export PILOTE ({made.pilote.month_name}) : {made.pilote.path.name}, "
            f"{plural(len(made.pilote.rows), 'indicateur')}",
        ]
    return "\n".join(lines) + "\n"
