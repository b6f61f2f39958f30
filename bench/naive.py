"""The naive weekly job, built from the same libraries, as the yardstick for bench/e2e.py.

    .venv/bin/python bench/naive.py /tmp/community-1000/members.toml [--week 2026-W49]

What "naive" means here (what a first version of calroulette would do):
- fetch every feed sequentially with requests, no cache, no conditional requests;
- parse every feed whole with icalendar and expand it with recurring-ical-events;
- free time = keyword events minus busy events (the same rules as calroulette);
- compatibility by pairwise interval intersection in Python over all n·(n-1)/2 pairs, checking
  for a meeting-long window on the slot grid;
- networkx.max_weight_matching(maxcardinality=True) on the full compatibility graph.

It prints one JSON line: {"members", "fetch_parse_s", "pairs_s", "matching_s", "total_s",
"matched"}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import time
import tomllib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import networkx as nx
import recurring_ical_events
import requests

UTC = dt.UTC


def _utc(value: Any, zone: ZoneInfo) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(UTC)
    return dt.datetime(value.year, value.month, value.day, tzinfo=zone).astimezone(UTC)


def _merge(spans: list[tuple[dt.datetime, dt.datetime]]) -> list[tuple[dt.datetime, dt.datetime]]:
    out: list[tuple[dt.datetime, dt.datetime]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def free_time(
    body: bytes, email: str, zone: ZoneInfo, week: tuple[dt.datetime, dt.datetime]
) -> list[tuple[dt.datetime, dt.datetime]]:
    calendar = icalendar.Calendar.from_ical(body)
    pattern = re.compile(r"(?<!\w)free(?!\w)", re.IGNORECASE)
    free, busy = [], []
    pad = dt.timedelta(days=2)
    for event in recurring_ical_events.of(calendar).between(week[0] - pad, week[1] + pad):
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        start = _utc(event["DTSTART"].dt, zone)
        end = _utc(event["DTEND"].dt, zone) if event.get("DTEND") else start
        if pattern.search(str(event.get("SUMMARY", ""))):
            free.append((start, end))
        elif str(event.get("TRANSP", "OPAQUE")).upper() != "TRANSPARENT":
            attendees = event.get("ATTENDEE", [])
            attendees = attendees if isinstance(attendees, list) else [attendees]
            declined = any(
                str(a).lower().removeprefix("mailto:") == email
                and str(a.params.get("PARTSTAT", "")).upper() == "DECLINED"
                for a in attendees
            )
            if not declined:
                busy.append((start, end))
    result = []
    busy = _merge(busy)
    for start, end in _merge(free):
        cursor = start
        for b_start, b_end in busy:
            if b_end <= cursor or b_start >= end:
                continue
            if b_start > cursor:
                result.append((cursor, b_start))
            cursor = max(cursor, b_end)
        if cursor < end:
            result.append((cursor, end))
    return [(max(s, week[0]), min(e, week[1])) for s, e in result if s < week[1] and e > week[0]]


def compatible(
    a: list[tuple[dt.datetime, dt.datetime]],
    b: list[tuple[dt.datetime, dt.datetime]],
    minutes: int,
    grid: int,
) -> bool:
    length = dt.timedelta(minutes=minutes)
    for a_start, a_end in a:
        for b_start, b_end in b:
            start, end = max(a_start, b_start), min(a_end, b_end)
            offset = (-(start.minute * 60 + start.second) % (grid * 60)) if start < end else 0
            if start + dt.timedelta(seconds=offset) + length <= end:
                return True
    return False


def run(config: Path, week_text: str) -> dict[str, Any]:
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    community_zone = ZoneInfo(data["community"]["timezone"])
    year, number = week_text.split("-W")
    monday = dt.date.fromisocalendar(int(year), int(number), 1)
    week = (_utc(monday, community_zone), _utc(monday + dt.timedelta(days=7), community_zone))
    started = time.perf_counter()
    free: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
    with requests.Session() as session:
        for member in data["members"]:
            source = member["calendar"]
            if source.startswith("http"):
                body = session.get(source, timeout=30).content
            else:
                body = (config.parent / source).read_bytes()
            free[member["email"]] = free_time(
                body, member["email"], ZoneInfo(member["timezone"]), week
            )
    fetched = time.perf_counter()
    graph = nx.Graph()
    emails = list(free)
    for i, a in enumerate(emails):
        for b in emails[i + 1 :]:
            if compatible(free[a], free[b], 30, 30):
                graph.add_edge(a, b, weight=1)
    paired = time.perf_counter()
    matching = nx.max_weight_matching(graph, maxcardinality=True)
    done = time.perf_counter()
    return {
        "members": len(emails),
        "fetch_parse_s": round(fetched - started, 3),
        "pairs_s": round(paired - fetched, 3),
        "matching_s": round(done - paired, 3),
        "total_s": round(done - started, 3),
        "matched": 2 * len(matching),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--week", default="2026-W49")
    args = parser.parse_args()
    print(json.dumps(run(args.config, args.week)))


if __name__ == "__main__":
    main()
