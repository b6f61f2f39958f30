"""``send`` and ``run``: a week's round goes out, exactly once per message.

Each change is recorded the same way: in ONE transaction of the history database, the new state
(the round sent, or the meeting's new SEQUENCE, time and status) together with every pending
delivery that carries it; then the ledger is drained (:func:`calroulette.delivery.deliver_pending`).
A crash anywhere leaves either the old state and nothing to send, or the new state with its
deliveries pending for the next run, which finishes them (:mod:`calroulette.delivery.dispatch`
explains the one-message window that SMTP leaves).

The round's transition is written here: ``planned`` → ``sent``, its meetings ``planned`` →
``invited`` (:func:`send`). One meeting's changes are in :mod:`.meetings`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from calroulette.config import Community
from calroulette.delivery import Report, Sending, deliver_pending, render_round
from calroulette.errors import FeedError, UsageError
from calroulette.matching import Meeting, Round, RoundStatus
from calroulette.store import open_store
from calroulette.timeutil import IsoWeek

from .community import week_or_next

if TYPE_CHECKING:
    from calroulette.availability import FreeTime

# calroulette.service.planning (planning, and with it fetching and reading calendars) is imported
# where `run` and `reschedule` use it: `send` needs none of it (requests, recurring-ical-events,
# numpy: ~0.3 s of every send).


@dataclass(frozen=True, slots=True)
class Outcome:
    week: IsoWeek
    report: Report
    recorded: int  # deliveries newly recorded by this run (0: everything was known already)
    note: str = ""  # what happened, for the person running the command
    round: Round | None = None
    meeting: Meeting | None = None


def send(
    community: Community,
    week: IsoWeek | None = None,
    *,
    now: dt.datetime,
    how: Sending | None = None,
) -> Outcome:
    """Deliver ``week``'s planned round (default: next week) and mark it sent; a sent round only
    finishes what is pending (nothing already sent goes out again)."""
    how = how or Sending()
    week = week_or_next(week, community, now)
    with open_store(community.database) as store:
        round_ = store.rounds.load(week)
        if round_ is None:
            raise UsageError(f"{week}: no round planned (run `calroulette match` first)")
        recorded = 0
        if round_.status is RoundStatus.PLANNED:
            outgoing = render_round(round_, community, now=now)
            with store.transaction():
                recorded = store.deliveries.record(week, outgoing, now)
                store.rounds.mark_sent(week, now)
            round_ = store.rounds.load(week)
        report = deliver_pending(store, community, week, now, how)
    note = ""
    if not recorded:
        busy = report.sent or report.pending or report.failed or report.already
        note = f"{week}: already sent; " + (
            "sending what is still pending" if busy else "nothing new to send"
        )
    return Outcome(week, report, recorded, note, round=round_)


def run(
    community: Community,
    week: IsoWeek | None = None,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    free: Mapping[str, FreeTime | FeedError] | None = None,
) -> Outcome:
    """Plan the week unless it has a round, then send it. Idempotent: for cron."""
    from .planning import match

    week = week_or_next(week, community, now)
    match(community, week, now=now, free=free)
    return send(community, week, now=now, how=how)
