"""The transports: MIME built as intended, SMTP login with the password of the environment only
(never keyring, never a prompt, never printed), TLS never silently dropped, the .eml outbox."""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import ssl
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
import yagmail.password
from alerts_support import (
    ALICE,
    CLAIRE,
    Recorder,
    load,
    make_alerts_workspace,
    now_on,
    password_checker,
    self_signed_certificate,
    smtp_server,
)
from conftest import TODAY

from qep_sync.alerts.job import run_alerts
from qep_sync.alerts.transport import SmtpTransport, compose, header_text, mailbox
from qep_sync.config import Smtp
from qep_sync.errors import ConfigError, MailError

SECRET = "s3cr3t-Ne-Pas-Afficher"


@pytest.fixture
def no_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to ask for a password (keyring or terminal) fails the test."""

    def refuse(*args: object, **kwargs: object) -> str:
        raise AssertionError("a password was asked for")

    monkeypatch.setattr(getpass, "getpass", refuse)
    monkeypatch.setattr(yagmail.password, "handle_password", refuse)


def test_header_text_turns_line_breaks_and_controls_into_spaces() -> None:
    assert header_text("Objet\r\nBcc: x@y.fr\x00\tfin\u2028") == "Objet Bcc: x@y.fr fin"
    assert len(header_text("é" * 1000)) == 300


def test_compose_builds_text_then_html_alternatives_without_injected_headers() -> None:
    message = compose(
        sender=mailbox("prefqualite@doubs.gouv.fr", "Mission qualité"),
        to=mailbox(ALICE, "Alice\r\nBcc: pirate@attaquant.example"),
        subject="Relance\nX-Injected: oui",
        text="Texte accentué : échéance",
        html="<p>HTML accentué</p>",
        now=now_on(TODAY),
    )
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Bcc"] is None and parsed["X-Injected"] is None
    assert parsed["Subject"] == "Relance X-Injected: oui"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    plain = parsed.get_body(("plain",))
    assert plain is not None and isinstance(plain, EmailMessage)
    assert plain.get_content().rstrip() == "Texte accentué : échéance"


def test_smtp_login_uses_the_password_of_the_environment_only(
    tmp_path: Path, no_prompt: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder = Recorder()
    checker = password_checker("qep-sync", SECRET, recorder)
    with smtp_server(recorder, authenticator=checker, auth_require_tls=False) as server:
        smtp = 'user = "qep-sync"\npassword_env = "QEP_TEST_SMTP_PASSWORD"'
        config = load(make_alerts_workspace(tmp_path, server.port, smtp=smtp))
        env = {"QEP_TEST_SMTP_PASSWORD": SECRET}
        run = run_alerts(config, TODAY, dry_run=False, now=now_on(TODAY), env=env)
    assert recorder.logins == [("qep-sync", SECRET)]
    assert run.count("sent") == 5
    assert SECRET not in caplog.text


def test_a_refused_login_is_a_mail_error_that_does_not_show_the_password(
    tmp_path: Path, no_prompt: None
) -> None:
    recorder = Recorder()
    checker = password_checker("qep-sync", "le-bon", recorder)
    with smtp_server(recorder, authenticator=checker, auth_require_tls=False) as server:
        smtp = 'user = "qep-sync"\npassword_env = "QEP_TEST_SMTP_PASSWORD"'
        config = load(make_alerts_workspace(tmp_path, server.port, smtp=smtp))
        env = {"QEP_TEST_SMTP_PASSWORD": SECRET}
        run = run_alerts(config, TODAY, dry_run=False, now=now_on(TODAY), env=env)
    assert run.error is not None and "identification refusée pour qep-sync" in run.error
    assert SECRET not in run.error and recorder.messages == []


def test_a_user_without_password_in_the_environment_is_a_config_error_not_a_prompt(
    no_prompt: None,
) -> None:
    smtp = Smtp("127.0.0.1", 25, "none", "qep-sync", "QEP_TEST_SMTP_PASSWORD")
    with pytest.raises(ConfigError, match="QEP_TEST_SMTP_PASSWORD") as error:
        SmtpTransport(smtp, "prefqualite@doubs.gouv.fr", env={})
    assert error.value.key == "smtp.password_env"
    with pytest.raises(ConfigError, match=r"smtp\.password_env"):
        SmtpTransport(Smtp("127.0.0.1", 25, "none", "qep-sync"), "q@doubs.gouv.fr", env={})


def test_the_password_is_not_in_the_transport_repr() -> None:
    smtp = Smtp("127.0.0.1", 25, "none", "qep-sync", "QEP_TEST_SMTP_PASSWORD")
    transport = SmtpTransport(smtp, "q@doubs.gouv.fr", env={"QEP_TEST_SMTP_PASSWORD": SECRET})
    assert SECRET not in repr(transport) and SECRET not in str(vars(transport).get("label"))


def test_starttls_is_required_when_configured_never_dropped_to_clear_text(tmp_path: Path) -> None:
    with smtp_server() as server:  # this server offers no STARTTLS
        smtp = Smtp("127.0.0.1", server.port, "starttls")
        transport = SmtpTransport(smtp, "prefqualite@doubs.gouv.fr", env={})
        with pytest.raises(MailError, match=r"injoignable.*STARTTLS"):
            transport.open()
    assert server.recorder.messages == []


def test_without_smtp_the_digests_go_to_the_outbox_as_eml_files(tmp_path: Path) -> None:
    config = load(make_alerts_workspace(tmp_path, None))
    run = run_alerts(config, TODAY, dry_run=False, now=now_on(TODAY))
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == run.count("sent") == 5
    assert [o.location for o in run.outcomes] == [str(f) for f in files]
    to = set()
    for path in files:
        parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
        to.add(parsed["To"].addresses[0].addr_spec)
        assert parsed["Subject"].startswith("[Qualité] ")
    assert ALICE in to and CLAIRE in to
    again = run_alerts(config, TODAY, dry_run=False, now=now_on(TODAY) + dt.timedelta(hours=1))
    assert again.outcomes == [] and len(list((tmp_path / "outbox").glob("*.eml"))) == 5


def _server_tls(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    cert, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context, cert


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_checks_the_server_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, security: str
) -> None:
    context, cert = _server_tls(tmp_path)
    options = {"tls_context": context} if security == "starttls" else {"ssl_context": context}
    with smtp_server(**options) as server:
        smtp = Smtp("127.0.0.1", server.port, security)
        with pytest.raises(MailError, match="CERTIFICATE_VERIFY_FAILED"):
            SmtpTransport(smtp, "prefqualite@doubs.gouv.fr", env={}).open()
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # now the certificate is trusted
        path = make_alerts_workspace(tmp_path, server.port, smtp=f'security = "{security}"')
        text = path.read_text(encoding="utf-8").replace('security = "none"\n', "", 1)
        path.write_text(text, encoding="utf-8")
        run = run_alerts(load(path), TODAY, dry_run=False, now=now_on(TODAY))
    assert run.count("sent") == 5 and len(server.recorder.messages) == 5


def test_the_outbox_names_and_dates_messages_in_paris_time(tmp_path: Path) -> None:
    path = make_alerts_workspace(tmp_path, None)
    utc = dt.datetime(2026, 11, 26, 23, 30, tzinfo=dt.UTC)  # already the 27th in Paris
    run_alerts(load(path), TODAY, dry_run=False, now=utc)
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert files and all(f.name.startswith("20261127-003000-") for f in files)
    message = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert str(message["Date"]).endswith("+0100")
    assert message["Date"].datetime == utc
