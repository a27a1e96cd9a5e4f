"""The bilan annuel and the audit pack (docs/contract.md §8), made from the demo workspace.

The documents are opened with python-docx (headings, real tables) and printed by LibreOffice
to PDF; their figures are compared with the consolidated view computed on the same data
and date; the audit workbook's links are followed to the cells they name.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import docx
import openpyxl
import pytest
import python_calamine
from click.testing import CliRunner
from conftest import TODAY, needs_printing

from qep_sync.cli import main
from qep_sync.config import load_config
from qep_sync.errors import UsageError, WriteBackError
from qep_sync.jobs.audit import parse_engagements, run_audit
from qep_sync.jobs.consolidate import ViewContext, consolidate
from qep_sync.jobs.report import check_as_of, past_of, run_report
from qep_sync.workspace.demo import DemoRun


@pytest.fixture(scope="module")
def demo(synced_demo: DemoRun) -> DemoRun:
    return synced_demo


@pytest.fixture(scope="module")
def bilan_files(demo: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    run = run_report(demo.config, 2026, TODAY, tmp_path_factory.mktemp("bilan"))
    return run.document, run.workbook


@pytest.fixture(scope="module")
def view(demo: DemoRun) -> Any:
    """The consolidated view on the same data and date, as sync would build it."""
    check = check_as_of(demo.config, TODAY)
    return consolidate(
        check, TODAY, context=ViewContext.of(demo.config, past_of(demo.config, check, TODAY))
    )


def _tables(path: Path) -> dict[str, list[list[Any]]]:
    book = openpyxl.load_workbook(path)
    return {ws.title: [list(r) for r in ws.iter_rows(min_row=4, values_only=True)]
            for ws in book.worksheets}  # fmt: skip


def test_the_bilan_has_its_title_page_contents_and_sections(bilan_files: tuple[Path, Path]) -> None:
    document = docx.Document(str(bilan_files[0]))
    texts = [p.text for p in document.paragraphs]
    assert "Bilan annuel de la démarche qualité 2026" in texts
    assert "Préfecture du Doubs — label Qual-e-pref" in texts
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading 1")]
    assert headings == ["Sommaire", "1. L'année 2026 en chiffres", "2. L'autoévaluation",
                        "3. Le plan d'actions", "4. Les documents", "5. Les formations",
                        "6. Les indicateurs", "7. Les anomalies des tableaux de suivi",
                        "8. Objectifs proposés pour 2027 (projet)"]  # fmt: skip
    xml = document.element.xml
    assert 'TOC \\o "1-2"' in xml  # a table of contents the word processor refreshes
    assert len(document.tables) >= 10 and len(document.inline_shapes) >= 4  # tables, charts
    assert any("PROJET" in t for t in texts)


def test_the_bilans_figures_are_the_consolidated_views(
    bilan_files: tuple[Path, Path], view: Any
) -> None:
    tables = _tables(bilan_files[1])
    engagements = {r[1]: r[3] for r in view.table("Engagements").rows}
    assert {r[0]: r[3] for r in tables["Autoévaluation"]} == engagements
    assert len(tables["Autoévaluation"]) == 23
    # letters received in November 2026, all services and canals: the view's Délais rows
    delais = view.table("Délais").rows
    november = sum(r[3] for r in delais if r[2] == dt.date(2026, 11, 1))
    months = {r[0]: r for r in tables["Mois"]}
    assert months["novembre 2026"][1] == november
    # late actions at the bilan's date: the Synthèse's total
    synthese = view.table("Synthèse")
    late = synthese.total[[c.title for c in synthese.columns].index("Actions en retard")]
    by_origin = tables["Actions par origine"]
    assert by_origin[-1][0] == "Total" and by_origin[-1][3] == late
    objectives = [r[1] for r in tables["Objectifs"] if r[0] == "Plan d'actions"]
    assert objectives == [f"Solder les {late} actions en retard au 26/11/2026"]


def test_the_bilans_document_shows_the_workbooks_figures(bilan_files: tuple[Path, Path]) -> None:
    document = docx.Document(str(bilan_files[0]))
    canals = next(t for t in document.tables if t.rows[0].cells[0].text == "Canal")
    total = [c.text for c in canals.rows[-1].cells]
    sheet = _tables(bilan_files[1])["Courriers"][-1]
    assert total[0] == "Total" and total[1] == str(sheet[1]) and total[2] == str(sheet[2])
    assert total[4] == f"{sheet[4]:.0%}".replace("%", " %")


def test_a_year_without_data_and_a_year_to_come_are_refused(demo: DemoRun, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="aucune donnée pour 2019"):
        run_report(demo.config, 2019, TODAY, tmp_path)
    with pytest.raises(UsageError, match="année 2027"):
        run_report(demo.config, 2027, TODAY, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_output_folder_that_cannot_be_written_is_one_french_error(
    demo: DemoRun, tmp_path: Path
) -> None:
    """A folder that cannot be made (its parent is a file: what root meets, who writes
    anywhere else): one French error, nothing written, no temporary file left."""
    blocker = tmp_path / "un fichier"
    blocker.write_text("déjà là")
    with pytest.raises(WriteBackError, match="écriture impossible"):
        run_report(demo.config, 2026, TODAY, blocker / "bilans")
    with pytest.raises(WriteBackError, match="écriture impossible"):
        run_audit(demo.config, TODAY, [1], blocker / "audit")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["un fichier"]
    assert blocker.read_text() == "déjà là"


def test_an_output_that_is_a_file_is_a_usage_error(demo: DemoRun, tmp_path: Path) -> None:
    target = tmp_path / "bilan.docx"
    target.write_text("déjà là")
    result = CliRunner().invoke(main, ["report", "-c", str(demo.config_path), "--today",
                                       TODAY.isoformat(), "-o", str(target)])  # fmt: skip
    assert result.exit_code == 2
    assert target.read_text() == "déjà là"


def test_a_short_history_is_said_in_the_bilan(tmp_path: Path, demo: DemoRun) -> None:
    """A workspace whose history starts in September: the bilan says so."""
    folder = tmp_path / "ws"
    shutil.copytree(demo.directory, folder)
    config = load_config(folder / "qep-sync.toml")
    from qep_sync.jobs.history import History

    with History(config.state_dir) as history:
        history._db.execute("DELETE FROM snapshots WHERE day < '2026-09-01'")
    run = run_report(config, 2026, TODAY, tmp_path / "out")
    assert run.notes == ["L'historique commence en septembre 2026 : l'évolution des niveaux est "
                         "donnée depuis ce mois-là, pas depuis janvier."]  # fmt: skip
    texts = [p.text for p in docx.Document(str(run.document)).paragraphs]
    assert run.notes[0] in texts


@pytest.fixture(scope="module")
def audit_files(demo: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return run_audit(demo.config, TODAY, None, tmp_path_factory.mktemp("audit"))


def test_the_audit_pack_has_an_index_and_a_sheet_per_engagement(
    audit_files: Any, view: Any
) -> None:
    book = openpyxl.load_workbook(audit_files.workbook)
    assert book.sheetnames == ["Index", *(f"Engagement {n}" for n in range(1, 24))]
    index = list(book["Index"].iter_rows(min_row=4, values_only=True))
    levels = {r[1]: r[3] for r in view.table("Engagements").rows}
    assert {r[0]: r[2] for r in index} == levels
    four = next(r for r in index if r[0] == 4)
    assert four[8] > 0  # every training supports engagement 4


def test_every_link_of_the_audit_pack_opens_an_existing_cell(
    audit_files: Any, demo: DemoRun
) -> None:
    book = openpyxl.load_workbook(audit_files.workbook)
    links = [c.hyperlink for ws in book.worksheets for row in ws.iter_rows() for c in row
             if c.hyperlink]  # fmt: skip
    assert len(links) > 50
    opened: dict[Path, Any] = {}
    for link in links:
        target = link.target
        if target.startswith("http"):
            continue
        path, _, place = target.partition("#")
        file = (audit_files.workbook.parent / unquote(path)).resolve()
        assert file.is_file(), target
        if place:
            title, _, cell = place.rpartition("!")
            title = title.strip("'").replace("''", "'")
            source = opened.setdefault(file, python_calamine.CalamineWorkbook.from_path(str(file)))
            assert title in source.sheet_names and re.fullmatch(r"[A-Z]+[1-9]\d*", cell), target


def test_proofs_become_links_and_a_missing_file_is_flagged(tmp_path: Path, demo: DemoRun) -> None:
    folder = tmp_path / "ws"
    shutil.copytree(demo.directory, folder)
    (folder / "preuves").mkdir()
    (folder / "preuves" / "charte.pdf").write_bytes(b"%PDF-1.4")
    book_path = folder / "qualite" / "Autoévaluation.xlsx"
    book = openpyxl.load_workbook(book_path)
    ws = book["Autoévaluation"]
    header = [c.value for c in ws[1]]
    col = header.index("Preuves") + 1
    ws.cell(
        2, col, "preuves/charte.pdf ; preuves/absent.pdf\nhttps://intranet.doubs.gouv.fr/charte"
    )
    book.save(book_path)
    run = run_audit(load_config(folder / "qep-sync.toml"), TODAY, [1], tmp_path / "out")
    proofs = list(openpyxl.load_workbook(run.workbook)["Engagement 1"].iter_rows(values_only=True))
    found = {r[1]: r[2] for r in proofs if r and r[0] and r[2] in (
        "lien", "fichier", "lien introuvable : fichier absent")}  # fmt: skip
    assert found["https://intranet.doubs.gouv.fr/charte"] == "lien"
    assert found["preuves/absent.pdf"] == "lien introuvable : fichier absent"
    assert any(str(k).endswith("charte.pdf") and v == "fichier" for k, v in found.items())
    assert run.broken_links == 1


def test_engagement_lists_are_parsed_and_bad_ones_refused() -> None:
    assert parse_engagements("4,16-17") == [4, 16, 17]
    assert parse_engagements("1-3,2") == [1, 2, 3]
    for bad in ("x", "5-2", "0", "1,,2"):
        with pytest.raises(UsageError):
            parse_engagements(bad)


def test_an_unknown_engagement_is_refused_and_nothing_written(
    demo: DemoRun, tmp_path: Path
) -> None:
    with pytest.raises(UsageError, match="engagement"):
        run_audit(demo.config, TODAY, [99], tmp_path)
    assert list(tmp_path.iterdir()) == []


@needs_printing
def test_libreoffice_prints_the_bilan_and_the_audit_pack(
    bilan_files: tuple[Path, Path], audit_files: Any, tmp_path: Path
) -> None:
    pages = {}
    for name, source in (("bilan", bilan_files[0]), ("audit", audit_files.document)):
        copy = tmp_path / f"{name}.docx"
        shutil.copyfile(source, copy)
        subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path / 'profile'}",
                        "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                        str(copy)], check=True, capture_output=True, timeout=240)  # fmt: skip
        info = subprocess.run(["pdfinfo", str(tmp_path / f"{name}.pdf")], capture_output=True,
                              text=True, check=True).stdout  # fmt: skip
        assert "(A4)" in info
        pages[name] = int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]
        text = subprocess.run(["pdftotext", str(tmp_path / f"{name}.pdf"), "-"],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip
        assert f"Page 1 / {pages[name]}" in text.replace("\xa0", " ") or "Page 1" in text
    assert pages["bilan"] >= 5 and pages["audit"] >= 24
