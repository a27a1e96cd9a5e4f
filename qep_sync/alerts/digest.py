"""Digests: one email per recipient and run, grouped by service and kind, most urgent first.

``Digest`` gathers one person's deliveries; ``render_digest`` turns it into a subject, a plain
text part and an HTML part from the Jinja2 templates of ``templates/`` (``digest.txt.j2``,
``digest.html.j2``; HTML autoescaped: cell text never becomes markup).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jinja2

from qep_sync.alerts.items import KINDS, AlertItem
from qep_sync.alerts.recipients import Delivery, Person
from qep_sync.config import Alerts
from qep_sync.core.services import ServiceIndex
from qep_sync.resources import data_dir
from qep_sync.text import french_date, french_day

DATE_LABELS = {
    "action": "Échéance",
    "reponse": "Date limite de réponse",
    "document": "Prochaine échéance",
    "formalisation": "Date prévue de formalisation",
    "formation": "Date limite",
    "autoevaluation": "Prochaine évaluation",
}
SUBJECT_PREFIX = "[Qualité]"
COPY_LIMIT = 30  # items shown per service and kind in the lead's copy (the rest: a count)
# Sections of a digest, in order: (role(s), kinds, title, introduction).
SECTIONS: tuple[tuple[frozenset[str], bool, str, str], ...] = (
    (frozenset({"direct", "service"}), False, "Vos échéances",
     "Ce qui arrive à échéance ou l'a dépassée, dans les tableaux dont vous avez la charge."),
    (frozenset({"direct", "service"}), True, "À corriger dans vos tableaux",
     "Des cellules que qep-sync n'a pas pu lire ou qui se contredisent : la colonne "
     "« Contrôle » de chaque ligne dit quoi corriger."),
    (frozenset({"escalation"}), False, "Retards signalés au chef de service",
     "Ces échéances sont dépassées depuis plus de {escalation} jours dans votre service."),
    (frozenset({"unroutable"}), False, "Sans destinataire",
     "Personne à qui envoyer ces éléments : ni adresse dans la ligne, ni correspondant qualité "
     "du service dans le tableau des correspondants."),
    (frozenset({"unroutable"}), True, "Anomalies sans destinataire",
     "Anomalies de services sans correspondant qualité dans le tableau des correspondants."),
    (frozenset({"copy"}), False, "Copie : relances envoyées",
     "Pour information, les échéances signalées aujourd'hui aux services."),
)  # fmt: skip


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


@dataclass
class Digest:
    """Everything one person receives in one run."""

    to: Person
    deliveries: list[Delivery]
    notes: list[str] = field(default_factory=list)  # run notes (quality lead: failures…)
    sent_to: dict[str, list[str]] = field(default_factory=dict)  # item id -> its recipients

    @property
    def urgency(self) -> tuple[int, int]:
        return min((d.item.urgency for d in self.deliveries), default=(2, 0))

    @property
    def services(self) -> list[str]:
        """The services the digest speaks of, the most urgent first."""
        return list(dict.fromkeys(d.item.service for d in sorted(self.deliveries, key=_order)))

    def counts(self) -> dict[str, int]:
        own = [d.item for d in self.deliveries if d.role != "copy"]
        deadlines = [i for i in own if i.kind != "anomalie"]
        return {
            "late": sum(1 for i in deadlines if i.late),
            "soon": sum(1 for i in deadlines if not i.late),
            "anomalies": len(own) - len(deadlines),
            "copies": sum(1 for d in self.deliveries if d.role == "copy"),
        }

    def subject(self, services: ServiceIndex) -> str:
        """Says what is inside: « [Qualité] 3 échéances dépassées, 2 à venir — Bureau de … »."""
        c = self.counts()
        parts = []
        if c["late"]:
            parts.append(_plural(c["late"], "échéance dépassée", "échéances dépassées"))
        if c["soon"]:
            parts.append(f"{c['soon']} à venir")
        if c["anomalies"]:
            parts.append(_plural(c["anomalies"], "anomalie à corriger", "anomalies à corriger"))
        if c["copies"]:
            parts.append(f"copie de {_plural(c['copies'], 'relance')}")
        codes = self.services
        where = services.name(codes[0]) if len(codes) == 1 else _plural(len(codes), "service")
        return f"{SUBJECT_PREFIX} {', '.join(parts) or 'relances'} — {where}"


def _order(d: Delivery) -> tuple[Any, ...]:
    return (d.item.urgency, d.item.service, d.item.id)


def group_digests(deliveries: list[Delivery]) -> dict[str, Digest]:
    """One digest per address (case ignored), in the order of the first delivery of each."""
    digests: dict[str, Digest] = {}
    for d in deliveries:
        digest = digests.get(d.to.key)
        if digest is None:
            digests[d.to.key] = digest = Digest(d.to, [])
        digest.deliveries.append(d)
    return digests


@dataclass(frozen=True)
class DigestContext:
    """What every digest of a run shares."""

    today: dt.date
    services: ServiceIndex
    alerts: Alerts
    lead: Person | None


def _when(item: AlertItem) -> str:
    if item.due is None or item.days is None:
        return f"Cellule {item.place.cell}" if item.place.cell else ""
    label = DATE_LABELS.get(item.kind, "Échéance")
    if item.days < 0:
        relative = f"dépassée de {_plural(-item.days, 'jour')}"
    elif item.days == 0:
        relative = "aujourd'hui"
    elif item.days == 1:
        relative = "demain"
    else:
        relative = f"dans {item.days} jours"
    return f"{label} : {french_date(item.due)} ({relative})"


def _where(item: AlertItem) -> str:
    p = item.place
    parts = [p.url or p.path]
    if p.sheet:
        parts.append(f"onglet « {p.sheet} »")
    if p.row is not None:
        parts.append(f"ligne {p.row}")
    return ", ".join(parts)


def _item_view(d: Delivery, digest: Digest) -> dict[str, Any]:
    item = d.item
    url = item.place.url if (item.place.url or "").startswith("https://") else None
    return {
        "title": item.title,
        "status": item.status,
        "when": _when(item),
        "where": _where(item),
        "url": url,
        "person": None if d.role == "direct" else item.person,  # not « Responsable : you »
        "late": item.late or item.severity == "error",
        "escalated": item.escalate and d.role != "escalation",
        "sent_to": ", ".join(digest.sent_to.get(item.id, [])),
    }


def sections(digest: Digest, ctx: DigestContext) -> list[dict[str, Any]]:
    """The digest as the templates see it: sections of groups (service × kind) of items."""
    out = []
    for roles, anomalies, title, intro in SECTIONS:
        chosen = [
            d for d in digest.deliveries
            if d.role in roles and (d.item.kind == "anomalie") == anomalies
        ]  # fmt: skip
        if not chosen:
            continue
        groups: dict[tuple[str, str], list[Delivery]] = defaultdict(list)
        for d in sorted(chosen, key=_order):
            groups[(d.item.service, d.item.kind)].append(d)
        rank = {code: i for i, code in enumerate(dict.fromkeys(k[0] for k in groups))}
        kind_rank = {k: i for i, k in enumerate(KINDS)}
        ordered = sorted(groups.items(), key=lambda g: (rank[g[0][0]], kind_rank[g[0][1]]))
        out.append(
            {
                "title": title,
                "intro": intro.format(escalation=ctx.alerts.escalation_days),
                "groups": [_group(code, kind, ds, digest, ctx) for (code, kind), ds in ordered],
            }
        )
    return out


def _group(
    code: str, kind: str, deliveries: list[Delivery], digest: Digest, ctx: DigestContext
) -> dict[str, Any]:
    """One service × kind group; a copy group shows its first COPY_LIMIT items and a count."""
    shown = deliveries
    if deliveries[0].role == "copy":
        shown = deliveries[:COPY_LIMIT]
    return {
        "service": _service_label(code, ctx.services),
        "kind": KINDS[kind],
        "count": len(deliveries),
        "entries": [_item_view(d, digest) for d in shown],
        "more": len(deliveries) - len(shown),
    }


def _service_label(code: str, services: ServiceIndex) -> str:
    name = services.name(code)
    return code if name == code else f"{code} — {name}"


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(data_dir("templates")),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render_digest(digest: Digest, ctx: DigestContext) -> Rendered:
    """Subject, text part and HTML part of a digest."""
    subject = digest.subject(ctx.services)
    lead = ctx.lead
    values = {
        "subject": subject,
        "greeting": f"Bonjour {digest.to.name}," if digest.to.name else "Bonjour,",
        "day": french_day(ctx.today),
        "sections": sections(digest, ctx),
        "notes": digest.notes,
        "sender_name": ctx.alerts.sender_name,
        "lead": None if lead is None or lead.key == digest.to.key else lead.name or lead.email,
        "lead_email": None if lead is None else lead.email,
    }
    env = _environment()
    text = env.get_template("digest.txt.j2").render(values)
    html = env.get_template("digest.html.j2").render(values)
    return Rendered(subject, text, html)
