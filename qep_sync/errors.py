"""Failures that stop a source or a run. Findings in the data are not exceptions (see core/findings.py)."""

from __future__ import annotations


class QepSyncError(Exception):
    """Base of every error qep-sync reports to a user; the message is French and says where."""


class ConfigError(QepSyncError):
    """The configuration file is missing, unreadable or invalid (exit code 2)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        self.key = key
        super().__init__(f"{key} : {message}" if key else message)


class UsageError(QepSyncError):
    """The command cannot do what was asked as asked (exit code 2), e.g. a folder already in use."""


class SpecError(QepSyncError):
    """A tracker spec file in schemas/ is invalid (exit code 2)."""


class SourceError(QepSyncError):
    """A source cannot be read (not a workbook, damaged, encrypted, no tracker...)."""

    def __init__(self, source: str, message: str, sheet: str | None = None) -> None:
        self.source = source
        self.sheet = sheet
        self.reason = message
        where = f"{source}, onglet « {sheet} »" if sheet else source
        super().__init__(f"{where} : {message}")


class WriteBackError(QepSyncError):
    """A source could not be written back (locked, changed since read, disk error)."""


class MailError(QepSyncError):
    """The mail server cannot be reached or refuses the run (exit code 1); retried next run."""


# What a run lets through when one source's reading or writing fails in a way nobody foresaw
# (a library's own error, even a BaseException such as a Rust panic): only these stop it.
STOPS_THE_RUN = (KeyboardInterrupt, SystemExit, GeneratorExit)


def unexpected(exc: BaseException) -> str:
    """The French message of an error nobody foresaw; its detail goes to the technical log."""
    return (
        f"erreur inattendue ({type(exc).__name__}) : ce fichier est laissé tel quel et les "
        "autres sont traités ; si elle se répète, signalez-la au service informatique "
        "(le détail est dans le journal technique)"
    )
