"""`qep-sync init --demo` and `qep-sync demo`: a year of realistic data for five services of the
Doubs prefecture, in which `check` finds exactly the anomalies planted on purpose.

The acceptance test of the demo: the real-life quirks of the data (title rows, aliases, a total
row, French text dates...) raise nothing, and every planted anomaly is found, at its cell.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from qep_sync.cli import main
from qep_sync.config import load_config
from qep_sync.jobs.check import run_check
from qep_sync.workspace.create import create_workspace
from qep_sync.workspace.demo_data import build_demo, planted_anomalies
from qep_sync.workspace.plan import CENTRAL_BOOKS, SERVICES

DATES = [dt.date(2026, 11, 26), dt.date(2025, 3, 3)]


@pytest.fixture(scope="module", params=DATES, ids=str)
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    today: dt.date = request.param
    folder = tmp_path_factory.mktemp(f"demo-{today}")
    create_workspace(folder, demo=True, today=today, force=False)
    run = run_check(load_config(folder / "qep-sync.toml"), today)
    return folder, today, run


def rows_of(path: Path, sheet: str) -> list[tuple[Any, ...]]:
    return list(load_workbook(path)[sheet].iter_rows(values_only=True))


def test_check_finds_exactly_the_planted_anomalies(demo):
    _, today, run = demo
    expected = planted_anomalies(today)
    assert 8 <= len(expected) <= 12
    assert len(set(expected)) == len(expected)
    assert {severity for *_, severity in expected} == {"error", "warning"}
    assert run.report.failed_sources == []
    found = [(f.source, f.sheet, f.cell, str(f.severity)) for f in run.report.findings]
    assert len(found) == len(set(found))
    assert set(found) == set(expected)


def test_every_tracker_is_read_from_its_workbook(demo):
    _, _, run = demo
    sheets = {(s.source, sh.sheet, sh.tracker) for s in run.report.sources for sh in s.sheets}
    for service in SERVICES:  # one bureau keeps its trackers in LibreOffice (.ods)
        assert (f"{service.code}{service.suffix}", "Délais", "courriers") in sheets
        assert (f"{service.code}{service.suffix}", "Indicateurs", "indicateurs") in sheets
    assert {s.suffix for s in SERVICES} == {".xlsx", ".ods"}
    for book in CENTRAL_BOOKS:
        assert (book.filename, run.specs[book.tracker].title, book.tracker) in sheets
    assert len(sheets) == 2 * len(SERVICES) + len(CENTRAL_BOOKS)


def test_a_year_of_letters_ending_today(demo):
    _, today, run = demo
    tables = run.tables("courriers")
    per_service = Counter(t.service for t in tables for _ in t.frame.index)
    assert set(per_service) == {s.code for s in SERVICES}
    assert all(500 <= n <= 800 for n in per_service.values()), per_service
    received = [d for t in tables for d in t.frame["date_reception"] if d is not None]
    assert min(received) >= today - dt.timedelta(days=364)
    assert max(received) <= today
    replies = [d for t in tables for d in t.frame["date_reponse"] if d is not None]
    assert max(replies) <= today
    canals = Counter(c for t in tables for c in t.frame["canal"])
    assert canals["Courriel"] > canals["Courrier"] > canals["Réclamation"] > canals["Suggestion"]
    unanswered = sum(1 for t in tables for d in t.frame["date_reponse"] if d is None)
    assert 0 < unanswered < 0.1 * sum(per_service.values())


def test_the_central_trackers_are_filled_and_current(demo):
    _, today, run = demo
    (actions,) = run.tables("plan_actions")
    assert 35 <= len(actions.frame) <= 45
    states = Counter(actions.frame["etat"])
    assert states["Fait"] and states["En cours"] and states["À faire"] and states["Abandonné"]
    dues = [d for d in actions.frame["echeance"] if d is not None]
    assert any(d < today for d in dues) and any(d > today for d in dues)
    (documents,) = run.tables("documents")
    assert 45 <= len(documents.frame) <= 55
    (trainings,) = run.tables("formations")
    assert 35 <= len(trainings.frame) <= 45
    (assessment,) = run.tables("autoevaluation")
    assert list(assessment.frame["engagement"]) == list(range(1, 24))
    (people,) = run.tables("correspondants")
    roles = Counter(people.frame["role"])
    assert roles["Référent qualité"] == 1 and roles["Chef de service"] == len(SERVICES)
    emails = [people.value(row, "email") for row in people.frame.index]
    assert all(e.endswith("@doubs.gouv.fr") for e in emails if e)  # the invalid one is None
    periods = {p for t in run.tables("indicateurs") for p in t.frame["periode"] if p}
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    assert max(periods) == last_month and len(periods) == 12


def test_the_data_has_the_quirks_of_real_sheets(demo):
    """What makes the acceptance test worth having: these must all pass without a finding."""
    folder, _, _ = demo
    brcie = rows_of(folder / "services" / "BRCIE.xlsx", "Délais")
    assert str(brcie[0][0]).startswith("Suivi des délais de réponse — BRCIE")
    assert brcie[2][0] == "N°"  # header in row 3
    assert brcie[-1][0] == "Total" and str(brcie[-1][1]).startswith("=COUNTA(")
    bceep = rows_of(folder / "services" / "BCEEP.xlsx", "Délais")
    assert "Observations internes" in bceep[0] and "Reçu le" in bceep[0]
    bas = rows_of(folder / "services" / "BAS.xlsx", "Délais")
    assert any(all(v is None for v in row) for row in bas[1:-1])  # an empty row in the middle
    cert = rows_of(folder / "services" / "CERT.xlsx", "Délais")
    texts = [v for row in cert[1:] for v in row[3:6:2] if isinstance(v, str)]
    assert any(t.startswith("1er ") for t in texts)
    assert any(t[0].isdigit() and t.split()[1].isalpha() for t in texts if " " in t)
    assert any(len(t) == 8 and t[2] == "/" for t in texts)  # 05/03/26
    plan = rows_of(folder / "qualite" / "Plan d'actions.xlsx", "Plan d'actions")
    progress = [row[9] for row in plan[4:]]
    assert "50 %" in progress and 0.5 in progress
    assert "en cours" in [row[10] for row in plan[4:]]


def test_the_demo_is_deterministic():
    today = dt.date(2026, 11, 26)
    assert build_demo(today) == build_demo(today)
    assert planted_anomalies(today) == planted_anomalies(today)


def test_cli_init_demo(tmp_path):
    folder = tmp_path / "demo"
    result = CliRunner().invoke(
        main, ["init", str(folder), "--demo", "--today", "2026-11-26"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "qualite/Plan d'actions.xlsx" in result.output.replace("\\", "/")
    assert (folder / "services" / "CERT.xlsx").is_file()


def test_cli_demo_prints_the_report_and_succeeds(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "qep-sync.toml").write_text("# ancienne démo\n", encoding="utf-8")  # replaced
    (folder / ".qep-sync-demo").write_text("démo précédente\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["demo", str(folder), "--today", "2026-11-26"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output  # planted anomalies are findings, not failures
    errors = sum(1 for *_, s in planted_anomalies(dt.date(2026, 11, 26)) if s == "error")
    warnings = sum(1 for *_, s in planted_anomalies(dt.date(2026, 11, 26)) if s == "warning")
    assert (
        f"Contrôle du 26/11/2026 — 10 sources, {errors} erreurs, {warnings} points d'attention"
        in (result.output)
    )
    assert "« 31/02/2026 »" in result.output
    assert "jean.dupont@" in result.output
    assert "placées exprès" in result.output


def test_cli_demo_refuses_a_folder_that_is_not_a_demo_and_writes_nothing(tmp_path):
    folder = tmp_path / "qualite"
    folder.mkdir()
    config = folder / "qep-sync.toml"
    config.write_text("# configuration de production\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["demo", str(folder), "--today", "2026-11-26"])
    assert result.exit_code == 2
    assert "n'est pas un dossier de démonstration" in result.output
    assert sorted(p.name for p in folder.iterdir()) == ["qep-sync.toml"]
    assert config.read_text(encoding="utf-8") == "# configuration de production\n"
