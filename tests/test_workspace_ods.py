"""`qep-sync init --format ods` and the demo's LibreOffice bureau (docs/contract.md §6): blank
.ods trackers with the same template as the .xlsx ones (spec headers styled and frozen,
dropdowns of the allowed values, date and percent formats, widths), checked clean, synced like
any other workbook, and opened by LibreOffice.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TODAY
from lxml import etree
from ods_workbooks import NS, csv_sheets, needs_soffice, row_runs, tables_of

from qep_sync.backends.ods import read_ods
from qep_sync.cli import main
from qep_sync.config import load_config
from qep_sync.core.specs import load_specs
from qep_sync.jobs.check import run_check
from qep_sync.jobs.sync import run_sync
from qep_sync.workspace.create import create_workspace
from qep_sync.workspace.layout import VALIDATION_ROWS
from qep_sync.workspace.plan import BLANK_SERVICES, CENTRAL_BOOKS, SERVICES

SPECS = load_specs()
T, OFFICE, STYLE, FO = (f"{{{NS[k]}}}" for k in ("table", "office", "style", "fo"))


@pytest.fixture(scope="module")
def blank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("blank-ods") / "qualite"
    result = CliRunner().invoke(main, ["init", str(folder), "--format", "ods", "--today",
                                       TODAY.isoformat()], catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "services/SERVICE-1.ods" in result.output.replace("\\", "/")
    return folder


def books(folder: Path) -> list[tuple[Path, list[str]]]:
    """Every tracker workbook of a blank workspace and the trackers it holds."""
    found = [(folder / "services" / f"{s.code}.ods", ["courriers", "indicateurs"])
             for s in BLANK_SERVICES]  # fmt: skip
    found += [(folder / "qualite" / Path(b.filename).with_suffix(".ods"), [b.tracker])
              for b in CENTRAL_BOOKS]  # fmt: skip
    return found


def test_every_tracker_workbook_is_an_ods_named_by_the_config(blank: Path) -> None:
    config = load_config(blank / "qep-sync.toml")
    assert {s.path for s in config.sources} == {p.resolve() for p, _ in books(blank)}
    assert config.consolidated.suffix == ".xlsx"  # the quality lead's workbook stays Excel's
    for path, _ in books(blank):
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None
            first = zf.infolist()[0]
            assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
            assert zf.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
            assert {"content.xml", "styles.xml", "settings.xml", "meta.xml",
                    "META-INF/manifest.xml"} <= set(zf.namelist())  # fmt: skip


def test_a_blank_ods_workspace_checks_clean(blank: Path) -> None:
    report = run_check(load_config(blank / "qep-sync.toml"), TODAY).report
    assert report.failed_sources == [] and report.findings == []
    recognised = {(s.source, sh.tracker, sh.header_row) for s in report.sources for sh in s.sheets}
    assert recognised == {(p.name, t, 1) for p, trackers in books(blank) for t in trackers}


def test_headers_are_styled_and_frozen_and_enum_columns_have_their_dropdown(blank: Path) -> None:
    for path, trackers in books(blank):
        with zipfile.ZipFile(path) as zf:
            content = etree.fromstring(zf.read("content.xml"))
            settings = zf.read("settings.xml")
        for tracker, table in zip(trackers, tables_of(content), strict=True):
            spec = SPECS[tracker]
            book = read_ods(path)
            sheet = next(s for s in book.sheets if s.title == spec.title)
            assert sheet.rows[0] == [f.title for f in spec.fields]
            header = row_runs(table)[0][1]
            styles = {c.get(T + "style-name") for c in header}
            assert styles == {"en-tete"}
            assert f'"{spec.title}"'.encode() in settings
            validated = {}
            for count, row in row_runs(table)[1:]:
                for col, cell in enumerate(row):
                    if cell.get(T + "content-validation-name"):
                        validated.setdefault(col, 0)
                        validated[col] += count
            for col, f in enumerate(spec.fields):
                if f.enum and not any("," in v for v in f.enum):
                    assert validated.get(col, 0) >= VALIDATION_ROWS - 1, f.title
                else:
                    assert col not in validated, f.title
    settings_text = zipfile.ZipFile(books(blank)[0][0]).read("settings.xml").decode()
    assert '"VerticalSplitMode" config:type="short">2<' in settings_text
    assert '"VerticalSplitPosition" config:type="int">1<' in settings_text


def test_dropdowns_list_the_allowed_values_and_warn(blank: Path) -> None:
    with zipfile.ZipFile(books(blank)[0][0]) as zf:
        content = etree.fromstring(zf.read("content.xml"))
    checks = content.findall(f".//{T}content-validation")
    canal = next(c for c in checks if "Courriel" in c.get(T + "condition", ""))
    values = ";".join(f'"{v}"' for v in SPECS["courriers"].by_name["canal"].enum)
    assert canal.get(T + "condition") == f"of:cell-content-is-in-list({values})"
    error = canal.find(T + "error-message")
    assert error is not None and error.get(T + "message-type") == "warning"
    assert "choisissez une valeur" in "".join(error.itertext())


def test_a_blank_ods_workspace_is_synced_like_any_other(blank: Path, tmp_path: Path) -> None:
    """The sync adds the owned headers to each blank tracker (no data: no other cell)."""
    folder = tmp_path / "copie"
    shutil.copytree(blank, folder)
    config = load_config(folder / "qep-sync.toml")
    run = run_sync(config, TODAY)
    assert {w.status for w in run.writes} == {"written"}
    sheet = read_ods(folder / "services" / "SERVICE-1.ods").sheets[0]
    assert sheet.rows[0][-2:] == ["Statut", "Contrôle"]
    again = run_sync(config, TODAY)
    assert {w.status for w in again.writes} == {"unchanged"}


def test_the_self_assessment_lists_the_23_engagements(blank: Path) -> None:
    sheet = read_ods(blank / "qualite" / "Autoévaluation.ods").sheets[0]
    header = sheet.rows[0]
    numbers = [row[header.index("N° engagement")] for row in sheet.rows[1:24]]
    assert numbers == [float(n) for n in range(1, 24)]


def test_the_demo_keeps_one_bureau_in_libreoffice(tmp_path: Path) -> None:
    (ods,) = [s for s in SERVICES if s.suffix == ".ods"]
    created = create_workspace(tmp_path / "demo", demo=True, today=TODAY, force=False)
    assert {p.suffix for p in created if p.parent.name == "services"} == {".xlsx", ".ods"}
    config = load_config(tmp_path / "demo" / "qep-sync.toml")
    path = tmp_path / "demo" / "services" / f"{ods.code}.ods"
    assert path in {s.path for s in config.sources}
    sheet = next(s for s in read_ods(path).sheets if s.title == "Délais")
    assert sheet.rows[0][0].startswith("Courriers et courriels")  # a title above the header
    everything = create_workspace(tmp_path / "ods", demo=True, today=TODAY, force=False,
                                  workbook_format="ods")  # fmt: skip
    assert {p.suffix for p in everything[1:]} == {".ods"}


@needs_soffice
def test_libreoffice_opens_a_blank_tracker_and_the_demo_bureau_after_a_sync(
    blank: Path, tmp_path: Path
) -> None:
    create_workspace(tmp_path / "demo", demo=True, today=TODAY, force=False)
    config = load_config(tmp_path / "demo" / "qep-sync.toml")
    run = run_sync(config, TODAY)
    (ods,) = [s for s in SERVICES if s.suffix == ".ods"]
    (write,) = [w for w in run.writes if w.source == f"{ods.code}.ods"]
    assert write.status == "written" and write.cells > 100
    demo = csv_sheets(tmp_path / "demo" / "services" / f"{ods.code}.ods", tmp_path / "csv")
    header = demo["Délais"][2]
    assert header[-5:] == ["Date limite de réponse", "Délai (jours ouvrés)", "Dans le délai",
                           "Statut", "Contrôle"]  # fmt: skip
    statuses = {row[-2] for row in demo["Délais"][3:] if row and row[0].strip()}
    assert {"Répondu dans le délai", "En attente"} <= statuses
    blank_csv = csv_sheets(blank / "services" / "SERVICE-2.ods", tmp_path / "blank")
    assert blank_csv["Délais"][0][: len(SPECS["courriers"].fields)] == [
        f.title for f in SPECS["courriers"].fields]  # fmt: skip
