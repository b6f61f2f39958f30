"""Where a `run` spends its CPU: each phase's CPU time, for the three situations cron meets.

    .venv/bin/python bench/phases.py                  # 1,000 members, 3 runs of each
    .venv/bin/python bench/phases.py --members 100 --runs 1 --no-write

bench/e2e.py says how much a `run` costs; this says where. The same synthetic community and feed
server as bench/e2e.py (generated once under $TMPDIR/calroulette-e2e/, in a folder of its own
here), the same three situations: a first run (empty cache, 2026-W49), the same week again (every
feed answered 304) and next week (2026-W50 a week later, 5% of the feeds changed). Each is one
`python bench/phases.py --child …` process that runs `calroulette run` in itself with a few
functions of calroulette wrapped to add up their CPU time: this process's (all its threads) and
that of the child processes reaped meanwhile (the render workers). The feed readers are the fork
server's children, reaped with it after the run exits (this script is the "subreaper" of what it
starts, as bench/e2e.py is), so their time is the whole process tree's CPU minus what the run
measured in itself; that also holds the interpreter's own start (~0.1 s: the whole row when
no feed is read).

The phases nest as a run does: `run` → the round → reading the calendars (fetching, then free
time) → planning → sending (rendering, then delivering: the outbox and the ledger). Medians of
``--runs`` runs. Nothing here changes what a run does; the code measured is the tree's src/.
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import importlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

BEGIN = "<!-- bench/phases.py: begin -->"
END = "<!-- bench/phases.py: end -->"

# (label, module, function): the phases, outermost first
PHASES = (
    ("`run`, from start to exit", "", ""),
    ("starting: imports, members.toml, the history database", "", ""),
    ("the steps", "calroulette.service.due", "run_due"),
    ("the round", "calroulette.service.due", "_round"),
    ("reading the calendars", "calroulette.service.reading", "read_calendars"),
    ("fetching (this process's threads)", "calroulette.feeds.fetch", "fetch_feeds"),
    ("planning", "calroulette.matching.plan", "plan_round"),
    ("sending", "calroulette.service.sending", "send"),
    ("rendering the messages (with its workers)", "calroulette.delivery.rendering", "render_round"),
    ("delivering: outbox files and ledger", "calroulette.delivery.sender", "deliver_pending"),
    ("the other steps: replies, rematches, reminders, retries", "", ""),
    ("the feed readers (worker processes) and the interpreter's start", "", ""),
)


def cpu_now() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


# --- in the child: one `run`, its phases measured ------------------------------------------------


def child(cwd: Path, now: str, week: str, out: Path) -> None:
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans come back here
    os.environ["CALROULETTE_NOW"] = now
    os.chdir(cwd)
    start = cpu_now()
    spent: dict[str, float] = {}
    for label, module, name in PHASES:
        if not module:
            continue
        owner = importlib.import_module(module)
        original = getattr(owner, name)

        def wrapped(*args: Any, __f: Any = original, __label: str = label, **kw: Any) -> Any:
            before = cpu_now()
            try:
                return __f(*args, **kw)
            finally:
                spent[__label] = spent.get(__label, 0.0) + cpu_now() - before

        functools.update_wrapper(wrapped, original)
        for loaded in list(sys.modules.values()):  # the name wherever it was imported
            if getattr(loaded, "__name__", "").startswith("calroulette") and (
                getattr(loaded, name, None) is original
            ):
                setattr(loaded, name, wrapped)
    from calroulette.cli import commands  # noqa: F401 - registers the commands
    from calroulette.cli.app import app

    sys.argv = ["calroulette", "run", "--week", week, "-q"]
    code = 0
    try:
        app(prog_name="calroulette")
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    ran = cpu_now() - start
    spent["starting: imports, members.toml, the history database"] = ran - spent["the steps"]
    spent["the other steps: replies, rematches, reminders, retries"] = (
        spent["the steps"] - spent["the round"]
    )
    out.write_text(json.dumps({"code": code, "spent": spent, "ran": ran}))


# --- in the parent: the situations ------------------------------------------------------------


def measure(n: int, runs: int) -> dict[str, list[dict[str, Any]]]:
    import e2e

    base = e2e.prepare(n)
    results: dict[str, list[dict[str, Any]]] = {"first": [], "same": [], "next": []}
    saved = base / "phases-cache"
    server = e2e.Server(base)
    try:
        for i in range(runs):
            cwd = _workdir(base, server.port, cache=None)
            results["first"].append(_one(cwd, e2e.NOW, str(e2e.WEEK)))
            if i == 0:
                shutil.rmtree(saved, ignore_errors=True)
                shutil.copytree(cwd / "cache", saved)
        for _ in range(runs):
            cwd = _workdir(base, server.port, cache=saved)
            results["same"].append(_one(cwd, e2e.NOW, str(e2e.WEEK)))
        server.serve(e2e.next_week_feeds(base))
        for _ in range(runs):
            cwd = _workdir(base, server.port, cache=saved)
            results["next"].append(_one(cwd, e2e.NEXT_NOW, str(e2e.NEXT_WEEK)))
    finally:
        server.__exit__()
        shutil.rmtree(saved, ignore_errors=True)
    return results


def _workdir(base: Path, port: int, *, cache: Path | None) -> Path:
    """bench/e2e.py's folder for a run, in base/phases, with a copy of ``cache`` (or none)."""
    import e2e

    cwd = e2e.workdir(base, port, fresh_cache=True, name="phases")
    if cache is not None:
        shutil.copytree(cache, cwd / "cache")
        os.sync()  # the copy written back before the run starts, not while it runs
    return cwd


def _one(cwd: Path, now: str, week: str) -> dict[str, Any]:
    import e2e

    out = cwd / "phases.json"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    args = [sys.executable, __file__, "--child", str(cwd), now, week, str(out)]
    with (cwd / "run.log").open("wb") as log:
        subprocess.run(args, check=True, stdout=log, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - started
    e2e._reap_orphans()  # the fork server and its readers, orphaned when the run exited
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result: dict[str, Any] = json.loads(out.read_text())
    if result["code"] != 0:
        raise SystemExit(f"run exited {result['code']}: see {cwd / 'run.log'}")
    result["process"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # what the run's process did not see: the readers, reaped here (and the interpreter's start)
    result["spent"]["the feed readers (worker processes) and the interpreter's start"] = (
        result["process"] - result["ran"]
    )
    result["wall"] = wall
    return result


def table(n: int, runs: int, results: dict[str, list[dict[str, Any]]]) -> str:
    from report import machine

    def med(scenario: str, label: str) -> float:
        rows = results[scenario]
        if label == PHASES[0][0]:
            return float(statistics.median(r["process"] for r in rows))
        return float(statistics.median(r["spent"].get(label, 0.0) for r in rows))

    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()[0]
    lines = [
        f"`.venv/bin/python bench/phases.py --members {n} --runs {runs}` on {stamp}, "
        f"{machine()}; load average {load:.1f} as it ended. CPU-seconds of `run` at {n:,} "
        f"members, median of {runs} runs each; a phase's figure includes the phases indented "
        "under it.",
        "",
        "| phase | first run (empty cache) | next week, 5% changed | same week again |",
        "|---|---:|---:|---:|",
    ]
    indent = {
        "starting: imports, members.toml, the history database": 1,
        "the steps": 1,
        "the round": 2,
        "reading the calendars": 3,
        "fetching (this process's threads)": 4,
        "planning": 3,
        "sending": 3,
        "rendering the messages (with its workers)": 4,
        "delivering: outbox files and ledger": 4,
        "the other steps: replies, rematches, reminders, retries": 2,
        "the feed readers (worker processes) and the interpreter's start": 1,
    }
    for label, _, _ in PHASES:
        pad = "&nbsp;&nbsp;" * indent.get(label, 0)
        cells = " | ".join(f"{med(s, label):.2f}" for s in ("first", "next", "same"))
        lines.append(f"| {pad}{label} | {cells} |")
    wall = " | ".join(
        f"{statistics.median(r['wall'] for r in results[s]):.1f} s"
        for s in ("first", "next", "same")
    )
    lines.append(f"| wall time (the whole `run`, measured) | {wall} |")
    return "\n".join(lines)


def main() -> None:
    if "--child" in sys.argv:
        i = sys.argv.index("--child")
        cwd, now, week, out = sys.argv[i + 1 : i + 5]
        child(Path(cwd), now, week, Path(out))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
    results = measure(args.members, args.runs)
    body = table(args.members, args.runs, results)
    print(body)
    if not args.no_write:
        from report import write_section

        write_section(BEGIN, END, "Where a run's CPU goes", body)


if __name__ == "__main__":
    main()
