"""Links from the consolidated workbook to the cells its lines come from (docs/contract.md §4)."""

from __future__ import annotations

from pathlib import Path

from qep_sync.config import Source, parse_config
from qep_sync.jobs.consolidate import ViewContext
from qep_sync.jobs.links import Linker

KEY = "1qepSyncLinksTestSpreadsheet00001"


def test_a_file_link_is_relative_to_the_consolidated_workbook(tmp_path: Path) -> None:
    source = Source("BAS", "BAS", tmp_path / "services" / "Plan d'actions.xlsx")
    link = Linker(tmp_path).to(source, "Plan d'actions", None, "A7")
    assert link.target == "services/Plan%20d'actions.xlsx#'Plan d''actions'!A7"
    assert link.text == str(tmp_path / "services" / "Plan d'actions.xlsx")


def test_a_google_sheet_link_names_its_tab_and_range() -> None:
    source = Source("BAS", "BAS", gsheet=KEY)
    link = Linker().to(source, "Délais", "123456", "C12")
    assert link.target == f"https://docs.google.com/spreadsheets/d/{KEY}/edit#gid=123456&range=C12"
    assert link.text == f"https://docs.google.com/spreadsheets/d/{KEY}/edit"


def test_with_a_display_root_links_and_paths_are_the_agents(tmp_path: Path) -> None:
    raw = {"workspace": {"display_root": "\\\\srv-pref\\qualite"},
           "sources": [{"service": "BAS", "path": "services/BAS.xlsx"}]}  # fmt: skip
    config = parse_config(raw, tmp_path, tmp_path / "qep-sync.toml")
    link = ViewContext.of(config).linker.to(config.sources[0], "Délais", None, "A2")
    assert link.text == "\\\\srv-pref\\qualite\\services\\BAS.xlsx"
    assert link.target == "file://srv-pref/qualite/services/BAS.xlsx#'Délais'!A2"
