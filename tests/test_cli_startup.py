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

import pytest

from .support import write_demo_config
from .support.cli import command_paths

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
    "calroulette.store",
    "calroulette.service.planning",
    "calroulette.service.reading",
    "calroulette.service.sending",
    "calroulette.service.health",
    "calroulette.service.calendars",
    "calroulette.service.members",
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


@pytest.mark.slow
def test_importing_the_command_line_loads_no_library_backend(tmp_path: Path) -> None:
    """Every command module is imported to register it: none may import a backend at its top."""
    assert _loaded(_modules_after(tmp_path), HEAVY) == []


@pytest.mark.slow
@pytest.mark.parametrize("command", command_paths(), ids=" ".join)
def test_help_of_every_command_loads_no_library_backend(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """``--help`` only prints what typer already has: it runs no operation and loads none."""
    assert _loaded(_modules_after(tmp_path, *command, "--help"), HEAVY) == []


@pytest.mark.slow
def test_check_fetches_feeds_without_loading_matching_or_delivery(tmp_path: Path) -> None:
    """`check` fetches and reads every feed; it plans nothing, sends nothing and opens no history
    database."""
    config = write_demo_config(tmp_path)
    modules = _modules_after(tmp_path, "check", "-c", str(config), "--week", "2026-W49")
    assert "calroulette.service.health" in modules  # the check really ran
    assert "calroulette.feeds" in modules  # and fetched the feeds
    not_needed = (
        "networkx",
        "numpy",
        "calroulette.matching",
        "calroulette.delivery",
        "calroulette.invites",
        "calroulette.store",
        "calroulette.service.planning",
        "calroulette.service.sending",
    )
    assert _loaded(modules, not_needed) == []


@pytest.mark.slow
def test_send_loads_no_planner(tmp_path: Path) -> None:
    """`send` reads a planned round and writes it to the outbox: the planner and numpy (~0.15 s),
    the calendar readers (icalendar, recurring-ical-events) and requests (~0.07 s, for Discord)
    are not needed."""
    config = write_demo_config(tmp_path)
    planned = _modules_after(tmp_path, "match", "-c", str(config), "--week", "2026-W49")
    assert "calroulette.matching.plan" in planned  # match did plan, in its own process
    modules = _modules_after(tmp_path, "send", "-c", str(config), "--week", "2026-W49")
    assert "calroulette.service.sending" in modules  # the send really ran
    assert "calroulette.invites" in modules  # and rendered the invitations
    assert (tmp_path / "outbox").is_dir()  # and wrote them
    not_needed = (
        "networkx",
        "numpy",
        "calroulette.matching.plan",
        "calroulette.service.planning",
        "calroulette.service.reading",
        "calroulette.feeds",
        "calroulette.availability",
        "recurring_ical_events",
        "requests",  # outbox
    )
    assert _loaded(modules, not_needed) == []
