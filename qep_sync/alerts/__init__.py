"""Reminder digests by email (docs/contract.md §5, docs/guide-referent.md).

The flow, one module each: ``items`` (what is due, late or wrong, from the computed columns)
→ ``recipients`` (who gets each item) → ``store`` (what was already sent) → ``digest`` (one
message per person, from the Jinja2 templates) → ``transport`` (SMTP through yagmail, or .eml
files in an outbox). ``job.run_alerts`` ties them together.
"""
