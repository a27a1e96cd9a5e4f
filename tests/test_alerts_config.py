"""The configuration keys of the alerts: new ones, their defaults, and addresses checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from alerts_support import load, make_alerts_workspace

from qep_sync.errors import ConfigError


def test_sender_name_and_smtp_timeout_have_defaults_and_can_be_set(tmp_path: Path) -> None:
    default = load(make_alerts_workspace(tmp_path / "a", 2525))
    assert default.alerts.sender_name == "Mission qualité"
    assert default.smtp is not None and default.smtp.timeout == 30
    custom = load(make_alerts_workspace(tmp_path / "b", 2525, alerts='sender_name = "Qualité"',
                                        smtp="timeout = 5"))  # fmt: skip
    assert custom.alerts.sender_name == "Qualité"
    assert custom.smtp is not None and custom.smtp.timeout == 5


@pytest.mark.parametrize("key", ["sender", "quality_lead"])
def test_an_invalid_configured_address_is_a_config_error_naming_the_key(
    tmp_path: Path, key: str
) -> None:
    path = make_alerts_workspace(tmp_path, None, lead=None, alerts="")
    text = path.read_text(encoding="utf-8")
    if key == "sender":
        text = text.replace('sender = "prefqualite@doubs.gouv.fr"', 'sender = "qualite@"')
    else:
        text = text.replace("[alerts]", '[alerts]\nquality_lead = "claire faivre"')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="adresse électronique invalide") as error:
        load(path)
    assert error.value.key == f"alerts.{key}"
