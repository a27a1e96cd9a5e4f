"""Typed values read out of a parsed TOML table, for the config: each problem is one
``ConfigError`` in French that names the key (``sources[2].xlsx``) and says what was expected.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
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
        raise ConfigError(f"doit être {_TYPE_NAMES[kind]}, {found(value)} trouvé", f"{where}{key}")
    return value


def found(value: Any) -> str:
    """A TOML value as a person wrote it, for « … trouvé »: guillemets, never quotes inside
    them (« 15 »); a text says so, since its quotes are the mistake (le texte « 15 »)."""
    if isinstance(value, str):
        return f"le texte « {value} »"
    if isinstance(value, bool):
        return f"« {'true' if value else 'false'} »"
    if isinstance(value, list):
        return "une liste"
    if isinstance(value, dict):
        return "une table"
    return f"« {_number(value) if isinstance(value, int | float) else value} »"


@dataclass(frozen=True)
class Limits:
    """The values a number may take, inclusive, and how to say it (« entre 1 et 365 jours »).

    A value out of range is refused at load rather than left to break a run (a delay of
    10⁸ days overflows a date; 3 000 closure days make each sync crawl).
    """

    low: float
    high: float
    unit: str = ""
    wording: str | None = None  # replaces « entre LOW et HIGH UNIT » where it reads better

    def check(self, value: float, key: str) -> None:
        if self.low <= value <= self.high:
            return
        if self.low == 0 and value < 0:
            raise ConfigError(
                f"doit être positif ou nul ({self.expected}), {_number(value)} trouvé", key
            )
        raise ConfigError(f"{self.expected}, {_number(value)} trouvé", key)

    @property
    def expected(self) -> str:
        if self.wording is not None:
            return self.wording
        unit = f" {self.unit}" if self.unit else ""
        return f"entre {_number(self.low)} et {_number(self.high)}{unit}"


def _number(value: float) -> str:
    """A number as a French reader writes it: 3650, 0,5 (never 1e+09)."""
    if float(value).is_integer():
        return str(int(value))
    return str(value).replace(".", ",")


def bounded(table: dict[str, Any], key: str, where: str, default: int, limits: Limits) -> int:
    """A whole number within ``limits``."""
    value = typed(table, key, int, where, default)
    limits.check(value, f"{where}{key}")
    return int(value)


def seconds(table: dict[str, Any], key: str, where: str, default: float, limits: Limits) -> float:
    """A number of seconds (decimals allowed) within ``limits``."""
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"nombre de secondes attendu, {found(value)} trouvé", f"{where}{key}")
    limits.check(value, f"{where}{key}")
    return float(value)


def path_value(base: Path, table: dict[str, Any], key: str, where: str, default: str) -> Path:
    value = typed(table, key, str, where, default)
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def dates(table: dict[str, Any], key: str, where: str, most: int) -> tuple[dt.date, ...]:
    """A list of at most ``most`` dates (TOML dates or AAAA-MM-JJ texts)."""
    values = typed(table, key, list, where, [])
    if len(values) > most:
        raise ConfigError(
            f"{most} dates au plus, {len(values)} trouvées : ne gardez que celles de l'année "
            "en cours et de la suivante",
            f"{where}{key}",
        )
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


_DISPLAY_ROOT = re.compile(r"^(?:\\\\[^\\/]+[\\/][^\\/]+|//[^\\/]+/[^\\/]+|[A-Za-z]:(?:[\\/]|$)|/)")


def display_root(table: dict[str, Any], key: str, where: str) -> str | None:
    """The workspace folder as agents reach it: a share (``\\\\srv\\qualite``), a drive
    (``S:\\Qualité``) or an absolute POSIX path; trailing separators dropped."""
    value = typed(table, key, str, where)
    if value is None:
        return None
    text = value.strip()
    if not text:
        raise ConfigError(
            "chemin vide : indiquez le dossier de l'espace de travail tel que les agents "
            "l'ouvrent (par exemple \\\\srv-pref\\qualite ou S:\\Qualité), ou retirez la clé",
            f"{where}{key}",
        )
    if not _DISPLAY_ROOT.match(text):
        raise ConfigError(
            f"« {text} » n'est pas un chemin complet : indiquez un partage "
            "(\\\\srv-pref\\qualite), un lecteur (S:\\Qualité) ou un chemin commençant par /",
            f"{where}{key}",
        )
    stripped = text.rstrip("\\/")
    if not stripped:
        return "/"
    return stripped + "\\" if re.fullmatch(r"[A-Za-z]:", stripped) else stripped


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
        raise ConfigError(f"heure attendue sous la forme HH:MM (par exemple \"08:30\"), {f'« {value} »' if isinstance(value, str) else found(value)} trouvé", key)  # fmt: skip
    return dt.time(int(m.group(1)), int(m.group(2)))


_TOML_PLACE = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)\s*$")
# tomllib speaks English; these are the mistakes people make by hand, said in French.
_TOML_REASONS = (
    (r"Unescaped '\\' in a string", "barre oblique inverse dans un texte entre guillemets : "
     "écrivez un chemin Windows entre apostrophes ('\\\\serveur\\dossier\\fichier.xlsx')"),
    (r"Expected '\]' at the end of a table declaration", "crochet fermant « ] » manquant après le nom de la section"),
    (r"Expected '\]\]' at the end of an array declaration", "« ]] » manquant à la fin de la déclaration [[…]]"),
    (r"Cannot declare \(.*\) twice", "section déclarée deux fois"),
    (r"Cannot overwrite a value", "clé déjà définie plus haut"),
    (r"Duplicate inline table key '(?P<key>.*)'", "clé « <key> » répétée entre accolades"),
    (r"Expected '=' after a key in a key/value pair", "« = » attendu après le nom de la clé "
     "(une clé accentuée s'écrit entre guillemets : \"Réclamation\" = 15)"),
    (r"Invalid value", "valeur manquante ou illisible (un texte s'écrit entre guillemets)"),
    (r"Invalid statement|Invalid initial character for a key part",
     "ligne illisible (une clé accentuée s'écrit entre guillemets : \"Réclamation\" = 15)"),
    (r"Unclosed array", "liste non fermée : « ] » manquant"),
    (r"Unclosed inline table", "table non fermée : « } » manquant"),
    (r"Unterminated string|Illegal character '\\n'", "texte non fermé : guillemet manquant"),
    (r"Invalid date or datetime", "date invalide (AAAA-MM-JJ)"),
    (r"Expected newline or end of document after a statement",
     "fin de ligne attendue (une seule clé par ligne ; une date s'écrit AAAA-MM-JJ)"),
    (r"Illegal character .*", "caractère invisible interdit dans un texte (tabulation ou "
     "caractère de contrôle copié d'ailleurs) : retirez-le"),
    (r"Found invalid character .*", "caractère inattendu à cet endroit"),
    (r"Expected .*", "signe attendu manquant (guillemet, crochet ou accolade fermant ?)"),
    (r"Cannot mutate immutable namespace .*|Cannot redefine namespace .*",
     "section ou clé déjà définie plus haut"),
    (r"Escaped character is not a Unicode scalar value|Invalid hex value",
     "code \\u ou \\U mal écrit dans un texte (écrivez un chemin Windows entre apostrophes)"),
)  # fmt: skip


def toml_error(name: str, exc: ValueError) -> ConfigError:
    """A TOML syntax error in French, with its line and column."""
    text = str(exc)
    place = _TOML_PLACE.search(text)
    reason = text[: place.start()] if place else text
    where = ""
    if place and place.group(1):
        where = f" à la ligne {place.group(1)}, colonne {place.group(2)}"
    elif place:
        where = " à la fin du fichier"
    for pattern, french in _TOML_REASONS:
        m = re.fullmatch(pattern, reason)
        if m:
            # str.replace, not a regex template: the French texts hold backslashes and braces
            reason = french.replace("<key>", m.groupdict().get("key") or "")
            break
    else:
        reason = f"détail technique : {reason}"
    return ConfigError(f"{name} : syntaxe TOML invalide{where} : {reason}")
