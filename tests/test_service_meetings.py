"""`calroulette reschedule` keeps the rules the planner keeps; `cancel` and `reschedule` take a
short id; `members remove` and `members pause` never leave a meeting already sent silently.

Through the real commands on the demo community (outbox delivery), the clock pinned to Tuesday
2026-11-24: next week, 2026-W49, is planned; Ada Lovelace meets Alan Turing on Tue 01 Dec at
14:00Z and both are free again on Thu 03 Dec 14:00-14:30Z (the meeting's alternative).
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from calroulette.cli import app
from calroulette.matching import Meeting, MeetingStatus, Round
from calroulette.store import open_store
from calroulette.timeutil import IsoWeek, parse_utc

from .support import write_demo_config

runner = CliRunner()
W49, W50 = IsoWeek(2026, 49), IsoWeek(2026, 50)
THURSDAY = "2026-12-03T14:00Z"  # Ada and Alan are both free then (their meeting's alternative)
NAMES = {
    "ada@example.org": "Ada Lovelace",
    "alan@example.org": "Alan Turing",
    "edsger@example.org": "Edsger Dijkstra",
    "grace@example.org": "Grace Hopper",
    "katherine@example.org": "Katherine Johnson",
    "linus@example.org": "Linus Torvalds",
    "margaret@example.org": "Margaret Hamilton",
    "radia@example.org": "Radia Perlman",
}


@pytest.fixture
def config(tmp_path: Path, now_env: str) -> Path:
    return write_demo_config(tmp_path)


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def with_settings(config: Path, *lines: str) -> None:
    """Add ``lines`` to the [community] table of members.toml."""
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[community]\n", "[community]\n" + "\n".join(lines) + "\n"))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def planned(config: Path, *, send: bool = True, week: str = "2026-W49") -> list[dict[str, Any]]:
    code, out, err = cli("match", "--json", "--week", week, "-c", str(config))
    assert code == 0, err
    if send:
        code, _, err = cli("send", "--week", week, "-c", str(config))
        assert code == 0, err
    return json.loads(out)["meetings"]  # type: ignore[no-any-return]


def meeting_of(meetings: list[dict[str, Any]], email: str) -> dict[str, Any]:
    return next(m for m in meetings if email in m["members"])


def stored(config: Path, uid: str) -> Meeting:
    with open_store(config.parent / "calroulette.sqlite") as store:
        (found,) = store.rounds.find(uid)
    return found.meeting


def cancels(config: Path, uid: str, sequence: int = 1) -> list[str]:
    """The recipients of the cancellation emails in the outbox for meeting ``uid``."""
    folder = config.parent / "outbox" / "2026-W49"
    names = sorted(p.name for p in folder.glob(f"{uid}.*.cancel-{sequence}.eml"))
    return [n.removeprefix(f"{uid}.").removesuffix(f".cancel-{sequence}.eml") for n in names]


def ada_and_alan(config: Path) -> dict[str, Any]:
    meeting = meeting_of(planned(config), "ada@example.org")
    assert meeting["members"] == ["ada@example.org", "alan@example.org"]
    assert [THURSDAY.replace("Z", ":00Z")] == [a[0] for a in meeting["alternatives"]]
    return meeting


# --- reschedule: each rule it keeps, in one line --------------------------------------------


def refused(config: Path, meeting: dict[str, Any], to: str, *, now: str | None = None) -> str:
    """Reschedule ``meeting`` to ``to``: refused (exit 2) in one line, nothing changed or sent."""
    before = snapshot(config.parent / "outbox")
    env = {"CALROULETTE_NOW": now} if now else None
    code, out, err = cli("reschedule", meeting["uid"][:8], "--to", to, "-c", str(config), env=env)
    assert code == 2, (out, err)
    assert len(err.splitlines()) == 1, err
    assert snapshot(config.parent / "outbox") == before
    assert stored(config, meeting["uid"]).start == parse_utc(meeting["start"])
    return err.strip()


def test_reschedule_refuses_a_start_outside_the_meetings_week(config: Path) -> None:
    """Both are free on Tuesday of the next week too: the calendars alone accepted it."""
    meeting = ada_and_alan(config)
    assert refused(config, meeting, "2026-12-08T14:00Z") == (
        "error: --to: Tue 08 Dec 09:00 (America/New_York) starts outside the meeting's week "
        "2026-W49 (Mon 30 Nov to Sun 06 Dec); a meeting moves within its week (cancel it instead)"
    )


def test_reschedule_refuses_a_meeting_that_would_end_after_its_week(config: Path) -> None:
    """The week ends at Monday 00:00 in the community's zone (05:00Z): a meeting starting at
    23:45 the Sunday before would run into the next week."""
    meeting = ada_and_alan(config)
    assert refused(config, meeting, "2026-12-07T04:45Z") == (
        "error: --to: Sun 06 Dec 23:45 (America/New_York) would end outside the meeting's week "
        "2026-W49 (Mon 30 Nov to Sun 06 Dec); a meeting moves within its week (cancel it instead)"
    )


def test_reschedule_refuses_a_start_less_than_min_notice_hours_ahead(config: Path) -> None:
    """On Wednesday 20:00Z, Thursday 14:00Z is 18 hours ahead: too soon by the default 24; with
    `min_notice_hours = 12` the same move goes through, so the notice was the only obstacle."""
    meeting = ada_and_alan(config)
    wednesday = "2026-12-02T20:00:00Z"
    assert refused(config, meeting, THURSDAY, now=wednesday) == (
        "error: --to: Thu 03 Dec 09:00 (America/New_York) is less than 24 hours from now "
        "(min_notice_hours in members.toml); the earliest start is Thu 03 Dec 15:00 "
        "(America/New_York)"
    )
    with_settings(config, "min_notice_hours = 12")
    env = {"CALROULETTE_NOW": wednesday}
    code, _, err = cli("reschedule", meeting["uid"], "--to", THURSDAY, "-c", str(config), env=env)
    assert code == 0, err
    assert stored(config, meeting["uid"]).start == parse_utc(THURSDAY)


def test_reschedule_refuses_a_start_off_the_slot_grid(config: Path) -> None:
    """14:10Z is inside both members' free time; only the 30-minute grid refuses it, as a
    10-minute grid then shows."""
    meeting = ada_and_alan(config)
    assert refused(config, meeting, "2026-12-03T14:10Z") == (
        "error: --to: Thu 03 Dec 09:10 (America/New_York) is off the 30-minute slot grid "
        "(slot_minutes in members.toml); the nearest starts are 09:00 and 09:30"
    )
    with_settings(config, "slot_minutes = 10")
    code, _, err = cli("reschedule", meeting["uid"], "--to", "2026-12-03T14:10Z", "-c", str(config))
    assert code == 0, err


def test_the_slot_grid_counts_from_the_top_of_the_utc_hour_as_the_planner_does(
    config: Path,
) -> None:
    """In Asia/Kolkata (UTC+05:30) with hour-long slots the planner starts meetings at half past
    the local hour: such a start is accepted, and one on the local hour is off the grid."""
    with_settings(config, "slot_minutes = 60")
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace('timezone = "America/New_York"    #', 'timezone = "Asia/Kolkata" #')
    )
    meeting = ada_and_alan(config)
    assert parse_utc(meeting["start"]).astimezone(dt.UTC).minute == 0  # 19:30 in Kolkata
    off = parse_utc(THURSDAY) + dt.timedelta(minutes=30)
    assert refused(config, meeting, f"{off:%Y-%m-%dT%H:%MZ}") == (
        "error: --to: Thu 03 Dec 20:00 (Asia/Kolkata) is off the 60-minute slot grid "
        "(slot_minutes in members.toml); the nearest starts are 19:30 and 20:30"
    )
    code, _, err = cli("reschedule", meeting["uid"], "--to", THURSDAY, "-c", str(config))
    assert code == 0, err


def test_reschedule_refuses_a_time_a_member_has_another_calroulette_meeting(
    config: Path,
) -> None:
    """A meeting of another week counts: here one that an older calroulette moved out of its
    week (2026-W50's, moved onto Thursday of 2026-W49), planned and not sent yet. Once it is
    cancelled, the time is Ada and Alan's."""
    meeting = ada_and_alan(config)
    later = planned(config, send=False, week="2026-W50")
    other = meeting_of(later, "alan@example.org")
    partner = next(e for e in other["members"] if e != "alan@example.org")
    with open_store(config.parent / "calroulette.sqlite") as store:
        (found,) = store.rounds.find(other["uid"])
        start = parse_utc(THURSDAY)
        moved = Meeting(
            found.meeting.uid, found.meeting.members, start, start + dt.timedelta(minutes=30)
        )
        with store.transaction():
            store.rounds.change(moved)
    assert refused(config, meeting, THURSDAY) == (
        "error: alan@example.org: already has a calroulette meeting then: Thu 03 Dec 09:00 "
        f"(America/New_York) with {NAMES[partner]} ({other['uid'][:8]}, 2026-W50); "
        "pick another time"
    )
    assert cli("cancel", other["uid"][:8], "-c", str(config))[0] == 0
    code, _, err = cli("reschedule", meeting["uid"][:8], "--to", THURSDAY, "-c", str(config))
    assert code == 0, err


def test_a_cancelled_meeting_cannot_be_rescheduled(config: Path) -> None:
    meeting = ada_and_alan(config)
    assert cli("cancel", meeting["uid"], "-c", str(config))[0] == 0
    code, _, err = cli("reschedule", meeting["uid"], "--to", THURSDAY, "-c", str(config))
    assert code == 2
    assert err.splitlines() == [
        f"error: {meeting['uid']}: the meeting was cancelled; it cannot be moved"
    ]


# --- short ids ------------------------------------------------------------------------------


def test_cancel_and_reschedule_take_the_short_id(config: Path) -> None:
    meeting = ada_and_alan(config)
    short = meeting["uid"][:8]
    code, out, err = cli("reschedule", short, "--to", THURSDAY, "-c", str(config))
    assert code == 0, err
    assert f"moved {meeting['uid']}" in out
    code, out, err = cli("cancel", short, "-c", str(config))
    assert code == 0, err
    assert cancels(config, meeting["uid"], sequence=2) == ["ada@example.org", "alan@example.org"]


def _two_meetings_sharing_a_short_id(config: Path) -> tuple[str, str]:
    """A round of 2026-W50 whose two meetings' UIDs start alike (UIDs are 32 hex digits: this
    happens once in four billion pairs, so it is written here directly)."""
    start = dt.datetime(2026, 12, 8, 15, tzinfo=dt.UTC)
    end = start + dt.timedelta(minutes=30)
    first, second = "abcdef12a" + "0" * 23 + "@calroulette", "abcdef12b" + "0" * 23 + "@calroulette"
    round_ = Round(
        W50,
        1,
        (
            Meeting(first, ("grace@example.org", "margaret@example.org"), start, end),
            Meeting(second, ("katherine@example.org", "radia@example.org"), start, end),
        ),
        (),
    )
    with open_store(config.parent / "calroulette.sqlite") as store, store.transaction():
        store.rounds.record(round_, at=dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC))
    return first, second


@pytest.mark.parametrize("command", [["cancel"], ["reschedule", "--to", "2026-12-08T16:00Z"]])
def test_a_short_id_that_starts_two_uids_is_refused_in_one_line(
    config: Path, command: list[str]
) -> None:
    first, second = _two_meetings_sharing_a_short_id(config)
    code, _, err = cli(command[0], "abcdef12", *command[1:], "-c", str(config))
    assert code == 2
    assert err.splitlines() == [
        "error: abcdef12: 2 meetings have a UID starting with this (abcdef12a…, abcdef12b…); "
        "type more of the UID (see `calroulette history --json`)"
    ]
    assert stored(config, first).status is stored(config, second).status is MeetingStatus.PLANNED


def test_a_longer_start_of_the_uid_names_one_meeting(config: Path) -> None:
    first, second = _two_meetings_sharing_a_short_id(config)
    code, _, err = cli("cancel", "abcdef12b", "-c", str(config))
    assert code == 0, err
    assert (stored(config, first).status, stored(config, second).status) == (
        MeetingStatus.PLANNED,
        MeetingStatus.CANCELLED,
    )


def test_an_unknown_key_says_what_names_a_meeting(config: Path) -> None:
    planned(config)
    code, _, err = cli("cancel", "0123456", "-c", str(config))
    assert code == 2
    assert err.splitlines() == [
        "error: 0123456: no meeting with this UID, short id (its first 8 characters) or member "
        "email (see `calroulette history`)"
    ]


@pytest.mark.parametrize("command", ["cancel", "reschedule"])
def test_help_says_a_meeting_is_named_by_its_short_id(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    help_text = " ".join(result.stdout.split())
    assert "short id (the first 8 characters of its UID" in help_text
    assert "A short id that starts more than one UID is refused" in help_text


# --- members remove / pause: meetings already sent --------------------------------------------


def warning_command(err: str, uid: str) -> list[str]:
    """The one warning about meeting ``uid``: the command it gives, as argv (without the
    program's name)."""
    (line,) = [w for w in err.splitlines() if w.startswith("warning:") and uid[:8] in w]
    command = line.rsplit("`calroulette ", 1)[1].removesuffix("`")
    return shlex.split(command)


def test_remove_warns_about_a_meeting_already_sent_with_the_command_that_cancels_it(
    config: Path,
) -> None:
    meeting = ada_and_alan(config)
    outbox = snapshot(config.parent / "outbox")
    code, out, err = cli("members", "remove", "ada@example.org", "-c", str(config))
    assert code == 0, err
    assert out.splitlines() == [f"Removed Ada Lovelace <ada@example.org> from {config}."]
    assert err.splitlines() == [
        f"warning: ada@example.org still has a meeting already sent: {meeting['uid'][:8]} "
        "(2026-W49): Ada Lovelace with Alan Turing <alan@example.org>, Tue 01 Dec 09:00 "
        "(America/New_York); to cancel it for every attendee: "
        f"`calroulette cancel {meeting['uid'][:8]} --config {config}`"
    ]
    assert "ada@example.org" not in config.read_text(encoding="utf-8")
    assert snapshot(config.parent / "outbox") == outbox  # nobody was told anything
    assert stored(config, meeting["uid"]).status is MeetingStatus.INVITED

    code, _, err = cli(*warning_command(err, meeting["uid"]))  # the command, as printed
    assert code == 0, err
    assert cancels(config, meeting["uid"]) == ["ada@example.org", "alan@example.org"]


def test_remove_with_cancel_meetings_sends_one_cancel_per_attendee_and_only_once(
    config: Path,
) -> None:
    meeting = ada_and_alan(config)
    code, out, err = cli(
        "members", "remove", "ada@example.org", "--cancel-meetings", "-c", str(config)
    )
    assert code == 0, err
    assert f"cancelled {meeting['uid'][:8]} (2026-W49): Ada Lovelace with Alan Turing" in out
    assert "warning" not in err
    assert cancels(config, meeting["uid"]) == ["ada@example.org", "alan@example.org"]
    assert stored(config, meeting["uid"]).status is MeetingStatus.CANCELLED
    assert "ada@example.org" not in config.read_text(encoding="utf-8")

    outbox = snapshot(config.parent / "outbox")
    assert cli("cancel", meeting["uid"][:8], "-c", str(config))[0] == 0
    assert cli("send", "--week", "2026-W49", "-c", str(config))[0] == 0
    code, _, err = cli(
        "members", "remove", "ada@example.org", "--cancel-meetings", "-c", str(config)
    )
    assert code == 2 and "no such member" in err
    assert snapshot(config.parent / "outbox") == outbox


def test_pause_with_cancel_meetings_twice_cancels_once(config: Path) -> None:
    meeting = ada_and_alan(config)
    pause = ("members", "pause", "alan@example.org", "--cancel-meetings", "-c", str(config))
    code, out, err = cli(*pause)
    assert code == 0, err
    assert out.splitlines()[0] == "Paused alan@example.org until `calroulette members resume`."
    assert f"cancelled {meeting['uid'][:8]} (2026-W49): Alan Turing with Ada Lovelace" in out
    assert cancels(config, meeting["uid"]) == ["ada@example.org", "alan@example.org"]
    outbox = snapshot(config.parent / "outbox")

    code, out, err = cli(*pause)
    assert code == 0, err
    assert out.splitlines() == ["Paused alan@example.org until `calroulette members resume`."]
    assert err == ""
    assert snapshot(config.parent / "outbox") == outbox


def test_pause_until_concerns_only_meetings_before_that_date(config: Path) -> None:
    """Ada meets Alan on Tue 01 Dec 09:00 (New York): pausing her until 1 Dec leaves it alone
    (she is back by then); until 2 Dec it is cancelled. Her 2026-W50 meeting, planned and not
    sent, is after both dates and stays."""
    meeting = ada_and_alan(config)
    later = meeting_of(planned(config, send=False, week="2026-W50"), "ada@example.org")
    pause = ("members", "pause", "ada@example.org", "-c", str(config))
    code, out, err = cli(*pause, "--until", "2026-12-01", "--cancel-meetings")
    assert code == 0, err
    assert out.splitlines() == ["Paused ada@example.org until 2026-12-01."]
    assert stored(config, meeting["uid"]).status is MeetingStatus.INVITED

    code, _, err = cli(*pause, "--until", "2026-12-02")
    assert code == 0, err
    assert warning_command(err, meeting["uid"])[:2] == ["cancel", meeting["uid"][:8]]
    code, out, err = cli(*pause, "--until", "2026-12-02", "--cancel-meetings")
    assert code == 0, err
    assert cancels(config, meeting["uid"]) == ["ada@example.org", "alan@example.org"]
    assert stored(config, later["uid"]).status is MeetingStatus.PLANNED
    assert later["uid"][:8] not in out + err


def test_remove_drops_a_meeting_of_a_round_not_sent_yet_and_notifies_nobody(
    config: Path,
) -> None:
    meeting = meeting_of(planned(config, send=False), "ada@example.org")
    code, out, err = cli("members", "remove", "ada@example.org", "-c", str(config))
    assert code == 0, err
    assert out.splitlines()[1] == (
        f"dropped {meeting['uid'][:8]} (2026-W49): Ada Lovelace with Alan Turing "
        "<alan@example.org>, Tue 01 Dec 09:00 (America/New_York): its round is not sent yet, "
        "nobody is notified; to pair alan@example.org again: "
        f"`calroulette match --rematch --week 2026-W49 --config {config}`"
    )
    assert not (config.parent / "outbox").exists()
    assert stored(config, meeting["uid"]).status is MeetingStatus.CANCELLED

    code, out, err = cli("send", "--week", "2026-W49", "-c", str(config))
    assert code == 0, err
    sent = snapshot(config.parent / "outbox")
    assert len([n for n in sent if n.endswith(".eml")]) == 6
    assert not [n for n in sent if "ada@" in n or "alan@" in n]


def test_a_meeting_already_over_is_not_mentioned(config: Path) -> None:
    ada_and_alan(config)
    after = {"CALROULETTE_NOW": "2026-12-01T20:00:00Z"}
    code, out, err = cli("members", "remove", "ada@example.org", "-c", str(config), env=after)
    assert code == 0, err
    assert (len(out.splitlines()), err) == (1, "")


def test_remove_without_a_history_database_does_not_create_one(config: Path) -> None:
    code, out, err = cli("members", "remove", "ada@example.org", "-c", str(config))
    assert code == 0, err
    assert (len(out.splitlines()), err) == (1, "")
    assert not (config.parent / "calroulette.sqlite").exists()


def test_a_cancellation_that_could_not_be_written_waits_and_retry_failed_sends_it(
    config: Path,
) -> None:
    """The outbox folder is a file for a moment: the member is removed, the meeting cancelled
    and its two messages pending (exit 75). Running `members remove` again would not find the
    member: the line names the command that sends them, and it sends them once each."""
    meeting = ada_and_alan(config)
    folder = config.parent / "outbox" / "2026-W49"
    folder.rename(folder.with_name("away"))
    folder.write_text("not a folder")
    code, out, err = cli(
        "members", "remove", "ada@example.org", "--cancel-meetings", "-c", str(config)
    )
    assert code == 75, (out, err)
    assert "ada@example.org" not in config.read_text(encoding="utf-8")
    assert stored(config, meeting["uid"]).status is MeetingStatus.CANCELLED
    (hint,) = [line for line in err.splitlines() if line.startswith("pending:")]
    assert hint.endswith(
        f"(`calroulette send --retry-failed --week 2026-W49 --config {config}` sends it now)"
    )

    folder.unlink()
    folder.with_name("away").rename(folder)
    command = shlex.split(hint.rsplit("`calroulette ", 1)[1].removesuffix("` sends it now)"))
    code, _, err = cli(*command)
    assert code == 0, err
    assert cancels(config, meeting["uid"]) == ["ada@example.org", "alan@example.org"]


@pytest.mark.parametrize(
    "command",
    [["cancel", "ada@example.org"], ["reschedule", "abcdef12", "--to", "2026-12-01T10:00Z"]],
)
def test_changing_a_meeting_before_any_round_says_so_and_creates_nothing(
    config: Path, command: list[str]
) -> None:
    code, _, err = cli(*command, "-c", str(config))
    assert code == 2 and "no meetings yet" in err and err.count("\n") == 1
    assert not (config.parent / "calroulette.sqlite").exists()


def test_pause_until_today_in_the_communitys_zone_is_not_in_the_future(config: Path) -> None:
    """The demo community lives in New York: at 02:00 UTC on 25 November it is still the 24th
    there, so pausing until the 25th is in the future; at 06:00 UTC it is not any more."""
    early = {"CALROULETTE_NOW": "2026-11-25T02:00:00Z"}
    code, _, err = cli(
        "members", "pause", "ada@example.org", "--until", "2026-11-25", "-c", str(config), env=early
    )
    assert code == 0, err
    late = {"CALROULETTE_NOW": "2026-11-25T06:00:00Z"}
    code, _, err = cli(
        "members", "pause", "alan@example.org", "--until", "2026-11-25", "-c", str(config), env=late
    )
    assert code == 2 and "is not in the future" in err
