"""The invitation's own reminder: a VALARM (``ACTION:DISPLAY``, a DESCRIPTION, ``TRIGGER`` of
``-PT{reminder_minutes}M``) in every REQUEST, none in a CANCEL or with ``reminder_minutes = 0``;
read back by icalendar and by Mozilla's ical.js (Thunderbird's parser)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import icalendar
import pytest

from calroulette import invites
from calroulette.invites import Kind

from .support.icaljs import JS, ical_js_node
from .support.remind import ADA, GRACE, WEEK, make, meeting

NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)


def calendars(tmp_path: Path, kind: Kind = Kind.REQUEST, **settings: object) -> list[bytes]:
    """The calendar of every email of one meeting, and of its Discord post."""
    community = make(tmp_path, **settings)
    m = meeting("m1@test", ADA, GRACE)
    sequence = 1 if kind is Kind.CANCEL else 0
    out = [
        o.ics
        for o in invites.meeting_emails(m, community, WEEK, sequence=sequence, now=NOW, kind=kind)
    ]
    out.append(invites.discord_post(m, community, WEEK, sequence=sequence, now=NOW, kind=kind).ics)
    assert all(ics is not None for ics in out)
    return [ics for ics in out if ics is not None]


def alarms(ics: bytes) -> list[icalendar.Alarm]:
    (event,) = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    return [a for a in event.walk("VALARM") if isinstance(a, icalendar.Alarm)]


@pytest.mark.parametrize("minutes", [10, 5, 90])
def test_every_request_carries_a_display_alarm_before_the_start(
    tmp_path: Path, minutes: int
) -> None:
    for ics in calendars(tmp_path, reminder_minutes=minutes):
        (alarm,) = alarms(ics)
        assert str(alarm["ACTION"]) == "DISPLAY"
        assert str(alarm["DESCRIPTION"]) == "☕ Data Folk Coffee: Ada & Grace"
        assert alarm.decoded("TRIGGER") == -dt.timedelta(minutes=minutes)
        assert f"\r\nTRIGGER:-PT{minutes}M\r\n".encode() in ics


def test_a_cancel_carries_no_alarm(tmp_path: Path) -> None:
    for ics in calendars(tmp_path, Kind.CANCEL):
        assert alarms(ics) == [] and b"VALARM" not in ics


def test_no_alarm_without_reminders(tmp_path: Path) -> None:
    for ics in calendars(tmp_path, reminder_minutes=0):
        assert b"VALARM" not in ics


def test_the_calendar_with_its_alarm_is_the_same_bytes_every_time(tmp_path: Path) -> None:
    assert calendars(tmp_path / "a") == calendars(tmp_path / "b")


_READ_ALARMS = """
import { readFileSync } from "node:fs";
import ICAL from "ical.js";
const out = process.argv.slice(1).map((path) => {
  const vevent = new ICAL.Component(ICAL.parse(readFileSync(path, "utf8")))
    .getFirstSubcomponent("vevent");
  return vevent.getAllSubcomponents("valarm").map((a) => ({
    action: a.getFirstPropertyValue("action"),
    description: a.getFirstPropertyValue("description"),
    trigger: a.getFirstPropertyValue("trigger").toSeconds(),
  }));
});
process.stdout.write(JSON.stringify(out));
"""


@pytest.mark.slow
def test_ical_js_reads_the_alarm(tmp_path: Path) -> None:
    node = ical_js_node()
    paths = []
    for i, ics in enumerate(
        [
            *calendars(tmp_path, reminder_minutes=15)[:1],
            *calendars(tmp_path / "cancel", Kind.CANCEL)[:1],
        ]
    ):
        path = tmp_path / f"{i}.ics"
        path.write_bytes(ics)
        paths.append(str(path))
    result = subprocess.run(
        [str(node), "--input-type=module", "-e", _READ_ALARMS, *paths],
        cwd=JS,  # where ical.js is installed
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    request, cancel = json.loads(result.stdout)
    assert request == [
        {"action": "DISPLAY", "description": "☕ Data Folk Coffee: Ada & Grace", "trigger": -900}
    ]
    assert cancel == []
