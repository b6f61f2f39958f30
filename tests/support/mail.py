"""Real parts for the invitation and delivery tests: a community, a self-signed certificate, and an
aiosmtpd server on loopback with STARTTLS, AUTH and scripted failures."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import os
import signal
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.generator import BytesGenerator
from email.message import EmailMessage, Message
from io import BytesIO
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from calroulette.config import Community, parse_community

UTC = dt.UTC
USER, PASSWORD = "coffee@example.org", "s3cret-app-password"

# Hand-picked zones whose offsets on 2026-12-01 are known without the code under test:
# London GMT (+0), New York EST (-5), Kolkata IST (+5:30), Berlin CET (+1).
PEOPLE = [
    ("Ada Lovelace", "ada@example.org", "Europe/London", None),
    ("Grace Hopper", "grace@example.org", "America/New_York", "222222222222222222"),
    ("Zoë Ødegård", "zoe@example.org", "Asia/Kolkata", "333333333333333333"),
    ("Alan Turing", "alan@example.org", "Europe/Berlin", None),
]


def community_data(
    people: list[tuple[str, str, str, str | None]] | None = None,
    **delivery: Any,
) -> dict[str, Any]:
    members = []
    for name, address, zone, discord in people or PEOPLE:
        member = {"name": name, "email": address, "calendar": "x.ics", "timezone": zone}
        if discord:
            member["discord_id"] = discord
        members.append(member)
    return {
        "community": {
            "name": "Data Folk Coffee",
            "organizer": "Data Folk Coffee <coffee@example.org>",
            "timezone": "Europe/London",
        },
        "delivery": delivery,
        "members": members,
    }


def make_community(tmp_path: Path, people: Any = None, **delivery: Any) -> Community:
    data = community_data(people, **delivery)
    data["community"]["database"] = str(tmp_path / "history.sqlite")
    return parse_community(data, base_dir=tmp_path)


def make_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost; returns (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "calroulette test")])
    now = dt.datetime.now(UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
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


def client_context(cert: Path) -> ssl.SSLContext:
    """What production uses (create_default_context: verify + host name), trusting only ``cert``."""
    return ssl.create_default_context(cafile=str(cert))


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    user: str | None
    mail_options: list[str] = field(default_factory=list)

    def message(self) -> EmailMessage:
        if not self.data.isascii():  # SMTPUTF8: raw UTF-8 headers, which BytesParser would escape
            text = self.data.decode("utf-8")
            return email.message_from_string(text, policy=email.policy.default)  # type: ignore[return-value]
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class Mailbox:
    """The aiosmtpd handler: stores what it accepts; can fail, reject and kill on cue."""

    received: list[Received] = field(default_factory=list)
    tempfail_data: int = 0  # answer 451 to this many DATA commands first
    reject: set[str] = field(default_factory=set)  # RCPT TO answered with 550
    refuse: str | None = None  # while set, every DATA is answered with this (e.g. a 554)
    victim: int | None = None  # a pid to SIGKILL on cue
    kill_at: tuple[str, int] | None = None  # ("mail"|"data-before"|"data-after", n-th message)
    kills: list[str] = field(default_factory=list)
    delay: float = 0.0  # seconds to think before answering DATA (a slow server)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _mails: int = 0

    def _kill(self, stage: str, n: int) -> bool:
        if self.kill_at == (stage, n) and self.victim is not None:
            os.kill(self.victim, signal.SIGKILL)
            self.kills.append(stage)
            self.kill_at = None
            return True
        return False

    async def handle_MAIL(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
        with self.lock:
            self._mails += 1
            self._kill("mail", len(self.received) + 1)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
        if address in self.reject:
            return "550 5.1.1 <" + address + ">: no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.refuse is not None:
                return self.refuse
            if self.tempfail_data > 0:
                self.tempfail_data -= 1
                return "451 4.3.0 greylisted, try again later"
            n = len(self.received) + 1
            if self._kill("data-before", n):
                return "451 4.3.0 gone"
            self.received.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    bytes(envelope.original_content or envelope.content),
                    server.transport.get_extra_info("ssl_object") is not None,
                    session.auth_data.login.decode() if session.auth_data else None,
                    list(envelope.mail_options),
                )
            )
            self._kill("data-after", n)
        return "250 OK: queued"


def _authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == USER
        and auth_data.password.decode() == PASSWORD
    )
    # handled=False: aiosmtpd then answers 535 itself (True would leave the client waiting)
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


@contextmanager
def smtp_server(
    cert: Path, key: Path, *, implicit_tls: bool = False, mailbox: Mailbox | None = None
) -> Iterator[tuple[int, Mailbox]]:
    """STARTTLS (or implicit TLS) with AUTH required over TLS, on 127.0.0.1."""
    box = mailbox or Mailbox()
    port = free_port()
    tls = server_context(cert, key)
    kwargs: dict[str, Any] = {
        "hostname": "127.0.0.1",
        "port": port,
        "authenticator": _authenticator,
        "auth_required": True,
        "auth_require_tls": True,
    }
    if implicit_tls:
        kwargs["ssl_context"] = tls
        # aiosmtpd only counts STARTTLS as TLS for auth_require_tls; this socket is TLS already
        kwargs["auth_require_tls"] = False
    else:
        kwargs["tls_context"] = tls
        kwargs["require_starttls"] = True
    controller = Controller(box, **kwargs)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


@dataclass(frozen=True)
class Links:
    """A member's signed links as the service hands them in (here: fixed strings)."""

    manage: str
    unsubscribe: str
    cant: dict[str, str] = field(default_factory=dict)


def generated(body: Message) -> bytes:
    """A MIME tree as the standard library's generator writes it (plain compat32, CRLF): the
    bytes calroulette's own writer must match."""
    out = BytesIO()
    BytesGenerator(
        out, mangle_from_=False, policy=email.policy.compat32.clone(linesep="\r\n")
    ).flatten(body)
    return out.getvalue()


def parse(raw: bytes) -> EmailMessage:
    """An email as the mail program reads it (the modern policy)."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def text_of(msg: EmailMessage, subtype: str = "plain") -> str:
    """The decoded text of the first text/``subtype`` part."""
    part = next(p for p in msg.walk() if p.get_content_type() == f"text/{subtype}")
    assert isinstance(part, EmailMessage)
    return str(part.get_content())
