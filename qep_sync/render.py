"""Text rendering of reports for a terminal (colours only when it is one)."""

from __future__ import annotations

import click

from qep_sync.report import Report, Severity

_LABEL = {Severity.ERROR: ("erreur", "red"), Severity.WARNING: ("attention", "yellow")}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"


def summary_line(report: Report) -> str:
    failed = len(report.failed_sources)
    parts = [_plural(len(report.sources), "source"), _plural(report.errors, "erreur"),
             _plural(report.warnings, "avertissement")]  # fmt: skip
    if failed:
        parts.append(f"{failed} illisible{'s' if failed > 1 else ''}")
    return ", ".join(parts)


def render_report(report: Report) -> str:
    """The check report grouped by service and sheet, most useful first."""
    lines = [
        click.style(f"Contrôle du {report.today:%d/%m/%Y} — {summary_line(report)}", bold=True),
        "",
    ]
    for src in report.sources:
        head = f"{src.service} — {src.name} ({src.source})" if src.name != src.service else (
            f"{src.service} ({src.source})"
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
            rows = _plural(sheet.rows, "ligne")
            if not findings:
                lines.append(f"  {sheet.sheet} ({rows}) : " + click.style("aucune anomalie", fg="green"))
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
        label, colour = _LABEL[f.severity]
        cell = f.cell or "—"
        out.append(f"    {cell:<7} {click.style(f'{label:<9}', fg=colour)} {f.message}")
    return out
