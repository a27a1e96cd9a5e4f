"""Write-back safety (docs/contract.md §7): a file is rewritten only when something changed, never while
Excel holds it or after it changed since it was read, always atomically (a sync killed at any
moment leaves the old file or the complete new one), and never half-patched when its XML
cannot be edited. One source failing does not stop the others.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from conftest import GOOD_PLAN_ROWS, TODAY, make_good_workbook, make_workbook
from fidelity_workbooks import (
    DELAIS_SHEET,
    PLAN_FIRST_ROW,
    PLAN_HEADER,
    PLAN_HEADER_ROW,
    PLAN_ROWS,
    PLAN_SHEET,
    build_tracker_workbook,
    sheet_part,
)

from qep_sync import files
from qep_sync.config import config_for_files
from qep_sync.core.findings import Severity
from qep_sync.jobs.check import run_check
from qep_sync.jobs.sync import FileWrite, run_sync, sync_source
from qep_sync.workdays import WorkingCalendar

OPENPYXL_EXTENSIONS = pytest.mark.filterwarnings("ignore:.* is not supported:UserWarning")
STATUT_COL = len(PLAN_HEADER) + 3  # P (1-based): after « Jours restants » (N) and the note (O)


def temps(path: Path) -> list[Path]:
    """The temporary files beside ``path`` (each run writes one of its own, then renames it)."""
    return files.temporaries(path)


def sync_one(path: Path, today: dt.date = TODAY, **kw: bool) -> FileWrite:
    run = run_sync(config_for_files([path]), today, **kw)
    (write,) = run.writes
    return write


def snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".qep-sync.tmp"))


@pytest.fixture
def tracker(tmp_path: Path) -> Path:
    return build_tracker_workbook(tmp_path / "Suivi accueil.xlsx", TODAY).path


# ---------------------------------------------------------------- (a) idempotence


@pytest.mark.parametrize("suffix", ["xlsx", "xlsm"])
def test_a_second_sync_the_same_day_writes_nothing(tmp_path: Path, suffix: str) -> None:
    path = build_tracker_workbook(tmp_path / f"suivi.{suffix}", TODAY, macro=suffix == "xlsm").path
    assert sync_one(path).status == "written"
    before = snapshot(path)
    time.sleep(0.01)  # a rewrite would show in st_mtime_ns
    write = sync_one(path)
    assert (write.status, write.cells, write.changes) == ("unchanged", 0, [])
    assert snapshot(path) == before
    assert leftovers(tmp_path) == []


def test_texts_with_control_characters_do_not_cause_a_rewrite_every_run(tmp_path: Path) -> None:
    """A value with a control character (pasted from another tool) is quoted in Contrôle; what
    is written must read back identical, or every run sees a difference and rewrites the file."""
    rows = [list(r) for r in GOOD_PLAN_ROWS]
    rows[1][5] = "En\x07cours"  # État, not an allowed value: quoted in Contrôle
    rows[2][7] = "_x0041_@"  # an invalid email that looks like an escape: quoted in Contrôle
    path = make_workbook(tmp_path / "suivi.xlsx", {"Plan d'actions": rows})
    assert sync_one(path).status == "written"
    before = snapshot(path)
    assert sync_one(path).status == "unchanged"
    assert snapshot(path) == before
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    grid = book.get_sheet_by_name("Plan d'actions").to_python()
    assert "« En\x07cours »" in grid[1][10] and "« _x0041_@ »" in grid[2][10]


EXCEL_CELL_LIMIT = 32767  # characters in one cell (Excel specifications and limits)


def test_a_controle_message_fits_in_an_excel_cell(tmp_path: Path) -> None:
    """A long text pasted into a checked column is quoted whole in Contrôle: two of them make
    a message longer than an Excel cell may hold, and Excel then reports the file as damaged."""
    rows = [list(r) for r in GOOD_PLAN_ROWS]
    rows[1][5] = "x" * 20000  # État
    rows[1][7] = "y" * 20000  # Email responsable
    path = make_workbook(tmp_path / "suivi.xlsx", {"Plan d'actions": rows})
    assert sync_one(path).status == "written"
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    grid = book.get_sheet_by_name("Plan d'actions").to_python()
    assert grid[0][10] == "Contrôle"
    assert 0 < len(grid[1][10]) <= EXCEL_CELL_LIMIT


# ---------------------------------------------------------------- (b) lock files


@pytest.mark.parametrize("lock_name", ["~${name}", ".~lock.{name}#"])
def test_a_workbook_open_in_excel_or_calc_is_skipped_then_written_next_run(
    tracker: Path, lock_name: str
) -> None:
    lock = tracker.with_name(lock_name.format(name=tracker.name))
    lock.write_bytes(b"\x0bClaire Martin" + b" " * 40)  # what Excel writes: the user's name
    before = snapshot(tracker)
    run = run_sync(config_for_files([tracker]), TODAY)
    (write,) = run.writes
    assert write.status == "skipped"
    assert lock.name in write.message and "nouvel essai" in write.message
    warnings = [f for f in run.check.report.findings if f.message == write.message]
    assert len(warnings) == 1 and warnings[0].severity is Severity.WARNING
    assert snapshot(tracker) == before
    assert leftovers(tracker.parent) == []
    lock.unlink()
    assert sync_one(tracker).status == "written"
    assert snapshot(tracker)[0] != before[0]


def test_one_locked_source_does_not_stop_the_others(tmp_path: Path) -> None:
    locked = make_good_workbook(tmp_path / "bureau A.xlsx")
    free = make_good_workbook(tmp_path / "bureau B.xlsx")
    (tmp_path / "~$bureau A.xlsx").write_bytes(b"x")
    run = run_sync(config_for_files([locked, free]), TODAY)
    assert [w.status for w in run.writes] == ["skipped", "written"]


# ---------------------------------------------------------------- (c) changed since read


def touch_later(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def rewrite_with_a_new_action(path: Path) -> None:
    rows = [*GOOD_PLAN_ROWS, ["A3", 7, "Nouvelle action", dt.date(2027, 1, 15), 0, "À faire",
                              None, None]]  # fmt: skip
    make_workbook(path, {"Plan d'actions": rows})


@pytest.mark.parametrize("alter", [touch_later, rewrite_with_a_new_action])
def test_a_workbook_changed_after_it_was_read_is_skipped(
    tmp_path: Path, alter: Callable[[Path], None]
) -> None:
    path = make_good_workbook(tmp_path / "suivi.xlsx")
    config = config_for_files([path])
    check = run_check(config, TODAY)
    alter(path)  # the user saved in between
    altered = snapshot(path)
    cal = WorkingCalendar(config.calendar.closure_days, config.calendar.worked_holidays)
    (source,) = check.sources
    write = sync_source(source, TODAY, config, cal, dry_run=False)
    assert write.status == "skipped"
    assert "modifié depuis sa lecture" in write.message
    assert any(f.severity is Severity.WARNING and f.message == write.message
               for f in source.report.findings)  # fmt: skip
    assert snapshot(path) == altered
    assert leftovers(tmp_path) == []
    assert sync_one(path).status == "written"  # the next run reads it again and writes


# ---------------------------------------------------------------- (d) dry run


def test_dry_run_writes_nothing_and_lists_the_cells(tracker: Path) -> None:
    before = snapshot(tracker)
    write = sync_one(tracker, dry_run=True)
    assert write.status == "planned"
    assert write.cells == len(write.changes) > PLAN_ROWS
    assert snapshot(tracker) == before
    assert leftovers(tracker.parent) == []
    changes = {(c["sheet"], c["cell"]): c["value"] for c in write.changes}
    assert changes[(PLAN_SHEET, f"N{PLAN_HEADER_ROW}")] == "Jours restants"
    assert changes[(PLAN_SHEET, f"P{PLAN_HEADER_ROW}")] == "Statut"
    assert changes[(PLAN_SHEET, f"N{PLAN_FIRST_ROW + 1}")] == "-10"
    assert changes[(PLAN_SHEET, f"P{PLAN_FIRST_ROW + 1}")] == "En retard"
    assert changes[(DELAIS_SHEET, "I3")] == "09/11/2026"
    assert not any(cell.startswith("O") for sheet, cell in changes if sheet == PLAN_SHEET)
    # What the dry run announced is what a real run writes; after it, nothing is planned.
    assert sync_one(tracker).cells == write.cells
    after = sync_one(tracker, dry_run=True)
    assert (after.status, after.changes) == ("unchanged", [])


# ---------------------------------------------------------------- (e) killed mid-write

WORKER = r"""
import datetime as dt, os, sys, time
from pathlib import Path
from qep_sync.jobs.check import run_check
from qep_sync.config import config_for_files
from qep_sync.jobs.sync import sync_source
from qep_sync.workdays import WorkingCalendar

today = dt.date.fromisoformat(sys.argv[1])

def sync(path):
    config = config_for_files([Path(path)])
    t0 = time.perf_counter()
    (source,) = run_check(config, today).sources
    t1 = time.perf_counter()
    cal = WorkingCalendar(config.calendar.closure_days, config.calendar.worked_holidays)
    status = sync_source(source, today, config, cal, dry_run=False).status
    return status, t1 - t0, time.perf_counter() - t1

print("ready", flush=True)
for line in sys.stdin:
    command, path = line.rstrip("\n").split("\t")
    if command == "time":
        status, read, write = sync(path)
        print(status, read, write, flush=True)
        continue
    pid = os.fork()  # a fresh sync process per run, without paying for the imports again
    if pid == 0:
        try:
            sync(path)
        finally:
            os._exit(0)
    print(pid, flush=True)
    sys.stdin.readline()  # reaped only when the test says so: until then the pid stays ours
    print(os.waitpid(pid, 0)[1], flush=True)
"""


class Worker:
    """A ``python -c`` process that forks one sync process per request (killed by the test)."""

    def __init__(self) -> None:
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER, TODAY.isoformat()],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=env)  # fmt: skip
        assert self.readline() == "ready"

    def readline(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, "the sync worker died"
        return line.strip()

    def send(self, command: str, path: Path) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{command}\t{path}\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


@OPENPYXL_EXTENSIONS
@pytest.mark.skipif(not hasattr(os, "fork"), reason="the kill test forks (POSIX only)")
def test_a_sync_killed_at_any_moment_leaves_the_old_or_the_new_file(tmp_path: Path) -> None:
    """SIGKILL at random moments of 40 syncs or more (half anywhere in the run, half while the
    temporary file is being written): the workbook is always the old one or the complete new
    one, byte for byte. A killed run may leave its temporary file; the next run replaces it."""
    built = build_tracker_workbook(tmp_path / "modèle.xlsx", TODAY)
    old = built.path.read_bytes()
    reference = tmp_path / "reference.xlsx"
    shutil.copyfile(built.path, reference)
    assert sync_one(reference).status == "written"
    new = reference.read_bytes()
    assert_complete(reference)

    folder = tmp_path / "partage"
    folder.mkdir()
    path = folder / "Suivi accueil.xlsx"
    worker = Worker()
    try:
        run_s, window_s = calibrate(worker, built.path, path, new)
        rng = random.Random(20261126)
        outcomes = {"old": 0, "new": 0, "old+tmp": 0}
        deadline = time.monotonic() + 45

        def anywhere_delay() -> float:
            # Past the first 40 runs, aim for the outcome still missing (a busy machine makes
            # runs slower than calibrated): a kill at once, or one late enough to let it end.
            if iterations > 40 and not outcomes["new"]:
                return run_s * 4
            if iterations > 40 and not outcomes["old"]:
                return 0.0
            return rng.uniform(0, run_s * 1.5)

        iterations = 0
        while (
            time.monotonic() < deadline
            and iterations < 80
            and (iterations < 40 or min(outcomes.values()) == 0)
        ):
            iterations += 1
            shutil.copyfile(built.path, path)
            inode = path.stat().st_ino
            anywhere = iterations % 2 == 1 or (iterations > 40 and outcomes["old+tmp"] > 0)
            if not anywhere:  # to see when this run creates its temporary file
                for leftover in temps(path):
                    leftover.unlink()
            had_leftover = bool(temps(path))
            worker.send("sync", path)
            pid = int(worker.readline())
            if anywhere:  # reading, computing or writing
                time.sleep(anywhere_delay())
            else:  # inside the write itself (between the temporary file and the rename)
                if wait_for_write(path, inode):
                    time.sleep(rng.uniform(0, window_s))
            os.kill(pid, signal.SIGKILL)  # our child, not yet reaped (a zombie at worst)
            worker.send("reap", path)
            killed = os.WIFSIGNALED(int(worker.readline()))
            data = path.read_bytes()
            assert data in (old, new), f"run {iterations}: a half-written workbook"
            if data == new:
                outcomes["new"] += 1
            else:
                outcomes["old+tmp" if temps(path) else "old"] += 1
            # A leftover is only ever a run's own temporary file, beside the workbook, with a
            # name no *.xlsx glob matches, and never more than one (the next run removes it).
            assert {p.name for p in folder.iterdir()} - {path.name} == {p.name for p in temps(path)}
            assert len(temps(path)) <= 1
            if not killed and had_leftover:
                assert not temps(path)  # a completed run removed the leftover
        print(f"kill test: {iterations} runs, {outcomes}, run {run_s:.3f} s, "
              f"temporary file {window_s:.4f} s")  # fmt: skip
        assert outcomes["old+tmp"] >= 1, "no kill landed inside the write"
        assert outcomes["old"] >= 1 and outcomes["new"] >= 1

        # With a leftover temporary file from a killed run, a normal sync works and replaces
        # it; the leftover is never taken for a workbook.
        shutil.copyfile(built.path, path)
        (folder / f".{path.name}.killed{files.TEMPORARY_SUFFIX}").write_bytes(b"PK\x03\x04 partial")
        run = run_sync(config_for_files([path]), TODAY)
        assert [w.status for w in run.writes] == ["written"]
        assert path.read_bytes() == new
        assert leftovers(folder) == []
    finally:
        worker.close()


def wait_for_write(path: Path, inode: int, seconds: float = 5) -> bool:
    """Busy-wait (a sleep would outlast the write) until the run's temporary file exists
    (True) or the workbook was already replaced (False: the write was too quick to see)."""
    limit = time.monotonic() + seconds
    while not temps(path):
        if path.stat().st_ino != inode:
            return False
        assert time.monotonic() < limit, "the sync never wrote"
    return True


def calibrate(worker: Worker, model: Path, path: Path, new: bytes) -> tuple[float, float]:
    """(median duration of a sync run, median life of its temporary file), measured here."""
    runs, windows = [], []
    for _ in range(5):
        shutil.copyfile(model, path)
        worker.send("time", path)
        status, read, write = worker.readline().split()
        assert status == "written" and path.read_bytes() == new
        runs.append(float(read) + float(write))
        shutil.copyfile(model, path)
        worker.send("sync", path)
        worker.readline()  # the pid: not killed this time
        if wait_for_write(path, path.stat().st_ino):
            t0 = time.perf_counter()
            while temps(path):
                pass
            windows.append(time.perf_counter() - t0)
        worker.send("reap", path)
        assert worker.readline() == "0"
        assert path.read_bytes() == new
    windows.sort()
    return sorted(runs)[2], windows[len(windows) // 2] if windows else 0.002


def assert_complete(path: Path) -> None:
    """A whole workbook: a sound zip that openpyxl loads, owned columns filled on every row."""
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
    sheet = openpyxl.load_workbook(path, read_only=False)[PLAN_SHEET]
    assert sheet.cell(PLAN_HEADER_ROW, STATUT_COL).value == "Statut"
    for row in range(PLAN_FIRST_ROW, PLAN_FIRST_ROW + PLAN_ROWS):
        statut = sheet.cell(row, STATUT_COL).value
        controle = sheet.cell(row, STATUT_COL + 1).value
        assert statut or controle, row


# ---------------------------------------------------------------- (f) bad input for the write


def restored_stat(path: Path, data: bytes) -> None:
    """Replace a file's bytes keeping its size and modification time (a change the
    changed-since-read check cannot see)."""
    st = path.stat()
    assert len(data) == st.st_size
    path.write_bytes(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def stored_copy(path: Path, replace: dict[str, bytes]) -> bytes:
    """The workbook's zip rebuilt with every entry stored (uncompressed), some replaced."""
    out = path.with_suffix(".rebuilt")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(info, replace.get(info.filename, zin.read(info.filename)),
                          compress_type=zipfile.ZIP_STORED)  # fmt: skip
    data = out.read_bytes()
    out.unlink()
    return data


def test_a_sheet_that_becomes_unparseable_after_reading_fails_cleanly(tmp_path: Path) -> None:
    path = make_good_workbook(tmp_path / "suivi.xlsx")
    part = sheet_part(path, "Plan d'actions")
    path.write_bytes(stored_copy(path, {}))
    with zipfile.ZipFile(path) as zf:
        xml = zf.read(part)
    broken = xml.replace(b"</sheetData>", b"</sheetDatX>")
    assert len(broken) == len(xml)
    config = config_for_files([path])
    (source,) = run_check(config, TODAY).sources
    assert source.report.error is None
    restored_stat(path, stored_copy(path, {part: broken}))  # damaged after the read
    damaged = snapshot(path)
    cal = WorkingCalendar(config.calendar.closure_days, config.calendar.worked_holidays)
    write = sync_source(source, TODAY, config, cal, dry_run=False)
    assert write.status == "failed"
    assert write.message.startswith("suivi.xlsx : écriture impossible (")
    assert snapshot(path) == damaged
    assert leftovers(tmp_path) == []


def test_a_sheet_the_xml_parser_refuses_is_found_at_check_time(tmp_path: Path) -> None:
    """Some tools write character references XML 1.0 forbids (``&#1;``): calamine would read
    the sheet, but write-back could not edit it. ``check`` says so already (not the first
    write, run after run), in French; nothing is written."""
    path = make_good_workbook(tmp_path / "suivi.xlsx")
    part = sheet_part(path, "Plan d'actions")
    with zipfile.ZipFile(path) as zf:
        xml = zf.read(part)
    xml = xml.replace(b"</sheetData>", b'<row r="9"><c r="A9" t="inlineStr"><is><t>A&#1;B</t>'
                      b"</is></c></row></sheetData>")  # fmt: skip
    path.write_bytes(stored_copy(path, {part: xml}))
    before = snapshot(path)
    run = run_sync(config_for_files([path]), TODAY)
    error = run.check.report.sources[0].error
    assert error is not None and error.startswith("onglet « Plan d'actions » : ")
    assert "xmlParseCharRef" not in error  # the parser's own words stay in the log
    (write,) = run.writes
    assert write.status == "not-read"
    assert snapshot(path) == before
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- file metadata


def test_the_file_mode_is_kept(tracker: Path) -> None:
    tracker.chmod(0o640)
    assert sync_one(tracker).status == "written"
    assert tracker.stat().st_mode & 0o777 == 0o640
