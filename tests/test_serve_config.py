"""The [schedule] and [logging] sections: defaults, accepted forms, and errors that name the key."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest
from conftest import make_good_workbook

from qep_sync.config import Config, LogSettings, Schedule, parse_config
from qep_sync.errors import ConfigError


def parse(tmp_path: Path, text: str) -> Config:
    make_good_workbook(tmp_path / "BAS.xlsx")
    raw = tomllib.loads(text + '\n[[sources]]\nservice = "BAS"\nxlsx = "BAS.xlsx"\n')
    return parse_config(raw, tmp_path, tmp_path / "qep-sync.toml")


def test_without_the_sections_the_defaults_apply(tmp_path: Path) -> None:
    config = parse(tmp_path, "")
    assert config.schedule == Schedule()
    assert config.schedule.office_hours == (dt.time(8, 0), dt.time(19, 0))
    assert config.schedule.alerts_at == dt.time(8, 30)
    assert (config.schedule.sync_every_minutes, config.schedule.failure_alert_after) == (30, 3)
    assert config.logging == LogSettings()


def test_every_key_is_read(tmp_path: Path) -> None:
    config = parse(tmp_path, """
[schedule]
sync_every_minutes = 15
office_hours = ["07:30", 18:00:00]
working_days_only = false
alerts = false
alerts_at = 07:45:00
run_at_start = false
failure_alert_after = 0

[logging]
format = "json"
file = "journaux/qep-sync.log"
level = "debug"
max_megabytes = 2
backup_count = 9
""")  # fmt: skip
    assert config.schedule == Schedule(
        sync_every_minutes=15, office_hours=(dt.time(7, 30), dt.time(18, 0)),
        working_days_only=False, alerts=False, alerts_at=dt.time(7, 45), run_at_start=False,
        failure_alert_after=0,
    )  # fmt: skip
    assert config.logging == LogSettings(
        format="json", file=tmp_path / "journaux" / "qep-sync.log", level="DEBUG",
        max_megabytes=2, backup_count=9,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[schedule]\nsync_every_minutes = 0", "schedule.sync_every_minutes : entre 1 et 1440 minutes, 0 trouvé"),
        ("[schedule]\nsync_every_minutes = 1.5", "schedule.sync_every_minutes : doit être un nombre entier"),
        ('[schedule]\noffice_hours = ["19:00", "08:00"]', "schedule.office_hours : la fin (08:00) doit suivre le début (19:00)"),
        ('[schedule]\noffice_hours = "08:00-19:00"', "schedule.office_hours : début et fin attendus"),
        ('[schedule]\noffice_hours = ["8h", "19:00"]', "schedule.office_hours[1] : heure attendue sous la forme HH:MM"),
        ('[schedule]\nalerts_at = "25:00"', "schedule.alerts_at : heure attendue sous la forme HH:MM"),
        ("[schedule]\nalerts = 1", "schedule.alerts : doit être vrai ou faux"),
        ("[schedule]\nfailure_alert_after = -1", "schedule.failure_alert_after : doit être positif ou nul"),
        ("[schedule]\nevery = 5", "schedule.every : clé inconnue"),
        ('[logging]\nformat = "xml"', "logging.format : « xml » : text ou json attendu"),
        ('[logging]\nlevel = "bavard"', "logging.level : « BAVARD » : DEBUG, INFO, WARNING, ERROR attendu"),
        ("[logging]\nmax_megabytes = 0", "logging.max_megabytes : au moins 1 (mégaoctet)"),
        ('schedule = "30 min"', "schedule : doit être une section [schedule]"),
    ],
)  # fmt: skip
def test_a_wrong_value_names_its_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(tmp_path, text)
    assert str(caught.value).startswith(message)
