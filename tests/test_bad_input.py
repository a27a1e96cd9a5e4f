"""Hostile, damaged and odd workbooks: each is refused with one clear French reason, the other
sources are still checked, the CLI exits 1 without a traceback, and nothing is written
(docs/contract.md §6, §7: one source failing does not stop the others; ``check`` writes nothing).
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import GOOD_PLAN_ROWS, TODAY, make_good_workbook, make_workbook
from msoffcrypto.format.ooxml import OOXMLFile

from qep_sync.cli import main
from qep_sync.config import Config, Source
from qep_sync.core.findings import Severity, SheetSummary, SourceReport
from qep_sync.jobs.check import run_check

BILLION_LAUGHS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE worksheet [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + "]>\n"
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    "</sheetData></worksheet>"
)

XXE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
    'uniqueCount="1"><si><t>&xxe;</t></si></sst>'
)


def replace_part(source: Path, target: Path, part: str, content: bytes) -> Path:
    """Copy a real workbook's zip entry by entry, with one part's content replaced."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        assert part in zin.namelist()
        for info in zin.infolist():
            data = content if info.filename == part else zin.read(info.filename)
            zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return target


# --- the bad inputs --------------------------------------------------------------------------


def text_renamed(path: Path) -> None:
    path.write_text("N° action;Action;Échéance\nA1;Accueil;12/09/2022\n", encoding="utf-8")


def empty_file(path: Path) -> None:
    path.write_bytes(b"")


def truncated_zip(path: Path) -> None:
    real = make_good_workbook(path.with_name("complet.tmp"))
    data = real.read_bytes()
    real.unlink()
    path.write_bytes(data[: len(data) // 2])


def encrypted(path: Path) -> None:
    real = make_good_workbook(path.with_name("clair.tmp"))
    with real.open("rb") as plain, path.open("wb") as out:
        OOXMLFile(plain).encrypt("MotDePasse1", out)
    real.unlink()


def xml_bomb(path: Path) -> None:
    real = make_good_workbook(path.with_name("vrai.tmp"))
    replace_part(real, path, "xl/worksheets/sheet1.xml", BILLION_LAUGHS.encode())
    real.unlink()


def xxe(path: Path) -> None:
    real = make_good_workbook(path.with_name("vrai.tmp"))
    replace_part(real, path, "xl/sharedStrings.xml", XXE.encode())
    real.unlink()


def zip_bomb(path: Path) -> None:
    # A valid sheet padded with 24 MiB of blanks: deflates about 1000 to 1.
    real = make_good_workbook(path.with_name("vrai.tmp"))
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + b" " * (24 << 20)
        + b"<sheetData/></worksheet>"
    )
    replace_part(real, path, "xl/worksheets/sheet1.xml", sheet)
    real.unlink()


def docx_renamed(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        zf.writestr(
            "word/document.xml",
            '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            "wordprocessingml/2006/main\"><w:body><w:p><w:r><w:t>Plan d'actions</w:t></w:r>"
            "</w:p></w:body></w:document>",
        )


def old_xls(path: Path) -> None:
    # The OLE compound-file signature, then a header and padding: what an .xls starts with.
    header = bytes.fromhex("D0CF11E0A1B11AE1") + bytes(16) + bytes.fromhex("3E000300FEFF0900")
    path.write_bytes(header + bytes(4096 - len(header)))


def empty_workbook(path: Path) -> None:
    make_workbook(path, {"Feuil1": []})


def unrelated_workbook(path: Path) -> None:
    make_workbook(path, {"Budget": [["Poste", "Montant"], ["Papeterie", 120.5]]})


def no_header(path: Path) -> None:
    rows = [["Plan d'actions de la préfecture"], ["À compléter par les services"]]
    rows += [[f"Ligne {i}", "texte libre"] for i in range(3, 13)]
    make_workbook(path, {"Plan d'actions": rows})


def duplicate_headers(path: Path) -> None:
    rows = [
        ["N° action", "Action", "Échéance", "État", "Échéance"],
        ["A1", "Accueil", dt.date(2027, 1, 4), "En cours", dt.date(2027, 2, 1)],
    ]
    make_workbook(path, {"Plan d'actions": rows})


@dataclass(frozen=True)
class Bad:
    """A bad input, and the words its French reason must contain."""

    make: Callable[[Path], None]
    words: tuple[str, ...]
    sheet_level: bool = False  # the workbook opens; the problem is a finding on a sheet
    cell: str = ""

    def __str__(self) -> str:
        return self.make.__name__


BAD_INPUTS = [
    Bad(text_renamed, ("n'est pas un classeur Excel",)),
    Bad(empty_file, ("fichier vide", "0 octet")),
    Bad(truncated_zip, ("endommagé ou incomplet", "tronquée")),
    Bad(encrypted, ("protégé par un mot de passe", "sans mot de passe")),
    Bad(xml_bomb, ("XML dangereux", "xl/worksheets/sheet1.xml", "sécurité")),
    Bad(xxe, ("XML dangereux", "xl/sharedStrings.xml")),
    Bad(zip_bomb, ("archive anormale", "xl/worksheets/sheet1.xml", "sécurité")),
    Bad(docx_renamed, ("n'est pas un classeur Excel", "xl/workbook.xml")),
    Bad(old_xls, ("ancien format", ".xls", "enregistrez-le au format .xlsx")),
    Bad(empty_workbook, ("classeur vide",)),
    Bad(unrelated_workbook, ("aucun onglet de suivi reconnu", "« Budget »")),
    Bad(
        no_header,
        ("ligne d'en-tête introuvable", "10 premières lignes", "« Échéance »"),
        sheet_level=True,
    ),
    Bad(duplicate_headers, ("en-tête en double", "« Échéance »", "C1", "E1"), True, "E1"),
]


@pytest.fixture(params=BAD_INPUTS, ids=str)
def bad(request: pytest.FixtureRequest) -> Bad:
    return request.param


@pytest.fixture
def workspace(tmp_path: Path, bad: Bad) -> Path:
    """A folder with a config naming the bad workbook first and a good one second."""
    services = tmp_path / "services"
    services.mkdir()
    bad.make(services / "mauvais.xlsx")
    make_good_workbook(services / "bon.xlsx")
    (tmp_path / "qep-sync.toml").write_text(
        '[[sources]]\nservice = "MAUVAIS"\nxlsx = "services/mauvais.xlsx"\n\n'
        '[[sources]]\nservice = "BON"\nxlsx = "services/bon.xlsx"\n',
        encoding="utf-8",
    )
    return tmp_path


def snapshot(folder: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every file and folder under ``folder``: its bytes (files) and modification time."""
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
    }


def assert_good_source_checked(report: SourceReport) -> None:
    assert report.service == "BON"
    assert report.error is None
    assert report.findings == []
    assert report.sheets == [
        SheetSummary("Plan d'actions", "plan_actions", 1, len(GOOD_PLAN_ROWS) - 1)
    ]


def test_bad_source_is_reported_and_the_good_one_still_checked(workspace: Path, bad: Bad) -> None:
    services = workspace / "services"
    config = Config(
        path=None,
        sources=(
            Source("MAUVAIS", "MAUVAIS", services / "mauvais.xlsx"),
            Source("BON", "BON", services / "bon.xlsx"),
        ),
    )
    run = run_check(config, TODAY)
    bad_report, good_report = run.report.sources

    if bad.sheet_level:
        assert bad_report.error is None
        (finding,) = bad_report.findings
        assert finding.severity is Severity.ERROR
        assert finding.sheet == "Plan d'actions"
        assert finding.cell == bad.cell
        reason = finding.message
    else:
        assert bad_report.error is not None
        assert bad_report.findings == []
        assert bad_report.sheets == []
        reason = bad_report.error
        assert "\n" not in reason
        assert "Traceback" not in reason
    for word in bad.words:
        assert word in reason, reason

    assert_good_source_checked(good_report)
    assert run.report.errors + len(run.report.failed_sources) >= 1


def test_cli_exits_1_without_traceback_and_writes_nothing(workspace: Path, bad: Bad) -> None:
    before = snapshot(workspace)
    result = CliRunner().invoke(
        main,
        ["check", "-c", str(workspace / "qep-sync.toml"), "--today", TODAY.isoformat()],
        catch_exceptions=False,
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for word in bad.words:
        assert word in result.stdout
    assert "BON (bon.xlsx)" in result.stdout
    assert "Plan d'actions (2 lignes) : aucune anomalie" in result.stdout
    assert snapshot(workspace) == before


def test_cli_json_marks_only_the_bad_source(workspace: Path, bad: Bad) -> None:
    result = CliRunner().invoke(
        main,
        ["check", "-c", str(workspace / "qep-sync.toml"), "--today", TODAY.isoformat(),
         "--format", "json"],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    bad_json, good_json = data["sources"]
    assert (good_json["service"], good_json["status"], good_json["errors"]) == ("BON", "ok", 0)
    if bad.sheet_level:
        assert (bad_json["status"], bad_json["errors"]) == ("ok", 1)
    else:
        assert bad_json["status"] == "error"
        assert bad.words[0] in bad_json["error"]
        assert data["summary"]["sources_failed"] == 1


def test_duplicate_header_through_an_alias_names_both_cells(tmp_path: Path) -> None:
    rows = [
        ["N° action", "Action", "Date butoir", "État", "Échéance"],
        ["A1", "Accueil", dt.date(2027, 1, 4), "En cours", dt.date(2027, 2, 1)],
    ]
    book = make_workbook(tmp_path / "plan.xlsx", {"Plan d'actions": rows})
    run = run_check(Config(path=None, sources=(Source("S", "S", book),)), TODAY)
    (finding,) = run.report.findings
    assert finding.cell == "E1"
    assert finding.message == (
        "en-tête en double : « Échéance » (E1) désigne la même colonne que C1 ; "
        "renommez ou supprimez l'une des deux"
    )


def test_damaged_workbook_in_files_mode_exits_1(tmp_path: Path) -> None:
    bad_path = tmp_path / "mauvais.xlsx"
    truncated_zip(bad_path)
    good_path = make_good_workbook(tmp_path / "bon.xlsx")
    result = CliRunner().invoke(
        main, ["check", str(bad_path), str(good_path), "--today", TODAY.isoformat()],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "source non lue : fichier endommagé ou incomplet" in result.stdout
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(
            BILLION_LAUGHS.replace("<!DOCTYPE", "<!-- <a> -->\n<!DOCTYPE", 1).encode(),
            id="comment-before-doctype",
        ),
        pytest.param(
            b"\xff\xfe"
            + BILLION_LAUGHS.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16-le"),
            id="utf-16",
        ),
    ],
)
def test_xml_bomb_in_disguise_is_refused_as_dangerous(tmp_path: Path, variant: bytes) -> None:
    # Both are well-formed XML with entity declarations before the root element.
    real = make_good_workbook(tmp_path / "vrai.xlsx")
    bomb = replace_part(real, tmp_path / "bombe.xlsx", "xl/worksheets/sheet1.xml", variant)
    run = run_check(Config(path=None, sources=(Source("S", "S", bomb),)), TODAY)
    (report,) = run.report.sources
    assert report.error is not None, report.findings
    assert "contenu XML dangereux dans xl/worksheets/sheet1.xml" in report.error
