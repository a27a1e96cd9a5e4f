"""Helpers of the alerts tests: a real SMTP server on 127.0.0.1 (aiosmtpd) that records what
it receives and counts connections, and a small workspace whose items are known in advance.

The workspace (``make_alerts_workspace``) on TODAY (Thursday 26/11/2026), service BAS:

| row | what | due | goes to |
|---|---|---|---|
| A1 | action, Alice's address | 01/12/2026 (J-7) | alice.martin |
| A2 | action, no address | 06/11/2026 (20 days late: escalated) | sebastien.bernard (+ karine.guyon, head) |
| A3 | action | 25/01/2027 (too far) | nobody |
| A4 | action done | — | nobody |
| A5 | action « <script>… », Benoît's address | 23/11/2026 (3 days late) | benoit.perrin |
| 2026-001 | unanswered email | limit 23/11/2026 (late) | sebastien.bernard |

The quality lead (claire.faivre) gets one digest: the copy of all of the above.
"""

from __future__ import annotations

import datetime as dt
import socket
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from conftest import TODAY, make_workbook

from qep_sync.config import Config, parse_config

DAY = dt.timedelta(days=1)
ALICE = "alice.martin@doubs.gouv.fr"
BENOIT = "benoit.perrin@doubs.gouv.fr"
SEBASTIEN = "sebastien.bernard@doubs.gouv.fr"
KARINE = "karine.guyon@doubs.gouv.fr"
CLAIRE = "claire.faivre@doubs.gouv.fr"
SENDER = "prefqualite@doubs.gouv.fr"
SCRIPT = "<script>alert('x')</script> Former l'accueil"
PLAN_HEADER = ["N° action", "Action", "Service pilote", "Responsable", "Email responsable",
               "Échéance", "État", "Date de réalisation"]  # fmt: skip


def plan_rows(extra: list[list[Any]] | None = None) -> list[list[Any]]:
    return [
        PLAN_HEADER,
        ["A1", "Afficher les horaires", None, "Alice Martin", ALICE, TODAY + 5 * DAY,
         "En cours", None],
        ["A2", "Réviser le courrier type", None, None, None, TODAY - 20 * DAY, "À faire", None],
        ["A3", "Enquête mystère", None, None, None, TODAY + 60 * DAY, "À faire", None],
        ["A4", "Signalétique", None, None, None, TODAY - 40 * DAY, "Fait", TODAY - 41 * DAY],
        ["A5", SCRIPT, None, "Benoît Perrin", BENOIT, TODAY - 3 * DAY, "En cours", None],
        *(extra or []),
    ]  # fmt: skip


LETTERS = [
    ["N°", "Canal", "Date de réception", "Objet", "Date de réponse", "Agent en charge"],
    ["2026-001", "Courriel", dt.date(2026, 11, 16), "Titre de séjour étudiant", None, None],
    ["2026-002", "Courrier", dt.date(2026, 11, 2), "Naturalisation", dt.date(2026, 11, 5), None],
]
CORRESPONDANTS = [
    ["Service", "Nom", "Email", "Rôle"],
    ["BAS", "Sébastien Bernard", SEBASTIEN, "Correspondant qualité"],
    ["Bureau de l'admission au séjour", "Karine Guyon", KARINE, "Chef de service"],
    ["QUALITE", "Claire Faivre", CLAIRE, "Référent qualité"],
]


def config_text(
    smtp_port: int | None,
    alerts: str = "",
    smtp: str = "",
    lead: str | None = CLAIRE,
    workspace: str = "",
) -> str:
    lead_line = f'quality_lead = "{lead}"' if lead else ""
    text = f"""
[workspace]
state_dir = "etat"
{workspace}

[alerts]
sender = "{SENDER}"
{lead_line}
outbox = "outbox"
{alerts}
"""
    if smtp_port is not None:
        text += f'\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\n{smtp}\n'
    return (
        text
        + """
[[sources]]
service = "BAS"
name = "Bureau de l'admission au séjour"
xlsx = "services/BAS.xlsx"

[[sources]]
service = "QUALITE-CORRESPONDANTS"
name = "Mission qualité — correspondants"
xlsx = "qualite/Correspondants.xlsx"
"""
    )


def make_alerts_workspace(
    directory: Path,
    smtp_port: int | None,
    *,
    plan: list[list[Any]] | None = None,
    correspondants: list[list[Any]] | None = None,
    alerts: str = "",
    smtp: str = "",
    lead: str | None = CLAIRE,
    workspace: str = "",
) -> Path:
    """Write the workbooks and ``qep-sync.toml``; return the config's path."""
    (directory / "services").mkdir(parents=True, exist_ok=True)
    (directory / "qualite").mkdir(exist_ok=True)
    make_workbook(
        directory / "services" / "BAS.xlsx",
        {"Plan d'actions": plan or plan_rows(), "Délais": LETTERS},
    )
    make_workbook(
        directory / "qualite" / "Correspondants.xlsx",
        {"Correspondants": correspondants or CORRESPONDANTS},
    )
    path = directory / "qep-sync.toml"
    path.write_text(config_text(smtp_port, alerts, smtp, lead, workspace), encoding="utf-8")
    return path


def load(path: Path) -> Config:
    return parse_config(tomllib.loads(path.read_text(encoding="utf-8")), path.parent, path)


def now_on(day: dt.date) -> dt.datetime:
    """8 a.m. in Paris on ``day``: the clock of a pinned run."""
    from zoneinfo import ZoneInfo

    return dt.datetime.combine(day, dt.time(8, 0), tzinfo=ZoneInfo("Europe/Paris"))


# ---------------------------------------------------------------- the SMTP server


@dataclass
class Received:
    """One message as the server got it: envelope and parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def part(self, subtype: str) -> str:
        body = self.message.get_body((subtype,))
        assert body is not None and isinstance(body, EmailMessage)
        return str(body.get_content())


@dataclass
class Recorder:
    """aiosmtpd handler: refuses the addresses of ``refuse``, keeps everything else."""

    refuse: set[str] = field(default_factory=set)
    fail_data_after: int | None = None  # answer 421 to DATA after this many messages
    logins: list[tuple[str, str]] = field(default_factory=list)
    messages: list[Received] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 Destinataire inconnu"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.fail_data_after is not None and len(self.messages) >= self.fail_data_after:
            return "421 4.3.2 Service indisponible, fermeture"
        data = envelope.original_content or b""
        self.messages.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), data))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]


class CountingController(Controller):
    """A Controller that counts the SMTP connections made to it."""

    def __init__(self, handler: Recorder, port: int, **kwargs: Any) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=port, **kwargs)
        self.opened = 0

    def factory(self) -> SMTP:
        self.opened += 1
        return super().factory()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    port: int
    recorder: Recorder
    controller: CountingController
    _baseline: int = 0

    @property
    def connections(self) -> int:
        """Connections opened by clients (the controller's own start-up probe left out)."""
        return self.controller.opened - self._baseline


@contextmanager
def smtp_server(recorder: Recorder | None = None, **kwargs: Any) -> Iterator[Server]:
    """A real SMTP server on 127.0.0.1, for the duration of the block."""
    recorder = recorder or Recorder()
    controller = CountingController(recorder, free_port(), **kwargs)
    controller.start()
    server = Server(controller.port, recorder, controller, controller.opened)
    try:
        yield server
    finally:
        controller.stop()


def password_checker(expected_user: str, expected_password: str, recorder: Recorder) -> Any:
    """An aiosmtpd authenticator accepting one user and password, recording the attempts."""

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        user = data.login.decode() if isinstance(data.login, bytes) else str(data.login)
        password = data.password.decode() if isinstance(data.password, bytes) else data.password
        recorder.logins.append((user, str(password)))
        ok = (user, password) == (expected_user, expected_password)
        return AuthResult(success=ok, handled=False)

    return authenticate


class MemoryTransport:
    """A transport that keeps messages in a list (the ``sender=`` of run_alerts)."""

    label = "mémoire"

    def __init__(self) -> None:
        self.sent: list[tuple[list[str], EmailMessage]] = []
        self.opened = 0

    def open(self) -> None:
        self.opened += 1

    def send(self, message: EmailMessage, recipients: Sequence[str]) -> str | None:
        self.sent.append((list(recipients), message))
        return None

    def close(self) -> None:
        pass

    def to(self, address: str) -> list[EmailMessage]:
        return [m for r, m in self.sent if address in r]

    @staticmethod
    def text(message: EmailMessage) -> str:
        body = message.get_body(("plain",))
        assert body is not None and isinstance(body, EmailMessage)
        return str(body.get_content())


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by itself, and its key (PEM files)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365 * 30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
