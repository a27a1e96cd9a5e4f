"""Findings (problems in the data, with their place) and the report of a run.

The JSON form (``Report.to_dict``) is documented in docs/commandes.md; its keys are stable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

JSON_VERSION = 1


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"

    @property
    def label(self) -> str:
        """The one word a person reads for it, in the terminal, the workbooks, « Contrôle » and
        the emails alike: « Erreur » or « Attention »."""
        return "Erreur" if self is Severity.ERROR else "Attention"


@dataclass(frozen=True)
class Finding:
    """One problem in a source, down to the cell when there is one."""

    source: str
    service: str
    sheet: str
    cell: str
    column: str
    value: str
    message: str
    severity: Severity
    row: int | None = None
    tracker: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "service": self.service,
            "sheet": self.sheet,
            "tracker": self.tracker,
            "cell": self.cell,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "message": self.message,
            "severity": str(self.severity),
        }


@dataclass
class SheetSummary:
    sheet: str
    tracker: str
    header_row: int
    rows: int


@dataclass
class SourceReport:
    """What happened to one source: the sheets read, its findings, or the error that stopped it."""

    source: str
    service: str
    name: str
    error: str | None = None
    sheets: list[SheetSummary] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)


@dataclass
class Report:
    today: dt.date
    sources: list[SourceReport] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [f for s in self.sources for f in s.findings]

    @property
    def errors(self) -> int:
        return sum(s.count(Severity.ERROR) for s in self.sources)

    @property
    def warnings(self) -> int:
        return sum(s.count(Severity.WARNING) for s in self.sources)

    @property
    def failed_sources(self) -> list[SourceReport]:
        return [s for s in self.sources if s.error]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": JSON_VERSION,
            "today": self.today.isoformat(),
            "summary": {
                "sources": len(self.sources),
                "sources_failed": len(self.failed_sources),
                "errors": self.errors,
                "warnings": self.warnings,
            },
            "sources": [
                {
                    "source": s.source,
                    "service": s.service,
                    "name": s.name,
                    "status": "error" if s.error else "ok",
                    "error": s.error,
                    "errors": s.count(Severity.ERROR),
                    "warnings": s.count(Severity.WARNING),
                    "sheets": [vars(sh) for sh in s.sheets],
                }
                for s in self.sources
            ],
            "findings": [f.to_dict() for f in self.findings],
        }
