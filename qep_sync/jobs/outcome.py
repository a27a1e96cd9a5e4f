"""How a run ended, as the journal keeps it and ``status`` shows it.

``sync`` and ``alerts`` each sum themselves up in a ``RunSummary`` (``summarize_sync``,
``summarize_alerts``); the journal of ``service/`` stores it without knowing either job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATUSES = ("ok", "partial", "error", "interrupted")


@dataclass
class RunSummary:
    """A run's status (ok, partial, error, interrupted), its counts, a French message, details."""

    status: str
    counts: dict[str, int] = field(default_factory=dict)
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)
