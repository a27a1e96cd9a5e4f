"""The alerts run lock: a busy lock and an unusable state folder are told apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from qep_sync.alerts.store import run_lock
from qep_sync.errors import MailError


def test_a_second_run_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    with (
        run_lock(tmp_path),
        pytest.raises(MailError, match="une autre exécution"),
        run_lock(tmp_path),
    ):
        pass
    with run_lock(tmp_path):  # released: the next run goes
        pass


def test_an_unusable_state_folder_is_not_reported_as_a_busy_lock(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "etat"
    not_a_folder.write_text("un fichier à la place du dossier d'état", encoding="utf-8")
    with (
        pytest.raises(MailError, match="dossier d'état inutilisable") as caught,
        run_lock(not_a_folder),
    ):
        pass
    assert "une autre exécution" not in str(caught.value)
