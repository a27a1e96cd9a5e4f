"""Logging of the long-running service: stdlib ``logging``, a human or a JSON format, secrets masked.

``setup_logging`` sends the records of ``qep_sync`` (and warnings of other libraries) to stderr
and, when asked, to a rotating file. Each record is an *event* with English keys
(``log_event(log, logging.INFO, "sync_finished", status="ok", cells=12)``): the text format
shows ``event key=value …`` after the time, the level and the logger; the JSON format writes
one object per line (``time``, ``level``, ``logger``, ``event``, then the keys).

Every line goes through a ``Redactor`` before it is written: the values of the secrets the
config names (the SMTP password from its environment variable, the Google service-account
key from the file its variable points to) and anything that looks like a private key or a
password assignment become ``[masqué]``, in the message, the keys and the tracebacks alike.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.handlers
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from qep_sync.clock import PARIS
from qep_sync.config import Config, LogSettings
from qep_sync.env import Environment, variable

MASK = "[masqué]"
_PEM = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)", re.DOTALL
)
_ASSIGNMENT = re.compile(
    r"""(?ix)
    (["']?(?:password|passwd|mot_de_passe|secret|private_key|private_key_id|token|
    access_token|refresh_token)["']?\s*[:=]\s*)
    (?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s,;}&]+)
    """
)
_MIN_SECRET = 4  # shorter values would mask ordinary words


@dataclass
class Redactor:
    """Masks known secret values and secret-looking text in a log line."""

    secrets: set[str] = field(default_factory=set)

    def add(self, *values: str | None) -> None:
        for value in values:
            if not value or len(value) < _MIN_SECRET:
                continue
            self.secrets.add(value)
            # The same value as it appears in a repr or in JSON (escaped line breaks).
            self.secrets.add(value.encode("unicode_escape").decode("ascii"))
            self.secrets.add(json.dumps(value)[1:-1])
            for line in value.splitlines():  # a PEM key shown line by line
                if len(line.strip()) >= 16 and not line.startswith("-----"):
                    self.secrets.add(line.strip())

    def __call__(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        text = _PEM.sub(MASK, text)
        return _ASSIGNMENT.sub(lambda m: m.group(1) + MASK, text)


def secrets_of(config: Config, env: Environment | None = None) -> list[str]:
    """The secret values this config gives access to, as they are in the environment now."""
    found: list[str] = []
    if config.smtp is not None and config.smtp.password_env:
        found.append(variable(config.smtp.password_env, env) or "")
    key_path = variable(config.google.credentials_env, env)
    if key_path:
        try:
            data = json.loads(Path(key_path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict):
            found += [str(data.get("private_key", "")), str(data.get("private_key_id", ""))]
    return [s for s in found if s]


def log_event(logger: logging.Logger, level: int, event: str, **fields: Any) -> None:
    """One event: a short English name and its keys (values may be French messages)."""
    logger.log(level, event, extra={"fields": fields})


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    value = getattr(record, "fields", None)
    return value if isinstance(value, dict) else {}


def _show(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    text = str(value)
    if text == "" or any(c.isspace() for c in text) or '"' in text or "=" in text:
        return json.dumps(text, ensure_ascii=False)
    return text


def paris_time(record: logging.LogRecord, timespec: str = "seconds") -> str:
    """When a record was made, in Paris with its offset (``2026-11-26T08:30:00+01:00``),
    whatever the machine's own time zone: logs, journal, status and outbox agree."""
    return dt.datetime.fromtimestamp(record.created, PARIS).isoformat(timespec=timespec)


class TextFormatter(logging.Formatter):
    """``2026-11-26 08:30:00+01:00 INFO qep_sync.service.serve sync_finished status=ok cells=12``."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self.redactor = redactor

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return paris_time(record).replace("T", " ")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        keys = " ".join(f"{k}={_show(v)}" for k, v in _fields(record).items())
        if keys:
            head, sep, tail = text.partition("\n")  # keys before a traceback, on the first line
            text = f"{head} {keys}{sep}{tail}"
        return self.redactor(text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors (journald, Loki, Elastic, Graylog)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": paris_time(record, "milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in _fields(record).items():
            if key not in data:
                data[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(self._redact(data), ensure_ascii=False)

    def _redact(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redactor(value)
        if isinstance(value, dict):
            return {k: self._redact(v) for k, v in value.items()}
        return value


@dataclass
class LoggingSetup:
    """What ``setup_logging`` installed, so that ``close`` can take it away again (tests)."""

    handlers: list[logging.Handler]
    redactor: Redactor
    previous_level: int

    def close(self) -> None:
        root = logging.getLogger()
        for handler in self.handlers:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(self.previous_level)
        logging.getLogger("qep_sync").setLevel(logging.NOTSET)
        logging.captureWarnings(False)


def setup_logging(
    settings: LogSettings,
    *,
    stream: IO[str],
    secrets: Iterable[str] = (),
) -> LoggingSetup:
    """Log ``qep_sync`` at ``settings.level`` (other libraries at WARNING) to ``stream`` (the
    command line gives its stderr) and the file.

    The file rotates at ``max_megabytes`` and keeps ``backup_count`` old files. Raises OSError
    when the file cannot be opened (the caller turns it into a French message).
    """
    redactor = Redactor()
    redactor.add(*secrets)
    formatter: logging.Formatter = (
        JsonFormatter(redactor) if settings.format == "json" else TextFormatter(redactor)
    )
    handlers: list[logging.Handler] = [logging.StreamHandler(stream)]
    if settings.file is not None:
        settings.file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                settings.file,
                maxBytes=settings.max_megabytes * 1024 * 1024,
                backupCount=settings.backup_count,
                encoding="utf-8",
            )
        )
    root = logging.getLogger()
    setup = LoggingSetup(handlers, redactor, root.level)
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("qep_sync").setLevel(settings.level)
    logging.captureWarnings(True)  # library warnings (openpyxl…) go to the log too
    return setup
