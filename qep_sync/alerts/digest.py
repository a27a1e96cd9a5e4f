"""Digests: one email per recipient and run, grouped by service and kind, most urgent first.

``Digest`` gathers one person's deliveries; ``render_digest`` turns it into a subject, a plain
text part and an HTML part from the Jinja2 templates of ``templates/`` (``digest.txt.j2``,
``digest.html.j2``; HTML autoescaped: cell text never becomes markup). The quality lead's
digest starts with a summary and shows at most ``LEAD_LIMIT`` items per section, the most
urgent; the consolidated workbook holds the rest (docs/contract.md §5).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jinja2

from qep_sync.alerts.items import KINDS, AlertItem
from qep_sync.alerts.recipients import Delivery, Person
from qep_sync.config import Alerts
from qep_sync.core.services import ServiceIndex
from qep_sync.resources import data_dir
from qep_sync.text import french_date, french_day, number, plural

DATE_LABELS = {
    "action": "Échéance",
    "reponse": "Date limite de réponse",
    "document": "Prochaine échéance",
    "formalisation": "Date prévue de formalisation",
    "formation": "Date limite",
    "autoevaluation": "Prochaine évaluation",
}
SUBJECT_PREFIX = "[Qualité]"
SUBJECT_LIMIT = 79  # characters: a subject stays under 80 (list views and phones cut the rest)
LEAD_LIMIT = 20  # items per section in the quality lead's digest (the rest: consolidated workbook)
ESCALATED = "signalé au responsable du service"
# Sections of a digest, in order: (roles, anomalies, title, introduction, consolidated sheet).
SECTIONS: tuple[tuple[frozenset[str], bool, str, str, str], ...] = (
    (frozenset({"direct", "service"}), False, "Vos échéances",
     "Ce qui arrive à échéance ou l'a dépassée, dans les tableaux dont vous avez la charge.",
     "Échéances"),
    (frozenset({"direct", "service"}), True, "À corriger dans vos tableaux",
     "Des cellules que qep-sync n'a pas pu lire ou qui se contredisent : la colonne "
     "« Contrôle » de chaque ligne dit quoi corriger.", "Anomalies"),
    (frozenset({"escalation"}), False, "Retards dans votre service",
     "Ces échéances de votre service sont dépassées depuis plus de {escalation} jours : "
     "elles vous sont signalées comme responsable du service.", "Échéances"),
    (frozenset({"unroutable"}), False, "Sans destinataire",
     "Personne à qui envoyer ces éléments : ni adresse dans la ligne, ni correspondant qualité "
     "du service dans le tableau des correspondants.", "Échéances"),
    (frozenset({"unroutable"}), True, "Anomalies sans destinataire",
     "Anomalies de services sans correspondant qualité dans le tableau des correspondants.",
     "Anomalies"),
    (frozenset({"copy"}), False, "Copie : relances envoyées",
     "Pour information, les échéances signalées aujourd'hui aux services.", "Échéances"),
)  # fmt: skip
# What each section holds, counted in the lead's summary (singular, plural).
SECTION_COUNTS = (
    ("échéance à suivre", "échéances à suivre"),
    ("anomalie à corriger", "anomalies à corriger"),
    ("retard signalé", "retards signalés"),
    ("échéance sans destinataire", "échéances sans destinataire"),
    ("anomalie sans destinataire", "anomalies sans destinataire"),
    ("relance envoyée aux services", "relances envoyées aux services"),
)
# Each kind in a count (singular, plural), for the lead's summary per service.
KIND_COUNTS = {
    "action": ("action", "actions"),
    "reponse": ("réponse attendue", "réponses attendues"),
    "document": ("document à renouveler ou caduc", "documents à renouveler ou caducs"),
    "formalisation": ("document à formaliser", "documents à formaliser"),
    "formation": ("formation en retard", "formations en retard"),
    "autoevaluation": ("autoévaluation à refaire", "autoévaluations à refaire"),
    "anomalie": ("anomalie", "anomalies"),
}


@dataclass
class Digest:
    """Everything one person receives in one run."""

    to: Person
    deliveries: list[Delivery]
    notes: list[str] = field(default_factory=list)  # run notes (quality lead: failures…)
    sent_to: dict[str, list[Person]] = field(default_factory=dict)  # item id -> its recipients
    escalated: set[str] = field(default_factory=set)  # items whose head of service was told

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

    def subject(self) -> str:
        """Says what is inside, under 80 characters: « [Qualité] BAS : 3 en retard, 2 à venir »."""
        c = self.counts()
        parts = []
        if c["late"]:
            parts.append(f"{number(c['late'])} en retard")
        if c["soon"]:
            parts.append(f"{number(c['soon'])} à venir")
        if c["anomalies"]:
            parts.append(plural(c["anomalies"], "anomalie"))
        if c["copies"]:
            parts.append(f"{number(c['copies'])} en copie")
        codes = self.services
        where = codes[0] if len(codes) == 1 else plural(len(codes), "service")
        what = ", ".join(parts) or "relances"
        room = SUBJECT_LIMIT - len(f"{SUBJECT_PREFIX}  : {what}")
        if len(where) > room:  # a long code: cut it, never the counts
            where = where[: max(room - 1, 1)] + "…"
        return f"{SUBJECT_PREFIX} {where} : {what}"[:SUBJECT_LIMIT]


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
    consolidated: str | None = None  # the consolidated workbook as people reach it
    consolidated_link: str | None = None  # its file: link
    names: dict[str, str] = field(default_factory=dict)  # source code -> name (central ones)

    def is_lead(self, digest: Digest) -> bool:
        return self.lead is not None and self.lead.key == digest.to.key


def _when(item: AlertItem) -> str:
    if item.due is None or item.days is None:
        return f"Cellule {item.place.cell}" if item.place.cell else ""
    label = DATE_LABELS.get(item.kind, "Échéance")
    if item.days < 0:
        relative = f"dépassée de {plural(-item.days, 'jour')}"
    elif item.days == 0:
        relative = "aujourd'hui"
    elif item.days == 1:
        relative = "demain"
    else:
        relative = f"dans {item.days} jours"
    return f"{label} : {french_date(item.due)} ({relative})"


def _in_file(item: AlertItem) -> str:
    """The sheet and row after the file: « , onglet « Délais », ligne 21 »."""
    p = item.place
    parts = []
    if p.sheet:
        parts.append(f"onglet « {p.sheet} »")
    if p.row is not None:
        parts.append(f"ligne {p.row}")
    return "".join(f", {part}" for part in parts)


def _item_view(d: Delivery, digest: Digest) -> dict[str, Any]:
    item = d.item
    shown = item.place.shown or item.place.path
    others = [p for p in digest.sent_to.get(item.id, []) if p.key != digest.to.key]
    return {
        "title": item.title,
        "status": item.status,
        "when": _when(item),
        "file": shown,
        "place": _in_file(item),
        "where": shown + _in_file(item),
        "link": item.place.link,
        "url": item.place.link,
        "person": None if d.role == "direct" else item.person,  # not « Responsable : you »
        "late": item.late or item.severity == "error",
        "escalated": d.role != "escalation" and item.id in digest.escalated,
        "sent_to": ", ".join(p.name or p.email for p in others) if d.role == "copy" else "",
    }


def sections(digest: Digest, ctx: DigestContext) -> list[dict[str, Any]]:
    """The digest as the templates see it: sections of groups (service × kind) of items.

    In the quality lead's digest a section shows its ``LEAD_LIMIT`` most urgent items and
    says how many there are in all; the consolidated workbook lists every one.
    """
    limit = LEAD_LIMIT if ctx.is_lead(digest) else None
    out = []
    for roles, anomalies, title, intro, sheet in SECTIONS:
        chosen = sorted(
            (d for d in digest.deliveries
             if d.role in roles and (d.item.kind == "anomalie") == anomalies),
            key=_order,
        )  # fmt: skip
        if not chosen:
            continue
        shown = chosen[:limit] if limit else chosen
        totals = Counter((d.item.service, d.item.kind) for d in chosen)
        groups: dict[tuple[str, str], list[Delivery]] = defaultdict(list)
        for d in shown:
            groups[(d.item.service, d.item.kind)].append(d)
        rank = {code: i for i, code in enumerate(dict.fromkeys(k[0] for k in groups))}
        kind_rank = {k: i for i, k in enumerate(KINDS)}
        ordered = sorted(groups.items(), key=lambda g: (rank[g[0][0]], kind_rank[g[0][1]]))
        out.append(
            {
                "title": title,
                "intro": intro.format(escalation=ctx.alerts.escalation_days),
                "total": len(chosen),
                "more": len(chosen) - len(shown),
                "sheet": sheet,
                "groups": [
                    _group(code, kind, ds, totals[(code, kind)], digest, ctx)
                    for (code, kind), ds in ordered
                ],
            }
        )
    return out


def _group(
    code: str, kind: str, shown: list[Delivery], total: int, digest: Digest, ctx: DigestContext
) -> dict[str, Any]:
    count = str(total) if len(shown) == total else f"{len(shown)} sur {total}"
    return {
        "service": _service_label(code, ctx),
        "kind": KINDS[kind],
        "count": count,
        "entries": [_item_view(d, digest) for d in shown],
        "more": total - len(shown),
    }


def _service_label(code: str, ctx: DigestContext) -> str:
    name = ctx.services.name(code)
    if name == code:
        name = ctx.names.get(code, code)  # a central workbook: named by its source
    return code if name == code else f"{code} — {name}"


def summary(digest: Digest) -> dict[str, Any]:
    """The lead's summary: what each section holds, then the counts per service and kind."""
    totals = []
    for (roles, anomalies, *_), (one, many) in zip(SECTIONS, SECTION_COUNTS, strict=True):
        n = sum(1 for d in digest.deliveries
                if d.role in roles and (d.item.kind == "anomalie") == anomalies)  # fmt: skip
        if n:
            totals.append(plural(n, one, many))
    per_service: dict[str, Counter[str]] = defaultdict(Counter)
    for d in sorted(digest.deliveries, key=_order):
        per_service[d.item.service][d.item.kind] += 1
    kind_rank = list(KINDS)
    services = []
    for code, kinds in per_service.items():
        ordered = sorted(kinds, key=kind_rank.index)
        counts = ", ".join(plural(kinds[k], *KIND_COUNTS[k]) for k in ordered)
        services.append({"service": code, "counts": counts})
    return {"totals": ", ".join(totals), "services": services}


def _unbroken(text: str) -> str:
    """Guillemets kept on the line of their word (« Délais », not «⏎Délais »): no-break spaces."""
    return text.replace("« ", "«\u00a0").replace(" »", "\u00a0»")


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(data_dir("templates")),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["unbroken"] = _unbroken
    return env


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render_digest(digest: Digest, ctx: DigestContext) -> Rendered:
    """Subject, text part and HTML part of a digest."""
    subject = digest.subject()
    lead = ctx.lead
    values = {
        "subject": subject,
        "greeting": f"Bonjour {digest.to.name}," if digest.to.name else "Bonjour,",
        "day": french_day(ctx.today),
        "summary": summary(digest) if ctx.is_lead(digest) else None,
        "sections": sections(digest, ctx),
        "notes": digest.notes,
        "escalated_words": ESCALATED,
        "consolidated": ctx.consolidated,
        "consolidated_link": ctx.consolidated_link,
        "sender_name": ctx.alerts.sender_name,
        "lead": None if lead is None or lead.key == digest.to.key else lead.name or lead.email,
        "lead_email": None if lead is None else lead.email,
    }
    env = _environment()
    text = env.get_template("digest.txt.j2").render(values)
    html = env.get_template("digest.html.j2").render(values)
    return Rendered(subject, text, html)
