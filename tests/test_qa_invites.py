"""Acceptance checks of the invitations as written to the outbox by the CLI, read back as a mail
client would (email + icalendar), after match → send → reschedule → cancel."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import re
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from typer.testing import CliRunner

from calroulette.cli import app
from calroulette.timeutil import parse_utc

from .conftest import demo_config_text

runner = CliRunner()
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


def parts(message: EmailMessage) -> dict[str, EmailMessage]:
    found: dict[str, EmailMessage] = {}
    for part in message.walk():
        assert isinstance(part, EmailMessage)
        found.setdefault(part.get_content_type(), part)
    return found


def event(message: EmailMessage) -> tuple[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(parts(message)["text/calendar"].get_content())
    (vevent,) = calendar.walk("VEVENT")
    return str(calendar["METHOD"]), vevent


def clock(instant: str, zone: str) -> str:
    return parse_utc(instant).astimezone(ZoneInfo(zone)).strftime("%H:%M")


def test_every_invitation_meets_the_issue_literally(config: Path) -> None:
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
            cal_part = parts(msg)["text/calendar"]
            assert cal_part.get_param("method") == "REQUEST"
            assert str(cal_part.get_param("charset")).upper() == "UTF-8"
            attachment = list(msg.iter_parts())[1]
            assert attachment.get_filename() == "invite.ics"
            assert attachment.get_payload(decode=True) == cal_part.get_payload(decode=True)
            method, vevent = event(msg)
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
            text = parts(msg)["text/plain"].get_content()
            html = parts(msg)["text/html"].get_content()
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
    """Moving a meeting to 10 minutes after one of its alternatives: the updated invitation
    must not offer that alternative (it overlaps the new time) as "also works"."""
    round_ = json.loads(cli("match", "--json", "-c", str(config))[1])
    assert cli("send", "-c", str(config))[0] == 0
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
        _, vevent = event(msg)
        assert vevent["SEQUENCE"] == 1 and vevent.decoded("DTSTART") == to
        text = parts(msg)["text/plain"].get_content()
        assert clock(alt_start, ZONES[who]) not in text, text
