"""A member released by their partner's "I can't this week" is offered someone else the same
week, or told kindly that nobody was free: each release settled once (:func:`settle`), and
every release a crash left pending settled by the next ``run`` (:func:`rematch_due`).

Who may be offered (:func:`candidates`): a member of the week's round left out for a reason
other than their own choice, a member released by another cancellation that week (not yet given
a new partner), or a stand-by (``standby = true``); never one who is paused, in a meeting that
week already, or who declined a meeting that week. The partner and the time are picked by the
planner's rules (:func:`calroulette.matching.rematch.pick_partner`) from everyone's calendar read
now, ``min_notice_hours`` ahead.

Three steps, none holding the database across the network: read the round and the history;
read the calendars and pick; then, in ONE transaction, check that the release is still pending
and the partner still free, record the new meeting in the week's round (or the note), move the
release (and the partner's own, when they were released too) out of ``pending``, and record the
invitations (REQUEST, SEQUENCE 0, to both) or the note (:attr:`Kind.NO_REMATCH`) in the ledger.
Then the ledger is drained. A run that lost a race to another (the release settled meanwhile,
the partner taken) starts again; the ledger's keys keep anyone from getting a message twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from calroulette.config import Community, Member
from calroulette.delivery import Report, Sending, channel_of, deliver_pending, render_change
from calroulette.errors import CalrouletteError
from calroulette.intervals import Interval
from calroulette.invites import Kind
from calroulette.invites.rematch import no_rematch
from calroulette.matching import Meeting, MeetingStatus
from calroulette.matching.rematch import Candidate, Rematch, Source, pick_partner, week_grid
from calroulette.redact import SECRETS
from calroulette.store import PartStat, Store, open_store
from calroulette.store.releases import Release, ReleaseOutcome, Releases
from calroulette.timeutil import IsoWeek

from .memberlinks import by_email
from .sending import links_for

ATTEMPTS = 3  # a settle that lost a race to another run starts again, at most this often


@dataclass(frozen=True, slots=True)
class Settled:
    """What became of one release."""

    week: IsoWeek
    email: str  # the released member
    uid: str  # the cancelled meeting
    outcome: ReleaseOutcome
    partner: str | None = None  # the new partner, when rematched
    meeting: Meeting | None = None  # the new meeting, when rematched
    source: Source | None = None  # why the partner could be offered


@dataclass(frozen=True, slots=True)
class RematchReport:
    """What :func:`rematch_due` did: each release settled, what went out, what failed."""

    settled: tuple[Settled, ...] = ()
    report: Report = field(default_factory=Report)
    errors: tuple[str, ...] = ()  # one line each (a release left pending for the next run)

    @property
    def rematched(self) -> int:
        return sum(s.outcome is ReleaseOutcome.REMATCHED for s in self.settled)

    @property
    def told(self) -> int:
        return sum(s.outcome is ReleaseOutcome.TOLD for s in self.settled)


def rematch_due(
    community: Community, *, now: dt.datetime, how: Sending | None = None
) -> RematchReport:
    """Settle every release still pending (a crash between a cancellation and its rematch),
    and send what that records. Idempotent: nothing pending, nothing done."""
    how = how or Sending()
    if not community.database.exists():
        return RematchReport()
    with open_store(community.database, readonly=True) as store:
        releases = Releases(store.conn)
        pending = releases.pending()
        weeks = [w for w in releases.weeks() if w.bounds(community.timezone)[1] > now]
    settled: list[Settled] = []
    errors: list[str] = []
    for release in pending:
        try:
            settled.append(settle(community, release, now=now, how=how, deliver=False))
        except CalrouletteError as error:
            errors.append(SECRETS.mask(f"{release.email}: rematch: {error}"))
    report = Report()
    if settled or weeks:
        # what this run recorded, and what an earlier one recorded but could not send (a crash
        # after its transaction): every pending message from the earliest such week on
        earliest = min([*weeks, *(s.week for s in settled)])
        with open_store(community.database) as store:
            report = deliver_pending(store, community, earliest, now, how)
    return RematchReport(tuple(settled), report, tuple(errors))


def settle(
    community: Community,
    release: Release,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    deliver: bool = True,
) -> Settled:
    """Offer ``release``'s member a new partner in its week, or tell them nobody was free;
    nothing when it is settled already. ``deliver``: send what was recorded now."""
    for _ in range(ATTEMPTS):
        done = _try(community, release, now)
        if done is not None:
            break
    else:  # lost every race: left pending for the next run
        return Settled(release.week, release.email, release.uid, ReleaseOutcome.PENDING)
    if deliver:
        with open_store(community.database) as store:
            deliver_pending(store, community, release.week, now, how or Sending())
    return done


def _try(community: Community, release: Release, now: dt.datetime) -> Settled | None:
    """One attempt; None when another run changed something meanwhile (try again)."""
    week = release.week
    with open_store(community.database, readonly=True) as store:
        current = Releases(store.conn).get(week, release.email, release.uid)
        if current is None or current.outcome is not ReleaseOutcome.PENDING:
            outcome = current.outcome if current is not None else ReleaseOutcome.GONE
            return Settled(week, release.email, release.uid, outcome)
        cancelled = _meeting(store, release.uid)
        member = by_email(community, release.email)
        end = week.bounds(community.timezone)[1]
        if member is None or member.is_paused(week) or cancelled is None:
            quiet = ReleaseOutcome.GONE
        elif now >= end:
            quiet = ReleaseOutcome.EXPIRED
        else:
            quiet = None
        if quiet is not None:
            with _writing(community) as writer, writer.transaction():
                Releases(writer.conn).settle(current, quiet)
            return Settled(week, release.email, release.uid, quiet)
        assert member is not None and cancelled is not None
        people = candidates(community, store, week, member)
        history = store.rounds.history(week)
        busy = _busy(store, member.email, release.uid)
    picked = None
    grid = week_grid(community, week, now)
    if people and grid.first <= grid.last:
        from .reading import read_calendars  # fetching: only when someone may be offered

        free = read_calendars(
            community,
            week,
            now,
            [member, *(c.member for c in people)],
            ignore_uids=frozenset({release.uid}),
            progress=False,
        ).free
        picked = pick_partner(
            community,
            week,
            member,
            people,
            free,
            history,
            now=now,
            busy={member.email: busy},
            seed=f"{release.uid}\x1f{member.email}",
        )
    with _writing(community) as store, store.transaction():
        releases = Releases(store.conn)
        current = releases.get(week, release.email, release.uid)
        if current is None or current.outcome is not ReleaseOutcome.PENDING:
            return None
        if picked is not None:
            if not _still_free(store, week, picked.partner):
                return None
            meeting = _new_meeting(store, community, week, release, member, picked)
            links = links_for(community, store, meeting.members, now=now, meetings=[meeting])
            outgoing = render_change(
                meeting, community, week, kind=Kind.REQUEST, now=now, links=links
            )
            releases.add_meeting(week, meeting)
            releases.settle(current, ReleaseOutcome.REMATCHED, meeting.uid)
            for theirs in releases.of_week(week):
                if theirs.email == picked.partner and theirs.outcome.free:
                    releases.settle(theirs, ReleaseOutcome.REMATCHED, meeting.uid, force=True)
            store.deliveries.record(week, outgoing, now)
            return Settled(
                week,
                release.email,
                release.uid,
                ReleaseOutcome.REMATCHED,
                picked.partner,
                meeting,
                picked.source,
            )
        links = links_for(community, store, [member.email], now=now, meetings=())
        note = no_rematch(
            cancelled,
            member.email,
            community,
            week,
            channel=channel_of(community),
            now=now,
            links=links.get(member.email),
        )
        releases.settle(current, ReleaseOutcome.TOLD)
        store.deliveries.record(week, [note], now)
        return Settled(week, release.email, release.uid, ReleaseOutcome.TOLD)


def candidates(
    community: Community, store: Store, week: IsoWeek, released: Member
) -> list[Candidate]:
    """Who may be offered to ``released`` in ``week`` (before calendars and the rules of
    compatibility): see the module's docstring. Each once, by the best reason they have."""
    round_ = store.rounds.load(week, include_cancelled=True)
    if round_ is None:
        return []
    active = [m for m in round_.meetings if m.status.active]
    taken = {e for m in active for e in m.members}
    uids = {m.uid for m in round_.meetings}
    declined = {
        a.email for a in store.attendance.all() if a.uid in uids and a.partstat is PartStat.DECLINED
    }
    out: dict[str, Candidate] = {}

    def offer(email: str, source: Source) -> None:
        member = by_email(community, email)
        if (
            member is None
            or email in out
            or email == released.email
            or email in taken
            or email in declined
            or member.is_paused(week)
        ):
            return
        out[email] = Candidate(member, source)

    for left in round_.unmatched:
        if not left.reason.own_choice:
            offer(left.member, Source.UNMATCHED)
    for release in Releases(store.conn).of_week(week):
        if release.outcome.free:
            offer(release.email, Source.RELEASED)
    for member in community.members:
        if member.standby:
            offer(member.email, Source.STANDBY)
    return list(out.values())


def _meeting(store: Store, uid: str) -> Meeting | None:
    return next((f.meeting for f in store.rounds.find(uid) if f.meeting.uid == uid), None)


def _busy(store: Store, email: str, cancelled: str) -> tuple[Interval, ...]:
    """``email``'s other active meetings: their times are not free for a new one."""
    return tuple(
        Interval(f.meeting.start, f.meeting.end)
        for f in store.rounds.find(email)
        if f.meeting.status.active and f.meeting.uid != cancelled
    )


def _still_free(store: Store, week: IsoWeek, partner: str) -> bool:
    """Under the write lock: the partner is in no active meeting of ``week`` now (another run
    may have given them one)."""
    return not any(f.meeting.status.active for f in store.rounds.find(partner, week))


def _new_meeting(
    store: Store,
    community: Community,
    week: IsoWeek,
    release: Release,
    member: Member,
    picked: Rematch,
) -> Meeting:
    members = tuple(sorted((member.email, picked.partner)))
    text = "\x1f".join(
        (store.rounds.secret, community.name, str(week), "rematch", release.uid, *members)
    )
    uid = hashlib.sha256(text.encode()).hexdigest()[:32] + "@calroulette"
    return Meeting(
        uid=uid,
        members=members,
        start=picked.slot.start,
        end=picked.slot.end,
        alternatives=picked.alternatives,
        sequence=0,
        status=MeetingStatus.INVITED,
    )


def _writing(community: Community) -> Store:
    return open_store(community.database)
