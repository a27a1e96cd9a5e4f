"""Reminder digests by email (DESIGN §5, README « Alertes »).

The flow, one module each: ``items`` (what is due, late or wrong, from the computed columns)
→ ``recipients`` (who gets each item) → ``store`` (what was already sent) → ``digest`` (one
message per person, from the Jinja2 templates) → ``transport`` (SMTP through yagmail, or .eml
files in an outbox). ``job.run_alerts`` ties them together; ``report`` prints the outcome.
"""

from __future__ import annotations

from qep_sync.alerts.job import AlertRun, Outcome, run_alerts

__all__ = ["AlertRun", "Outcome", "run_alerts"]
