"""`qep-sync demo` as a newcomer and the IT service see it: its runs are journaled (`status`
right after it is healthy), and its emails are those of the contract (docs/contract.md §5)."""

from __future__ import annotations

import email
import json
import re
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from qep_sync.alerts.digest import LEAD_LIMIT
from qep_sync.cli import main

LEAD = "claire.faivre@doubs.gouv.fr"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo") / "demo"
    result = CliRunner().invoke(main, ["demo", str(folder), "--today", "2026-11-26"])
    assert result.exit_code == 0, result.output
    return folder


def _messages(folder: Path) -> dict[str, EmailMessage]:
    found = {}
    for path in sorted((folder / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        found[message["To"].addresses[0].addr_spec] = message
    return found


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert isinstance(body, EmailMessage)
    return str(body.get_content())


def test_status_right_after_the_demo_is_healthy(demo: Path) -> None:
    config = str(demo / "qep-sync.toml")
    result = CliRunner().invoke(main, ["status", "-c", config])
    assert result.exit_code == 0, result.output
    assert "Santé : OK" in result.output
    exported = CliRunner().invoke(main, ["journal", "-c", config, "--format", "json"])
    runs = json.loads(exported.output)["runs"]
    assert [(r["kind"], r["origin"], r["status"]) for r in runs[-2:]] == [
        ("sync", "cli", "ok"), ("alerts", "cli", "ok")]  # fmt: skip
    assert runs[-2]["run_date"] == "2026-11-26" and runs[-1]["messages_sent"] > 20
    assert re.search(r"[+-]\d\d:\d\d$", runs[-1]["started"])  # Paris time, with its offset


def test_the_leads_digest_is_short_summary_first_twenty_per_section(demo: Path) -> None:
    messages = _messages(demo)
    text = _text(messages[LEAD])
    assert text.index("== En bref ==") < text.index("\n== ", text.index("== En bref ==") + 1)
    assert f"classeur consolidé {demo / 'Consolidation qualité.xlsx'}" in text
    sections = re.split(r"\r?\n== ", text)[2:]  # after the greeting and the summary
    assert sections
    for section in sections:
        assert section.count("\n  - ") <= LEAD_LIMIT, section[:80]
    assert text.count("\n") < 300  # it was 541 lines before the summary and the limit


def test_every_demo_email_has_a_short_subject_and_neutral_words(demo: Path) -> None:
    for address, message in _messages(demo).items():
        subject = str(message["Subject"])
        assert len(subject) < 80, (address, subject)
        assert "Bureau de" not in subject  # the service's code, not its full name
        html = message.get_body(("html",))
        assert isinstance(html, EmailMessage)
        assert "chef" not in (_text(message) + str(html.get_content())).lower(), address
