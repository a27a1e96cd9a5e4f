"""The history of the state folder (docs/contract.md §4): the last change made by a person,
snapshots per day, the comparison with the last COPIL, migrations and failed runs.

Real syncs of a real workspace on pinned dates; a person's edit is a real save of the
workbook with openpyxl after qep-sync wrote it, its file time set to when she saved.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from conftest import make_workbook

from qep_sync.config import load_config
from qep_sync.jobs import history as history_module
from qep_sync.jobs.history import HISTORY_NAME, MIGRATIONS, History, HistoryError
from qep_sync.jobs.sync import run_sync

D = dt.date
PARIS = ZoneInfo("Europe/Paris")
SOURCE = "BAS.xlsx"
CONFIG = f"""
[[sources]]
service = "BAS"
name = "Bureau de l'admission au séjour"
path = "{SOURCE}"

[copil]
dates = [2026-10-15, 2026-06-30]
"""


def _letters(late: int) -> list[list[object]]:
    rows: list[list[object]] = [["N°", "Canal", "Date de réception", "Objet", "Date de réponse"]]
    rows += [[f"C{i}", "Courriel", D(2026, 9, 1), "Demande", None] for i in range(late)]
    rows.append(["OK", "Courriel", D(2026, 9, 1), "Demande", D(2026, 9, 2)])
    return rows


def _plan(late: int) -> list[list[object]]:
    rows: list[list[object]] = [["N° action", "Action", "Échéance", "État"]]
    rows += [[f"A{i}", "Action", D(2026, 9, 30), "En cours"] for i in range(late)]
    return rows


def _set_mtime(path: Path, when: dt.datetime) -> None:
    ns = int(when.replace(tzinfo=PARIS).timestamp()) * 10**9
    os.utime(path, ns=(ns, ns))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    make_workbook(tmp_path / SOURCE, {"Délais": _letters(2), "Plan d'actions": _plan(1)})
    _set_mtime(tmp_path / SOURCE, dt.datetime(2026, 9, 3, 10, 0))
    (tmp_path / "qep-sync.toml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def _sync(folder: Path, today: dt.date) -> openpyxl.Workbook:
    config = load_config(folder / "qep-sync.toml")
    run = run_sync(config, today)
    assert run.consolidated is not None and run.consolidated.status == "written", run.consolidated
    return openpyxl.load_workbook(config.consolidated)


def _synthese(book: openpyxl.Workbook) -> tuple[object, ...]:
    ws = book["Synthèse"]
    header = [c.value for c in ws[3]]
    row = [c.value for c in ws[4]]
    return (row[header.index("Dernière modification par une personne")],
            row[header.index("Mise à jour")])  # fmt: skip


def test_qep_syncs_own_writes_never_count_as_a_persons_change(workspace: Path) -> None:
    saved = dt.datetime(2026, 9, 3, 10, 0)
    assert _synthese(_sync(workspace, D(2026, 10, 1))) == (saved, "à jour")
    # The first sync wrote the file (its computed columns): its time is now qep-sync's.
    assert dt.datetime.fromtimestamp((workspace / SOURCE).stat().st_mtime) > saved
    # Days later a sync rewrites it again (Jours restants changes): still the person's time.
    assert _synthese(_sync(workspace, D(2026, 11, 9))) == (saved, "sans mise à jour depuis 67 "
                                                                 "jours")  # fmt: skip


def test_a_persons_edit_after_qep_syncs_write_shows_as_the_last_change(workspace: Path) -> None:
    _sync(workspace, D(2026, 10, 1))
    book = openpyxl.load_workbook(workspace / SOURCE)
    book["Délais"]["E2"] = D(2026, 10, 2)  # she answered C0
    book.save(workspace / SOURCE)
    edited = dt.datetime(2026, 10, 2, 16, 45)
    _set_mtime(workspace / SOURCE, edited)
    assert _synthese(_sync(workspace, D(2026, 10, 5))) == (edited, "à jour")
    assert _synthese(_sync(workspace, D(2026, 10, 6))) == (edited, "à jour")  # kept


def test_a_dry_run_and_a_check_record_nothing(workspace: Path) -> None:
    config = load_config(workspace / "qep-sync.toml")
    run_sync(config, D(2026, 10, 1), dry_run=True)
    assert not (config.state_dir / HISTORY_NAME).exists()


def test_one_snapshot_per_day_the_latest_run_wins(workspace: Path) -> None:
    config = load_config(workspace / "qep-sync.toml")
    _sync(workspace, D(2026, 10, 1))
    make_workbook(workspace / SOURCE, {"Délais": _letters(2), "Plan d'actions": _plan(3)})
    _sync(workspace, D(2026, 10, 1))
    with History(config.state_dir) as history:
        assert history.days() == [D(2026, 10, 1)]
        day, figures = history.snapshot_on_or_before(D(2026, 10, 1))
    late = {f.subject: f.value for f in figures if f.figure == "actions_late"}
    assert day == D(2026, 10, 1) and late == {"BAS": 3, "": 3}  # "": the total


def test_the_synthese_and_copil_sheet_compare_with_the_last_copil(workspace: Path) -> None:
    _sync(workspace, D(2026, 10, 14))  # the day before the COPIL of 15 October: 1 late action
    make_workbook(workspace / SOURCE, {"Délais": _letters(2), "Plan d'actions": _plan(4)})
    book = _sync(workspace, D(2026, 11, 2))  # now 4 late actions
    ws = book["COPIL"]
    header = [c.value for c in ws[3]]
    row = [c.value for c in ws[4]]
    at = header.index("Actions en retard")
    assert header[at : at + 3] == ["Actions en retard", "au COPIL", "évol."]
    assert row[0] == "BAS" and row[at : at + 3] == [4, 1, 3]
    assert ws[f"{openpyxl.utils.get_column_letter(at + 3)}4"].number_format == "+0;-0;0"
    assert "situation au COPIL du 15/10/2026" in ws["A2"].value
    synthese = [[c.value for c in r] for r in book["Synthèse"].iter_rows(min_row=4)]
    captions = [r[0] for r in synthese if isinstance(r[0], str) and r[0].startswith("Au dernier")]
    assert captions == ["Au dernier COPIL, le 15/10/2026 (situation enregistrée le 14/10/2026)"]
    start = next(i for i, r in enumerate(synthese) if r[0] == captions[0])
    s_header = [c.value for c in book["Synthèse"][3]]
    col = s_header.index("Actions en retard")
    assert synthese[start + 1][:2] == ["BAS", "au dernier COPIL"] and synthese[start + 1][col] == 1
    change = next(r for r in synthese[start:] if r[1] == "évolution")
    assert change[0] == "BAS" and change[col] == 3


def test_tendances_show_month_ends_from_the_history_and_replies_from_the_rows(
    workspace: Path,
) -> None:
    _sync(workspace, D(2026, 9, 29))  # no late action yet (due 30/09)
    _sync(workspace, D(2026, 10, 30))  # one late action at the end of October
    book = _sync(workspace, D(2026, 11, 2))
    ws = book["Tendances"]
    header = [c.value for c in ws[3]]
    rows = {(r[0], r[1]): r[2:] for r in ws.iter_rows(min_row=4, values_only=True) if r[1]}
    months = header[2:]
    assert months[-3:] == ["sept. 2026", "oct. 2026", "nov. 2026"]
    assert rows[("Actions en retard", "BAS")][-3:] == (0, 1, 1)
    assert rows[("Actions en retard", "BAS")][0] is None  # no snapshot that month
    # 1 of the 3 letters received in September was answered, on time: 100 % of the answered
    assert rows[("Réponses dans le délai", "BAS")][-3] == 1.0
    with open(workspace / "Consolidation qualité.xlsx", "rb") as fh:
        assert fh.read(2) == b"PK"


def test_a_failed_run_leaves_the_history_as_it_was(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(workspace / "qep-sync.toml")
    _sync(workspace, D(2026, 10, 1))
    before = (config.state_dir / HISTORY_NAME).read_bytes()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disque débranché")

    monkeypatch.setattr(history_module.History, "record", broken)
    run = run_sync(config, D(2026, 10, 2))
    assert run.consolidated is not None and run.consolidated.status == "failed"
    with History(config.state_dir) as history:
        assert history.days() == [D(2026, 10, 1)]
    assert (config.state_dir / HISTORY_NAME).read_bytes() == before


def test_a_crash_inside_the_transaction_rolls_it_back(tmp_path: Path) -> None:
    with History(tmp_path) as history:
        history.record(D(2026, 10, 1), [history_module.Figure("total", "", "errors", 1)], {}, {})
        with pytest.raises(sqlite3.IntegrityError):
            history.record(D(2026, 10, 2), [history_module.Figure("total", "", "errors", 1)],
                           {None: None}, {})  # type: ignore[dict-item]  # fmt: skip
        assert history.days() == [D(2026, 10, 1)]


def test_a_history_of_schema_1_is_migrated_and_keeps_its_snapshots(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / HISTORY_NAME)
    db.executescript(MIGRATIONS[0])
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.execute("INSERT INTO snapshots VALUES ('2026-06-30', 'total', '', 'errors', 4)")
    db.commit()
    db.close()
    with History(tmp_path) as history:
        assert history.version == len(MIGRATIONS) == 3
        assert history.snapshot_on_or_before(D(2026, 7, 1))[0] == D(2026, 6, 30)
        assert history.person_changes({"x": None}) == {"x": None}  # the new table is there


def test_a_history_of_a_newer_qep_sync_is_refused_not_rewritten(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / HISTORY_NAME)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('schema_version', '99')")
    db.commit()
    db.close()
    before = (tmp_path / HISTORY_NAME).read_bytes()
    with pytest.raises(HistoryError, match="version plus récente"):
        History(tmp_path)
    assert (tmp_path / HISTORY_NAME).read_bytes() == before


def test_an_unusable_history_does_not_stop_the_sync(workspace: Path) -> None:
    config = load_config(workspace / "qep-sync.toml")
    config.state_dir.mkdir()
    (config.state_dir / HISTORY_NAME).write_bytes(b"ceci n'est pas une base SQLite" * 100)
    run = run_sync(config, D(2026, 10, 1))
    assert run.consolidated is not None and run.consolidated.status == "written"
    assert [w.status for w in run.writes] == ["written"]


def test_a_google_sheets_time_counts_as_a_persons_only_after_qep_syncs_write(
    tmp_path: Path,
) -> None:
    """Google's clock stamps the sheet: a time up to the end of qep-sync's write is its own."""
    wrote = dt.datetime(2026, 10, 1, 8, 0, 5, tzinfo=dt.UTC)
    sheet, file = "gsheet:1qepSyncKey", str(tmp_path / "BAS.xlsx")
    with History(tmp_path) as history:
        history.record(D(2026, 10, 1), [], {sheet: None, file: None}, {sheet: wrote, file: wrote})
        ours = dt.datetime(2026, 10, 1, 8, 0, 4, tzinfo=dt.UTC)  # the write itself
        later = dt.datetime(2026, 10, 1, 9, 30, tzinfo=dt.UTC)  # someone in the browser
        assert history.person_changes({sheet: ours}) == {sheet: None}
        assert history.person_changes({sheet: later}) == {sheet: later}
        # A file's time is exact: an older one (a version restored) is a person's too.
        assert history.person_changes({file: ours}) == {file: ours}
        assert history.person_changes({file: wrote}) == {file: None}
