"""The outcome of an alerts run, for a terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from qep_sync.text import french_day, plural

if TYPE_CHECKING:  # the alerts job loads the data libraries: only its type here
    from qep_sync.alerts.job import AlertRun

ITEMS_SHOWN = 6  # per recipient, in a dry run
_MARK = {
    "sent": ("✓", "green"),
    "planned": ("→", "cyan"),
    "failed": ("✗", "red"),
    "deferred": ("…", "yellow"),
}


def _headline(run: AlertRun) -> str:
    day = french_day(run.today)
    if run.dry_run:
        n = run.count("planned")
        return (f"Simulation des relances du {day} — {plural(n, 'courriel')} à envoyer "
                f"({run.transport}) ; rien n'est envoyé ni enregistré")  # fmt: skip
    sent = run.count("sent")
    return f"Relances du {day} — {plural(sent, 'courriel envoyé', 'courriels envoyés')} ({run.transport})"


def render_alerts(run: AlertRun, *, items_shown: int = ITEMS_SHOWN) -> str:
    """Who got (or would get) what, what failed, and why nothing was sent when nothing was."""
    lines = [click.style(_headline(run), bold=True), ""]
    if run.held_until is not None:
        lines.append(
            f"Jour non ouvré : aucune relance aujourd'hui ; elles partiront le "
            f"{french_day(run.held_until)} (alerts.send_on_non_working_days = false)."
        )
    elif run.error:
        lines.append(click.style(f"✗ {run.error}", fg="red"))
        lines.append("  Rien n'a été enregistré : tout sera retenté au prochain passage.")
    elif not run.outcomes:
        lines.append("Rien à envoyer : aucune nouvelle relance à ce jour (celles déjà parties "
                     "ne sont pas renvoyées).")  # fmt: skip
    for outcome in run.outcomes if not run.error else []:
        mark, colour = _MARK[outcome.status]
        to = outcome.digest.to
        who = f"{to.email} ({to.name})" if to.name else to.email
        lines.append(f"  {click.style(mark, fg=colour)} {who}")
        lines.append(f"      {outcome.subject}")
        if outcome.location:
            lines.append(f"      fichier : {outcome.location}")
        if outcome.message:
            lines.append("      " + click.style(outcome.message, fg=colour))
        if run.dry_run and items_shown:
            deliveries = outcome.digest.deliveries
            for d in deliveries[:items_shown]:
                what = f"{d.item.status} · {d.item.title}"
                lines.append(f"        • {what if len(what) <= 90 else what[:89] + '…'}")
            if len(deliveries) > items_shown:
                lines.append(f"        … et {plural(len(deliveries) - items_shown, 'autre')}")
    if run.findings:
        lines.append("")
        for f in run.findings:
            where = f"{f.source}, {f.sheet}" + (f", ligne {f.row}" if f.row else "")
            label = f"{f.severity.label} : "
            colour = "yellow" if f.severity == "warning" else "red"
            lines.append(click.style(label, fg=colour) + f"{where} : {f.message}")
    failed = run.count("failed")
    if failed and not run.error:
        lines += [
            "",
            f"{plural(failed, 'courriel non envoyé', 'courriels non envoyés')} : nouvel essai au "
            "prochain passage.",
        ]
    return "\n".join(lines) + "\n"
