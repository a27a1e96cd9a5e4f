"""The quality lead's view on the demo, as she opens and prints it (docs/contract.md §4).

``run_demo`` makes the demo workspace with its year of history and syncs it on a pinned
date; the consolidated workbook is read back with openpyxl, and LibreOffice prints it to
PDF (A4, page numbers, a one-page COPIL sheet), as the lead would before a COPIL.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import openpyxl
import pytest
import python_calamine
from conftest import TODAY, needs_printing

from qep_sync.jobs.history import HISTORY_NAME, History
from qep_sync.workspace.demo import DemoRun
from qep_sync.workspace.demo_history import copil_dates, past_days
from qep_sync.workspace.plan import QUALITY_SERVICE, SERVICES


@pytest.fixture(scope="module")
def demo(synced_demo: DemoRun) -> DemoRun:
    return synced_demo


@pytest.fixture(scope="module")
def book(demo: DemoRun) -> openpyxl.Workbook:
    assert demo.config.consolidated is not None
    return openpyxl.load_workbook(demo.config.consolidated)


def rows(book: openpyxl.Workbook, sheet: str) -> list[tuple[Any, ...]]:
    return list(book[sheet].iter_rows(min_row=4, values_only=True))


def test_the_synthese_has_exactly_the_demos_services(book: openpyxl.Workbook) -> None:
    lines = rows(book, "Synthèse")
    total = next(i for i, r in enumerate(lines) if r[0] == "Total")
    services = [r[0] for r in lines[:total]]
    # the five bureaux, the quality mission (the référent's service in Correspondants), and
    # the self-assessment lines of the whole prefecture, apart
    assert services == [*(s.code for s in SERVICES), QUALITY_SERVICE.code, "Tous services"]
    assert lines[total][1] == f"{len(SERVICES) + 1} services"
    assert not any(str(code).startswith("QUALITE-") for code in services)


def test_engagements_always_lists_the_23_engagements(book: openpyxl.Workbook) -> None:
    lines = rows(book, "Engagements")
    assert [r[1] for r in lines] == list(range(1, 24))
    sixteen = lines[15]
    assert sixteen[3] == "Niveau à corriger"  # the planted invalid level: shown, not dropped


def test_the_history_holds_a_year_and_tendances_show_it(
    demo: DemoRun, book: openpyxl.Workbook
) -> None:
    with History(demo.config.state_dir) as history:
        days = history.days()
    assert days == [*past_days(TODAY), TODAY]
    lines = {(r[0], r[1]): r[2:] for r in rows(book, "Tendances") if r[1]}
    late = lines[("Actions en retard", "Total")]
    assert len(late) == 12 and all(v is not None for v in late)
    assert (demo.config.state_dir / HISTORY_NAME).is_file()


def test_the_copil_sheet_compares_with_the_last_copil(book: openpyxl.Workbook) -> None:
    last = max(d for d in copil_dates(TODAY) if d <= TODAY)
    assert f"situation au COPIL du {last:%d/%m/%Y}" in book["COPIL"]["A2"].value
    header = [c.value for c in book["COPIL"][3]]
    lines = rows(book, "COPIL")
    total = next(r for r in lines if r[0] == "Total")
    at = header.index("Actions en retard")
    now, then, change = total[at : at + 3]
    assert change == now - then


@pytest.mark.parametrize("sheet", ["Échéances", "Réponses", "Anomalies", "Engagements"])
def test_every_line_links_to_an_existing_cell_of_its_source(
    demo: DemoRun, book: openpyxl.Workbook, sheet: str
) -> None:
    assert demo.config.consolidated is not None
    folder = demo.config.consolidated.parent
    lines = list(book[sheet].iter_rows(min_row=4))
    links = [c.hyperlink for r in lines for c in r if c.hyperlink]
    with_place = [link for link in links if "#" in link.target]
    assert with_place, sheet
    if sheet != "Anomalies":  # an anomaly of a whole file has no cell
        assert len(with_place) == len(lines), sheet
    opened: dict[Path, openpyxl.Workbook] = {}
    for link in with_place:
        path, _, place = link.target.partition("#")
        file = (folder / unquote(path)).resolve()
        title, _, cell = place.rpartition("!")
        title = title.strip("'").replace("''", "'")
        source = opened.setdefault(file, python_calamine.CalamineWorkbook.from_path(str(file)))
        assert title in source.sheet_names, link.target
        assert re.fullmatch(r"[A-Z]{1,3}[1-9][0-9]*", cell), link.target


def test_every_sheet_is_set_up_for_a4_with_page_numbers(book: openpyxl.Workbook) -> None:
    for ws in book.worksheets:
        assert int(ws.page_setup.paperSize) == 9, ws.title  # A4
        assert ws.print_title_rows == "$3:$3", ws.title
        assert "&P" in ws.oddFooter.center.text, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
    assert book["COPIL"].page_setup.fitToHeight == 1


def test_headers_wrap_at_word_boundaries(book: openpyxl.Workbook) -> None:
    """No header word is wider than its column: LibreOffice would break it mid-word."""
    for ws in book.worksheets:
        for cell in ws[3]:
            if cell.value is None:
                continue
            width = ws.column_dimensions[cell.column_letter].width
            longest = max(len(w) for w in str(cell.value).split())
            assert longest + 1 < width, (ws.title, cell.value, width)


@needs_printing
def test_libreoffice_prints_it_on_a4_with_page_numbers_and_a_one_page_copil(
    demo: DemoRun, tmp_path: Path
) -> None:
    assert demo.config.consolidated is not None
    copy = tmp_path / "consolidation.xlsx"
    shutil.copyfile(demo.config.consolidated, copy)
    profile = f"-env:UserInstallation=file://{tmp_path / 'profile'}"
    subprocess.run(["soffice", profile, "--headless", "--convert-to", "pdf", "--outdir",
                    str(tmp_path), str(copy)], check=True, capture_output=True, timeout=240)  # fmt: skip
    pdf = tmp_path / "consolidation.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    pages = int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1))  # type: ignore[union-attr]
    assert "(A4)" in info.stdout
    first = subprocess.run(["pdftotext", "-layout", "-f", "1", "-l", "1", str(pdf), "-"],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    second = subprocess.run(["pdftotext", "-layout", "-f", "2", "-l", "2", str(pdf), "-"],
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert f"Page 1 / {pages}" in first and "COPIL" in first and "Total" in first
    assert "Consolidation qualité" in second and f"Page 2 / {pages}" in second  # Synthèse


def test_the_demo_also_makes_the_leads_deliverables(demo: DemoRun) -> None:
    made = demo.deliverables
    assert made is not None and made.folder == demo.directory / "livrables"
    for path in (made.report.document, made.report.workbook, made.audit.document,
                 made.audit.workbook, made.pilote.path):  # fmt: skip
        assert path.is_file() and path.parent == made.folder, path
    assert made.report.year == TODAY.year and made.audit.engagements == list(range(1, 24))
    lines = made.pilote.path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "identifiant_indic,zone_id,date_valeur,type_valeur,valeur"
    assert len(lines) == 1 + len(made.pilote.rows) == 4  # the three indicators the demo maps
