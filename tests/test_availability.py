"""Free time from calendar files: every fixture in fixtures/calendars/ against its hand-written
``.expected.toml``, in file order and with the VEVENTs reversed (like recurring-ical-events' suite).

Expected results were derived by hand (the ``why`` in each expected file says how); they are never
produced by the code under test.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from calroulette.availability import FreeTime, free_time, parse_calendar
from calroulette.config import Member
from calroulette.errors import FeedError
from calroulette.timeutil import IsoWeek, parse_utc

from .conftest import CALENDARS

EMAIL = "ada@example.org"


@dataclass(frozen=True)
class Case:
    fixture: str
    week: str
    expected: dict[str, Any]
    case: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.fixture}[{self.week}]"


def _cases() -> list[Case]:
    out = []
    for path in sorted(CALENDARS.glob("*.ics")):
        expected = tomllib.loads(path.with_suffix(".expected.toml").read_text(encoding="utf-8"))
        for case in expected["cases"]:
            out.append(Case(path.stem, case["week"], expected, case))
    return out


CASES = _cases()


def _reversed_events(calendar: icalendar.Calendar) -> icalendar.Calendar:
    events = [c for c in calendar.subcomponents if c.name == "VEVENT"]
    others = [c for c in calendar.subcomponents if c.name != "VEVENT"]
    calendar.subcomponents[:] = others + events[::-1]
    return calendar


def compute(case: Case, *, reverse: bool = False) -> FreeTime:
    exp, one = case.expected, case.case
    member = Member(
        name="Ada",
        email=exp.get("email", EMAIL),
        calendar=str(CALENDARS / f"{case.fixture}.ics"),
        timezone=ZoneInfo(exp["member_zone"]),
        keyword=one.get("keyword"),
    )
    body = (CALENDARS / f"{case.fixture}.ics").read_bytes()
    calendar = parse_calendar(body, member.email)
    if reverse:
        calendar = _reversed_events(calendar)
    return free_time(
        calendar,
        member,
        IsoWeek.parse(case.week),
        keyword=member.keyword or exp.get("keyword", "free"),
        week_zone=ZoneInfo(exp["community_zone"]),
    )


def _expected_free(case: Case) -> list[tuple[dt.datetime, dt.datetime]]:
    return [(parse_utc(a), parse_utc(b)) for a, b in case.case["free"]]


def test_every_fixture_has_an_expected_file_with_a_reason() -> None:
    calendars = sorted(CALENDARS.glob("*.ics"))
    assert len(calendars) >= 20
    for path in calendars:
        expected = tomllib.loads(path.with_suffix(".expected.toml").read_text(encoding="utf-8"))
        assert expected["source"].strip() and expected["why"].strip(), path.name
        assert expected["cases"], path.name


@pytest.mark.parametrize("reverse", [False, True], ids=["file-order", "reversed"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fixture_free_time_matches_the_hand_written_expectation(case: Case, reverse: bool) -> None:
    if "error" in case.case:
        with pytest.raises(FeedError) as info:
            compute(case, reverse=reverse)
        assert case.case["error"] in str(info.value)
        assert "\n" not in str(info.value)
        return
    result = compute(case, reverse=reverse)
    assert list(result.free) == _expected_free(case)
