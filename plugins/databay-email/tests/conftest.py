"""A real SMTP server for the tests: aiosmtpd on a free loopback port, keeping what it receives.

``smtp_server`` accepts plain connections and AUTH (user ``ops``, password ``s3cret``)
without TLS; ``tls_smtp_server`` offers STARTTLS and ``ssl_smtp_server`` speaks TLS from
the start, both with a self-signed certificate for 127.0.0.1 made by ``openssl``.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "ops", "s3cret"


@dataclass
class Inbox:
    """What the server received, and who logged in."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope):
        with self.arrived:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.arrived.notify_all()
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
                USER.encode(), PASSWORD.encode()):
            self.logins.append(USER)
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.messages) >= count, timeout)


@dataclass
class Server:
    host: str
    port: int
    inbox: Inbox
    cafile: str | None = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(inbox: Inbox, **kwargs) -> Iterator[Server]:
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), authenticator=inbox.authenticate,
                            **kwargs)
    controller.start()
    try:
        yield Server("127.0.0.1", controller.port, inbox)
    finally:
        controller.stop()


@pytest.fixture
def credentials() -> tuple[str, str]:
    """The user name and password the test servers accept."""
    return USER, PASSWORD


@pytest.fixture
def smtp_server() -> Iterator[Server]:
    yield from _run(Inbox(), auth_require_tls=False)


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1 (made with the openssl command)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


@pytest.fixture
def tls_smtp_server(certificate) -> Iterator[Server]:
    for server in _run(Inbox(), tls_context=_server_context(certificate), require_starttls=True):
        server.cafile = str(certificate[0])
        yield server


@pytest.fixture
def ssl_smtp_server(certificate) -> Iterator[Server]:
    for server in _run(Inbox(), ssl_context=_server_context(certificate), auth_require_tls=False):
        server.cafile = str(certificate[0])
        yield server
