"""Generate a realistic synthetic community of N members, deterministically from a seed.

    .venv/bin/python bench/community.py 1000 --out /tmp/community-1000 [--seed 7]

Writes ``members.toml`` (calendars as ``{base_url}/feeds/<token>.ics`` when --base-url is given,
else as local paths), ``feeds/<token>.ics`` and ``history.json`` (a year of past rounds).

What the feeds look like, and why:
- members live in ~15 IANA zones on every continent, so shared free time is sparse and DST rules
  of both hemispheres are exercised;
- each has 2–6 recurring "free" events: weekly, some biweekly, some overnight, some with EXDATEs and
  moved (RECURRENCE-ID) occurrences;
- most feeds are light (a dedicated calendar: a few events), about 1 in 20 is heavy: a primary
  calendar exported from Google with years of meetings, weekly series with UNTIL, overrides and
  all-day events, hundreds of KB like the real thing.

The text is written from templates rather than with icalendar because generating hundreds of MB
through a full object model would dominate the benchmark's set-up time; every generated feed is
parsed by icalendar in the benchmarks themselves, which keeps it honest.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

ZONES = (
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Helsinki",
    "Africa/Lagos",
    "Africa/Nairobi",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)
# Most of a real community sits in a few zones.
ZONE_WEIGHTS = (8, 3, 6, 12, 4, 10, 14, 3, 2, 2, 8, 4, 4, 4, 1)
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
HEAVY_SHARE = 0.05
COMMUNITY_ZONE = "Europe/Berlin"
TARGET_WEEK_MONDAY = dt.date(2026, 11, 30)  # 2026-W49: the week benches plan for


@dataclass(frozen=True, slots=True)
class Generated:
    members_toml: Path
    feeds: Path
    history: Path
    tokens: tuple[str, ...]


def generate(
    n: int, out: Path, *, seed: int = 7, base_url: str | None = None, history_weeks: int = 52
) -> Generated:
    rng = random.Random(seed)
    feeds = out / "feeds"
    feeds.mkdir(parents=True, exist_ok=True)
    emails: list[str] = []
    tokens: list[str] = []
    lines = [
        "[community]",
        f'name = "Synthetic {n}"',
        'organizer = "Synthetic Coffee <coffee@example.org>"',
        f'timezone = "{COMMUNITY_ZONE}"',
        "cooldown_weeks = 8",
        'database = "calroulette.sqlite"',
        'cache_dir = "cache"',
        "allow_private_feeds = true  # the bench serves the feeds on loopback",
        "",
        "[delivery]",
        'method = "outbox"',
        "",
    ]
    for i in range(n):
        zone = rng.choices(ZONES, ZONE_WEIGHTS)[0]
        email = f"member{i:05d}@example.org"
        token = hashlib.sha256(f"{seed}:{i}".encode()).hexdigest()[:32]
        heavy = rng.random() < HEAVY_SHARE
        body = feed_text(rng, email, zone, heavy=heavy)
        (feeds / f"{token}.ics").write_bytes(body.encode("utf-8"))
        calendar = f"{base_url}/feeds/{token}.ics" if base_url else f"feeds/{token}.ics"
        lines += [
            "[[members]]",
            f'name = "Member {i:05d}"',
            f'email = "{email}"',
            f'calendar = "{calendar}"',
            f'timezone = "{zone}"',
        ]
        if rng.random() < 0.3:
            lines.append(f'topics = ["{rng.choice(("python", "stats", "ml", "viz", "sql"))}"]')
        if rng.random() < 0.05:
            lines.append('frequency = "biweekly"')
        lines.append("")
        emails.append(email)
        tokens.append(token)
    members_toml = out / "members.toml"
    members_toml.write_text("\n".join(lines), encoding="utf-8")
    history = out / "history.json"
    history.write_text(json.dumps(history_rounds(rng, emails, history_weeks)), encoding="utf-8")
    return Generated(members_toml, feeds, history, tuple(tokens))


def history_rounds(rng: random.Random, emails: list[str], weeks: int) -> list[dict[str, object]]:
    """A year of past rounds: each week about 60% of members met someone."""
    rounds = []
    for back in range(weeks, 0, -1):
        monday = TARGET_WEEK_MONDAY - dt.timedelta(weeks=back)
        year, week, _ = monday.isocalendar()
        present = [e for e in emails if rng.random() < 0.6]
        rng.shuffle(present)
        pairs = [sorted(present[i : i + 2]) for i in range(0, len(present) - 1, 2)]
        rounds.append({"week": f"{year}-W{week:02d}", "pairs": pairs})
    return rounds


def _stamp(value: dt.datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S")


def _event(uid: str, summary: str, props: list[str]) -> list[str]:
    return [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20261101T090000Z",
        *props,
        f"SUMMARY:{summary}",
        "END:VEVENT",
    ]


def free_events(rng: random.Random, email: str, zone: str) -> list[str]:
    out: list[str] = []
    for k in range(rng.randint(2, 6)):
        first = dt.date(2026, rng.randint(1, 10), rng.randint(1, 28))
        hour = rng.choice((7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 22))
        length = rng.choice((60, 90, 120, 180))
        start = dt.datetime.combine(first, dt.time(hour, rng.choice((0, 30))))
        end = start + dt.timedelta(minutes=length)
        if hour == 22 and rng.random() < 0.5:
            end = start + dt.timedelta(hours=3)  # overnight: 22:00 to 01:00
        days = sorted(rng.sample(range(5), rng.randint(1, 3)))
        rule = "RRULE:FREQ=WEEKLY;BYDAY=" + ",".join(DAYS[d] for d in days)
        if rng.random() < 0.2:
            rule += ";INTERVAL=2"
        props = [
            f"DTSTART;TZID={zone}:{_stamp(start)}",
            f"DTEND;TZID={zone}:{_stamp(end)}",
            rule,
            "TRANSP:TRANSPARENT",
        ]
        if rng.random() < 0.3:
            skip = TARGET_WEEK_MONDAY + dt.timedelta(days=days[0])
            props.append(f"EXDATE;TZID={zone}:{_stamp(dt.datetime.combine(skip, start.time()))}")
        uid = f"free-{k}-{email}"
        out += _event(uid, rng.choice(("free", "Free for coffee", "FREE", "I'm free!")), props)
        if rng.random() < 0.2:  # one occurrence moved by an hour in the target week
            day = TARGET_WEEK_MONDAY + dt.timedelta(days=days[-1])
            original = dt.datetime.combine(day, start.time())
            moved = original + dt.timedelta(hours=1)
            out += _event(
                uid,
                "free (moved)",
                [
                    f"RECURRENCE-ID;TZID={zone}:{_stamp(original)}",
                    f"DTSTART;TZID={zone}:{_stamp(moved)}",
                    f"DTEND;TZID={zone}:{_stamp(moved + (end - start))}",
                ],
            )
    return out


def busy_events(rng: random.Random, email: str, zone: str, heavy: bool) -> list[str]:
    out: list[str] = []
    count = rng.randint(800, 3000) if heavy else rng.randint(0, 4)
    for k in range(count):
        day = dt.date(2022, 1, 3) + dt.timedelta(days=rng.randint(0, 5 * 365))
        start = dt.datetime.combine(day, dt.time(rng.randint(7, 18), rng.choice((0, 15, 30, 45))))
        end = start + dt.timedelta(minutes=rng.choice((15, 30, 45, 60, 90)))
        props = [f"DTSTART;TZID={zone}:{_stamp(start)}", f"DTEND;TZID={zone}:{_stamp(end)}"]
        roll = rng.random()
        if roll < 0.03:  # an all-day event (holiday, conference)
            props = [
                f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
                f"DTEND;VALUE=DATE:{day + dt.timedelta(days=rng.randint(1, 3)):%Y%m%d}",
            ]
        elif roll < 0.06:  # a weekly series that ended (or ends) some day
            until = day + dt.timedelta(weeks=rng.randint(4, 80))
            props.append(f"RRULE:FREQ=WEEKLY;UNTIL={until:%Y%m%d}T235959Z")
        elif roll < 0.08:
            props.append(f"ATTENDEE;PARTSTAT=DECLINED;CN=Me:mailto:{email}")
        elif roll < 0.10:
            props.append("TRANSP:TRANSPARENT")
        out += _event(
            f"busy-{k}-{email}", rng.choice(("Meeting", "1:1", "Standup", "Review")), props
        )
    return out


def feed_text(rng: random.Random, email: str, zone: str, *, heavy: bool) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Google Inc//Google Calendar 70.9054//EN",
        "CALSCALE:GREGORIAN",
        f"X-WR-TIMEZONE:{zone}",
    ]
    lines += free_events(rng, email, zone)
    lines += busy_events(rng, email, zone, heavy)
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--base-url", default=None)
    args = parser.parse_args()
    made = generate(args.n, args.out, seed=args.seed, base_url=args.base_url)
    size = sum(p.stat().st_size for p in made.feeds.iterdir())
    print(f"{args.n} members, {size / 1e6:.1f} MB of feeds in {made.feeds}")


if __name__ == "__main__":
    main()
