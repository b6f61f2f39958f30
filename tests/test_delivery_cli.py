"""`calroulette run`, `send`, `cancel` and `reschedule` on the demo community (outbox delivery),
with the history database and the outbox in a temporary directory."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import icalendar
import pytest
from typer.testing import CliRunner

from calroulette.cli import app
from calroulette.matching import MeetingStatus, RoundStatus
from calroulette.store import open_store
from calroulette.timeutil import IsoWeek, parse_utc

from .support import ROOT, write_demo_config

runner = CliRunner()
W49 = IsoWeek(2026, 49)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_demo_config(tmp_path)


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*")) if p.is_file()}


def event_of(path: Path) -> tuple[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    return str(cal["METHOD"]), cal.walk("VEVENT")[0]


def test_run_plans_and_sends_once_and_a_second_run_sends_nothing(
    config: Path, now_env: str
) -> None:
    code, out, err = cli("run", "--week", "2026-W49", "-c", str(config))
    assert code == 0, err
    assert "2026-W49: sent 8 of 8 to " in out
    folder = config.parent / "outbox" / "2026-W49"
    first = snapshot(folder)
    assert len([n for n in first if n.endswith(".eml")]) == 8
    assert len([n for n in first if n.endswith(".ics")]) == 4
    with open_store(config.parent / "calroulette.sqlite") as store:
        stored = store.rounds.load(W49)
    assert stored is not None and stored.status is RoundStatus.SENT
    assert {m.status for m in stored.meetings} == {MeetingStatus.INVITED}

    code, out, err = cli("run", "--week", "2026-W49", "-c", str(config))
    assert code == 0, err
    assert "sent 8 of 8" in out and "nothing new to send" in err
    assert snapshot(folder) == first


def test_send_without_a_round_says_to_match_first(config: Path, now_env: str) -> None:
    code, _, err = cli("send", "-c", str(config), "--week", "2026-W49")
    assert code == 2
    assert "no round planned (run `calroulette match` first)" in err


def test_match_then_send_json_lists_every_delivery(config: Path, now_env: str) -> None:
    assert cli("match", "-c", str(config))[0] == 0
    code, out, err = cli("send", "-c", str(config), "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["week"] == "2026-W49"
    assert len(payload["sent"]) == 8 and payload["pending"] == [] and payload["failed"] == []
    assert {d["kind"] for d in payload["sent"]} == {"request"}


def _sent_round(config: Path) -> dict[str, object]:
    code, out, err = cli("match", "--json", "-c", str(config))
    assert code == 0, err
    assert cli("send", "-c", str(config))[0] == 0
    return json.loads(out)  # type: ignore[no-any-return]


def test_cancel_by_email_sends_method_cancel_with_the_next_sequence(
    config: Path, now_env: str
) -> None:
    planned = _sent_round(config)
    meeting = planned["meetings"][0]  # type: ignore[index]
    who = meeting["members"][0]
    code, out, err = cli("cancel", who, "--week", "2026-W49", "-c", str(config))
    assert code == 0, err
    assert f"cancelled {meeting['uid']}" in out
    folder = config.parent / "outbox" / "2026-W49"
    cancels = sorted(folder.glob("*.cancel-1.eml"))
    assert len(cancels) == 2
    method, event = event_of(next(folder.glob("*.cancel-1.ics")))
    assert method == "CANCEL"
    assert (str(event["UID"]), event["SEQUENCE"], str(event["STATUS"])) == (
        meeting["uid"],
        1,
        "CANCELLED",
    )
    assert sorted(str(a).removeprefix("mailto:") for a in event["ATTENDEE"]) == meeting["members"]
    with open_store(config.parent / "calroulette.sqlite") as store:
        (found,) = store.rounds.find(meeting["uid"])
    assert (found.meeting.sequence, found.meeting.status) == (1, MeetingStatus.CANCELLED)

    before = snapshot(folder)
    code, _, err = cli("cancel", meeting["uid"], "-c", str(config))
    assert code == 0 and "already cancelled" in err
    assert snapshot(folder) == before


def test_reschedule_to_a_shared_free_slot_sends_an_updated_request(
    config: Path, now_env: str
) -> None:
    planned = _sent_round(config)
    meeting = next(m for m in planned["meetings"] if m["alternatives"])  # type: ignore[attr-defined]
    new_start = meeting["alternatives"][0][0]  # a slot the matcher found both members free in
    code, out, err = cli("reschedule", meeting["uid"], "--to", new_start, "-c", str(config))
    assert code == 0, err
    assert f"moved {meeting['uid']}" in out
    folder = config.parent / "outbox" / "2026-W49"
    assert len(list(folder.glob("*.request-1.eml"))) == 2
    method, event = event_of(next(folder.glob("*.request-1.ics")))
    assert method == "REQUEST"
    assert (str(event["UID"]), event["SEQUENCE"]) == (meeting["uid"], 1)
    assert event.decoded("DTSTART") == parse_utc(new_start)

    # the sequence is persisted: a later cancel carries SEQUENCE 2
    assert cli("cancel", meeting["uid"], "-c", str(config))[0] == 0
    _, cancelled = event_of(next(folder.glob("*.cancel-2.ics")))
    assert cancelled["SEQUENCE"] == 2


def test_reschedule_refuses_a_time_a_member_is_not_free(config: Path, now_env: str) -> None:
    planned = _sent_round(config)
    meeting = planned["meetings"][0]  # type: ignore[index]
    code, _, err = cli("reschedule", meeting["uid"], "--to", "2026-12-06T03:00Z", "-c", str(config))
    assert code == 2
    assert "not free at" in err
    folder = config.parent / "outbox" / "2026-W49"
    assert not list(folder.glob("*.request-1.*"))


def test_changes_before_sending_notify_nobody_and_send_uses_them(
    config: Path, now_env: str
) -> None:
    code, out, _ = cli("match", "--json", "-c", str(config))
    planned = json.loads(out)
    dropped, moved = (
        planned["meetings"][0],
        next(m for m in planned["meetings"][1:] if m["alternatives"]),
    )
    code, _, err = cli("cancel", dropped["uid"], "-c", str(config))
    assert code == 0 and "nobody is notified" in err
    new_start = moved["alternatives"][0][0]
    code, _, err = cli("reschedule", moved["uid"], "--to", new_start, "-c", str(config))
    assert code == 0 and "before the round was sent" in err
    folder = config.parent / "outbox" / "2026-W49"
    assert not folder.exists()

    code, out, err = cli("send", "-c", str(config))
    assert code == 0, err
    assert "sent 6 of 6" in out
    assert not list(folder.glob(f"{dropped['uid']}*"))
    method, event = event_of(next(folder.glob(f"{moved['uid']}.request-0.ics")))
    assert method == "REQUEST" and event["SEQUENCE"] == 0
    assert event.decoded("DTSTART") == parse_utc(new_start)


def test_next_weeks_run_also_finishes_this_weeks_leftovers(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALROULETTE_NOW", "2026-11-24T14:00:00Z")  # Tue 09:00 New York: W49 due
    blocker = config.parent / "outbox" / "2026-W49"
    blocker.parent.mkdir()
    blocker.write_text("a file where the week's folder should be")
    code, out, err = cli("run", "-c", str(config))
    assert code == 75, err  # EX_TEMPFAIL: pending, try again
    assert "8 pending" in out and "cannot write" in err
    blocker.unlink()

    monkeypatch.setenv("CALROULETTE_NOW", "2026-12-01T14:00:00Z")  # Tue of W49: W50 due
    code, out, err = cli("run", "-c", str(config))
    assert code == 0, err
    assert len(list((config.parent / "outbox" / "2026-W49").glob("*.eml"))) == 8
    assert list((config.parent / "outbox" / "2026-W50").glob("*.eml"))


def test_reschedule_ignores_the_accepted_meeting_itself_in_a_members_calendar(
    config: Path, now_env: str
) -> None:
    """A member who accepted has the meeting in the calendar calroulette reads; moving it by a
    quarter of an hour (on a 15-minute slot grid) overlaps that copy, which must not count as
    being busy."""
    planned = _sent_round(config)
    meeting = next(m for m in planned["meetings"] if "ada@example.org" in m["members"])  # type: ignore[attr-defined]
    ada = config.parent / "ada.ics"
    accepted = (
        (ROOT / "demo" / "calendars" / "ada.ics")
        .read_text(encoding="utf-8")
        .replace(
            "END:VCALENDAR",
            "BEGIN:VEVENT\r\n"
            f"UID:{meeting['uid']}\r\n"
            "DTSTAMP:20261124T130000Z\r\n"
            f"DTSTART:{meeting['start'].replace('-', '').replace(':', '')}\r\n"
            f"DTEND:{meeting['end'].replace('-', '').replace(':', '')}\r\n"
            "SUMMARY:Coffee\r\n"
            "ATTENDEE;PARTSTAT=ACCEPTED:mailto:ada@example.org\r\n"
            "END:VEVENT\r\nEND:VCALENDAR",
        )
    )
    ada.write_text(accepted, encoding="utf-8")
    config.write_text(
        config.read_text(encoding="utf-8")
        .replace(f"{ROOT}/demo/calendars/ada.ics", str(ada))
        .replace("meeting_minutes = 30\n", "meeting_minutes = 30\nslot_minutes = 15\n"),
        encoding="utf-8",
    )
    later = parse_utc(meeting["start"]) + dt.timedelta(minutes=15)
    code, _, err = cli(
        "reschedule", meeting["uid"], "--to", f"{later:%Y-%m-%dT%H:%MZ}", "-c", str(config)
    )
    assert code == 0, err
    # ...while another event at that time still blocks it
    blocked = accepted.replace(f"UID:{meeting['uid']}", "UID:someone-elses-meeting")
    ada.write_text(blocked, encoding="utf-8")
    back = parse_utc(meeting["start"])
    code, _, err = cli(
        "reschedule", meeting["uid"], "--to", f"{back:%Y-%m-%dT%H:%MZ}", "-c", str(config)
    )
    assert code == 2 and "ada@example.org: not free at" in err
