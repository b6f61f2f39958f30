"""``delivery.render_round``: a large round rendered in worker processes is the same, byte for
byte and in order, as one rendered in this process."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from calroulette.config import Community
from calroulette.delivery import rendering
from calroulette.invites import Channel, DeliveryKey, Kind, Outgoing
from calroulette.matching import Meeting, Round, reasons
from calroulette.timeutil import IsoWeek

from .support.mail import PEOPLE, make_community

UTC = dt.UTC
WEEK = IsoWeek(2026, 49)
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
START = dt.datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
EMAILS = [address for _, address, _, _ in PEOPLE]
# Every pair of the four members (and one triple), in turn, a quarter of an hour apart.
PAIRS = [(a, b) for i, a in enumerate(EMAILS) for b in EMAILS[i + 1 :]] + [tuple(EMAILS[:3])]


def big_round(meetings: int) -> Round:
    """``meetings`` meetings; every tenth was moved once (an "Updated:" invitation with
    SEQUENCE:1)."""
    return Round(
        WEEK,
        7,
        tuple(
            Meeting(
                f"m{n:04d}@calroulette.test",
                tuple(sorted(PAIRS[n % len(PAIRS)])),
                START + dt.timedelta(minutes=15 * n),
                START + dt.timedelta(minutes=15 * n + 30),
                sequence=1 if n % 10 == 0 else 0,
            )
            for n in range(meetings)
        ),
        (
            reasons.no_shared_time("alan@example.org"),
            reasons.paused("zoe@example.org", None),
            reasons.cooldown("ada@example.org", 4),
        ),
    )


def render(round_: Round, community: Community, *, parallel: bool) -> list[Outgoing]:
    if parallel:  # below the threshold of 2 meetings only; two workers even on one CPU
        return rendering.render_round(round_, community, now=NOW, pool_min=2, workers=2)
    return rendering.render_round(round_, community, now=NOW, pool_min=10**9, workers=1)


@pytest.fixture
def community(tmp_path: Path) -> Community:
    return make_community(tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_a_parallel_email_round_is_byte_identical_and_in_the_serial_order(
    community: Community, start_method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forked or spawned, the workers render each message as this process would: the same keys
    in the same order, the same bytes, each meeting at its own SEQUENCE."""
    monkeypatch.setattr(rendering, "_start_method", lambda: start_method)
    round_ = big_round(250)
    serial = render(round_, community, parallel=False)
    parallel = render(round_, community, parallel=True)

    # one email per attendee, meeting by meeting, then the notes to those left out for want of
    # a partner (not the paused); the order the ledger records them in
    expected = [
        DeliveryKey(m.uid, member, Channel.EMAIL, Kind.REQUEST, 1 if n % 10 == 0 else 0)
        for n, m in enumerate(round_.meetings)
        for member in m.members
    ] + [
        DeliveryKey("unmatched-2026-W49", e, Channel.EMAIL, Kind.UNMATCHED, 0)
        for e in ("alan@example.org", "ada@example.org")
    ]
    assert [o.key for o in parallel] == expected
    assert len(parallel) == len(serial) == 250 * 2 + 250 // 7 + 2
    assert parallel == serial  # key, bytes (MIME boundaries included), calendar, Message-ID
    assert b"Subject: Updated:" in parallel[0].payload  # the sequence reached the workers
    assert b"Subject: Updated:" not in parallel[2].payload


@pytest.mark.slow
def test_a_parallel_discord_round_is_byte_identical_and_in_the_serial_order(
    tmp_path: Path,
) -> None:
    community = make_community(tmp_path, method="discord")
    round_ = big_round(60)
    serial = render(round_, community, parallel=False)
    parallel = render(round_, community, parallel=True)
    assert [(o.key.meeting_uid, o.key.sequence) for o in parallel] == [
        (m.uid, m.sequence) for m in round_.meetings
    ]
    assert parallel == serial


def test_workers_are_forked_only_while_no_other_thread_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Forking copies the memory but only the calling thread: a lock another thread holds at
    that moment (logging, a connection pool) would stay locked in the worker forever."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert rendering._start_method() == "spawn"
    finally:
        stop.set()
        other.join()
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # pytest may run helper threads
    assert rendering._start_method() == "fork"
