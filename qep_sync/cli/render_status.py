"""What ``status`` prints: health, the service, the next runs and the last ones."""

from __future__ import annotations

import datetime as dt

import click

from qep_sync.service.journal import RunRecord
from qep_sync.service.status import Status
from qep_sync.text import plural

STATUS_FR = {"running": "en cours", "ok": "réussi", "partial": "partiel", "error": "échec",
             "interrupted": "interrompu"}  # fmt: skip
KIND_FR = {"sync": "synchronisation", "alerts": "relances", "notice": "avertissement"}
SERVE_FR = {"running": "en marche", "stopped": "arrêté", "silent": "ne répond plus"}


def _when(moment: dt.datetime | None, now: dt.datetime) -> str:
    if moment is None:
        return "—"
    if moment.date() == now.date():
        return f"aujourd'hui à {moment:%H:%M}"
    if moment.date() == now.date() + dt.timedelta(days=1):
        return f"demain à {moment:%H:%M}"
    return f"le {moment:%d/%m/%Y à %H:%M}"


def _run_line(run: RunRecord) -> str:
    c = run.counts
    parts = [f"{run.started:%d/%m %H:%M}", f"{KIND_FR.get(run.kind, run.kind):<15}",
             f"{run.origin:<5}", f"{STATUS_FR.get(run.status, run.status):<10}"]  # fmt: skip
    parts.append(f"{run.seconds:5.0f} s" if run.seconds is not None else "      ")
    if run.kind == "sync":
        facts = f"sources {c['sources_read']}/{c['sources']}"
        if c["sources_failed"]:
            facts += f", {c['sources_failed']} en échec"
        if c["sources_skipped"]:
            facts += f", {plural(c['sources_skipped'], 'différée')}"
        facts += f", {plural(c['cells_written'], 'cellule')}"
    elif run.kind == "alerts":
        facts = plural(c["messages_sent"], "courriel envoyé", "courriels envoyés")
        if c["messages_failed"]:
            facts += f", {c['messages_failed']} en échec"
    else:
        facts = ""
    line = "  " + " ".join(parts) + "  " + facts
    if run.status in ("partial", "error", "interrupted") and run.message:
        text = run.message if len(run.message) <= 160 else run.message[:159] + "…"
        line += f"\n      {text}"
    return line


def render_status(st: Status, config_label: str) -> str:
    now = st.now
    mark = (
        click.style("OK", fg="green", bold=True)
        if st.health.healthy
        else click.style("EN ALERTE", fg="red", bold=True)
    )
    lines = [click.style(f"qep-sync — état de {config_label}", bold=True), "",
             f"Santé : {mark} — {st.health.message}"]  # fmt: skip
    if not st.health.healthy:
        lines.append(
            f"  (seuil : 2 × l'intervalle de synchronisation, soit "
            f"{st.health.limit_seconds / 60:.0f} min d'heures ouvrées)"
        )
    for kind, n in st.failures.items():
        if n:
            lines.append(f"Échecs consécutifs — {KIND_FR[kind]} : {n}")
    for f in st.failing_sources:
        lines.append(f"  source en échec : {f.get('source')} — {f.get('message')}")
    lines.append("")
    s = st.serve
    if s is None:
        lines.append("Service : qep-sync serve n'a jamais tourné dans cet espace de travail.")
    else:
        state = SERVE_FR[s.state]
        if s.state == "running":
            lines.append(f"Service : {state} depuis {_when(s.started, now)} "
                         f"(pid {s.pid} sur {s.host})")  # fmt: skip
            lines.append(f"Prochains passages : synchronisation {_when(s.next_sync, now)} ; "
                         f"relances {_when(s.next_alerts, now)}")  # fmt: skip
            if s.config_error:
                lines.append(click.style(
                    f"Configuration modifiée invalide (l'ancienne reste en service) : {s.config_error}",
                    fg="red"))  # fmt: skip
        elif s.state == "stopped":
            lines.append(f"Service : {state} {_when(s.stopped, now)}")
        else:
            lines.append(f"Service : {state} (dernier signe de vie {_when(s.beat, now)}, pid "
                         f"{s.pid} sur {s.host}) : arrêté brutalement ou bloqué ?")  # fmt: skip
    lines += ["", "Derniers passages :"]
    lines += [_run_line(r) for r in st.runs] or ["  aucun"]
    return "\n".join(lines) + "\n"
