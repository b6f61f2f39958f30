"""Invitations: the iCalendar object and one email per recipient, in the recipient's zone; and
the invitations as the CLI writes them to the outbox, read back as a mail client would (email +
icalendar) after match → send → reschedule."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import re
import urllib.parse
from dataclasses import replace
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from typer.testing import CliRunner

from calroulette import invites
from calroulette.cli import app
from calroulette.config import Community
from calroulette.intervals import Interval
from calroulette.invites import Channel, DeliveryKey, Kind, Outgoing, mime
from calroulette.matching import Meeting, Round, reasons
from calroulette.timeutil import IsoWeek, parse_utc

from .support import demo_config_text
from .support.mail import make_community

UTC = dt.UTC
WEEK = IsoWeek(2026, 49)
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
START = dt.datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # Tuesday
MEETING = Meeting(
    uid="m-49-ada-grace@calroulette.test",
    members=("ada@example.org", "grace@example.org"),
    start=START,
    end=START + dt.timedelta(minutes=30),
    alternatives=(
        Interval(
            dt.datetime(2026, 12, 2, 15, 0, tzinfo=UTC),
            dt.datetime(2026, 12, 2, 15, 30, tzinfo=UTC),
        ),
        Interval(
            dt.datetime(2026, 12, 3, 9, 0, tzinfo=UTC),
            dt.datetime(2026, 12, 3, 9, 30, tzinfo=UTC),
        ),
    ),
)


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def calendar_part(msg: EmailMessage) -> tuple[EmailMessage, icalendar.Calendar]:
    part = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
    return part, icalendar.Calendar.from_ical(part.get_payload(decode=True))  # type: ignore[arg-type]


def body_text(msg: EmailMessage) -> str:
    part = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
    return str(part.get_content())


@pytest.fixture
def community(tmp_path: Path) -> Community:
    return make_community(tmp_path)


def emails(community: Community, meeting: Meeting = MEETING, **kw: Any) -> dict[str, Outgoing]:
    out = invites.meeting_emails(
        meeting, community, WEEK, sequence=kw.pop("sequence", 0), now=NOW, **kw
    )
    return {o.key.recipient: o for o in out}


def test_calendar_is_an_rfc5546_request_with_every_field(community: Community) -> None:
    link = invites.meeting_link(community, WEEK, MEETING.uid)
    cal = invites.build_calendar(MEETING, community, link=link, sequence=0, dtstamp=NOW)
    parsed = icalendar.Calendar.from_ical(cal.to_ical())
    assert parsed["METHOD"] == "REQUEST"
    assert parsed["VERSION"] == "2.0"
    (event,) = parsed.walk("VEVENT")
    assert event["UID"] == "m-49-ada-grace@calroulette.test"
    assert event["SEQUENCE"] == 0
    assert event.decoded("DTSTAMP") == NOW
    assert event.decoded("DTSTART") == dt.datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert event.decoded("DTEND") == dt.datetime(2026, 12, 1, 14, 30, tzinfo=UTC)
    assert b"DTSTART:20261201T140000Z" in cal.to_ical()
    assert str(event["SUMMARY"]) == "☕ Data Folk Coffee: Ada & Grace"
    assert "Ada Lovelace and Grace Hopper" in str(event["DESCRIPTION"])
    assert str(event["LOCATION"]) == link
    assert str(event["URL"]) == link
    assert str(event["STATUS"]) == "CONFIRMED"
    organizer = event["ORGANIZER"]
    assert str(organizer) == "mailto:coffee@example.org"
    assert organizer.params["CN"] == "Data Folk Coffee"
    attendees = {str(a): a.params for a in event["ATTENDEE"]}
    assert set(attendees) == {"mailto:ada@example.org", "mailto:grace@example.org"}
    assert attendees["mailto:ada@example.org"]["CN"] == "Ada Lovelace"
    for params in attendees.values():
        assert params["ROLE"] == "REQ-PARTICIPANT"
        assert params["PARTSTAT"] == "NEEDS-ACTION"
        assert params["RSVP"] == "TRUE"


def test_calendar_bytes_are_reproducible(community: Community) -> None:
    """The same meeting, sequence and stamp give the same bytes (no random UID on VCALENDAR)."""
    a = emails(community)["ada@example.org"].ics
    b = emails(community)["ada@example.org"].ics
    assert a == b
    assert a is not None and a.count(b"UID:") == 1


def test_default_link_is_a_url_safe_jitsi_room_without_the_uid(community: Community) -> None:
    link = invites.meeting_link(community, WEEK, MEETING.uid)
    assert link.startswith("https://meet.jit.si/data-folk-coffee-")
    room = link.rsplit("/", 1)[1]
    assert urllib.parse.quote(room, safe="") == room
    assert "calroulette" not in room and "@" not in link
    assert len(room) >= len("data-folk-coffee-") + 20  # ≥ 100 bits of token
    assert invites.meeting_link(community, WEEK, "another-uid") != link


def test_custom_link_template_fills_week_and_community(community: Community) -> None:
    custom = replace(community, meeting_link="https://meet.example.org/{community}/{week}/{uid}")
    link = invites.meeting_link(custom, WEEK, MEETING.uid)
    assert link.startswith("https://meet.example.org/data-folk-coffee/2026-W49/")
    assert link.rsplit("/", 1)[1].isalnum()


def test_one_email_per_recipient_addressed_to_that_recipient_only(community: Community) -> None:
    out = emails(community)
    assert set(out) == {"ada@example.org", "grace@example.org"}
    ada, grace = parse(out["ada@example.org"].payload), parse(out["grace@example.org"].payload)
    assert ada["To"] == "Ada Lovelace <ada@example.org>"
    assert grace["To"] == "Grace Hopper <grace@example.org>"
    for msg in (ada, grace):
        assert msg["From"] == "Data Folk Coffee <coffee@example.org>"
        assert msg["Reply-To"] == "Ada Lovelace <ada@example.org>, Grace Hopper <grace@example.org>"
        assert msg["Date"] == "Tue, 24 Nov 2026 12:00:00 +0000"
        assert msg["List-Unsubscribe"] == "<mailto:coffee@example.org?subject=unsubscribe>"
        assert msg["Message-ID"].endswith("@example.org>")
        assert "Cc" not in msg and "Bcc" not in msg
    assert ada["Message-ID"] != grace["Message-ID"]
    # deterministic: a re-render after a crash carries the same Message-ID
    assert parse(emails(community)["ada@example.org"].payload)["Message-ID"] == ada["Message-ID"]


def test_mime_is_mixed_alternative_with_calendar_and_attachment(
    community: Community,
) -> None:
    msg = parse(emails(community)["ada@example.org"].payload)
    assert msg.get_content_type() == "multipart/mixed"
    alternative, attachment = msg.get_payload()  # type: ignore[misc]
    assert alternative.get_content_type() == "multipart/alternative"
    types = [p.get_content_type() for p in alternative.get_payload()]
    assert types == ["text/plain", "text/html", "text/calendar"]
    cal_part = alternative.get_payload()[2]
    assert cal_part.get_param("method") == "REQUEST"
    assert cal_part.get_param("charset").upper() == "UTF-8"
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_payload(decode=True) == cal_part.get_payload(decode=True)
    cal = icalendar.Calendar.from_ical(attachment.get_payload(decode=True))
    assert cal["METHOD"] == "REQUEST"


def test_each_email_speaks_in_the_recipients_zone(community: Community) -> None:
    """14:00Z on Tue 1 Dec 2026: 14:00 GMT in London, 09:00 EST in New York (hand-derived)."""
    out = emails(community)
    ada = parse(out["ada@example.org"].payload)
    text = body_text(ada)
    assert "Hi Ada," in text
    assert "Grace Hopper" in text
    assert "When: Tuesday 1 December 2026, 14:00–14:30 GMT (London time)" in text
    assert "Grace: 09:00 on Tuesday in New York (EST)" in text
    assert "Wednesday 2 December 2026, 15:00–15:30 GMT" in text
    assert "Thursday 3 December 2026, 09:00–09:30 GMT" in text
    assert invites.meeting_link(community, WEEK, MEETING.uid) in text
    assert "reply to all" in text.lower()
    assert ada["Subject"] == "☕ Data Folk Coffee: Ada & Grace · Tue 1 Dec, 14:00 GMT"

    grace = body_text(parse(out["grace@example.org"].payload))
    assert "When: Tuesday 1 December 2026, 09:00–09:30 EST (New York time)" in grace
    assert "Ada: 14:00 on Tuesday in London (GMT)" in grace
    assert "Wednesday 2 December 2026, 10:00–10:30 EST" in grace
    assert "Thursday 3 December 2026, 04:00–04:30 EST" in grace


def test_half_hour_zone_and_non_ascii_names_are_encoded(community: Community) -> None:
    """Zoë Ødegård in Kolkata (+05:30): 19:30 IST; her name is RFC 2047-encoded in headers."""
    meeting = replace(MEETING, members=("ada@example.org", "zoe@example.org"), alternatives=())
    out = emails(community, meeting)
    raw = out["zoe@example.org"].payload
    head = raw.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")  # every header is 7-bit
    assert b"=?utf-8?" in head
    msg = parse(raw)
    assert msg["To"] == "Zoë Ødegård <zoe@example.org>"
    assert "Tuesday 1 December 2026, 19:30–20:00 IST (Kolkata time)" in body_text(msg)
    assert "Ada: 14:00 on Tuesday in London (GMT)" in body_text(msg)
    assert "Other times" not in body_text(msg)
    _, cal = calendar_part(msg)
    (event,) = cal.walk("VEVENT")
    assert str(event["SUMMARY"]) == "☕ Data Folk Coffee: Ada & Zoë"
    assert {a.params["CN"] for a in event["ATTENDEE"]} == {"Ada Lovelace", "Zoë Ødegård"}


def test_a_line_break_in_a_name_cannot_inject_a_header(community: Community) -> None:
    evil = replace(community.members[0], name="Ada\r\nBcc: victim@example.com")
    bad = replace(community, members=(evil, *community.members[1:]))
    with pytest.raises(ValueError, match=r"linefeed|carriage|CR|LF"):
        emails(bad)


def test_triples_name_everyone(community: Community) -> None:
    meeting = replace(MEETING, members=("ada@example.org", "alan@example.org", "grace@example.org"))
    out = emails(community, meeting)
    assert len(out) == 3
    alan = parse(out["alan@example.org"].payload)
    assert alan["Subject"].startswith("☕ Data Folk Coffee: Ada, Alan & Grace")
    text = body_text(alan)
    assert "Tuesday 1 December 2026, 15:00–15:30 CET (Berlin time)" in text
    assert "Ada Lovelace and Grace Hopper" in text
    assert len(alan["Reply-To"].addresses) == 3


def test_cancel_is_method_cancel_same_uid_and_status_cancelled(community: Community) -> None:
    out = emails(community, kind=Kind.CANCEL, sequence=1)
    msg = parse(out["grace@example.org"].payload)
    assert msg["Subject"].startswith("Cancelled: ☕ Data Folk Coffee")
    part, cal = calendar_part(msg)
    assert part.get_param("method") == "CANCEL"
    assert cal["METHOD"] == "CANCEL"
    (event,) = cal.walk("VEVENT")
    assert (str(event["UID"]), event["SEQUENCE"], str(event["STATUS"])) == (
        MEETING.uid,
        1,
        "CANCELLED",
    )
    assert out["grace@example.org"].key.kind is Kind.CANCEL


def test_updated_request_says_so_and_keeps_the_uid(community: Community) -> None:
    moved = replace(
        MEETING, start=START + dt.timedelta(days=1), end=START + dt.timedelta(days=1, minutes=30)
    )
    msg = parse(emails(community, moved, sequence=2)["ada@example.org"].payload)
    assert msg["Subject"].startswith("Updated: ☕ Data Folk Coffee")
    _, cal = calendar_part(msg)
    (event,) = cal.walk("VEVENT")
    assert (str(event["UID"]), event["SEQUENCE"]) == (MEETING.uid, 2)
    assert event.decoded("DTSTART") == dt.datetime(2026, 12, 2, 14, 0, tzinfo=UTC)


def test_delivery_keys_differ_by_kind_sequence_and_recipient() -> None:
    base = DeliveryKey("u", "a@example.org", Channel.EMAIL, Kind.REQUEST, 0)
    others = [
        replace(base, sequence=1),
        replace(base, kind=Kind.CANCEL),
        replace(base, recipient="b@example.org"),
        replace(base, channel=Channel.DISCORD),
    ]
    ids = {k.message_id("example.org") for k in [base, *others]}
    assert len(ids) == 5


def test_unmatched_members_get_a_kind_note_with_the_reason(community: Community) -> None:
    round_ = Round(
        WEEK,
        1,
        (MEETING,),
        (
            reasons.paused("alan@example.org", None),  # their own choice: no note
            replace(reasons.no_shared_time("zoe@example.org"), first_next=True),
        ),
    )
    out = invites.round_emails(round_, community, now=NOW)
    assert [o.key.recipient for o in out] == [
        "ada@example.org",
        "grace@example.org",
        "zoe@example.org",
    ]
    note = out[-1]
    assert note.key.kind is Kind.UNMATCHED and note.ics is None
    msg = parse(note.payload)
    assert msg["To"] == "Zoë Ødegård <zoe@example.org>"
    text = body_text(msg)
    assert "Nobody else was free at the times you marked as free" in text
    assert "no shared free time with anyone" not in text  # the organizer's sentence
    assert "You come first next week" in text
    assert "Monday 30 November (2026-W49)" in text
    assert msg["Subject"] == "Data Folk Coffee: no meeting for you in 2026-W49"
    assert not any(p.get_content_type() == "text/calendar" for p in msg.walk())

    quiet = replace(community, notify_unmatched=False)
    assert len(invites.round_emails(round_, quiet, now=NOW)) == 2


def test_discord_post_mentions_members_and_uses_a_discord_timestamp(community: Community) -> None:
    meeting = replace(MEETING, members=("grace@example.org", "zoe@example.org"))
    post = invites.discord_post(meeting, community, WEEK, sequence=0, now=NOW)
    body = json.loads(post.payload)
    unix = (dt.date(2026, 12, 1) - dt.date(1970, 1, 1)).days * 86400 + 14 * 3600
    assert f"<t:{unix}:F>" in body["content"]
    assert "<@222222222222222222>" in body["content"]
    assert "<@333333333333333333>" in body["content"]
    assert invites.meeting_link(community, WEEK, MEETING.uid) in body["content"]
    assert body["allowed_mentions"] == {
        "parse": [],
        "users": ["222222222222222222", "333333333333333333"],
    }
    assert post.ics is not None and b"METHOD:REQUEST" in post.ics
    # a member without a Discord id is named, not mentioned
    plain = invites.discord_post(MEETING, community, WEEK, sequence=0, now=NOW)
    assert "Ada Lovelace & <@222222222222222222>" in json.loads(plain.payload)["content"]


def test_html_part_escapes_names_and_keeps_query_links_whole(community: Community) -> None:
    odd = replace(community.members[0], name="Ada <b>Bold</b> & Co")
    custom = replace(
        community,
        members=(odd, *community.members[1:]),
        meeting_link="https://meet.example.org/{uid}?lang=en&mute=1",
    )
    msg = parse(emails(custom)["grace@example.org"].payload)
    html_part = next(p for p in msg.walk() if p.get_content_type() == "text/html")
    body = str(html_part.get_content())
    assert "Ada &lt;b&gt;Bold&lt;/b&gt; &amp; Co" in body
    assert "<b>" not in body
    link = invites.meeting_link(custom, WEEK, MEETING.uid)
    assert link.endswith("?lang=en&mute=1")
    assert f'href="{link.replace("&", "&amp;")}"' in body


def test_an_email_renders_to_the_same_bytes_every_time(community: Community) -> None:
    """A message rendered again (a re-run after a crash) is byte for byte the same: its MIME
    boundaries come from the message, not from a random draw."""
    first, again = emails(community), emails(community)
    assert first == again
    ada, grace = first["ada@example.org"].payload, first["grace@example.org"].payload
    boundaries = [parse(raw).get_boundary() for raw in (ada, grace)]
    inner = [parse(raw).get_payload()[0].get_boundary() for raw in (ada, grace)]  # type: ignore[index]
    assert len({*boundaries, *inner}) == 4  # mixed and alternative, two messages: all differ


def test_body_text_can_never_close_a_mime_part() -> None:
    """Text that spells the message's own boundary at the start of a line is encoded
    (quoted-printable writes '=' as '=3D'), so the parts come out whole."""
    seed = "<m-1@example.org>"
    fence = mime.boundary(seed, "mixed")
    text = f"--{fence}--\n--{fence}\nstill the first part\n"
    headers = mime.new_headers()
    headers["Message-ID"] = seed
    body = mime.multipart(
        "mixed", [mime.text("plain", text), mime.text("html", "<p>two</p>")], seed=seed, top=True
    )
    msg = parse(mime.Email(headers, body).as_bytes())
    assert msg.get_boundary() == fence
    assert [p.get_content_type() for p in msg.walk()] == [
        "multipart/mixed",
        "text/plain",
        "text/html",
    ]
    assert body_text(msg).replace("\r\n", "\n") == text


def test_every_line_fits_the_mail_limits(community: Community) -> None:
    """RFC 5322: lines of at most 78 characters; RFC 2045: quoted-printable lines at most 76."""
    long_name = replace(community, name="Data Folk " * 12 + "Coffee")
    for outgoing in emails(long_name).values():
        lines = outgoing.payload.split(b"\r\n")
        assert max(len(line) for line in lines) <= 78
        body = outgoing.payload.split(b"\r\n\r\n", 1)[1]
        assert b"\n" not in body.replace(b"\r\n", b"")  # CRLF only
        assert all(len(line) <= 76 for line in body.split(b"\r\n"))


# --- the outbox after `calroulette match`, `send` and `reschedule` -------------------------------

runner = CliRunner()
# The demo members spread over zones with odd offsets (+05:30, +13:00, -10:00), names beyond Latin-1
ZONES = {
    "ada@example.org": "Asia/Kolkata",
    "grace@example.org": "Pacific/Auckland",
    "alan@example.org": "Europe/Berlin",
    "katherine@example.org": "America/Chicago",
    "edsger@example.org": "Pacific/Honolulu",
    "margaret@example.org": "America/Los_Angeles",
    "linus@example.org": "Europe/Helsinki",
    "radia@example.org": "America/New_York",
}
NAMES = {"Ada Lovelace": "Zoë Ångström-Łukasiewicz", "Alan Turing": "Алан Тьюринг"}


@pytest.fixture
def config(tmp_path: Path, now_env: str) -> Path:
    text = demo_config_text(tmp_path)
    for old, new in NAMES.items():
        text = text.replace(f'name = "{old}"', f'name = "{new}"')
    blocks = text.split("[[members]]")
    for k, block in enumerate(blocks[1:], start=1):
        mail = re.search(r'email = "([^"]+)"', block)
        assert mail
        blocks[k] = re.sub(r'timezone = "[^"]+"', f'timezone = "{ZONES[mail.group(1)]}"', block)
    path = tmp_path / "members.toml"
    path.write_text("[[members]]".join(blocks), encoding="utf-8")
    return path


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def read(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts_by_type(message: EmailMessage) -> dict[str, EmailMessage]:
    """The first part of each content type, the message itself included."""
    found: dict[str, EmailMessage] = {}
    for part in message.walk():
        assert isinstance(part, EmailMessage)
        found.setdefault(part.get_content_type(), part)
    return found


def itip_event(message: EmailMessage) -> tuple[str, icalendar.Event]:
    """The METHOD of the message's calendar part and its one VEVENT."""
    part = parts_by_type(message)["text/calendar"]
    calendar = icalendar.Calendar.from_ical(part.get_content())
    (vevent,) = calendar.walk("VEVENT")
    return str(calendar["METHOD"]), vevent


def clock(instant: str, zone: str) -> str:
    return parse_utc(instant).astimezone(ZoneInfo(zone)).strftime("%H:%M")


def test_every_sent_invitation_reads_as_an_imip_request_in_each_recipients_zone(
    config: Path,
) -> None:
    """Each .eml `send` writes is addressed to one attendee, replies reach every attendee, has a
    unique Message-ID, the MIME tree calendar clients expect, a REQUEST with the meeting's UID,
    times, organizer and attendees, and speaks the meeting's, the partners' and the
    alternatives' times in the recipient's zone. A second `send` writes nothing; `match` shows
    the same round."""
    code, out, err = cli("match", "--json", "-c", str(config))
    assert code == 0, err
    round_ = json.loads(out)
    assert cli("send", "-c", str(config))[0] == 0
    folder = config.parent / "outbox" / round_["week"]
    message_ids: set[str] = set()
    for meeting in round_["meetings"]:
        for who in meeting["members"]:
            (path,) = folder.glob(f"{meeting['uid']}.{who}.request-0.eml")
            msg = read(path)
            assert getaddresses([str(msg["From"])]) == [("Data Folk Coffee", "coffee@example.org")]
            assert [a for _, a in getaddresses([str(msg["To"])])] == [who]
            reply_to = sorted(a for _, a in getaddresses([str(msg["Reply-To"])]))
            assert reply_to == sorted(meeting["members"])
            assert msg["Date"] and "mailto:coffee@example.org" in str(msg["List-Unsubscribe"])
            assert str(msg["Message-ID"]) not in message_ids
            message_ids.add(str(msg["Message-ID"]))
            # multipart/mixed [ multipart/alternative [plain, html, calendar], invite.ics ]
            top = [p.get_content_type() for p in msg.iter_parts()]
            assert msg.get_content_type() == "multipart/mixed"
            assert top[0] == "multipart/alternative" and len(top) == 2
            alternative = next(msg.iter_parts())
            assert isinstance(alternative, EmailMessage)
            inner = [p.get_content_type() for p in alternative.iter_parts()]
            assert inner == ["text/plain", "text/html", "text/calendar"]
            cal_part = parts_by_type(msg)["text/calendar"]
            assert cal_part.get_param("method") == "REQUEST"
            assert str(cal_part.get_param("charset")).upper() == "UTF-8"
            attachment = list(msg.iter_parts())[1]
            assert attachment.get_filename() == "invite.ics"
            assert attachment.get_payload(decode=True) == cal_part.get_payload(decode=True)
            method, vevent = itip_event(msg)
            assert method == "REQUEST"
            assert str(vevent["UID"]) == meeting["uid"] and vevent["SEQUENCE"] == 0
            assert vevent.decoded("DTSTART") == parse_utc(meeting["start"])
            assert vevent.decoded("DTEND") == parse_utc(meeting["end"])
            assert "DTSTAMP" in vevent
            assert str(vevent["ORGANIZER"]).lower() == "mailto:coffee@example.org"
            attendees = vevent["ATTENDEE"]
            attendees = attendees if isinstance(attendees, list) else [attendees]
            assert sorted(str(a).removeprefix("mailto:") for a in attendees) == sorted(
                meeting["members"]
            )
            for a in attendees:
                assert a.params["CN"]
                assert (a.params["ROLE"], a.params["PARTSTAT"], a.params["RSVP"]) == (
                    "REQ-PARTICIPANT",
                    "NEEDS-ACTION",
                    "TRUE",
                )
            assert str(vevent["LOCATION"]) == str(vevent["URL"])
            assert str(vevent["SUMMARY"]).startswith("☕ Data Folk Coffee: ")
            text = parts_by_type(msg)["text/plain"].get_content()
            html = parts_by_type(msg)["text/html"].get_content()
            for body in (text, html):
                assert str(vevent["LOCATION"]) in body
                assert clock(meeting["start"], ZONES[who]) in body
                for other in meeting["members"]:
                    assert clock(meeting["start"], ZONES[other]) in body
                for start, _ in meeting["alternatives"]:
                    assert clock(start, ZONES[who]) in body
    # a second send writes nothing; match shows the same UIDs
    before = sorted(p.name for p in folder.iterdir())
    assert cli("send", "-c", str(config))[0] == 0
    assert sorted(p.name for p in folder.iterdir()) == before
    again = json.loads(cli("match", "--json", "-c", str(config))[1])
    assert [m["uid"] for m in again["meetings"]] == [m["uid"] for m in round_["meetings"]]


def test_an_invitation_never_offers_an_alternative_that_overlaps_its_own_time(
    config: Path,
) -> None:
    """Moving a meeting to 10 minutes after one of its alternatives (on a 10-minute slot grid):
    the updated invitation must not offer that alternative (it overlaps the new time) as "also
    works"."""
    round_ = json.loads(cli("match", "--json", "-c", str(config))[1])
    assert cli("send", "-c", str(config))[0] == 0
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[community]\n", "[community]\nslot_minutes = 10\n"))
    meeting = next(m for m in round_["meetings"] if m["alternatives"])
    alt_start = meeting["alternatives"][0][0]
    to = parse_utc(alt_start) + dt.timedelta(minutes=10)
    code, _, err = cli(
        "reschedule", meeting["uid"], "--to", to.strftime("%Y-%m-%dT%H:%MZ"), "-c", str(config)
    )
    assert code == 0, err  # the demo members are free for at least an hour then
    folder = config.parent / "outbox" / round_["week"]
    for who in meeting["members"]:
        (path,) = folder.glob(f"{meeting['uid']}.{who}.request-1.eml")
        msg = read(path)
        _, vevent = itip_event(msg)
        assert vevent["SEQUENCE"] == 1 and vevent.decoded("DTSTART") == to
        text = parts_by_type(msg)["text/plain"].get_content()
        # the other times are the listed lines (the sentence above may name the old time)
        offered = [line for line in text.splitlines() if line.startswith("  - ")]
        assert not any(clock(alt_start, ZONES[who]) in line for line in offered), text


def test_a_rescheduled_invitation_says_from_when_to_when(config: Path) -> None:
    """`reschedule` moves a meeting to one of its other times: each attendee's updated
    invitation says "moved from <the old time> to <the new time>", both in their own zone
    (every zone here has an abbreviation, the same one all that week)."""
    round_ = json.loads(cli("match", "--json", "-c", str(config))[1])
    assert cli("send", "-c", str(config))[0] == 0
    meeting = next(m for m in round_["meetings"] if m["alternatives"])
    old, to = parse_utc(meeting["start"]), parse_utc(meeting["alternatives"][0][0])
    code, _, err = cli(
        "reschedule", meeting["uid"], "--to", to.strftime("%Y-%m-%dT%H:%MZ"), "-c", str(config)
    )
    assert code == 0, err
    folder = config.parent / "outbox" / round_["week"]
    for who in meeting["members"]:
        zone = ZoneInfo(ZONES[who])
        before, after = old.astimezone(zone), to.astimezone(zone)
        said = (
            f"moved from {before:%a} {before.day} {before:%b}, {before:%H:%M} "
            f"to {after:%a} {after.day} {after:%b}, {after:%H:%M} {after.tzname()}"
        )
        (path,) = folder.glob(f"{meeting['uid']}.{who}.request-1.eml")
        text = " ".join(str(parts_by_type(read(path))["text/plain"].get_content()).split())
        assert said in text, text
