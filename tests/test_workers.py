"""Worker processes leave with their parent: a killed run leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .support import ROOT

# Starts the free-time worker pool the way `check` does (reading a body), prints the workers'
# pids, then waits to be killed.
PARENT = """
import sys, time
from dataclasses import replace
from pathlib import Path
from calroulette.config import load_community
from calroulette.availability import FreeTimeReader
from calroulette.timeutil import IsoWeek

community = replace(load_community(Path(sys.argv[1])), cache_dir=Path(sys.argv[2]))
member = community.members[0]
reader = FreeTimeReader(community, IsoWeek(2026, 49), workers=2, expected=1000)
reader.validate(Path(member.calendar).read_bytes(), member.email)
print(" ".join(str(pid) for pid in reader._pool._processes), flush=True)
time.sleep(120)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (already exited, not yet reaped by init) counts as gone
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[1].split()[0] == "Z")


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_workers_exit_when_their_parent_is_killed(tmp_path: Path, how: signal.Signals) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", PARENT, str(ROOT / "members.toml"), str(tmp_path / "cache")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    ) as parent:
        assert parent.stdout is not None
        try:
            workers = [int(pid) for pid in parent.stdout.readline().split()]
            assert workers and all(alive(pid) for pid in workers)  # started as needed
        finally:
            parent.send_signal(how)
            parent.wait()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers)
