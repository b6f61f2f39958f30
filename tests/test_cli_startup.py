"""Start-up cost: a command imports what it runs, not what every other command needs.

Each weekly run starts three processes (check, match, send). Every command module is imported
to register it on the app, so one top-level import of a heavy library module in any of them
(networkx, numpy, the delivery package...) is paid by all of them, and by ``--help``.
These run in a fresh interpreter: the test process has long imported everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import write_demo_config

# What a command needs only when it plans or sends a round, or fetches feeds.
HEAVY = (
    "networkx",
    "numpy",
    "requests",
    "icalendar",
    "recurring_ical_events",
    "tomlkit",
    "sqlite3",
    "calroulette.matching",
    "calroulette.delivery",
    "calroulette.invites",
    "calroulette.feeds",
    "calroulette.availability",
    "calroulette.rounds",
    "calroulette.store",
)

# Runs the command line as the console script does, then writes the loaded module names to a file.
_SCRIPT = """
import atexit, json, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv[0] = "calroulette"
if len(sys.argv) > 1:
    from calroulette.cli import main
    main()
else:
    import calroulette.cli
"""


def _modules_after(tmp_path: Path, *args: str) -> set[str]:
    out = tmp_path / "modules.json"
    env = {**os.environ, "CALROULETTE_NOW": "2026-11-24T12:00:00Z", "COLUMNS": "100"}
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(out), *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(out.read_text(encoding="utf-8")))


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return [name for name in names if name in modules]


def test_importing_the_command_line_loads_no_library_backend(tmp_path: Path) -> None:
    assert _loaded(_modules_after(tmp_path), HEAVY) == []


def test_help_of_every_weekly_command_loads_no_library_backend(tmp_path: Path) -> None:
    for command in ("check", "match", "send"):
        assert _loaded(_modules_after(tmp_path, command, "--help"), HEAVY) == [], command


def test_check_fetches_feeds_without_loading_matching_or_delivery(tmp_path: Path) -> None:
    config = write_demo_config(tmp_path)
    modules = _modules_after(tmp_path, "check", "-c", str(config), "--week", "2026-W49")
    assert "calroulette.health" in modules  # the check really ran
    not_needed = ("networkx", "numpy", "calroulette.matching", "calroulette.delivery")
    assert _loaded(modules, (*not_needed, "calroulette.invites", "calroulette.store")) == []


def test_send_loads_no_planner(tmp_path: Path) -> None:
    """`send` reads a planned round and writes it to the outbox: the planner and numpy (~0.15 s)
    and requests (~0.07 s, for Discord) are not needed."""
    config = write_demo_config(tmp_path)
    planned = _modules_after(tmp_path, "match", "-c", str(config), "--week", "2026-W49")
    assert "calroulette.matching.plan" in planned  # match did plan, in its own process
    modules = _modules_after(tmp_path, "send", "-c", str(config), "--week", "2026-W49")
    assert "calroulette.invites" in modules  # the send really ran
    not_needed = ("networkx", "numpy", "calroulette.matching.plan", "requests")  # outbox
    assert _loaded(modules, not_needed) == []
