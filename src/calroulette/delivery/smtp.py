"""SMTP: the prebuilt message, sent with :mod:`smtplib` over verified TLS.

Why smtplib and not yagmail (0.16.0, read in site-packages): its public API builds the message
itself (``yagmail/message.py``), attaching an .ics as ``text/calendar`` without ``method=`` and
outside the alternative part, so no calendar shows an invitation; it cannot take a prebuilt
message; overriding From or Message-ID adds a second header instead of replacing it
(``headers.py``); its Message-ID is an MD5 of From+To+Subject (``add_message_id``), so two
different invitations with the same subject share one; and by default its ``_login`` calls
``smtp.starttls()`` / ``SMTP_SSL(...)`` without an SSL context, which in smtplib (3.11) means one
that does **not** verify the server's certificate (a context can be slipped in through
``smtp_starttls={...}`` or ``**kwargs``, but nothing does it for you). What yagmail adds on top
of smtplib (keyring lookup, OAuth2) is a few lines here; Gmail works with an app password,
relays with an API key as password. We rely only on the standard library's smtplib and ssl.

TLS: ``starttls`` (port 587) or implicit ``tls`` (port 465), both with
``ssl.create_default_context()`` (certificate and host name verified) unless a context is injected
(tests trust their own self-signed certificate that way). ``none`` is for a relay on localhost:
with it, the password is sent only to a server on this machine (a loopback address), since
AUTH PLAIN without TLS hands it to anyone on the way.
The password comes only from ``CALROULETTE_SMTP_PASSWORD`` or the system keyring
(service ``calroulette``, user = ``smtp_username``), never from members.toml.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import smtplib
import socket
import ssl

from calroulette.config import Delivery, SmtpSecurity
from calroulette.invites import ascii_domain
from calroulette.redact import SECRETS
from calroulette.store import DeliveryRow

from .transport import SendError

log = logging.getLogger(__name__)

PASSWORD_ENV = "CALROULETTE_SMTP_PASSWORD"  # noqa: S105 - the variable's name, not a secret
KEYRING_SERVICE = "calroulette"


def smtp_password(username: str | None) -> str | None:
    """``CALROULETTE_SMTP_PASSWORD``, else the keyring entry for ``username``, else None."""
    password = os.environ.get(PASSWORD_ENV)
    if not password and username:
        try:
            import keyring  # optional: only when the organizer stores the password there

            password = keyring.get_password(KEYRING_SERVICE, username)
        except Exception:  # noqa: BLE001 - no keyring module or no usable backend: not found
            password = None
    if password:
        SECRETS.add(password)
    return password or None


class SmtpTransport:
    name = "smtp"
    rate_limited = True
    batch = 1  # marked sent as soon as the server has taken the message

    def __init__(
        self,
        delivery: Delivery,
        *,
        envelope_from: str,
        password: str | None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.delivery = delivery
        self.envelope_from = envelope_from
        self.password = password
        self.context = ssl_context
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"{self.delivery.smtp_host}:{self.delivery.smtp_port}"

    def _connect(self) -> smtplib.SMTP:
        d = self.delivery
        context = self.context or ssl.create_default_context()
        smtp: smtplib.SMTP
        try:
            if d.smtp_security is SmtpSecurity.TLS:
                smtp = smtplib.SMTP_SSL(
                    d.smtp_host, d.smtp_port, timeout=self.timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(d.smtp_host, d.smtp_port, timeout=self.timeout)
            smtp.ehlo()
            if d.smtp_security is SmtpSecurity.STARTTLS:
                smtp.starttls(context=context)
                smtp.ehlo()
        except ssl.SSLError as exc:
            raise SendError(
                f"smtp: TLS with {self.where} failed: {exc.reason or 'handshake'} "
                "(check smtp_host, smtp_port and smtp_security)",
                transient=False,
                down=True,
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise SendError(
                f'smtp: {self.where} does not offer STARTTLS (use smtp_security = "tls")',
                transient=False,
                down=True,
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise _response_error(exc.smtp_code, "connect", self.where) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise _connection_error(exc, self.where) from None
        if d.smtp_username:
            if not self.password:
                smtp.close()
                raise SendError(
                    f"smtp: no password for {d.smtp_username} (set {PASSWORD_ENV} or store it "
                    f"with `keyring set {KEYRING_SERVICE} {d.smtp_username}`)",
                    transient=False,
                    down=True,
                )
            if d.smtp_security is SmtpSecurity.NONE and not _on_this_machine(smtp):
                smtp.close()
                raise SendError(
                    f"smtp: will not send the password for {d.smtp_username} in clear text to "
                    f'{self.where} (smtp_security = "none" is for a relay on this machine; '
                    'set smtp_security = "starttls" or "tls")',
                    transient=False,
                    down=True,
                )
            try:
                smtp.login(d.smtp_username, self.password)
            except smtplib.SMTPAuthenticationError as exc:
                smtp.close()
                raise SendError(
                    f"smtp: {self.where} refused the login for {d.smtp_username} "
                    f"({exc.smtp_code}; for Gmail use an app password)",
                    transient=False,
                    down=True,
                ) from None
            except smtplib.SMTPNotSupportedError:
                smtp.close()
                raise SendError(
                    f"smtp: {self.where} offers no AUTH (before TLS?)", transient=False, down=True
                ) from None
            except (OSError, smtplib.SMTPException) as exc:
                smtp.close()
                raise _connection_error(exc, self.where) from None
        return smtp

    def already_delivered(self, row: DeliveryRow) -> bool:
        return False  # SMTP cannot be asked; the ledger is the only record

    def send(self, row: DeliveryRow) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        recipient = row.key.recipient
        rcpt, sender = ascii_domain(recipient), ascii_domain(self.envelope_from)
        # an address with a non-ASCII local part, in the envelope or in the headers (which are then
        # raw UTF-8: mime.Email.as_bytes), can only travel with SMTPUTF8 (RFC 6531)
        utf8 = not (rcpt + sender).isascii() or not row.payload.isascii()
        options = ["SMTPUTF8"] if utf8 else []
        try:
            self._smtp.sendmail(sender, [rcpt], row.payload, mail_options=options)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = exc.recipients.get(rcpt, (550, b""))
            raise _response_error(code, "recipient", recipient, reply) from None
        except smtplib.SMTPSenderRefused as exc:
            self.close()
            raise SendError(
                f"smtp: {self.where} refused the sender {self.envelope_from} ({exc.smtp_code}; "
                "the relay must allow the organizer address)",
                transient=exc.smtp_code < 500,
                down=exc.smtp_code >= 500,
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise SendError(
                f"{recipient}: smtp: {self.where} cannot carry a non-ASCII address (no SMTPUTF8)",
                transient=False,
            ) from None
        except smtplib.SMTPResponseException as exc:  # SMTPDataError and friends
            if exc.smtp_code == 421:  # the server is closing the connection
                self.close()
            raise _response_error(exc.smtp_code, "message", recipient, exc.smtp_error) from None
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise _connection_error(exc, self.where) from None

    def flush(self) -> None:
        return None  # the server has the message: nothing of ours to flush

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None


def _response_error(code: int, stage: str, who: str, reply: bytes | str = b"") -> SendError:
    """The server's refusal, with its own words: "550 5.1.2 … domain not found" tells the
    organizer what to fix, where a bare code does not."""
    said = server_reply(reply)
    said = f": {said}" if said else ""
    if 400 <= code < 500:
        return SendError(f"{who}: smtp {stage}: temporary failure {code}{said}", transient=True)
    return SendError(f"{who}: smtp {stage}: rejected with {code}{said}", transient=False)


_REPLY_LIMIT = 200


def server_reply(reply: bytes | str) -> str:
    """A server's reply text as one short, printable line, with any registered secret masked.

    >>> server_reply(b"5.1.2 <bob@exampel.org>: Recipient address rejected:\\r\\n domain not found")
    '5.1.2 <bob@exampel.org>: Recipient address rejected: domain not found'
    """
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    if len(text) > _REPLY_LIMIT:
        text = text[: _REPLY_LIMIT - 1] + "…"
    return SECRETS.mask(text)


def _on_this_machine(smtp: smtplib.SMTP) -> bool:
    """Whether the connected server's address is a loopback one (by the socket's peer, not the
    configured name: "localhost" may resolve anywhere, 127.0.0.1 cannot)."""
    if smtp.sock is None:
        return False
    try:
        peer = ipaddress.ip_address(str(smtp.sock.getpeername()[0]).split("%")[0])
    except (OSError, ValueError):
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped
    return peer.is_loopback


def _connection_error(exc: BaseException, where: str) -> SendError:
    # smtplib turns a timeout while waiting for a reply into SMTPServerDisconnected("… timed out")
    if isinstance(exc, socket.timeout | TimeoutError) or "timed out" in str(exc):
        what = "timed out"
    elif isinstance(exc, ConnectionRefusedError):
        what = "connection refused"
    elif isinstance(exc, smtplib.SMTPServerDisconnected):
        what = "server disconnected"
    else:
        what = type(exc).__name__
    return SendError(f"smtp: {where}: {what}", transient=True, down=True)
