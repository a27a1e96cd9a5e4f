"""The email that tells the quality lead a job of ``serve`` keeps failing.

Sent once per failure streak through the alerts' transport (SMTP, or the outbox folder
without ``[smtp]``), built with the alerts' ``compose`` (header values cleaned, a text and
an HTML part). French, short, and it says what to look at.
"""

from __future__ import annotations

import datetime as dt
import html
import socket

from qep_sync.alerts.transport import (
    RecipientRefused,
    SendFailed,
    Transport,
    compose,
    mailbox,
    open_transport,
)
from qep_sync.config import Config
from qep_sync.env import Environment
from qep_sync.errors import MailError
from qep_sync.service.journal import RunRecord
from qep_sync.text import plural

JOB_NAMES = {"sync": "la synchronisation", "alerts": "les relances"}


def failure_notice(
    config: Config, kind: str, streak: list[RunRecord], now: dt.datetime
) -> tuple[str, str, str]:
    """Subject, text and HTML of the email that tells the quality lead a job keeps failing."""
    name = JOB_NAMES[kind]
    first, last = streak[0], streak[-1]
    runs = plural(len(streak), "passage")
    subject = f"[qep-sync] {name.capitalize()} en échec depuis {runs}"
    latest = (
        "le dernier passage a" if len(streak) < 2 else f"les {len(streak)} derniers passages ont"
    )
    lines = [
        "Bonjour,",
        "",
        f"qep-sync n'arrive plus à faire {name} : {latest} échoué, "
        f"depuis le {first.started:%d/%m/%Y à %H:%M}.",
        "",
        f"Dernière erreur ({last.started:%d/%m/%Y %H:%M}) : {last.message or 'sans message'}",
    ]
    failed = last.details.get("failed") or last.details.get("failed_sources") or []
    if failed:
        lines += ["", "En échec au dernier passage :"]
        lines += [f"  - {f.get('source') or f.get('to')} : {f.get('message')}" for f in failed[:20]]
    where = f" -c {config.path}" if config.path else ""
    lines += [
        "",
        "Ce courriel n'est envoyé qu'une fois tant que l'échec dure ; les passages continuent et "
        f"le service reprendra seul une fois la cause levée. État du service : qep-sync status{where}. "
        "Le chapitre « Incidents » de docs/exploitation.md dit quoi faire selon le message (classeur "
        "verrouillé, courriel refusé, source en échec).",
        "",
        "-- ",
        f"qep-sync sur {socket.gethostname()}, {now:%d/%m/%Y %H:%M}",
    ]
    text = "\n".join(lines) + "\n"
    body = "".join(
        f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in text.strip().split("\n\n")
    )
    return subject, text, f"<!DOCTYPE html><html><body>{body}</body></html>"


def send_failure_notice(
    config: Config,
    kind: str,
    streak: list[RunRecord],
    now: dt.datetime,
    *,
    sender: Transport | None = None,
    env: Environment | None = None,
) -> str:
    """Send it; return where it went. Raises MailError when it could not be sent."""
    alerts = config.alerts
    if not alerts.quality_lead:
        raise MailError(
            "aucun destinataire pour l'avertissement de panne : renseignez alerts.quality_lead"
        )
    subject, text, body = failure_notice(config, kind, streak, now)
    message = compose(
        sender=mailbox(alerts.sender, alerts.sender_name),
        to=mailbox(alerts.quality_lead),
        subject=subject,
        text=text,
        html=body,
        now=now,
    )
    transport = sender or open_transport(config.smtp, alerts.sender, alerts.outbox, now, env)
    transport.open()
    try:
        place = transport.send(message, [alerts.quality_lead])
    except (RecipientRefused, SendFailed) as exc:
        raise MailError(
            f"avertissement de panne non envoyé à {alerts.quality_lead} : {exc}"
        ) from None
    finally:
        transport.close()
    return place or f"{alerts.quality_lead} ({transport.label})"
