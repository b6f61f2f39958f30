"""Benchmark the weekly matching at 1,000 and 10,000 members, availability already computed.

    .venv/bin/python bench/matching.py [--sizes 1000 10000] [--runs 3] [--no-write]

A synthetic community (members in 15 IANA zones, each with a few free windows in their own day,
a year of history, some biweekly / monthly / paused members) is planned with
:func:`calroulette.matching.plan.plan_round`; the wall time is the median of ``--runs`` runs.
Two kinds of availability: realistic (2-5 windows of 1-3 hours) and sparse (1-2 windows of one
hour, where many members share time with few others and the matching has real work to do).

The matched count is checked against a reference built here from the raw intervals with numpy,
not with calroulette's compatibility code:

- networkx's ``max_weight_matching(maxcardinality=True)`` on that graph, up to 2,000 members
  (beyond, networkx's pure-Python blossom takes too long to be a reference);
- at every size, the upper bound "sum over connected components of floor(size / 2)": a matching
  that reaches it is maximum.

Results go into the Matching section of docs/benchmarks.md (machine and date included).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import networkx as nx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from calroulette.availability import FreeTime  # noqa: E402
from calroulette.config import Community, Frequency, Member  # noqa: E402
from calroulette.intervals import merge  # noqa: E402
from calroulette.matching import History, Round, pair  # noqa: E402
from calroulette.matching.plan import plan_round  # noqa: E402
from calroulette.timeutil import IsoWeek  # noqa: E402
from community import ZONE_WEIGHTS, ZONES  # noqa: E402 - bench/ is not a package
from report import DOC, machine, write_section  # noqa: E402

WEEK = IsoWeek(2026, 49)
NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
COMMUNITY_ZONE = ZoneInfo("Europe/Berlin")


BEGIN, END = "<!-- matching:begin -->", "<!-- matching:end -->"
NETWORKX_LIMIT = 2_000  # members; above this the reference is the upper bound only


def synthetic(
    n: int, *, sparse: bool = False, seed: int = 7
) -> tuple[Community, dict[str, FreeTime], History]:
    """``n`` members with free windows this week and a year of history (52 past rounds).

    Realistic: 2-5 windows of 1-3 hours each, in the member's own day (07:00-22:00 local), mostly
    on weekdays. Sparse: one or two windows of one hour, so many members share time with few
    others and the matching has real work to do.
    """
    rng = random.Random(seed)
    members: list[Member] = []
    free: dict[str, FreeTime] = {}
    topics = [f"topic{k}" for k in range(30)]
    week_start, week_end = WEEK.bounds(COMMUNITY_ZONE)
    for k in range(n):
        zone = ZoneInfo(rng.choices(ZONES, ZONE_WEIGHTS)[0])
        email = f"m{k:05d}@example.org"
        roll = rng.random()
        frequency = Frequency.WEEKLY
        if roll > 0.9:
            frequency = Frequency.BIWEEKLY
        elif roll > 0.85:
            frequency = Frequency.MONTHLY
        members.append(
            Member(
                name=f"Member {k}",
                email=email,
                calendar="",
                timezone=zone,
                paused=roll < 0.03,
                frequency=frequency,
                topics=frozenset(rng.sample(topics, rng.randint(0, 3))),
            )
        )
        spans = []
        windows = rng.randint(1, 2) if sparse else rng.randint(2, 5)
        for _ in range(windows):
            day = WEEK.monday() + dt.timedelta(days=rng.choice((0, 1, 2, 3, 4, 4, 5, 6)))
            local = dt.datetime.combine(day, dt.time(), zone) + dt.timedelta(
                minutes=30 * rng.randint(7 * 2, 21 * 2)
            )
            length = dt.timedelta(minutes=60 if sparse else 30 * rng.randint(2, 6))
            spans.append((local.astimezone(dt.UTC), (local + length).astimezone(dt.UTC)))
        clipped = [(max(a, week_start), min(b, week_end)) for a, b in spans]
        free[email] = FreeTime(email, WEEK, merge(clipped))
    community = Community(
        name="Bench Coffee",
        organizer="Bench <bench@example.org>",
        organizer_email="bench@example.org",
        timezone=COMMUNITY_ZONE,
        members=tuple(members),
    )
    emails = [m.email for m in members]
    last_met: dict[tuple[str, str], IsoWeek] = {}
    last_matched: dict[str, IsoWeek] = {}
    left_out: set[str] = set()
    for back in range(52, 0, -1):
        past = WEEK.shifted(-back)
        order = emails[:]
        rng.shuffle(order)
        cut = int(len(order) * 0.9) // 2 * 2
        for a, b in zip(order[0:cut:2], order[1:cut:2], strict=True):
            last_met[pair(a, b)] = past
            last_matched[a] = last_matched[b] = past
        left_out = set(order[cut:])
    return community, free, History(last_met, frozenset(left_out), last_matched, "bench")


# --- an independent reference ---------------------------------------------------------------------


@dataclass
class Reference:
    participants: int
    with_partner: int  # participants with at least one compatible partner
    edges: int
    upper_bound: int  # sum over connected components of floor(size / 2)
    maximum: int | None  # networkx's maximum matching, when run
    networkx_seconds: float | None


def reference(community: Community, free: dict[str, FreeTime], history: History) -> Reference:
    """The compatibility graph rebuilt from the raw intervals with numpy (not calroulette's code):
    a member x slot-start boolean matrix, products of it for shared starts, then the rules."""
    people = [
        m
        for m in community.members
        if not m.is_paused(WEEK)
        and not (
            m.email in history.last_matched
            and WEEK.weeks_since(history.last_matched[m.email]) < m.frequency.weeks
        )
    ]
    n = len(people)
    week_start, week_end = WEEK.bounds(community.timezone)
    step = dt.timedelta(minutes=community.slot_minutes)
    length = dt.timedelta(minutes=community.meeting_minutes)
    earliest = max(week_start, NOW + dt.timedelta(hours=community.min_notice_hours))
    origin = week_start.replace(minute=0)
    starts = []
    t = origin
    while t + length <= week_end:
        if t >= earliest:
            starts.append(t.timestamp())
        t += step
    grid = np.array(starts)
    ok = np.zeros((n, grid.size), dtype=np.bool_)
    for i, m in enumerate(people):
        for span in free[m.email].free:
            ok[i] |= (grid >= span.start.timestamp()) & (
                grid + length.total_seconds() <= span.end.timestamp()
            )
    ok_f = ok.astype(np.float32)
    index = {m.email: i for i, m in enumerate(people)}
    blocked = set()
    for (a, b), met in history.last_met.items():
        if a in index and b in index and WEEK.weeks_since(met) <= community.cooldown_weeks:
            blocked.add((min(index[a], index[b]), max(index[a], index[b])))
    rows, cols = [], []
    for low in range(0, n, 1000):
        shared = ok_f[low : low + 1000] @ ok_f.T > 0
        i, j = np.nonzero(shared)
        i += low
        keep = i < j
        rows.append(i[keep])
        cols.append(j[keep])
    a = np.concatenate(rows)
    b = np.concatenate(cols)
    if blocked:
        key = a.astype(np.int64) * n + b
        banned = np.array(sorted(x * n + y for x, y in blocked), dtype=np.int64)
        keep = ~np.isin(key, banned)
        a, b = a[keep], b[keep]
    degree = np.bincount(a, minlength=n) + np.bincount(b, minlength=n)
    label = np.arange(n)
    while True:  # connected components by label propagation over the edge list
        before = label.copy()
        low = np.minimum(label[a], label[b])
        np.minimum.at(label, a, low)
        np.minimum.at(label, b, low)
        label = label[label]
        if np.array_equal(label, before):
            break
    sizes = np.bincount(label, minlength=n)
    upper = int((sizes // 2).sum())
    maximum = seconds = None
    if n <= NETWORKX_LIMIT:
        graph = nx.Graph()
        graph.add_edges_from(zip(a.tolist(), b.tolist(), strict=True))
        t0 = time.perf_counter()
        maximum = len(nx.max_weight_matching(graph, maxcardinality=True))
        seconds = time.perf_counter() - t0
    return Reference(n, int((degree > 0).sum()), int(a.size), upper, maximum, seconds)


# --- running and reporting ------------------------------------------------------------------------


@dataclass
class Row:
    label: str
    members: int
    ref: Reference
    seconds: list[float]
    result: Round

    @property
    def pairs(self) -> int:
        return len(self.result.meetings)

    @property
    def verdict(self) -> str:
        if self.ref.maximum is not None:
            return "maximum (= networkx)" if self.pairs == self.ref.maximum else "NOT MAXIMUM"
        if self.pairs == self.ref.upper_bound:
            return "maximum (= upper bound)"
        return f"≤ bound {self.ref.upper_bound}; not certified here"


def run(n: int, sparse: bool, runs: int) -> Row:
    community, free, history = synthetic(n, sparse=sparse)
    ref = reference(community, free, history)  # type: ignore[arg-type]
    seconds = []
    result = None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = plan_round(community, WEEK, free, NOW, history)  # type: ignore[arg-type]
        seconds.append(time.perf_counter() - t0)
    assert result is not None
    return Row("sparse" if sparse else "realistic", n, ref, seconds, result)


def table(rows: list[Row], runs: int) -> str:
    lines = [
        "| members | availability | taking part | compatible pairs | plan_round (median) "
        "| meetings (pairs) | maximum | networkx maximum matching alone |",
        "|---:|---|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        nx_time = f"{r.ref.networkx_seconds:.1f} s" if r.ref.networkx_seconds else "not run"
        seated = sum(len(m.members) for m in r.result.meetings)
        lines.append(
            f"| {r.members:,} | {r.label} | {r.ref.participants:,} | {r.ref.edges:,} "
            f"| {statistics.median(r.seconds):.2f} s | {r.pairs:,} ({seated:,} seated) "
            f"| {r.verdict} | {nx_time} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    host = (
        f"{machine()}; load average {os.getloadavg()[0]:.1f} when it started "
        "(the machine is shared)"
    )
    rows = []
    for n in args.sizes:
        for sparse in (False, True):
            row = run(n, sparse, args.runs)
            print(table([row], args.runs).splitlines()[-1], flush=True)
            rows.append(row)
    body = "\n".join(
        [
            f"`.venv/bin/python bench/matching.py` on {dt.datetime.now(dt.UTC):%Y-%m-%d}: "
            f"{host}. Week {WEEK}, availability already computed (no feeds), a year "
            f"of history (52 rounds), median of {args.runs} runs of `plan_round`.",
            "",
            table(rows, args.runs),
        ]
    )
    print(body)
    if not args.no_write:
        write_section(BEGIN, END, "Matching", body)
        print(f"written to {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
