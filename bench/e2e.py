"""End to end: `calroulette check`, `match` and `send` on synthetic communities, as users run them.

    .venv/bin/python bench/e2e.py                       # 100, 1,000 and 10,000 members
    .venv/bin/python bench/e2e.py --sizes 100,1000      # a quick run
    .venv/bin/python bench/e2e.py --no-naive --no-write

For each size, bench/community.py's community (generated once under $TMPDIR/calroulette-e2e/,
with a year of history loaded into a history database through the store) is served by
bench/fetch.py's threaded HTTP server (ETag, 304, gzip) on loopback in another process, and the
three commands run as subprocesses with CALROULETTE_NOW=2026-11-24T12:00:00Z (target week
2026-W49):

- first run: an empty cache directory and a fresh copy of the history database;
- second run: the cache the first run left (every feed unchanged, so every request is answered
  304 and every member's free time comes from the cache), and again a fresh copy of the history
  database, so that `match` really plans and `send` really writes every invitation (a planned
  week is otherwise returned as it is, and a sent round cannot be planned again);
- after each, `run` alone (what cron runs: fetch, plan and send in one process) on a fresh copy
  of the history database, with an empty cache after a first run and the same unchanged cache
  after a second; after the second, `run` again 15 minutes later, as cron starts it every 15
  minutes all week: the round is sent, nothing is due, and it must send nothing;
- next week: what cron's `run` really meets most weeks. `run` for 2026-W49 on an empty cache,
  then the same community one week later (CALROULETTE_NOW a week on, `run --week 2026-W50`)
  with 5% of the feeds changed (a new meeting added: served with a new ETag, so downloaded;
  the others answered 304), each repetition from the cache W49's `run` left.

Each command's CPU time is measured with its worker processes (the feed readers, which a fork
server starts, and the render workers): the bench makes itself the "subreaper" of what it runs
(Linux ``PR_SET_CHILD_SUBREAPER``), so every descendant is reaped by the process that started it
or by the bench, and ``getrusage(RUSAGE_CHILDREN)`` around a command counts all of them. On a
shared machine it is the figure to trust; wall time depends on the other load (the 1-minute
load average is reported as each scenario starts).

`check` runs as `check --json` (the same rows as the table; the bench reads them to confirm
every feed was fetched, then unchanged). Peak memory is the largest sum of the proportional set
sizes (PSS) of a command's process tree (the CLI and its worker processes), sampled every 0.1 s:
a page shared by n processes counts 1/n in each, so a forked worker's inherited pages are not
counted twice, as a sum of resident set sizes would.
After `match`, the round's number of meetings is compared with the maximum, rebuilt
independently by bench/matching.py's reference (networkx up to 2,000 members, the connected-
component bound above). bench/naive.py runs against the same server for the ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(tempfile.gettempdir()) / "calroulette-e2e"
# The code measured is a copy of src/ taken at start, used by this process and every command
# it runs: in a shared work tree, an edit during a long run would otherwise change the code
# between two commands (and invalidate the free-time cache, which is keyed by a digest of it).
# ``--src DIR`` measures another tree's src/ (e.g. `git archive` of an older commit) with this
# bench: before/after comparisons of one scenario on the same machine and community.
SOURCE = Path(sys.argv[sys.argv.index("--src") + 1]) if "--src" in sys.argv[:-1] else ROOT / "src"
SNAPSHOT = WORK / f"src-{os.getpid()}"
if __name__ == "__main__":
    shutil.copytree(SOURCE, SNAPSHOT, ignore=shutil.ignore_patterns("__pycache__"))
    sys.path.insert(0, str(SNAPSHOT))
else:
    sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from calroulette.availability import FreeTime, FreeTimeReader  # noqa: E402
from calroulette.config import load_community  # noqa: E402
from calroulette.matching import Meeting, Round, RoundStatus  # noqa: E402
from calroulette.store import open_store  # noqa: E402
from calroulette.timeutil import IsoWeek, parse_utc  # noqa: E402
from community import generate  # noqa: E402 - bench/ is not a package
from matching import reference  # noqa: E402
from report import DOC, machine, write_section  # noqa: E402

BEGIN = "<!-- bench/e2e.py: begin -->"
END = "<!-- bench/e2e.py: end -->"
NOW = "2026-11-24T12:00:00Z"
WEEK = IsoWeek(2026, 49)
NEXT_NOW = "2026-12-01T12:00:00Z"  # a week later: cron's next run
LATER_NOW = "2026-11-24T12:15:00Z"  # cron's next tick the same day: the round is already sent
NEXT_WEEK = IsoWeek(2026, 50)
CHANGED_SHARE = 0.05  # of the feeds changed between the two weeks
COMMANDS = (("check", "--json"), ("match",), ("send",))
PLACEHOLDER = "http://placeholder"


@dataclass
class Timed:
    seconds: float
    exit_code: int
    peak_bytes: int
    cpu: float = 0.0  # CPU seconds (user + system) of the command and every worker it started
    load: float = 0.0  # the 1-minute load average as it started


@dataclass
class Run:
    commands: dict[str, Timed] = field(default_factory=dict)
    feed_statuses: dict[str, int] = field(default_factory=dict)
    meetings: int = 0
    cron: Timed | None = None  # `run` alone: fetch, plan and send in one process
    later: Timed | None = None  # `run` again 15 minutes after `cron`: nothing is due

    @property
    def total(self) -> float:
        return sum(t.seconds for t in self.commands.values())

    @property
    def peak(self) -> int:
        timed = [*self.commands.values(), *([self.cron] if self.cron else [])]
        return max(t.peak_bytes for t in timed)


# --- set-up -------------------------------------------------------------------------------------


def prepare(n: int) -> Path:
    """The community of ``n`` members and its history database, generated once and reused."""
    base = WORK / str(n)
    if (base / "ready").exists():
        return base
    shutil.rmtree(base, ignore_errors=True)
    started = time.perf_counter()
    generate(n, base, base_url=PLACEHOLDER)
    load_history(base)
    (base / "ready").write_text("generated by bench/e2e.py\n")
    print(f"{n:,} members generated in {time.perf_counter() - started:.0f} s: {base}", flush=True)
    return base


def next_week_feeds(base: Path) -> Path:
    """base/next: the community's feeds a week later, ``CHANGED_SHARE`` of them changed (each
    gets a new busy meeting in the next week, so its body, ETag and free time change)."""
    out = base / "next"
    if (out / "ready").exists():
        return out
    shutil.rmtree(out, ignore_errors=True)
    (out / "feeds").mkdir(parents=True)
    paths = sorted((base / "feeds").glob("*.ics"))
    step = round(1 / CHANGED_SHARE)
    meeting = (
        "BEGIN:VEVENT\r\nUID:bench-next-week-{i}@e2e\r\nDTSTAMP:20261130T090000Z\r\n"
        "DTSTART:20261209T{h:02d}0000Z\r\nDTEND:20261209T{h:02d}3000Z\r\n"
        "SUMMARY:New meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    for i, path in enumerate(paths):
        body = path.read_bytes()
        if i % step == 0:
            new = meeting.format(i=i, h=8 + i % 10).encode()
            body = body.replace(b"END:VCALENDAR\r\n", new)
        (out / "feeds" / path.name).write_bytes(body)
    (out / "ready").write_text("generated by bench/e2e.py\n")
    return out


def load_history(base: Path) -> None:
    """history.json (a year of weekly pairs) → base/history.sqlite through the store API."""
    rounds = json.loads((base / "history.json").read_text(encoding="utf-8"))
    with open_store(base / "history.sqlite") as store:
        for entry in rounds:
            week = IsoWeek.parse(entry["week"])
            start = parse_utc(f"{week.monday().isoformat()}T10:00:00Z")
            meetings = tuple(
                Meeting(f"bench-{week}-{i}@e2e", (a, b), start, start + dt.timedelta(minutes=30))
                for i, (a, b) in enumerate(entry["pairs"])
            )
            with store.transaction():
                store.rounds.record(Round(week, 0, meetings, ()), at=start - dt.timedelta(days=3))
                store.rounds.mark_sent(week, start - dt.timedelta(days=2))


def workdir(base: Path, port: int, *, fresh_cache: bool, name: str = "run") -> Path:
    """base/``name`` with members.toml pointing at the server, a fresh copy of the history
    database, no outbox, and the cache emptied when ``fresh_cache``."""
    run = base / name
    if fresh_cache:
        shutil.rmtree(run, ignore_errors=True)
    run.mkdir(exist_ok=True)
    shutil.rmtree(run / "outbox", ignore_errors=True)
    for stale in run.glob("calroulette.sqlite*"):
        stale.unlink()
    text = (base / "members.toml").read_text(encoding="utf-8")
    (run / "members.toml").write_text(
        text.replace(PLACEHOLDER, f"http://127.0.0.1:{port}"), encoding="utf-8"
    )
    (run / "members.toml").chmod(0o600)
    shutil.copyfile(base / "history.sqlite", run / "calroulette.sqlite")
    os.sync()  # the copies written back before the command starts, not while it runs
    return run


class Server:
    """bench/fetch.py's feed server in its own process, stopped on exit; :meth:`serve` serves
    another folder's feeds on the same port (the same addresses, as a host whose calendars
    changed)."""

    def __init__(self, base: Path) -> None:
        self.port = 0
        self.process = self._start(base)

    def _start(self, base: Path) -> subprocess.Popen[str]:
        args = ["--serve", str(base), "--port", str(self.port)]
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "fetch.py"), *args],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        self.port = int(process.stdout.readline())
        SERVERS.add(process.pid)
        return process

    def serve(self, base: Path) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.process = self._start(base)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


# --- measuring ----------------------------------------------------------------------------------

SERVERS: set[int] = set()  # our children that outlive a command: never reaped by _reap_orphans


def become_subreaper() -> bool:
    """Make this process the one orphaned descendants are re-parented to (Linux), so that their
    CPU time reaches ``RUSAGE_CHILDREN`` when they are reaped: the fork server that starts the
    feed readers outlives the command by a moment and would otherwise go to init."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(36, 1, 0, 0, 0)) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


SUBREAPER = become_subreaper() if __name__ == "__main__" else False


def _reap_orphans(timeout: float = 30.0) -> None:
    """Wait for the descendants of a finished command that were re-parented to this process."""
    me = os.getpid()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        orphans = [p for p, up in _parents().items() if up == me and p not in SERVERS]
        if not orphans:
            return
        for pid in orphans:
            with contextlib.suppress(ChildProcessError):  # reaped meanwhile
                os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)


def tree_memory(root: int) -> int:
    """The memory of ``root`` and all its descendants, in bytes: the sum of their proportional
    set sizes (Linux /proc/PID/smaps_rollup; the resident set size where that is missing).

    The processes are read one after another, so a fork or an exit between two reads would
    count the pages it shares or frees once too often or too few (a parent read before it
    forks its workers holds all its pages; each child read after holds its share of them
    again). A sample during which the set of processes changed is not taken: 0 is returned,
    and the caller keeps the largest of the samples that were."""
    page = os.sysconf("SC_PAGE_SIZE")
    before = _descendants(root)
    total = sum(_pss(pid, page) for pid in before)
    return total if _descendants(root) == before else 0


def _parents() -> dict[int, int]:
    """Each running process's parent, by pid (Linux /proc)."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parent


def _descendants(root: int) -> set[int]:
    """``root`` and every process below it."""
    parent = _parents()
    found = set()
    for pid in parent:
        p = pid
        while p > 1 and p != root:
            p = parent.get(p, 0)
        if p == root:
            found.add(pid)
    return found


def _pss(pid: int, page: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
    except OSError:
        return 0


def timed(args: list[str], cwd: Path, log: str, now: str = NOW) -> Timed:
    """Run one command; its wall time, exit code, CPU time (with its workers) and the peak
    memory of its process tree."""
    env = {**os.environ, "CALROULETTE_NOW": now, "COLUMNS": "120", "PYTHONPATH": str(SNAPSHOT)}
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with (cwd / f"{log}.out").open("wb") as out, (cwd / f"{log}.err").open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=err)
        peak = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.wait(0.1):
                peak = max(peak, tree_memory(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        stop.set()
        sampler.join()
    _reap_orphans()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # The samples only: the command's own ru_maxrss counts the bench's pages too (subprocess
    # starts it with vfork, and Linux keeps the largest RSS of the address space it had before
    # exec), so it is the fall-back only for a command too short to be sampled.
    return Timed(seconds, process.returncode, peak or usage.ru_maxrss * 1024, cpu, load)


def run_once(base: Path, port: int, *, fresh_cache: bool) -> Run:
    """The three commands, then (on a fresh history again, with the same kind of cache) `run`
    alone, the one command cron runs."""
    cwd = workdir(base, port, fresh_cache=fresh_cache)
    result = Run()
    for command in COMMANDS:
        name = command[0]
        args = [sys.executable, "-m", "calroulette", *command, "--week", str(WEEK)]
        result.commands[name] = timed(args, cwd, name)
        if result.commands[name].exit_code not in (0, 1):
            raise SystemExit(f"{name} exited {result.commands[name].exit_code}: see {cwd}")
    rows = json.loads((cwd / "check.out").read_text(encoding="utf-8"))["members"]
    for row in rows:
        status = row["feed_status"] or f"error {row['kind']}"
        result.feed_statuses[status] = result.feed_statuses.get(status, 0) + 1
    with open_store(cwd / "calroulette.sqlite", readonly=True) as store:
        round_ = store.rounds.load(WEEK)
    assert round_ is not None and round_.status is RoundStatus.SENT, round_
    result.meetings = len(round_.meetings)
    if fresh_cache:  # `run` sees the feeds for the first time too
        shutil.rmtree(cwd / "cache", ignore_errors=True)
    cwd = workdir(base, port, fresh_cache=False)
    args = [sys.executable, "-m", "calroulette", "run", "--week", str(WEEK)]
    result.cron = timed(args, cwd, "run")
    if result.cron.exit_code != 0:
        raise SystemExit(f"run exited {result.cron.exit_code}: see {cwd}")
    with open_store(cwd / "calroulette.sqlite", readonly=True) as store:
        cron_round = store.rounds.load(WEEK)
    assert cron_round is not None and cron_round.status is RoundStatus.SENT, cron_round
    assert len(cron_round.meetings) == result.meetings, (cron_round, result.meetings)
    if not fresh_cache:
        result.later = later_run(cwd)
    return result


def later_run(cwd: Path) -> Timed:
    """`run` as cron starts it every 15 minutes, the next tick after the round was sent: it
    must send nothing (the outbox keeps its files) and says what it would cost all week."""
    sent = sorted(p.name for p in (cwd / "outbox").rglob("*") if p.is_file())
    later = timed([sys.executable, "-m", "calroulette", "run"], cwd, "run-later", LATER_NOW)
    if later.exit_code != 0:
        raise SystemExit(f"run exited {later.exit_code}: see {cwd}")
    after = sorted(p.name for p in (cwd / "outbox").rglob("*") if p.is_file())
    assert after == sent, "a later run of the same week sent again"
    return later


def next_week(base: Path, server: Server, runs: int) -> tuple[Timed, list[Timed]]:
    """`run` for W49 on an empty cache (cron's run last week), then, from the cache it left
    (restored before each repetition), `run` for W50 a week later with 5% of the feeds changed.
    The server serves the changed feeds on the same port, and the original ones again after."""
    cwd = workdir(base, server.port, fresh_cache=True)
    args = [sys.executable, "-m", "calroulette", "run", "--week", str(WEEK)]
    primed = timed(args, cwd, "run-prime")
    if primed.exit_code != 0:
        raise SystemExit(f"run exited {primed.exit_code}: see {cwd}")
    saved = base / "cache-after-w49"
    shutil.rmtree(saved, ignore_errors=True)
    shutil.copytree(cwd / "cache", saved)
    server.serve(next_week_feeds(base))
    results = []
    try:
        for _ in range(runs):
            cwd = workdir(base, server.port, fresh_cache=False)
            shutil.rmtree(cwd / "cache", ignore_errors=True)
            shutil.copytree(saved, cwd / "cache")
            os.sync()  # written back before the command starts, not while it runs
            args = [sys.executable, "-m", "calroulette", "run", "--week", str(NEXT_WEEK)]
            results.append(timed(args, cwd, "run-next", NEXT_NOW))
            if results[-1].exit_code != 0:
                raise SystemExit(f"run exited {results[-1].exit_code}: see {cwd}")
            with open_store(cwd / "calroulette.sqlite", readonly=True) as store:
                round_ = store.rounds.load(NEXT_WEEK)
            assert round_ is not None and round_.status is RoundStatus.SENT, round_
    finally:
        server.serve(base)
        shutil.rmtree(saved, ignore_errors=True)
    return primed, results


def maximum(base: Path) -> tuple[int, str]:
    """The maximum number of meetings, rebuilt from the cached free times by bench/matching.py's
    independent reference; and how it was certified."""
    cwd = base / "run"
    community = load_community(cwd / "members.toml")
    bodies = {
        m.email: (base / "feeds" / m.calendar.rsplit("/", 1)[1]).read_bytes()
        for m in community.members
    }
    with FreeTimeReader(community, WEEK) as reader:  # answered from the run's cache
        free = reader.compute(bodies)
    usable = {k: v for k, v in free.items() if isinstance(v, FreeTime)}
    community = replace(community, members=tuple(m for m in community.members if m.email in usable))
    with open_store(base / "history.sqlite", readonly=True) as store:
        history = store.rounds.history(WEEK)
    ref = reference(community, usable, history)
    if ref.maximum is not None:
        return ref.maximum, "networkx"
    return ref.upper_bound, "component bound"


def cold_match(base: Path, port: int) -> Timed:
    """`match` alone with an empty cache: what naive.py does (fetch, free time, matching)."""
    cwd = workdir(base, port, fresh_cache=True)
    args = [sys.executable, "-m", "calroulette", "match", "--week", str(WEEK)]
    return timed(args, cwd, "cold-match")


def naive(base: Path, port: int, runs: int = 3) -> list[float]:
    """naive.py's total time, ``runs`` times (it moves by tens of seconds between runs)."""
    return [_naive(base, port) for _ in range(runs)]


def _naive(base: Path, port: int) -> float:
    cwd = workdir(base, port, fresh_cache=False)
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "naive.py"), str(cwd / "members.toml")],
        env={**os.environ, "PYTHONPATH": str(SNAPSHOT)},
        check=True,
        capture_output=True,
        text=True,
    )
    return float(json.loads(out.stdout.splitlines()[-1])["total_s"])


# --- reporting ----------------------------------------------------------------------------------


def mb(size: int) -> str:
    return f"{size / 2**20:,.0f} MB"


def median_of(runs: list[Run], name: str) -> float:
    return statistics.median(r.commands[name].seconds for r in runs)


def cron_row(n: int, label: str, timed_runs: list[Timed], feeds: str) -> str:
    """One row of the `run` table: medians of wall and CPU time, their range, the load."""
    wall = [t.seconds for t in timed_runs]
    cpu = [t.cpu for t in timed_runs]
    loads = ", ".join(f"{t.load:.1f}" for t in timed_runs)
    return (
        f"| {n:,} | {label} | **{statistics.median(wall):.1f} s** ({min(wall):.1f}–"
        f"{max(wall):.1f}) | **{statistics.median(cpu):.1f} CPU-s** ({min(cpu):.1f}–"
        f"{max(cpu):.1f}) | {statistics.median(cpu) * 1000 / n:.1f} ms | "
        f"{mb(max(t.peak_bytes for t in timed_runs))} | {loads} | {feeds} |"
    )


def row(n: int, label: str, runs: list[Run]) -> str:
    cells = [f"{median_of(runs, c[0]):.1f} s" for c in COMMANDS]
    total = statistics.median(r.total for r in runs)
    cron = statistics.median(r.cron.seconds for r in runs if r.cron is not None)
    statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(runs[-1].feed_statuses.items()))
    peak = max(r.peak for r in runs)
    return (
        f"| {n:,} | {label} | {' | '.join(cells)} | **{total:.1f} s** | **{cron:.1f} s** "
        f"| {mb(peak)} | {statuses} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--runs", type=int, default=3, help="repetitions below 10,000 members")
    parser.add_argument("--runs-large", type=int, default=1, help="repetitions at 10,000+")
    parser.add_argument("--naive-max", type=int, default=1000, help="largest size for naive.py")
    parser.add_argument("--naive-runs", type=int, default=3, help="naive.py runs (median)")
    parser.add_argument("--no-naive", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--src", type=Path, help="measure this src/ folder instead of the tree's")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    started_at = dt.datetime.now(dt.UTC)
    loads = []
    table: list[str] = []
    cron: list[str] = []
    notes: list[str] = []
    for n in sizes:
        base = prepare(n)
        runs_n = args.runs if n < 10_000 else args.runs_large
        loads.append(os.getloadavg()[0])
        with Server(base) as server:
            firsts, seconds = [], []
            for _ in range(runs_n):
                firsts.append(run_once(base, server.port, fresh_cache=True))
                print(f"{n:,} first:  {firsts[-1].commands} run {firsts[-1].cron}", flush=True)
                seconds.append(run_once(base, server.port, fresh_cache=False))
                print(f"{n:,} second: {seconds[-1].commands} run {seconds[-1].cron}", flush=True)
            best, how = maximum(base)
            primed, nexts = next_week(base, server, runs_n)
            print(f"{n:,} next week: {nexts}", flush=True)
            naive_s = cold = None
            naive_runs: list[float] = []
            if not args.no_naive and n <= args.naive_max:
                cold = statistics.median(
                    cold_match(base, server.port).seconds for _ in range(runs_n)
                )
                naive_runs = naive(base, server.port, args.naive_runs)
                naive_s = statistics.median(naive_runs)
                print(f"{n:,} naive: {naive_runs} s, cold match {cold:.1f} s", flush=True)
        meetings = {r.meetings for r in firsts + seconds}
        verdict = "maximum" if meetings == {best} else f"NOT MAXIMUM ({meetings} vs {best})"
        table.append(row(n, "first", firsts))
        table.append(row(n, "second (unchanged)", seconds))
        changed = max(1, round(n * CHANGED_SHARE))
        cron.append(
            cron_row(
                n,
                "first run (empty cache)",
                [r.cron for r in firsts if r.cron] + [primed],
                f"{n:,} downloaded",
            )
        )
        cron.append(
            cron_row(
                n,
                "next week, 5% changed",
                nexts,
                f"~{changed:,} downloaded, the rest 304",
            )
        )
        cron.append(
            cron_row(
                n,
                "same week again",
                [r.cron for r in seconds if r.cron],
                f"{n:,} 304",
            )
        )
        cron.append(
            cron_row(
                n,
                "later that week, nothing due",
                [r.later for r in seconds if r.later],
                "none fetched",
            )
        )
        ratio = ""
        if naive_s is not None and cold is not None:
            first_total = statistics.median(r.total for r in firsts)
            first_cron = statistics.median(r.cron.seconds for r in firsts if r.cron)
            spread = ", ".join(f"{x:.1f}" for x in naive_runs)
            ratio = (
                f"; naive.py median {naive_s:.1f} s of {len(naive_runs)} runs ({spread}) "
                f"against `match` alone with an empty cache {cold:.1f} s: "
                f"**{naive_s / cold:.1f}×**; against `run` on an empty cache "
                f"{naive_s / first_cron:.1f}×; against all three commands of the first run "
                f"{naive_s / first_total:.1f}×, of the second run "
                f"{naive_s / statistics.median(r.total for r in seconds):.1f}×"
            )
        notes.append(
            f"- {n:,} members: {best:,} meetings, {verdict} ({how}); "
            f"{runs_n} run{'s' * (runs_n != 1)}{ratio}."
        )
        print(table[-2], table[-1], notes[-1], sep="\n", flush=True)
    body = "\n".join(
        [
            f"`.venv/bin/python bench/e2e.py --sizes {args.sizes}"
            f"{f' --src {args.src}' if args.src else ''}` on "
            f"{started_at:%Y-%m-%d %H:%M} UTC, {machine()}; load average "
            f"{', '.join(f'{x:.1f}' for x in loads)} as each size started (the machine is "
            "shared). Medians of the runs below; times are wall clock of the whole command.",
            "",
            "| members | run | check | match | send | all three | `run` alone | peak memory "
            "| feeds |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---|",
            *table,
            "",
            *notes,
            "",
            "`run` alone, what cron runs, in the situations it meets: wall time, and CPU "
            "time of the command with every worker it started (median, range of the runs; "
            "the CPU time is what holds on a shared machine). Next week: `run --week "
            f"{NEXT_WEEK}` a week after a `run` of {WEEK} on an empty cache, with 5% of the feeds "
            "changed. Same week again: the round fetched, planned and sent again from a fresh "
            "history database with the caches the last run left. Later that week: `run` 15 "
            "minutes after the round was sent, as cron starts it all week (it sends nothing). "
            "Load: the 1-minute load average as each run started."
            + ("" if SUBREAPER else " (CPU: not subreaper, workers may be missing)"),
            "",
            "| members | `run` | wall | CPU (command + workers) | CPU a member | peak memory "
            "| load | feeds |",
            "|---:|---|---:|---:|---:|---:|---|---|",
            *cron,
        ]
    )
    print(body)
    if not args.no_write:
        write_section(BEGIN, END, "End to end", body)
        print(f"written to {DOC.relative_to(ROOT)}")
    shutil.rmtree(SNAPSHOT, ignore_errors=True)


if __name__ == "__main__":
    main()
