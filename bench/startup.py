"""Start-up: wall time of `calroulette` commands that do little beyond starting, as cron runs them.

    .venv/bin/python bench/startup.py                        # this tree
    .venv/bin/python bench/startup.py --against 87d98f4      # and that commit's, interleaved
    .venv/bin/python bench/startup.py --runs 9 --no-write

Each weekly run starts three processes (`check`, `match`, `send`), and every command module is
imported to register it on the typer app, so whatever one of them imports at its top, all of
them pay. Measured: `import calroulette.cli`, the help of the root and of the three weekly
commands, and the three commands on the demo community (eight calendar files, no network;
`send` of a round already delivered, so it sends nothing). Every command is a fresh
`python -m calroulette` process with CALROULETTE_NOW=2026-11-24T12:00:00Z; each tree's code is
a copy of its src/ (``git archive`` for ``--against``) and has its own members.toml, cache,
history database and outbox under $TMPDIR, and is byte-compiled before timing. The trees take
turns on each command, so a busy moment of the shared machine hits both; medians are reported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from report import machine, write_section  # noqa: E402

NOW = "2026-11-24T12:00:00Z"
WEEK = "2026-W49"
BEGIN = "<!-- bench/startup.py: begin -->"
END = "<!-- bench/startup.py: end -->"


def commands(config: Path) -> dict[str, list[str]]:
    """The label and the interpreter arguments of each measurement."""
    c = str(config)
    return {
        "`import calroulette.cli`": ["-c", "import calroulette.cli"],
        "`calroulette --help`": ["-m", "calroulette", "--help"],
        "`calroulette check --help`": ["-m", "calroulette", "check", "--help"],
        "`calroulette match --help`": ["-m", "calroulette", "match", "--help"],
        "`calroulette send --help`": ["-m", "calroulette", "send", "--help"],
        "`check` (8 calendar files)": ["-m", "calroulette", "check", "-c", c, "--week", WEEK],
        "`match --dry-run`": ["-m", "calroulette", "match", "-c", c, "--week", WEEK, "--dry-run"],
        "`send` (already delivered)": ["-m", "calroulette", "send", "-c", c, "--week", WEEK],
    }


def copy_tree(ref: str | None, into: Path) -> Path:
    """src/ of the work tree (``None``) or of the commit ``ref``, copied under ``into``."""
    if ref is None:
        shutil.copytree(ROOT / "src", into / "src", ignore=shutil.ignore_patterns("__pycache__"))
        return into / "src"
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "src"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def demo_community(into: Path) -> Path:
    """The demo members.toml with absolute calendar paths; its cache, database, outbox in ``into``.

    The database and outbox are relative to the file, so they land next to it.
    """
    text = (ROOT / "members.toml").read_text(encoding="utf-8")
    text = text.replace('calendar = "demo/', f'calendar = "{ROOT}/demo/')
    text = re.sub(r'cache_dir = ".*"', f'cache_dir = "{into}/cache"', text)
    path = into / "members.toml"
    path.write_text(text, encoding="utf-8")
    return path


def environment(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src), "CALROULETTE_NOW": NOW, "COLUMNS": "100"}


def timed(args: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, check=False, env=env, cwd=cwd
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", metavar="REF", help="also measure this commit, interleaved")
    parser.add_argument("--runs", type=int, default=7, help="runs of each command (default 7)")
    parser.add_argument("--no-write", action="store_true", help="do not update the docs")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="calroulette-startup-"))
    trees: dict[str, tuple[Path, Path]] = {}  # label -> (src copy, members.toml)
    refs = ([(f"`{options.against}`", options.against)] if options.against else []) + [
        ("this tree", None)
    ]
    try:
        for n, (label, ref) in enumerate(refs):
            home = work / f"tree{n}"
            home.mkdir()
            src, config = copy_tree(ref, home), demo_community(home)
            # Compiled once here, not by the first timed run.
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True)
            env = environment(src)
            base = [sys.executable, "-m", "calroulette"]
            for setup in (["match"], ["send"]):  # record and deliver the round once
                subprocess.run(
                    [*base, *setup, "-c", str(config), "--week", WEEK],
                    capture_output=True,
                    check=True,
                    env=env,
                    cwd=home,
                )
            trees[label] = (src, config)
        load = [os.getloadavg()[0]]
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(options.runs):
            for name in commands(Path("members.toml")):
                for label, (src, config) in trees.items():
                    seconds = timed(commands(config)[name], environment(src), config.parent)
                    times.setdefault((name, label), []).append(seconds)
            load.append(os.getloadavg()[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)

    labels = list(trees)
    header = "| | " + " | ".join(labels) + (" | change |" if len(labels) > 1 else " |")
    rows = [header, "|---|" + "---:|" * (len(labels) + (len(labels) > 1))]
    for name in commands(Path("members.toml")):
        medians = [statistics.median(times[(name, label)]) for label in labels]
        cells = [f"{m * 1000:.0f} ms" for m in medians]
        if len(labels) > 1:
            cells.append(f"{(medians[-1] / medians[0] - 1) * 100:+.0f}%")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    against = f" --against {options.against}" if options.against else ""
    body = (
        f"`.venv/bin/python bench/startup.py{against} --runs {options.runs}` on {when}, "
        f"{machine()}; load average {min(load):.1f} to {max(load):.1f} during the run (the "
        f"machine is shared). Medians of {options.runs} runs, wall clock of the whole process.\n\n"
        + "\n".join(rows)
    )
    print(body)
    if not options.no_write:
        write_section(BEGIN, END, "Start-up", body)


if __name__ == "__main__":
    main()
