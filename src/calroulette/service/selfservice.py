"""What a member does for themselves with the signed links in our emails (``calroulette serve``):
their page (``member_page``), pause, skip next week, resume, settings, a new calendar address,
leave; a fresh link by email (``link_request``); one-click unsubscribe (``unsubscribe``).

**Links.** A manage link (:attr:`Purpose.MANAGE`) or an unsubscribe link
(:attr:`Purpose.UNSUBSCRIBE`) names the member by email and carries their link version
(``store.links``). A link is refused as :class:`LinkError`: ``invalid`` (forged, damaged, made
for another purpose), ``expired`` (too old, or older than the member's latest link: asking for a
new one revokes every older one) or ``gone`` (the member is no longer in members.toml).

**Edits.** Every change of members.toml is made under :meth:`Roster.locked` on the file as it
is then (never on the copy the page was drawn from), so an organizer's hand edit or a
``members add`` at the same moment is never lost; a settings form changes only the fields the
member changed on it. Pausing and leaving settle the meetings still to come as
``members pause`` / ``members remove --cancel-meetings`` do: a sent one is cancelled for every
attendee (the partner is told), an unsent one dropped.

**Skip next week** pauses the member until the Monday that starts the week after the next
round's week (``IsoWeek.next_after(now)`` in the community's zone, the week ``match`` plans
next): that round leaves them out, the one after takes them again. Only that week's meetings
are settled: one still to come this week is kept.

**Leaving** removes the member from members.toml (their past meetings stay in the history, which
needs them) and deletes the cached copies of their calendar: the feed cache's copy of its
address and the free-time cache's entries computed from it (both keyed by hashes, see
:mod:`calroulette.feeds.cache` and :mod:`calroulette.availability.reader`), unless another
member uses the same calendar. A new calendar address deletes those of the old one likewise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from os import PathLike
from typing import TYPE_CHECKING

from calroulette.config import Community, Member
from calroulette.config.model import EMAIL_RE, DeliveryMethod, MemberStatus, Unsubscribe
from calroulette.config.roster import Roster
from calroulette.errors import UsageError
from calroulette.feeds.hints import address_hint
from calroulette.matching import MeetingStatus, RoundStatus
from calroulette.redact import SECRETS, redact_url
from calroulette.store import FoundMeeting, open_store
from calroulette.timeutil import IsoWeek
from calroulette.tokens import Purpose

from .calendars import WEB_FETCH_RETRIES, WEB_FETCH_TIMEOUT, Preview, preview
from .community import load, register_secrets
from .memberfields import (
    Settings,
    checked,
    current_settings,
    differs,
    forget_calendar,
    shown_calendar,
)
from .memberlinks import (
    LinkError,
    LinkProblem,
    by_email,
    claim,
    identify,
    member_still,
    signed_links,
    signing_key,
)
from .members import (
    Upcoming,
    members_pause,
    members_remove,
    members_resume,
    settle_meetings,
)
from .resting import status_of

if TYPE_CHECKING:
    from calroulette.delivery import Sending

Config = str | PathLike[str]
PAST_SHOWN = 20  # past meetings on the page, latest first
MAX_ADDRESS = 2000  # characters of a calendar address typed into the page
MAX_PAUSE = dt.timedelta(days=5 * 366)


class Action(StrEnum):
    """What a member's request did (the page words it)."""

    PAUSED = "paused"
    SKIPPED = "skipped"
    RESUMED = "resumed"
    SETTINGS = "settings"
    CALENDAR = "calendar"
    LEFT = "left"


@dataclass(frozen=True, slots=True)
class MeetingView:
    """One of the member's meetings, as their page shows it."""

    week: IsoWeek
    start_local: dt.datetime  # in the member's zone
    end_local: dt.datetime
    partners: tuple[str, ...]  # first names ("a former member" for one who left)
    status: MeetingStatus
    sent: bool  # the invitation went out (its round was sent)


@dataclass(frozen=True, slots=True)
class MemberPage:
    member: Member
    community: Community
    status: MemberStatus
    today: dt.date  # in the member's zone
    calendar: str  # the address redacted (a file: its name only)
    upcoming: tuple[MeetingView, ...]  # soonest first
    past: tuple[MeetingView, ...]  # latest first, at most PAST_SHOWN
    skip_week: IsoWeek  # the round "skip next week" leaves them out of
    skip_until: dt.date  # the pause it sets: paused_until
    pause_from: dt.date  # the first day a pause may end on (tomorrow, in the community's zone)


@dataclass(frozen=True, slots=True)
class Change:
    """What a member's request did; ``changed`` False: it was so already."""

    member: Member  # as members.toml had them before
    action: Action
    changed: bool
    until: dt.date | None = None  # a pause's end (None: until resumed)
    fields: tuple[str, ...] = ()  # settings changed
    meetings: tuple[Upcoming, ...] = ()  # meetings settled (cancelled or dropped)


@dataclass(frozen=True, slots=True)
class CalendarChange:
    member: Member
    preview: Preview  # what calroulette reads from the new address next week
    shown: str  # the new address, redacted
    saved: bool  # False: only previewed, or refused because it cannot be read
    hint: str | None = None  # a known mistake seen in the address itself (Google's public one)


@dataclass(frozen=True, slots=True)
class LinkRequest:
    sent: bool  # the email went out (False: not a member's address, or it waits for `send`)


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    """What a one-click unsubscribe did, or (``apply=False``) would do."""

    email: str
    action: Unsubscribe  # the member's choice: pause, or leave
    member: Member | None  # None: not a member (any more)
    done: bool  # this request paused or removed them
    already: bool  # nothing to do: paused already, or not a member


# --- the page -----------------------------------------------------------------------------


def member_page(
    config: Config, token: str, *, now: dt.datetime, key: str | None = None
) -> MemberPage:
    """The member's page: settings, status, meetings to come and past ones."""
    community, member = identify(config, token, Purpose.MANAGE, now=now, key=key)
    found: list[FoundMeeting] = []
    if community.database.exists():  # no history yet: no meetings (and nothing is created)
        with open_store(community.database, readonly=True) as store:
            found = store.rounds.find(member.email)
    ahead = sorted(
        (f for f in found if f.meeting.status.active and f.meeting.start > now),
        key=lambda f: (f.meeting.start, f.meeting.uid),
    )
    past = [
        f
        for f in found
        if f.meeting.status is not MeetingStatus.CANCELLED and f.meeting.start <= now
    ]
    past.sort(key=lambda f: f.meeting.start, reverse=True)
    week, until = _skip(community, now)
    return MemberPage(
        member=member,
        community=community,
        status=status_of(community, member, now),
        today=now.astimezone(member.timezone).date(),
        calendar=shown_calendar(member.calendar),
        upcoming=tuple(_view(community, member, f) for f in ahead),
        past=tuple(_view(community, member, f) for f in past[:PAST_SHOWN]),
        skip_week=week,
        skip_until=until,
        pause_from=now.astimezone(community.timezone).date() + dt.timedelta(days=1),
    )


def _view(community: Community, member: Member, found: FoundMeeting) -> MeetingView:
    meeting = found.meeting
    partners = []
    for email in meeting.members:
        if email == member.email:
            continue
        other = community.member(email) if "@" in email else None
        name = other.name.split()[0] if other is not None and other.name.split() else ""
        partners.append(name or "a former member")
    return MeetingView(
        week=found.week,
        start_local=meeting.start.astimezone(member.timezone),
        end_local=meeting.end.astimezone(member.timezone),
        partners=tuple(partners),
        status=meeting.status,
        sent=found.round_status is RoundStatus.SENT,
    )


# --- pause, skip, resume ------------------------------------------------------------------


def member_pause(
    config: Config,
    token: str,
    until: dt.date | str | None,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    key: str | None = None,
) -> Change:
    """Pause until ``until`` (a day after today in the community's zone; a date or YYYY-MM-DD)
    or, with None, until resumed; meetings still to come in the pause are cancelled (the
    partner is told)."""
    community, member = identify(config, token, Purpose.MANAGE, now=now, key=key)
    if isinstance(until, str):
        try:
            until = dt.date.fromisoformat(until.strip()) if until.strip() else None
        except ValueError:
            raise UsageError("Pause: give the date as YYYY-MM-DD, or none.") from None
    today = now.astimezone(community.timezone).date()
    if until is not None and until <= today:
        raise UsageError("Pick a day after today, or pause until you resume.")
    if until is not None and until > today + MAX_PAUSE:
        raise UsageError("Pick a day within the next five years, or pause until you resume.")
    with member_still(config, member.email):
        departure = members_pause(
            config, member.email, until, now=now, cancel_meetings=True, how=how
        )
    return Change(member, Action.PAUSED, True, until=until, meetings=departure.meetings)


def member_skip(
    config: Config,
    token: str,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    key: str | None = None,
) -> Change:
    """Leave the member out of the next round only (see the module's docstring); nothing
    changes when they are paused through it already."""
    _, member = identify(config, token, Purpose.MANAGE, now=now, key=key)
    with Roster.locked(config) as roster:
        community = roster.community()
        current = community.member(member.email)
        if current is None or current.email != member.email:
            raise LinkError(LinkProblem.GONE)
        week, until = _skip(community, now)
        if current.paused or (current.paused_until is not None and current.paused_until >= until):
            return Change(current, Action.SKIPPED, False, until=current.paused_until)
        register_secrets(community)
        roster.pause(current.email, until)
        start, end = week.bounds(community.timezone)
        settled = settle_meetings(  # that week's only, as members pause --cancel-meetings
            community, current, now=now, since=start, before=end, cancel_meetings=True, how=how
        )
        roster.save()
    return Change(current, Action.SKIPPED, True, until=until, meetings=settled)


def _skip(community: Community, now: dt.datetime) -> tuple[IsoWeek, dt.date]:
    """The next round's week, and the ``paused_until`` that leaves the member out of it."""
    week = IsoWeek.next_after(now, community.timezone)
    return week, week.monday() + dt.timedelta(days=7)


def member_resume(
    config: Config,
    token: str,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    key: str | None = None,
) -> Change:
    """Take part again from the next round; ``changed`` False when not paused."""
    del how  # nothing is sent: the signature is the other operations'
    _, member = identify(config, token, Purpose.MANAGE, now=now, key=key)
    with member_still(config, member.email):
        resumed = members_resume(config, member.email)
    return Change(member, Action.RESUMED, resumed)


# --- settings and calendar ----------------------------------------------------------------


def member_settings(
    config: Config,
    token: str,
    changes: Settings | Mapping[str, object],
    *,
    now: dt.datetime,
    was: Settings | Mapping[str, object] | None = None,
    how: Sending | None = None,
    key: str | None = None,
) -> Change:
    """Change the member's name, zone, frequency, topics or unsubscribe choice (``changes``: a
    :class:`Settings`, or a mapping of those names; a field left out is not changed). A field
    equal to its value in ``was`` (what the form showed) is left as members.toml has it now:
    another edit made meanwhile (the organizer's) is kept."""
    del how  # nothing is sent: the signature is the other operations'
    _, member = identify(config, token, Purpose.MANAGE, now=now, key=key)
    wanted = checked(changes)
    if was is not None:
        shown = checked(was, strict=False)
        wanted = {k: v for k, v in wanted.items() if k not in shown or shown[k] != v}
    with Roster.locked(config) as roster:
        before = by_email(roster.community(), member.email)
        if before is None:
            raise LinkError(LinkProblem.GONE)
        now_set = current_settings(before)
        fields = {k: v for k, v in wanted.items() if differs(k, v, now_set[k])}
        if not fields:
            return Change(before, Action.SETTINGS, False)
        roster.update(before.email, **fields)
        roster.save()
    return Change(before, Action.SETTINGS, True, fields=tuple(sorted(fields)))


def member_calendar(
    config: Config,
    token: str,
    calendar: str,
    *,
    save: bool,
    now: dt.datetime,
    how: Sending | None = None,
    key: str | None = None,
) -> CalendarChange:
    """What calroulette reads from a new calendar address next week (as sign-up's preview,
    through the same address guard); with ``save``, the address replaces the member's when it
    reads (it must parse and hold availability events). The address is never returned."""
    del how  # nothing is sent: the signature is the other operations'
    community, member = identify(config, token, Purpose.MANAGE, now=now, key=key)
    source = calendar.strip()
    if len(source) > MAX_ADDRESS or not source.lower().startswith(
        ("https://", "http://", "webcal://", "webcals://")
    ):
        raise UsageError(
            "Calendar: paste your calendar's secret address: it starts with https:// or "
            "webcal:// (see the guide for your calendar app)."
        )
    SECRETS.add(source)
    seen = preview(
        source,
        member.timezone,
        keyword=community.keyword_for(member),
        now=now,
        allow_private_feeds=community.allow_private_feeds,
        fetch_timeout=min(community.fetch_timeout, WEB_FETCH_TIMEOUT),
        fetch_retries=min(community.fetch_retries, WEB_FETCH_RETRIES),
    )
    hint = address_hint(source)
    if hint is not None and hint in (seen.check.error or ""):
        hint = None  # said already
    if not save or seen.check.blocking is not None:
        return CalendarChange(member, seen, redact_url(source), saved=False, hint=hint)
    with Roster.locked(config) as roster:
        current = roster.community().member(member.email)
        if current is None or current.email != member.email:
            raise LinkError(LinkProblem.GONE)
        roster.update(current.email, calendar=source)
        after = roster.save()
    if current.calendar != source:
        forget_calendar(after, current)
    return CalendarChange(member, seen, redact_url(source), saved=True, hint=hint)


# --- leaving ------------------------------------------------------------------------------


def member_leave(
    config: Config,
    token: str,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    key: str | None = None,
) -> Change:
    """Remove the member (as ``members remove --cancel-meetings``) and delete the cached
    copies of their calendar."""
    _, member = identify(config, token, Purpose.MANAGE, now=now, key=key)
    return _leave(config, member.email, now=now, how=how)


def _leave(config: Config, email: str, *, now: dt.datetime, how: Sending | None) -> Change:
    with member_still(config, email):
        departure = members_remove(config, email, now=now, cancel_meetings=True, how=how)
    others = tuple(m for m in departure.community.members if m.email != email)
    forget_calendar(replace(departure.community, members=others), departure.member)
    return Change(departure.member, Action.LEFT, True, meetings=departure.meetings)


# --- links --------------------------------------------------------------------------------


def link_request(
    config: Config,
    email: str,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    key: str | None = None,
    base_url: str | None = None,
) -> LinkRequest:
    """Email a fresh manage link to ``email`` when it is a member's, revoking every older link
    of theirs (the link version goes up). Whether it is a member is never shown: an address that
    is not takes the same steps (the database is read, an email is written) but nothing is sent
    or changed. ``base_url``: where links point when members.toml has no ``[web] base_url``."""
    from calroulette.invites.account import account_key, link_email

    from .notices import send_notice

    address = email.strip().lower()
    if len(address) > 254 or not EMAIL_RE.match(address):
        raise UsageError("Email: that does not look like an email address.")
    community = load(config, members=False)
    if community.delivery.method is DeliveryMethod.DISCORD:
        raise UsageError("serve: links are sent by email, and [delivery] method is discord")
    base = community.web.base_url or base_url
    if base is None:
        raise UsageError("serve: [web] base_url is not set in members.toml")
    secret = signing_key(community, key)
    member = by_email(community, address)
    with open_store(community.database) as store, store.transaction():
        # a stranger's address: read, not changed, so both take the same steps
        version = store.links.bump(address, now) if member else store.links.version(address) + 1
    outgoing = link_email(
        community,
        name=member.name if member else address,
        email=address,
        manage_link=signed_links(secret, base, address, version, now).manage,
        key=account_key("link", str(version), address),
        now=now,
    )
    if member is None:
        return LinkRequest(sent=False)
    return LinkRequest(sent=send_notice(community, outgoing, now=now, how=how))


# --- one-click unsubscribe ----------------------------------------------------------------


def unsubscribe(
    config: Config,
    token: str,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    key: str | None = None,
    apply: bool = True,
) -> Unsubscribed:
    """Pause (until resumed) or remove the member, as their ``unsubscribe`` setting says
    (RFC 8058 one-click: the token is the authority). Idempotent: a member paused already, or
    gone already, is left as they are (``already``). ``apply`` False: only say what it would do."""
    _, email, member = claim(config, token, Purpose.UNSUBSCRIBE, now=now, key=key)
    if member is None:
        return Unsubscribed(email, Unsubscribe.LEAVE, None, done=False, already=True)
    action = member.unsubscribe
    already = action is Unsubscribe.PAUSE and member.paused
    if not apply or already:
        return Unsubscribed(email, action, member, done=False, already=already)
    try:
        if action is Unsubscribe.LEAVE:
            _leave(config, email, now=now, how=how)
        else:
            with member_still(config, email):
                members_pause(config, email, None, now=now, cancel_meetings=True, how=how)
    except LinkError:  # removed meanwhile (a second click at the same moment): done already
        return Unsubscribed(email, action, None, done=False, already=True)
    return Unsubscribed(email, action, member, done=True, already=False)
