"""Every message of a round (or of a change to one meeting) rendered for the community's
channel: emails or Discord posts, in the order the ledger records them. A large round is rendered
in worker processes; the bytes are the same as rendering it in this one.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any

from calroulette import invites
from calroulette.config import Community, DeliveryMethod
from calroulette.invites import Channel, Kind, Outgoing
from calroulette.matching import Meeting, Round
from calroulette.timeutil import IsoWeek
from calroulette.workers import exit_with_parent

log = logging.getLogger(__name__)

RENDER_POOL_MIN = 200  # meetings to render before worker processes pay for their start-up


def channel_of(community: Community) -> Channel:
    return Channel.DISCORD if community.delivery.method is DeliveryMethod.DISCORD else Channel.EMAIL


def render_round(
    round_: Round,
    community: Community,
    *,
    now: dt.datetime,
    pool_min: int = RENDER_POOL_MIN,
    workers: int | None = None,
) -> list[Outgoing]:
    """Every message of a round for the community's channel, in the order the invites module
    renders them (the ledger records them in this order).

    Rendering is pure Python (~2 ms a message, mostly :mod:`email` header folding), so a round of
    ``pool_min`` meetings or more is rendered in ``os.cpu_count()`` worker processes, in
    consecutive chunks of meetings joined back in order; the bytes are the same as rendering it
    here. Smaller rounds, one CPU, or a worker that dies: rendered in this process.

    The workers are forked when this process runs no other thread (`send` and `run` by the time
    they render: the fetch threads are gone), so they start with everything already imported
    and the community already built; otherwise spawned, as
    :mod:`calroulette.availability.reader` does (forking a process with threads can copy a lock
    another thread holds). Spawning two workers
    for a 10,000-member round cost ~1.4 s (each imports the package and unpickles the community).
    """
    render = _renderer(community)
    count = max(1, workers or os.cpu_count() or 1)
    meetings = round_.meetings
    if count < 2 or len(meetings) < max(1, pool_min):
        return render(round_, community, now=now)
    size = -(-len(meetings) // (count * 4))  # a few chunks per worker: an even finish
    chunks = [meetings[i : i + size] for i in range(0, len(meetings), size)]
    rest = replace(round_, meetings=())  # the notes to the left-out, rendered here meanwhile
    try:
        with ProcessPoolExecutor(
            count,
            mp_context=multiprocessing.get_context(_start_method()),
            initializer=_start_worker,
            initargs=(round_.week, community, now),
        ) as pool:
            futures = [pool.submit(_render_chunk, chunk) for chunk in chunks]
            tail = render(rest, community, now=now)
            out: list[Outgoing] = []
            for future in futures:
                out += future.result()
    except BrokenProcessPool:
        log.warning("render: a worker process died; the round is rendered in this process")
        return render(round_, community, now=now)
    return out + tail


_Render = Callable[..., list[Outgoing]]


def _start_method() -> str:
    """``fork`` when it is safe (no other thread; a platform that has it), else ``spawn``."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def _renderer(community: Community) -> _Render:
    if channel_of(community) is Channel.DISCORD:
        return invites.round_posts
    return invites.round_emails


# --- in a worker process -------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _start_worker(week: IsoWeek, community: Community, now: dt.datetime) -> None:
    exit_with_parent()
    _WORKER.update(week=week, community=community, now=now)


def _render_chunk(meetings: tuple[Meeting, ...]) -> list[Outgoing]:
    """The messages of ``meetings`` alone (no notes to the left-out: the caller renders those)."""
    community: Community = _WORKER["community"]
    chunk = Round(_WORKER["week"], 0, meetings, ())
    return _renderer(community)(chunk, community, now=_WORKER["now"])


def render_change(
    meeting: Meeting, community: Community, week: IsoWeek, *, kind: Kind, now: dt.datetime
) -> list[Outgoing]:
    """A cancel or an updated request for one meeting (at its new SEQUENCE), to every attendee."""
    if channel_of(community) is Channel.DISCORD:
        return [
            invites.discord_post(
                meeting, community, week, sequence=meeting.sequence, now=now, kind=kind
            )
        ]
    return invites.meeting_emails(
        meeting, community, week, sequence=meeting.sequence, now=now, kind=kind
    )
