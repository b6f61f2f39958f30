"""The calendar fixtures as test cases, and where other calendars come from.

Each ``fixtures/calendars/*.ics`` has a hand-written ``.expected.toml`` with one or more
``[[cases]]`` (a week, and the free UTC intervals or the error a member must get). :data:`CASES`
is every case of every fixture; :func:`compute` reads one the way calroulette's rules do, and
:func:`expected_free` is its hand-written answer. :func:`calendar_files` and :func:`generator`
give the other calendars the equivalence tests run on: the demo's, the real exports in
``../shared`` (when present) and the bench generator's.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from calroulette.availability import FreeTime, free_time, parse_calendar
from calroulette.config import Member
from calroulette.timeutil import IsoWeek, parse_utc

from . import CALENDARS, ROOT, SHARED_CALENDARS

EMAIL = "ada@example.org"


@dataclass(frozen=True)
class Case:
    """One ``[[cases]]`` entry of a fixture's expected file."""

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
    """calroulette's free time for ``case`` (its VEVENTs reversed if asked); raises the
    member's :class:`~calroulette.errors.FeedError`."""
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


def expected_free(case: Case) -> list[tuple[dt.datetime, dt.datetime]]:
    """The hand-written free intervals of ``case``."""
    return [(parse_utc(a), parse_utc(b)) for a, b in case.case["free"]]


def calendar_files() -> list[Path]:
    """The fixtures, the demo's calendars and (when present) the real exports in ../shared."""
    found = sorted(CALENDARS.glob("*.ics")) + sorted((ROOT / "demo" / "calendars").glob("*.ics"))
    if SHARED_CALENDARS.is_dir():
        found += sorted(SHARED_CALENDARS.glob("*/*.ics"))
    return found


def generator() -> ModuleType:
    """bench/community.py, which writes a generated community's feeds (a share of them heavy
    primary calendars: set its ``HEAVY_SHARE``)."""
    spec = importlib.util.spec_from_file_location("community", ROOT / "bench" / "community.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["community"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module
