"""Getting digests out: the MIME message, then yagmail over SMTP or ``.eml`` files in an outbox.

``compose`` builds the message with ``email.message.EmailMessage``: header values are cleaned
of line breaks and control characters first, so a cell cannot add a header. A transport
opens once per run (one SMTP connection), sends each message to its one recipient, and
says precisely what went wrong: ``RecipientRefused`` (that recipient only), ``SendFailed``
(that message), or ``SendFailed(lost=True)`` (the connection: the rest waits for next run).
The SMTP password comes from the environment variable the config names, and nowhere else:
never keyring, never a prompt, never in a message or a log.
"""

from __future__ import annotations

import datetime as dt
import re
import smtplib
import ssl
from collections.abc import Sequence
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Protocol

from qep_sync import files
from qep_sync.clock import PARIS
from qep_sync.config import Smtp
from qep_sync.env import Environment, variable
from qep_sync.errors import ConfigError, MailError

HEADER_LIMIT = 300  # characters; a subject or name longer than this is cut
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")  # line breaks and control chars
_SPACES = re.compile(r"\s+")


def paris(moment: dt.datetime) -> dt.datetime:
    """A moment in Paris time (a naive one is taken as Paris time already)."""
    return moment.astimezone(PARIS) if moment.tzinfo else moment.replace(tzinfo=PARIS)


def header_text(value: str, limit: int = HEADER_LIMIT) -> str:
    """A header value on one line: CR, LF and every control character become a space."""
    text = _SPACES.sub(" ", _UNSAFE.sub(" ", value)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mailbox(email: str, name: str | None = None) -> Address:
    """An address header item; the display name is cleaned like any header text."""
    local, _, domain = email.strip().rpartition("@")
    display = header_text(name or "", 120)
    return Address(display_name=display, username=local, domain=domain)


def compose(
    *,
    sender: Address,
    to: Address,
    subject: str,
    text: str,
    html: str,
    now: dt.datetime,
) -> EmailMessage:
    """A multipart/alternative message (text, then HTML), UTF-8, with Date and Message-ID."""
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = header_text(subject)
    message["Date"] = format_datetime(paris(now))
    message["Message-ID"] = make_msgid("qep-sync", domain=sender.domain or "localhost")
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    message.set_content(text, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message


class RecipientRefused(Exception):
    """The server refused this recipient; the others go on."""


class SendFailed(Exception):
    """This message was not sent; ``lost``: the connection is gone, nothing more can be sent."""

    def __init__(self, message: str, *, lost: bool = False) -> None:
        super().__init__(message)
        self.lost = lost


class Transport(Protocol):
    """Where digests go. ``open`` raises MailError when the destination cannot be reached."""

    label: str

    def open(self) -> None: ...

    def send(self, message: EmailMessage, recipients: Sequence[str]) -> str | None:
        """Send one message; return where it went when that is a place (an .eml file)."""
        ...

    def close(self) -> None: ...


class OutboxTransport:
    """Messages written as ``.eml`` files (open them with any mail client): no SMTP server."""

    def __init__(self, folder: Path, now: dt.datetime) -> None:
        self.folder = folder
        self.label = f"dossier {folder}"
        self._stamp = paris(now).strftime("%Y%m%d-%H%M%S")  # Paris time, like the Date header
        self._count = 0

    def open(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MailError(
                f"dossier des courriels impossible à créer ({self.folder}) : {exc}"
            ) from None

    def send(self, message: EmailMessage, recipients: Sequence[str]) -> str | None:
        self._count += 1
        slug = re.sub(r"[^A-Za-z0-9.@_-]+", "_", recipients[0])[:80]
        path = self.folder / f"{self._stamp}-{self._count:04d}-{slug}.eml"
        data = message.as_bytes(policy=policy.SMTP)
        try:
            files.replace_atomically(path, lambda tmp: tmp.write_bytes(data))  # never half-written
        except OSError as exc:
            raise SendFailed(f"écriture impossible de {path} : {exc}") from None
        return str(path)

    def close(self) -> None:
        pass


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {header_text(words, 200)}"


class SmtpTransport:
    """One authenticated connection to the configured server, through yagmail."""

    def __init__(self, smtp: Smtp, sender: str, env: Environment | None = None) -> None:
        self.smtp = smtp
        self.sender = sender
        self.label = f"serveur SMTP {smtp.host}:{smtp.port}"
        self._password: str | None = None
        if smtp.user:
            if not smtp.password_env:
                raise ConfigError(
                    "smtp.user est renseigné : indiquez dans smtp.password_env le nom de la "
                    "variable d'environnement qui contient le mot de passe",
                    "smtp.password_env",
                )
            self._password = variable(smtp.password_env, env)
            if not self._password:
                raise ConfigError(
                    f"la variable d'environnement {smtp.password_env} (mot de passe SMTP) "
                    "est absente ou vide",
                    "smtp.password_env",
                )
        self._client: Any = None

    def __repr__(self) -> str:  # never show the password, even in a traceback
        return f"SmtpTransport({self.label}, user={self.smtp.user!r})"

    def open(self) -> None:
        import yagmail  # imported here: only a sending run pays for it

        tls = ssl.create_default_context()  # certificates checked (smtplib's default is not)
        options: dict[str, Any] = {"timeout": self.smtp.timeout}
        if self.smtp.security == "tls":
            options["context"] = tls
        try:
            # smtp_skip_login: yagmail never looks for a password (keyring, then a prompt);
            # qep-sync logs in itself below, with the one from the environment.
            self._client = yagmail.SMTP(
                self.sender,
                host=self.smtp.host,
                port=self.smtp.port,
                smtp_ssl=self.smtp.security == "tls",
                smtp_starttls={"context": tls} if self.smtp.security == "starttls" else False,
                smtp_skip_login=True,
                soft_email_validation=False,
                **options,
            )
            self._client.login()  # connects (and STARTTLS)
            if self.smtp.user and self._password:
                self._client.smtp.login(self.smtp.user, self._password)
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            raise MailError(
                f"{self.label} : identification refusée pour {self.smtp.user} "
                f"({_reply(exc.smtp_code, exc.smtp_error)}) ; vérifiez smtp.user et la variable "
                f"{self.smtp.password_env}"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise MailError(f"{self.label} injoignable : {_describe(exc)}") from None

    def send(self, message: EmailMessage, recipients: Sequence[str]) -> str | None:
        if self._client is None or self._client.smtp is None:
            raise SendFailed("connexion SMTP fermée", lost=True)
        data = message.as_bytes(policy=policy.SMTP)
        try:
            refused = self._client.smtp.sendmail(self.sender, list(recipients), data)
        except smtplib.SMTPRecipientsRefused as exc:
            reasons = "; ".join(f"{a} : {_reply(*r)}" for a, r in exc.recipients.items())
            raise RecipientRefused(f"destinataire refusé par le serveur ({reasons})") from None
        except smtplib.SMTPServerDisconnected as exc:
            raise SendFailed(f"connexion SMTP perdue : {_describe(exc)}", lost=True) from None
        except smtplib.SMTPResponseException as exc:
            lost = exc.smtp_code == 421  # the server is closing the connection
            raise SendFailed(f"refusé par le serveur : {_reply(exc.smtp_code, exc.smtp_error)}",
                             lost=lost) from None  # fmt: skip
        except (smtplib.SMTPException, OSError) as exc:
            raise SendFailed(f"connexion SMTP perdue : {_describe(exc)}", lost=True) from None
        if refused:
            raise RecipientRefused(f"destinataire refusé par le serveur ({', '.join(refused)})")
        return None

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()  # QUIT; yagmail swallows a connection already gone


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error)
    return header_text(str(exc) or type(exc).__name__, 200)


def open_transport(
    smtp: Smtp | None, sender: str, outbox: Path, now: dt.datetime, env: Environment | None
) -> Transport:
    """The configured transport: SMTP when [smtp] is set, else the outbox folder."""
    if smtp is None:
        return OutboxTransport(outbox, now)
    return SmtpTransport(smtp, sender, env)
