"""What a person sees of the owned columns of an .xlsx (docs/contract.md §3, §7; issue 11 §1):
status colours as conditional formats of the owned status columns' data rows, an input
message on the owned headers (« Colonne calculée »), widths that fit the values, `Contrôle`
wrapped, and the sheet's autofilter extended over the owned columns (unless switched off).
The user's own rules, validations, filter criteria and print settings stay as they were
(the fidelity suite compares the rest, tests/test_writeback_fidelity.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from conftest import TODAY
from lxml import etree

from qep_sync.backends.sheetxml import COLOURS, PROMPT, PROMPT_TITLE
from qep_sync.config import config_for_files, load_config
from qep_sync.errors import ConfigError
from qep_sync.jobs.sync import run_sync
from qep_sync.vocabulary import STATUS_COLOURS

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
M = f"{{{NS}}}"
SHEET = "Plan d'actions"
PART = "xl/worksheets/sheet1.xml"
HEADER = ["N° action", "Action", "Échéance", "État"]
# Owned columns E, F, G: Jours restants, Statut, Contrôle.
ROWS = [(30, "En cours"), (-3, "À faire"), (5, "Fait"), (10, "En cours"), (40, "En cours")]


def build(
    path: Path,
    *,
    autofilter: tuple[int, int, int, int] | None = (0, 0, 5, 3),
    user_rule: bool = False,
    user_validation: bool = False,
    header_row: int = 1,
    invalid_row: bool = False,
) -> Path:
    """A small action plan, header on ``header_row`` (1-based), an autofilter (0-based first
    row, first col, last row, last col) over it by default."""
    book = xlsxwriter.Workbook(str(path))
    book.calc_on_load = False
    date_fmt = book.add_format({"num_format": "dd/mm/yyyy"})
    red = book.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
    plan = book.add_worksheet(SHEET)
    top = header_row - 1
    if top:
        plan.write_string(0, 0, "Plan d'actions 2026")
    for c, title in enumerate(HEADER):
        plan.write_string(top, c, title)
    for r, (due, etat) in enumerate(ROWS, start=top + 1):
        plan.write_string(r, 0, f"A{r}")
        plan.write_string(r, 1, "Afficher les horaires")
        plan.write_datetime(r, 2, TODAY + dt.timedelta(days=due), date_fmt)
        plan.write_string(r, 3, etat)
    if invalid_row:
        plan.write_string(top + len(ROWS) + 1, 0, "A99")
        plan.write_string(top + len(ROWS) + 1, 1, "Former les agents")
        plan.write_string(top + len(ROWS) + 1, 2, "bientôt")
        plan.write_string(top + len(ROWS) + 1, 3, "En cours")
    if autofilter is not None:
        plan.autofilter(*autofilter)
        plan.filter_column_list(1, ["Afficher les horaires"])
    if user_rule:  # the user's own rule on the very column qep-sync will own (F, Statut)
        plan.conditional_format("F2:F20", {"type": "text", "criteria": "containing",
                                           "value": "retard", "format": red})  # fmt: skip
        plan.conditional_format("C2:C20", {"type": "cell", "criteria": "<", "value": "TODAY()",
                                           "format": red})  # fmt: skip
    if user_validation:
        plan.data_validation("D2:D20", {"validate": "list",
                                        "source": ["À faire", "En cours", "Fait", "Abandonné"]})  # fmt: skip
    plan.repeat_rows(top)
    plan.print_area(0, 0, top + len(ROWS), 3)
    book.close()
    return path


def sync(path: Path, today: dt.date = TODAY, **changes: object) -> str:
    config = dataclasses.replace(config_for_files([path]), **changes)  # type: ignore[arg-type]
    (write,) = run_sync(config, today).writes
    return write.status


def part(path: Path, name: str = PART) -> etree._Element:
    with zipfile.ZipFile(path) as zf:
        return etree.fromstring(zf.read(name))


def ours(root: etree._Element) -> list[etree._Element]:
    return [cf for cf in root.findall(M + "conditionalFormatting")
            if cf.get("sqref", "").startswith("F")]  # fmt: skip


def rules_of(path: Path) -> dict[str, list[tuple[str, str]]]:
    """sqref -> [(word, colour)] of the status colours, colours read back from styles.xml."""
    dxfs = part(path, "xl/styles.xml").find(M + "dxfs")
    assert dxfs is not None
    by_fill = {fill: colour for colour, (fill, _font) in COLOURS.items()}
    out = {}
    for cf in ours(part(path)):
        found = []
        for rule in cf.findall(M + "cfRule"):
            assert (rule.get("type"), rule.get("operator")) == ("cellIs", "equal")
            dxf = dxfs[int(rule.get("dxfId", "-1"))]
            fill = dxf.find(f"{M}fill/{M}patternFill/{M}bgColor")
            assert fill is not None
            found.append((rule.findtext(M + "formula", "").strip('"'), by_fill[fill.get("rgb")]))
        out[cf.get("sqref", "")] = found
    return out


def test_status_colours_on_the_owned_status_column_only(tmp_path: Path) -> None:
    path = build(tmp_path / "suivi.xlsx")
    assert sync(path) == "written"
    assert rules_of(path) == {"F2:F6": [("En retard", "red"), ("Échéance proche", "orange"),
                                        ("Dans les temps", "green"), ("Terminée", "green")]}  # fmt: skip
    # The colours are the vocabulary's (the consolidated workbook uses the same mapping).
    assert {w: STATUS_COLOURS[w] for w, _ in rules_of(path)["F2:F6"]} == dict(
        rules_of(path)["F2:F6"])  # fmt: skip
    root = part(path)
    # Schema position: after the autofilter, before dataValidations and the page margins.
    names = [etree.QName(el).localname for el in root]
    assert names.index("autoFilter") < names.index("conditionalFormatting")
    assert names.index("conditionalFormatting") < names.index("dataValidations")
    assert names.index("dataValidations") < names.index("pageMargins")
    # LibreOffice, openpyxl and Excel read them: openpyxl sees the rules on F.
    ws = openpyxl.load_workbook(path)[SHEET]
    (rng,) = [str(r.sqref) for r in ws.conditional_formatting]
    assert rng == "F2:F6"


def test_a_later_sync_replaces_the_colours_and_keeps_the_users_rules(tmp_path: Path) -> None:
    path = build(tmp_path / "suivi.xlsx", user_rule=True)
    with zipfile.ZipFile(path) as zf:
        before = etree.fromstring(zf.read(PART))
    theirs = [
        etree.tostring(cf, method="c14n") for cf in before.findall(M + "conditionalFormatting")
    ]
    assert len(theirs) == 2
    assert sync(path) == "written"
    # Twenty days later, rows change status (row 2 due in 10 days, row 5 late): rewritten.
    assert sync(path, TODAY + dt.timedelta(days=20)) == "written"
    root = part(path)
    cfs = root.findall(M + "conditionalFormatting")
    kept = [etree.tostring(cf, method="c14n") for cf in cfs if cf.get("sqref") in ("F2:F20",
                                                                                   "C2:C20")]  # fmt: skip
    assert kept == theirs  # the user's rules, the one on the owned column too, untouched
    mine = [cf for cf in cfs if cf.get("sqref") == "F2:F6"]
    assert len(mine) == 1  # replaced, not added a second time
    assert [r.findtext(M + "formula") for r in mine[0]] == [
        '"En retard"', '"Échéance proche"', '"Dans les temps"', '"Terminée"']  # fmt: skip
    # Priorities: the user's first, qep-sync's after them, none twice.
    priorities = [int(r.get("priority", "0")) for r in root.iter(M + "cfRule")]
    assert len(set(priorities)) == len(priorities)
    users = [int(r.get("priority", "0")) for cf in cfs if cf not in mine for r in cf]
    assert min(int(r.get("priority", "0")) for r in mine[0]) > max(users)
    # Nothing changes on a third run the same day: the file is not written for its colours.
    stamp = path.stat().st_mtime_ns, path.read_bytes()
    assert sync(path, TODAY + dt.timedelta(days=20)) == "unchanged"
    assert (path.stat().st_mtime_ns, path.read_bytes()) == stamp


def test_the_owned_headers_say_they_are_computed_once(tmp_path: Path) -> None:
    path = build(tmp_path / "suivi.xlsx", user_validation=True)
    assert sync(path) == "written"
    assert sync(path, TODAY + dt.timedelta(days=20)) == "written"
    dvs = part(path).find(M + "dataValidations")
    assert dvs is not None and dvs.get("count") == "2"
    user, mine = list(dvs)
    assert (user.get("type"), user.get("sqref")) == ("list", "D2:D20")
    assert (mine.get("promptTitle"), mine.get("prompt")) == (PROMPT_TITLE, PROMPT)
    assert (mine.get("sqref"), mine.get("showInputMessage"), mine.get("type")) == ("E1 F1 G1", "1",
                                                                                   None)  # fmt: skip
    ws = openpyxl.load_workbook(path)[SHEET]
    prompts = [dv for dv in ws.data_validations.dataValidation if dv.promptTitle == PROMPT_TITLE]
    assert [str(dv.sqref) for dv in prompts] == ["E1 F1 G1"]
    assert "ne pas saisir ici" in (prompts[0].prompt or "")


def test_new_owned_columns_fit_their_values_and_control_wraps(tmp_path: Path) -> None:
    path = build(tmp_path / "suivi.xlsx", invalid_row=True)  # « Contrôle » says why
    assert sync(path) == "written"
    ws = openpyxl.load_workbook(path)[SHEET]
    assert ws.column_dimensions["F"].width >= len("Échéance proche") + 2
    assert ws.column_dimensions["G"].width == 60
    root = part(path)
    styles = part(path, "xl/styles.xml")
    xfs = styles.find(M + "cellXfs")
    assert xfs is not None
    wrapped = {c.get("r") for c in root.iter(M + "c")
               if c.get("s") and (a := xfs[int(c.get("s", "0"))].find(M + "alignment")) is not None
               and a.get("wrapText") == "1" and a.get("vertical") == "top"}  # fmt: skip
    written_control = {c.get("r") for c in root.iter(M + "c")
                       if c.get("r", "").startswith("G") and c.get("r") != "G1"
                       and c.find(M + "is") is not None}  # fmt: skip
    assert written_control <= wrapped
    assert not {r for r in wrapped if r and not r.startswith("G")} - {"E1", "F1"}


def test_widths_of_courriers_columns(tmp_path: Path) -> None:
    """« Date limite de réponse » (a date column) as wide as its title, a status column as
    wide as « Répondu dans le délai »."""
    path = tmp_path / "courriers.xlsx"
    book = xlsxwriter.Workbook(str(path))
    date_fmt = book.add_format({"num_format": "dd/mm/yyyy"})
    ws = book.add_worksheet("Courriers")
    for c, title in enumerate(["N° d'enregistrement", "Canal", "Date de réception",
                               "Date de réponse", "Service"]):  # fmt: skip
        ws.write_string(0, c, title)
    ws.write_string(1, 0, "C1")
    ws.write_string(1, 1, "Courriel")
    ws.write_datetime(1, 2, TODAY - dt.timedelta(days=10), date_fmt)
    ws.write_datetime(1, 3, TODAY - dt.timedelta(days=9), date_fmt)
    ws.write_string(1, 4, "Accueil")
    book.close()
    assert sync(path) == "written"
    sheet = openpyxl.load_workbook(path)["Courriers"]
    titles = {c.value: c.column_letter for c in sheet[1] if c.value}
    width = {t: sheet.column_dimensions[col].width for t, col in titles.items()}
    assert width["Date limite de réponse"] >= len("Date limite de réponse") + 2
    assert width["Statut"] >= len("Répondu dans le délai") + 2
    assert width["Dans le délai"] >= len("Dans le délai") + 2


def test_the_autofilter_grows_over_the_owned_columns(tmp_path: Path) -> None:
    path = build(tmp_path / "suivi.xlsx")
    assert sync(path) == "written"
    af = part(path).find(M + "autoFilter")
    assert af is not None and af.get("ref") == "A1:G6"
    (column,) = af.findall(M + "filterColumn")  # the user's criteria, on the same column
    assert column.get("colId") == "1"
    wb = part(path, "xl/workbook.xml")
    names = {n.get("name"): n.text for n in wb.iter(M + "definedName")}
    assert names["_xlnm._FilterDatabase"] == "'Plan d''actions'!$A$1:$G$6"
    assert names["_xlnm.Print_Area"] == "'Plan d''actions'!$A$1:$D$6"  # as the user set it
    assert names["_xlnm.Print_Titles"] == "'Plan d''actions'!$1:$1"
    assert openpyxl.load_workbook(path)[SHEET].auto_filter.ref == "A1:G6"


@pytest.mark.parametrize(
    ("autofilter", "header_row", "why"),
    [((0, 0, 5, 2), 1, "stops before the last user column"),
     ((0, 0, 6, 3), 2, "its top row is not the header row")],
)  # fmt: skip
def test_an_autofilter_that_does_not_cover_the_table_is_left_alone(
    tmp_path: Path, autofilter: tuple[int, int, int, int], header_row: int, why: str
) -> None:
    path = build(tmp_path / "suivi.xlsx", autofilter=autofilter, header_row=header_row)
    before = part(path).find(M + "autoFilter")
    wb_before = part(path, "xl/workbook.xml")
    assert sync(path) == "written"
    after = part(path).find(M + "autoFilter")
    assert before is not None and after is not None
    assert etree.tostring(after, method="c14n") == etree.tostring(before, method="c14n"), why
    names = {n.get("name"): n.text for n in part(path, "xl/workbook.xml").iter(M + "definedName")}
    assert names == {n.get("name"): n.text for n in wb_before.iter(M + "definedName")}


def test_the_autofilter_switch_off(tmp_path: Path) -> None:
    path = build(tmp_path / "suivi.xlsx")
    with zipfile.ZipFile(path) as zf:
        workbook_before = zf.read("xl/workbook.xml")
    assert sync(path, extend_autofilter=False) == "written"
    af = part(path).find(M + "autoFilter")
    assert af is not None and af.get("ref") == "A1:D6"
    with zipfile.ZipFile(path) as zf:
        assert zf.read("xl/workbook.xml") == workbook_before


def test_the_switch_in_the_config(tmp_path: Path) -> None:
    source = build(tmp_path / "suivi.xlsx")
    path = tmp_path / "qep-sync.toml"
    path.write_text(f'[workspace]\nextend_autofilter = false\n[[sources]]\npath = "{source.name}"\n'
                    'service = "ACC"\n', encoding="utf-8")  # fmt: skip
    assert load_config(path).extend_autofilter is False
    path.write_text(f'[[sources]]\npath = "{source.name}"\nservice = "ACC"\n', encoding="utf-8")
    assert load_config(path).extend_autofilter is True
    path.write_text(f'[workspace]\nextend_autofilter = "non"\n[[sources]]\npath = "{source.name}"\n'
                    'service = "ACC"\n', encoding="utf-8")  # fmt: skip
    with pytest.raises(ConfigError, match="vrai ou faux"):
        load_config(path)
