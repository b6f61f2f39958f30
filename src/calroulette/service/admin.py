"""``admin_overview``: the organizer's page (``/admin``) in one read of the history database.

This week's and next week's round (planned, sending, sent, partly sent), where each message to
each recipient stands (the transport's last error included, masked), what the last round read of
each member's calendar (the feed health ``check`` would report, from what is stored: no calendar
is fetched when the page loads; the page offers ``check`` itself for a fresh reading), who is
"paused until they add free time" (:func:`.resting.resting_members`), and the sign-ups waiting
for the organizer's approval.

A calendar address is a password: a sign-up's is shown only as :func:`redact_url` shows it, and
every stored sentence (a feed error, an SMTP reply) goes through the secrets mask first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from os import PathLike

from calroulette.config import Community, SignupMode
from calroulette.invites import Kind
from calroulette.matching import Reason, Round
from calroulette.redact import SECRETS, redact_url
from calroulette.store import (
    DeliveryStatus,
    RoundState,
    Signup,
    SignupState,
    Store,
    WeekDeliveries,
    open_store,
)
from calroulette.timeutil import IsoWeek

from .community import load, week_or_next
from .health import Level
from .resting import resting_members

LISTED = 500  # a week of more messages lists only those that failed or wait to be retried


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a week to one recipient, as the ledger has it."""

    recipient: str  # email
    name: str
    kind: Kind  # request (an invitation, or an update when sequence > 0), cancel, unmatched
    sequence: int
    status: DeliveryStatus
    attempts: int = 0
    error: str | None = None  # the transport's last words, masked

    @property
    def what(self) -> str:
        if self.kind is Kind.REQUEST:
            return "updated invitation" if self.sequence else "invitation"
        return {Kind.CANCEL: "cancellation", Kind.UNMATCHED: "no-meeting note"}.get(
            self.kind, str(self.kind)
        )


@dataclass(frozen=True, slots=True)
class WeekState:
    """One week's round: what was planned and where its messages stand."""

    week: IsoWeek
    state: RoundState | None  # None: no round planned for the week
    meetings: int = 0
    left_out: int = 0
    deliveries: WeekDeliveries = field(default_factory=WeekDeliveries)
    messages: tuple[Message, ...] = ()
    complete: bool = True  # False: a large week; only the messages with a problem are listed


@dataclass(frozen=True, slots=True)
class FeedRow:
    """What the latest round read of one member's calendar."""

    email: str
    name: str
    level: Level | None  # None: not read by any round yet (new, or paused since)
    message: str


@dataclass(frozen=True, slots=True)
class PendingSignup:
    id: str
    name: str
    email: str
    timezone: str
    calendar: str  # redacted: https://host/…/basic.ics
    topics: tuple[str, ...]
    team: str | None
    frequency: str
    created_at: dt.datetime
    confirmed_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class AdminOverview:
    community: str
    signup: SignupMode
    this_week: WeekState
    next_week: WeekState
    feeds_week: IsoWeek | None  # the round the feed rows come from
    feeds: tuple[FeedRow, ...]
    resting: frozenset[str]  # paused until they add free time (derived from the rounds)
    pending: tuple[PendingSignup, ...]


def admin_overview(config: str | PathLike[str], *, now: dt.datetime) -> AdminOverview:
    """The organizer's overview at ``now``; reads members.toml and the history database, fetches
    nothing and writes nothing (no database yet: nothing planned, nobody waiting)."""
    community = load(config, members=False)
    zone = community.timezone
    this = IsoWeek.containing(now.astimezone(zone).date())
    upcoming = week_or_next(None, community, now)
    if not community.database.exists():
        empty = (WeekState(this, None), WeekState(upcoming, None))
        return AdminOverview(
            community.name, community.web.signup, *empty, None, _unread(community), frozenset(), ()
        )
    with open_store(community.database, readonly=True) as store:
        weeks = (_week(store, community, this), _week(store, community, upcoming))
        latest = next(iter(store.rounds.weeks_before(upcoming.shifted(1))), None)
        round_ = store.rounds.load(latest) if latest is not None else None
        resting = resting_members(store, community, latest) if latest is not None else set()
        pending = tuple(_pending(s) for s in store.signups.list(SignupState.PENDING))
    feeds = _feeds(community, round_, resting) if round_ is not None else _unread(community)
    return AdminOverview(
        community.name,
        community.web.signup,
        *weeks,
        latest,
        feeds,
        frozenset(resting),
        pending,
    )


def _week(store: Store, community: Community, week: IsoWeek) -> WeekState:
    status = store.rounds.status(week)
    if status is None:
        return WeekState(week, None)
    round_ = store.rounds.load(week)
    assert round_ is not None
    summary = store.deliveries.summary(week)
    complete = summary.total <= LISTED
    if complete:
        messages = tuple(
            _message(community, r.key.recipient, r.key.kind, r.key.sequence, r.status, r.last_error)
            for r in store.deliveries.rows(week=week)
            if r.status is not DeliveryStatus.REPLACED
        )
    else:  # without reading every message's bytes: the problems only
        messages = tuple(
            _message(community, k.recipient, k.kind, k.sequence, DeliveryStatus.FAILED, error)
            for k, error in summary.failures
        ) + tuple(
            _message(community, k.recipient, k.kind, k.sequence, DeliveryStatus.PENDING, error)
            for k, error, _ in summary.waiting
        )
    return WeekState(
        week,
        summary.state(status),
        meetings=len(round_.meetings),
        left_out=sum(not u.reason.own_choice for u in round_.unmatched),
        deliveries=summary,
        messages=messages,
        complete=complete,
    )


def _message(
    community: Community,
    recipient: str,
    kind: Kind,
    sequence: int,
    status: DeliveryStatus,
    error: str | None,
) -> Message:
    return Message(
        recipient,
        _name(community, recipient),
        kind,
        sequence,
        status,
        error=SECRETS.mask(error) if error else None,
    )


def _feeds(community: Community, round_: Round, resting: set[str]) -> tuple[FeedRow, ...]:
    """Each member's calendar as the latest round read it (members.toml's order)."""
    errors = {e.member: e.error for e in round_.errors}
    reasons = {u.member: u.reason for u in round_.unmatched}
    met = {e for m in round_.meetings for e in m.members}
    rows = []
    for member in community.members:
        email = member.email
        reason = reasons.get(email)
        if email in errors or reason is Reason.FEED_ERROR:
            said = SECRETS.mask(errors.get(email, "the calendar could not be read"))
            row = FeedRow(email, member.name, Level.ERROR, f"could not be read: {said}")
        elif reason is Reason.NO_FREE_TIME:
            rest = "; paused until they add free time" if email in resting else ""
            row = FeedRow(email, member.name, Level.WARN, f"read, but no free time{rest}")
        elif email in met or (reason is not None and not reason.own_choice):
            row = FeedRow(email, member.name, Level.OK, "read, with free time")
        elif reason is Reason.PAUSED:
            row = FeedRow(email, member.name, None, "not read: paused")
        elif reason is not None:
            row = FeedRow(email, member.name, None, "not read: sat that week out (frequency)")
        else:
            row = FeedRow(email, member.name, None, "not in that round (joined since)")
        rows.append(row)
    return tuple(rows)


def _unread(community: Community) -> tuple[FeedRow, ...]:
    return tuple(FeedRow(m.email, m.name, None, "no round yet") for m in community.members)


def _pending(signup: Signup) -> PendingSignup:
    return PendingSignup(
        id=signup.id,
        name=signup.name,
        email=signup.email,
        timezone=signup.timezone,
        calendar=redact_url(signup.calendar),
        topics=signup.topics,
        team=signup.team,
        frequency=signup.frequency,
        created_at=signup.created_at,
        confirmed_at=signup.confirmed_at,
    )


def _name(community: Community, email: str) -> str:
    member = community.member(email)
    return member.name if member is not None else email
