"""Reading a workbook safely (docs/contract.md §7): whatever a reading library does with a file
(a Rust panic included), the source gets one French reason and the run goes on; reading is one
snapshot of the file's bytes, so a save during the run cannot crash it; 1904 dates are read as
the user sees them; a far cell does not make the reader allocate the whole sheet.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import re
import struct
import tracemalloc
import zipfile
from pathlib import Path, PosixPath

import pytest
import python_calamine
import xlsxwriter
from conftest import GOOD_PLAN_ROWS, TODAY, Percent, make_good_workbook, make_workbook
from fidelity_workbooks import rewrite_parts

from qep_sync.backends.xlsx import french_reason, read_workbook
from qep_sync.config import config_for_files
from qep_sync.core.findings import Severity, SourceReport
from qep_sync.errors import SourceError
from qep_sync.jobs.check import run_check

SHEET1 = "xl/worksheets/sheet1.xml"
# Words of the reading libraries' own messages: none may reach a user.
ENGLISH = re.compile(
    r"\b(error|missing|invalid|expected|component|checksum|range|panic|timedelta|bounds|"
    r"i/o|bad|file|zip)\b",
    re.I,
)


def assert_french(message: str) -> None:
    assert message, "no message"
    assert not ENGLISH.search(message), message
    assert "\n" not in message and "Traceback" not in message


def checked(bad: Path, tmp_path: Path) -> tuple[SourceReport, SourceReport]:
    """Check a config naming ``bad`` first and a good workbook second; both reports."""
    good = make_good_workbook(tmp_path / "bon.xlsx")
    run = run_check(config_for_files([bad, good]), TODAY)
    bad_report, good_report = run.report.sources
    return bad_report, good_report


def assert_good_one_read(report: SourceReport) -> None:
    assert report.error is None
    assert [(s.sheet, s.rows) for s in report.sheets] == [("Plan d'actions", 2)]


def plan_with_date_number(path: Path, value: float) -> Path:
    """The good plan's first action, and a third row « A9 » whose Échéance (D3, formatted as
    a date) holds the number ``value``."""
    book = xlsxwriter.Workbook(str(path))
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet = book.add_worksheet("Plan d'actions")
    for r, row in enumerate(GOOD_PLAN_ROWS[:2]):
        for c, v in enumerate(row):
            if isinstance(v, dt.date):
                sheet.write_datetime(r, c, v, date_format)
            elif v is not None:
                sheet.write(r, c, v)
    sheet.write_string(2, 0, "A9")
    sheet.write_number(2, 3, value, date_format)
    book.close()
    return path


def with_sheet_xml(path: Path, edit: tuple[bytes, bytes]) -> Path:
    """Rewrite the first worksheet's XML with one replacement (which must apply)."""
    with zipfile.ZipFile(path) as zf:
        xml = zf.read(SHEET1)
    assert edit[0] in xml
    rewrite_parts(path, {SHEET1: xml.replace(*edit, 1)}, {})
    return path


# ---------------------------------------------------------------- library failures, in French

FAR_PAST = [-1e15, -1e308, -1.5e11, float("-inf")]


def plan_with_far_past_date(path: Path, value: float) -> Path:
    """The good plan with a third action whose Échéance (D3, date-formatted) is ``value``."""
    plan_with_date_number(path, 123456.0)
    return with_sheet_xml(path, (b"<v>123456</v>", f"<v>{value!r}</v>".encode()))


@pytest.mark.parametrize("value", FAR_PAST, ids=repr)
def test_python_calamine_panics_on_a_date_cell_beyond_any_date(
    tmp_path: Path, value: float
) -> None:
    """The inputs of the tests below do make python-calamine panic (PanicException, which
    derives from BaseException and escapes ``except Exception``): they test the real hazard."""
    path = plan_with_far_past_date(tmp_path / "mauvais.xlsx", value)
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    with pytest.raises(BaseException) as caught:
        book.get_sheet_by_name("Plan d'actions").to_python(skip_empty_area=False)
    assert type(caught.value).__name__ == "PanicException"
    assert not isinstance(caught.value, Exception)
    assert "au format date" in french_reason(caught.value)
    assert_french(french_reason(caught.value))


@pytest.mark.parametrize("value", FAR_PAST, ids=repr)
def test_a_date_cell_beyond_any_date_is_a_finding_at_its_cell_and_the_run_goes_on(
    tmp_path: Path, value: float, capfd: pytest.CaptureFixture[str]
) -> None:
    """Such a sheet is read without calamine (the scan predicts the panic): the source is
    read, the cell is reported where it is, and no Rust panic text reaches the terminal."""
    bad = plan_with_far_past_date(tmp_path / "mauvais.xlsx", value)
    bad_report, good_report = checked(bad, tmp_path)
    assert bad_report.error is None
    assert [(s.sheet, s.rows) for s in bad_report.sheets] == [("Plan d'actions", 2)]
    (finding,) = [f for f in bad_report.findings if f.cell == "D3"]
    assert finding.severity is Severity.ERROR
    assert finding.message.startswith("Échéance :") and "date" in finding.message
    assert_good_one_read(good_report)
    out, err = capfd.readouterr()
    assert "panicked" not in out + err and "TimeDelta" not in out + err


def test_a_failure_of_calamine_itself_is_the_sources_french_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """workbook.xml with a <sheet/> naming nothing: calamine refuses the file in English
    (« Cannot detect file format »); the user reads French, the service's debug log keeps
    the library's words, the next source is read."""
    bad = make_good_workbook(tmp_path / "mauvais.xlsx")
    with zipfile.ZipFile(bad) as zf:
        workbook_xml = zf.read("xl/workbook.xml")
    rewrite_parts(
        bad, {"xl/workbook.xml": workbook_xml.replace(b"<sheets>", b"<sheets><sheet/>")}, {}
    )
    with caplog.at_level(logging.DEBUG, logger="qep_sync.backends.xlsx"):
        bad_report, good_report = checked(bad, tmp_path)
    assert bad_report.error is not None
    assert bad_report.error.startswith("classeur illisible (")
    assert "réenregistrez-le depuis Excel" in bad_report.error
    assert_french(bad_report.error)
    assert "Cannot detect file format" in caplog.text
    assert_good_one_read(good_report)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        ((b'r="A1"', b'r="A"'), "référence de cellule « A » invalide"),
        ((b'<row r="1"', b'<row r="x"'), "numéro de ligne « x » invalide"),
    ],
    ids=["cell-without-row", "row-without-number"],
)
def test_a_broken_cell_reference_is_a_french_error_naming_the_sheet(
    tmp_path: Path, edit: tuple[bytes, bytes], words: str
) -> None:
    """calamine would say « Range is missing the expected row component. »: the scan before
    it finds the reference and says, in French, which sheet holds it and what to do."""
    bad = with_sheet_xml(make_good_workbook(tmp_path / "mauvais.xlsx"), edit)
    bad_report, good_report = checked(bad, tmp_path)
    assert bad_report.error is not None
    assert bad_report.error.startswith("onglet « Plan d'actions » : ")
    assert words in bad_report.error and "réenregistrez-le depuis Excel" in bad_report.error
    assert_french(bad_report.error)
    assert_good_one_read(good_report)


def test_a_sheet_whose_xml_cannot_be_parsed_is_found_at_check_time(tmp_path: Path) -> None:
    """A damaged sheet part (here one that no tracker is in) stops the source at check time,
    not at the write of a later sync."""
    bad = make_workbook(
        tmp_path / "mauvais.xlsx", {"Plan d'actions": GOOD_PLAN_ROWS, "Notes": [["texte"]]}
    )
    with zipfile.ZipFile(bad) as zf:
        notes = zf.read("xl/worksheets/sheet2.xml")
    rewrite_parts(bad, {"xl/worksheets/sheet2.xml": notes.replace(b"</sheetData>", b"")}, {})
    bad_report, good_report = checked(bad, tmp_path)
    assert bad_report.error is not None
    assert bad_report.error.startswith("onglet « Notes » : ")
    assert "xl/worksheets/sheet2.xml" in bad_report.error and "XML mal formé" in bad_report.error
    assert_french(bad_report.error)
    assert_good_one_read(good_report)


def with_wrong_crc(path: Path, part: str) -> Path:
    """Give ``part`` a checksum that its data does not match (local header and directory)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(part)
    wrong = struct.pack("<I", info.CRC ^ 0xFFFF)
    data[info.header_offset + 14 : info.header_offset + 18] = wrong
    entry = data.find(b"PK\x01\x02")  # the central directory's entries
    while entry >= 0:
        name_len = struct.unpack("<H", data[entry + 28 : entry + 30])[0]
        if data[entry + 46 : entry + 46 + name_len] == part.encode():
            data[entry + 16 : entry + 20] = wrong
        entry = data.find(b"PK\x01\x02", entry + 4)
    path.write_bytes(bytes(data))
    return path


def test_compressed_data_that_fails_its_checksum_is_a_french_error(tmp_path: Path) -> None:
    """calamine says « I/O error: Invalid checksum »; the user reads that the compressed data
    of the named part is damaged, and what to do."""
    rows = [GOOD_PLAN_ROWS[0]] + [
        ["A" + str(i), 3, "Action " * 5, None, None, "Fait"] for i in range(300)
    ]
    bad = with_wrong_crc(make_workbook(tmp_path / "mauvais.xlsx", {"Plan d'actions": rows}), SHEET1)
    with zipfile.ZipFile(bad) as zf, pytest.raises(zipfile.BadZipFile):
        zf.read(SHEET1)  # the damage is real
    bad_report, good_report = checked(bad, tmp_path)
    assert bad_report.error is not None
    assert "somme de contrôle fausse" in bad_report.error and SHEET1 in bad_report.error
    assert_french(bad_report.error)
    assert_good_one_read(good_report)


def test_a_missing_file_is_still_fichier_introuvable(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        read_workbook(tmp_path / "absent.xlsx", "ABSENT")
    assert caught.value.reason == "fichier introuvable"


# ---------------------------------------------------------------- one snapshot


def percent_plan(path: Path) -> Path:
    rows = [list(r) for r in GOOD_PLAN_ROWS]
    rows[1][4] = Percent(0.5)
    rows[2][4] = Percent(1.0)
    return make_workbook(path, {"Plan d'actions": rows})


@pytest.mark.parametrize("save", ["garbage", "deleted", "other-workbook"])
def test_percent_cells_come_from_the_snapshot_not_from_the_file_saved_since(
    tmp_path: Path, save: str
) -> None:
    """A person saving the file after it was read (here: rewritten, deleted, replaced by
    another workbook) changes nothing of what was read: the file is not opened again."""
    path = percent_plan(tmp_path / "suivi.xlsx")
    stat = path.stat()
    workbook = read_workbook(path)
    if save == "garbage":
        path.write_bytes(b"PK\x03\x04 en cours d'enregistrement")
    elif save == "deleted":
        path.unlink()
    else:
        make_good_workbook(path)  # the same sheet, no percent format any more
    (sheet,) = workbook.sheets
    assert workbook.percent_cells(sheet) == {(2, 4), (3, 4)}
    assert (workbook.mtime_ns, workbook.size) == (stat.st_mtime_ns, stat.st_size)


def test_the_bytes_read_are_not_kept_once_the_workbook_is_read(tmp_path: Path) -> None:
    """A workbook of 4 MB (a photo in it) with two small sheets: ten of them read and kept
    cost what their rows cost, not ten copies of the file (memory flat with the sources)."""
    path = percent_plan(tmp_path / "suivi.xlsx")
    rewrite_parts(path, {}, {"xl/media/image1.jpeg": random.Random(1).randbytes(4 << 20)})
    assert path.stat().st_size > 4 << 20
    tracemalloc.start()
    try:
        workbooks = [read_workbook(path) for _ in range(10)]
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept < 4 << 20, f"{kept >> 10} Ko"
    assert all(w.percent_cells(w.sheets[0]) == {(2, 4), (3, 4)} for w in workbooks)


def test_a_file_too_big_for_a_tracker_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """The snapshot is held in memory: a 300 MB file (sparse here) is refused by its size."""
    path = tmp_path / "enorme.xlsx"
    with path.open("wb") as fh:
        fh.truncate(300 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(SourceError) as caught:
            read_workbook(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.reason.startswith("fichier trop volumineux pour un suivi (300 Mo")
    assert peak < 1 << 20


class SavedWhileRead(PosixPath):
    """A real file that someone saves (new bytes, new modification time) while it is read,
    the first ``saves`` times it is read."""

    saves = 0

    def read_bytes(self) -> bytes:
        data = super().read_bytes()
        if type(self).saves > 0:
            type(self).saves -= 1
            make_good_workbook(Path(self))
            st = os.stat(self)
            os.utime(self, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000 * (1 + self.saves)))
        return data


def test_a_save_during_the_read_is_read_again_and_the_stamp_is_the_new_files(
    tmp_path: Path,
) -> None:
    percent_plan(tmp_path / "suivi.xlsx")
    path = SavedWhileRead(tmp_path / "suivi.xlsx")
    SavedWhileRead.saves = 1
    workbook = read_workbook(path)
    assert SavedWhileRead.saves == 0
    stat = os.stat(path)
    assert (workbook.mtime_ns, workbook.size) == (stat.st_mtime_ns, stat.st_size)
    (sheet,) = workbook.sheets
    assert workbook.percent_cells(sheet) == set()  # the saved version: no percent format


def test_a_file_saved_during_both_reads_is_left_to_the_next_run(tmp_path: Path) -> None:
    percent_plan(tmp_path / "suivi.xlsx")
    path = SavedWhileRead(tmp_path / "suivi.xlsx")
    SavedWhileRead.saves = 5
    with pytest.raises(SourceError) as caught:
        read_workbook(path, "SG")
    assert SavedWhileRead.saves == 3  # read twice, not more
    assert "en cours d'enregistrement" in caught.value.reason
    assert "nouvel essai au prochain passage" in caught.value.reason
    assert_french(str(caught.value))


# ---------------------------------------------------------------- the 1904 date system


def write_dates(path: Path, system: int, extra: float | None = None) -> Path:
    """26/11/2026 in A1 and the serial 1000 in A2, shown as dates, in the given date system;
    ``extra`` goes, as a date-formatted number, in A3."""
    book = xlsxwriter.Workbook(str(path), {"date_1904": system == 1904})
    fmt = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet = book.add_worksheet("Plan d'actions")
    sheet.write_datetime(0, 0, dt.datetime(2026, 11, 26), fmt)
    sheet.write_number(1, 0, 1000, fmt)
    if extra is not None:
        sheet.write_number(2, 0, extra, fmt)
    book.close()
    return path


@pytest.mark.parametrize("system", [1900, 1904])
def test_dates_of_a_1904_workbook_are_the_days_the_user_sees(tmp_path: Path, system: int) -> None:
    """Mac Excel's date system counts from 1904: the serial 1000 is 27/09/1906 there (it is
    26/09/1902 in the 1900 system), and a real date is the same day as in Excel."""
    workbook = read_workbook(write_dates(tmp_path / "suivi.xlsx", system))
    assert workbook.date1904 is (system == 1904)
    days = [row[0] for row in workbook.sheets[0].rows]
    serial_1000 = dt.date(1906, 9, 27) if system == 1904 else dt.date(1902, 9, 26)
    assert days == [dt.date(2026, 11, 26), serial_1000]


def test_dates_of_a_1904_sheet_read_without_calamine_are_the_same_days(tmp_path: Path) -> None:
    """A sheet calamine must not read (here a date it would panic on) is streamed: its dates
    follow the workbook's 1904 system too."""
    workbook = read_workbook(write_dates(tmp_path / "suivi.xlsx", 1904, extra=-1e15))
    assert workbook.date1904 is True
    days = [row[0] for row in workbook.sheets[0].rows]
    assert days == [dt.date(2026, 11, 26), dt.date(1906, 9, 27), -1e15]


# ---------------------------------------------------------------- a far cell


def test_one_value_at_xfd1048576_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """calamine would allocate the 17 billion cells of the rectangle A1:XFD1048576; the
    streaming reader reads the sheet instead (measured: about 64 MB traced at the peak, for
    the million row lists), with the tracker's rows and the far value where they are."""
    path = make_good_workbook(tmp_path / "loin.xlsx")
    with zipfile.ZipFile(path) as zf:
        xml = zf.read(SHEET1)
    far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>loin</t></is></c></row>'
    xml = xml.replace(b"</sheetData>", far + b"</sheetData>")
    rewrite_parts(path, {SHEET1: xml}, {})
    tracemalloc.start()
    try:
        workbook = read_workbook(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 300 << 20, f"{peak >> 20} Mo"
    (sheet,) = workbook.sheets
    assert sheet.rows[0] == GOOD_PLAN_ROWS[0]
    assert [row[0] for row in sheet.rows[1:3]] == ["A1", "A2"]
    assert sheet.rows[3] == []
    assert len(sheet.rows) == 1_048_576 and len(sheet.rows[-1]) == 16_384
    assert sheet.rows[-1][-1] == "loin"
