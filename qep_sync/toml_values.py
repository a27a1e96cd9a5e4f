"""Typed values read out of a parsed TOML table, for the config: each problem is one
``ConfigError`` in French that names the key (``sources[2].xlsx``) and says what was expected.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from qep_sync.errors import ConfigError
from qep_sync.text import is_email

_TYPE_NAMES = {
    int: "un nombre entier",
    str: "un texte",
    bool: "vrai ou faux (true/false)",
    list: "une liste",
    dict: "une table",
}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            choices = ", ".join(sorted(allowed))
            raise ConfigError(f"clé inconnue (clés possibles : {choices})", f"{where}{key}")


def typed(table: dict[str, Any], key: str, kind: type, where: str, default: Any = None) -> Any:
    if key not in table:
        return default
    value = table[key]
    if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
        raise ConfigError(f"doit être {_TYPE_NAMES[kind]}, « {value!r} » trouvé", f"{where}{key}")
    return value


def positive(table: dict[str, Any], key: str, where: str, default: int) -> int:
    value = typed(table, key, int, where, default)
    if value < 0:
        raise ConfigError(f"doit être positif ou nul, {value} trouvé", f"{where}{key}")
    return int(value)


def path_value(base: Path, table: dict[str, Any], key: str, where: str, default: str) -> Path:
    value = typed(table, key, str, where, default)
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def dates(table: dict[str, Any], key: str, where: str) -> tuple[dt.date, ...]:
    values = typed(table, key, list, where, [])
    days = []
    for i, value in enumerate(values):
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            days.append(value)
            continue
        try:
            days.append(dt.date.fromisoformat(str(value)))
        except ValueError:
            raise ConfigError(
                f"date attendue sous la forme AAAA-MM-JJ, « {value} » trouvé", f"{where}{key}[{i}]"
            ) from None
    return tuple(days)


def env_name(table: dict[str, Any], key: str, where: str) -> str | None:
    value = typed(table, key, str, where)
    if value is not None and not _ENV_NAME.match(value):
        raise ConfigError(
            f"nom de variable d'environnement attendu (par exemple QEP_SMTP_PASSWORD), « {value} » trouvé",
            f"{where}{key}",
        )
    return value


def address(table: dict[str, Any], key: str, where: str, default: str | None) -> str | None:
    value = typed(table, key, str, where, default)
    if value is not None and not is_email(value.strip()):
        raise ConfigError(
            f"adresse électronique invalide « {value} » (par exemple qualite@doubs.gouv.fr)",
            f"{where}{key}",
        )
    return None if value is None else value.strip()


_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def clock_time(value: Any, key: str) -> dt.time:
    """A time of day: "08:30" or a TOML time (08:30:00)."""
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0)
    m = _TIME.match(value.strip()) if isinstance(value, str) else None
    if m is None:
        raise ConfigError(f"heure attendue sous la forme HH:MM (par exemple \"08:30\"), « {value!r} » trouvé", key)  # fmt: skip
    return dt.time(int(m.group(1)), int(m.group(2)))
