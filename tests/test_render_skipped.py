"""What `run` says of reminders and "did you meet?" messages that were due while no run came:
one line per kind and reason, naming a few meetings and counting many (after a long stop, or
on the first run over a history without reminders, it was a line of hundreds of ids)."""

from __future__ import annotations

import datetime as dt

from calroulette.invites import Kind
from calroulette.render.run import SKIPPED_LISTED, _reminders
from calroulette.service.reminders import DueReport, Skip, Skipped
from calroulette.store import short_id
from calroulette.timeutil import IsoWeek

START = dt.datetime(2026, 11, 16, 10, tzinfo=dt.UTC)


def _skipped(n: int, kind: Kind, reason: Skip, prefix: str) -> list[Skipped]:
    return [
        Skipped(f"{prefix}{i:04d}-uid@x", IsoWeek(2026, 47), kind, START, reason, ("a@x",))
        for i in range(n)
    ]


def test_a_few_skipped_meetings_are_named() -> None:
    items = _skipped(2, Kind.REMINDER, Skip.STARTED, "aa")
    parts = _reminders(DueReport(skipped=tuple(items)))
    ids = ", ".join(short_id(s.uid) for s in items)
    assert parts == [f"reminder of meetings {ids} not sent (the meeting had begun)"]
    one = _reminders(DueReport(skipped=tuple(items[:1])))
    assert one == [f"reminder of meeting {short_id(items[0].uid)} not sent (the meeting had begun)"]


def test_many_skipped_meetings_are_counted_per_kind_and_reason() -> None:
    late = _skipped(SKIPPED_LISTED + 400, Kind.FOLLOWUP, Skip.LATE, "bb")
    begun = _skipped(SKIPPED_LISTED, Kind.REMINDER, Skip.STARTED, "cc")
    parts = _reminders(DueReport(skipped=(*late, *begun)))
    assert parts[0] == f'"did you meet?" of {len(late)} meetings not sent (too late)'
    assert parts[1].startswith("reminder of meetings ")
    assert parts[1].endswith("(the meeting had begun)")
    assert all(short_id(s.uid) in parts[1] for s in begun)
    assert len(parts) == 2
