"""The run's scratch file (``core.spill``): bytes put come back as they were, from disk; a
temporary folder that cannot take them keeps them in memory; the file goes with the run.

A sync's check parks its tables there: the bytes memory holds per table are then only
their place in the file.
"""

from __future__ import annotations

import gc
import os
import tempfile
from pathlib import Path

import pytest
from conftest import TODAY

from qep_sync.config import load_config
from qep_sync.core import spill as spill_module
from qep_sync.core.spill import SortedRows, Spill
from qep_sync.jobs.check import run_check
from qep_sync.workspace.create import create_workspace


def test_bytes_put_come_back_from_the_file() -> None:
    spill = Spill()
    blobs = [os.urandom(n) for n in (0, 1, 1000, 70_000)]
    refs = [spill.put(b) for b in blobs]
    assert spill.size == sum(map(len, blobs))
    for ref, blob in reversed(list(zip(refs, blobs, strict=True))):  # any order
        assert ref.read() == blob and len(ref) == len(blob)


def test_a_temporary_folder_that_cannot_be_written_keeps_the_bytes_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "absent"
    monkeypatch.setattr(tempfile, "tempdir", str(missing))
    spill = Spill()
    ref = spill.put(b"letters of the year")
    assert ref.read() == b"letters of the year" and spill.size == 0
    assert "temporary file unusable" in caplog.text
    assert not missing.exists()


def test_the_file_goes_with_the_last_place_in_it() -> None:
    spill = Spill()
    ref = spill.put(b"x" * 100)
    handle = spill._file
    assert handle is not None and not handle.closed
    del spill
    gc.collect()
    assert ref.read() == b"x" * 100  # the place keeps its spill alive
    del ref
    gc.collect()
    assert handle.closed


@pytest.mark.parametrize("run_rows", [3, 8192])
def test_sorted_rows_read_back_as_sorted_gives_them(
    monkeypatch: pytest.MonkeyPatch, run_rows: int
) -> None:
    monkeypatch.setattr(spill_module, "RUN_ROWS", run_rows)
    monkeypatch.setattr(spill_module, "BATCH_ROWS", 2)
    rows: list[tuple[int, str]] = [
        (day % 5, f"ligne {n}") for n, day in enumerate([3, 1, 4, 1, 5, 9, 2, 6, 5, 3] * 3)
    ]
    spill = Spill()
    kept = SortedRows(spill, key=lambda r: r[0])
    for row in rows:
        kept.append(row)
    assert (spill.size > 0) == (run_rows < len(rows))  # runs on disk, or all still in memory
    expected = sorted(rows, key=lambda r: r[0])  # ties in the order added
    assert len(kept) == len(rows) and list(kept) == expected and list(kept) == expected
    assert kept == expected and expected == kept and kept != expected[:-1]
    assert kept[:4] == expected[:4] and kept[2:9:3] == expected[2:9:3]
    assert kept[0] == expected[0] and kept[-1] == expected[-1] and kept[7] == expected[7]
    with pytest.raises(IndexError):
        kept[len(rows)]
    assert bool(kept) and not SortedRows(Spill(), key=lambda r: r)


def test_a_parking_check_holds_its_tables_on_disk(tmp_path: Path) -> None:
    create_workspace(tmp_path, demo=True, today=TODAY, force=False)
    config = load_config(tmp_path / "qep-sync.toml")
    run = run_check(config, TODAY, park=True)
    spills = {id(s.spill) for s in run.sources if s.tables}
    assert len(spills) == 1 and None not in {s.spill for s in run.sources if s.tables}
    spill = next(s.spill for s in run.sources if s.tables)
    assert spill is not None
    parked = [t._parked for s in run.sources for t in s.tables]
    assert parked and None not in parked
    assert spill.size == sum(len(p.blob) for p in parked if p is not None)  # all in the file
    whole = run_check(config, TODAY)
    run.unpark()
    for a, b in zip((t for s in whole.sources for t in s.tables),
                    (t for s in run.sources for t in s.tables), strict=True):  # fmt: skip
        assert a.columns == b.columns and a.computed == b.computed
