"""The workspace configuration (``qep-sync.toml``), checked on load.

Every problem is one ``ConfigError`` in French that names the key (``sources[2].xlsx``).
Secrets never live here: the config only names the environment variable that holds them.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qep_sync.errors import ConfigError
from qep_sync.toml_values import (
    address,
    check_keys,
    clock_time,
    dates,
    env_name,
    path_value,
    positive,
    typed,
)
from qep_sync.vocabulary import TRACKERS

CONFIG_NAME = "qep-sync.toml"
CONSOLIDATED_NAME = "Consolidation qualité.xlsx"
STATE_DIR = Path(".qep-sync")  # beside the config: the alerts sent, the journal, the locks
DEFAULT_DELAIS = {"Courriel": 5, "Courrier": 15, "Réclamation": 15, "Suggestion": 15}
_SERVICE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")


@dataclass(frozen=True)
class Source:
    """A service's workbook (an .xlsx path or a Google Sheets key) and how to read it."""

    service: str
    name: str
    xlsx: Path | None = None
    sheets: dict[str, str] = field(default_factory=dict)
    gsheet: str | None = None  # spreadsheet key

    @property
    def label(self) -> str:
        if self.xlsx is not None:
            return self.xlsx.name
        return f"Google Sheets {self.gsheet}"

    @property
    def url(self) -> str | None:
        """A Google Sheet's address in a browser (None for a file)."""
        if self.gsheet is None:
            return None
        return f"https://docs.google.com/spreadsheets/d/{self.gsheet}/edit"


@dataclass(frozen=True)
class Google:
    """How to reach Google Sheets: credentials by environment variable, limits, base URL."""

    credentials_env: str = "QEP_GOOGLE_CREDENTIALS"  # holds the PATH of the key file
    api_base: str = "https://sheets.googleapis.com"
    timeout_seconds: float = 30.0
    max_retries: int = 4
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 32.0


@dataclass(frozen=True)
class Rules:
    """The thresholds of docs/contract.md §3, with their defaults."""

    echeance_proche_jours: int = 15
    document_alerte_jours: int = 60
    formation_delai_mois: int = 6
    autoevaluation_periodicite_mois: int = 6
    delai_reponse_jours_ouvres: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_DELAIS))


@dataclass(frozen=True)
class Calendar:
    """Days that differ from the French public calendar for this prefecture."""

    closure_days: tuple[dt.date, ...] = ()
    worked_holidays: tuple[dt.date, ...] = ()


@dataclass(frozen=True)
class Smtp:
    """The mail server of ``qep-sync alerts``; the password is read from ``password_env``."""

    host: str
    port: int = 587
    security: str = "starttls"
    user: str | None = None
    password_env: str | None = None
    timeout: int = 30  # seconds, for every exchange with the server


@dataclass(frozen=True)
class Alerts:
    """What ``qep-sync alerts`` sends, to whom and how often (docs/configuration.md)."""

    sender: str = "qualite@prefecture.invalid"
    sender_name: str = "Mission qualité"
    quality_lead: str | None = None
    copy_quality_lead: bool = True
    reminder_days: tuple[int, ...] = (30, 7, 1)
    late_every_days: int = 7
    escalation_days: int = 15
    max_messages: int = 200
    send_on_non_working_days: bool = False
    outbox: Path = Path("outbox")


@dataclass(frozen=True)
class Schedule:
    """When ``qep-sync serve`` runs each job; times are Europe/Paris (docs/exploitation.md)."""

    sync_every_minutes: int = 30
    office_hours: tuple[dt.time, dt.time] = (dt.time(8, 0), dt.time(19, 0))  # [start, end)
    working_days_only: bool = True  # no sync on weekends, public holidays, closure days
    alerts: bool = True  # serve sends the reminders too
    alerts_at: dt.time = dt.time(8, 30)  # once a day
    run_at_start: bool = True  # a sync and the alerts as soon as serve starts
    failure_alert_after: int = 3  # failed runs in a row before the quality lead is told (0: never)


LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class LogSettings:
    """Where ``qep-sync serve`` logs: stderr always, and a rotating file when ``file`` is set."""

    format: str = "text"  # text (people) or json (log collectors: one object per line)
    file: Path | None = None
    level: str = "INFO"
    max_megabytes: int = 10  # size of one file before rotation
    backup_count: int = 5  # rotated files kept


@dataclass(frozen=True)
class Config:
    path: Path | None
    sources: tuple[Source, ...]
    rules: Rules = field(default_factory=Rules)
    calendar: Calendar = field(default_factory=Calendar)
    consolidated: Path | None = None  # None: no consolidated workbook (quick look at files)
    state_dir: Path = STATE_DIR
    schemas_dir: Path | None = None
    alerts: Alerts = field(default_factory=Alerts)
    smtp: Smtp | None = None
    google: Google = field(default_factory=Google)
    schedule: Schedule = field(default_factory=Schedule)
    logging: LogSettings = field(default_factory=LogSettings)


def _sources(raw: Any, base: Path) -> tuple[Source, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError("au moins une source [[sources]] est attendue", "sources")
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for i, table in enumerate(raw, start=1):
        where = f"sources[{i}]."
        if not isinstance(table, dict):
            raise ConfigError("doit être une table [[sources]]", f"sources[{i}]")
        check_keys(table, {"service", "name", "xlsx", "gsheet", "sheets"}, where)
        service = typed(table, "service", str, where)
        if not service:
            raise ConfigError(
                "le code du service est obligatoire (par exemple BRCIE)", f"{where}service"
            )
        if not _SERVICE_CODE.match(service):
            raise ConfigError(
                f"code de service invalide « {service} » (lettres, chiffres, . _ -)",
                f"{where}service",
            )
        if service in seen:
            raise ConfigError(f"code déjà utilisé par sources[{seen[service]}]", f"{where}service")
        seen[service] = i
        name = typed(table, "name", str, where, service)
        if ("xlsx" in table) == ("gsheet" in table):
            raise ConfigError(
                "indiquez soit xlsx (chemin du classeur), soit gsheet (clé ou adresse de la "
                "feuille Google), l'un des deux exactement",
                f"{where}xlsx",
            )
        xlsx = gsheet = None
        if "xlsx" in table:
            xlsx = path_value(base, table, "xlsx", where, "")
            if not xlsx.is_file():
                raise ConfigError(f"fichier introuvable : {xlsx}", f"{where}xlsx")
        else:
            gsheet = _gsheet_key(typed(table, "gsheet", str, where), f"{where}gsheet")
        sheets = typed(table, "sheets", dict, where, {})
        for sheet, tracker in sheets.items():
            if tracker not in TRACKERS:
                raise ConfigError(
                    f"suivi « {tracker} » inconnu (suivis possibles : {', '.join(TRACKERS)})",
                    f'{where}sheets."{sheet}"',
                )
        sources.append(
            Source(service=service, name=name, xlsx=xlsx, sheets=dict(sheets), gsheet=gsheet)
        )
    return tuple(sources)


_SHEET_URL = re.compile(r"/spreadsheets/d/([A-Za-z0-9_\-]+)")
_SHEET_KEY = re.compile(r"^[A-Za-z0-9_\-]{20,}$")


def _gsheet_key(value: str, key: str) -> str:
    """The spreadsheet key, from the key itself or the sheet's address in a browser."""
    value = value.strip()
    m = _SHEET_URL.search(value)
    found = m.group(1) if m else value
    if not _SHEET_KEY.match(found):
        raise ConfigError(
            f"« {value} » n'est ni une clé de feuille Google ni son adresse "
            "(https://docs.google.com/spreadsheets/d/CLÉ/edit)",
            key,
        )
    return found


def _google(raw: dict[str, Any]) -> Google:
    where = "google."
    d = Google()
    check_keys(raw, {"credentials_env", "api_base", "timeout_seconds", "max_retries",
                      "backoff_seconds", "max_backoff_seconds"}, where)  # fmt: skip
    if "credentials" in raw or "private_key" in raw:
        raise ConfigError("aucune clé ici : indiquez le nom de la variable d'environnement", where)
    base = typed(raw, "api_base", str, where, d.api_base).rstrip("/")
    if not re.match(r"^https?://[^\s/]+", base):
        raise ConfigError(f"adresse attendue (https://…), « {base} » trouvé", f"{where}api_base")

    def seconds(name: str, default: float) -> float:
        value = raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"nombre de secondes positif attendu, « {value!r} » trouvé",
                              f"{where}{name}")  # fmt: skip
        return float(value)

    return Google(
        credentials_env=env_name(raw, "credentials_env", where) or d.credentials_env,
        api_base=base,
        timeout_seconds=seconds("timeout_seconds", d.timeout_seconds),
        max_retries=positive(raw, "max_retries", where, d.max_retries),
        backoff_seconds=seconds("backoff_seconds", d.backoff_seconds),
        max_backoff_seconds=seconds("max_backoff_seconds", d.max_backoff_seconds),
    )


def _rules(raw: dict[str, Any]) -> Rules:
    where = "rules."
    defaults = Rules()
    check_keys(
        raw,
        {
            "echeance_proche_jours",
            "document_alerte_jours",
            "formation_delai_mois",
            "autoevaluation_periodicite_mois",
            "delai_reponse_jours_ouvres",
        },
        where,
    )
    delais = dict(DEFAULT_DELAIS)
    table = typed(raw, "delai_reponse_jours_ouvres", dict, where, {})
    check_keys(table, set(DEFAULT_DELAIS), f"{where}delai_reponse_jours_ouvres.")
    for canal in table:
        delais[canal] = positive(table, canal, f"{where}delai_reponse_jours_ouvres.", 0)
    return Rules(
        echeance_proche_jours=positive(
            raw, "echeance_proche_jours", where, defaults.echeance_proche_jours
        ),
        document_alerte_jours=positive(
            raw, "document_alerte_jours", where, defaults.document_alerte_jours
        ),
        formation_delai_mois=positive(
            raw, "formation_delai_mois", where, defaults.formation_delai_mois
        ),
        autoevaluation_periodicite_mois=positive(
            raw, "autoevaluation_periodicite_mois", where, defaults.autoevaluation_periodicite_mois
        ),
        delai_reponse_jours_ouvres=delais,
    )


def _alerts(raw: dict[str, Any], base: Path) -> Alerts:
    where = "alerts."
    d = Alerts()
    check_keys(
        raw,
        {
            "sender",
            "sender_name",
            "quality_lead",
            "copy_quality_lead",
            "reminder_days",
            "late_every_days",
            "escalation_days",
            "max_messages",
            "send_on_non_working_days",
            "outbox",
        },
        where,
    )
    reminder = typed(raw, "reminder_days", list, where, list(d.reminder_days))
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in reminder):
        raise ConfigError(
            "liste de nombres de jours attendue, par exemple [30, 7, 1]", f"{where}reminder_days"
        )
    return Alerts(
        sender=address(raw, "sender", where, d.sender) or d.sender,
        sender_name=typed(raw, "sender_name", str, where, d.sender_name),
        quality_lead=address(raw, "quality_lead", where, None),
        copy_quality_lead=typed(raw, "copy_quality_lead", bool, where, d.copy_quality_lead),
        reminder_days=tuple(sorted(set(reminder), reverse=True)),
        late_every_days=positive(raw, "late_every_days", where, d.late_every_days),
        escalation_days=positive(raw, "escalation_days", where, d.escalation_days),
        max_messages=positive(raw, "max_messages", where, d.max_messages),
        send_on_non_working_days=typed(
            raw, "send_on_non_working_days", bool, where, d.send_on_non_working_days
        ),
        outbox=path_value(base, raw, "outbox", where, str(d.outbox)),
    )


def _smtp(raw: dict[str, Any]) -> Smtp:
    where = "smtp."
    if "password" in raw:
        raise ConfigError(
            "aucun mot de passe dans ce fichier : mettez-le dans une variable d'environnement "
            "et indiquez son nom dans smtp.password_env",
            f"{where}password",
        )
    check_keys(raw, {"host", "port", "security", "user", "password_env", "timeout"}, where)
    host = typed(raw, "host", str, where)
    if not host:
        raise ConfigError("nom du serveur SMTP manquant", f"{where}host")
    d = Smtp(host="")  # for its defaults only
    security = typed(raw, "security", str, where, d.security)
    if security not in {"starttls", "tls", "none"}:
        raise ConfigError(f"« {security} » : starttls, tls ou none attendu", f"{where}security")
    return Smtp(
        host=host,
        port=positive(raw, "port", where, d.port),
        security=security,
        user=typed(raw, "user", str, where),
        password_env=env_name(raw, "password_env", where),
        timeout=max(1, positive(raw, "timeout", where, d.timeout)),
    )


def _schedule(raw: dict[str, Any]) -> Schedule:
    where = "schedule."
    d = Schedule()
    check_keys(raw, {"sync_every_minutes", "office_hours", "working_days_only", "alerts",
                      "alerts_at", "run_at_start", "failure_alert_after"}, where)  # fmt: skip
    every = positive(raw, "sync_every_minutes", where, d.sync_every_minutes)
    if not 1 <= every <= 24 * 60:
        raise ConfigError(f"entre 1 et 1440 minutes, {every} trouvé", f"{where}sync_every_minutes")
    hours = d.office_hours
    if "office_hours" in raw:
        value = raw["office_hours"]
        if not isinstance(value, list) or len(value) != 2:
            raise ConfigError(
                'début et fin attendus, par exemple ["08:00", "19:00"]', f"{where}office_hours"
            )
        start = clock_time(value[0], f"{where}office_hours[1]")
        end = clock_time(value[1], f"{where}office_hours[2]")
        if end <= start:
            raise ConfigError(
                f"la fin ({end:%H:%M}) doit suivre le début ({start:%H:%M})", f"{where}office_hours"
            )
        hours = (start, end)
    return Schedule(
        sync_every_minutes=every,
        office_hours=hours,
        working_days_only=typed(raw, "working_days_only", bool, where, d.working_days_only),
        alerts=typed(raw, "alerts", bool, where, d.alerts),
        alerts_at=(
            clock_time(raw["alerts_at"], f"{where}alerts_at") if "alerts_at" in raw else d.alerts_at
        ),
        run_at_start=typed(raw, "run_at_start", bool, where, d.run_at_start),
        failure_alert_after=positive(raw, "failure_alert_after", where, d.failure_alert_after),
    )


def _logging(raw: dict[str, Any], base: Path) -> LogSettings:
    where = "logging."
    d = LogSettings()
    check_keys(raw, {"format", "file", "level", "max_megabytes", "backup_count"}, where)
    fmt = typed(raw, "format", str, where, d.format)
    if fmt not in LOG_FORMATS:
        raise ConfigError(f"« {fmt} » : text ou json attendu", f"{where}format")
    level = typed(raw, "level", str, where, d.level).upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"« {level} » : {', '.join(LOG_LEVELS)} attendu", f"{where}level")
    size = positive(raw, "max_megabytes", where, d.max_megabytes)
    if size < 1:
        raise ConfigError("au moins 1 (mégaoctet)", f"{where}max_megabytes")
    return LogSettings(
        format=fmt,
        file=path_value(base, raw, "file", where, "") if "file" in raw else None,
        level=level,
        max_megabytes=size,
        backup_count=positive(raw, "backup_count", where, d.backup_count),
    )


def parse_config(raw: dict[str, Any], base: Path, path: Path | None = None) -> Config:
    """Check a parsed TOML document; paths are relative to ``base`` (the config's folder)."""
    sections = ("workspace", "rules", "calendar", "alerts", "smtp", "google", "schedule", "logging")
    check_keys(raw, {"sources", *sections}, "")
    for section in sections:
        if section in raw and not isinstance(raw[section], dict):
            raise ConfigError("doit être une section [" + section + "]", section)
    workspace = raw.get("workspace", {})
    check_keys(workspace, {"state_dir", "schemas_dir", "consolidated"}, "workspace.")
    schemas_dir = None
    if "schemas_dir" in workspace:
        schemas_dir = path_value(base, workspace, "schemas_dir", "workspace.", "")
        if not schemas_dir.is_dir():
            raise ConfigError(f"dossier introuvable : {schemas_dir}", "workspace.schemas_dir")
    calendar = raw.get("calendar", {})
    check_keys(calendar, {"closure_days", "worked_holidays"}, "calendar.")
    return Config(
        path=path,
        sources=_sources(raw.get("sources"), base),
        rules=_rules(raw.get("rules", {})),
        calendar=Calendar(
            closure_days=dates(calendar, "closure_days", "calendar."),
            worked_holidays=dates(calendar, "worked_holidays", "calendar."),
        ),
        consolidated=path_value(base, workspace, "consolidated", "workspace.", CONSOLIDATED_NAME),
        state_dir=path_value(base, workspace, "state_dir", "workspace.", str(STATE_DIR)),
        schemas_dir=schemas_dir,
        alerts=_alerts(raw.get("alerts", {}), base),
        smtp=_smtp(raw["smtp"]) if "smtp" in raw else None,
        google=_google(raw.get("google", {})),
        schedule=_schedule(raw.get("schedule", {})),
        logging=_logging(raw.get("logging", {}), base),
    )


def load_config(path: Path) -> Config:
    """Read and check a config file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"fichier de configuration introuvable : {path} "
            "(créez-en un avec « qep-sync init DOSSIER » ou indiquez-le avec -c)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"lecture impossible de {path} : {exc}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name} : syntaxe TOML invalide ({exc})") from None
    return parse_config(raw, path.resolve().parent, path)


def config_for_files(paths: list[Path]) -> Config:
    """A throwaway config for ``qep-sync check a.xlsx b.xlsx``: default rules, service from the name."""
    sources = []
    used: set[str] = set()
    for path in paths:
        ascii_stem = unicodedata.normalize("NFKD", path.stem).encode("ascii", "ignore").decode()
        code = re.sub(r"[^A-Za-z0-9_.\-]+", "-", ascii_stem).strip("-.")[:40] or "classeur"
        base, n = code, 2
        while code in used:
            code, n = f"{base}-{n}", n + 1
        used.add(code)
        sources.append(Source(service=code, name=path.stem, xlsx=path))
    return Config(path=None, sources=tuple(sources))
