"""Who gets each alert item: the row's own address, else the service's correspondent, the head
of service when a delay drags on, and the quality lead (copy, and whatever has nobody else).

Addresses come from cells, so each is checked before use; a bad one is a finding (the
correspondants row's own « Contrôle »), never a crash, and the item falls back to the next
recipient in line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.headerregistry import Address
from functools import lru_cache

from qep_sync.alerts.items import AlertItem
from qep_sync.config import Alerts
from qep_sync.core.findings import Finding, Severity
from qep_sync.core.services import ServiceIndex
from qep_sync.jobs.check import CheckRun
from qep_sync.text import clean, is_email

# Why someone receives an item, strongest first: one person gets an item once, in its
# strongest role (the quality lead responsible for an action gets it as hers, not as a copy).
ROLES = ("direct", "service", "escalation", "unroutable", "copy")
ESCALATION_STEP = "escalade"


@dataclass(frozen=True)
class Person:
    """A recipient: a checked address and, when known, a name (both from cells or config)."""

    email: str
    name: str | None = None

    @property
    def key(self) -> str:
        return self.email.lower()


@dataclass(frozen=True)
class Delivery:
    """One item for one person, in one role; what the store records once sent."""

    item: AlertItem
    to: Person
    role: str

    @property
    def step(self) -> str:
        """The step this delivery stands for: a head of service is told once per deadline."""
        if self.role == "escalation":
            return f"{self.item.due.isoformat() if self.item.due else ''}/{ESCALATION_STEP}"
        return self.item.step_key


@lru_cache(maxsize=4096)  # a few hundred people, thousands of rows
def valid_address(text: str) -> str | None:
    """The address, trimmed, when a mail server would take it as a recipient; else None."""
    address = text.strip()
    if not is_email(address):
        return None
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError, HeaderParseError):
        return None
    return address


@dataclass
class Directory:
    """The correspondants tracker, by service, and the quality lead."""

    correspondents: dict[str, list[Person]] = field(default_factory=dict)
    heads: dict[str, list[Person]] = field(default_factory=dict)
    lead: Person | None = None
    findings: list[Finding] = field(default_factory=list)


def build_directory(check: CheckRun, alerts: Alerts, services: ServiceIndex) -> Directory:
    """Correspondents and heads of service per service code; the lead from the config, else the
    « Référent qualité » of the tracker."""
    directory = Directory()
    referents: list[Person] = []
    names: dict[str, str] = {}
    for run in check.sources:
        for table in run.tables:
            if table.tracker != "correspondants":
                continue
            for row in table.frame.index:
                raw, role = table.value(row, "email"), table.value(row, "role")
                if raw is None or role is None:
                    continue  # missing or invalid: already a finding of the sheet
                address = valid_address(str(raw))
                if address is None:
                    directory.findings.append(
                        Finding(run.source.label, run.source.service, table.sheet.title, "", "",
                                str(raw), f"adresse électronique refusée « {raw} »",
                                Severity.ERROR, int(row), "correspondants")
                    )  # fmt: skip
                    continue
                name = table.value(row, "nom")
                person = Person(address, clean(str(name)) if name else None)
                if person.name:
                    names.setdefault(person.key, person.name)
                service = services.resolve(table.value(row, "service"), run.source.service)
                if role == "Correspondant qualité":
                    _add(directory.correspondents.setdefault(service, []), person)
                elif role == "Chef de service":
                    _add(directory.heads.setdefault(service, []), person)
                elif role == "Référent qualité":
                    _add(referents, person)
    if alerts.quality_lead:
        directory.lead = Person(alerts.quality_lead, names.get(alerts.quality_lead.lower()))
    elif referents:
        directory.lead = referents[0]
    return directory


def _add(people: list[Person], person: Person) -> None:
    if all(p.key != person.key for p in people):
        people.append(person)


def route(
    items: Iterable[AlertItem], directory: Directory, alerts: Alerts
) -> tuple[list[Delivery], list[AlertItem]]:
    """Deliveries of every item, and the items nobody can receive (no lead configured).

    Deadlines go to the row's address, else to the service's correspondents; anomalies to
    the correspondents (they keep the sheet), and those of a central workbook to the quality
    lead, who keeps it. Late past ``escalation_days``: the heads of service too. Nobody: the
    quality lead. The lead also gets a copy of what others get (``copy_quality_lead``),
    anomalies aside: the consolidated workbook lists them all.
    """
    deliveries: list[Delivery] = []
    lost: list[AlertItem] = []
    lead = directory.lead
    for item in items:
        if item.kind == "anomalie" and item.central:
            if lead is None:
                lost.append(item)
            else:
                deliveries.append(Delivery(item, lead, "direct"))
            continue
        wanted: list[tuple[Person, str]] = []
        own = valid_address(item.email) if item.email and item.kind != "anomalie" else None
        if own:
            wanted.append((Person(own, item.person), "direct"))
        else:
            wanted += [(p, "service") for p in directory.correspondents.get(item.service, ())]
        if item.escalate:
            wanted += [(p, "escalation") for p in directory.heads.get(item.service, ())]
        if not wanted:
            if lead is None:
                lost.append(item)
                continue
            wanted.append((lead, "unroutable"))
        elif lead is not None and alerts.copy_quality_lead and item.kind != "anomalie":
            wanted.append((lead, "copy"))
        seen: set[str] = set()
        for person, role in sorted(wanted, key=lambda w: ROLES.index(w[1])):
            if person.key not in seen:
                seen.add(person.key)
                deliveries.append(Delivery(item, person, role))
    return deliveries, lost
