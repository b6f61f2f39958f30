"""``stats``: does the community work? Members, rounds and what became of each meeting, per week.

Reads members.toml (who is a member now, their zones) and the history database (rounds,
meetings, the members left out, the invitations sent, each attendee's answers, the releases
after a decline): no calendar, no network, and nothing is written. A community without a
history database yet gets empty figures, and none is created.

Every figure is counted here, once, from the stored codes; :mod:`calroulette.render.stats`
only shows them, and defines each in words (:data:`calroulette.render.stats.DEFINITIONS`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from calroulette.config import Community, MemberStatus
from calroulette.errors import UsageError
from calroulette.invites import Channel, Kind
from calroulette.matching import MeetingStatus, Reason, RoundStatus
from calroulette.store import Attendance, DeliveryStatus, Met, PartStat, Store, open_store
from calroulette.timeutil import IsoWeek, parse_utc

from .resting import resting_now

K = TypeVar("K")
OFTEN_LEFT_OUT = 10  # members listed as left out most often


class Outcome(StrEnum):
    """What became of a meeting: one per meeting, so the outcomes of a week add up to its
    meetings. A cancelled meeting is ``declined`` or ``cancelled`` whatever else was said of it;
    one that went ahead is ``held`` when any attendee said they met, else ``not-held`` when
    any said they did not, else ``upcoming`` until it ends, else ``unanswered`` (``not-sent``:
    its round was never sent)."""

    HELD = "held"
    NOT_HELD = "not-held"
    UNANSWERED = "unanswered"
    UPCOMING = "upcoming"
    NOT_SENT = "not-sent"
    DECLINED = "declined"  # cancelled after an attendee declined
    CANCELLED = "cancelled"  # cancelled otherwise (the organizer)

    @property
    def went_ahead(self) -> bool:
        """Not cancelled: it counts for the cross-zone and repeat rates."""
        return self not in (Outcome.DECLINED, Outcome.CANCELLED)


@dataclass(frozen=True, slots=True)
class Rate:
    """``count`` out of ``of``; its ``value`` is None when ``of`` is 0 (nothing to divide)."""

    count: int = 0
    of: int = 0

    @property
    def value(self) -> float | None:
        return self.count / self.of if self.of else None

    def __add__(self, other: Rate) -> Rate:
        return Rate(self.count + other.count, self.of + other.of)


@dataclass(frozen=True, slots=True)
class Figures:
    """One week's figures, or the sum of several weeks' (then members count once per week)."""

    rounds: int = 0
    paired: int = 0  # members in a meeting of the round (a cancelled one too)
    left_out: Mapping[Reason, int] = field(default_factory=dict)  # in no meeting, by reason
    meetings: int = 0
    moved: int = 0  # moved after the invitation (an updated REQUEST, SEQUENCE > 0)
    declined: int = 0  # an attendee declined, or a decline cancelled it (a release)
    cancelled: int = 0
    outcomes: Mapping[Outcome, int] = field(default_factory=dict)
    invitations: int = 0  # (meeting, attendee) invitations sent
    answers: Mapping[PartStat, int] = field(default_factory=dict)  # of those invitations
    met: Mapping[Met, int] = field(
        default_factory=dict
    )  # "did you meet?", meetings that went ahead
    cross_zone: Rate = Rate()  # of the meetings that went ahead, attendees' zones known
    repeat: Rate = Rate()  # of the meetings that went ahead
    released: int = 0  # partners freed by a decline
    rematched: int = 0  # of them, given a new partner

    @property
    def answered(self) -> int:
        return sum(self.answers.values())

    @property
    def wanting(self) -> int:
        """Left out for want of a partner (a reason that puts them first next week)."""
        return sum(n for reason, n in self.left_out.items() if reason.comes_first)

    @property
    def taking_part(self) -> int:
        return self.paired + self.wanting

    @property
    def reply(self) -> Rate:
        return Rate(self.answered, self.invitations)

    @property
    def attendance(self) -> Rate:
        yes = self.met.get(Met.YES, 0)
        return Rate(yes, yes + self.met.get(Met.NO, 0))

    @property
    def left_out_rate(self) -> Rate:
        return Rate(self.wanting, self.taking_part)

    def outcome(self, outcome: Outcome) -> int:
        return self.outcomes.get(outcome, 0)

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            rounds=self.rounds + other.rounds,
            paired=self.paired + other.paired,
            left_out=_add(self.left_out, other.left_out),
            meetings=self.meetings + other.meetings,
            moved=self.moved + other.moved,
            declined=self.declined + other.declined,
            cancelled=self.cancelled + other.cancelled,
            outcomes=_add(self.outcomes, other.outcomes),
            invitations=self.invitations + other.invitations,
            answers=_add(self.answers, other.answers),
            met=_add(self.met, other.met),
            cross_zone=self.cross_zone + other.cross_zone,
            repeat=self.repeat + other.repeat,
            released=self.released + other.released,
            rematched=self.rematched + other.rematched,
        )


@dataclass(frozen=True, slots=True)
class WeekStats:
    week: IsoWeek
    status: RoundStatus  # the round's: planned, or sent
    figures: Figures


@dataclass(frozen=True, slots=True)
class Members:
    """The members now, from members.toml (``left``: in the history, no longer members)."""

    total: int = 0
    active: int = 0
    paused: int = 0  # paused, or paused until a date
    resting: int = 0  # paused until they add free time (three rounds without any)
    left: int = 0


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A member often left out for want of a partner (``name``: None when they left)."""

    email: str
    name: str | None
    weeks: int


@dataclass(frozen=True, slots=True)
class Stats:
    community: str
    generated: dt.datetime
    members: Members
    weeks: tuple[WeekStats, ...]  # oldest first
    total: Figures  # the weeks shown, added up
    often_left_out: tuple[LeftOut, ...] = ()

    @property
    def empty(self) -> bool:
        """No round recorded yet (or no history database)."""
        return not self.weeks


def stats(community: Community, *, now: dt.datetime, weeks: int | None = None) -> Stats:
    """The community's figures: the members now, and per week with a round (oldest first;
    ``weeks``: only the latest that many) what became of its meetings, with the totals.

    Read-only: a community without a history database gets no rounds, and no database."""
    if weeks is not None and weeks < 1:
        raise UsageError("--weeks: give 1 or more")
    if not community.database.exists():
        return Stats(community.name, now, members_now(community, now, set()), (), Figures())
    with open_store(community.database, readonly=True) as store:
        records = read_records(store)
    return summarize(records, community, now=now, weeks=weeks)


# --- what the history holds -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeetingRecord:
    uid: str
    week: IsoWeek
    members: tuple[str, ...]
    start: dt.datetime
    end: dt.datetime
    sequence: int
    status: MeetingStatus


@dataclass(frozen=True, slots=True)
class Records:
    """The history's rows that the figures are counted from."""

    rounds: Mapping[IsoWeek, RoundStatus]
    meetings: Sequence[MeetingRecord]
    unmatched: Sequence[tuple[IsoWeek, str, Reason]]  # (week, email, reason)
    invited: frozenset[tuple[str, str]] = frozenset()  # (uid, email): a REQUEST sent by email
    posted: frozenset[str] = frozenset()  # uids whose REQUEST was posted to the Discord channel
    updated: frozenset[str] = frozenset()  # uids with an updated REQUEST (SEQUENCE > 0)
    attendance: Sequence[Attendance] = ()
    releases: Sequence[tuple[IsoWeek, str, str, str | None]] = ()  # week, email, uid, outcome


def read_records(store: Store) -> Records:
    """Every row the figures need, in a few reads (no message bytes: a week of 10,000 members
    holds 150 MB of them). Plain SQL over the tables: the store has no bulk readers of these."""
    conn = store.conn
    rounds = {
        IsoWeek.parse(w): RoundStatus(s)
        for w, s in conn.execute("SELECT week, status FROM rounds ORDER BY week")
    }
    people: dict[str, list[str]] = {}
    for uid, email in conn.execute("SELECT uid, email FROM meeting_members ORDER BY uid, email"):
        people.setdefault(str(uid), []).append(str(email))
    meetings = [
        MeetingRecord(
            str(uid),
            IsoWeek.parse(w),
            tuple(people.get(str(uid), ())),
            parse_utc(start),
            parse_utc(end),
            int(sequence),
            MeetingStatus(status),
        )
        for uid, w, start, end, sequence, status in conn.execute(
            "SELECT uid, week, start, end, sequence, status FROM meetings ORDER BY week, start, uid"
        )
    ]
    unmatched = [
        (IsoWeek.parse(w), str(email), Reason(reason))
        for w, email, reason in conn.execute("SELECT week, email, reason FROM unmatched")
    ]
    invited: set[tuple[str, str]] = set()
    posted: set[str] = set()
    updated: set[str] = set()
    for uid, recipient, channel, sequence, status in conn.execute(
        "SELECT meeting_uid, recipient, channel, sequence, status FROM deliveries"
        " WHERE kind = ? AND status != ?",
        (Kind.REQUEST, DeliveryStatus.REPLACED),
    ):
        if int(sequence) > 0:
            updated.add(str(uid))
        if status != DeliveryStatus.SENT:
            continue
        if channel == Channel.DISCORD:
            posted.add(str(uid))
        else:
            invited.add((str(uid), str(recipient)))
    releases = [
        (IsoWeek.parse(w), str(email), str(uid), str(outcome) if outcome else None)
        for w, email, uid, outcome in conn.execute("SELECT week, email, uid, outcome FROM releases")
    ]
    return Records(
        rounds,
        meetings,
        unmatched,
        frozenset(invited),
        frozenset(posted),
        frozenset(updated),
        store.attendance.all(),
        releases,
    )


# --- counting -------------------------------------------------------------------------------


def summarize(
    records: Records, community: Community, *, now: dt.datetime, weeks: int | None = None
) -> Stats:
    """The figures of ``records`` (see :func:`stats`): pure, ``now`` decides what is upcoming."""
    by_week: dict[IsoWeek, list[MeetingRecord]] = {w: [] for w in records.rounds}
    for meeting in records.meetings:
        by_week.setdefault(meeting.week, []).append(meeting)
    answers: dict[str, list[Attendance]] = {}
    for answer in records.attendance:
        answers.setdefault(answer.uid, []).append(answer)
    released: dict[str, list[str | None]] = {}
    for _, _, uid, outcome in records.releases:
        released.setdefault(uid, []).append(outcome)
    outcomes = {
        m.uid: outcome_of(m, answers.get(m.uid, ()), m.uid in released, now)
        for m in records.meetings
    }
    repeats = _repeats(records.meetings, outcomes)
    invited: dict[str, set[str]] = {}
    for uid, email in records.invited:
        invited.setdefault(uid, set()).add(email)
    unmatched: dict[IsoWeek, list[tuple[str, Reason]]] = {}
    for week, email, reason in records.unmatched:
        unmatched.setdefault(week, []).append((email, reason))
    zones = {m.email: m.timezone for m in community.members}
    shown = sorted(records.rounds)[-weeks:] if weeks else sorted(records.rounds)
    result = []
    for week in shown:
        meetings = by_week[week]
        paired = {e for m in meetings for e in m.members}
        left_out = [r for e, r in unmatched.get(week, ()) if e not in paired]
        going = [m for m in meetings if outcomes[m.uid].went_ahead]
        known = [m for m in going if all(e in zones for e in m.members)]
        invitations = {m.uid: _invitations(m, invited, records.posted) for m in meetings}
        figures = Figures(
            rounds=1,
            paired=len(paired),
            left_out=dict(Counter(left_out)),
            meetings=len(meetings),
            moved=sum(_moved(m, records.updated) for m in meetings),
            declined=sum(_declined(answers.get(m.uid, ()), m.uid in released) for m in meetings),
            cancelled=sum(m.status is MeetingStatus.CANCELLED for m in meetings),
            outcomes=dict(Counter(outcomes[m.uid] for m in meetings)),
            invitations=sum(len(to) for to in invitations.values()),
            answers=dict(
                Counter(
                    a.partstat
                    for m in meetings
                    for a in answers.get(m.uid, ())
                    if a.partstat is not None and a.email in invitations[m.uid]
                )
            ),
            met=dict(Counter(a.met for m in going for a in answers.get(m.uid, ()) if a.met)),
            cross_zone=Rate(sum(_cross_zone(m, zones) for m in known), len(known)),
            repeat=Rate(sum(m.uid in repeats for m in going), len(going)),
            released=sum(len(released.get(m.uid, ())) for m in meetings),
            rematched=sum(released.get(m.uid, []).count("rematched") for m in meetings),
        )
        result.append(WeekStats(week, records.rounds[week], figures))
    total = sum((w.figures for w in result), Figures())
    ever = {e for m in records.meetings for e in m.members} | {e for _, e, _ in records.unmatched}
    return Stats(
        community.name,
        now,
        members_now(community, now, ever),
        tuple(result),
        total,
        _often_left_out(records, community, {w.week for w in result}),
    )


def outcome_of(
    meeting: MeetingRecord, answers: Sequence[Attendance], released: bool, now: dt.datetime
) -> Outcome:
    """What became of ``meeting`` (see :class:`Outcome`)."""
    if meeting.status is MeetingStatus.CANCELLED:
        return Outcome.DECLINED if _declined(answers, released) else Outcome.CANCELLED
    said = {a.met for a in answers}
    if Met.YES in said:
        return Outcome.HELD
    if Met.NO in said:
        return Outcome.NOT_HELD
    if meeting.end > now:
        return Outcome.UPCOMING
    if meeting.status is MeetingStatus.PLANNED:
        return Outcome.NOT_SENT
    return Outcome.UNANSWERED


def _moved(meeting: MeetingRecord, updated: frozenset[str]) -> bool:
    """Moved after its invitation went out: ``moved``, or an updated REQUEST was recorded (a
    meeting moved and then cancelled)."""
    return meeting.status is MeetingStatus.MOVED or meeting.uid in updated


def _declined(answers: Sequence[Attendance], released: bool) -> bool:
    return released or any(a.partstat is PartStat.DECLINED for a in answers)


def _invitations(
    meeting: MeetingRecord, invited: Mapping[str, set[str]], posted: frozenset[str]
) -> set[str]:
    """Who was sent ``meeting``'s invitation: attendees it was emailed to, and every attendee
    when it was posted in the Discord channel."""
    to = set(invited.get(meeting.uid, ()))
    if meeting.uid in posted:
        to.update(meeting.members)
    return to


def _cross_zone(meeting: MeetingRecord, zones: Mapping[str, dt.tzinfo]) -> bool:
    """The attendees' zones are at different UTC offsets when the meeting starts (two zones at
    the same offset that day are not: London and UTC in winter)."""
    offsets = {meeting.start.astimezone(zones[e]).utcoffset() for e in meeting.members}
    return len(offsets) > 1


def _repeats(meetings: Sequence[MeetingRecord], outcomes: Mapping[str, Outcome]) -> set[str]:
    """The meetings that went ahead and in which two attendees had met in an earlier round:
    a meeting of an earlier week that went ahead and that nobody said did not happen."""
    met: set[tuple[str, str]] = set()
    repeats: set[str] = set()
    by_week: dict[IsoWeek, list[MeetingRecord]] = {}
    for meeting in meetings:
        if outcomes[meeting.uid].went_ahead:
            by_week.setdefault(meeting.week, []).append(meeting)
    for week in sorted(by_week):
        this_week = by_week[week]
        for meeting in this_week:
            if any(p in met for p in _pairs(meeting.members)):
                repeats.add(meeting.uid)
        for meeting in this_week:
            if outcomes[meeting.uid] is not Outcome.NOT_HELD:
                met.update(_pairs(meeting.members))
    return repeats


def _pairs(members: Sequence[str]) -> list[tuple[str, str]]:
    people = sorted(members)
    return [(a, b) for i, a in enumerate(people) for b in people[i + 1 :]]


def members_now(community: Community, now: dt.datetime, ever: set[str]) -> Members:
    """The members by their status today (in the community's zone); ``ever``: every email the
    history names, to count those who left."""
    today = now.astimezone(community.timezone).date()
    statuses = Counter(m.status(today) for m in community.members)
    paused = statuses[MemberStatus.PAUSED] + statuses[MemberStatus.PAUSED_UNTIL]
    resting_emails = resting_now(community, now)
    resting = sum(
        m.email in resting_emails and m.status(today) is MemberStatus.ACTIVE
        for m in community.members
    )
    emails = {m.email for m in community.members}
    return Members(
        total=len(community.members),
        active=len(community.members) - paused - resting,
        paused=paused,
        resting=resting,
        left=len(ever - emails),
    )


def _often_left_out(
    records: Records, community: Community, weeks: set[IsoWeek]
) -> tuple[LeftOut, ...]:
    """The members left out for want of a partner in the most of ``weeks`` (a member a
    rematch later paired that week is not)."""
    paired = {(m.week, e) for m in records.meetings for e in m.members}
    counts = Counter(
        e for w, e, r in records.unmatched if w in weeks and r.comes_first and (w, e) not in paired
    )
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:OFTEN_LEFT_OUT]
    return tuple(
        LeftOut(email, member.name if (member := community.member(email)) else None, n)
        for email, n in ranked
    )


def _add(a: Mapping[K, int], b: Mapping[K, int]) -> dict[K, int]:
    out = dict(a)
    for key, n in b.items():
        out[key] = out.get(key, 0) + n
    return out
