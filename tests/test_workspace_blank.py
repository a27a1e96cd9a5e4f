"""`qep-sync init DIR`: a commented config and blank tracker workbooks built from the specs.

docs/contract.md §6 (init): dropdowns for allowed values, frozen headers, widths; the workspace is
checked clean as soon as it is created, and nothing is overwritten without --force.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TODAY
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from qep_sync.cli import main
from qep_sync.config import DEFAULT_DELAIS, LogSettings, Rules, Schedule, load_config
from qep_sync.core.specs import load_specs
from qep_sync.errors import QepSyncError
from qep_sync.jobs.check import run_check
from qep_sync.referential import ENGAGEMENTS
from qep_sync.workspace.create import create_workspace
from qep_sync.workspace.plan import BLANK_SERVICES, CENTRAL_BOOKS, SERVICE_TRACKERS, SERVICES
from qep_sync.workspace.workbooks import VALIDATION_ROWS

SPECS = load_specs()
EXPECTED_FILES = {
    "qep-sync.toml",
    *(f"services/{s.code}.xlsx" for s in BLANK_SERVICES),
    *(f"qualite/{b.filename}" for b in CENTRAL_BOOKS),
}


def tracker_sheets(folder: Path) -> list[tuple[str, Path, str]]:
    """(tracker, workbook, sheet title) of every sheet a blank workspace should hold."""
    sheets = [
        (t, folder / "services" / f"{s.code}.xlsx", SPECS[t].title)
        for s in BLANK_SERVICES
        for t in SERVICE_TRACKERS
    ]
    sheets += [
        (b.tracker, folder / "qualite" / b.filename, SPECS[b.tracker].title) for b in CENTRAL_BOOKS
    ]
    return sheets


@pytest.fixture(scope="module")
def blank(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    folder = tmp_path_factory.mktemp("blank") / "qualite-doubs"
    created = create_workspace(folder, demo=False, today=TODAY, force=False)
    return folder, created


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def validations(ws: Worksheet) -> dict[str, tuple[str, str]]:
    """Column letter -> (list formula, ranges) of the sheet's dropdowns."""
    found = {}
    for dv in ws.data_validations.dataValidation:
        assert dv.type == "list"
        for rng in dv.sqref.ranges:
            found[rng.coord.split(":")[0].rstrip("0123456789")] = (dv.formula1, rng.coord)
    return found


def test_writes_the_config_and_one_workbook_per_service_and_central_tracker(blank):
    folder, created = blank
    assert {p.relative_to(folder).as_posix() for p in created} == EXPECTED_FILES
    assert all(p.is_file() for p in created)
    assert created[0] == folder / "qep-sync.toml"
    assert set(files_under(folder)) == EXPECTED_FILES  # no temporary file left behind


@pytest.mark.parametrize("tracker", sorted(SPECS))
def test_headers_are_the_spec_titles_in_spec_order_styled_and_frozen(blank, tracker):
    folder, _ = blank
    spec = SPECS[tracker]
    sheets = [(path, title) for t, path, title in tracker_sheets(folder) if t == tracker]
    assert sheets
    for path, title in sheets:
        wb = load_workbook(path)
        assert wb.sheetnames == [s for t, p, s in tracker_sheets(folder) if p == path]
        ws = wb[title]
        header = [c.value for c in ws[1]]
        assert header == [f.title for f in spec.fields]
        assert not any(c.title in header for c in spec.computed)  # sync adds those
        assert ws.freeze_panes == "A2"
        assert all(c.font.bold and c.fill.fgColor.rgb.endswith("D9E1F2") for c in ws[1])
        for col, f in enumerate(spec.fields, start=1):
            width = ws.column_dimensions[ws.cell(row=1, column=col).column_letter].width
            assert width >= len(f.title) + 2, f.title


@pytest.mark.parametrize("tracker", sorted(SPECS))
def test_enum_fields_have_a_dropdown_of_their_allowed_values(blank, tracker):
    folder, _ = blank
    spec = SPECS[tracker]
    path, title = next((p, s) for t, p, s in tracker_sheets(folder) if t == tracker)
    ws = load_workbook(path)[title]
    found = validations(ws)
    for col, f in enumerate(spec.fields, start=1):
        letter = ws.cell(row=1, column=col).column_letter
        if not f.enum:
            assert letter not in found, f.title
            continue
        formula, ref = found[letter]
        assert formula.strip('"').split(",") == list(f.enum)
        assert ref == f"{letter}2:{letter}{VALIDATION_ROWS}"
    for dv in ws.data_validations.dataValidation:
        assert dv.showErrorMessage and "choisissez une valeur" in dv.error


def test_date_and_percent_columns_are_formatted(blank):
    folder, _ = blank
    checked = set()
    for tracker, path, title in tracker_sheets(folder):
        ws = load_workbook(path)[title]
        for col, f in enumerate(SPECS[tracker].fields, start=1):
            fmt = ws.column_dimensions[ws.cell(row=1, column=col).column_letter].number_format
            if f.type == "date":
                assert fmt == "dd/mm/yyyy", f.title
                checked.add("date")
            elif f.format == "percent":
                assert fmt == "0 %", f.title
                checked.add("percent")
    assert checked == {"date", "percent"}


def test_the_self_assessment_lists_the_23_engagements_not_evaluated(blank):
    folder, _ = blank
    ws = load_workbook(folder / "qualite" / "Autoévaluation.xlsx")["Autoévaluation"]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert [r["N° engagement"] for r in rows] == list(range(1, 24))
    assert [r["Engagement"] for r in rows] == [title for _, _, title in ENGAGEMENTS]
    assert {r["Module"] for r in rows[:20]} == {"Module 1 : Relations générales avec les usagers"}
    assert {r["Module"] for r in rows[20:]} == {"Module 2 : Délivrance des CNI-passeports"}
    assert {r["Niveau"] for r in rows} == {"Non évalué"}


def test_a_blank_workspace_checks_clean(blank):
    folder, _ = blank
    report = run_check(load_config(folder / "qep-sync.toml"), TODAY).report
    assert report.failed_sources == []
    assert report.findings == []
    recognised = {(s.source, sh.tracker) for s in report.sources for sh in s.sheets}
    assert len(recognised) == len(tracker_sheets(folder))


def test_the_config_is_commented_and_holds_the_defaults(blank):
    folder, _ = blank
    text = (folder / "qep-sync.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    assert "smtp" not in raw  # mail goes to the outbox until SMTP is set up
    assert "# [smtp]" in text
    for section in ("[workspace]", "[rules]", "[calendar]", "[alerts]"):
        assert text.split(f"\n{section}\n", 1)[1].startswith("# "), section  # explained
    assert "# Sources : un bloc [[sources]] par classeur" in text.split("\n[[sources]]\n", 1)[0]
    config = load_config(folder / "qep-sync.toml")
    assert config.rules == Rules()
    assert config.rules.delai_reponse_jours_ouvres == DEFAULT_DELAIS
    assert config.consolidated == folder.resolve() / "Consolidation qualité.xlsx"
    assert config.alerts.quality_lead is None  # the Référent qualité of Correspondants
    assert config.alerts.sender == "qualite@prefecture.invalid"  # a placeholder, to replace
    assert "Doubs" not in text and "doubs.gouv.fr" not in text  # a neutral config
    assert not {s.code for s in SERVICES} & {s.service for s in config.sources}
    assert config.smtp is None
    assert config.schedule == Schedule()  # serve's defaults, written out to be found and changed
    assert config.logging == LogSettings()
    assert "[schedule]" in text and "[logging]" in text
    services = {s.service: s for s in config.sources}
    for s in BLANK_SERVICES:
        assert services[s.code].name == s.name
        assert services[s.code].path == folder.resolve() / "services" / f"{s.code}.xlsx"
    for b in CENTRAL_BOOKS:
        assert services[b.code].name.startswith("Mission qualité — ")
        assert services[b.code].path.name == b.filename
    assert all(services[b.code].central for b in CENTRAL_BOOKS)
    assert len(services) == len(BLANK_SERVICES) + len(CENTRAL_BOOKS)


@pytest.mark.parametrize(
    "existing", ["qep-sync.toml", "services/SERVICE-1.xlsx", "qualite/Documents.xlsx"]
)
def test_refuses_to_overwrite_without_force_and_writes_nothing(tmp_path, existing):
    folder = tmp_path / "ws"
    target = folder / existing
    target.parent.mkdir(parents=True)
    target.write_bytes(b"mon travail")
    with pytest.raises(QepSyncError, match="--force") as exc:
        create_workspace(folder, demo=False, today=TODAY, force=False)
    assert existing.split("/")[-1] in str(exc.value)
    assert files_under(folder) == {existing: b"mon travail"}


def test_force_replaces_the_files(tmp_path):
    folder = tmp_path / "ws"
    (folder / "services").mkdir(parents=True)
    (folder / "services" / "SERVICE-1.xlsx").write_bytes(b"ancien")
    create_workspace(folder, demo=False, today=TODAY, force=True)
    ws = load_workbook(folder / "services" / "SERVICE-1.xlsx")["Délais"]
    assert ws["A1"].value == "N°"
    assert not list(folder.rglob(".*.tmp"))


def test_cli_init_writes_a_blank_workspace_and_refuses_a_second_time(tmp_path):
    folder = tmp_path / "nouveau"
    runner = CliRunner()
    result = runner.invoke(
        main, ["init", str(folder), "--today", "2026-11-26"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "services/SERVICE-1.xlsx" in result.output.replace("\\", "/")
    assert "qep-sync check -c" in result.output
    before = files_under(folder)
    again = runner.invoke(
        main, ["init", str(folder), "--today", "2026-11-26"], catch_exceptions=False
    )
    assert again.exit_code == 2  # usage error (docs/contract.md §6)
    assert "--force" in again.output
    assert files_under(folder) == before


def test_blank_sheets_do_not_depend_on_the_date(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    create_workspace(a, demo=False, today=dt.date(2025, 3, 3), force=False)
    create_workspace(b, demo=False, today=dt.date(2026, 11, 26), force=False)
    for tracker, path, title in tracker_sheets(a):
        rows_a = list(load_workbook(path)[title].iter_rows(values_only=True))
        rows_b = list(load_workbook(b / path.relative_to(a))[title].iter_rows(values_only=True))
        assert rows_a == rows_b, tracker
