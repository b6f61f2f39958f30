"""The organizer's mailbox at the edge: iTIP REPLY messages read over IMAP (TLS, verified),
flagged once handled, never deleted (:mod:`.mailbox`). What a message says is read by the pure
:mod:`calroulette.invites.itip`; what it changes is decided by ``service.replies``."""

from .mailbox import (
    FALLBACK_FLAG,
    KEYWORD,
    MAX_MESSAGE_BYTES,
    Envelope,
    Mailbox,
    MailboxError,
    open_mailbox,
)

__all__ = [
    "FALLBACK_FLAG",
    "KEYWORD",
    "MAX_MESSAGE_BYTES",
    "Envelope",
    "Mailbox",
    "MailboxError",
    "open_mailbox",
]
