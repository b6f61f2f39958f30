"""Exactly once under kill -9: reminders and follow-ups for a round of 20 meetings, written to the
outbox by a process killed with SIGKILL at chosen moments, then run again until it finishes:
every attendee has exactly one reminder and one follow-up, and the ledger has them all sent.

The test watches the process from outside and kills it as soon as it sees:

- ``recorded``: the messages are in the ledger (pending), before any file is written;
- ``first-file``: the outbox holds the first message of the batch (the rows are still pending:
  the batch is marked sent only once its files are flushed);
- ``half``: half the batch is written.
"""

from __future__ import annotations

import datetime as dt
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from calroulette.config import Community, load_community
from calroulette.store import DeliveryStatus, open_store

from .support.remind import START, meeting, outbox_messages, sent_round, write_config
from .support.web import SECRET_KEY

SCRIPT = """
import datetime as dt, sys
from calroulette.service import load
from calroulette.service.reminders import send_due
send_due(load(sys.argv[1]), now=dt.datetime.fromisoformat(sys.argv[2]))
"""
PEOPLE = [(f"Member {i:02d}", f"m{i:02d}@example.org", "Europe/London", None) for i in range(40)]
EACH = 40  # messages of each kind: one per attendee


def start(config: Path, now: dt.datetime) -> subprocess.Popen[bytes]:
    env = {"CALROULETTE_SECRET_KEY": SECRET_KEY, "PATH": "/usr/bin:/bin"}
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(config), now.isoformat()], env=env)


def killed_when(process: subprocess.Popen[bytes], seen: Callable[[], bool]) -> bool:
    """SIGKILL ``process`` as soon as ``seen()``; True when it was still running then."""
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if seen():
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.0005)
    return process.wait(timeout=60) == -signal.SIGKILL


def recorded(community: Community, kind: str) -> Callable[[], bool]:
    def seen() -> bool:
        try:
            with sqlite3.connect(f"file:{community.database}?mode=ro", uri=True) as conn:
                (n,) = conn.execute(
                    "SELECT count(*) FROM deliveries WHERE kind = ?", (kind,)
                ).fetchone()
        except sqlite3.Error:  # the database is being written: look again
            return False
        return bool(n)

    return seen


def files(community: Community, kind: str, at_least: int) -> Callable[[], bool]:
    def seen() -> bool:
        return len(list(community.delivery.outbox.rglob(f"*.{kind}-0.eml"))) >= at_least

    return seen


@pytest.mark.slow
def test_killed_runs_then_a_full_run_send_each_message_once(tmp_path: Path) -> None:
    config = write_config(tmp_path, people=PEOPLE, reminder_email=True)
    community = load_community(config)
    emails = [p[1] for p in PEOPLE]
    sent_round(
        community,
        *(meeting(f"m{i}@test", emails[2 * i], emails[2 * i + 1]) for i in range(20)),
    )
    kills = 0
    moments = {
        "reminder": START - dt.timedelta(minutes=10),
        "followup": START + dt.timedelta(hours=20),
    }
    for kind, now in moments.items():
        for seen in (
            recorded(community, kind),
            files(community, kind, 1),
            files(community, kind, EACH // 2),
        ):
            kills += killed_when(start(config, now), seen)
        assert start(config, now).wait(timeout=60) == 0
    assert kills >= 3  # most kills landed while the process was at work
    for kind in moments:
        mails = outbox_messages(community, kind)
        assert sorted(mails) == sorted(emails), kind
        assert {len(v) for v in mails.values()} == {1}, kind
    with open_store(community.database) as store:
        rows = store.deliveries.rows()
    assert len(rows) == 2 * EACH
    assert {r.status for r in rows} == {DeliveryStatus.SENT}
