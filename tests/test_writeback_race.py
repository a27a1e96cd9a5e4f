"""A save that slips in between qep-sync's last check and its replacement of the file.

Where the system can swap two files atomically (Linux), the person's save is never lost:
the swap comes first, the displaced file is checked, and a newer save is put back.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from conftest import TODAY, make_good_workbook, make_workbook

import qep_sync.files as files
from qep_sync.config import config_for_files
from qep_sync.jobs.sync import run_sync

PERSONS_SAVE = [
    ["N° action", "Action", "Échéance", "État"],
    ["B1", "Ajoutée par une personne pendant la synchronisation", TODAY, "En cours"],
]


def _save_during_the_last_check(monkeypatch: pytest.MonkeyPatch, path: Path) -> list[bytes]:
    """Arrange for a person's save right after qep-sync's last check; returns its bytes."""
    original = files.check_unchanged
    calls = []
    saves: list[bytes] = []

    def check_then_someone_saves(target: Path, expected: files.Stamp | None) -> None:
        original(target, expected)
        calls.append(target)
        if len(calls) == 2:  # the last check before the file is put in place
            saved = path.with_name("~enregistrement.xlsx")
            make_workbook(saved, {"Plan d'actions": PERSONS_SAVE})
            saves.append(saved.read_bytes())
            os.replace(saved, path)  # as Excel saves: a new file renamed over the old

    monkeypatch.setattr(files, "check_unchanged", check_then_someone_saves)
    return saves


@pytest.mark.skipif(sys.platform != "linux", reason="atomic exchange is a Linux feature")
def test_a_save_in_the_last_instant_is_kept_and_the_write_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_good_workbook(tmp_path / "suivi.xlsx")
    saves = _save_during_the_last_check(monkeypatch, path)
    run = run_sync(config_for_files([path]), TODAY)
    assert run.writes[0].status == "skipped"
    assert "modifié pendant l'écriture" in run.writes[0].message
    assert path.read_bytes() == saves[0]  # the person's save, untouched
    assert [p.name for p in tmp_path.iterdir()] == ["suivi.xlsx"]  # no temporary file left
    monkeypatch.undo()
    assert run_sync(config_for_files([path]), TODAY).writes[0].status == "written"


def test_without_atomic_exchange_the_file_is_replaced_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_good_workbook(tmp_path / "suivi.xlsx")
    monkeypatch.setattr(files, "_exchange", lambda a, b: False)  # Windows, SMB shares...
    run = run_sync(config_for_files([path]), TODAY)
    assert run.writes[0].status == "written"
    assert [p.name for p in tmp_path.iterdir()] == ["suivi.xlsx"]
    assert run_sync(config_for_files([path]), TODAY).writes[0].status == "unchanged"
