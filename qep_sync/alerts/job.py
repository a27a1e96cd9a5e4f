"""The `alerts` job: items → recipients → what is still to send → digests → transport → store.

Library entry point: ``run_alerts(config, today, dry_run=..., now=...) -> AlertRun``. A dry run
reads the store but writes nothing and sends nothing. A sending run holds a lock, opens one
connection, sends one digest per recipient (at most ``alerts.max_messages``), records each
message as soon as the server has accepted it, and ends with the quality lead's digest, which
tells what the others received.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from qep_sync import places
from qep_sync.alerts.digest import Digest, DigestContext, group_digests, render_digest
from qep_sync.alerts.items import ANOMALY_STEP, AlertItem, build_items
from qep_sync.alerts.recipients import Delivery, Person, build_directory, route
from qep_sync.alerts.store import STORE_NAME, AlertStore, Sent, run_lock
from qep_sync.alerts.transport import (
    RecipientRefused,
    SendFailed,
    Transport,
    compose,
    mailbox,
    open_transport,
)
from qep_sync.config import Config
from qep_sync.core.findings import Finding, Severity
from qep_sync.env import Environment
from qep_sync.errors import MailError
from qep_sync.jobs.check import CheckRun, run_check
from qep_sync.jobs.outcome import RunSummary
from qep_sync.text import plural
from qep_sync.workdays import calendar_of


@dataclass
class Outcome:
    """One digest of the run: to whom, what, and what became of it."""

    digest: Digest
    subject: str
    status: str  # planned (dry run), sent, failed, deferred (cap reached)
    message: str = ""
    location: str | None = None  # the .eml file, with the outbox
    text: str = ""  # the text part, as sent (or as it would be)

    def to_dict(self) -> dict[str, Any]:
        return {
            "to": self.digest.to.email,
            "name": self.digest.to.name,
            "subject": self.subject,
            "status": self.status,
            "message": self.message,
            "file": self.location,
            "items": [_delivery_dict(d, self.digest) for d in self.digest.deliveries],
        }


def _delivery_dict(d: Delivery, digest: Digest) -> dict[str, Any]:
    item, place = d.item, d.item.place
    return {
        "id": item.id, "kind": item.kind, "role": d.role, "step": d.step,
        "service": item.service, "title": item.title, "status": item.status,
        "due": item.due.isoformat() if item.due else None, "days": item.days,
        "source": place.source, "sheet": place.sheet, "row": place.row, "cell": place.cell or None,
        "url": place.url, "path": place.shown or None, "link": place.link,
        "escalated": d.role != "escalation" and item.id in digest.escalated,
    }  # fmt: skip


@dataclass
class AlertRun:
    """What ``alerts`` did (or would do, with ``dry_run``)."""

    today: dt.date
    dry_run: bool
    transport: str  # « serveur SMTP host:port » or « dossier … »
    check: CheckRun
    items: list[AlertItem] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    held_until: dt.date | None = None  # not a working day: nothing sent before this day
    error: str | None = None  # the transport could not be opened

    @property
    def failed(self) -> bool:
        """Some recipient did not get its digest (refused, server down); retried next run."""
        return self.error is not None or any(o.status == "failed" for o in self.outcomes)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "today": self.today.isoformat(),
            "dry_run": self.dry_run,
            "transport": self.transport,
            "held_until": self.held_until.isoformat() if self.held_until else None,
            "error": self.error,
            "summary": {
                "items": len(self.items),
                "digests": len(self.outcomes),
                **{s: self.count(s) for s in ("planned", "sent", "failed", "deferred")},
            },
            "digests": [o.to_dict() for o in self.outcomes],
            "findings": [f.to_dict() for f in self.findings],
        }


def _pending(
    deliveries: list[Delivery], store: AlertStore, today: dt.date, every: int
) -> list[Delivery]:
    """Deliveries not yet sent; an anomaly is told again ``every`` days while it stays."""
    sent = store.sent_on((d.item.id, d.step, d.to.key) for d in deliveries)
    out = []
    for d in deliveries:
        day = sent.get((d.item.id, d.step, d.to.key))
        if day is None or (d.step == ANOMALY_STEP and every and (today - day).days >= every):
            out.append(d)
    return out


def _lost_findings(lost: list[AlertItem]) -> list[Finding]:
    return [
        Finding(item.place.source, item.service, item.place.sheet, item.place.cell, "", "",
                f"relance sans destinataire (ni adresse dans la ligne, ni correspondant, ni "
                f"alerts.quality_lead) : {item.title}", Severity.WARNING, item.place.row)
        for item in lost
    ]  # fmt: skip


class _Sending:
    """One sending run: the transport, the store, and what has been sent so far."""

    def __init__(self, run: AlertRun, transport: Transport | None, store: AlertStore,
                 ctx: DigestContext, now: dt.datetime, sender: str) -> None:  # fmt: skip
        self.run, self.transport, self.store = run, transport, store
        self.ctx, self.now, self.sender = ctx, now, sender
        self.lost_connection: str | None = None
        self.done: set[tuple[str, str]] = set()  # (item id, step) delivered in this run

    def deliver(self, digest: Digest) -> Outcome:
        rendered = render_digest(digest, self.ctx)
        outcome = Outcome(digest, rendered.subject, "planned", text=rendered.text)
        self.run.outcomes.append(outcome)
        if self.transport is None:  # dry run
            self.done.update((d.item.id, d.item.step_key) for d in digest.deliveries)
            return outcome
        if self.lost_connection:
            outcome.status, outcome.message = "failed", self.lost_connection
            return outcome
        message = compose(
            sender=mailbox(self.sender, self.ctx.alerts.sender_name),
            to=mailbox(digest.to.email, digest.to.name),
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            now=self.now,
        )
        try:
            outcome.location = self.transport.send(message, [digest.to.email])
        except RecipientRefused as exc:
            outcome.status, outcome.message = "failed", str(exc)
            return outcome
        except SendFailed as exc:
            outcome.status, outcome.message = "failed", str(exc)
            if exc.lost:
                self.lost_connection = f"non envoyé : {exc}"
            return outcome
        outcome.status = "sent"
        self.record(digest, str(message["Message-ID"]))
        return outcome

    def record(self, digest: Digest, message_id: str) -> None:
        rows = [
            Sent(d.item.id, d.step, d.to.key, d.role, self.run.today, self.now, message_id)
            for d in digest.deliveries
        ]
        try:
            self.store.record(rows)
        except (sqlite3.Error, OSError) as exc:  # sent, not recorded: stop; only this one repeats
            raise MailError(
                f"courriel envoyé à {digest.to.email} mais non enregistré ({exc}) : envoi arrêté ; "
                "il sera renvoyé une fois au prochain passage"
            ) from exc
        self.done.update((d.item.id, d.item.step_key) for d in digest.deliveries)


def _send_all(
    sending: _Sending, deliveries: list[Delivery], pending: list[Delivery], lead: Person | None,
    cap: int,
) -> None:  # fmt: skip
    """Everyone's digest, most urgent first, within the cap; then the quality lead's.

    The heads of service go first among those sent this run: a digest then says
    « signalé au responsable du service » only of an escalation already sent (this run or
    an earlier one), never of one that failed or waits for the next run.
    """
    primary = [d for d in pending if d.role != "copy"]
    copies = [d for d in pending if d.role == "copy"]
    pending_keys = {(d.item.id, d.step, d.to.key) for d in pending}
    escalated = {
        d.item.id for d in deliveries
        if d.role == "escalation" and (d.item.id, d.step, d.to.key) not in pending_keys
    }  # fmt: skip
    digests = group_digests(primary)
    lead_own = digests.pop(lead.key) if lead is not None and lead.key in digests else None
    others = sorted(digests.values(), key=lambda g: (g.urgency, g.to.key))
    room = max(cap - (1 if lead is not None and (lead_own or copies) else 0), 0)
    for digest in sorted(others[:room], key=lambda g: not _escalates(g)):  # stable: urgency
        digest.escalated = set(escalated)
        outcome = sending.deliver(digest)
        if outcome.status in ("sent", "planned"):
            escalated.update(d.item.id for d in digest.deliveries if d.role == "escalation")
    for digest in others[room:]:
        sending.run.outcomes.append(
            Outcome(digest, digest.subject(), "deferred", f"plafond de {cap} courriels atteint")
        )
    if lead is None or cap == 0:
        return
    delivered = set(sending.done)
    recipients: dict[str, list[Person]] = {}
    for d in deliveries:
        if d.role in ("direct", "service"):
            recipients.setdefault(d.item.id, []).append(d.to)
            if (d.item.id, d.step, d.to.key) not in pending_keys:
                delivered.add((d.item.id, d.item.step_key))  # sent by an earlier run
    told = [d for d in copies if (d.item.id, d.item.step_key) in delivered]
    digest = Digest(lead, (lead_own.deliveries if lead_own else []) + told)
    digest.sent_to = recipients
    digest.escalated = escalated
    failed = sending.run.count("failed")
    deferred = sending.run.count("deferred")
    if failed:
        digest.notes.append(f"{plural(failed, 'courriel non envoyé', 'courriels non envoyés')} "
                            "(voir le compte rendu de qep-sync alerts) : nouvel essai au prochain "
                            "passage.")  # fmt: skip
    if deferred:
        digest.notes.append(f"{plural(deferred, 'courriel reporté', 'courriels reportés')} au "
                            f"prochain passage : plafond de {cap} courriels par passage "
                            "(alerts.max_messages).")  # fmt: skip
    if digest.deliveries:
        sending.deliver(digest)


def _escalates(digest: Digest) -> bool:
    return any(d.role == "escalation" for d in digest.deliveries)


def run_alerts(
    config: Config,
    today: dt.date,
    *,
    dry_run: bool,
    now: dt.datetime,
    sender: Transport | None = None,
    check: CheckRun | None = None,
    env: Environment | None = None,
) -> AlertRun:
    """Build the digests of ``today`` and send them (or, with ``dry_run``, only show them).

    ``sender``: the transport (default: SMTP when configured, else the outbox folder);
    ``check``: a run already read (``sync`` then ``alerts``) whose tables are not read again;
    ``env``: where the SMTP password variable is looked up (default: the process environment).
    """
    alerts = config.alerts
    if check is None or not check.whole:  # a sync that found nothing new kept no table
        check = run_check(config, today)
    check.unpark()  # a sync parks each source's tables once it is written
    check.compute(today, config)
    cal = calendar_of(config)
    transport = sender
    if transport is None and not dry_run:
        transport = open_transport(config.smtp, alerts.sender, alerts.outbox, now, env)
    label = transport.label if transport else (
        f"serveur SMTP {config.smtp.host}:{config.smtp.port}" if config.smtp
        else f"dossier {alerts.outbox}"
    )  # fmt: skip
    services = check.services
    directory = build_directory(check, alerts, services)
    run = AlertRun(today, dry_run, label, check, build_items(check, config, today, services))
    run.findings.extend(directory.findings)
    if not alerts.send_on_non_working_days and not cal.is_working_day(today):
        run.held_until = cal.next_working_day(today)
        return run
    deliveries, lost = route(run.items, directory, alerts)
    run.findings.extend(_lost_findings(lost))
    ctx = DigestContext(
        today, services, alerts, directory.lead,
        places.shown(config.consolidated, config) if config.consolidated else None,
        places.file_url(config.consolidated, config) if config.consolidated else None,
        {s.service: s.name for s in config.sources},
    )  # fmt: skip
    path = config.state_dir / STORE_NAME
    if dry_run:
        store = AlertStore(path, readonly=True)
        try:
            pending = _pending(deliveries, store, today, alerts.late_every_days)
            sending = _Sending(run, None, store, ctx, now, alerts.sender)
            _send_all(sending, deliveries, pending, directory.lead, alerts.max_messages)
        finally:
            store.close()
        return run
    assert transport is not None
    with run_lock(config.state_dir):
        store = AlertStore(path)
        try:
            pending = _pending(deliveries, store, today, alerts.late_every_days)
            if not pending:
                return run
            try:
                transport.open()
            except MailError as exc:
                run.error = str(exc)
                for digest in group_digests([d for d in pending if d.role != "copy"]).values():
                    run.outcomes.append(Outcome(digest, digest.subject(), "failed", run.error))
                return run
            try:
                sending = _Sending(run, transport, store, ctx, now, alerts.sender)
                _send_all(sending, deliveries, pending, directory.lead, alerts.max_messages)
            finally:
                transport.close()
        finally:
            store.close()
    return run


def summarize_alerts(run: AlertRun) -> RunSummary:
    """The counts, and the messages not sent, of an alerts run."""
    report = run.check.report
    failed = [o for o in run.outcomes if o.status == "failed"]
    counts = {
        "sources": len(report.sources),
        "sources_read": len(report.sources) - len(report.failed_sources),
        "sources_failed": len(report.failed_sources),
        "errors": report.errors,
        "warnings": report.warnings,
        "messages_sent": run.count("sent"),
        "messages_failed": len(failed),
    }
    details: dict[str, Any] = {
        "transport": run.transport,
        "items": len(run.items),
        "deferred": run.count("deferred"),
        "held_until": run.held_until.isoformat() if run.held_until else None,
        "error": run.error,
        "failed": [{"to": o.digest.to.email, "message": o.message} for o in failed],
        "failed_sources": [{"source": s.source, "message": s.error}
                           for s in report.failed_sources],
    }  # fmt: skip
    if run.error:
        message = run.error
    elif failed:
        message = (f"{plural(len(failed), 'courriel non envoyé', 'courriels non envoyés')} : "
                   f"{failed[0].message}")  # fmt: skip
    elif run.held_until:
        message = f"jour non ouvré : relances reportées au {run.held_until:%d/%m/%Y}"
    else:
        sent = plural(counts["messages_sent"], "courriel envoyé", "courriels envoyés")
        message = f"{sent} ({run.transport})"
    return RunSummary("partial" if run.failed else "ok", counts, message, details)
