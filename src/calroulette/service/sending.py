"""``send`` and ``run``: a week's round goes out, exactly once per message.

Each change is recorded the same way: in ONE transaction of the history database, the new state
(the round sent, or the meeting's new SEQUENCE, time and status) together with every pending
delivery that carries it; then the ledger is drained (:func:`calroulette.delivery.deliver_pending`).
A crash anywhere leaves either the old state and nothing to send, or the new state with its
deliveries pending for the next run, which finishes them (:mod:`calroulette.delivery.dispatch`
explains the one-message window that SMTP leaves).

The round's transition is written here: ``planned`` → ``sent``, its meetings ``planned`` →
``invited`` (:func:`send`). One meeting's changes are in :mod:`.meetings`.

Every email to a member carries their own signed links (their page, one-click unsubscribe) when
the community has a ``[web] base_url`` and a signing key (:func:`.web.member_links`), signed at
the round's ``now``. A member left out for a reason only they can end is told once
(:func:`_to_tell`); one whose calendar has shown no free time for
:data:`~calroulette.invites.notes.RESTING_WEEKS` rounds in a row gets one more note, is then
left in peace, and is "paused until they add free time" (:mod:`.resting`) with nothing stored:
the first round that finds free time pairs them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from calroulette.config import Community
from calroulette.delivery import (
    EXIT_PENDING,
    Report,
    Sending,
    channel_of,
    deliver_pending,
    render_round,
    window,
)
from calroulette.errors import FeedError, UsageError
from calroulette.invites import Channel, unmatched_uid
from calroulette.invites.link import MemberLinks
from calroulette.invites.notes import RESTING_WEEKS
from calroulette.matching import Meeting, Reason, Round, RoundStatus
from calroulette.store import DeliveryStatus, Store, WeekDeliveries, open_store
from calroulette.timeutil import IsoWeek

from .community import week_or_next
from .corrections import Correction, correct_emails
from .web import member_links

if TYPE_CHECKING:
    from calroulette.availability import FreeTime

    from .due import RunReport

# calroulette.service.planning (planning, and with it fetching and reading calendars) is imported
# where `run` and `reschedule` use it: `send` needs none of it (requests, recurring-ical-events,
# numpy: ~0.3 s of every send).


@dataclass(frozen=True, slots=True)
class Outcome:
    week: IsoWeek
    report: Report  # what this run sent, and what it could not
    recorded: int  # deliveries newly recorded by this run (0: everything was known already)
    note: str = ""  # what happened, for the person running the command
    round: Round | None = None
    meeting: Meeting | None = None
    state: WeekDeliveries | None = None  # the week's messages, every run's together
    planned: bool = False  # `run` planned the round now (it was not recorded before)
    retried: int = 0  # failed messages sent again (`--retry-failed`)
    corrections: tuple[Correction, ...] = ()  # emails corrected in members.toml

    @property
    def exit_code(self) -> int:
        """0 when every message of the week went out; 75 while some wait to be retried; 1 when
        one was refused for good (the week is partly sent) or sending needs the organizer."""
        code = self.report.exit_code
        if code == 1 or self.state is None:
            return code
        if self.state.failed:
            return 1
        return EXIT_PENDING if self.state.pending else code


def send(
    community: Community,
    week: IsoWeek | None = None,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    retry_failed: bool = False,
) -> Outcome:
    """Deliver ``week``'s planned round (default: next week) and mark it sent; a sent round only
    finishes what is pending (nothing already sent goes out again).

    First, an email corrected in members.toml reaches the rounds still to come
    (:mod:`.corrections`). With ``retry_failed``, every message that failed for good (and every
    one waiting to be retried) in the weeks still going out is sent again now, once each, with
    its recorded bytes and Message-ID.
    """
    how = how or Sending()
    week = week_or_next(week, community, now)
    with open_store(community.database) as store:
        round_ = store.rounds.load(week)
        if round_ is None:
            raise UsageError(f"{week}: no round planned (run `calroulette match` first)")
        corrections = correct_emails(store, community, window(community, week, now), now)
        round_ = store.rounds.load(week) if corrections else round_
        assert round_ is not None
        recorded = sum(c.recorded for c in corrections)
        if round_.status is RoundStatus.PLANNED:
            told, resting = _to_tell(store, round_)
            links = links_for(community, store, _people(told), now=now)
            outgoing = render_round(told, community, now=now, links=links, resting=resting)
            with store.transaction():
                recorded += store.deliveries.record(week, outgoing, now)
                store.rounds.mark_sent(week, now)
            round_ = store.rounds.load(week)
        retried = 0
        if retry_failed:
            with store.transaction():
                retried = store.deliveries.retry_failed(since=window(community, week, now))
        report = deliver_pending(store, community, week, now, how)
        state = store.deliveries.summary(week)
    note = ""
    if not recorded and not retried:
        busy = report.sent or report.pending or report.failed or report.already
        note = f"{week}: already sent; " + (
            "sending what is still pending" if busy else "nothing new to send"
        )
    return Outcome(
        week,
        report,
        recorded,
        note,
        round=round_,
        state=state,
        retried=retried,
        corrections=corrections,
    )


def run(
    community: Community,
    week: IsoWeek | None = None,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    free: Mapping[str, FreeTime | FeedError] | None = None,
    force: bool = False,
    wait: float | None = None,
) -> RunReport:
    """Do what is due, and only that, under one lock: for cron, every 15 minutes (replies,
    rematches, next week's round on its day and time, reminders and follow-ups, retries: see
    :mod:`.due`). ``week`` or ``force`` plans and sends that week (default: next week) at once,
    whatever the schedule (``force``: the week already under way too, see
    :func:`.community.check_plannable`). Idempotent; ``wait``: seconds to wait for another run
    (default :data:`.due.RUN_WAIT`)."""
    from .due import RUN_WAIT, run_due

    return run_due(
        community,
        week,
        now=now,
        how=how,
        free=free,
        force=force,
        wait=RUN_WAIT if wait is None else wait,
    )


def links_for(
    community: Community,
    store: Store,
    emails: Iterable[str],
    *,
    now: dt.datetime,
    meetings: Iterable[Meeting] | None = None,
) -> dict[str, MemberLinks]:
    """The signed links of those of ``emails`` who are members: their page and one-click
    unsubscribe for their emails (none for a Discord channel, which everyone reads), and their
    "can't make it" link for each of ``meetings`` they attend (default: each of their meetings
    to come) for emails and posts alike; none without ``[web] base_url`` and a key."""
    from .cantlinks import with_cant  # light: tokens and the store

    members = sorted({e for e in emails if community.member(e) is not None})
    own: dict[str, MemberLinks] = {}
    if channel_of(community) is Channel.EMAIL:
        own = dict(member_links(community, store, members, now=now))
    return with_cant(community, store, members, own, now=now, meetings=meetings)


def _people(round_: Round) -> set[str]:
    """Everyone a round's emails go to."""
    return {e for m in round_.meetings for e in m.members} | {u.member for u in round_.unmatched}


def _streak(
    earlier: list[IsoWeek],
    reasons: Mapping[tuple[IsoWeek, str], Reason],
    email: str,
    reason: Reason,
) -> int:
    """How many rounds in a row, this one included, gave ``email`` the same ``reason``."""
    streak = 1
    for week in earlier:
        if reasons.get((week, email)) is not reason:
            break
        streak += 1
    return streak


def _to_tell(store: Store, round_: Round) -> tuple[Round, Collection[str]]:
    """The round as its messages should tell it, and who among its left-out gets the note of
    :data:`RESTING_WEEKS` rounds without free time.

    A member left out for a reason that lasts until they act (:attr:`Reason.tell_once`) is not
    written to again while every round since the note they got gave them that same reason;
    except that the :data:`RESTING_WEEKS`-th round in a row without free time is told once
    more (they are paused until they add free time), and then nothing while it lasts.

    One query for the earlier rounds' reasons and one per week walked back for the notes that
    went out: a community of 10,000 with hundreds of members without free time must not cost
    a query (or a load of every note's bytes) per member and week."""
    lasting = {u.member: u.reason for u in round_.unmatched if u.reason.tell_once}
    if not lasting:
        return round_, ()
    earlier = store.rounds.weeks_before(round_.week)  # latest first
    reasons = store.rounds.left_out_before(round_.week, lasting)
    notes: dict[IsoWeek, set[str]] = {}
    quiet = set()
    resting = set()
    for email, reason in lasting.items():
        if (
            reason is Reason.NO_FREE_TIME
            and _streak(earlier[:RESTING_WEEKS], reasons, email, reason) == RESTING_WEEKS
        ):
            resting.add(email)
            continue
        for week in earlier:
            if reasons.get((week, email)) is not reason:
                break  # the streak is broken: this is news
            if week not in notes:
                notes[week] = store.deliveries.recipients(
                    week, unmatched_uid(week), DeliveryStatus.SENT
                )
            if email in notes[week]:
                quiet.add(email)
                break
    if not quiet:
        return round_, resting
    told = replace(round_, unmatched=tuple(u for u in round_.unmatched if u.member not in quiet))
    return told, resting
