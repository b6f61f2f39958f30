"""History as a calendar: every meeting still on, as one published iCalendar file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import icalendar
from typer.testing import CliRunner

from calroulette.cli import app
from calroulette.matching import Meeting, MeetingStatus, Round, RoundStatus
from calroulette.render.calendar_feed import history_calendar
from calroulette.store import open_store
from calroulette.timeutil import IsoWeek

UTC = dt.UTC


def _meeting(
    uid: str,
    members: tuple[str, ...],
    start: str,
    status: MeetingStatus = MeetingStatus.INVITED,
) -> Meeting:
    begin = dt.datetime.fromisoformat(start).replace(tzinfo=UTC)
    return Meeting(uid, members, begin, begin + dt.timedelta(minutes=30), status=status)


ROUNDS = [
    Round(
        IsoWeek(2026, 49),
        1,
        (
            _meeting("m2", ("ada@x.org", "grace@x.org"), "2026-12-01T14:00"),
            _meeting("m1", ("alan@x.org", "gone@x.org", "linus@x.org"), "2026-11-30T09:00"),
            _meeting(
                "m0", ("ada@x.org", "linus@x.org"), "2026-11-30T08:00", MeetingStatus.CANCELLED
            ),
        ),
        (),
        RoundStatus.SENT,
    ),
    Round(
        IsoWeek(2026, 50),
        2,
        (_meeting("m3", ("ada@x.org", "alan@x.org"), "2026-12-08T10:30", MeetingStatus.PLANNED),),
        (),
    ),
]
NAMES = {"ada@x.org": "Ada", "grace@x.org": "Grace", "alan@x.org": "Alan", "linus@x.org": "Linus"}


def _events() -> list[icalendar.Event]:
    calendar = history_calendar(
        ROUNDS, community="Data Folk", names=NAMES, generated=dt.datetime(2026, 11, 24, tzinfo=UTC)
    )
    parsed = icalendar.Calendar.from_ical(calendar.to_ical())
    assert str(parsed["METHOD"]) == "PUBLISH"
    assert str(parsed["X-WR-CALNAME"]) == "Data Folk: coffee meetings"
    return list(parsed.walk("VEVENT"))


def test_every_meeting_becomes_one_event_in_time_order() -> None:
    """m0, cancelled, is not in the calendar."""
    events = _events()
    assert [str(e["UID"]) for e in events] == ["history-m1", "history-m2", "history-m3"]
    assert events[0].decoded("DTSTART") == dt.datetime(2026, 11, 30, 9, tzinfo=UTC)
    assert events[0].decoded("DTEND") == dt.datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


def test_events_name_the_members_and_say_whether_the_round_was_sent() -> None:
    events = _events()
    assert str(events[0]["SUMMARY"]) == "☕ Data Folk: Alan & gone@x.org & Linus"
    assert str(events[1]["SUMMARY"]) == "☕ Data Folk: Ada & Grace"
    assert [str(e["STATUS"]) for e in events] == ["CONFIRMED", "CONFIRMED", "TENTATIVE"]
    assert "Grace <grace@x.org>" in str(events[1]["DESCRIPTION"])


def test_the_export_invites_nobody() -> None:
    for event in _events():
        assert "ATTENDEE" not in event
        assert "ORGANIZER" not in event
        assert str(event["TRANSP"]) == "TRANSPARENT"


def test_history_ics_writes_every_stored_meeting_still_on(tmp_path: Path, now_env: str) -> None:
    config = tmp_path / "members.toml"
    config.write_text(
        '[community]\nname = "Data Folk"\norganizer = "D <d@x.org>"\ntimezone = "UTC"\n'
        '[[members]]\nname = "Ada"\nemail = "ada@x.org"\ncalendar = "a.ics"\ntimezone = "UTC"\n',
        encoding="utf-8",
    )
    with open_store(tmp_path / "calroulette.sqlite") as store, store.transaction():
        for round_ in ROUNDS:
            assert store.rounds.record(round_, at=dt.datetime(2026, 11, 24, tzinfo=UTC))
    target = tmp_path / "meetings.ics"
    result = CliRunner().invoke(app, ["history", "-c", str(config), "--ics", str(target)])
    assert result.exit_code == 0, result.output
    parsed = icalendar.Calendar.from_ical(target.read_bytes())
    uids = [str(e["UID"]) for e in parsed.walk("VEVENT")]
    assert uids == ["history-m1", "history-m2", "history-m3"]
    summaries = [str(e["SUMMARY"]) for e in parsed.walk("VEVENT")]
    assert summaries[1] == "☕ Data Folk: Ada & grace@x.org", "left members appear by email"

    mine = tmp_path / "ada.ics"
    result = CliRunner().invoke(
        app, ["history", "-c", str(config), "--member", "ada@x.org", "--ics", str(mine)]
    )
    assert result.exit_code == 0, result.output
    parsed = icalendar.Calendar.from_ical(mine.read_bytes())
    assert [str(e["UID"]) for e in parsed.walk("VEVENT")] == ["history-m2", "history-m3"]
