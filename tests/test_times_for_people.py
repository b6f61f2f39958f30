"""Times as people read them in emails: the zone's abbreviation where it has one, its city where
the tz database only writes an offset, "moved from … to …" in an updated invitation; and the
other times a pair is offered, which include the meeting's own day when that is all they share.

Every expected value below is worked out by hand from the tz rules (2026: the EU changes clocks
on 29 March and 25 October, the US on 8 March and 1 November; Brazil and Argentina keep no
summer time), never printed by the code under test."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import itertools
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from calroulette import invites
from calroulette.intervals import Interval
from calroulette.invites.people import city, clock, moved, short, when, when_here, zone_name
from calroulette.matching import History, Meeting
from calroulette.matching.plan import plan_round
from calroulette.matching.rematch import Candidate, Source, pick_partner
from calroulette.timeutil import IsoWeek

from .support.mail import make_community
from .support.matching import at, community, free, member

UTC = dt.UTC
WINTER = dt.datetime(2026, 12, 10, 13, 0, tzinfo=UTC)  # Thursday 10 December, 13:00Z
SUMMER = dt.datetime(2026, 7, 9, 13, 0, tzinfo=UTC)  # Thursday 9 July, 13:00Z


def local(instant: dt.datetime, zone: str) -> dt.datetime:
    return instant.astimezone(ZoneInfo(zone))


@pytest.mark.parametrize(
    ("zone", "winter", "summer"),
    [
        ("Europe/London", "GMT", "BST"),
        ("Europe/Berlin", "CET", "CEST"),
        ("America/New_York", "EST", "EDT"),
        ("America/Los_Angeles", "PST", "PDT"),
        ("Asia/Tokyo", "JST", "JST"),
        ("Asia/Kolkata", "IST", "IST"),
        ("Australia/Sydney", "AEDT", "AEST"),  # the southern summer is in December
        ("America/Sao_Paulo", "São Paulo time", "São Paulo time"),  # tzdata writes "-03"
        ("America/Argentina/Buenos_Aires", "Buenos Aires time", "Buenos Aires time"),
        ("Asia/Dubai", "Dubai time", "Dubai time"),  # "+04"
        ("America/Bogota", "Bogotá time", "Bogotá time"),  # "-05"
        ("UTC", "UTC", "UTC"),
        ("Etc/GMT-4", "UTC+04:00", "UTC+04:00"),  # POSIX sign: GMT-4 is four hours ahead
        ("Asia/Kathmandu", "Kathmandu time", "Kathmandu time"),  # "+0545"
    ],
)
def test_a_time_is_labelled_by_abbreviation_or_else_by_city(
    zone: str, winter: str, summer: str
) -> None:
    assert zone_name(local(WINTER, zone)) == winter
    assert zone_name(local(SUMMER, zone)) == summer


def test_a_city_is_the_last_part_of_the_zone_name_as_people_write_it() -> None:
    assert city(ZoneInfo("America/Argentina/Buenos_Aires")) == "Buenos Aires"
    assert city(ZoneInfo("America/Sao_Paulo")) == "São Paulo"
    assert city(ZoneInfo("America/Port_of_Spain")) == "Port of Spain"
    assert city(ZoneInfo("UTC")) is None and city(ZoneInfo("Etc/UTC")) is None


def test_the_formats_of_a_time() -> None:
    sao, berlin = ZoneInfo("America/Sao_Paulo"), ZoneInfo("Europe/Berlin")
    end = WINTER + dt.timedelta(minutes=30)
    assert short(WINTER, sao) == "Thu 10 Dec, 10:00 São Paulo time"
    assert short(WINTER, berlin) == "Thu 10 Dec, 14:00 CET"
    assert when(WINTER, end, sao) == "Thursday 10 December 2026, 10:00–10:30 São Paulo time"
    # the reader's own time names their city once, after an abbreviation only
    assert when_here(WINTER, end, berlin) == (
        "Thursday 10 December 2026, 14:00–14:30 CET (Berlin time)"
    )
    assert when_here(WINTER, end, sao) == "Thursday 10 December 2026, 10:00–10:30 São Paulo time"
    assert when_here(WINTER, end, ZoneInfo("UTC")) == "Thursday 10 December 2026, 13:00–13:30 UTC"
    # a partner's local time
    assert clock(WINTER, berlin) == "14:00 on Thursday in Berlin (CET)"
    assert clock(WINTER, sao) == "10:00 on Thursday in São Paulo"
    assert clock(WINTER, ZoneInfo("UTC")) == "13:00 on Thursday (UTC)"


def test_a_move_names_both_times_and_the_zone_once_unless_it_changed() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    tuesday = dt.datetime(2026, 12, 8, 13, 0, tzinfo=UTC)
    thursday = dt.datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
    assert (
        moved(tuesday, thursday, berlin) == "moved from Tue 8 Dec, 14:00 to Thu 10 Dec, 10:00 CET"
    )
    # across the change to summer time (Sunday 29 March 2026 in the EU)
    saturday = dt.datetime(2026, 3, 28, 9, 0, tzinfo=UTC)
    monday = dt.datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
    assert moved(saturday, monday, berlin) == (
        "moved from Sat 28 Mar, 10:00 CET to Mon 30 Mar, 11:00 CEST"
    )


# --- in the emails ------------------------------------------------------------------------------

WEEK = IsoWeek(2026, 50)  # Monday 7 December
THURSDAY = dt.datetime(2026, 12, 10, 13, 0, tzinfo=UTC)


def _parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _plain(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def test_a_zone_without_an_abbreviation_reads_as_its_city_in_subject_and_body(
    tmp_path: Path,
) -> None:
    """Ana in São Paulo (UTC-3 all year) and Finn in Berlin: 13:00Z is 10:00 for Ana."""
    people = [
        ("Ana Souza", "ana@example.org", "America/Sao_Paulo", None),
        ("Finn Weber", "finn@example.org", "Europe/Berlin", None),
    ]
    coffee = replace(make_community(tmp_path, people), name="Coffee")
    meeting = Meeting(
        "m@test",
        ("ana@example.org", "finn@example.org"),
        THURSDAY,
        THURSDAY + dt.timedelta(minutes=30),
    )
    out = {
        o.key.recipient: _parse(o.payload)
        for o in invites.meeting_emails(meeting, coffee, WEEK, sequence=0, now=THURSDAY)
    }
    ana, finn = out["ana@example.org"], out["finn@example.org"]
    assert ana["Subject"] == "☕ Coffee: Ana & Finn · Thu 10 Dec, 10:00 São Paulo time"
    assert finn["Subject"] == "☕ Coffee: Ana & Finn · Thu 10 Dec, 14:00 CET"
    assert "When: Thursday 10 December 2026, 10:00–10:30 São Paulo time\n" in _plain(ana)
    assert "Finn: 14:00 on Thursday in Berlin (CET)" in _plain(ana)
    assert "Ana: 10:00 on Thursday in São Paulo" in _plain(finn)
    for message in (ana, finn):
        assert "-03" not in str(message["Subject"]) + _plain(message)


def test_an_updated_invitation_says_from_when_to_when(tmp_path: Path) -> None:
    people = [
        ("Ana Souza", "ana@example.org", "America/Sao_Paulo", None),
        ("Finn Weber", "finn@example.org", "Europe/Berlin", None),
    ]
    coffee = make_community(tmp_path, people)
    tuesday = dt.datetime(2026, 12, 8, 13, 0, tzinfo=UTC)
    thursday = dt.datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
    length = dt.timedelta(minutes=30)
    meeting = Meeting(
        "m@test", ("ana@example.org", "finn@example.org"), thursday, thursday + length
    )
    out = invites.meeting_emails(
        replace(meeting, sequence=1),
        coffee,
        WEEK,
        sequence=1,
        now=tuesday,
        previous=Interval(tuesday, tuesday + length),
    )
    text = {o.key.recipient: " ".join(_plain(_parse(o.payload)).split()) for o in out}
    assert "(moved from Tue 8 Dec, 14:00 to Thu 10 Dec, 10:00 CET)." in text["finn@example.org"]
    assert (
        "(moved from Tue 8 Dec, 10:00 to Thu 10 Dec, 06:00 São Paulo time)."
        in text["ana@example.org"]
    )
    # without the time it had, it says what is known
    again = invites.meeting_emails(
        replace(meeting, sequence=1), coffee, WEEK, sequence=1, now=tuesday
    )
    assert "(the time has changed)." in " ".join(_plain(_parse(again[0].payload)).split())


# --- the other times offered --------------------------------------------------------------------


def test_a_pair_who_share_only_one_afternoon_is_offered_times_on_that_day() -> None:
    """Free together only on Tuesday 14:00–16:00 (UTC community, 30-minute meetings): the
    meeting is at 14:00 (the earliest shared start); the other times are the rest of the
    afternoon, back to back (a meeting ends as the next begins)."""
    c = community([member("a@x.org"), member("b@x.org")])
    spans = [(at(1, 14), at(1, 16))]
    r = plan_round(c, WEEK_49, free({"a@x.org": spans, "b@x.org": spans}), NOW_49)
    (meeting,) = r.meetings
    assert meeting.start == at(1, 14)
    assert [a.start for a in meeting.alternatives] == [at(1, 14, 30), at(1, 15), at(1, 15, 30)]


def test_same_day_times_keep_a_whole_meeting_apart() -> None:
    """A 60-minute meeting on 30-minute slots, both free Tuesday 09:00–13:00: it starts at
    09:00; from the far end, 12:00, 11:00 and 10:00 are each a whole hour from the next (not
    10:30, which would leave room for one other)."""
    c = community([member("a@x.org"), member("b@x.org")], meeting_minutes=60)
    spans = [(at(1, 9), at(1, 13))]
    r = plan_round(c, WEEK_49, free({"a@x.org": spans, "b@x.org": spans}), NOW_49)
    (meeting,) = r.meetings
    assert meeting.start == at(1, 9)
    assert [a.start for a in meeting.alternatives] == [at(1, 10), at(1, 11), at(1, 12)]
    starts = [meeting.start, *(a.start for a in meeting.alternatives)]
    assert all(b - a >= dt.timedelta(hours=1) for a, b in itertools.pairwise(starts))


def test_other_days_come_before_the_same_day() -> None:
    """Tuesday 14:00–16:00 and Thursday 09:00–09:30: the one other day is offered, and the rest
    of Tuesday is not (other days are preferred; the same day only when it is all there is)."""
    c = community([member("a@x.org"), member("b@x.org")])
    spans = [(at(1, 14), at(1, 16)), (at(3, 9), at(3, 9, 30))]
    r = plan_round(c, WEEK_49, free({"a@x.org": spans, "b@x.org": spans}), NOW_49)
    (meeting,) = r.meetings
    assert meeting.start == at(1, 14)
    assert [a.start for a in meeting.alternatives] == [at(3, 9)]


def test_a_new_partner_the_same_week_is_offered_same_day_times_too() -> None:
    """The "can't make it" rematch chooses its alternatives as a round does."""
    grace, zoe = member("grace@x.org"), member("zoe@x.org", standby=True)
    c = community([grace, zoe])
    spans = [(at(2, 10), at(2, 11, 30))]
    picked = pick_partner(
        c,
        WEEK_49,
        grace,
        [Candidate(zoe, Source.STANDBY)],
        free({"grace@x.org": spans, "zoe@x.org": spans}),
        History(),
        now=NOW_49,
    )
    assert picked is not None and picked.slot.start == at(2, 10)
    assert [a.start for a in picked.alternatives] == [at(2, 10, 30), at(2, 11)]


WEEK_49 = IsoWeek(2026, 49)
NOW_49 = dt.datetime(2026, 11, 24, 12, tzinfo=UTC)
