"""A value a person typed into an owned column is never lost silently (docs/contract.md §7).

Real syncs of a real workbook: after qep-sync's first write, a person types into an owned
cell (a real openpyxl save); the next sync replaces it and says so in that row's Contrôle
and in the report; rows sorted by a person are found by their key, not flagged.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from conftest import make_workbook

from qep_sync.config import load_config
from qep_sync.jobs.sync import SyncRun, run_sync

D = dt.date
TODAY = D(2026, 11, 26)
CONFIG = '[[sources]]\nservice = "BAS"\npath = "BAS.xlsx"\n'
PLAN = "Plan d'actions"
ROWS = [
    ["N° action", "Action", "Échéance", "État"],
    ["A1", "Afficher les horaires", D(2026, 11, 2), "En cours"],  # late
    ["A2", "Former l'accueil", D(2027, 3, 1), "En cours"],
    ["A3", "Refaire la charte", D(2026, 12, 4), "À faire"],
]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    make_workbook(tmp_path / "BAS.xlsx", {PLAN: ROWS})
    (tmp_path / "qep-sync.toml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def _sync(folder: Path, today: dt.date = TODAY) -> SyncRun:
    return run_sync(load_config(folder / "qep-sync.toml"), today)


def _columns(path: Path) -> tuple[openpyxl.Workbook, dict[str, int]]:
    book = openpyxl.load_workbook(path)
    header = [c.value for c in book[PLAN][1]]
    return book, {str(h): i + 1 for i, h in enumerate(header) if h}


def _replaced(run: SyncRun) -> list[tuple[str, str]]:
    return [(f.cell, f.message) for f in run.check.report.findings if "valeur saisie" in f.message]


def test_a_typed_status_is_replaced_and_said_in_controle(workspace: Path) -> None:
    assert _replaced(_sync(workspace)) == []  # the first sync only records
    book, cols = _columns(workspace / "BAS.xlsx")
    book[PLAN].cell(2, cols["Statut"], "Terminée (vu avec chef)")
    book.save(workspace / "BAS.xlsx")

    run = _sync(workspace)

    statut = openpyxl.utils.get_column_letter(cols["Statut"])
    message = ("Statut : valeur saisie remplacée : « Terminée (vu avec chef) » (colonne calculée "
               "par qep-sync : notez plutôt dans une colonne à vous)")  # fmt: skip
    assert _replaced(run) == [(f"{statut}2", message)]
    book, cols = _columns(workspace / "BAS.xlsx")
    assert book[PLAN].cell(2, cols["Statut"]).value == "En retard"
    assert message in book[PLAN].cell(2, cols["Contrôle"]).value
    assert _replaced(_sync(workspace, TODAY + dt.timedelta(days=1))) == []  # said once


def test_rows_a_person_sorted_are_not_taken_for_typing(workspace: Path) -> None:
    _sync(workspace)
    book, _ = _columns(workspace / "BAS.xlsx")
    ws = book[PLAN]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2, max_row=4)]
    for i, values in enumerate(reversed(rows), start=2):  # A3, A2, A1: the owned cells move too
        for j, value in enumerate(values, start=1):
            ws.cell(i, j, value)
    book.save(workspace / "BAS.xlsx")
    assert _replaced(_sync(workspace)) == []


def test_the_first_sync_of_a_file_with_values_there_flags_nothing(workspace: Path) -> None:
    make_workbook(workspace / "BAS.xlsx", {PLAN: [[*ROWS[0], "Statut"],
                                                 *([*r, "à voir"] for r in ROWS[1:])]})  # fmt: skip
    run = _sync(workspace)
    assert _replaced(run) == []
    book, cols = _columns(workspace / "BAS.xlsx")
    assert book[PLAN].cell(2, cols["Statut"]).value == "En retard"
