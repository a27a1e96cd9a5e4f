"""Helpers to talk to ``sheets_server.SheetsServer`` through the real Google auth path.

``make_service_account_key(path, server=server)`` writes a service-account key file (a fresh
RSA key, generated once per test session) whose ``token_uri`` is the server's ``/token`` and
registers its public key there; ``client_for(server, key_path)`` builds a ``gspread.Client``
from that file exactly as a product would (``Credentials.from_service_account_file``), with a
``LocalSession`` that sends Google's hosts to the local server. ``local_google(tmp_path)``
does all of it and closes everything at the end::

    with local_google(tmp_path) as g:
        g.server.add_spreadsheet("key", "Suivi", {"Délais": [["N°"], ["A1"]]})
        sh = g.client.open_by_key("key")

Note: gspread ignores its ``auth`` argument once a ``session`` is given, so the session itself
must authorise requests: ``LocalSession`` is a ``google.auth`` ``AuthorizedSession`` (a
``requests.Session``) that fetches the token from ``token_uri`` and refreshes it on a 401.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gspread
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account
from sheets_server import SheetsServer

CLIENT_EMAIL = "qep-sync-test@test-project.iam.gserviceaccount.com"
PROJECT_ID = "test-project"
SCOPES = (
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/drive",
)
GOOGLE_HOSTS = (
    "https://sheets.googleapis.com",
    "https://www.googleapis.com",
    "https://oauth2.googleapis.com",
)

_KEY_LOCK = threading.Lock()
_KEY: rsa.RSAPrivateKey | None = None


def session_private_key() -> rsa.RSAPrivateKey:
    """A 2048-bit RSA key, generated once per test session (about 0.1 s)."""
    global _KEY
    with _KEY_LOCK:
        if _KEY is None:
            _KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return _KEY


def make_service_account_key(
    path: Path | str,
    token_uri: str | None = None,
    *,
    server: SheetsServer | None = None,
    client_email: str = CLIENT_EMAIL,
    private_key_id: str = "0123456789abcdef0123456789abcdef01234567",
) -> dict[str, Any]:
    """Write a service-account key file at ``path`` and return its content.

    ``token_uri`` defaults to ``server.token_uri``; with ``server`` the key's public half is
    registered there, so the server accepts the JWTs signed with it.
    """
    if token_uri is None:
        if server is None:
            raise ValueError("give token_uri or server")
        token_uri = server.token_uri
    key = session_private_key()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": PROJECT_ID,
        "private_key_id": private_key_id,
        "private_key": pem,
        "client_email": client_email,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
        + client_email.replace("@", "%40"),
        "universe_domain": "googleapis.com",
    }
    Path(path).write_text(json.dumps(info, indent=2), encoding="utf-8")
    if server is not None:
        server.register_key(client_email, key.public_key(), private_key_id)
    return info


def credentials_for(
    key_path: Path | str, scopes: Sequence[str] = SCOPES
) -> service_account.Credentials:
    """Service-account credentials read from the key file, as a product reads them."""
    return service_account.Credentials.from_service_account_file(str(key_path), scopes=scopes)


class LocalSession(AuthorizedSession):
    """An authorised ``requests.Session`` that sends Google's API hosts to ``base_url``.

    ``https://sheets.googleapis.com``, ``https://www.googleapis.com`` (Drive) and
    ``https://oauth2.googleapis.com`` are rewritten; the token request itself goes to the
    key file's ``token_uri`` (already local). For raw gspread in tests: the product has its
    own base-URL setting.
    """

    def __init__(self, base_url: str, credentials: Any) -> None:
        super().__init__(credentials)
        self.base_url = base_url.rstrip("/")

    def rewrite(self, url: str) -> str:
        for host in GOOGLE_HOSTS:
            if url.startswith(host):
                return self.base_url + url[len(host) :]
        return url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().request(method, self.rewrite(url), *args, **kwargs)


def client_for(
    server: SheetsServer,
    key_path: Path | str,
    *,
    scopes: Sequence[str] = SCOPES,
    timeout: float | None = None,
) -> gspread.Client:
    """A real ``gspread.Client`` (gspread 6) talking to ``server`` through the key file.

    Close it with ``client.http_client.session.close()`` (``local_google`` does).
    """
    credentials = credentials_for(key_path, scopes)
    client = gspread.Client(credentials, session=LocalSession(server.url, credentials))
    if timeout is not None:
        client.set_timeout(timeout)
    return client


@dataclass
class LocalGoogle:
    server: SheetsServer
    key_path: Path
    client: gspread.Client

    @property
    def session(self) -> LocalSession:
        session = self.client.http_client.session
        assert isinstance(session, LocalSession)
        return session


@contextmanager
def local_google(
    tmp_path: Path, *, scopes: Sequence[str] = SCOPES, **server_options: Any
) -> Iterator[LocalGoogle]:
    """A started server, a registered key file in ``tmp_path`` and a gspread client; all
    closed and stopped at the end (``stop`` raises if the server hit an internal error)."""
    with SheetsServer(**server_options) as server:
        key_path = tmp_path / "service-account.json"
        make_service_account_key(key_path, server=server)
        client = client_for(server, key_path, scopes=scopes)
        try:
            yield LocalGoogle(server, key_path, client)
        finally:
            client.http_client.session.close()
