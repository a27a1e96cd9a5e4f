"""A sync that finds nothing new does not redo what it did (issue 15).

Real syncs of a real workspace. The consolidated workbook is not rewritten when the view it
would hold is the one it holds (same figures, same day), on a file nobody touched; it is
rewritten when a figure changes, on a new day, or when a person saved, or deleted, it. A
source file still at the time qep-sync recorded its owned cells is not compared again, and
a person's typed value in it is still caught once she saves.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import make_workbook

from qep_sync.alerts.job import run_alerts
from qep_sync.config import load_config
from qep_sync.jobs import sync as sync_module
from qep_sync.jobs import typed_values
from qep_sync.jobs.sync import SyncRun, run_sync

D = dt.date
TODAY = D(2026, 11, 26)
MORNING = dt.datetime(2026, 11, 26, 9, 5)
SOURCE = "BAS.xlsx"
VIEW = "Consolidation qualité.xlsx"
PLAN = "Plan d'actions"
CONFIG = f"""
[workspace]
consolidated = "{VIEW}"

[[sources]]
service = "BAS"
path = "{SOURCE}"
"""


def _plan(late: int) -> list[list[object]]:
    rows: list[list[object]] = [["N° action", "Action", "Échéance", "État"]]
    rows += [[f"A{i}", "Action", D(2026, 11, 2), "En cours"] for i in range(late)]
    rows.append(["B1", "Former l'accueil", D(2027, 3, 1), "En cours"])
    return rows


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    make_workbook(tmp_path / SOURCE, {PLAN: _plan(1)})
    (tmp_path / "qep-sync.toml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def _sync(folder: Path, today: dt.date = TODAY, now: dt.datetime = MORNING) -> SyncRun:
    run = run_sync(load_config(folder / "qep-sync.toml"), today, now=now)
    assert run.consolidated is not None and run.consolidated.status == "written", run.consolidated
    return run


def _rewritten(folder: Path, today: dt.date = TODAY, now: dt.datetime = MORNING) -> bool:
    """Sync; whether the consolidated workbook was written again."""
    consolidated = _sync(folder, today, now).consolidated
    assert consolidated is not None
    return consolidated.rewritten


def _file(folder: Path) -> tuple[bytes, int]:
    path = folder / VIEW
    return path.read_bytes(), path.stat().st_mtime_ns


def _heading(folder: Path) -> str:
    return str(openpyxl.load_workbook(folder / VIEW)["COPIL"]["A1"].value)


def test_a_second_sync_with_nothing_new_leaves_the_workbook_as_it_is(workspace: Path) -> None:
    assert _rewritten(workspace)
    before = _file(workspace)
    settings = workspace / "qep-sync.toml"  # a setting the view does not show: the whole
    settings.write_text(CONFIG + '\n[logging]\nlevel = "DEBUG"\n', encoding="utf-8")  # sync
    run = _sync(workspace, now=MORNING + dt.timedelta(hours=3))  # runs, later the same day
    assert _computed(run)
    assert run.consolidated is not None and not run.consolidated.rewritten
    assert "déjà à jour" in run.consolidated.message
    assert _file(workspace) == before  # bytes and time: not even replaced by the same
    assert _heading(workspace).endswith("situation au 26/11/2026, générée le 26/11/2026 à 09:05")


def test_a_figure_that_changes_rewrites_it(workspace: Path) -> None:
    _sync(workspace)
    before = _file(workspace)
    make_workbook(workspace / SOURCE, {PLAN: _plan(2)})  # one more late action
    assert _rewritten(workspace, now=MORNING + dt.timedelta(hours=1))
    assert _file(workspace)[0] != before[0]
    ws = openpyxl.load_workbook(workspace / VIEW)["Synthèse"]
    header = [c.value for c in ws[3]]
    assert ws.cell(4, header.index("Actions en retard") + 1).value == 2


def test_a_new_day_rewrites_it_so_that_no_past_date_is_shown(workspace: Path) -> None:
    _sync(workspace)
    tomorrow = MORNING + dt.timedelta(days=1)
    assert _rewritten(workspace, TODAY + dt.timedelta(days=1), tomorrow)
    assert "situation au 27/11/2026, générée le 27/11/2026 à 09:05" in _heading(workspace)


def test_a_new_day_of_generation_rewrites_it_even_for_the_same_situation(workspace: Path) -> None:
    _sync(workspace)
    assert _rewritten(workspace, now=MORNING + dt.timedelta(days=1))
    assert "générée le 27/11/2026" in _heading(workspace)


def test_a_workbook_a_person_saved_is_rewritten(workspace: Path) -> None:
    _sync(workspace)
    book = openpyxl.load_workbook(workspace / VIEW)
    book["Synthèse"]["A4"] = "modifié à la main"
    book.save(workspace / VIEW)
    assert _rewritten(workspace)
    assert openpyxl.load_workbook(workspace / VIEW)["Synthèse"]["A4"].value == "BAS"


def test_a_deleted_workbook_is_made_again(workspace: Path) -> None:
    _sync(workspace)
    (workspace / VIEW).unlink()
    assert _rewritten(workspace)
    assert (workspace / VIEW).exists()


def test_an_untouched_source_is_not_compared_and_a_saved_one_is(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[str] = []
    flag = typed_values.flag_replaced

    def counting(run: typed_values.SourceRun, *args: object) -> int:
        compared.append(run.source.label)
        return flag(run, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(typed_values, "flag_replaced", counting)
    _sync(workspace)  # first sync: writes the owned columns, records them
    (workspace / VIEW).unlink()  # the workspace changed: the whole sync runs again, but
    _sync(workspace)  # the source is at the time qep-sync's write left: nothing to compare
    assert compared == [SOURCE]
    book = openpyxl.load_workbook(workspace / SOURCE)
    header = [c.value for c in book[PLAN][1]]
    book[PLAN].cell(2, header.index("Statut") + 1, "Terminée (vu avec chef)")
    book.save(workspace / SOURCE)
    run = _sync(workspace)
    assert compared == [SOURCE, SOURCE]
    assert [f.message for f in run.check.report.findings if "valeur saisie" in f.message]


# ---------------------------------------------------------------- a workspace left as it was


def _computed(run: SyncRun) -> bool:
    """Whether the run computed the owned columns of its sources (parked once written)."""
    run.check.unpark()
    return any(table.computed for source in run.check.sources for table in source.tables)


def test_a_workspace_left_as_the_last_sync_found_it_is_only_read(workspace: Path) -> None:
    first = _sync(workspace)  # writes the source and the workbook: recorded as it left them
    assert [w.status for w in first.writes] == ["written"]
    source, view = (workspace / SOURCE).read_bytes(), _file(workspace)
    for hours in (1, 2):
        again = _sync(workspace, now=MORNING + dt.timedelta(hours=hours))
        assert not again.check.whole  # the files' stamps said so before reading: report only
        assert not _computed(again)  # read and checked; nothing computed, planned or built
        assert [w.status for w in again.writes] == ["unchanged"]
        assert again.consolidated is not None and "rien n'a changé" in again.consolidated.message
        assert again.check.report.errors == first.check.report.errors
    assert (workspace / SOURCE).read_bytes() == source and _file(workspace) == view


def test_a_write_left_for_later_is_not_taken_as_done(workspace: Path) -> None:
    lock = workspace / f"~${SOURCE}"  # the source open in Excel: its write waits
    lock.write_bytes(b"")
    assert [w.status for w in _sync(workspace).writes] == ["skipped"]
    lock.unlink()
    run = _sync(workspace)
    assert _computed(run) and [w.status for w in run.writes] == ["written"]


@pytest.mark.parametrize("change", ["source saved", "workbook deleted", "next day", "settings"])
def test_any_change_to_the_workspace_gets_the_whole_sync(workspace: Path, change: str) -> None:
    _sync(workspace)  # records the workspace as it left it
    today = TODAY
    if change == "source saved":
        make_workbook(workspace / SOURCE, {PLAN: _plan(2)})  # one more late action
    elif change == "workbook deleted":
        (workspace / VIEW).unlink()
    elif change == "next day":
        today = TODAY + dt.timedelta(days=1)
    else:
        (workspace / "qep-sync.toml").write_text(
            CONFIG + "\n[rules]\necheance_proche_jours = 9\n", encoding="utf-8"
        )
    run = _sync(workspace, today)
    assert _computed(run)
    if change == "source saved":
        assert [w.status for w in run.writes] == ["written"]
        assert run.consolidated is not None and run.consolidated.rewritten  # 2 late, not 1
    if change == "workbook deleted":
        assert (workspace / VIEW).is_file()


def test_a_source_saved_between_the_look_and_the_read_gets_the_whole_sync(
    workspace: Path,
) -> None:
    _sync(workspace)  # records the workspace as it left it
    saved: list[str] = []

    def save_once(i: int, n: int, source: object) -> None:  # called before each read
        if not saved:  # the stamps looked at say « as it was »; the file read is not
            make_workbook(workspace / SOURCE, {PLAN: _plan(2)})
            saved.append("saved")

    config = load_config(workspace / "qep-sync.toml")
    run = run_sync(config, TODAY, now=MORNING + dt.timedelta(hours=1), progress=save_once)
    assert saved and run.check.whole and _computed(run)
    assert [w.status for w in run.writes] == ["written"]
    assert run.consolidated is not None and run.consolidated.rewritten  # 2 late, not 1


def test_the_alerts_after_a_sync_that_kept_no_table_read_the_files_again(
    workspace: Path,
) -> None:
    _sync(workspace)
    again = _sync(workspace, now=MORNING + dt.timedelta(hours=1))
    assert not again.check.whole
    config = load_config(workspace / "qep-sync.toml")
    now = MORNING + dt.timedelta(hours=2)
    reused = run_alerts(config, TODAY, dry_run=True, now=now, check=again.check)
    fresh = run_alerts(config, TODAY, dry_run=True, now=now)
    assert reused.check.whole and [i.id for i in reused.items] == [i.id for i in fresh.items]
    assert reused.items  # the late action A1


def test_a_source_saved_while_the_sync_ends_is_a_persons_save(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A save that lands after qep-sync wrote the source, while it builds the view, is not
    taken for what qep-sync left: the next sync reads and computes it whole."""
    writing = sync_module.write_view

    def save_then_write(*args: Any, **kwargs: Any) -> Any:
        make_workbook(workspace / SOURCE, {PLAN: _plan(2)})  # a person saves, meanwhile
        return writing(*args, **kwargs)

    monkeypatch.setattr(sync_module, "write_view", save_then_write)
    assert [w.status for w in _sync(workspace).writes] == ["written"]
    monkeypatch.setattr(sync_module, "write_view", writing)
    run = _sync(workspace, now=MORNING + dt.timedelta(hours=1))
    assert run.check.whole and _computed(run)
    assert [w.status for w in run.writes] == ["written"]  # her new late action computed
