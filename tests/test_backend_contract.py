"""One contract, three backends: the same scenarios on an .xlsx file, on a LibreOffice .ods
file and on a Google Sheet.

The .ods is made by LibreOffice (``soffice --convert-to ods``), and so are a person's edits to
it (LibreOffice saves the file); its side runs where LibreOffice is installed (always in CI).
The Google Sheet lives on the local Sheets-API-compatible server (tests/sheets_server.py),
reached by qep-sync's real path: a service-account key file named by an environment variable,
its token_uri on the local server, gspread over HTTP, the base URL from the config.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import python_calamine
from conftest import TODAY, make_workbook
from gsheet_helpers import make_service_account_key
from ods_workbooks import cache_dir, edit_with_libreoffice, needs_soffice, ods_from_rows
from sheets_server import SheetsServer

from qep_sync.config import Config, parse_config
from qep_sync.jobs.check import run_check
from qep_sync.jobs.sync import run_sync

KEY = "1qepSyncContractTestSpreadsheet0001"
KEY_ENV = "QEP_TEST_GOOGLE_KEY"
PLAN = "Plan d'actions"
DELAIS = "Délais"
ROWS = {
    PLAN: [
        ["Plan d'actions 2026 — BRCIE"],
        [],
        ["N° action", "Action", "Échéance", "État", "Date de réalisation", "Notes du service"],
        ["A1", "Refaire l'affichage", dt.date(2026, 12, 4), "En cours", None, "à voir"],
        ["A2", "Former l'accueil", dt.date(2026, 9, 30), "Fait", dt.date(2026, 10, 2), ""],
        ["A3", "Enquête", "31/02/2026", "à faire", None, "=1+1"],
        ["A4", "Charte", dt.date(2027, 6, 1), "Terminé ?", None, None],
    ],
    DELAIS: [
        ["N°", "Canal", "Date de réception", "Date de réponse", "Objet"],
        ["C1", "Courriel", dt.date(2026, 11, 2), dt.date(2026, 11, 5), "Horaires"],
        ["C2", "Courrier", dt.date(2026, 11, 2), None, '=HYPERLINK("x")'],
        ["C3", "Courriel", dt.date(2026, 11, 20), dt.date(2026, 11, 10), "Erreur de saisie"],
    ],
}
EXPECTED_FINDINGS = {
    (PLAN, "C6", "error"),  # 31/02/2026
    (PLAN, "D7", "error"),  # Terminé ?
    (DELAIS, "D4", "error"),  # reply before reception
}


class Side:
    """One backend in the contract: builds the source, reads back what sync wrote."""

    name: str

    def config(self) -> Config:
        raise NotImplementedError

    def grid(self, sheet: str) -> list[list[Any]]:
        raise NotImplementedError

    def insert_row_before_write(self, sheet: str, at: int) -> None:
        raise NotImplementedError

    def type_cells(self, sheet: str, cells: dict[str, Any]) -> None:
        """A person edits cells (None empties one) and saves."""
        raise NotImplementedError


class XlsxSide(Side):
    name = "xlsx"

    def __init__(self, tmp_path: Path) -> None:
        self.path = make_workbook(tmp_path / "BRCIE.xlsx", ROWS)
        self.tmp_path = tmp_path

    def config(self) -> Config:
        raw = {"sources": [{"service": "BRCIE", "name": "Bureau", "xlsx": self.path.name}]}
        return parse_config(raw, self.tmp_path)

    def grid(self, sheet: str) -> list[list[Any]]:
        book = python_calamine.CalamineWorkbook.from_path(str(self.path))
        rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        return [[None if v == "" else v for v in r] for r in rows]

    def insert_row_before_write(self, sheet: str, at: int) -> None:
        # A person saves the file between qep-sync's read and its write.
        import qep_sync.backends.xlsx as xlsx

        original = xlsx.write_back

        def edit_then_write(*args: Any, **kwargs: Any) -> None:
            xlsx.write_back = original  # once: the person saves a single time
            rows = {k: [list(r) for r in v] for k, v in ROWS.items()}
            rows[sheet].insert(at - 1, ["A9", "Ligne insérée", dt.date(2027, 1, 1), "En cours"])
            make_workbook(self.path, rows)
            original(*args, **kwargs)

        self._patch = (xlsx, original)
        xlsx.write_back = edit_then_write  # type: ignore[assignment]

    def type_cells(self, sheet: str, cells: dict[str, Any]) -> None:
        import openpyxl

        book = openpyxl.load_workbook(self.path)
        for ref, value in cells.items():
            book[sheet][ref] = value
        book.save(self.path)

    def undo(self) -> None:
        if hasattr(self, "_patch"):
            module, original = self._patch
            module.write_back = original


class OdsSide(Side):
    name = "ods"

    def __init__(self, tmp_path: Path, cache: Path) -> None:
        self.tmp_path, self.cache = tmp_path, cache
        self.path = ods_from_rows(tmp_path / "BRCIE.ods", ROWS, cache)

    def config(self) -> Config:
        raw = {"sources": [{"service": "BRCIE", "name": "Bureau", "path": self.path.name}]}
        return parse_config(raw, self.tmp_path)

    def grid(self, sheet: str) -> list[list[Any]]:
        book = python_calamine.CalamineWorkbook.from_path(str(self.path))
        rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        return [[None if v == "" else v for v in r] for r in rows]

    def insert_row_before_write(self, sheet: str, at: int) -> None:
        # A person saves the file in LibreOffice between qep-sync's read and its write.
        import qep_sync.backends.ods as ods

        original = ods.write_back

        def edit_then_write(*args: Any, **kwargs: Any) -> list[str]:
            ods.write_back = original  # once: the person saves a single time
            rows = {k: [list(r) for r in v] for k, v in ROWS.items()}
            rows[sheet].insert(at - 1, ["A9", "Ligne insérée", dt.date(2027, 1, 1), "En cours"])
            ods_from_rows(self.path, rows, self.cache)
            return original(*args, **kwargs)

        self._patch = (ods, original)
        ods.write_back = edit_then_write  # type: ignore[assignment]

    def type_cells(self, sheet: str, cells: dict[str, Any]) -> None:
        edit_with_libreoffice(self.path, sheet, cells)

    def undo(self) -> None:
        if hasattr(self, "_patch"):
            module, original = self._patch
            module.write_back = original


class SheetSide(Side):
    name = "gsheet"

    def __init__(self, tmp_path: Path, server: SheetsServer, monkeypatch: Any) -> None:
        self.server, self.tmp_path = server, tmp_path
        server.add_spreadsheet(KEY, "Suivi BRCIE", ROWS)
        key_path = tmp_path / "cle-compte-de-service.json"
        make_service_account_key(key_path, server=server)
        monkeypatch.setenv(KEY_ENV, str(key_path))
        monkeypatch.delenv("QEP_SYNC_SHEETS_API", raising=False)

    def config(self) -> Config:
        raw = {
            "sources": [{"service": "BRCIE", "name": "Bureau", "gsheet": KEY}],
            "google": {"credentials_env": KEY_ENV, "api_base": self.server.url,
                       "backoff_seconds": 0.01, "max_backoff_seconds": 0.05},
        }  # fmt: skip
        return parse_config(raw, self.tmp_path)

    def grid(self, sheet: str) -> list[list[Any]]:
        return self.server.values(KEY, sheet)

    def insert_row_before_write(self, sheet: str, at: int) -> None:
        seen: list[Any] = []

        def person_edits(request: Any) -> None:
            seen.append(request)
            if len(seen) == 2:  # the first batchGet is the read; the second, the re-check
                self.server.insert_rows(KEY, sheet, at)
                self.server.set_values(KEY, sheet, f"A{at}", [
                    ["A9", "Ligne insérée", dt.date(2027, 1, 1), "En cours"]
                ])  # fmt: skip

        self.server.on_request("batchGet", person_edits, times=2)

    def type_cells(self, sheet: str, cells: dict[str, Any]) -> None:
        for ref, value in cells.items():
            self.server.set_cell(KEY, sheet, ref, value)

    def undo(self) -> None:
        pass


@pytest.fixture(params=["xlsx", pytest.param("ods", marks=needs_soffice), "gsheet"])
def side(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: Any) -> Iterator[Side]:
    if request.param in ("xlsx", "ods"):
        file_side = (XlsxSide(tmp_path) if request.param == "xlsx"
                     else OdsSide(tmp_path, cache_dir(request.config)))  # fmt: skip
        yield file_side
        file_side.undo()
        return
    with SheetsServer() as server:
        yield SheetSide(tmp_path, server, monkeypatch)


def _cell(grid: list[list[Any]], a1: str) -> Any:
    col = ord(a1[0]) - 65
    row = int(a1[1:]) - 1
    if row >= len(grid) or col >= len(grid[row]):
        return None
    return grid[row][col]


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


def test_check_reports_the_same_findings_on_every_backend(side: Side) -> None:
    report = run_check(side.config(), TODAY).report
    assert not report.failed_sources
    found = {(f.sheet, f.cell, str(f.severity)) for f in report.findings}
    assert found == EXPECTED_FINDINGS
    sheets = {s.sheet: (s.tracker, s.header_row, s.rows) for s in report.sources[0].sheets}
    assert sheets == {PLAN: ("plan_actions", 3, 4), DELAIS: ("courriers", 1, 3)}


def test_sync_writes_computed_columns_and_controle_beside_the_users_columns(side: Side) -> None:
    run = run_sync(side.config(), TODAY)
    assert [w.status for w in run.writes] == ["written"]
    plan = side.grid(PLAN)
    assert plan[2][6:9] == ["Jours restants", "Statut", "Contrôle"]
    assert _cell(plan, "G4") == 8 and _cell(plan, "H4") == "Échéance proche"
    assert _cell(plan, "H5") == "Terminée" and _cell(plan, "G5") is None
    assert _cell(plan, "I6") == "Échéance : date illisible « 31/02/2026 »"
    assert _cell(plan, "H7") is None and "Terminé ?" in _cell(plan, "I7")
    delais = side.grid(DELAIS)
    assert delais[0][5:10] == [
        "Date limite de réponse", "Délai (jours ouvrés)", "Dans le délai", "Statut", "Contrôle",
    ]  # fmt: skip
    assert _as_date(_cell(delais, "F2")) == dt.date(2026, 11, 9)
    assert (_cell(delais, "G2"), _cell(delais, "H2"), _cell(delais, "I2")) == (
        3, "Oui", "Répondu dans le délai",
    )  # fmt: skip
    assert _cell(delais, "I3") == "En retard"  # Courrier received 02/11, 15 working days
    assert _cell(delais, "F4") is None and "avant la réception" in _cell(delais, "J4")


def test_sync_leaves_every_user_cell_as_it_was(side: Side) -> None:
    before = {sheet: side.grid(sheet) for sheet in ROWS}
    run_sync(side.config(), TODAY)
    for sheet, rows in before.items():
        width = len(ROWS[sheet][2 if sheet == PLAN else 0])
        after = side.grid(sheet)
        for r, row in enumerate(rows):
            assert [v for v in row[:width]] == [v for v in after[r][:width]], (sheet, r + 1)
    assert _cell(side.grid(PLAN), "F6") == "=1+1"  # a user's text that looks like a formula


def test_a_second_sync_on_the_same_day_writes_nothing(side: Side) -> None:
    run_sync(side.config(), TODAY)
    if isinstance(side, SheetSide):
        side.server.reset_log()
    again = run_sync(side.config(), TODAY)
    assert [w.status for w in again.writes] == ["unchanged"]
    if isinstance(side, SheetSide):
        assert side.server.count("valuesBatchUpdate") == 0
        assert side.server.count("batchUpdate") == 0
        assert side.server.count("metadata") + side.server.count("batchGet") == 2


def test_rows_inserted_between_read_and_write_get_no_misplaced_status(side: Side) -> None:
    side.insert_row_before_write(PLAN, 5)
    run = run_sync(side.config(), TODAY)
    # A file is replaced whole, so it is skipped whole; a Google Sheet skips only that tab.
    assert run.writes[0].status == ("written" if side.name == "gsheet" else "skipped")
    warnings = [f.message for f in run.check.report.findings if f.severity == "warning"]
    assert any("nouvel essai au prochain" in w for w in warnings), warnings
    plan = side.grid(PLAN)
    # Nothing computed landed in the sheet the person had just changed.
    assert all(len(row) <= 6 or all(v in (None, "") for v in row[6:]) for row in plan)
    again = run_sync(side.config(), TODAY)  # next run: written, on the right rows
    assert again.writes[0].status == "written"
    plan = side.grid(PLAN)
    assert _cell(plan, "A5") == "A9" and _cell(plan, "H5") == "Dans les temps"
    assert _cell(plan, "A6") == "A2" and _cell(plan, "H6") == "Terminée"


def test_a_row_emptied_by_a_person_loses_its_computed_cells_but_a_total_row_keeps_its_own(
    side: Side,
) -> None:
    run_sync(side.config(), TODAY)
    assert _cell(side.grid(PLAN), "H4") == "Échéance proche"
    side.type_cells(PLAN, {"A4": None, "B4": None, "C4": None, "D4": None, "F4": None,
                           "A9": "Total", "H9": "2 en retard"})  # fmt: skip
    run = run_sync(side.config(), TODAY)
    assert run.writes[0].status == "written"
    plan = side.grid(PLAN)
    assert _cell(plan, "G4") is None and _cell(plan, "H4") is None  # stale values cleared
    assert _cell(plan, "H9") == "2 en retard"  # a total row is the person's, not qep-sync's
    assert _cell(plan, "H5") == "Terminée"  # the other rows keep theirs
