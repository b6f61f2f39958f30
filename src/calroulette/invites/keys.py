"""What a delivery is: its key (meeting, recipient, channel, kind, sequence) and its bytes.

The key is what the ledger records and what makes a delivery happen once: a cancel or an updated
invitation is a new key, never a repeat of an old one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from calroulette.timeutil import IsoWeek


class Kind(StrEnum):
    """What a delivery carries; part of its key, so a cancel never collides with its request."""

    REQUEST = "request"
    CANCEL = "cancel"
    UNMATCHED = "unmatched"
    # a one-off email about a person's account (confirm a sign-up, welcome, a manage link): not
    # part of any round, so week summaries, `history` and `why` leave it out
    ACCOUNT = "account"
    # the week between the invitation and the coffee (issue 18): a reminder shortly before the
    # meeting, and "did you meet?" the day after; one per attendee (or one post) per meeting
    REMINDER = "reminder"
    FOLLOWUP = "followup"
    # a note to a member whose meeting was cancelled by the partner and who could not be given
    # another partner that week
    NO_REMATCH = "no-rematch"


class Channel(StrEnum):
    EMAIL = "email"
    DISCORD = "discord"


@dataclass(frozen=True, slots=True)
class DeliveryKey:
    """One delivery, sent exactly once: (meeting, recipient, channel, kind, sequence)."""

    meeting_uid: str
    recipient: str  # an email, or "webhook" for the Discord channel
    channel: Channel
    kind: Kind
    sequence: int

    def __str__(self) -> str:
        return f"{self.meeting_uid}|{self.recipient}|{self.channel}|{self.kind}|{self.sequence}"

    def message_id(self, domain: str) -> str:
        """``<hash@domain>``: the same for every attempt at this delivery, unique across them."""
        digest = hashlib.sha256(str(self).encode()).hexdigest()[:40]
        return f"<{digest}@{domain or 'calroulette.invalid'}>"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A rendered delivery: the bytes to hand to a transport, and the calendar they carry."""

    key: DeliveryKey
    payload: bytes  # an RFC 5322 message (email) or a JSON body (Discord)
    ics: bytes | None  # the iCalendar object, also written next to outbox files
    message_id: str = ""


def unmatched_uid(week: IsoWeek) -> str:
    """The "meeting" a note to a member left out of ``week`` is keyed by."""
    return f"unmatched-{week}"
