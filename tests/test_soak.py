"""Soak: the serve loop syncs a workspace over and over while another process edits it.

The editor (this file run as a script, in its own process) behaves like people saving in
Excel: it creates the owner file ``~$NOM.xlsx``, opens the workbook, changes a few cells of
the user columns (État, Échéance, Commentaire), saves to a temporary file and replaces the
workbook with it, keeps it open a moment, closes it; then waits a random while. One save in
three leaves no owner file (a script, or a tool that does not make one): then only the
« changed since read » check protects the edit. Every edit is logged (JSON lines) once the
replacement is done.

Meanwhile ``ServeLoop`` (real clock, real journal) syncs every second. At the end, every edit
of the editor is still in the files, every file is a sound workbook (zip CRCs, and
python-calamine reads every sheet), and after a last sync the computed columns match the
final data: a dry run has nothing left to change, and ``Statut`` agrees with a rule computed
here from the editor's own values. The figures are printed (run with ``-s`` to see them).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
import threading
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
SOAK_SECONDS = float(os.environ.get("QEP_SOAK_SECONDS", "60"))  # the editing window
SERVICES = ("BAS", "BRGE", "CERT")
ROWS = 300
HEADER = ["N° action", "Action", "Échéance", "État", "Commentaire"]
STATES = ["À faire", "En cours", "Fait", "Abandonné"]
SHEET = "Plan d'actions"


# ---------------------------------------------------------------- the editor (own process)


def edit_forever(folder: Path, log_path: Path, until: float, seed: int) -> None:
    """Edit the workbooks of ``folder`` as people do, until the monotonic time ``until``."""
    import openpyxl

    rng = random.Random(seed)
    today = dt.datetime.now(PARIS).date()
    paths = sorted(folder.glob("*.xlsx"))
    n = saves = 0
    with log_path.open("a", encoding="utf-8") as log:
        while time.monotonic() < until:
            time.sleep(rng.uniform(0.05, 0.5))
            path = rng.choice(paths)
            owner = path.with_name("~$" + path.name)
            in_excel = rng.random() < 2 / 3  # else a script or a tool that leaves no ~$ file
            if in_excel:
                owner.write_text("éditeur du test de charge")
            try:
                book = openpyxl.load_workbook(path)
                sheet = book[SHEET]
                edits = []
                for _ in range(rng.randint(1, 3)):
                    row = rng.randint(2, ROWS + 1)
                    column = rng.choice(["Échéance", "État", "Commentaire"])
                    col = HEADER.index(column) + 1
                    value: Any
                    if column == "Échéance":
                        value = today + dt.timedelta(days=rng.randint(-40, 60))
                        sheet.cell(row, col).value = dt.datetime.combine(value, dt.time())
                        sheet.cell(row, col).number_format = "dd/mm/yyyy"
                        value = value.isoformat()
                    elif column == "État":
                        value = rng.choice(STATES)
                        sheet.cell(row, col).value = value
                    else:
                        n += 1
                        value = f"modification {seed}-{n}"
                        sheet.cell(row, col).value = value
                    edits.append({"file": path.name, "row": row, "column": column, "value": value})
                temporary = path.with_name(f".{path.name}.editeur.tmp")
                book.save(temporary)
                os.replace(temporary, path)
                saves += 1
                for edit in edits:
                    edit["save"] = saves
                    log.write(json.dumps(edit, ensure_ascii=False) + "\n")
                log.flush()
                if in_excel:
                    time.sleep(rng.uniform(0.0, 0.2))  # still open a moment after saving
            finally:
                owner.unlink(missing_ok=True)


# ---------------------------------------------------------------- the test


def make_workspace(directory: Path, today: dt.date) -> Path:
    from conftest import make_workbook

    rng = random.Random(7)
    (directory / "services").mkdir(parents=True)
    for service in SERVICES:
        rows: list[list[Any]] = [HEADER]
        for i in range(1, ROWS + 1):
            due = today + dt.timedelta(days=rng.randint(-30, 90))
            rows.append([f"{service}-{i}", f"Action {i} du {service}", due,
                         rng.choice(STATES), None])  # fmt: skip
        make_workbook(directory / "services" / f"{service}.xlsx", {SHEET: rows})
    path = directory / "qep-sync.toml"
    sources = "".join(
        f'\n[[sources]]\nservice = "{s}"\nxlsx = "services/{s}.xlsx"\n' for s in SERVICES
    )
    path.write_text(
        '[workspace]\nstate_dir = "etat"\n\n[schedule]\noffice_hours = ["00:00", "23:59"]\n'
        "working_days_only = false\nalerts = false\n" + sources,
        encoding="utf-8",
    )
    return path


def expected_status(state: str, due: dt.date | None, today: dt.date) -> str | None:
    """docs/contract.md §3, plan_actions, written here again from the rule."""
    if state == "Fait":
        return "Terminée"
    if state == "Abandonné":
        return "Abandonnée"
    if due is None:
        return None
    if due < today:
        return "En retard"
    return "Échéance proche" if (due - today).days <= 15 else "Dans les temps"


def as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


def test_soak_serve_and_a_person_editing_the_same_workbooks(tmp_path: Path) -> None:
    import python_calamine

    from qep_sync.config import load_config
    from qep_sync.jobs.sync import run_sync
    from qep_sync.service.journal import Journal
    from qep_sync.service.serve import ServeLoop

    today = dt.datetime.now(PARIS).date()
    config = load_config(make_workspace(tmp_path, today))
    edits_log = tmp_path / "edits.jsonl"
    began = time.monotonic()
    editor = subprocess.Popen(
        [sys.executable, __file__, str(tmp_path / "services"), str(edits_log), str(SOAK_SECONDS)],
        cwd=Path(__file__).parent,
    )  # fmt: skip
    stop = threading.Event()
    service = ServeLoop(config, stop=stop, every=dt.timedelta(seconds=1), heartbeat=5)
    loop = threading.Thread(target=service.run, name="serve")
    loop.start()
    try:
        assert editor.wait(timeout=SOAK_SECONDS + 60) == 0
    finally:
        stop.set()
        loop.join(timeout=60)
        if editor.poll() is None:
            editor.kill()
            editor.wait()
    assert not loop.is_alive()
    soak_seconds = time.monotonic() - began

    with Journal.of(config, readonly=True) as journal:
        runs = [r for r in journal.runs(kind="sync", newest_first=False)]
    statuses = Counter(r.status for r in runs)
    skipped: Counter[str] = Counter()
    for run in runs:
        for item in run.details.get("skipped", []):
            reason = (
                "open"
                if "ouvert" in item["message"]
                else "changed"
                if "modifié" in item["message"]
                else "other"
            )
            skipped[reason] += 1
    written = sum(r.counts["files_written"] for r in runs)
    cells = sum(r.counts["cells_written"] for r in runs)

    # The last sync, with nobody editing any more; then nothing is left to change.
    final = run_sync(config, today, now=dt.datetime.now(PARIS))
    assert not final.failed and {w.status for w in final.writes} <= {"written", "unchanged"}
    # A save by the editor's script (no ~$ file) that read a workbook before a write and
    # saved it after puts back old owned values: the final sync warns in Contrôle that they
    # were replaced (« valeur saisie remplacée »), once; the next one, nobody having saved
    # since, clears the warning. A dry run knows no history, hence no warning: compare
    # after that next sync.
    again = run_sync(config, today, now=dt.datetime.now(PARIS))
    assert not again.failed and {w.status for w in again.writes} <= {"written", "unchanged"}
    dry = run_sync(config, today, dry_run=True)
    assert [w.status for w in dry.writes] == ["unchanged"] * len(SERVICES)

    edits = [json.loads(line) for line in edits_log.read_text(encoding="utf-8").splitlines()]
    last: dict[tuple[str, int, str], Any] = {}
    for edit in edits:
        last[(edit["file"], edit["row"], edit["column"])] = edit["value"]
    checked_rows = 0
    for service in SERVICES:
        path = tmp_path / "services" / f"{service}.xlsx"
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None, path
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        rows = book.get_sheet_by_name(SHEET).to_python()
        book.close()
        header = [str(h) for h in rows[0]]
        status_col = header.index("Statut")
        for (name, row, column), value in last.items():
            if name != path.name:
                continue
            cell = rows[row - 1][HEADER.index(column)]
            if column == "Échéance":
                assert as_date(cell) == dt.date.fromisoformat(value), (name, row, column)
            else:
                assert cell == value, (name, row, column, cell, value)
        for line in rows[1 : ROWS + 1]:
            want = expected_status(str(line[3]), as_date(line[2]), today)
            assert (line[status_col] or None) == want, line
            checked_rows += 1
    assert checked_rows == ROWS * len(SERVICES)

    figures = {
        "soak_seconds": round(soak_seconds, 1),
        "sync_cycles": len(runs),
        "cycle_statuses": dict(statuses),
        "files_written": written,
        "cells_written": cells,
        "writes_skipped_file_open": skipped["open"],
        "writes_skipped_changed_since_read": skipped["changed"],
        "editor_saves": len({e["save"] for e in edits}),
        "editor_cell_edits": len(edits),
        "cells_checked_at_the_end": len(last),
        "final_sync": Counter(w.status for w in final.writes),
    }
    print("\nsoak:", json.dumps(figures, ensure_ascii=False, default=str))
    assert len(runs) >= 10 and len(edits) >= 20
    assert written >= 3 and skipped["open"] + skipped["changed"] >= 1
    assert statuses["error"] == 0 and statuses["partial"] == 0


if __name__ == "__main__":  # the editor process
    folder, log_file, seconds = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
    edit_forever(folder, log_file, time.monotonic() + seconds, seed=os.getpid())
