"""Replies from calendar apps: the iTIP REPLY messages in the organizer's mailbox (``[replies]``),
read by `run`. Each new message is read once:

- a reply to one of our meetings, from that meeting's attendee, about its current invitation,
  records the attendee's answer (``store.attendance``, source ``reply``); a decline is acted on
  like "I can't this week" (``service.cant.decline``) while the meeting is still ahead;
- a reply from anyone else ("stranger": the ATTENDEE is not in the meeting, or the message's
  From is not the ATTENDEE's address — compared without case, as Gmail and Outlook change it),
  or about an older invitation (a SEQUENCE below the meeting's: it was moved since), is ignored;
- these are marked handled in the mailbox (a keyword, or ``\\Flagged`` where the folder keeps no
  keywords); nothing is ever deleted, moved or marked read;
- everything else (ordinary mail, forwarded invitations, replies to the organizer's own
  meetings) is left exactly as it was; what cannot be read is reported once, the first time.

The ``inbox`` table remembers every message read (by Message-ID), so a message is never handled
twice, even when marking it on the server failed. The From check is a second fence, not
authentication (a From header can be forged): the first is the meeting's UID, which only the
invitation's recipients have.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Any

from calroulette.config import Community
from calroulette.errors import CalrouletteError
from calroulette.inbox import MAX_MESSAGE_BYTES, Envelope, Mailbox, MailboxError, open_mailbox
from calroulette.invites.itip import Answer, Reading, ReadingKind, read_message
from calroulette.matching import Meeting, MeetingStatus
from calroulette.redact import SECRETS
from calroulette.store import AnswerSource, PartStat, Store, open_store
from calroulette.store.inbox import Inbox, InboxOutcome

if TYPE_CHECKING:
    from calroulette.delivery.sender import Sending

SINCE_DAYS = 42  # replies to meetings older than this no longer matter
MAX_ENVELOPES = 2000  # messages looked at per run (headers only)
MAX_READS = 100  # messages read whole per run; the rest wait for the next run


@dataclass(frozen=True, slots=True)
class ReplyNote:
    """One message read for the first time (one note per answer in it)."""

    message: str  # its Message-ID (or where it is, without one)
    sender: str  # its From address
    outcome: InboxOutcome
    uid: str = ""  # the meeting answered
    attendee: str = ""
    partstat: str = ""  # as the app wrote it
    sequence: int | None = None
    detail: str = ""  # the METHOD of a non-reply, why a part was unreadable, …


@dataclass(frozen=True, slots=True)
class RepliesReport:
    """What reading the mailbox did in one run."""

    configured: bool  # False: no [replies] in members.toml, nothing was read
    notes: tuple[ReplyNote, ...] = ()
    problems: tuple[str, ...] = ()  # one line each, safe to show; reported once each
    waiting: int = 0  # new messages left for the next run (per-run limits)
    mark: str = ""  # the flag handled messages get
    declines: tuple[Any, ...] = ()  # what service.cant.decline returned, per decline acted on

    @property
    def counts(self) -> dict[InboxOutcome, int]:
        """Answers (and other messages) read this run, by outcome."""
        return dict(Counter(n.outcome for n in self.notes))

    @property
    def recorded(self) -> int:
        """Answers recorded this run (declines included)."""
        return sum(n.outcome in (InboxOutcome.RECORDED, InboxOutcome.DECLINED) for n in self.notes)

    @property
    def declined(self) -> int:
        """Declines acted on this run."""
        return sum(n.outcome is InboxOutcome.DECLINED for n in self.notes)

    @property
    def unreadable(self) -> int:
        """Messages found unreadable (or too large) this run: reported now, never again."""
        bad = (InboxOutcome.UNREADABLE, InboxOutcome.TOO_LARGE)
        return sum(n.outcome in bad for n in self.notes)


def read_replies(
    community: Community, *, now: dt.datetime, how: Sending | None = None
) -> RepliesReport:
    """Read the new messages of the ``[replies]`` mailbox and act on the answers in them.

    Never raises for the mailbox: a missing password, a refused login or an untrusted
    certificate is one line in :attr:`RepliesReport.problems`, and `run` goes on."""
    settings = community.replies
    if settings is None:
        return RepliesReport(configured=False)
    password = os.environ.get(settings.imap_password_env, "")
    if not password:
        return RepliesReport(
            configured=True,
            problems=(
                f"replies: ${settings.imap_password_env} is not set (the IMAP password of "
                f"{settings.imap_username} at {settings.imap_host}; set it in the environment "
                "`run` starts with)",
            ),
        )
    SECRETS.add(password)
    reader = _Reader(community, now=now, how=how)
    try:
        with open_store(community.database) as store, open_mailbox(settings, password) as box:
            reader.read(store, box)
    except MailboxError as exc:
        reader.problems.append(SECRETS.mask(str(exc)))
    return reader.report()


@dataclass
class _Reader:
    community: Community
    now: dt.datetime
    how: Sending | None
    notes: list[ReplyNote] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    declines: list[Any] = field(default_factory=list)
    waiting: int = 0
    mark: str = ""

    def report(self) -> RepliesReport:
        return RepliesReport(
            True, tuple(self.notes), tuple(self.problems), self.waiting, self.mark,
            tuple(self.declines),
        )  # fmt: skip

    def read(self, store: Store, box: Mailbox) -> None:
        self.mark = box.mark
        inbox = store.inbox
        uids = box.unmarked((self.now - dt.timedelta(days=SINCE_DAYS)).date())
        self.waiting += max(0, len(uids) - MAX_ENVELOPES)
        reads = 0
        for envelope in box.envelopes(uids[:MAX_ENVELOPES]):
            key = envelope.message_id or f"imap:{box.folder}:{box.validity}:{envelope.uid}"
            seen = inbox.seen(key)
            if seen is not None:
                if seen.outcome.ours:  # handled before, but marking it failed then
                    box.mark_handled(envelope.uid)
                continue
            if envelope.size > MAX_MESSAGE_BYTES:
                self._too_large(store, inbox, key, envelope)
                continue
            if reads >= MAX_READS:
                self.waiting += 1
                continue
            reads += 1
            raw = box.read(envelope.uid)
            if raw is None:  # gone since the search
                continue
            if len(raw) > MAX_MESSAGE_BYTES:
                self._too_large(store, inbox, key, envelope)
                continue
            if self._handle(store, inbox, key, read_message(raw)):
                box.mark_handled(envelope.uid)

    # --- one message ------------------------------------------------------------------------

    def _handle(self, store: Store, inbox: Inbox, key: str, reading: Reading) -> bool:
        """Act on one new message; True when it is to be marked handled."""
        if reading.kind is not ReadingKind.REPLY:
            outcome = {
                ReadingKind.NOT_ITIP: InboxOutcome.NOT_ITIP,
                ReadingKind.OTHER_METHOD: InboxOutcome.NOT_REPLY,
                ReadingKind.UNREADABLE: InboxOutcome.UNREADABLE,
            }[reading.kind]
            detail = reading.method or reading.detail
            with store.transaction():
                inbox.record(key, outcome, detail=detail, at=self.now)
            self.notes.append(ReplyNote(key, reading.sender, outcome, detail=detail))
            if outcome is InboxOutcome.UNREADABLE:
                self.problems.append(
                    f"replies: the message {key or '(no Message-ID)'} from "
                    f"{reading.sender or 'an unknown sender'} has a calendar part that cannot be "
                    f"read ({reading.detail}); it is left in the mailbox, unflagged"
                )
            return False
        outcomes = [self._answer(store, key, reading, a) for a in reading.answers]
        if None in outcomes:  # a decline to retry next run: not recorded as read, not marked
            return False
        final = _strongest([o for o in outcomes if o is not None])
        with store.transaction():
            inbox.record(key, final, at=self.now)
        return final.ours

    def _answer(
        self, store: Store, key: str, reading: Reading, answer: Answer
    ) -> InboxOutcome | None:
        """Decide on one answer, record it, and note it; None when a decline failed and the
        message must be read again next run."""
        meeting = _meeting(store, answer.uid)
        outcome, detail = self._judge(meeting, reading, answer)
        sequence = min(answer.sequence, meeting.sequence) if meeting else answer.sequence
        if outcome is InboxOutcome.RECORDED and meeting is not None:
            partstat = PartStat(answer.partstat)
            if partstat is PartStat.DECLINED and _ahead(meeting, self.now):
                if not self._decline(meeting, answer.attendee, sequence):
                    return None
                outcome = InboxOutcome.DECLINED
            with store.transaction():
                recorded = store.attendance.answer(
                    meeting.uid,
                    answer.attendee,
                    partstat,
                    sequence=sequence,
                    source=AnswerSource.REPLY,
                    at=answer.dtstamp or self.now,
                )
            if not recorded and outcome is InboxOutcome.RECORDED:
                outcome, detail = InboxOutcome.STALE, "a later answer is recorded"
        self.notes.append(
            ReplyNote(
                key, reading.sender, outcome, answer.uid, answer.attendee, answer.partstat,
                answer.sequence, detail,
            )
        )  # fmt: skip
        return outcome

    def _judge(
        self, meeting: Meeting | None, reading: Reading, answer: Answer
    ) -> tuple[InboxOutcome, str]:
        if meeting is None:
            return InboxOutcome.UNKNOWN, "not one of our meetings"
        if answer.attendee not in {m.lower() for m in meeting.members}:
            return InboxOutcome.STRANGER, "not an attendee of the meeting"
        if reading.sender != answer.attendee:
            return InboxOutcome.STRANGER, f"sent from {reading.sender or 'no address'}"
        if answer.sequence < meeting.sequence:
            return InboxOutcome.STALE, f"about invitation {answer.sequence} of {meeting.sequence}"
        if answer.partstat not in PartStat.__members__:
            return InboxOutcome.NO_ANSWER, answer.partstat
        return InboxOutcome.RECORDED, ""

    def _decline(self, meeting: Meeting, email: str, sequence: int) -> bool:
        """Act on a decline like the "can't make it" link; False to try again next run."""
        try:  # written with the "can't make it" page (service.cant.decline)
            decline = import_module(".cant", __package__).decline
        except (ImportError, AttributeError):
            self.problems.append(
                f"replies: {email} declined meeting {meeting.uid[:8]} from their calendar app, "
                "but this calroulette cannot act on declines yet; it will be read again"
            )
            return False
        try:
            result = decline(
                self.community,
                meeting.uid,
                email,
                now=self.now,
                source=AnswerSource.REPLY,
                sequence=sequence,
                how=self.how,
            )
        except CalrouletteError as exc:
            self.problems.append(
                f"replies: {email} declined meeting {meeting.uid[:8]}, but acting on it failed "
                f"({SECRETS.mask(str(exc))}); it will be tried again"
            )
            return False
        self.declines.append(result)
        return True

    def _too_large(self, store: Store, inbox: Inbox, key: str, envelope: Envelope) -> None:
        detail = f"{envelope.size // 1024} KB"
        with store.transaction():
            inbox.record(key, InboxOutcome.TOO_LARGE, detail=detail, at=self.now)
        self.notes.append(ReplyNote(key, "", InboxOutcome.TOO_LARGE, detail=detail))
        self.problems.append(
            f"replies: the message {key} is too large to read ({detail}, more than "
            f"{MAX_MESSAGE_BYTES // (1024 * 1024)} MB); it is left in the mailbox, unflagged"
        )


def _meeting(store: Store, uid: str) -> Meeting | None:
    """The meeting whose UID is exactly ``uid`` (``find`` also matches prefixes and emails)."""
    if not uid:
        return None
    found = [f.meeting for f in store.rounds.find(uid) if f.meeting.uid == uid]
    return found[0] if found else None


def _ahead(meeting: Meeting, now: dt.datetime) -> bool:
    """Still to come and going ahead: a decline can still change something."""
    return meeting.status is not MeetingStatus.CANCELLED and meeting.start > now


_ORDER = [
    InboxOutcome.DECLINED,
    InboxOutcome.RECORDED,
    InboxOutcome.STALE,
    InboxOutcome.NO_ANSWER,
    InboxOutcome.STRANGER,
    InboxOutcome.UNKNOWN,
]


def _strongest(outcomes: list[InboxOutcome]) -> InboxOutcome:
    """What a message with several answers was, for the inbox table."""
    return min(outcomes, key=_ORDER.index) if outcomes else InboxOutcome.UNKNOWN
