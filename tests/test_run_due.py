"""`calroulette run` from cron every 15 minutes: next week's round on match_day at match_time of
the week before (in the community's zone), once; never once that week has begun; one run at a
time; a step that fails does not stop the others."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from calroulette import service
from calroulette.cli import app
from calroulette.config import load_community
from calroulette.service.due import Step, StepStatus, due_at
from calroulette.store import DeliveryStatus, open_store
from calroulette.timeutil import IsoWeek, format_utc

from .support.week import emls, ledger, start, write_club

UTC = dt.UTC
W15 = IsoWeek(2026, 15)  # Monday 6 April 2026; Europe changed to summer time on 29 March
# Tuesday 31 March 2026, 09:00 CEST (UTC+2): when W15's round is due in Berlin
DUE = dt.datetime(2026, 3, 31, 7, 0, tzinfo=UTC)
SECOND = dt.timedelta(seconds=1)


def cli(
    config: Path, now: dt.datetime, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app,
        ["run", *args, "--config", str(config)],
        env={"CALROULETTE_NOW": format_utc(now), **(env or {})},
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def weeks(folder: Path) -> list[IsoWeek]:
    if not (folder / "history.sqlite").exists():
        return []
    with open_store(folder / "history.sqlite", readonly=True) as store:
        return store.rounds.weeks()


@pytest.mark.parametrize(
    ("zone", "day", "clock", "week", "expected"),
    [
        # EST (UTC-5): Tuesday 24 November 09:00
        ("America/New_York", "tuesday", "09:00", "2026-W49", "2026-11-24T14:00:00Z"),
        # two days after Europe's change to summer time: CEST (UTC+2), not CET
        ("Europe/Berlin", "tuesday", "09:00", "2026-W15", "2026-03-31T07:00:00Z"),
        # the Monday before that change: still CET (UTC+1)
        ("Europe/Berlin", "monday", "09:00", "2026-W14", "2026-03-23T08:00:00Z"),
        # 02:30 on 8 March does not exist in New York (02:00 EST jumps to 03:00 EDT): read with
        # the offset before the gap, RFC 5545's answer, i.e. 03:30 EDT
        ("America/New_York", "sunday", "02:30", "2026-W11", "2026-03-08T07:30:00Z"),
        # Sydney goes back from AEDT (+11) to AEST (+10) at 03:00 on Sunday 5 April
        ("Australia/Sydney", "sunday", "09:00", "2026-W15", "2026-04-04T23:00:00Z"),
        # a half-hour zone, late on a Friday
        ("Asia/Kolkata", "friday", "17:30", "2026-W49", "2026-11-27T12:00:00Z"),
    ],
)
def test_the_round_is_due_on_match_day_at_match_time_of_the_week_before(
    tmp_path: Path, zone: str, day: str, clock: str, week: str, expected: str
) -> None:
    community = load_community(write_club(tmp_path, zone=zone, match_day=day, match_time=clock))
    assert format_utc(due_at(community, IsoWeek.parse(week))) == expected


def test_a_run_a_second_before_the_time_plans_nothing_and_says_when(tmp_path: Path) -> None:
    """The community's zone changed to summer time two days before: 09:00 is 07:00Z, not
    08:00Z. A second earlier nothing is planned, nothing is made, and one line says when."""
    config = write_club(tmp_path, zone="Europe/Berlin")
    code, out, err = cli(config, DUE - SECOND)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "2026-W15: the round is due Tue 31 Mar 2026 09:00 Europe/Berlin "
        "(`calroulette run --week 2026-W15` plans and sends it now)"
    ]
    assert not (tmp_path / "history.sqlite").exists() and emls(tmp_path) == []

    code, out, err = cli(config, DUE - SECOND, "-q")
    assert (code, out, err) == (0, "", "")  # cron mails nothing

    code, out, err = cli(config, DUE)
    assert code == 0, err
    assert weeks(tmp_path) == [W15]
    assert len(emls(tmp_path)) == 4
    assert "2026-W15: sent 4 of 4 to " in out


def test_a_run_that_missed_the_time_plans_the_round_the_next_day(tmp_path: Path) -> None:
    """The server was down on Tuesday: Wednesday afternoon's run plans and sends the round."""
    config = write_club(tmp_path, zone="Europe/Berlin")
    code, out, err = cli(config, DUE + dt.timedelta(days=1, hours=6), "-q")
    assert code == 0, err
    assert weeks(tmp_path) == [W15]
    assert out.splitlines() == [
        f"round: 2026-W15 planned (2 meetings); sent 4 of 4 to {tmp_path / 'outbox' / '2026-W15'}"
    ]


@pytest.mark.parametrize(
    ("now", "planned"),
    [
        (dt.datetime(2026, 4, 5, 21, 59, tzinfo=UTC), [W15]),  # Sunday 23:59 in Berlin: still due
        (dt.datetime(2026, 4, 5, 22, 0, tzinfo=UTC), []),  # Monday 00:00 there: W15 has begun
    ],
)
def test_the_round_stays_due_until_its_week_begins_in_the_communitys_zone(
    tmp_path: Path, now: dt.datetime, planned: list[IsoWeek]
) -> None:
    config = write_club(tmp_path, zone="Europe/Berlin")
    code, out, err = cli(config, now)
    assert code == 0, err
    assert weeks(tmp_path) == planned
    if not planned:  # a new community missed nothing: it is told when W16's round is due
        assert out.splitlines() == [
            "2026-W16: the round is due Tue 07 Apr 2026 09:00 Europe/Berlin "
            "(`calroulette run --week 2026-W16` plans and sends it now)"
        ]


def test_runs_every_quarter_hour_plan_once_and_send_each_message_once(tmp_path: Path) -> None:
    config = write_club(tmp_path, zone="Europe/Berlin")
    for minutes in range(0, 120, 15):
        code, out, err = cli(config, DUE + dt.timedelta(minutes=minutes), "-q")
        assert code == 0, err
        if minutes:
            assert (out, err) == ("", "")  # nothing was due: nothing to say
    assert weeks(tmp_path) == [W15]
    rows = ledger(tmp_path)
    assert len(rows) == 4 and {r.status for r in rows} == {DeliveryStatus.SENT}
    assert sorted(r.key.recipient for r in rows) == sorted(
        ["ada@example.org", "grace@example.org", "alan@example.org", "katherine@example.org"]
    )
    assert len(emls(tmp_path)) == 4
    code, out, _ = cli(config, DUE + dt.timedelta(hours=3))  # not quiet: where the week stands
    assert code == 0 and out.splitlines() == [
        f"2026-W15: sent 4 of 4 to {tmp_path / 'outbox' / '2026-W15'}"
    ]


def test_the_week_under_way_is_not_planned_by_the_schedule_and_that_is_said_once_to_cron(
    tmp_path: Path,
) -> None:
    """W14 had its round; the machine was off from before W15's time until W15 began. Monday's
    run does not plan the week members are in (they would be told on the day); it says so, to
    cron once, and the organizer can plan it with --force. W16 is planned on its own time."""
    config = write_club(tmp_path, zone="Europe/Berlin")
    # W14, on its Tuesday: 09:00 CET, before the change to summer time
    assert cli(config, dt.datetime(2026, 3, 24, 8, 0, tzinfo=UTC), "-q")[0] == 0
    assert weeks(tmp_path) == [IsoWeek(2026, 14)]
    monday = dt.datetime(2026, 4, 6, 6, 0, tzinfo=UTC)  # 08:00 in Berlin, W15 under way
    warning = (
        "warning: 2026-W15 began without its round being sent: "
        "`calroulette run --week 2026-W15 --force` plans and sends it now"
    )
    code, out, err = cli(config, monday, "-q")
    assert (code, out, err.splitlines()) == (0, "", [warning])
    assert cli(config, monday + dt.timedelta(minutes=15), "-q") == (0, "", "")
    code, out, err = cli(config, monday + dt.timedelta(minutes=30))  # by hand: said again
    assert code == 0 and warning in err.splitlines()
    assert "2026-W16: the round is due Tue 07 Apr 2026 09:00 Europe/Berlin" in out
    assert weeks(tmp_path) == [IsoWeek(2026, 14)]

    code, _, err = cli(config, monday + dt.timedelta(hours=1), "--week", "2026-W15", "--force")
    assert code == 0, err
    assert weeks(tmp_path) == [IsoWeek(2026, 14), W15]
    code, _, err = cli(config, dt.datetime(2026, 4, 7, 7, 0, tzinfo=UTC), "-q")  # W16's time
    assert code == 0, err
    assert weeks(tmp_path) == [IsoWeek(2026, 14), W15, IsoWeek(2026, 16)]


def test_run_week_plans_at_once_whatever_the_schedule(tmp_path: Path) -> None:
    config = write_club(tmp_path, zone="Europe/Berlin")
    code, out, err = cli(config, DUE - dt.timedelta(days=1), "--week", "2026-W15")
    assert code == 0, err
    assert weeks(tmp_path) == [W15] and len(emls(tmp_path)) == 4
    assert "Week Coffee: 2026-W15 (sent), 2 meetings" in out  # the round, for cron's mail
    code, out, err = cli(config, DUE - dt.timedelta(days=1), "--week", "2026-W15")
    assert code == 0 and "nothing new to send" in err and len(emls(tmp_path)) == 4
    code, out, err = cli(config, DUE - dt.timedelta(days=1), "--force")  # next week: W15 again
    assert code == 0 and weeks(tmp_path) == [W15] and len(emls(tmp_path)) == 4


def test_run_force_plans_next_week_at_once(tmp_path: Path) -> None:
    config = write_club(tmp_path, zone="Europe/Berlin")
    code, _, err = cli(config, DUE - dt.timedelta(days=1), "--force", "-q")
    assert code == 0, err
    assert weeks(tmp_path) == [W15] and len(emls(tmp_path)) == 4


@pytest.mark.slow
def test_two_runs_at_once_plan_one_round_and_send_each_message_once(tmp_path: Path) -> None:
    """An overlapping cron job: two processes start together; the second waits for the first
    (the run lock) and then finds nothing due."""
    config = write_club(tmp_path, zone="Europe/Berlin")
    procs = [start(config, DUE + dt.timedelta(minutes=1), "run", "-q") for _ in range(3)]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e.decode() for _, e in outputs]
    assert sorted(bool(out) for out, _ in outputs) == [False, False, True]  # one did the work
    assert weeks(tmp_path) == [W15]
    rows = ledger(tmp_path)
    assert len(rows) == 4 and {r.status for r in rows} == {DeliveryStatus.SENT}
    assert len(emls(tmp_path)) == 4


@pytest.mark.slow
def test_a_run_waits_for_the_one_under_way_then_does_what_is_left(tmp_path: Path) -> None:
    config = write_club(tmp_path, zone="Europe/Berlin")
    lock = Path(f"{tmp_path / 'history.sqlite'}.run.lock")
    with lock.open("a+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        proc = start(config, DUE, "run", "-q")
        time.sleep(1.0)
        assert proc.poll() is None and not (tmp_path / "history.sqlite").exists()  # waiting
        fcntl.flock(held.fileno(), fcntl.LOCK_UN)
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    assert weeks(tmp_path) == [W15] and len(emls(tmp_path)) == 4


def test_a_run_that_waited_too_long_does_nothing_and_says_so(tmp_path: Path) -> None:
    config = write_club(tmp_path, zone="Europe/Berlin")
    community = service.load(config)
    lock = Path(f"{tmp_path / 'history.sqlite'}.run.lock")
    with lock.open("a+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        result = service.run(community, now=DUE, wait=0.3)
    assert result.busy and result.steps == () and result.exit_code == 75
    assert weeks(tmp_path) == [] and emls(tmp_path) == []

    released = threading.Event()

    def hold_then_release() -> None:
        with lock.open("a+b") as held:
            fcntl.flock(held.fileno(), fcntl.LOCK_EX)
            released.wait(0.5)

    holder = threading.Thread(target=hold_then_release)
    holder.start()
    time.sleep(0.1)
    result = service.run(community, now=DUE, wait=60)
    holder.join()
    assert not result.busy and result.planned and weeks(tmp_path) == [W15]


def test_a_failing_step_is_one_line_and_the_others_still_run(tmp_path: Path) -> None:
    """The organizer's mailbox is down (nothing listens on its port): the replies step fails,
    the round is planned and sent all the same, and the exit code says something failed."""
    config = write_club(tmp_path, zone="Europe/Berlin")
    # the mailbox is read once there is a history: W14's round, planned by hand
    assert cli(config, DUE - dt.timedelta(days=8), "--week", "2026-W14")[0] == 0
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text + '\n[replies]\nimap_host = "127.0.0.1"\nimap_port = 1\n'
        'imap_username = "coffee@example.org"\n',
        encoding="utf-8",
    )
    code, stdout, err = cli(config, DUE, "--json", env={"CALROULETTE_IMAP_PASSWORD": "secret"})
    assert code == 1
    out = json.loads(stdout)
    steps = {s["step"]: s for s in out["steps"]}
    assert [s["step"] for s in out["steps"]] == [s.value for s in Step]
    assert steps["replies"]["status"] == StepStatus.FAILED
    assert steps["round"]["status"] == StepStatus.DONE and out["planned"] is True
    assert steps["reminders"]["status"] != StepStatus.FAILED
    assert steps["retries"]["status"] != StepStatus.FAILED
    assert weeks(tmp_path) == [IsoWeek(2026, 14), W15]
    assert len(list((tmp_path / "outbox" / "2026-W15").glob("*.eml"))) == 4
    [line] = [line for line in err.splitlines() if line.startswith("replies:")]
    assert "127.0.0.1" in line and "secret" not in line


def test_json_lists_every_step_and_when_the_round_is_due(tmp_path: Path) -> None:
    config = write_club(tmp_path, zone="Europe/Berlin")
    code, out, err = cli(config, DUE - SECOND, "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["week"] == "2026-W15" and payload["due_at"] == "2026-03-31T07:00:00Z"
    assert payload["planned"] is False and payload["sent"] == [] and payload["missed"] is None
    assert [(s["step"], s["status"]) for s in payload["steps"]] == [
        ("replies", "off"),  # no [replies]
        ("rematches", "off"),  # no history yet
        ("round", "idle"),
        ("reminders", "off"),
        ("retries", "off"),
    ]
    code, out, err = cli(config, DUE, "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["planned"] is True and len(payload["sent"]) == 4
    assert payload["state"]["state"] == "sent" and payload["state"]["total"] == 4


def test_runs_every_quarter_hour_remind_every_meeting(tmp_path: Path) -> None:
    """The documented cron line runs at :00, :15, :30 and :45; meetings start on the half
    hour. Each attendee still gets the reminder before the meeting."""
    config = write_club(tmp_path, zone="Europe/Berlin", reminder_email=True)
    assert cli(config, DUE, "-q")[0] == 0
    with open_store(tmp_path / "history.sqlite", readonly=True) as store:
        round_ = store.rounds.load(W15)
    assert round_ is not None
    first = min(m.start for m in round_.meetings)
    at = first - dt.timedelta(hours=1)
    while at <= first + dt.timedelta(minutes=15):
        assert cli(config, at, "-q")[0] == 0
        at += dt.timedelta(minutes=15)
    reminded = {
        (r.key.meeting_uid, r.key.recipient) for r in ledger(tmp_path) if r.key.kind == "reminder"
    }
    starting = [m for m in round_.meetings if m.start == first]
    assert reminded >= {(m.uid, e) for m in starting for e in m.members}
