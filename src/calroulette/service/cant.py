""" "Can't make it": the page behind the link in every invitation (``cant_page``), moving the
meeting to another time both are still free (``cant_move``), "I can't this week"
(``cant_cancel``), and :func:`decline`, which that button and a calendar app's DECLINED reply
(``service.replies``) both end in.

**Decline.** The answer is recorded (``store.attendance``: DECLINED, its SEQUENCE and source)
in ONE transaction with what it changes and the messages that carry it:

- a meeting of two is cancelled for both (METHOD:CANCEL, SEQUENCE+1, to every attendee), and
  the partner is *released* (``store.releases``, pending);
- in a meeting of three, only the one who declined leaves it: a CANCEL to them, an updated
  REQUEST (SEQUENCE+1, same time) to the two others, who still meet; nobody is released.

Then the ledger is drained, and each release is settled at once (:mod:`.rematch`: a new partner
the same week, or a kind note). A crash in between leaves the release pending and the next
``run`` settles it (:func:`rematch_due`). A decline about a meeting already cancelled (a double
click), about an older invitation (the meeting moved since: a stale SEQUENCE), about a meeting
that has begun, or from someone who is not its attendee changes nothing; :class:`Declined` says
why.

**Moving.** The page lists the pair's other times, read from their calendars now
(:func:`calroulette.matching.rematch.shared_starts`: the week's slot grid, ``min_notice_hours``
ahead, free for the whole meeting in every attendee's calendar, clear of their other meetings),
a handful spread over the week, in the member's zone. Picking one re-checks it against the
calendars read again and moves the meeting for everyone through :func:`.meetings.reschedule`
(an updated REQUEST, SEQUENCE+1, to each).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from enum import StrEnum
from os import PathLike

from calroulette.availability import FreeTime
from calroulette.config import Community, Member
from calroulette.delivery import Report, Sending, channel_of, deliver_pending, render_change
from calroulette.errors import FeedError, UsageError
from calroulette.intervals import Interval
from calroulette.invites import Channel, Kind, Outgoing, discord_post, meeting_emails
from calroulette.invites.people import first_name
from calroulette.matching import Meeting, MeetingStatus, RoundStatus
from calroulette.matching.rematch import shared_starts, spread, week_grid
from calroulette.store import AnswerSource, FoundMeeting, PartStat, Store, open_store
from calroulette.store.releases import Releases
from calroulette.timeutil import IsoWeek, parse_utc

from .cantlinks import cant_links, read_token
from .community import load
from .memberlinks import LinkError, LinkProblem, by_email
from .rematch import RematchReport, Settled, rematch_due, settle
from .sending import links_for

__all__ = [
    "CantPage",
    "CantState",
    "DeclineOutcome",
    "Declined",
    "Moved",
    "RematchReport",
    "cant_cancel",
    "cant_links",
    "cant_move",
    "cant_page",
    "decline",
    "rematch_due",
]

Config = str | PathLike[str]


class DeclineOutcome(StrEnum):
    CANCELLED = "cancelled"  # a meeting of two: cancelled for both; the partner released
    LEFT = "left"  # a meeting of three: the one who declined left it; the others still meet
    ALREADY = "already"  # cancelled already, or they left it already: nothing new
    STALE = "stale"  # about an older invitation: the meeting moved since
    PAST = "past"  # the meeting has begun or is over
    NOT_ATTENDEE = "not-attendee"  # not one of the meeting's attendees
    UNKNOWN = "unknown"  # no meeting with this UID
    NOT_SENT = "not-sent"  # its round was never sent: nobody was invited

    @property
    def changed(self) -> bool:
        return self in (DeclineOutcome.CANCELLED, DeclineOutcome.LEFT)


@dataclass(frozen=True, slots=True)
class Declined:
    uid: str
    email: str
    outcome: DeclineOutcome
    week: IsoWeek | None = None
    meeting: Meeting | None = None  # as it is now (cancelled, or without the one who left)
    released: tuple[Settled, ...] = ()  # each partner released, and what became of them
    report: Report = field(default_factory=Report)


def decline(
    community: Community,
    uid: str,
    email: str,
    *,
    now: dt.datetime,
    source: AnswerSource,
    sequence: int,
    how: Sending | None = None,
) -> Declined:
    """``email`` cannot come to meeting ``uid`` (their answer to the invitation of
    ``sequence``): see the module's docstring. Idempotent."""
    how = how or Sending()
    email = email.strip().lower()
    if not community.database.exists():
        return Declined(uid, email, DeclineOutcome.UNKNOWN)
    for _ in range(3):
        with open_store(community.database) as store:
            found = _found(store, uid)
            refused = _refusal(store, found, email, sequence, now)
            if refused is not None:
                if refused is DeclineOutcome.ALREADY:
                    return _finish(community, uid, email, found, now, how)
                return Declined(
                    uid,
                    email,
                    refused,
                    found.week if found else None,
                    found.meeting if found else None,
                )
            assert found is not None
            changed, outgoing = _change(community, store, found, email, now)
            with store.transaction():
                if _found(store, uid) != found:
                    continue  # changed meanwhile (another click, a REPLY): look again
                store.attendance.answer(
                    uid, email, PartStat.DECLINED, sequence=sequence, source=source, at=now
                )
                store.rounds.change(changed)
                releases = Releases(store.conn)
                if len(found.meeting.members) > 2:
                    releases.drop_member(uid, email)
                else:
                    for partner in changed.members:
                        if partner != email:
                            releases.add(found.week, partner, uid, at=now)
                store.deliveries.record(found.week, outgoing, now)
            report = deliver_pending(store, community, found.week, now, how)
        outcome = (
            DeclineOutcome.LEFT if len(found.meeting.members) > 2 else DeclineOutcome.CANCELLED
        )
        done = _finish(community, uid, email, found, now, how)
        return replace(done, outcome=outcome, report=report, meeting=changed)
    raise UsageError(f"{uid}: the meeting kept changing; try again")


def _found(store: Store, uid: str) -> FoundMeeting | None:
    return next((f for f in store.rounds.find(uid) if f.meeting.uid == uid), None)


def _refusal(
    store: Store, found: FoundMeeting | None, email: str, sequence: int, now: dt.datetime
) -> DeclineOutcome | None:
    if found is None:
        return DeclineOutcome.UNKNOWN
    meeting = found.meeting
    if email not in meeting.members:
        said = store.attendance.of(meeting.uid).get(email)
        if said is not None and said.partstat is PartStat.DECLINED:
            return DeclineOutcome.ALREADY  # left a meeting of three already
        return DeclineOutcome.NOT_ATTENDEE
    if meeting.status is MeetingStatus.CANCELLED:
        return DeclineOutcome.ALREADY
    if found.round_status is not RoundStatus.SENT:
        return DeclineOutcome.NOT_SENT
    if meeting.start <= now:
        return DeclineOutcome.PAST
    if sequence < meeting.sequence:
        return DeclineOutcome.STALE
    return None


def _change(
    community: Community, store: Store, found: FoundMeeting, email: str, now: dt.datetime
) -> tuple[Meeting, list[Outgoing]]:
    """The meeting as the decline leaves it, and the messages that say so."""
    meeting = found.meeting
    if len(meeting.members) <= 2:
        cancelled = replace(meeting, sequence=meeting.sequence + 1, status=MeetingStatus.CANCELLED)
        links = links_for(community, store, cancelled.members, now=now, meetings=())
        outgoing = render_change(
            cancelled, community, found.week, kind=Kind.CANCEL, now=now, links=links
        )
        return cancelled, outgoing
    rest = tuple(e for e in meeting.members if e != email)
    left = replace(meeting, members=rest, sequence=meeting.sequence + 1, status=MeetingStatus.MOVED)
    who = by_email(community, email)
    update = f"{first_name(who.name) if who else 'one of you'} can't make it; the time stays"
    links = links_for(community, store, meeting.members, now=now, meetings=[left])
    if channel_of(community) is Channel.DISCORD:
        post = discord_post(
            left,
            community,
            found.week,
            sequence=left.sequence,
            now=now,
            links=links,
            update=update,
        )
        return left, [post]
    gone = meeting_emails(
        replace(meeting, sequence=left.sequence),
        community,
        found.week,
        sequence=left.sequence,
        now=now,
        kind=Kind.CANCEL,
        links=links,
        recipients=[email],
    )
    staying = meeting_emails(
        left, community, found.week, sequence=left.sequence, now=now, links=links, update=update
    )
    return left, [*gone, *staying]


def _finish(
    community: Community,
    uid: str,
    email: str,
    found: FoundMeeting | None,
    now: dt.datetime,
    how: Sending,
) -> Declined:
    """Settle the releases of ``uid`` still pending (this decline's, or one a crash left)."""
    with open_store(community.database, readonly=True) as store:
        releases = Releases(store.conn).of_meeting(uid)
        current = _found(store, uid)
    settled = tuple(settle(community, r, now=now, how=how) for r in releases)
    return Declined(
        uid,
        email,
        DeclineOutcome.ALREADY,
        found.week if found else None,
        current.meeting if current else None,
        settled,
    )


# --- the page ---------------------------------------------------------------------------------


class CantState(StrEnum):
    OPEN = "open"  # to come: other times, and "I can't this week"
    CANCELLED = "cancelled"  # cancelled already (by them, their partner or the organizer)
    LEFT = "left"  # they left a meeting of three


@dataclass(frozen=True, slots=True)
class Option:
    start: dt.datetime  # UTC: what the form sends back
    start_local: dt.datetime  # in the member's zone
    end_local: dt.datetime


@dataclass(frozen=True, slots=True)
class CantPage:
    member: Member
    community: Community
    uid: str
    state: CantState
    start_local: dt.datetime  # the meeting, in the member's zone
    end_local: dt.datetime
    partners: tuple[str, ...]  # first names
    options: tuple[Option, ...] = ()  # other times both are free, soonest first
    unreadable: bool = False  # a calendar could not be read now: no other times shown
    instead: tuple[Option, ...] = ()  # their other meetings to come that week (a rematch)
    instead_with: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Moved:
    start_local: dt.datetime
    changed: bool  # False: it was at that time already


def _open(
    config: Config, token: str, now: dt.datetime, key: str | None
) -> tuple[Community, Member, FoundMeeting]:
    """The community, the member and the meeting a valid link names; :class:`LinkError` when
    it must not be honoured (403 not ours or not an attendee; 410 expired, gone, begun)."""
    community = load(config, members=False)
    if not community.database.exists():
        read_token(community, None, token, now=now, key=key)
        raise LinkError(LinkProblem.GONE)
    with open_store(community.database, readonly=True) as store:
        claim = read_token(community, store, token, now=now, key=key)
        found = _found(store, claim.uid)
        said = store.attendance.of(claim.uid).get(claim.email) if found else None
    member = by_email(community, claim.email)
    if found is None or member is None:
        raise LinkError(LinkProblem.GONE)
    left = said is not None and said.partstat is PartStat.DECLINED
    if claim.email not in found.meeting.members and not left:
        raise LinkError(LinkProblem.INVALID)  # not an attendee: 403
    if found.meeting.start <= now:
        raise LinkError(LinkProblem.EXPIRED)  # begun or over: nothing to change
    return community, member, found


def cant_page(config: Config, token: str, *, now: dt.datetime, key: str | None = None) -> CantPage:
    """The page: the meeting, and the other times both are still free (read now)."""
    community, member, found = _open(config, token, now, key)
    meeting = found.meeting
    zone = member.timezone
    state = CantState.OPEN
    if member.email not in meeting.members:
        state = CantState.LEFT
    elif meeting.status is MeetingStatus.CANCELLED:
        state = CantState.CANCELLED
    partners = tuple(_first(community, e) for e in meeting.members if e != member.email)
    page = CantPage(
        member,
        community,
        meeting.uid,
        state,
        meeting.start.astimezone(zone),
        meeting.end.astimezone(zone),
        partners,
    )
    if state is not CantState.OPEN:
        return _instead(page, community, member, found, now)
    slots, unreadable = _free_slots(community, found, now)
    options = tuple(
        Option(s.start, s.start.astimezone(zone), s.end.astimezone(zone)) for s in spread(slots)
    )
    return replace(page, options=options, unreadable=unreadable)


def _instead(
    page: CantPage, community: Community, member: Member, found: FoundMeeting, now: dt.datetime
) -> CantPage:
    """A cancelled meeting's page also shows the member's new meeting that week, if any."""
    with open_store(community.database, readonly=True) as store:
        others = [
            f.meeting
            for f in store.rounds.find(member.email, found.week)
            if f.meeting.status.active
            and f.meeting.uid != found.meeting.uid
            and f.meeting.start > now
        ]
    zone = member.timezone
    return replace(
        page,
        instead=tuple(
            Option(m.start, m.start.astimezone(zone), m.end.astimezone(zone)) for m in others
        ),
        instead_with=tuple(
            " & ".join(_first(community, e) for e in m.members if e != member.email) for m in others
        ),
    )


def _first(community: Community, email: str) -> str:
    other = community.member(email)
    return first_name(other.name) if other is not None else "a former member"


def _free_slots(
    community: Community, found: FoundMeeting, now: dt.datetime
) -> tuple[list[Interval], bool]:
    """Every start the meeting could move to (not its own), and whether a calendar could not
    be read (then none)."""
    from .reading import read_calendars

    meeting = found.meeting
    members = [m for m in (community.member(e) for e in meeting.members) if m is not None]
    if len(members) < len(meeting.members):
        return [], True
    free = read_calendars(
        community,
        found.week,
        now,
        members,
        ignore_uids=frozenset({meeting.uid}),
        progress=False,
    ).free
    spans = [free.get(m.email) for m in members]
    if any(s is None or isinstance(s, FeedError) for s in spans):
        return [], True
    with open_store(community.database, readonly=True) as store:
        busy = tuple(
            Interval(f.meeting.start, f.meeting.end)
            for email in meeting.members
            for f in store.rounds.find(email)
            if f.meeting.status.active and f.meeting.uid != meeting.uid
        )
    grid = week_grid(community, found.week, now)
    starts = shared_starts(
        grid, [s.free for s in spans if s is not None and not isinstance(s, FeedError)], busy
    )
    return [s for s in starts if s.start != meeting.start], False


def cant_move(
    config: Config,
    token: str,
    start: str,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    key: str | None = None,
) -> Moved:
    """Move the meeting to ``start`` (an ISO UTC instant from the page) for everyone, when it
    is still free for all of them; :class:`UsageError` saying so otherwise."""
    from .meetings import reschedule

    community, member, found = _open(config, token, now, key)
    meeting = found.meeting
    if member.email not in meeting.members or meeting.status is MeetingStatus.CANCELLED:
        raise UsageError("This meeting is cancelled: it cannot be moved any more.")
    try:
        to = parse_utc(start.strip())
    except ValueError:
        raise UsageError("That time could not be read; pick one from the list.") from None
    if to == meeting.start:
        return Moved(to.astimezone(member.timezone), changed=False)  # a second click
    slots, unreadable = _free_slots(community, found, now)
    if unreadable:
        raise UsageError(
            "We could not read every calendar just now, so we cannot check that time. Try "
            "again later, or reply to all on the invitation."
        )
    if to not in {s.start for s in slots}:
        raise UsageError("That time is no longer free for both of you; pick another one.")
    try:
        reschedule(
            community, meeting.uid, to, now=now, how=how, free=_both_free(slots, meeting, to)
        )
    except UsageError:
        raise UsageError("That time is no longer free for both of you; pick another one.") from None
    return Moved(to.astimezone(member.timezone), changed=True)


def _both_free(
    slots: list[Interval], meeting: Meeting, to: dt.datetime
) -> dict[str, FreeTime | FeedError]:
    """What :func:`.meetings.reschedule` checks the new time against: it was just read."""
    week = IsoWeek.containing(to.date())
    span = next(s for s in slots if s.start == to)
    return {e: FreeTime(e, week, (span,)) for e in meeting.members}


def cant_cancel(
    config: Config,
    token: str,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    key: str | None = None,
) -> Declined:
    """ "I can't this week": :func:`decline` from the link."""
    community, member, found = _open(config, token, now, key)
    return decline(
        community,
        found.meeting.uid,
        member.email,
        now=now,
        source=AnswerSource.LINK,
        sequence=found.meeting.sequence,
        how=how,
    )
