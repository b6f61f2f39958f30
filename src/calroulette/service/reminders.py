"""The reminders before each meeting and the "did you meet?" follow-ups the day after: what is
due at ``now``, recorded once in the deliveries ledger and sent (:func:`send_due`, called by
every ``run``).

**When.** Only meetings of sent rounds that are still on (``invited`` or ``moved``): a cancelled
meeting gets nothing, and a moved one is reminded at its new time (the key's sequence is the
meeting's, so the move's reminder is a new delivery).

- A **reminder** is due from ``reminder_minutes`` before the start until the start:
  ``start - reminder_minutes <= now < start``. A run that comes only after the start (the server
  was down, or cron runs less often than ``reminder_minutes``) sends none: a reminder of a
  meeting under way helps nobody. It says so once (:attr:`DueReport.skipped`, reason
  ``started``): the meetings whose start passed since the previous look (the checkpoint in
  the history database; a first run looks back a day). A reminder recorded in time but not
  delivered before the start (the transport down) is withdrawn then, never sent late. A caller
  that runs less often than ``reminder_minutes`` (cron every 15 minutes, meetings on the hour:
  no run falls in 13:50–14:00) either passes ``early`` (its interval: a reminder that its next
  run would be too late for goes now, at the last run before the start) or waits until
  :attr:`DueReport.next_due` and calls again.
- A **follow-up** is due from 09:00 on the day after the meeting, in the recipient's own zone
  (for a Discord post, which everyone reads at once: the latest of the attendees' 09:00s),
  and never before the meeting's end; until :data:`FOLLOWUP_DAYS` days after that, then it is
  skipped (reason ``late``, said once) or, recorded but undelivered, withdrawn. 09:00 local is
  when the question reads naturally ("yesterday's coffee"), not at 3 a.m. for someone twelve
  hours away; a meeting late at night is asked about the next morning, not an hour later.

**Who, how.** A Discord community (``method = "discord"``) gets one reminder post that mentions
every attendee, and one follow-up post that names each with their own two links (see
:mod:`calroulette.invites.reminders` for why per-person links in a shared channel are acceptable
there: a Discord community has no way to write to one person). An email community gets a
reminder email per attendee only with ``reminder_email = true``, and a follow-up email per
attendee. Emails carry the member's own manage and unsubscribe links, as every email does. An
attendee who declined the meeting's current invitation is left out; a meeting with fewer than
two attendees left gets nothing. Follow-ups need the signed links, so ``[web] base_url`` and
the signing key; without them none is recorded and :attr:`DueReport.note` says why.

**Exactly once.** Every message is recorded as a pending delivery (its key: meeting, recipient,
channel, kind, sequence) in one transaction with the checkpoint, then sent at once through the
sender's lock (:func:`calroulette.delivery.sender.deliver_now`). A run killed anywhere leaves the
rows pending; the next one sends those still useful and withdraws the rest (marked
``replaced``: never to go out).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo

from calroulette.config import Community, Member
from calroulette.delivery import Report, Retry, Sending, channel_of
from calroulette.delivery.sender import deliver_now
from calroulette.invites import Channel, DeliveryKey, Kind, Outgoing
from calroulette.invites.reminders import (
    WEBHOOK,
    followup_email,
    followup_post,
    reminder_email,
    reminder_post,
)
from calroulette.matching import Meeting, MeetingStatus
from calroulette.store import DeliveryStatus, FoundMeeting, PartStat, Store, open_store
from calroulette.store.reminders import Reminders
from calroulette.timeutil import IsoWeek, ensure_utc, to_utc

from .met import met_links
from .sending import links_for

FOLLOWUP_AT = dt.time(9, 0)  # the day after the meeting, in the recipient's zone
FOLLOWUP_DAYS = 7  # a follow-up not sent within this many days of its time is skipped
FIRST_LOOK = dt.timedelta(days=1)  # a first run reports what was missed this far back
LONGEST_LOOK = dt.timedelta(days=14)  # and a run after a long stop, at most this far
# every meeting whose follow-up may still be due, or just became too late, started this long ago
_FOLLOWUP_REACH = dt.timedelta(days=FOLLOWUP_DAYS + 2)


class Skip(StrEnum):
    """Why a due message was not sent (reported once)."""

    STARTED = "started"  # no run between the reminder's time and the start
    LATE = "late"  # no run in the FOLLOWUP_DAYS the follow-up was due


@dataclass(frozen=True, slots=True)
class Skipped:
    uid: str
    week: IsoWeek
    kind: Kind  # REMINDER or FOLLOWUP
    start: dt.datetime  # the meeting's (UTC)
    reason: Skip
    recipients: tuple[str, ...]  # emails, or "webhook" for the Discord post


@dataclass(frozen=True, slots=True)
class DueReport:
    """What :func:`send_due` did."""

    reminders: tuple[DeliveryKey, ...] = ()  # recorded by this run
    followups: tuple[DeliveryKey, ...] = ()  # recorded by this run
    skipped: tuple[Skipped, ...] = ()  # due while no run came: said once
    withdrawn: tuple[DeliveryKey, ...] = ()  # recorded, never delivered, no longer useful
    report: Report = field(default_factory=Report)  # the sending of this run's and older rows
    next_due: dt.datetime | None = None  # the next reminder or follow-up to come (UTC)
    note: str = ""  # why follow-ups are off (no links), when one would be due

    @property
    def exit_code(self) -> int:
        return self.report.exit_code


def send_due(
    community: Community,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    early: dt.timedelta = dt.timedelta(0),
) -> DueReport:
    """Record and send every reminder and follow-up due at ``now`` (see the module's
    docstring); withdraw those recorded earlier that are no longer useful; send those still
    pending. Idempotent: a second run at the same ``now`` records and sends nothing.

    ``early``: the caller's interval (``run`` from cron: 15 minutes): a reminder that the next
    call would be too late for is sent now (:func:`reminder_due`; default: none early). Or wait
    until :attr:`DueReport.next_due` and call again."""
    now = ensure_utc(now)
    if not community.database.exists():
        return DueReport()
    with open_store(community.database) as store:
        due = _Due(community, store, now, early)
        due.look()
        with store.transaction():
            for week, outgoing in due.new.items():
                store.deliveries.record(week, outgoing, now)
            store.deliveries.replace(due.withdrawn)
            due.log.mark_checked(now)
        keys = [*due.retry, *(o.key for items in due.new.values() for o in items)]
        report = Report()
        if keys:
            sending = how or Sending()
            sending = Sending(sending.transport, sending.retry or Retry(), sending.sleep)
            report = deliver_now(store, community, keys, now, sending)
    recorded = [o.key for items in due.new.values() for o in items]
    return DueReport(
        reminders=tuple(k for k in recorded if k.kind is Kind.REMINDER),
        followups=tuple(k for k in recorded if k.kind is Kind.FOLLOWUP),
        skipped=tuple(due.skipped),
        withdrawn=tuple(due.withdrawn),
        report=report,
        next_due=min(due.upcoming, default=None),
        note=due.note,
    )


def reminder_due(
    meeting: Meeting,
    community: Community,
    now: dt.datetime,
    early: dt.timedelta = dt.timedelta(0),
) -> bool:
    """``start - reminder_minutes <= now < start`` (never with ``reminder_minutes = 0``).

    ``early``: the caller comes back that much later (``run`` from cron every 15 minutes). A
    reminder is then also due when the next call would come only at or after the start: it is
    sent at the last call before the meeting, as little early as the calls allow, never late.
    """
    if community.reminder_minutes <= 0 or now >= meeting.start:
        return False
    at = meeting.start - dt.timedelta(minutes=community.reminder_minutes)
    return now >= at or (early > dt.timedelta(0) and now + early >= meeting.start)


def followup_at(meeting: Meeting, zones: Iterable[ZoneInfo]) -> dt.datetime:
    """When "did you meet?" is due: 09:00 on the day after the meeting in each zone, the latest
    of them (one zone for an email, every attendee's for a Discord post), never before the
    meeting's end."""
    times = [
        to_utc(
            dt.datetime.combine(
                meeting.start.astimezone(zone).date() + dt.timedelta(days=1), FOLLOWUP_AT
            ),
            zone,
        )
        for zone in zones
    ]
    return max([*times, meeting.end])


class _Due:
    """One look at the history: what to record, retry, withdraw and report."""

    def __init__(
        self, community: Community, store: Store, now: dt.datetime, early: dt.timedelta
    ) -> None:
        self.community, self.store, self.now = community, store, now
        self.early = max(early, dt.timedelta(0))
        self.log = Reminders(store.conn)
        self.discord = channel_of(community) is Channel.DISCORD
        self.remind = community.reminder_minutes > 0 and (self.discord or community.reminder_email)
        self.follow = community.followup
        checked = self.log.checked_at()
        floor = now - (LONGEST_LOOK if checked is not None else FIRST_LOOK)
        # what was due in (since, now] and not sent is reported by this run, and no other
        self.since = min(max(checked or floor, floor), now)
        self.new: dict[IsoWeek, list[Outgoing]] = {}
        self.retry: list[DeliveryKey] = []
        self.withdrawn: list[DeliveryKey] = []
        self.skipped: list[Skipped] = []
        self.upcoming: list[dt.datetime] = []
        self.note = ""

    def look(self) -> None:
        if not (self.remind or self.follow):
            self._withdraw_all_pending()
            return
        reach = _FOLLOWUP_REACH if self.follow else dt.timedelta(0)
        ahead = dt.timedelta(minutes=max(self.community.reminder_minutes, 0)) + self.early
        # a meeting starting within the reminder time from now, or one whose reminder or
        # follow-up became due, or was missed, since the last look
        found = self.log.meetings_between(self.since - reach, self.now + ahead + _SECOND)
        recorded: dict[str, dict[DeliveryKey, str]] = {}
        for key, status in self.log.recorded([f.meeting.uid for f in found]).items():
            recorded.setdefault(key.meeting_uid, {})[key] = status
        for item in found:
            self._meeting(item, recorded.get(item.meeting.uid, {}))
        self._pending({f.meeting.uid for f in found})
        self._next_reminder()

    # --- one meeting ------------------------------------------------------------------------

    def _meeting(self, item: FoundMeeting, recorded: dict[DeliveryKey, str]) -> None:
        meeting = item.meeting
        attendance = self.store.attendance.of(meeting.uid)
        declined = {
            email
            for email, a in attendance.items()
            if a.partstat is PartStat.DECLINED and (a.sequence or 0) >= meeting.sequence
        }
        present = [e for e in meeting.members if e not in declined]
        current = {k: s for k, s in recorded.items() if k.sequence == meeting.sequence}
        for key, status in recorded.items():
            if status == DeliveryStatus.PENDING and not self._useful(key, meeting, declined):
                self.withdrawn.append(key)
            elif status == DeliveryStatus.PENDING:
                self.retry.append(key)
        if len(present) < 2:
            return  # nobody left to meet
        if self.remind:
            self._reminder(item, present, current)
        if self.follow:
            answered = {e for e, a in attendance.items() if a.met is not None}
            self._followup(item, present, current, answered)

    def _reminder(
        self, item: FoundMeeting, present: list[str], recorded: dict[DeliveryKey, str]
    ) -> None:
        meeting, community = item.meeting, self.community
        wanted = self._recipients(present, Kind.REMINDER, meeting)
        missing = [k for k in wanted if k not in recorded]
        if not missing:
            return
        if reminder_due(meeting, community, self.now, self.early):
            if self.discord:
                out = [reminder_post(meeting, community, item.week, now=self.now)]
            else:
                links = links_for(
                    community, self.store, [k.recipient for k in missing], now=self.now
                )
                out = [
                    reminder_email(
                        meeting,
                        community,
                        item.week,
                        k.recipient,
                        now=self.now,
                        links=links.get(k.recipient),
                    )
                    for k in missing
                ]
            self.new.setdefault(item.week, []).extend(out)
        elif self.since < meeting.start <= self.now:
            self._skip(item, Kind.REMINDER, Skip.STARTED, missing)

    def _followup(
        self,
        item: FoundMeeting,
        present: list[str],
        recorded: dict[DeliveryKey, str],
        answered: set[str],
    ) -> None:
        meeting, community = item.meeting, self.community
        wanted = [
            k
            for k in self._recipients(present, Kind.FOLLOWUP, meeting)
            if k not in recorded and (k.recipient not in answered or self.discord)
        ]
        if self.discord and set(present) <= answered:
            return  # everyone answered already (on a link from an earlier post)
        due, late = [], []
        for key in wanted:
            at = self._followup_at(meeting, key, present)
            if at <= self.now < at + dt.timedelta(days=FOLLOWUP_DAYS):
                due.append(key)
            elif self.since < at + dt.timedelta(days=FOLLOWUP_DAYS) <= self.now:
                late.append(key)
            elif self.now < at:
                self.upcoming.append(at)
        if late:
            self._skip(item, Kind.FOLLOWUP, Skip.LATE, late)
        if not due:
            return
        people = [e for e in present if self._member(e) is not None]
        answers = met_links(community, self.store, meeting, people, now=self.now)
        if not answers:
            self.note = (
                '"did you meet?" needs the signed links: set [web] base_url in members.toml '
                f"and {community.web.secret_key_env} in the environment"
            )
            return
        if self.discord:
            out = [followup_post(meeting, community, answers=answers, now=self.now)]
        else:
            links = links_for(community, self.store, [k.recipient for k in due], now=self.now)
            out = [
                followup_email(
                    meeting,
                    community,
                    k.recipient,
                    answers=answers[k.recipient],
                    now=self.now,
                    links=links.get(k.recipient),
                )
                for k in due
                if k.recipient in answers
            ]
        self.new.setdefault(item.week, []).extend(out)

    # --- rows recorded earlier --------------------------------------------------------------

    def _useful(self, key: DeliveryKey, meeting: Meeting, declined: set[str]) -> bool:
        """Whether a pending reminder or follow-up should still go out now."""
        if meeting.status not in (MeetingStatus.INVITED, MeetingStatus.MOVED):
            return False
        if key.sequence != meeting.sequence or key.recipient in declined:
            return False
        if len([e for e in meeting.members if e not in declined]) < 2:
            return False  # nobody left to meet
        if key.kind is Kind.REMINDER:
            return self.now < meeting.start
        at = self._followup_at(meeting, key, [e for e in meeting.members if e not in declined])
        return self.now < at + dt.timedelta(days=FOLLOWUP_DAYS)

    def _pending(self, seen: set[str]) -> None:
        """Pending rows of meetings the look above did not cover (cancelled ones, older ones):
        sent when still useful, else withdrawn."""
        since = IsoWeek.containing((self.now - _FOLLOWUP_REACH - dt.timedelta(days=7)).date())
        others = [uid for uid in self.log.pending(since) if uid not in seen]
        if not others:
            return
        recorded = self.log.recorded(others)
        for uid in others:
            found = [f for f in self.store.rounds.find(uid) if f.meeting.uid == uid]
            meeting = found[0].meeting if found else None
            declined = self._declined(uid, meeting)
            for key, status in recorded.items():  # a few rows: pending ones only
                if key.meeting_uid != uid or status != DeliveryStatus.PENDING:
                    continue
                if meeting is not None and self._useful(key, meeting, declined):
                    self.retry.append(key)
                else:
                    self.withdrawn.append(key)

    def _withdraw_all_pending(self) -> None:
        """Reminders and follow-ups switched off: none still pending goes out."""
        since = IsoWeek.containing((self.now - _FOLLOWUP_REACH - dt.timedelta(days=7)).date())
        uids = self.log.pending(since)
        recorded = self.log.recorded(uids)
        self.withdrawn += [k for k, s in recorded.items() if s == DeliveryStatus.PENDING]

    def _declined(self, uid: str, meeting: Meeting | None) -> set[str]:
        if meeting is None:
            return set()
        return {
            email
            for email, a in self.store.attendance.of(uid).items()
            if a.partstat is PartStat.DECLINED and (a.sequence or 0) >= meeting.sequence
        }

    def _next_reminder(self) -> None:
        """The next reminder to come, after those looked at (for ``next_due``)."""
        if not self.remind:
            return
        ahead = dt.timedelta(minutes=self.community.reminder_minutes)
        later = self.log.meetings_between(
            self.now + ahead + self.early + _SECOND, self.now + dt.timedelta(days=8)
        )
        if later:
            self.upcoming.append(later[0].meeting.start - ahead)

    # --- helpers ----------------------------------------------------------------------------

    def _recipients(self, present: list[str], kind: Kind, meeting: Meeting) -> list[DeliveryKey]:
        """The keys of ``kind`` this meeting's message goes out under: the one post, or an
        email to each attendee still in members.toml."""
        if self.discord:
            return [DeliveryKey(meeting.uid, WEBHOOK, Channel.DISCORD, kind, meeting.sequence)]
        return [
            DeliveryKey(meeting.uid, email, Channel.EMAIL, kind, meeting.sequence)
            for email in present
            if self._member(email) is not None
        ]

    def _followup_at(self, meeting: Meeting, key: DeliveryKey, present: list[str]) -> dt.datetime:
        emails = present if key.recipient == WEBHOOK else [key.recipient]
        return followup_at(meeting, [self._zone(e) for e in emails])

    def _member(self, email: str) -> Member | None:
        found = self.community.member(email)
        return found if found is not None and found.email == email else None

    def _zone(self, email: str) -> ZoneInfo:
        member = self._member(email)
        return member.timezone if member is not None else self.community.timezone

    def _skip(self, item: FoundMeeting, kind: Kind, reason: Skip, keys: list[DeliveryKey]) -> None:
        self.skipped.append(
            Skipped(
                item.meeting.uid,
                item.week,
                kind,
                item.meeting.start,
                reason,
                tuple(k.recipient for k in keys),
            )
        )


_SECOND = dt.timedelta(seconds=1)
