"""The consolidated view from what sync gathers source by source (figures.Gathered), its
tables parked as each source is written, is the view made from the whole tables.

Sync lets each source's tables go once written (memory grows with one source, not with the
workspace); the view must not change for it. The demo workspace holds every tracker, central
workbooks, unknown services, invalid levels and percentages written both ways.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import TODAY

from qep_sync.config import load_config
from qep_sync.core import spill as spill_module
from qep_sync.core.spill import SortedRows, Spill
from qep_sync.jobs import figures
from qep_sync.jobs.check import run_check
from qep_sync.jobs.consolidate import consolidate
from qep_sync.jobs.consolidated_workbook import view_digest
from qep_sync.jobs.figures import Coded, Gathered, Services, coded
from qep_sync.jobs.sync import run_sync
from qep_sync.workspace.create import create_workspace

NOW = dt.datetime(2026, 12, 1, 10, 15)


@pytest.mark.parametrize("spilled", [False, True], ids=["in memory", "spilled"])
def test_the_gathered_view_is_the_view_of_the_whole_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spilled: bool
) -> None:
    create_workspace(tmp_path, demo=True, today=TODAY, force=False)
    config = load_config(tmp_path / "qep-sync.toml")
    check = run_check(config, TODAY)
    check.compute(TODAY, config)
    whole = consolidate(check, TODAY, generated=NOW)
    monkeypatch.setattr(figures, "RESIDENT_SHEETS", 1)  # every sheet read back from the file
    monkeypatch.setattr(spill_module, "RUN_ROWS", 4)  # the lists merged from many runs
    spill = Spill() if spilled else None
    gathered = Gathered(Services(check), spill=spill)
    for run in check.sources:
        gathered.add(run)
        run.park(keep=frozenset())
    assert any(t.parked for run in check.sources for t in run.tables)
    if spill is not None:
        assert spill.size > 0
        assert all(v._detached is None for v in gathered.views)  # none in memory yet
    parked = consolidate(check, TODAY, generated=NOW, gathered=gathered)
    if spill is not None:
        assert sum(v._detached is not None for v in gathered.views) == 1  # the last one read
        for title in ("Échéances", "Réponses"):
            assert isinstance(parked.table(title).rows, SortedRows)
    assert [t.title for t in parked.tables] == [t.title for t in whole.tables]
    for mine, theirs in zip(parked.tables, whole.tables, strict=True):
        assert mine.rows == theirs.rows, mine.title
        assert mine.total == theirs.total, mine.title
    assert parked.snapshot == whole.snapshot
    assert view_digest(parked) == view_digest(whole)
    assert len(whole.table("Échéances").rows) > 10 and len(whole.table("Indicateurs").rows) > 5


def test_a_gathered_sheet_refuses_a_field_it_did_not_gather(tmp_path: Path) -> None:
    create_workspace(tmp_path, demo=True, today=TODAY, force=False)
    config = load_config(tmp_path / "qep-sync.toml")
    check = run_check(config, TODAY)
    check.compute(TODAY, config)
    gathered = Gathered(Services(check))
    gathered.add(check.sources[0])
    letters = next(v for v in gathered.views if v.tracker == "courriers")
    assert letters.field("objet") == letters.field("objet")  # gathered: read again as it was
    with pytest.raises(KeyError, match="VIEW_FIELDS"):
        letters.field("date_reponse")  # the view never reads it: a new reader must add it


def test_a_sync_parks_each_source_and_the_alerts_read_it_whole(tmp_path: Path) -> None:
    create_workspace(tmp_path, demo=True, today=TODAY, force=False)
    config = load_config(tmp_path / "qep-sync.toml")
    synced = run_sync(config, TODAY, now=NOW)
    tables = [t for run in synced.check.sources for t in run.tables]
    assert tables and all(t.parked for t in tables)
    synced.check.unpark()
    letters = synced.check.tables("courriers")
    assert letters and all(len(t.computed) == len(t.positions) for t in letters)
    assert all("date_reponse" in t.columns for t in letters)


def test_a_column_of_few_values_is_kept_as_codes_and_reads_the_same() -> None:
    when = dt.date(2026, 11, 2)
    column = ["En retard", None, "À jour", "En retard", when, None] * 1000
    kept = coded(column)
    assert isinstance(kept, Coded)
    assert list(kept) == column and len(kept) == len(column)
    assert kept[4] is when and kept[7] is None and kept[2:5] == column[2:5]
    for mixed in ([1, True, 2], [0.0, -0.0], [1, 1.0], [["unhashable"]]):
        assert coded(mixed) is mixed  # never taken for one another
    many = [str(i) for i in range(70_000)]
    assert coded(many) is many
