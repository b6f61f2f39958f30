"""Every kind of email is the same bytes as the email package's generator writes it.

calroulette writes a message's MIME tree itself (:func:`calroulette.invites.mime._tree_bytes`)
instead of through :class:`email.generator.BytesGenerator`, which cost a fifth of rendering a
round. Here each message that the invitation, note, update, cancellation, reminder, "did you
meet?", rematch and account renderers make is caught as it is written, and its tree is written
again by the standard library's generator under the plain ``compat32`` policy with CRLF line
ends: the bytes must be equal, member names with non-ASCII letters, quotes and SMTPUTF8
addresses, signed links and long attachment names included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from calroulette.config import Community
from calroulette.invites import Channel, DeliveryKey, Kind, account, mime, rematch, reminders
from calroulette.invites.email import meeting_emails, round_emails
from calroulette.matching import Meeting, Round, reasons
from calroulette.timeutil import IsoWeek

from .support.mail import PEOPLE, Links, generated, make_community

UTC = dt.UTC
WEEK = IsoWeek(2026, 49)
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
START = dt.datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
# The usual four, and names the header code treats each its own way: quoted, long, SMTPUTF8
MORE = [
    ('Grace "Amazing" Hopper, PhD', "gh@example.org", "Pacific/Chatham", None),
    ("A very long display name that has to be folded " * 2, "long@example.org", "UTC", None),
    ("José Ñúñez", "josé@example.org", "America/Sao_Paulo", None),
]
EMAILS = [address for _, address, _, _ in PEOPLE + MORE]


@pytest.fixture
def community(tmp_path: Path) -> Community:
    return make_community(tmp_path, PEOPLE + MORE)


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[mime.Email, bytes]]]:
    """Each email written while the test runs, with its bytes: the real method, watched."""
    seen: list[tuple[mime.Email, bytes]] = []
    real = mime.Email.as_bytes

    def as_bytes(self: mime.Email) -> bytes:
        wire = real(self)
        seen.append((self, wire))
        return wire

    monkeypatch.setattr(mime.Email, "as_bytes", as_bytes)
    yield seen


def links_for(uids: list[str]) -> dict[str, Links]:
    return {
        e: Links(
            f"https://coffee.example/m/{n}tok",
            f"https://coffee.example/u/{n}tok",
            {uid: f"https://coffee.example/c/{n}/{i}" for i, uid in enumerate(uids)},
        )
        for n, e in enumerate(EMAILS)
    }


def a_round() -> Round:
    pairs = [(a, b) for i, a in enumerate(EMAILS) for b in EMAILS[i + 1 :]]
    meetings = tuple(
        Meeting(
            f"m{n:03d}@calroulette.test",
            tuple(sorted(pair)),
            START + dt.timedelta(minutes=45 * n),
            START + dt.timedelta(minutes=45 * n + 30),
            sequence=n % 3,
        )
        for n, pair in enumerate(pairs)
    )
    left_out = (
        reasons.no_shared_time(EMAILS[0]),
        reasons.cooldown(EMAILS[4], 4),
        reasons.paused(EMAILS[5], None),
    )
    triple = Meeting(
        "t@calroulette.test", tuple(EMAILS[:3]), START, START + dt.timedelta(minutes=30)
    )
    return Round(WEEK, 7, (*meetings, triple), left_out)


def test_every_kind_of_email_is_the_generators_bytes(
    community: Community, written: list[tuple[mime.Email, bytes]]
) -> None:
    round_ = a_round()
    uids = [m.uid for m in round_.meetings]
    links = links_for(uids)
    round_emails(round_, community, now=NOW, links=links, resting=[EMAILS[0]])
    round_emails(round_, community, now=NOW)  # no links: no one-click header, no footer
    first = round_.meetings[0]
    for kind in (Kind.REQUEST, Kind.CANCEL):
        meeting_emails(first, community, WEEK, sequence=2, now=NOW, kind=kind, links=links)
    for recipient in first.members:
        mine = links[recipient]
        reminders.reminder_email(first, community, WEEK, recipient, now=NOW, links=mine)
        answers = reminders.MetLinks(yes="https://coffee.example/y", no="https://coffee.example/n")
        reminders.followup_email(first, community, recipient, answers=answers, now=NOW, links=mine)
        rematch.no_rematch(first, recipient, community, WEEK, channel=Channel.EMAIL, now=NOW)
    for n, (name, email, _, _) in enumerate(PEOPLE + MORE):
        key = DeliveryKey(f"account-{n}", email, Channel.EMAIL, Kind.REQUEST, 0)
        link = f"https://coffee.example/confirm/{n}"
        account.confirm_email(community, name=name, email=email, link=link, key=key, now=NOW)
        account.welcome_email(community, name=name, email=email, manage_link=link, key=key, now=NOW)
        account.link_email(community, name=name, email=email, manage_link=None, key=key, now=NOW)
        account.waiting_email(community, name=name, email=email, key=key, now=NOW)
        account.rejected_email(community, name=name, email=email, key=key, now=NOW)

    kinds = {email.body.get_content_type() for email, _ in written}
    assert kinds == {"multipart/mixed", "multipart/alternative"}  # with and without a calendar
    assert len(written) > 100
    for email, wire in written:
        tree = wire[wire.index(b"\r\nMIME-Version: ") + 2 :]
        assert tree == generated(email.body), email.message_id


def test_long_and_short_parts_are_the_generators_bytes() -> None:
    """The cases no renderer makes today: an empty part, text without a final line end, lone
    CRs and LFs, a single part, folded part headers."""
    leaves = [
        mime.text("plain", ""),
        mime.text("html", "<p>x</p>\r\nno end"),
        mime.binary("application/ics", b"", filename="a long name " * 8 + ".ics"),
        mime.binary("text/calendar", b"BEGIN:VCALENDAR\r\n" * 40),
    ]
    leaves[1].set_payload("a\rb\nc\r\nd")
    for count in range(1, len(leaves) + 1):
        inner = mime.multipart("alternative", leaves[:count], seed=f"<{count}@x>")
        for body in (inner, mime.multipart("mixed", [inner, leaves[0]], seed="<s>", top=True)):
            headers = mime.new_headers()
            headers["Message-ID"] = "<s@x>"
            wire = mime.Email(headers, body).as_bytes()
            assert wire.split(b"\r\n", 1)[1] == generated(body)
