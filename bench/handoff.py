"""What handing a downloaded body to a feed reader costs: is it worth reading bodies where they
are parsed instead of sending them?

    .venv/bin/python bench/handoff.py                 # bench/community.py's 1,000-member bodies
    .venv/bin/python bench/handoff.py --no-write

The feed readers are worker processes (:mod:`calroulette.availability._worker`), and each body
a run downloads is pickled to one of them through the pool's pipe, as ``(body, email,
horizon)``. Issue 17 suggested reading the body where it is parsed. This bench measures what
that could save: the same pool (the readers' own multiprocessing context) is handed 1,000 tasks
that do nothing with their body, once with the community's bodies and once with empty ones, and
the difference is the bodies' share. CPU is this process and the workers (read from /proc),
medians of ``--runs`` rounds, both kinds measured in each round, alternately.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from calroulette.availability._worker import context
from report import machine, write_section

BEGIN = "<!-- bench/handoff.py: begin -->"
END = "<!-- bench/handoff.py: end -->"


def _ignore(body: bytes, email: str, horizon: int) -> dict[str, int]:
    """A task the size of a reader's answer, that reads nothing."""
    return {"weeks": horizon, "size": len(body)}


def _own() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _process(pid: int) -> float:
    """A live process's CPU-seconds (the workers are the fork server's children, not ours, so
    ``RUSAGE_CHILDREN`` never counts them)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def handed(bodies: list[bytes], workers: int) -> float:
    """CPU-seconds (this process and the workers) for handing every body to the pool, after
    the workers started (one task each)."""
    with ProcessPoolExecutor(workers, mp_context=context()) as pool:
        for future in [pool.submit(_ignore, b"", "", 0) for _ in range(workers * 4)]:
            future.result()
        pids = list(pool._processes)  # the workers, all started by now
        started = _own() + sum(_process(pid) for pid in pids)
        futures = [pool.submit(_ignore, body, "member@example.org", 6) for body in bodies]
        for future in futures:
            future.result()
        return _own() + sum(_process(pid) for pid in pids) - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=Path, help="a folder of .ics bodies (default: 1,000)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    folder = args.feeds
    if folder is None:
        from e2e import prepare  # the 1,000-member community, generated once

        folder = prepare(1000) / "feeds"
    bodies = [p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()]
    sizes = sorted(len(b) for b in bodies)
    started_at = dt.datetime.now(dt.UTC)
    with_bodies, empty = [], []
    for _ in range(args.runs):
        empty.append(handed([b""] * len(bodies), args.workers))
        with_bodies.append(handed(bodies, args.workers))
    full, none = statistics.median(with_bodies), statistics.median(empty)
    per = (full - none) / len(bodies) * 1000
    body = "\n".join(
        [
            f"`.venv/bin/python bench/handoff.py` on {started_at:%Y-%m-%d %H:%M} UTC, "
            f"{machine()}; {len(bodies):,} bodies (median {sizes[len(sizes) // 2]:,} bytes, "
            f"total {sum(sizes) / 2**20:.1f} MB), {args.workers} workers, median of "
            f"{args.runs} rounds. CPU of this process and the workers.",
            "",
            "| handing 1,000 tasks to the readers' pool | CPU-s | ms a task |",
            "|---|---:|---:|",
            f"| with the bodies | {full:.3f} | {full / len(bodies) * 1000:.3f} |",
            f"| with empty bodies | {none:.3f} | {none / len(bodies) * 1000:.3f} |",
            f"| the bodies' share | {full - none:.3f} | {per:.3f} |",
        ]
    )
    print(body)
    if not args.no_write:
        write_section(BEGIN, END, "Handing bodies to the readers", body)


if __name__ == "__main__":
    main()
