"""The workspace configuration (``qep-sync.toml``), checked on load.

Every problem is one ``ConfigError`` in French that names the key (``sources[2].xlsx``).
Secrets never live here: the config only names the environment variable that holds them.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import tomllib
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from qep_sync.errors import ConfigError
from qep_sync.text import fold
from qep_sync.toml_values import (
    Limits,
    address,
    bounded,
    check_keys,
    clock_time,
    dates,
    display_root,
    env_name,
    found,
    path_value,
    seconds,
    toml_error,
    typed,
)
from qep_sync.vocabulary import TRACKERS

CONFIG_NAME = "qep-sync.toml"
CONSOLIDATED_NAME = "Consolidation qualité.xlsx"
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".ods")  # the files a source may be
STATE_DIR = Path(".qep-sync")  # beside the config: the alerts sent, the journal, the locks
DEFAULT_DELAIS = {"Courriel": 5, "Courrier": 15, "Réclamation": 15, "Suggestion": 15}
_SERVICE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")

# The limits of every number (docs/configuration.md): beyond them a value breaks a run (a date
# overflows, a sync crawls, a socket call fails) instead of meaning something.
DAYS = Limits(0, 3650, "jours")  # thresholds before a deadline: up to ten years
MONTHS = Limits(0, 120, "mois")
PERIOD_MONTHS = Limits(1, 120, "mois")  # a periodicity of 0 months would make everything due
REPLY_DAYS = Limits(1, 365, "jours ouvrés")  # a target of 0 days is no target
INACTIVE_DAYS = Limits(1, 3650, "jours")  # a source no person changed for longer is flagged
MAX_COPIL_DATES = 100
MAX_CALENDAR_DAYS = 366  # per list: one year of closures, one of worked holidays
REMINDER_DAYS = Limits(0, 365, "jours")
MAX_REMINDERS = 10
REPEAT_DAYS = Limits(0, 365, "jours")
MESSAGES = Limits(1, 10_000, "courriels")
PORT = Limits(1, 65_535)
TIMEOUT = Limits(1, 600, "secondes")
REQUEST_TIMEOUT = Limits(0.1, 600, "secondes")  # decimals: a test server answers fast
RETRIES = Limits(0, 20, "tentatives")
BACKOFF = Limits(0.01, 600, "secondes")
MAX_BACKOFF = Limits(0.01, 3600, "secondes")
SYNC_MINUTES = Limits(1, 24 * 60, "minutes")
FAILURES = Limits(0, 100, "échecs")
LOG_MEGABYTES = Limits(1, 1024, wording="au moins 1 (mégaoctet) et au plus 1024")
LOG_BACKUPS = Limits(0, 100, "fichiers")


@dataclass(frozen=True)
class Source:
    """A service's workbook (an .xlsx/.xlsm/.ods file or a Google Sheets key) and how to read it."""

    service: str
    name: str
    path: Path | None = None  # a workbook file: its suffix names the backend
    sheets: dict[str, str] = field(default_factory=dict)
    gsheet: str | None = None  # spreadsheet key
    # A workbook of the quality mission for the whole prefecture: no service of its own, each
    # row counts under the service its Service (or Service pilote) cell names.
    central: bool = False
    # The config key that named the file, for messages: ``path``, or its older name ``xlsx``.
    key: str = field(default="path", compare=False, repr=False)

    @property
    def label(self) -> str:
        if self.path is not None:
            return self.path.name
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
    source_inactive_jours: int = 30  # a source no person changed for longer is flagged


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


# PILOTE, the State's steering tool (qep-sync export pilote): the patterns of its import
# schema (Table Schema « Indicateur Pilote »): an indicator is IND- and its number, a zone a
# département (D25, D2A, D971), a région (R27) or the whole country.
PILOTE_INDICATOR = re.compile(r"^IND-[0-9]{3,4}$")
PILOTE_ZONE = re.compile(
    r"^(D([02][1-9]|2[AB]|[1345678][0-9]|9[012345]|97[12346])"
    r"|R(0[12346]|11|2[478]|32|44|5[23]|7[56]|84|9[34])|FRANCE)$"
)
PILOTE_VALUE_TYPES = ("va", "vi", "vc")  # valeur actuelle, initiale, cible
MAX_PILOTE_INDICATORS = 1000


@dataclass(frozen=True)
class PiloteIndicator:
    """A tracker indicator (its name as written in the Indicateur column) and its PILOTE id."""

    name: str
    identifiant: str
    type_valeur: str = "va"


@dataclass(frozen=True)
class Pilote:
    """The [pilote] section: the zone of the prefecture and the indicators PILOTE receives."""

    zone: str
    indicators: tuple[PiloteIndicator, ...] = ()

    def indicator(self, name: object) -> PiloteIndicator | None:
        """The mapping of a tracker's indicator name (case, accents and spaces ignored)."""
        key = fold(name)
        return next((i for i in self.indicators if fold(i.name) == key), None)


@dataclass(frozen=True)
class Config:
    path: Path | None
    sources: tuple[Source, ...]
    rules: Rules = field(default_factory=Rules)
    calendar: Calendar = field(default_factory=Calendar)
    consolidated: Path | None = None  # None: no consolidated workbook (quick look at files)
    state_dir: Path = STATE_DIR
    schemas_dir: Path | None = None
    # The workspace folder as agents reach it (``\\srv-pref\qualite``, ``S:\Qualité``): paths
    # shown to a person start with it instead of the server's folder (qep_sync.places).
    display_root: str | None = None
    alerts: Alerts = field(default_factory=Alerts)
    smtp: Smtp | None = None
    google: Google = field(default_factory=Google)
    schedule: Schedule = field(default_factory=Schedule)
    logging: LogSettings = field(default_factory=LogSettings)
    copil_dates: tuple[dt.date, ...] = ()  # [copil] dates: the Synthèse compares with the last
    pilote: Pilote | None = None  # [pilote]: qep-sync export pilote
    prefecture: str | None = None  # workspace.prefecture: the title of the bilan and audit pack
    # workspace.extend_autofilter: a sheet's autofilter over a tracker grows over its owned columns
    extend_autofilter: bool = True


def _sources(raw: Any, base: Path) -> tuple[Source, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError("au moins une source [[sources]] est attendue", "sources")
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for i, table in enumerate(raw, start=1):
        where = f"sources[{i}]."
        if not isinstance(table, dict):
            raise ConfigError("doit être une table [[sources]]", f"sources[{i}]")
        check_keys(table, {"service", "name", "path", "xlsx", "gsheet", "sheets", "central"}, where)
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
        given = [k for k in ("path", "xlsx", "gsheet") if k in table]
        if len(given) != 1:
            raise ConfigError(
                "indiquez soit path (chemin du classeur .xlsx, .xlsm ou .ods), soit gsheet "
                "(clé ou adresse de la feuille Google), l'un des deux exactement",
                f"{where}{given[1] if len(given) > 1 else 'path'}",
            )
        path = gsheet = None
        if given[0] == "gsheet":
            gsheet = _gsheet_key(typed(table, "gsheet", str, where), f"{where}gsheet")
        else:  # ``xlsx`` is the older name of ``path``, still read
            path = path_value(base, table, given[0], where, "")
            _workbook_file(path, f"{where}{given[0]}")
        sheets = typed(table, "sheets", dict, where, {})
        for sheet, tracker in sheets.items():
            if tracker not in TRACKERS:
                raise ConfigError(
                    f"suivi « {tracker} » inconnu (suivis possibles : {', '.join(TRACKERS)})",
                    f'{where}sheets."{sheet}"',
                )
        sources.append(
            Source(
                service=service,
                name=name,
                path=path,
                sheets=dict(sheets),
                gsheet=gsheet,
                central=typed(table, "central", bool, where, False),
                key=given[0],
            )
        )
    _no_twice(sources)
    return tuple(sources)


def _workbook_file(path: Path, key: str) -> None:
    """Refuse a source path that no backend reads, or that exists and is no regular file.

    A missing file is not refused here: it is a failed source at each run (a share may be
    unreachable for a while, docs/contract.md §6). A folder or a pipe is a mistake in the
    config that no run can get past, and a pipe would hang the reader.
    """
    try:
        mode = path.stat().st_mode
    except OSError:
        mode = None  # missing or unreachable: the reader says so for this source only
    if mode is not None and stat.S_ISDIR(mode):
        raise ConfigError(f"{path} est un dossier : indiquez le chemin du classeur", key)
    if path.suffix.lower() not in WORKBOOK_SUFFIXES:
        raise ConfigError(
            f"{path.name} : classeur .xlsx, .xlsm ou .ods attendu "
            "(pour un autre format, enregistrez-le d'abord sous l'un de ceux-là)",
            key,
        )
    if mode is None:
        return
    if not stat.S_ISREG(mode):
        raise ConfigError(f"{path} n'est pas un fichier ordinaire (tube, périphérique…)", key)


def _no_twice(sources: list[Source]) -> None:
    """Refuse a workbook declared twice: the second would be skipped every run, counted twice."""
    seen: dict[object, tuple[int, Source]] = {}
    for i, source in enumerate(sources, start=1):
        field_name = source.key if source.path is not None else "gsheet"
        identity = (field_name, _resolved(source.path) if source.path else source.gsheet)
        if identity in seen:
            j, first = seen[identity]
            raise ConfigError(
                f"même classeur que sources[{j}].{field_name} ({first.service}) : "
                "déclarez chaque classeur une seule fois",
                f"sources[{i}].{field_name}",
            )
        seen[identity] = (i, source)


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:  # a loop of links, an unreachable share: compare it as written
        return Path(os.path.abspath(path))


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

    return Google(
        credentials_env=env_name(raw, "credentials_env", where) or d.credentials_env,
        api_base=base,
        timeout_seconds=seconds(raw, "timeout_seconds", where, d.timeout_seconds, REQUEST_TIMEOUT),
        max_retries=bounded(raw, "max_retries", where, d.max_retries, RETRIES),
        backoff_seconds=seconds(raw, "backoff_seconds", where, d.backoff_seconds, BACKOFF),
        max_backoff_seconds=seconds(
            raw, "max_backoff_seconds", where, d.max_backoff_seconds, MAX_BACKOFF
        ),
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
            "source_inactive_jours",
        },
        where,
    )
    delais = dict(DEFAULT_DELAIS)
    table = typed(raw, "delai_reponse_jours_ouvres", dict, where, {})
    check_keys(table, set(DEFAULT_DELAIS), f"{where}delai_reponse_jours_ouvres.")
    for canal in table:
        delais[canal] = bounded(table, canal, f"{where}delai_reponse_jours_ouvres.", 0, REPLY_DAYS)
    return Rules(
        echeance_proche_jours=bounded(
            raw, "echeance_proche_jours", where, defaults.echeance_proche_jours, DAYS
        ),
        document_alerte_jours=bounded(
            raw, "document_alerte_jours", where, defaults.document_alerte_jours, DAYS
        ),
        formation_delai_mois=bounded(
            raw, "formation_delai_mois", where, defaults.formation_delai_mois, MONTHS
        ),
        autoevaluation_periodicite_mois=bounded(
            raw,
            "autoevaluation_periodicite_mois",
            where,
            defaults.autoevaluation_periodicite_mois,
            PERIOD_MONTHS,
        ),
        delai_reponse_jours_ouvres=delais,
        source_inactive_jours=bounded(
            raw, "source_inactive_jours", where, defaults.source_inactive_jours, INACTIVE_DAYS
        ),
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
    reminder = _reminder_days(raw, where, d.reminder_days)
    return Alerts(
        sender=address(raw, "sender", where, d.sender) or d.sender,
        sender_name=typed(raw, "sender_name", str, where, d.sender_name),
        quality_lead=address(raw, "quality_lead", where, None),
        copy_quality_lead=typed(raw, "copy_quality_lead", bool, where, d.copy_quality_lead),
        reminder_days=reminder,
        late_every_days=bounded(raw, "late_every_days", where, d.late_every_days, REPEAT_DAYS),
        escalation_days=bounded(raw, "escalation_days", where, d.escalation_days, REPEAT_DAYS),
        max_messages=bounded(raw, "max_messages", where, d.max_messages, MESSAGES),
        send_on_non_working_days=typed(
            raw, "send_on_non_working_days", bool, where, d.send_on_non_working_days
        ),
        outbox=path_value(base, raw, "outbox", where, str(d.outbox)),
    )


def _reminder_days(raw: dict[str, Any], where: str, default: tuple[int, ...]) -> tuple[int, ...]:
    """The steps before a deadline, latest first, each within REMINDER_DAYS."""
    key = f"{where}reminder_days"
    reminder = typed(raw, "reminder_days", list, where, list(default))
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in reminder):
        raise ConfigError("liste de nombres de jours attendue, par exemple [30, 7, 1]", key)
    steps = tuple(sorted(set(reminder), reverse=True))
    if len(steps) > MAX_REMINDERS:
        raise ConfigError(f"{MAX_REMINDERS} paliers au plus, {len(steps)} trouvés", key)
    for n in steps:
        REMINDER_DAYS.check(n, key)
    return steps


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
        port=bounded(raw, "port", where, d.port, PORT),
        security=security,
        user=typed(raw, "user", str, where),
        password_env=env_name(raw, "password_env", where),
        timeout=bounded(raw, "timeout", where, d.timeout, TIMEOUT),
    )


def _schedule(raw: dict[str, Any]) -> Schedule:
    where = "schedule."
    d = Schedule()
    check_keys(raw, {"sync_every_minutes", "office_hours", "working_days_only", "alerts",
                      "alerts_at", "run_at_start", "failure_alert_after"}, where)  # fmt: skip
    every = bounded(raw, "sync_every_minutes", where, d.sync_every_minutes, SYNC_MINUTES)
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
        failure_alert_after=bounded(
            raw, "failure_alert_after", where, d.failure_alert_after, FAILURES
        ),
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
    return LogSettings(
        format=fmt,
        file=path_value(base, raw, "file", where, "") if "file" in raw else None,
        level=level,
        max_megabytes=bounded(raw, "max_megabytes", where, d.max_megabytes, LOG_MEGABYTES),
        backup_count=bounded(raw, "backup_count", where, d.backup_count, LOG_BACKUPS),
    )


def _pilote(raw: dict[str, Any]) -> Pilote:
    """[pilote]: ``zone`` (required) and ``[pilote.indicateurs."Nom"]`` tables, each with
    ``identifiant`` (IND-123) and ``type_valeur`` (va by default); docs/configuration.md."""
    where = "pilote."
    check_keys(raw, {"zone", "indicateurs"}, where)
    if "zone" not in raw:
        raise ConfigError(
            'zone PILOTE obligatoire : le département (par exemple "D25" pour le Doubs), '
            'la région ("R27") ou "FRANCE"',
            f"{where}zone",
        )
    zone = typed(raw, "zone", str, where).strip().upper()
    if not PILOTE_ZONE.match(zone):
        raise ConfigError(
            f"zone PILOTE invalide « {raw['zone']} » : D et le numéro du département sur deux "
            "chiffres (D25 pour le Doubs, D2A, D971), R et le code de la région (R27) ou FRANCE",
            f"{where}zone",
        )
    table = typed(raw, "indicateurs", dict, where, {})
    if len(table) > MAX_PILOTE_INDICATORS:
        raise ConfigError(
            f"{MAX_PILOTE_INDICATORS} indicateurs au plus, {len(table)} trouvés",
            f"{where}indicateurs",
        )
    indicators: list[PiloteIndicator] = []
    names: dict[str, str] = {}  # folded name -> as written
    ids: dict[str, str] = {}  # identifiant -> indicator name
    for name, entry in table.items():
        key = f'{where}indicateurs."{name}"'
        if not name.strip():
            raise ConfigError("nom d'indicateur vide : écrivez-le comme dans la colonne "
                              "Indicateur des tableaux", key)  # fmt: skip
        if fold(name) in names:
            raise ConfigError(f"même indicateur que « {names[fold(name)]} » (majuscules, accents "
                              "et espaces ne comptent pas) : déclarez-le une seule fois", key)  # fmt: skip
        names[fold(name)] = name
        if not isinstance(entry, dict):
            raise ConfigError(
                f'table attendue, {found(entry)} trouvé : par exemple {{ identifiant = "IND-101", '
                'type_valeur = "va" }',
                key,
            )
        check_keys(entry, {"identifiant", "type_valeur"}, f"{key}.")
        if "identifiant" not in entry:
            raise ConfigError('identifiant PILOTE obligatoire (par exemple "IND-101")',
                              f"{key}.identifiant")  # fmt: skip
        identifiant = typed(entry, "identifiant", str, f"{key}.").strip().upper()
        if not PILOTE_INDICATOR.match(identifiant):
            raise ConfigError(
                f"identifiant PILOTE invalide « {entry['identifiant']} » : IND- suivi de son "
                "numéro à 3 ou 4 chiffres (par exemple IND-101), tel que PILOTE le donne",
                f"{key}.identifiant",
            )
        if identifiant in ids:
            raise ConfigError(f"identifiant déjà donné à « {ids[identifiant]} » : PILOTE recevrait "
                              "deux valeurs pour le même indicateur", f"{key}.identifiant")  # fmt: skip
        ids[identifiant] = name
        kind = typed(entry, "type_valeur", str, f"{key}.", "va").strip().lower()
        if kind not in PILOTE_VALUE_TYPES:
            raise ConfigError(
                f"« {entry['type_valeur']} » : va (valeur actuelle), vi (valeur initiale) ou vc "
                "(valeur cible) attendu",
                f"{key}.type_valeur",
            )
        indicators.append(PiloteIndicator(name.strip(), identifiant, kind))
    return Pilote(zone=zone, indicators=tuple(indicators))


def parse_config(raw: dict[str, Any], base: Path, path: Path | None = None) -> Config:
    """Check a parsed TOML document; paths are relative to ``base`` (the config's folder)."""
    sections = ("workspace", "rules", "calendar", "alerts", "smtp", "google", "schedule", "logging",
                "copil", "pilote")  # fmt: skip
    check_keys(raw, {"sources", *sections}, "")
    for section in sections:
        if section in raw and not isinstance(raw[section], dict):
            raise ConfigError("doit être une section [" + section + "]", section)
    workspace = raw.get("workspace", {})
    check_keys(
        workspace,
        {
            "state_dir",
            "schemas_dir",
            "consolidated",
            "display_root",
            "prefecture",
            "extend_autofilter",
        },
        "workspace.",
    )
    schemas_dir = None
    if "schemas_dir" in workspace:
        schemas_dir = path_value(base, workspace, "schemas_dir", "workspace.", "")
        if not schemas_dir.is_dir():
            raise ConfigError(f"dossier introuvable : {schemas_dir}", "workspace.schemas_dir")
    calendar = raw.get("calendar", {})
    check_keys(calendar, {"closure_days", "worked_holidays"}, "calendar.")
    copil = raw.get("copil", {})
    check_keys(copil, {"dates"}, "copil.")
    config = Config(
        path=path,
        sources=_sources(raw.get("sources"), base),
        rules=_rules(raw.get("rules", {})),
        calendar=Calendar(
            closure_days=dates(calendar, "closure_days", "calendar.", MAX_CALENDAR_DAYS),
            worked_holidays=dates(calendar, "worked_holidays", "calendar.", MAX_CALENDAR_DAYS),
        ),
        consolidated=path_value(base, workspace, "consolidated", "workspace.", CONSOLIDATED_NAME),
        state_dir=path_value(base, workspace, "state_dir", "workspace.", str(STATE_DIR)),
        schemas_dir=schemas_dir,
        display_root=display_root(workspace, "display_root", "workspace."),
        alerts=_alerts(raw.get("alerts", {}), base),
        smtp=_smtp(raw["smtp"]) if "smtp" in raw else None,
        google=_google(raw.get("google", {})),
        schedule=_schedule(raw.get("schedule", {})),
        logging=_logging(raw.get("logging", {}), base),
        copil_dates=tuple(sorted(set(dates(copil, "dates", "copil.", MAX_COPIL_DATES)))),
        pilote=_pilote(raw["pilote"]) if "pilote" in raw else None,
        prefecture=_prefecture(workspace),
        extend_autofilter=typed(workspace, "extend_autofilter", bool, "workspace.", True),
    )
    written = {f"workspace.{k}" for k in workspace} | {f"alerts.{k}" for k in raw.get("alerts", {})}
    _outputs_spare_sources(config, written)
    return config


def _prefecture(workspace: dict[str, Any]) -> str | None:
    name = typed(workspace, "prefecture", str, "workspace.")
    if name is None:
        return None
    name = " ".join(name.split())
    if not name or len(name) > 120:
        raise ConfigError("le nom de la préfecture : 1 à 120 caractères", "workspace.prefecture")
    return name


def _outputs_spare_sources(config: Config, written: set[str]) -> None:
    """Refuse a file qep-sync writes that is one of the sources, or a folder holding one.

    The consolidated workbook is replaced whole at each sync, the state folder and the
    outbox get files of their own, a log file grows: pointed at a source, they destroy it.
    """
    files = [("workspace.consolidated", config.consolidated), ("logging.file", config.logging.file)]
    folders = [("workspace.state_dir", config.state_dir), ("alerts.outbox", config.alerts.outbox)]
    for i, source in enumerate(config.sources, start=1):
        if source.path is None:
            continue
        place = _resolved(source.path)
        for key, path in files:
            if path is not None and _resolved(path) == place:
                raise ConfigError(_clash(key, path, i, source, FILE_CLASH, written), key)
        for key, path in folders:
            if place.is_relative_to(_resolved(path)):
                raise ConfigError(_clash(key, path, i, source, FOLDER_CLASH, written), key)


FILE_CLASH = (
    "est aussi la source {source} : qep-sync réécrit ce fichier et détruirait le classeur ; "
    "choisissez un autre chemin"
)
FOLDER_CLASH = (
    "contient la source {source} : qep-sync écrit dans ce dossier et pourrait abîmer le "
    "classeur ; choisissez un dossier sans source"
)


def _clash(key: str, path: Path, i: int, source: Source, what: str, written: set[str]) -> str:
    default = "" if key in written or key == "logging.file" else " (valeur par défaut)"
    return f"« {path} »{default} " + what.format(
        source=f"sources[{i}].{source.key} ({source.service})"
    )


def load_config(path: Path) -> Config:
    """Read and check a config file."""
    _regular_file(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: Notepad may write a BOM
    except FileNotFoundError:
        raise _missing(path) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} n'est pas enregistré en UTF-8 (octet illisible n° {exc.start + 1}) : "
            "ouvrez-le et enregistrez-le avec l'encodage UTF-8"
        ) from None
    except OSError as exc:
        raise _unreadable(path, exc) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise toml_error(path.name, exc) from None
    return parse_config(raw, path.resolve().parent, path)


def _regular_file(path: Path) -> None:
    """Stat before opening: a pipe would hang the read, a folder gives a technical error."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise _missing(path) from None
    except OSError as exc:
        raise _unreadable(path, exc) from None
    if stat.S_ISDIR(mode):
        raise ConfigError(
            f"{path} est un dossier, pas un fichier de configuration : indiquez le fichier "
            f"(par exemple {path / CONFIG_NAME})"
        )
    if not stat.S_ISREG(mode):
        raise ConfigError(
            f"{path} n'est pas un fichier ordinaire (tube, périphérique…) : indiquez le "
            "fichier qep-sync.toml"
        )


def _unreadable(path: Path, exc: OSError) -> ConfigError:
    if isinstance(exc, PermissionError):
        why = "accès refusé : vérifiez les droits du compte qui lance qep-sync sur ce fichier"
    else:
        why = exc.strerror or type(exc).__name__
    return ConfigError(f"lecture impossible de {path} ({why})")


def _missing(path: Path) -> ConfigError:
    return ConfigError(
        f"fichier de configuration introuvable : {path} "
        "(créez-en un avec « qep-sync init DOSSIER » ou indiquez-le avec -c)"
    )


def config_for_files(paths: list[Path], within: Config | None = None) -> Config:
    """A throwaway config for ``qep-sync check a.xlsx b.xlsx``: default rules, service from the name.

    ``within`` (``check -c CFG a.xlsx``): a file that is one of its sources is read with its
    entry (service, name, ``sheets``, ``central``), the others with the config's rules and a
    service named after the file. Never the config's consolidated workbook, never its journal
    (the run covers some files only: it says nothing of the workspace's health).
    """
    sources = []
    used: set[str] = set()
    known = {_resolved(s.path): s for s in within.sources if s.path} if within else {}
    for path in paths:
        entry = known.get(_resolved(path))
        if entry is not None:
            sources.append(replace(entry, path=path))
            used.add(entry.service)
    for path in paths:
        if _resolved(path) in known:
            continue
        ascii_stem = unicodedata.normalize("NFKD", path.stem).encode("ascii", "ignore").decode()
        code = re.sub(r"[^A-Za-z0-9_.\-]+", "-", ascii_stem).strip("-.")[:40] or "classeur"
        base, n = code, 2
        while code in used:
            code, n = f"{base}-{n}", n + 1
        used.add(code)
        sources.append(Source(service=code, name=path.stem, path=path))
    order = {path: i for i, path in enumerate(paths)}  # as typed on the command line
    sources.sort(key=lambda s: order.get(s.path, 0) if s.path else 0)
    if within is None:
        return Config(path=None, sources=tuple(sources))
    return replace(within, path=None, sources=tuple(sources), consolidated=None)
