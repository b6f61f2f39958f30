"""invites/itip.py: the answers in replies shaped like those of Gmail, Outlook, Apple Calendar and
Thunderbird (fixtures/replies/, see its README), and what is not a reply."""

from __future__ import annotations

import datetime as dt

import pytest

from calroulette.invites.itip import ReadingKind, read_message
from tests.support.imap import reply

UID = "5f0c1e7a9b2d4c6e8a0b1c2d3e4f5a6b@calroulette.example.org"
GRACE = "grace@example.org"
COMMON = {"uid": UID, "organizer": "coffee@example.org", "message_id": "m1@example.org"}
CLIENTS = [
    ("gmail_reply", {}),
    ("outlook_reply", {"from": GRACE}),
    ("outlook_decline_method_inside", {"from": GRACE}),
    ("apple_reply", {}),
    ("apple_ical3_reply", {}),
    ("thunderbird_reply", {}),
    ("thunderbird_compat_reply", {}),
]


@pytest.mark.parametrize(("name", "extra"), CLIENTS)
@pytest.mark.parametrize("partstat", ["ACCEPTED", "DECLINED", "TENTATIVE"])
def test_each_client_reply_gives_its_answer(
    name: str, extra: dict[str, str], partstat: str
) -> None:
    raw = reply(name, attendee=GRACE, sequence=2, partstat=partstat, **COMMON, **extra)
    reading = read_message(raw)
    assert reading.kind is ReadingKind.REPLY
    assert reading.sender == GRACE
    assert reading.message_id == "<m1@example.org>"
    [answer] = reading.answers  # Gmail and Thunderbird send it twice: one answer
    assert (answer.uid, answer.attendee, answer.partstat, answer.sequence) == (
        UID,
        GRACE,
        partstat,
        2,
    )
    assert answer.dtstamp is not None and answer.dtstamp.tzinfo is not None
    assert answer.dtstamp.utcoffset() == dt.timedelta(0)


def test_addresses_are_compared_without_case() -> None:
    """Outlook writes MAILTO: and keeps the case people typed; Gmail lower-cases."""
    raw = reply("outlook_reply", attendee="Grace@Example.ORG", partstat="ACCEPTED", sequence=0,
                **COMMON, **{"from": "GRACE@example.org"})  # fmt: skip
    reading = read_message(raw)
    assert reading.sender == GRACE
    assert reading.answers[0].attendee == GRACE


def test_missing_sequence_means_zero() -> None:
    raw = reply("thunderbird_compat_reply", attendee=GRACE, partstat="ACCEPTED", sequence=0,
                **COMMON).replace(b"SEQUENCE:0\r\n", b"")  # fmt: skip
    assert read_message(raw).answers[0].sequence == 0


def test_forwarded_invitation_is_not_a_reply() -> None:
    raw = reply("junk_forwarded_invitation", attendee=GRACE, sequence=0, **COMMON)
    reading = read_message(raw)
    assert (reading.kind, reading.method, reading.answers) == (
        ReadingKind.OTHER_METHOD,
        "REQUEST",
        (),
    )


def test_counter_is_not_a_reply() -> None:
    raw = reply("thunderbird_compat_reply", attendee=GRACE, partstat="ACCEPTED", sequence=0,
                **COMMON).replace(b"METHOD:REPLY", b"METHOD:COUNTER")  # fmt: skip
    assert read_message(raw).kind is ReadingKind.OTHER_METHOD


def test_plain_email_is_not_itip_even_when_it_quotes_a_method() -> None:
    reading = read_message(reply("junk_not_itip", **COMMON))
    assert reading.kind is ReadingKind.NOT_ITIP


def test_broken_calendar_is_unreadable_in_our_words() -> None:
    reading = read_message(reply("junk_unreadable", attendee=GRACE, **COMMON))
    assert reading.kind is ReadingKind.UNREADABLE
    assert reading.detail == "a calendar part that is not valid iCalendar"


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ((b"UID:" + UID.encode() + b"\r\n", b""), "a REPLY without a UID"),
        ((b"SEQUENCE:0", b"SEQUENCE:two"), "a REPLY with a SEQUENCE that is not a number"),
        ((b"ATTENDEE;", b"X-ATTENDEE;"), "a REPLY without an ATTENDEE"),
    ],
)
def test_reply_missing_what_matters_is_unreadable(change: tuple[bytes, bytes], why: str) -> None:
    raw = reply("thunderbird_compat_reply", attendee=GRACE, partstat="ACCEPTED", sequence=0,
                **COMMON).replace(*change)  # fmt: skip
    reading = read_message(raw)
    assert (reading.kind, reading.detail) == (ReadingKind.UNREADABLE, why)


def test_attached_message_is_not_looked_into() -> None:
    """A reply forwarded as an attachment was said by someone else."""
    inner = reply("thunderbird_compat_reply", attendee=GRACE, partstat="DECLINED", sequence=0,
                  **COMMON)  # fmt: skip
    raw = (
        b"From: mallory@example.net\r\nTo: coffee@example.org\r\nSubject: Fwd\r\n"
        b"Message-ID: <fwd@example.net>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain\r\n\r\nsee attached\r\n--b\r\n"
        b"Content-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--b--\r\n"
    )
    assert read_message(raw).kind is ReadingKind.NOT_ITIP


def test_garbage_bytes_are_not_itip() -> None:
    assert read_message(b"\x00\xff\xfe garbage").kind is ReadingKind.NOT_ITIP


@pytest.mark.parametrize(
    ("permanent", "mark"),
    [
        ([b"(\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)"], "$CalrouletteDone"),
        ([b"(\\Answered \\Flagged \\Deleted \\Seen \\Draft $CalrouletteDone)"], "$CalrouletteDone"),
        ([b"(\\Answered \\Flagged \\Deleted \\Seen \\Draft)"], "\\Flagged"),
        ([None], "$CalrouletteDone"),  # no PERMANENTFLAGS: every flag can be kept (RFC 3501)
    ],
)
def test_handled_mark_falls_back_to_flagged_without_keywords(
    permanent: list[bytes | None], mark: str
) -> None:
    from calroulette.inbox.mailbox import choose_mark

    assert choose_mark(permanent) == mark
