"""The record of sent alerts: survives restarts, read-only for dry runs, one run at a time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alerts_support import now_on
from conftest import TODAY

from qep_sync.alerts.store import AlertStore, Sent, run_lock
from qep_sync.errors import MailError

KEY = ("BAS|plan_actions|plan d'actions|a1", "2026-12-01/J-7", "alice.martin@doubs.gouv.fr")


def _sent(day: dt.date) -> Sent:
    return Sent(*KEY, "direct", day, now_on(day), "<1@doubs.gouv.fr>")


def test_a_read_only_store_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "etat" / "alerts.sqlite"
    store = AlertStore(path, readonly=True)
    assert store.sent_on([KEY]) == {}
    store.record([_sent(TODAY)])
    store.close()
    assert not path.parent.exists()


def test_what_was_sent_is_known_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "alerts.sqlite"
    store = AlertStore(path)
    store.record([_sent(TODAY)])
    store.close()
    reopened = AlertStore(path, readonly=True)
    other = (KEY[0], "2026-12-01/J-1", KEY[2])
    assert reopened.sent_on([KEY, other]) == {KEY: TODAY}
    reopened.close()


def test_recording_the_same_delivery_again_updates_its_date(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.sqlite")
    store.record([_sent(TODAY)])
    store.record([_sent(TODAY + dt.timedelta(days=7))])
    assert store.sent_on([KEY]) == {KEY: TODAY + dt.timedelta(days=7)} and store.count() == 1
    store.close()


def test_the_run_lock_is_exclusive_and_released_afterwards(tmp_path: Path) -> None:
    with run_lock(tmp_path), pytest.raises(MailError, match="en cours"), run_lock(tmp_path):
        pass
    with run_lock(tmp_path):
        pass  # free again


def test_an_unreadable_store_is_a_mail_error(tmp_path: Path) -> None:
    path = tmp_path / "alerts.sqlite"
    path.write_bytes(b"ceci n'est pas une base SQLite" * 100)
    with pytest.raises(MailError, match="registre des relances illisible"):
        AlertStore(path)
