"""Every message of a round (or of a change to one meeting) rendered for the community's
channel: emails or Discord posts, in the order the ledger records them. A large round is rendered
in worker processes; the bytes are the same as rendering it in this one.

Each email to a member carries their own signed links when the service layer hands them in
(``links``, by email: their page, one-click unsubscribe and "can't make it"; see
:mod:`calroulette.invites.email`). A Discord post carries only each attendee's "can't make it"
link (:mod:`calroulette.invites.discord` says why): it is read by the whole channel, and a
manage link is a key to one member's settings.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import os
import threading
from collections.abc import Collection, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any

from calroulette import invites
from calroulette.config import Community, DeliveryMethod
from calroulette.intervals import Interval
from calroulette.invites import Channel, Kind, Outgoing
from calroulette.invites.link import MemberLinks
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
    links: Mapping[str, MemberLinks] | None = None,
    resting: Collection[str] = (),
    pool_min: int = RENDER_POOL_MIN,
    workers: int | None = None,
) -> list[Outgoing]:
    """Every message of a round for the community's channel, in the order the invites module
    renders them (the ledger records them in this order). ``links``: each member's own signed
    links, by email (none: emails as before); ``resting``: members whose note is the one of
    several rounds in a row without free time (:data:`calroulette.invites.notes.RESTING_WEEKS`).

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
    links = dict(links or {})
    resting = frozenset(resting)
    count = max(1, workers or os.cpu_count() or 1)
    meetings = round_.meetings
    if count < 2 or len(meetings) < max(1, pool_min):
        return _render(round_, community, now, links, resting)
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
            futures = [
                pool.submit(_render_chunk, chunk, _links_of(chunk, links)) for chunk in chunks
            ]
            tail = _render(rest, community, now, links, resting)
            out: list[Outgoing] = []
            for future in futures:
                out += future.result()
    except BrokenProcessPool:
        log.warning("render: a worker process died; the round is rendered in this process")
        return _render(round_, community, now, links, resting)
    return out + tail


def _start_method() -> str:
    """``fork`` when it is safe (no other thread; a platform that has it), else ``spawn``."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def _render(
    round_: Round,
    community: Community,
    now: dt.datetime,
    links: Mapping[str, MemberLinks],
    resting: frozenset[str],
) -> list[Outgoing]:
    if channel_of(community) is Channel.DISCORD:
        # a shared channel: "can't make it" links only, never a member's page
        return invites.round_posts(round_, community, now=now, links=links)
    return invites.round_emails(round_, community, now=now, links=links, resting=resting)


def _links_of(
    meetings: tuple[Meeting, ...], links: Mapping[str, MemberLinks]
) -> dict[str, MemberLinks]:
    """The links a chunk needs (its attendees'): each worker is sent only those."""
    return {e: links[e] for m in meetings for e in m.members if e in links}


# --- in a worker process -------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _start_worker(week: IsoWeek, community: Community, now: dt.datetime) -> None:
    exit_with_parent()
    _WORKER.update(week=week, community=community, now=now)


def _render_chunk(
    meetings: tuple[Meeting, ...], links: Mapping[str, MemberLinks]
) -> list[Outgoing]:
    """The messages of ``meetings`` alone (no notes to the left-out: the caller renders those)."""
    community: Community = _WORKER["community"]
    chunk = Round(_WORKER["week"], 0, meetings, ())
    return _render(chunk, community, _WORKER["now"], links, frozenset())


def render_change(
    meeting: Meeting,
    community: Community,
    week: IsoWeek,
    *,
    kind: Kind,
    now: dt.datetime,
    links: Mapping[str, MemberLinks] | None = None,
    previous: Interval | None = None,
) -> list[Outgoing]:
    """A cancel or an updated request for one meeting (at its new SEQUENCE), to every attendee;
    ``links``: each attendee's own (see the module's docstring); ``previous``: the meeting's
    time before a move (the updated invitation says "moved from … to …")."""
    if channel_of(community) is Channel.DISCORD:
        return [
            invites.discord_post(
                meeting,
                community,
                week,
                sequence=meeting.sequence,
                now=now,
                kind=kind,
                links=links,
            )
        ]
    return invites.meeting_emails(
        meeting,
        community,
        week,
        sequence=meeting.sequence,
        now=now,
        kind=kind,
        links=links,
        previous=previous,
    )
