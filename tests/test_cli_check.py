"""`qep-sync check`: text report grouped by service and sheet, stable JSON, exit codes.

docs/contract.md §6.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import GOOD_PLAN_ROWS, PLAN_HEADER, TODAY, make_good_workbook, make_workbook

from qep_sync.cli import main

ANSI = "\x1b["


def invoke(
    args: list[str], env: dict[str, str | None] | None = None, color: bool = False
) -> Result:
    return CliRunner().invoke(main, args, env=env, color=color, catch_exceptions=False)


def bad_plan(path: Path) -> Path:
    """A workbook with errors in two sheets and a warning."""
    plan = [
        *GOOD_PLAN_ROWS,
        ["A3", 2, "Relire les courriers", "31/02/2022", 0.1, "Fait", None, "pas-un-mail"],
    ]
    delais = [
        ["N°", "Canal", "Date de réception", "Date de réponse"],
        ["C1", "Courriel", "12/09/2022", "01/09/2022"],
    ]
    return make_workbook(path, {"Plan d'actions": plan, "Délais": delais})


def warning_only(path: Path) -> Path:
    rows = [PLAN_HEADER, ["A1", 3, "Accueil", dt.date(2027, 1, 4), 1, "Fait", None, None]]
    return make_workbook(path, {"Plan d'actions": rows})


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A config with two services: BRCIE (clean) and SIDSIC (errors and a warning)."""
    make_good_workbook(tmp_path / "brcie.xlsx")
    bad_plan(tmp_path / "sidsic.xlsx")
    (tmp_path / "qep-sync.toml").write_text(
        '[[sources]]\nservice = "BRCIE"\nname = "Bureau de la réglementation"\n'
        'xlsx = "brcie.xlsx"\n\n'
        '[[sources]]\nservice = "SIDSIC"\nxlsx = "sidsic.xlsx"\n',
        encoding="utf-8",
    )
    return tmp_path


def check(workspace: Path, *extra: str) -> Result:
    config = str(workspace / "qep-sync.toml")
    return invoke(["check", "-c", config, "--today", TODAY.isoformat(), *extra])


# --- text ------------------------------------------------------------------------------------


def test_text_report_is_grouped_by_service_then_sheet(workspace: Path) -> None:
    result = check(workspace)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "Contrôle du 26/11/2026 — 2 sources, 3 erreurs, 1 point d'attention",
        "",
        "BRCIE — Bureau de la réglementation (brcie.xlsx)",
        "  Plan d'actions (2 lignes) : aucune anomalie",
        "",
        "SIDSIC (sidsic.xlsx)",
        "  Plan d'actions (3 lignes) :",
        "    D4      erreur    Échéance : date illisible « 31/02/2022 »",
        "    H4      erreur    Email responsable : adresse électronique invalide « pas-un-mail »",
        "    F4      attention État : action « Fait » sans Date de réalisation",
        "  Délais (1 ligne) :",
        "    D2      erreur    Date de réponse : réponse datée du 01/09/2022, avant la réception "
        "(12/09/2022)",
    ]


def test_text_report_of_an_unreadable_source_says_why(workspace: Path) -> None:
    (workspace / "sidsic.xlsx").write_text("pas un classeur", encoding="utf-8")
    result = check(workspace)
    assert result.exit_code == 1
    assert "1 illisible" in result.stdout.splitlines()[0]
    assert "  ✗ source non lue : ce fichier n'est pas un classeur Excel (.xlsx)" in result.stdout


# --- JSON ------------------------------------------------------------------------------------


def test_json_has_the_documented_stable_keys(workspace: Path) -> None:
    result = check(workspace, "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert list(data) == ["version", "today", "summary", "sources", "findings"]
    assert data["version"] == 1
    assert data["today"] == "2026-11-26"
    assert data["summary"] == {"sources": 2, "sources_failed": 0, "errors": 3, "warnings": 1}
    source_keys = ["source", "service", "name", "status", "error", "errors", "warnings", "sheets"]
    assert [list(s) for s in data["sources"]] == [source_keys, source_keys]
    brcie, sidsic = data["sources"]
    assert brcie == {
        "source": "brcie.xlsx",
        "service": "BRCIE",
        "name": "Bureau de la réglementation",
        "status": "ok",
        "error": None,
        "errors": 0,
        "warnings": 0,
        "sheets": [
            {"sheet": "Plan d'actions", "tracker": "plan_actions", "header_row": 1, "rows": 2}
        ],
    }
    assert (sidsic["errors"], sidsic["warnings"]) == (3, 1)
    finding_keys = {"source", "service", "sheet", "tracker", "cell", "row", "column", "value",
                    "message", "severity"}  # fmt: skip
    assert all(set(f) == finding_keys for f in data["findings"])
    assert len(data["findings"]) == 4
    assert data["findings"][0] == {
        "source": "sidsic.xlsx",
        "service": "SIDSIC",
        "sheet": "Plan d'actions",
        "tracker": "plan_actions",
        "cell": "D4",
        "row": 4,
        "column": "Échéance",
        "value": "31/02/2022",
        "message": "Échéance : date illisible « 31/02/2022 »",
        "severity": "error",
    }
    assert {f["severity"] for f in data["findings"]} == {"error", "warning"}


def test_json_of_an_unreadable_source(workspace: Path) -> None:
    (workspace / "sidsic.xlsx").write_bytes(b"PK\x03\x04 tronque")
    data = json.loads(check(workspace, "--format", "json").stdout)
    assert data["summary"]["sources_failed"] == 1
    sidsic = data["sources"][1]
    assert sidsic["status"] == "error"
    assert "endommagé" in sidsic["error"]
    assert sidsic["sheets"] == []


def test_json_output_is_only_json(workspace: Path) -> None:
    result = check(workspace, "--format", "json")
    json.loads(result.stdout)  # nothing else on stdout (no progress line, no summary)
    assert result.stderr == ""


# --- exit codes ------------------------------------------------------------------------------


def test_exit_0_when_only_warnings(tmp_path: Path) -> None:
    book = warning_only(tmp_path / "plan.xlsx")
    result = invoke(["check", str(book), "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "0 erreur, 1 point d'attention" in result.stdout
    assert "attention État : action « Fait » sans Date de réalisation" in result.stdout


def test_exit_0_when_clean(tmp_path: Path) -> None:
    book = make_good_workbook(tmp_path / "plan.xlsx")
    result = invoke(["check", str(book), "--today", TODAY.isoformat()])
    assert result.exit_code == 0
    assert "aucune anomalie" in result.stdout


def test_exit_1_with_errors(tmp_path: Path) -> None:
    book = bad_plan(tmp_path / "plan.xlsx")
    assert invoke(["check", str(book), "--today", TODAY.isoformat()]).exit_code == 1


def test_today_option_is_the_date_of_the_checks(tmp_path: Path) -> None:
    rows = [
        PLAN_HEADER,
        ["A1", 3, "Accueil", dt.date(2027, 1, 4), 1, "Fait", dt.date(2026, 12, 1), None],
    ]
    book = make_workbook(tmp_path / "plan.xlsx", {"Plan d'actions": rows})
    before = invoke(["check", str(book), "--today", "2026-11-26", "--format", "json"])
    after = invoke(["check", str(book), "--today", "2026-12-01", "--format", "json"])
    assert before.exit_code == 1
    assert json.loads(before.stdout)["findings"][0]["message"] == (
        "Date de réalisation : date de réalisation dans le futur (01/12/2026)"
    )
    assert after.exit_code == 0
    assert json.loads(after.stdout)["today"] == "2026-12-01"


@pytest.mark.parametrize("value", ["26/11/2026", "2026-02-30", "demain", ""])
def test_bad_today_exits_2(tmp_path: Path, value: str) -> None:
    book = make_good_workbook(tmp_path / "plan.xlsx")
    result = invoke(["check", str(book), "--today", value])
    assert result.exit_code == 2
    assert "AAAA-MM-JJ" in result.stderr
    assert "Traceback" not in result.output


def test_missing_workbook_argument_exits_2(tmp_path: Path) -> None:
    result = invoke(["check", str(tmp_path / "absent.xlsx"), "--today", TODAY.isoformat()])
    assert result.exit_code == 2


def test_unknown_format_exits_2(tmp_path: Path) -> None:
    book = make_good_workbook(tmp_path / "plan.xlsx")
    assert invoke(["check", str(book), "--format", "csv", "--today", "2026-11-26"]).exit_code == 2


# --- files mode --------------------------------------------------------------------------------


def test_check_files_works_without_a_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_good_workbook(tmp_path / "brcie.xlsx")
    bad_plan(tmp_path / "sidsic.xlsx")
    monkeypatch.chdir(tmp_path)  # no qep-sync.toml here
    result = invoke(
        ["check", "brcie.xlsx", "sidsic.xlsx", "--today", TODAY.isoformat(), "--format", "json"],
        env={"QEP_SYNC_CONFIG": None},
    )
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [(s["service"], s["name"], s["source"]) for s in data["sources"]] == [
        ("brcie", "brcie", "brcie.xlsx"),
        ("sidsic", "sidsic", "sidsic.xlsx"),
    ]
    assert data["summary"]["errors"] == 3


def test_check_files_gives_distinct_services_to_files_of_the_same_name(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = make_good_workbook(tmp_path / "a" / "plan.xlsx")
    second = make_good_workbook(tmp_path / "b" / "plan.xlsx")
    result = invoke(["check", str(first), str(second), "--today", "2026-11-26", "--format", "json"])
    services = [s["service"] for s in json.loads(result.stdout)["sources"]]
    assert services == ["plan", "plan-2"]


def test_check_files_service_code_keeps_the_letters_of_accented_names(tmp_path: Path) -> None:
    book = make_good_workbook(tmp_path / "Bureau des élections.xlsx")
    result = invoke(["check", str(book), "--today", "2026-11-26", "--format", "json"])
    (source,) = json.loads(result.stdout)["sources"]
    assert source["name"] == "Bureau des élections"
    assert source["service"] == "Bureau-des-elections"


# --- colours ---------------------------------------------------------------------------------


def test_no_ansi_colour_codes_when_output_is_not_a_terminal(workspace: Path) -> None:
    plain = check(workspace)
    assert ANSI not in plain.output
    # The same report on a terminal is coloured: the assertion above can fail.
    coloured = invoke(
        ["check", "-c", str(workspace / "qep-sync.toml"), "--today", "2026-11-26"], color=True
    )
    assert ANSI in coloured.output


def test_no_ansi_colour_codes_in_a_real_pipe(workspace: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"QEP_SYNC_CONFIG", "FORCE_COLOR"}}
    env["PYTHONIOENCODING"] = "utf-8"  # whatever the machine's locale
    proc = subprocess.run(
        [sys.executable, "-m", "qep_sync", "check", "-c", "qep-sync.toml", "--today", "2026-11-26"],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Échéance : date illisible « 31/02/2022 »" in proc.stdout
    assert ANSI not in proc.stdout
    assert ANSI not in proc.stderr


def test_the_check_command_keeps_little_of_each_source_and_reports_the_same(
    tmp_path: Path,
) -> None:
    """check reports only: of each source it keeps what the checks across sources read, so
    that its memory stays flat with the sources; its report is the one sync's check makes."""
    from qep_sync.config import load_config
    from qep_sync.jobs.check import CROSS_CHECKED, run_check
    from qep_sync.workspace.create import create_workspace

    create_workspace(tmp_path, demo=True, today=TODAY, force=False)
    config = load_config(tmp_path / "qep-sync.toml")
    whole, slim = run_check(config, TODAY), run_check(config, TODAY, tables=False)
    assert slim.report.to_dict() == whole.report.to_dict()
    assert whole.report.warnings and whole.report.errors  # the demo has both, cross-checks too
    assert all(run.book is None for run in slim.sources)
    assert all(set(t.columns) <= CROSS_CHECKED and t.sheet.kept is None
               for run in slim.sources for t in run.tables)  # fmt: skip
