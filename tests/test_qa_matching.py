"""An independent acceptance check of `calroulette match` on random communities.

Each community (up to 60 members) gets random calendars written as files, random settings
(zones, slot and meeting length, notice, triples, teams), random avoid lists, paused members,
frequencies and feed errors, and a random history recorded through the store. The round that
`match --json` prints is then checked against rules recomputed here from scratch: free time comes
from `slots --all --json`, the slot grid, cooldown, frequency and the compatibility graph are
rebuilt by this file, and the maximum is networkx's. Nothing is taken from calroulette.matching.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import networkx as nx
import pytest
from typer.testing import CliRunner

from calroulette.cli import app
from calroulette.intervals import Interval
from calroulette.matching import Meeting, Round, RoundStatus, Unmatched
from calroulette.store import open_store
from calroulette.timeutil import IsoWeek

runner = CliRunner()
UTC = dt.UTC
WEEK = IsoWeek(2026, 49)
ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Kolkata",  # +05:30: the week starts at half past a UTC hour
    "Asia/Kathmandu",  # +05:45
    "America/St_Johns",  # -03:30
    "Australia/Sydney",
    "Pacific/Auckland",
    "Pacific/Honolulu",
]
HOUR = dt.timedelta(hours=1)


@dataclass
class Person:
    name: str
    email: str
    zone: str
    paused: bool = False
    paused_until: dt.date | None = None
    frequency: str = "weekly"
    avoid: list[str] = field(default_factory=list)
    team: str | None = None
    topics: list[str] = field(default_factory=list)
    broken: bool = False  # calendar path that does not exist


@dataclass
class Setting:
    zone: str
    slot_minutes: int
    meeting_minutes: int
    min_notice_hours: int
    cooldown_weeks: int
    allow_triples: bool
    separate_teams: bool
    now: dt.datetime
    people: list[Person]
    history: list[Round]
    dense: bool = False


def _ics_time(value: dt.datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _calendar(rng: random.Random, email: str, dense: bool) -> str:
    """A few free windows around the week (some crossing its edges, some off the half-hour), and
    a busy meeting or two, all in UTC; ``dense``: long windows most members share."""
    base = dt.datetime(2026, 11, 29, tzinfo=UTC)  # the day before the week's Monday
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//qa//matching//EN"]
    for k in range(rng.choice([0, 2, 3, 4, 5, 6, 8] if not dense else [6, 7])):
        # popular windows (so many members overlap), some moved by a quarter hour
        start = base + dt.timedelta(days=rng.randrange(9), hours=rng.choice([8, 14, 14, 21]))
        start += dt.timedelta(minutes=rng.choice([0, 0, 0, 15, -15, 30]))
        end = start + dt.timedelta(minutes=15 * rng.randint(4, 20 if not dense else 40))
        summary = rng.choice(["Free for coffee", "free", "FREE!"])
        lines += _event(f"free{k}-{email}", start, end, summary)
    for k in range(rng.randint(0, 2)):
        start = base + dt.timedelta(minutes=30 * rng.randrange(0, 9 * 48))
        lines += _event(f"busy{k}-{email}", start, start + HOUR, "Dentist")
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def _event(uid: str, start: dt.datetime, end: dt.datetime, summary: str) -> list[str]:
    return [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20261101T000000Z",
        f"DTSTART:{_ics_time(start)}",
        f"DTEND:{_ics_time(end)}",
        f"SUMMARY:{summary}",
        "END:VEVENT",
    ]


def _setting(seed: int, size: int) -> Setting:
    rng = random.Random(seed)
    dense = size < 0  # a negative size: a dense community, no teams and little history
    size = abs(size)
    people = [
        Person(f"Member {k}", f"m{k:02d}@example.org", rng.choice(ZONES)) for k in range(size)
    ]
    emails = [p.email for p in people]
    for person in people:
        roll = rng.random()
        if roll < 0.06:
            person.paused = True
        elif roll < 0.10:
            person.paused_until = dt.date(2026, 12, rng.choice([1, 7, 20]))  # W49 Monday is 30 Nov
        elif roll < 0.13:
            person.broken = True
        person.frequency = rng.choices(["weekly", "biweekly", "monthly"], [6, 2, 1])[0]
        if dense:
            person.frequency = "weekly"
        if rng.random() < 0.2:
            person.avoid = rng.sample([e for e in emails if e != person.email], rng.randint(1, 3))
        if rng.random() < 0.6 and not dense:
            person.team = rng.choice(["red", "green", "blue"])
        person.topics = rng.sample(["python", "stats", "rust", "music"], rng.randint(0, 2))
    slot = rng.choice([15, 20, 30, 60])
    meeting = rng.choice([m for m in (15, 30, 45, 60) if m >= slot] or [slot])
    history: list[Round] = []
    for back in range(1, rng.randint(1, 10) if not dense else 2):
        week = WEEK.shifted(-back)
        shuffled = rng.sample(emails, len(emails))
        cut = rng.randrange(0, len(shuffled) // 2 + 1) * 2
        meetings = []
        for k in range(0, cut, 2):
            group = tuple(sorted(shuffled[k : k + 2]))
            start = dt.datetime.combine(week.monday(), dt.time(12), UTC)
            meetings.append(Meeting(f"{week}-{k}@qa", group, start, start + HOUR))
        reasons = ["everyone compatible is already paired", "paused", "frequency: biweekly"]
        unmatched = tuple(Unmatched(e, rng.choice(reasons)) for e in sorted(shuffled[cut:]))
        history.append(Round(week, 1, tuple(meetings), unmatched, RoundStatus.SENT))
    return Setting(
        zone=rng.choice(ZONES),
        slot_minutes=slot,
        meeting_minutes=meeting,
        min_notice_hours=rng.choice([0, 24, 24, 48]),
        cooldown_weeks=rng.choice([0, 1, 4, 8]),
        allow_triples=rng.random() < 0.5,
        separate_teams=rng.random() < 0.4,
        now=dt.datetime(2026, 11, 26, tzinfo=UTC) + dt.timedelta(minutes=7 * rng.randrange(900)),
        people=people,
        history=history,
        dense=dense,
    )


def _write(tmp: Path, s: Setting, seed: int) -> Path:
    rng = random.Random(seed * 7919)
    cal = tmp / "cal"
    cal.mkdir()
    lines = [
        "[community]",
        'name = "QA Coffee"',
        'organizer = "QA Coffee <coffee@example.org>"',
        f'timezone = "{s.zone}"',
        f"meeting_minutes = {s.meeting_minutes}",
        f"slot_minutes = {s.slot_minutes}",
        f"min_notice_hours = {s.min_notice_hours}",
        f"cooldown_weeks = {s.cooldown_weeks}",
        f"allow_triples = {str(s.allow_triples).lower()}",
        f"separate_teams = {str(s.separate_teams).lower()}",
        'database = "history.sqlite"',
        f'cache_dir = "{tmp / "cache"}"',
        "",
    ]
    for p in s.people:
        path = cal / f"{p.email}.ics"
        if not p.broken:
            path.write_text(_calendar(rng, p.email, s.dense), encoding="utf-8")
        lines += [
            "[[members]]",
            f'name = "{p.name}"',
            f'email = "{p.email}"',
            f'calendar = "{path}"',
            f'timezone = "{p.zone}"',
            f'frequency = "{p.frequency}"',
            f"topics = {json.dumps(p.topics)}",
        ]
        if p.paused:
            lines.append("paused = true")
        if p.paused_until:
            lines.append(f"paused_until = {p.paused_until.isoformat()}")
        if p.avoid:
            lines.append(f"avoid = {json.dumps(p.avoid)}")
        if p.team:
            lines.append(f'team = "{p.team}"')
        lines.append("")
    config = tmp / "members.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    if s.history:
        with open_store(tmp / "history.sqlite") as store:
            for past in s.history:
                store.save_round(past, at=s.now - dt.timedelta(days=7))
    return config


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _inside(span: tuple[dt.datetime, dt.datetime], free: list[Interval]) -> bool:
    return any(a <= span[0] and span[1] <= b for a, b in free)


class Rules:
    """The issue's rules, recomputed from the setting and `slots --all --json`."""

    def __init__(self, s: Setting, slots: dict[str, object]) -> None:
        self.s = s
        self.free: dict[str, list[Interval]] = {}
        members = slots["members"]
        assert isinstance(members, list)
        for entry in members:
            self.free[entry["member"]] = [Interval(_t(a), _t(b)) for a, b in entry["free"]]
        errors = slots["errors"]
        assert isinstance(errors, list)
        self.errors = {e["member"] for e in errors}
        zone = ZoneInfo(s.zone)
        monday = WEEK.monday()
        self.week_start = dt.datetime.combine(monday, dt.time(), zone).astimezone(UTC)
        self.week_end = dt.datetime.combine(
            monday + dt.timedelta(days=7), dt.time(), zone
        ).astimezone(UTC)
        self.duration = dt.timedelta(minutes=s.meeting_minutes)
        self.earliest = max(self.week_start, s.now + dt.timedelta(hours=s.min_notice_hours))
        step = dt.timedelta(minutes=s.slot_minutes)
        # every start counted from the top of a UTC hour, in the week, with the notice
        hour = self.week_start.replace(minute=0)
        self.grid: list[dt.datetime] = []
        t = hour
        while t + self.duration <= self.week_end:
            if t >= self.earliest:
                self.grid.append(t)
            t += step
        self.last_met: dict[frozenset[str], int] = {}
        self.last_matched: dict[str, int] = {}
        for past in s.history:
            for m in past.meetings:
                for a in m.members:
                    self.last_matched[a] = max(self.last_matched.get(a, -99), past.week.week)
                    for b in m.members:
                        if a < b:
                            key = frozenset((a, b))
                            self.last_met[key] = max(self.last_met.get(key, -99), past.week.week)
        latest = max(s.history, key=lambda r: r.week, default=None)
        self.first = {
            u.member
            for u in (latest.unmatched if latest else ())
            if not u.reason.startswith(("paused", "frequency"))
        }
        self.people = {p.email: p for p in s.people}
        weeks = {"weekly": 1, "biweekly": 2, "monthly": 4}
        self.participants = []
        for p in s.people:
            if p.paused or (p.paused_until and p.paused_until > WEEK.monday()):
                continue
            last = self.last_matched.get(p.email)
            if last is not None and WEEK.week - last < weeks[p.frequency]:
                continue
            if p.email in self.errors:
                continue
            self.participants.append(p.email)

    def starts(self, *emails: str) -> list[dt.datetime]:
        return [
            t
            for t in self.grid
            if all(_inside((t, t + self.duration), self.free[e]) for e in emails)
        ]

    def may_meet(self, a: str, b: str) -> bool:
        pa, pb = self.people[a], self.people[b]
        if a in pb.avoid or b in pa.avoid:
            return False
        if self.s.separate_teams and pa.team and pa.team == pb.team:
            return False
        met = self.last_met.get(frozenset((a, b)))
        return not (met is not None and WEEK.week - met <= self.s.cooldown_weeks)

    def graph(self) -> nx.Graph:
        g = nx.Graph()
        g.add_nodes_from(self.participants)
        for i, a in enumerate(self.participants):
            for b in self.participants[i + 1 :]:
                if self.may_meet(a, b) and self.starts(a, b):
                    g.add_edge(a, b, weight=(a in self.first) + (b in self.first))
        return g


def _check_round(rules: Rules, payload: dict[str, object], size: int) -> None:
    s = rules.s
    meetings = payload["meetings"]
    unmatched = payload["unmatched"]
    assert isinstance(meetings, list) and isinstance(unmatched, list)
    seen: list[str] = []
    days_zone = ZoneInfo(s.zone)
    for m in meetings:
        group = m["members"]
        seen += group
        start, end = _t(m["start"]), _t(m["end"])
        assert end - start == rules.duration, m
        assert start in rules.grid, f"{m['start']} is not a start on the grid after the notice"
        for e in group:
            assert e in rules.participants, f"{e} should not be matched this week"
            assert _inside((start, end), rules.free[e]), f"{e} is not free at {m['start']}"
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                assert rules.may_meet(a, b), f"{a} and {b} may not meet (cooldown/avoid/team)"
        assert 2 <= len(group) <= (3 if s.allow_triples else 2)
        # earliest shared slot
        assert start == min(rules.starts(*group)), "not the earliest shared slot"
        alternatives = [(_t(a), _t(b)) for a, b in m["alternatives"]]
        assert len(alternatives) <= 3
        alt_days = [a.astimezone(days_zone).date() for a, _ in alternatives]
        assert start.astimezone(days_zone).date() not in alt_days
        assert len(set(alt_days)) == len(alt_days)
        for a, b in alternatives:
            assert a in rules.grid and b - a == rules.duration
            assert all(_inside((a, b), rules.free[e]) for e in group)
        # one per other day where there is one, the earliest of that day
        all_days = {t.astimezone(days_zone).date() for t in rules.starts(*group)}
        expected_days = sorted(all_days - {start.astimezone(days_zone).date()})[:3]
        assert alt_days == expected_days
        for a, day in zip(alternatives, alt_days, strict=True):
            firsts = [t for t in rules.starts(*group) if t.astimezone(days_zone).date() == day]
            assert a[0] == firsts[0]
    assert len(seen) == len(set(seen)), "someone is in two meetings"
    listed = [u["member"] for u in unmatched]
    assert sorted(listed + seen) == sorted(p.email for p in s.people)
    assert all(u["reason"].strip() for u in unmatched)
    g = rules.graph()
    best = nx.max_weight_matching(g, maxcardinality=True)
    assert len(meetings) == len(best), "not a maximum matching"
    if not s.allow_triples:
        assert len(seen) == 2 * len(best)
    else:
        for u in set(rules.participants) - set(seen):
            for m in meetings:
                if len(m["members"]) == 2:
                    a, b = m["members"]
                    ok = rules.may_meet(u, a) and rules.may_meet(u, b) and rules.starts(u, a, b)
                    assert not ok, f"{u} could join {a} and {b} as a third"
    if g.number_of_edges() <= 1000:  # the exact engine: objective (2) is optimal
        top = sum(g.edges[a, b]["weight"] for a, b in best)
        got = sum(
            (m["members"][0] in rules.first) + (m["members"][1] in rules.first)
            for m in meetings
            if len(m["members"]) == 2
        )
        # a triple's third member can only add to those seated
        got_all = sum(e in rules.first for e in seen)
        assert got_all >= top and (s.allow_triples or got == top)
    for u in unmatched:
        p = rules.people[u["member"]]
        if p.paused or (p.paused_until and p.paused_until > WEEK.monday()):
            assert u["reason"].startswith("paused")
        elif p.broken:
            assert u["reason"].startswith(("feed error", "frequency"))
    del size


def _leaks_avoid(text: str) -> bool:
    return "avoid" in text.lower()


# a negative size is a dense community (over 1,000 compatible pairs: calroulette's large engine)
SIZES = [2, 3, 5, 8, 13, 21, 34, 60, 7, 17, 29, 44, -12, -25, -60]
SEEDS = list(enumerate(SIZES))


@pytest.fixture(autouse=True)
def _no_color(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    yield


@pytest.mark.parametrize(("seed", "size"), SEEDS)
def test_match_on_a_random_community_obeys_every_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, size: int
) -> None:
    """Validity, maximum count, cooldown/avoid/teams/frequency/paused, reasons, alternatives."""
    s = _setting(seed, size)
    config = _write(tmp_path, s, seed)
    monkeypatch.setenv("CALROULETTE_NOW", s.now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    code, out, err = _run("slots", "--all", "--json", "--week", str(WEEK), "-c", str(config))
    assert code in (0, 1), err
    rules = Rules(s, json.loads(out))
    assert rules.errors == {p.email for p in s.people if p.broken}

    db = tmp_path / "history.sqlite"
    before = db.read_bytes() if db.exists() else None
    code, dry, err = _run("match", "--json", "--dry-run", "--week", str(WEEK), "-c", str(config))
    assert code in (0, 1), err
    after = db.read_bytes() if db.exists() else None
    assert before == after, "--dry-run wrote to the history database"
    assert not db.with_name(db.name + "-wal").exists() or before is not None

    code, out, err = _run("match", "--json", "--week", str(WEEK), "-c", str(config))
    assert code in (0, 1), err
    payload = json.loads(out)
    assert payload["week"] == str(WEEK) and payload["status"] == "planned"
    assert json.loads(dry)["meetings"] == payload["meetings"], "dry run and real run differ"
    _check_round(rules, payload, size)
    assert {e["member"] for e in payload["errors"]} == rules.errors

    # a second run prints the recorded round and changes nothing
    code, again, err = _run("match", "--json", "--week", str(WEEK), "-c", str(config))
    assert code in (0, 1) and json.loads(again) == payload
    assert "already planned" in err

    # the human table, and `why` for everyone, never reveal an avoid list
    code, human, err = _run("match", "--week", str(WEEK), "-c", str(config))
    texts = [out, human, err, dry]
    involved = {p.email for p in s.people if p.avoid} | {e for p in s.people for e in p.avoid}
    for email in sorted(involved)[:8]:
        code, why, err = _run("why", email, "--week", str(WEEK), "-c", str(config))
        assert code == 0, err
        texts += [why, err]
    assert not any(_leaks_avoid(t) for t in texts)


@pytest.mark.parametrize(("seed", "size"), [(101, 24), (102, 40)])
def test_rematch_replans_an_unsent_round_and_seed_is_deterministic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, size: int
) -> None:
    s = _setting(seed, size)
    config = _write(tmp_path, s, seed)
    monkeypatch.setenv("CALROULETTE_NOW", s.now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    code, out, _ = _run("slots", "--all", "--json", "--week", str(WEEK), "-c", str(config))
    rules = Rules(s, json.loads(out))
    args = ("match", "--json", "--week", str(WEEK), "-c", str(config))
    first = json.loads(_run(*args, "--dry-run", "--seed", "7")[1])
    assert json.loads(_run(*args, "--dry-run", "--seed", "7")[1]) == first
    planned = json.loads(_run(*args, "--seed", "7")[1])
    assert planned["meetings"] == first["meetings"]
    others = [json.loads(_run(*args, "--rematch", "--seed", str(k))[1]) for k in (8, 9, 10)]
    for other in others:
        _check_round(rules, other, size)
    # the last rematch is what is stored now
    assert json.loads(_run(*args)[1]) == others[-1]
    uids = {m["uid"] for m in planned["meetings"]}
    if any(o["meetings"] != planned["meetings"] for o in others):
        assert any({m["uid"] for m in o["meetings"]} != uids for o in others)
    with open_store(tmp_path / "history.sqlite") as store:
        store.mark_sent(WEEK)
    code, _, err = _run(*args, "--rematch")
    assert code != 0 and "already sent" in err and "Traceback" not in err
    assert re.search(r"cancel|reschedule", err)
