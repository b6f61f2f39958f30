"""The week between the invitation and the coffee, through the real commands, with the clock
pinned and `calroulette run -q` run as cron runs it, SIGKILLed at seeded random moments before
every run that finishes:

invitations on match_day → a decline by the "can't make it" link (the partner told nobody is
free) → a decline from a calendar app, an iTIP REPLY in the organizer's mailbox (Dovecot): the
meeting cancelled for both, and the partner paired with the member freed earlier → a meeting
moved from its link (an updated REQUEST to both) → reminders ten minutes before each meeting
still on, not a minute earlier → "did you meet?" the day after, answered from its links →
`calroulette stats --json` counts it all. After each step the ledger and the outbox hold exactly
one message per person per change, and nothing else.

And the same week's reminders on Discord (pytest-httpserver as the webhook): one post per
meeting, mentioning both, at the right minute.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from calroulette.delivery.outbox import Outbox
from calroulette.matching import Meeting, MeetingStatus, Round, RoundStatus
from calroulette.service.cant import DeclineOutcome, cant_cancel, cant_move, cant_page
from calroulette.service.met import met_answer
from calroulette.store import AnswerSource, DeliveryStatus, Met, PartStat, open_store
from calroulette.timeutil import IsoWeek, format_utc

from .support.imap import PASSWORD, PASSWORD_ENV, dovecot, reply
from .support.web import SECRET_KEY
from .support.week import (
    Sent,
    calroulette,
    emls,
    free_daily,
    keys,
    killed_then_run,
    ledger,
    links,
    outbox,
    write_club,
)

UTC = dt.UTC
W49 = IsoWeek(2026, 49)  # Monday 30 November 2026
FRIDAY = dt.datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # 09:00 in Berlin: W49's round is due
SATURDAY = dt.datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
THURSDAY = dt.datetime(2026, 12, 3, 18, 0, tzinfo=UTC)  # every meeting's follow-up is due
MINUTE = dt.timedelta(minutes=1)
ORGANIZER = "coffee@example.org"
PEOPLE = [
    ("Ada Lovelace", "ada@example.org", "Europe/London"),
    ("Grace Hopper", "grace@example.org", "America/New_York"),
    ("Alan Turing", "alan@example.org", "Europe/Berlin"),
    ("Katherine Johnson", "katherine@example.org", "America/Chicago"),
    ("Edsger Dijkstra", "edsger@example.org", "Europe/Amsterdam"),
    ("Radia Perlman", "radia@example.org", "Asia/Kolkata"),
]
SETTINGS: dict[str, Any] = {
    "zone": "Europe/Berlin",
    "match_day": "friday",  # W50's round is due on 4 December: after this test's last run
    "match_time": "09:00",
    "reminder_minutes": 10,
    "followup": True,
}
Key = tuple[str, str, str, int]  # recipient, kind, meeting, sequence


def free_early_in_the_week() -> dict[str, bytes]:
    """Free Monday to Wednesday, 09:00-17:00 UTC: every meeting is over by Wednesday night."""
    return {email: free_daily(days="MO,TU,WE") for _, email, _ in PEOPLE}


def stored(folder: Path, week: IsoWeek = W49) -> Round:
    with open_store(folder / "history.sqlite", readonly=True) as store:
        found = store.rounds.load(week, include_cancelled=True)
    assert found is not None
    return found


def now_of(folder: Path, uid: str) -> Meeting:
    return next(m for m in stored(folder).meetings if m.uid == uid)


def check(folder: Path, expected: Counter[Key], *, followups: bool = True) -> list[Sent]:
    """The ledger holds exactly ``expected``, every message sent; the outbox holds exactly one
    file per delivery, and each iTIP message says what its key says, to whom it says. Without
    ``followups``, the "did you meet?" messages are left out of the comparison (a meeting early
    in the week is asked about while later ones are still to come)."""
    rows = ledger(folder)
    assert without_followups(keys(rows), followups) == without_followups(expected, followups)
    assert {r.status for r in rows} <= {DeliveryStatus.SENT}
    box = Outbox(folder / "outbox")
    assert sorted(emls(folder)) == sorted(box.eml_path(r) for r in rows)
    sent = outbox(folder)
    for message in sent:
        if message.kind in ("request", "cancel"):
            assert message.method == message.kind.upper()
            assert (message.to, message.kind, message.uid, message.sequence) in expected
    return sent


def without_followups(counted: Counter[Key], keep: bool) -> Counter[Key]:
    return counted if keep else Counter({k: n for k, n in counted.items() if k[1] != "followup"})


def invitation(sent: list[Sent], to: str, uid: str) -> Sent:
    [found] = [s for s in sent if s.to == to and s.uid == uid and s.kind == "request"]
    return found


def token_of(url: str, path: str) -> str:
    return url.split(path, 1)[1].split("/", 1)[0]


@pytest.mark.slow
def test_a_week_of_declines_moves_reminders_and_answers_survives_kill_9_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(20261127)
    monkeypatch.setenv("CALROULETTE_SECRET_KEY", SECRET_KEY)  # the links, checked in-process
    env = {"CALROULETTE_SECRET_KEY": SECRET_KEY, PASSWORD_ENV: PASSWORD}
    kills = 0

    with dovecot(tmp_path) as server:
        config = write_club(
            tmp_path / "club",
            people=PEOPLE,
            calendars=free_early_in_the_week(),
            reminder_email=True,
            tables={
                "web": {"base_url": "https://coffee.example.org"},
                "replies": {
                    "imap_host": server.host,
                    "imap_port": server.port,
                    "imap_username": server.user,
                    "imap_password_env": PASSWORD_ENV,
                    "ca_file": str(server.cert),
                },
            },
            **SETTINGS,
        )
        folder = config.parent

        def run(now: dt.datetime) -> None:
            nonlocal kills
            result, killed = killed_then_run(config, now, rng, env=env)
            kills += killed
            assert result.returncode == 0, result.stderr

        # --- before match_day's time, nothing; at it, the invitations -------------------------
        early = calroulette(config, FRIDAY - MINUTE, "run", "-q", env=env)
        assert (early.returncode, early.stdout, early.stderr) == (0, "", "")
        assert not (folder / "history.sqlite").exists()
        run(FRIDAY)
        round_ = stored(folder)
        assert round_.status is RoundStatus.SENT and len(round_.meetings) == 3
        by_link, by_reply, moved = round_.meetings
        expected: Counter[Key] = Counter(
            {(e, "request", m.uid, 0): 1 for m in round_.meetings for e in m.members}
        )
        sent = check(folder, expected)

        # --- "I can't this week" from the link in C's invitation: cancelled for both; D is
        # told kindly that nobody is free (everyone else has a meeting)
        c, d = by_link.members
        [url] = links(invitation(sent, c, by_link.uid).message, "/cant/")
        declined = cant_cancel(config, token_of(url, "/cant/"), now=SATURDAY)
        assert declined.outcome is DeclineOutcome.CANCELLED
        run(SATURDAY + 5 * MINUTE)  # nothing more to do, however often it is killed
        expected.update(
            {
                (c, "cancel", by_link.uid, 1): 1,
                (d, "cancel", by_link.uid, 1): 1,
                (d, "no-rematch", by_link.uid, 1): 1,
            }
        )
        check(folder, expected)

        # --- A declines from a calendar app: a REPLY in the organizer's mailbox, read by `run`
        # (killed while it reads, cancels and rematches): cancelled for both, and B is paired
        # with D, the member freed earlier
        a, b = by_reply.members
        server.append(
            reply(
                "gmail_reply",
                uid=by_reply.uid,
                attendee=a,
                organizer=ORGANIZER,
                partstat="DECLINED",
                sequence=0,
                message_id="decline-by-reply@mail.gmail.com",
            )
        )
        run(SATURDAY + dt.timedelta(hours=1))
        assert now_of(folder, by_reply.uid).status is MeetingStatus.CANCELLED
        first = {m.uid for m in round_.meetings}
        [rematched] = [m for m in stored(folder).meetings if m.uid not in first]
        assert sorted(rematched.members) == sorted([b, d])
        expected.update(
            {
                (a, "cancel", by_reply.uid, 1): 1,
                (b, "cancel", by_reply.uid, 1): 1,
                (b, "request", rematched.uid, 0): 1,
                (d, "request", rematched.uid, 0): 1,
            }
        )
        sent = check(folder, expected)
        with open_store(folder / "history.sqlite", readonly=True) as store:
            said = store.attendance.of(by_reply.uid)[a]
        assert said.partstat is PartStat.DECLINED and said.source is AnswerSource.REPLY
        assert any("$CalrouletteDone" in f or "\\Flagged" in f for f in server.flags().values())

        # --- E moves their meeting from the link to another time both are free: an updated
        # REQUEST (SEQUENCE 1) to both
        e, f = moved.members
        [url] = links(invitation(sent, e, moved.uid).message, "/cant/")
        token = token_of(url, "/cant/")
        now = SATURDAY + dt.timedelta(hours=2)
        page = cant_page(config, token, now=now)
        assert page.options
        new_start = page.options[-1].start
        assert new_start != moved.start
        cant_move(config, token, format_utc(new_start), now=now)
        run(now + 5 * MINUTE)
        expected.update({(e, "request", moved.uid, 1): 1, (f, "request", moved.uid, 1): 1})
        sent = check(folder, expected)
        assert {s.start for s in sent if s.uid == moved.uid and s.sequence == 1} == {new_start}

        # --- reminders: none at the run before (20 minutes ahead: the next run, 15 minutes later,
        # is still in time); at ten minutes before, one to each attendee ----------------------
        live = [now_of(folder, moved.uid), now_of(folder, rematched.uid)]
        for start in sorted({m.start for m in live}):
            at = start - dt.timedelta(minutes=10)
            quiet = calroulette(config, start - 20 * MINUTE, "run", "-q", env=env)
            assert quiet.returncode == 0, quiet.stderr
            check(folder, expected, followups=False)  # no reminder yet
            run(at)
            for meeting in (m for m in live if m.start == start):
                for person in meeting.members:
                    expected[(person, "reminder", meeting.uid, meeting.sequence)] = 1
            check(folder, expected, followups=False)

        # --- "did you meet?" the day after, answered from its links ----------------------------
        run(THURSDAY)
        for meeting in live:
            for person in meeting.members:
                expected[(person, "followup", meeting.uid, meeting.sequence)] = 1
        sent = check(folder, expected)
        answers = {b: Met.YES, d: Met.YES, e: Met.NO}
        for person, answer in answers.items():
            [followup] = [s for s in sent if s.to == person and s.kind == "followup"]
            [url] = [u for u in links(followup.message, "/met/") if u.endswith(f"/{answer}")]
            met_answer(config, token_of(url, "/met/"), answer, now=THURSDAY + dt.timedelta(hours=1))
        run(THURSDAY + dt.timedelta(hours=1, minutes=15))
        check(folder, expected)  # answering sends nothing

    # --- the organizer's view ------------------------------------------------------------------
    result = calroulette(config, THURSDAY + dt.timedelta(hours=2), "stats", "--json")
    assert result.returncode == 0, result.stderr
    [week] = [w for w in json.loads(result.stdout)["weeks"] if w["week"] == "2026-W49"]
    assert week["meetings"]["moved"] == 1
    assert week["meetings"]["declined"] == 2
    assert week["met"] == {"yes": 2, "no": 1}
    # both members freed found a partner: each other
    assert week["releases"] == {"released": 2, "rematched": 2}
    assert kills >= 5, kills  # runs were killed, not only finished ones


@pytest.mark.slow
def test_discord_reminders_come_once_at_the_right_minute_despite_kill_9(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """One webhook post per meeting ten minutes before it, mentioning both attendees with the
    link and a counting-down time; a SIGKILL after Discord took a post and before the ledger
    marked it can repeat that one post (byte for byte), never another."""
    rng = random.Random(20261201)
    path = "/api/webhooks/123/secret-token"
    httpserver.expect_request(path, method="POST").respond_with_json({"id": "1"})
    people = [(n, e, z) for n, e, z in PEOPLE[:4]]
    ids = {e: str(111111111111111111 * (i + 1)) for i, (_, e, _) in enumerate(people)}
    config = write_club(
        tmp_path / "club",
        people=people,
        calendars=free_early_in_the_week(),
        delivery={"method": "discord", "rate_limit_per_minute": 100_000},
        members={e: {"discord_id": i} for e, i in ids.items()},
        **SETTINGS,
    )
    folder = config.parent
    env = {"CALROULETTE_DISCORD_WEBHOOK": httpserver.url_for(path)}
    kills = 0

    def run(now: dt.datetime) -> None:
        nonlocal kills
        result, killed = killed_then_run(config, now, rng, env=env)
        kills += killed
        assert result.returncode == 0, result.stderr

    run(FRIDAY)
    meetings = stored(folder).meetings
    assert len(meetings) == 2
    invitations = len(httpserver.log)
    for start in sorted({m.start for m in meetings}):
        at = start - dt.timedelta(minutes=10)
        before = len(httpserver.log)
        assert calroulette(config, start - 20 * MINUTE, "run", "-q", env=env).returncode == 0
        assert len(httpserver.log) == before  # the next run, 15 minutes later, is still in time
        run(at)

    rows = ledger(folder)
    assert keys(rows) == Counter(
        {("webhook", kind, m.uid, 0): 1 for m in meetings for kind in ("request", "reminder")}
    )
    assert {r.status for r in rows} == {DeliveryStatus.SENT}
    posts: dict[str, list[str]] = {}
    for n, (request, _) in enumerate(httpserver.log):
        payload = request.form["payload_json"]
        for upload in request.files.values():
            upload.close()
        if n >= invitations:
            posts.setdefault(json.loads(payload)["content"], []).append(payload)
    assert len(posts) == 2  # one reminder per meeting
    for meeting in meetings:
        [text] = [t for t in posts if all(f"<@{ids[e]}>" in t for e in meeting.members)]
        assert f"<t:{int(meeting.start.timestamp())}:R>" in text  # counting down to it
    repeats = sum(len(copies) - 1 for copies in posts.values())
    assert repeats <= kills and all(len(set(c)) == 1 for c in posts.values())
