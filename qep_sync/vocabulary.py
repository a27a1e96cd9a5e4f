"""The words of the trackers that the code relies on, in one place.

Tracker names, the column that names a row's service, the fields that identify a row, and
the values of the states people type and of the statuses qep-sync computes (docs/contract.md
§2 and §3). The spec files of ``schemas/`` list the allowed values a person may type; the
code reads these constants, never a bare copy of the words. They are plain ``str``: what is
written into a cell is exactly a text.
"""

from __future__ import annotations

TRACKERS = (
    "autoevaluation",
    "plan_actions",
    "documents",
    "formations",
    "courriers",
    "indicateurs",
    "correspondants",
)
CONTROL_TITLE = "Contrôle"  # the owned column of every tracker
CONTROL = "controle"  # its name among the owned columns
# The user column that names the service a row belongs to (in a central workbook).
SERVICE_FIELD = {
    "plan_actions": "service_pilote",
    "documents": "service",
    "formations": "service",
    "courriers": "service",
    "autoevaluation": "service",
    "indicateurs": "service",
}
# Trackers without a key in their spec: the fields that identify a row.
KEY_FIELDS = {"autoevaluation": ("module", "engagement", "service")}
CANALS = ("Courrier", "Courriel", "Réclamation", "Suggestion")
YES, NO = "Oui", "Non"


# ---------------------------------------------------------------- what people type


class ActionState:
    """« État » of an action."""

    TODO = "À faire"
    IN_PROGRESS = "En cours"
    DONE = "Fait"
    ABANDONED = "Abandonné"


class DocumentState:
    """« État » of a document."""

    TO_WRITE = "À rédiger"
    WRITING = "En rédaction"
    VALIDATED = "Validé"
    ARCHIVED = "Archivé"


class Level:
    """« Niveau » of a self-assessment."""

    COMPLIANT = "Conforme"
    PARTIAL = "Partiellement conforme"
    NON_COMPLIANT = "Non conforme"
    NOT_APPLICABLE = "Non applicable"
    NOT_ASSESSED = "Non évalué"


EVALUATED_LEVELS = (Level.NON_COMPLIANT, Level.PARTIAL, Level.COMPLIANT)  # worst first


# ---------------------------------------------------------------- what qep-sync computes


class ActionStatus:
    DONE = "Terminée"
    ABANDONED = "Abandonnée"
    LATE = "En retard"
    DUE_SOON = "Échéance proche"
    ON_TRACK = "Dans les temps"


class DocumentStatus:
    ARCHIVED = "Archivé"
    DRAFTING = "En cours de formalisation"
    DRAFTING_LATE = "Formalisation en retard"
    EXPIRED = "Caduc"
    TO_RENEW = "À renouveler"
    VALID = "Valide"


class TrainingStatus:
    DONE = "Réalisée"
    LATE = "En retard"
    PLANNED = "Planifiée"
    TO_PLAN = "À planifier"


class ReplyStatus:
    ON_TIME = "Répondu dans le délai"
    LATE_REPLY = "Répondu hors délai"
    WAITING = "En attente"
    LATE = "En retard"


class AssessmentStatus:
    NOT_ASSESSED = "Non évalué"
    NOT_APPLICABLE = "Non applicable"
    DUE = "À réévaluer"
    UP_TO_DATE = "À jour"


# Statuses of items still open (something remains to be done), by tracker.
OPEN_STATUSES: dict[str, frozenset[str]] = {
    "plan_actions": frozenset({ActionStatus.LATE, ActionStatus.DUE_SOON, ActionStatus.ON_TRACK}),
    "documents": frozenset(
        {
            DocumentStatus.DRAFTING,
            DocumentStatus.DRAFTING_LATE,
            DocumentStatus.EXPIRED,
            DocumentStatus.TO_RENEW,
            DocumentStatus.VALID,
        }
    ),
    "formations": frozenset({TrainingStatus.LATE, TrainingStatus.PLANNED, TrainingStatus.TO_PLAN}),
    "courriers": frozenset({ReplyStatus.LATE, ReplyStatus.WAITING}),
    "autoevaluation": frozenset({AssessmentStatus.DUE, AssessmentStatus.UP_TO_DATE}),
}


# ---------------------------------------------------------------- what the colours say

RED, ORANGE, GREEN = "red", "orange", "green"
# The colour of each word a computed column can hold: late or failed, to watch, done or in
# time. Service workbooks colour their owned status columns with it, the consolidated
# workbook its status columns.
STATUS_COLOURS: dict[str, str] = {
    **dict.fromkeys((ActionStatus.LATE, DocumentStatus.EXPIRED, DocumentStatus.DRAFTING_LATE,
                     TrainingStatus.LATE, ReplyStatus.LATE, ReplyStatus.LATE_REPLY,
                     AssessmentStatus.DUE, Level.NON_COMPLIANT, NO), RED),
    **dict.fromkeys((ActionStatus.DUE_SOON, DocumentStatus.TO_RENEW, DocumentStatus.DRAFTING,
                     ReplyStatus.WAITING, TrainingStatus.TO_PLAN, Level.PARTIAL), ORANGE),
    **dict.fromkeys((ActionStatus.ON_TRACK, ActionStatus.DONE, DocumentStatus.VALID,
                     TrainingStatus.PLANNED, TrainingStatus.DONE, ReplyStatus.ON_TIME,
                     AssessmentStatus.UP_TO_DATE, Level.COMPLIANT, YES), GREEN),
}  # fmt: skip


def coloured(colour: str) -> frozenset[str]:
    """The words of ``STATUS_COLOURS`` shown in ``colour``."""
    return frozenset(w for w, c in STATUS_COLOURS.items() if c == colour)
