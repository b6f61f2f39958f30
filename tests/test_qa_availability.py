"""Acceptance checks of availability decisions beyond the fixtures' free time: the notes."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from calroulette.availability import FreeTime, member_free_time
from calroulette.config import Community, Member
from calroulette.errors import FeedError
from calroulette.timeutil import IsoWeek

from .conftest import CALENDARS


def ada_alone() -> tuple[Member, Community]:
    """Ada in UTC, the only member of a UTC community."""
    member = Member("Ada", "ada@example.org", "/nowhere.ics", ZoneInfo("UTC"))
    community = Community(
        name="QA",
        organizer="QA <qa@example.org>",
        organizer_email="qa@example.org",
        timezone=ZoneInfo("UTC"),
        members=(member,),
    )
    return member, community


def test_two_different_events_sharing_a_uid_are_both_read_with_a_note() -> None:
    member, community = ada_alone()
    body = (CALENDARS / "outlook_duplicate_uid_events.ics").read_bytes()
    result = member_free_time(body, member, IsoWeek(2026, 49), community)
    assert isinstance(result, FreeTime)
    assert (result.availability_events, result.busy_events) == (2, 3)
    assert any("appears more than once" in w for w in result.warnings), result.warnings


def test_a_date_start_with_a_time_end_is_an_error_only_in_the_weeks_it_reaches() -> None:
    member, community = ada_alone()
    body = (CALENDARS / "exchange_date_start_time_end.ics").read_bytes()
    reached = member_free_time(body, member, IsoWeek(2026, 49), community)
    assert isinstance(reached, FeedError)
    assert str(reached).startswith("ada@example.org: calendar: event 'offsite-mixed@sync': ")
    later = member_free_time(body, member, IsoWeek(2026, 50), community)
    assert isinstance(later, FreeTime) and later.free == ()
