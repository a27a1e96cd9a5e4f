"""The computed columns of docs/contract.md §3, for one validated table and the run's date.

``compute_table(table, today, rules, calendar)`` returns, for each data row, the values of
the owned columns in the order of ``spec.owned_titles`` (computed columns, then Contrôle).
A computed cell is left empty (None) when an input its rule needs is missing or invalid;
the Contrôle text then says why (§3.1 rule 7).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from qep_sync.config import Rules
from qep_sync.core.findings import Finding, Severity
from qep_sync.core.validate import Table
from qep_sync.vocabulary import (
    NO,
    YES,
    ActionState,
    ActionStatus,
    AssessmentStatus,
    DocumentState,
    DocumentStatus,
    Level,
    ReplyStatus,
    TrainingStatus,
)
from qep_sync.workdays import WorkingCalendar, add_months

EXCEL_CELL_LIMIT = 32_767
Values = dict[str, Any]
S = TypeVar("S", bound=str)
Rule = Callable[[Table, int, dt.date, Rules, WorkingCalendar], Values]


def _valid(table: Table, row: int, *names: str) -> bool:
    """True when none of the fields is invalid (empty is fine)."""
    invalid = table.invalid
    if invalid:  # most tables have none: no (row, name) pairs to build
        for name in names:
            if (row, name) in invalid:
                return False
    return True


def _by_days(days: int, window: int, past: S, near: S, later: S) -> S:
    """§3.1 rule 1: past means strictly before today; « within N days » is 0 ≤ days ≤ N."""
    if days < 0:
        return past
    return near if days <= window else later


def plan_actions(t: Table, row: int, today: dt.date, rules: Rules, cal: WorkingCalendar) -> Values:
    state, due = t.value(row, "etat"), t.value(row, "echeance")
    if state == ActionState.DONE:
        return {"statut": ActionStatus.DONE}
    if state == ActionState.ABANDONED:
        return {"statut": ActionStatus.ABANDONED}
    if state is None or due is None:
        return {}
    days = (due - today).days
    status = _by_days(days, rules.echeance_proche_jours,
                      ActionStatus.LATE, ActionStatus.DUE_SOON, ActionStatus.ON_TRACK)  # fmt: skip
    return {"jours_restants": days, "statut": status}


def documents(t: Table, row: int, today: dt.date, rules: Rules, cal: WorkingCalendar) -> Values:
    state = t.value(row, "etat")
    if state == DocumentState.ARCHIVED:
        return {"statut": DocumentStatus.ARCHIVED}
    if state in (DocumentState.TO_WRITE, DocumentState.WRITING):
        if not _valid(t, row, "date_prevue"):
            return {}
        planned = t.value(row, "date_prevue")
        if planned is None:
            return {"statut": DocumentStatus.DRAFTING}
        days = (planned - today).days
        status = DocumentStatus.DRAFTING_LATE if days < 0 else DocumentStatus.DRAFTING
        return {"prochaine_echeance": planned, "jours_restants": days, "statut": status}
    if state != DocumentState.VALIDATED or not _valid(
        t, row, "date_caducite", "date_mise_a_jour", "periodicite_revision"
    ):
        return {}
    candidates = []
    if (expiry := t.value(row, "date_caducite")) is not None:
        candidates.append(expiry)
    updated, months = t.value(row, "date_mise_a_jour"), t.value(row, "periodicite_revision")
    if updated is not None and months is not None:
        candidates.append(add_months(updated, months))
    if not candidates:
        return {"statut": DocumentStatus.VALID}
    due = min(candidates)
    days = (due - today).days
    status = _by_days(days, rules.document_alerte_jours,
                      DocumentStatus.EXPIRED, DocumentStatus.TO_RENEW, DocumentStatus.VALID)  # fmt: skip
    return {"prochaine_echeance": due, "jours_restants": days, "statut": status}


def formations(t: Table, row: int, today: dt.date, rules: Rules, cal: WorkingCalendar) -> Values:
    if not _valid(t, row, "date_prevue", "date_arrivee", "date_realisee"):
        return {}
    planned, arrived = t.value(row, "date_prevue"), t.value(row, "date_arrivee")
    limit = planned or (add_months(arrived, rules.formation_delai_mois) if arrived else None)
    out: Values = {"date_limite": limit}
    if t.value(row, "date_realisee") is not None:
        out["statut"] = TrainingStatus.DONE
    elif limit is not None and limit < today:
        out["statut"] = TrainingStatus.LATE
    elif planned is not None:
        out["statut"] = TrainingStatus.PLANNED
    else:
        out["statut"] = TrainingStatus.TO_PLAN
    return out


def courriers(t: Table, row: int, today: dt.date, rules: Rules, cal: WorkingCalendar) -> Values:
    canal, received = t.value(row, "canal"), t.value(row, "date_reception")
    target = rules.delai_reponse_jours_ouvres.get(canal) if canal else None
    if target is None or received is None:
        return {}
    reply = t.parsed(row, "date_reponse")
    if reply is not None and reply < received:
        return {}  # §3.1 rule 5: a reply before the reception leaves every computed cell empty
    limit = cal.add_working_days(received, target)
    if not _valid(t, row, "date_reponse"):
        return {"date_limite_reponse": limit}
    replied = reply  # valid: its value is the one parsed
    if replied is None:
        return {
            "date_limite_reponse": limit,
            "statut": ReplyStatus.LATE if today > limit else ReplyStatus.WAITING,
        }
    delay = cal.working_days_between(received, replied)
    on_time = delay <= target
    return {
        "date_limite_reponse": limit,
        "delai_jours_ouvres": delay,
        "dans_le_delai": YES if on_time else NO,
        "statut": ReplyStatus.ON_TIME if on_time else ReplyStatus.LATE_REPLY,
    }


def autoevaluation(
    t: Table, row: int, today: dt.date, rules: Rules, cal: WorkingCalendar
) -> Values:
    level = t.value(row, "niveau")
    if level == Level.NOT_ASSESSED:
        return {"statut": AssessmentStatus.NOT_ASSESSED}
    if level == Level.NOT_APPLICABLE:
        return {"statut": AssessmentStatus.NOT_APPLICABLE}
    if level is None or not _valid(t, row, "date_evaluation"):
        return {}
    evaluated = t.value(row, "date_evaluation")
    if evaluated is None:
        return {"statut": AssessmentStatus.NOT_ASSESSED}
    due = add_months(evaluated, rules.autoevaluation_periodicite_mois)
    status = AssessmentStatus.DUE if due < today else AssessmentStatus.UP_TO_DATE
    return {"prochaine_evaluation": due, "statut": status}


def indicateurs(t: Table, row: int, today: dt.date, rules: Rules, cal: WorkingCalendar) -> Values:
    value, target = t.value(row, "valeur"), t.value(row, "cible")
    if value is None or target is None or not _valid(t, row, "sens"):
        return {}
    sense = t.value(row, "sens") or "≥"
    reached = value >= target if sense == "≥" else value <= target
    return {"ecart": round(value - target, 9), "atteint": YES if reached else NO}


RULES: dict[str, Rule] = {
    "plan_actions": plan_actions,
    "documents": documents,
    "formations": formations,
    "courriers": courriers,
    "autoevaluation": autoevaluation,
    "indicateurs": indicateurs,
}


def control_text(findings: list[Finding]) -> str | None:
    """The Contrôle cell: errors first, then warnings prefixed « Attention — » (a dash: the
    message itself starts with its column and a colon); None when clean."""
    errors = [f.message for f in findings if f.severity is Severity.ERROR]
    warning = Severity.WARNING
    warnings = [f"{warning.label} — {f.message}" for f in findings if f.severity is warning]
    text = " ; ".join(dict.fromkeys(errors + warnings))
    if len(text) > EXCEL_CELL_LIMIT:  # Excel refuses longer cells; the first findings matter most
        text = text[: EXCEL_CELL_LIMIT - 1] + "…"
    return text or None


def compute_table(
    table: Table, today: dt.date, rules: Rules, cal: WorkingCalendar
) -> dict[int, tuple[Any, ...]]:
    """Owned-column values per data row, in the order of ``spec.owned_titles``."""
    spec = table.sheet.spec
    rule = RULES.get(spec.name)
    by_row: dict[int, list[Finding]] = {}
    for f in table.findings:
        if f.row is not None:
            by_row.setdefault(f.row, []).append(f)
    names = [c.name for c in spec.computed]
    out: dict[int, tuple[Any, ...]] = {}
    for row in table.positions:
        values = rule(table, row, today, rules, cal) if rule else {}
        found = by_row.get(row)
        out[row] = (*map(values.get, names), control_text(found) if found else None)
    return out
