"""The organizer's mailbox over IMAP (RFC 3501), through imaplib: TLS verified (the system's CAs
or ``ca_file``, host name checked), read without changing ``\\Seen`` (``BODY.PEEK``), handled
messages marked with a keyword, never deleted, moved or expunged.

Bounded: one socket timeout per command, a size limit per message, and a count limit per run
(the rest waits for the next run). Every failure is one :class:`MailboxError` line that names the
server and what to do, never the password or the server's raw words beyond one printable line.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import imaplib
import re
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from calroulette.config import Replies
from calroulette.errors import CalrouletteError

KEYWORD = "$CalrouletteDone"  # our mark on a handled message (RFC 3501 keyword, no backslash)
FALLBACK_FLAG = "\\Flagged"  # when the folder cannot keep new keywords
TIMEOUT = 30.0  # seconds for any one network operation
MAX_MESSAGE_BYTES = 2 * 1024 * 1024  # a reply is a few KB; bigger ones are left alone
HEADER_BATCH = 200  # UIDs per FETCH of headers
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class MailboxError(CalrouletteError):
    """The mailbox cannot be read (connection, TLS, login, folder): one line, no secrets."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """What is known of a message before its body is read."""

    uid: int
    message_id: str  # "" when it has none
    size: int  # RFC822.SIZE, bytes


class Mailbox:
    """One selected folder of a logged-in connection; use :func:`open_mailbox`."""

    def __init__(self, conn: imaplib.IMAP4, where: str, folder: str, mark: str, validity: str):
        self._conn = conn
        self.where = where  # "host:port", for messages
        self.folder = folder
        self.mark = mark  # KEYWORD, or FALLBACK_FLAG when the folder cannot keep keywords
        self.validity = validity  # UIDVALIDITY: UIDs mean the same messages while it holds

    def unmarked(self, since: dt.date) -> list[int]:
        """UIDs of the messages not marked handled, not deleted, that arrived on or after
        ``since`` (by the server's arrival date), oldest first."""
        unmarked = ("UNFLAGGED",) if self.mark == FALLBACK_FLAG else ("UNKEYWORD", self.mark)
        day = f"{since.day}-{_MONTHS[since.month - 1]}-{since.year}"
        data = self._ok(self._conn.uid("SEARCH", *unmarked, "UNDELETED", "SINCE", day), "search")
        found = b" ".join(d for d in data if isinstance(d, bytes))
        return sorted(int(n) for n in found.split() if n.isdigit())

    def envelopes(self, uids: Sequence[int]) -> list[Envelope]:
        """Message-ID and size of each of ``uids`` (headers only: cheap, and nothing is marked
        seen)."""
        found: list[Envelope] = []
        for i in range(0, len(uids), HEADER_BATCH):
            batch = ",".join(str(u) for u in uids[i : i + HEADER_BATCH])
            data = self._ok(
                self._conn.uid(
                    "FETCH", batch, "(RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
                ),
                "fetch",
            )
            for item in data:
                if not isinstance(item, tuple) or len(item) < 2:
                    continue
                head, literal = item[0], item[1]
                uid, size = _number(rb"UID (\d+)", head), _number(rb"RFC822\.SIZE (\d+)", head)
                if uid is None:
                    continue
                found.append(Envelope(uid, _message_id(literal), size or 0))
        return sorted(found, key=lambda e: e.uid)

    def read(self, uid: int) -> bytes | None:
        """The whole message (``BODY.PEEK[]``: its ``\\Seen`` flag is left as it was), or None
        when it is gone."""
        data = self._ok(self._conn.uid("FETCH", str(uid), "(BODY.PEEK[])"), "fetch")
        for item in data:
            if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[1], bytes):
                return item[1]
        return None

    def mark_handled(self, uid: int) -> None:
        """Add our mark to the message (never remove, delete or move anything)."""
        self._ok(self._conn.uid("STORE", str(uid), "+FLAGS.SILENT", f"({self.mark})"), "flag")

    def _ok(self, response: tuple[str, list[object]], what: str) -> list[object]:
        status, data = response
        if status != "OK":
            raise MailboxError(f"replies: {self.where}: the server refused to {what} a message")
        return data


@contextmanager
def open_mailbox(
    settings: Replies, password: str, *, timeout: float = TIMEOUT
) -> Iterator[Mailbox]:
    """Connect over TLS (verified), log in, select ``imap_folder``; log out when done."""
    where = f"{settings.imap_host}:{settings.imap_port}"
    context = _tls(settings, where)
    try:
        conn = imaplib.IMAP4_SSL(
            settings.imap_host, settings.imap_port, ssl_context=context, timeout=timeout
        )
    except ssl.SSLCertVerificationError as exc:
        why = _line(exc.verify_message or "certificate not trusted")
        fix = (
            f"is ca_file ({settings.ca_file}) the CA that signed it?"
            if settings.ca_file
            else "set ca_file in [replies] to the CA that signed it"
        )
        raise MailboxError(
            f"replies: {where}: cannot verify the server's TLS certificate ({why}; {fix})"
        ) from None
    except ssl.SSLError as exc:
        raise MailboxError(
            f"replies: {where}: TLS failed ({_line(exc.reason or 'handshake')}; "
            "the port must speak IMAP over TLS, usually 993)"
        ) from None
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(
            f"replies: {where}: cannot connect ({_reason(exc)}; check imap_host and imap_port)"
        ) from None
    try:
        try:
            conn.login(settings.imap_username, password)
        except imaplib.IMAP4.abort:
            raise
        except UnicodeError:  # imaplib sends LOGIN in ASCII
            raise MailboxError(
                f"replies: {where}: the password in ${settings.imap_password_env} has characters "
                "IMAP LOGIN cannot send (use an app password)"
            ) from None
        except imaplib.IMAP4.error:
            raise MailboxError(
                f"replies: {where}: login refused for {settings.imap_username} (check the "
                f"password in ${settings.imap_password_env}; some providers need an app password)"
            ) from None
        yield _select(conn, where, settings.imap_folder)
    except imaplib.IMAP4.abort as exc:
        raise MailboxError(f"replies: {where}: connection lost ({_reason(exc)})") from None
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"replies: {where}: {_reason(exc)}") from None
    finally:
        _close(conn)


def _tls(settings: Replies, where: str) -> ssl.SSLContext:
    """Verification on, host name checked, TLS 1.2 or later; ``ca_file`` replaces the
    system's CAs when set."""
    try:
        context = ssl.create_default_context(
            cafile=str(settings.ca_file) if settings.ca_file else None
        )
    except (OSError, ssl.SSLError):
        raise MailboxError(
            f"replies: {where}: cannot read ca_file {settings.ca_file} (a PEM file of CA "
            "certificates)"
        ) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _select(conn: imaplib.IMAP4, where: str, folder: str) -> Mailbox:
    if not folder.isascii() or any(not c.isprintable() for c in folder):
        raise MailboxError(
            f"replies: {where}: imap_folder must be a plain ASCII folder name (got {folder!r})"
        )
    quoted = '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
    status, _ = conn.select(quoted)
    if status != "OK":
        raise MailboxError(f"replies: {where}: no folder {folder!r} (check imap_folder)")
    _, flags = conn.response("PERMANENTFLAGS")
    _, validity = conn.response("UIDVALIDITY")
    mark = choose_mark(flags)
    value = validity[0] if validity and isinstance(validity[0], bytes) else b""
    return Mailbox(conn, where, folder, mark, value.decode("ascii", "replace"))


def choose_mark(permanent_flags: Sequence[object]) -> str:
    """Our keyword when the folder can keep it (``\\*`` in PERMANENTFLAGS, or the keyword
    already there; no PERMANENTFLAGS at all means every flag can be kept, RFC 3501 §7.1),
    else ``\\Flagged``."""
    found = [f for f in permanent_flags if isinstance(f, bytes)]
    if not found:
        return KEYWORD
    words = b" ".join(found).strip(b"()").lower().split()
    if b"\\*" in words or KEYWORD.encode().lower() in words:
        return KEYWORD
    return FALLBACK_FLAG


def _close(conn: imaplib.IMAP4) -> None:
    try:
        conn.logout()
    except (OSError, imaplib.IMAP4.error):  # the session is over either way
        with suppress(OSError):
            conn.shutdown()


def _number(pattern: bytes, head: object) -> int | None:
    if not isinstance(head, bytes):
        return None
    found = re.search(pattern, head)
    return int(found.group(1)) if found else None


def _message_id(literal: object) -> str:
    if not isinstance(literal, bytes):
        return ""
    value = email.message_from_bytes(literal, policy=email.policy.compat32).get("Message-ID")
    return "".join(c for c in str(value or "").strip() if c.isprintable())[:200]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {TIMEOUT:.0f} s"
    if isinstance(exc, OSError) and exc.strerror:
        return _line(exc.strerror)
    return _line(str(exc) or type(exc).__name__)


def _line(text: str) -> str:
    """The server's or the OS's words, as one short printable line."""
    return "".join(c for c in text if c.isprintable())[:160]
