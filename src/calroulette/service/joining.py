"""Joining from the web page: ``signup_preview``, ``signup`` and ``signup_confirm`` (the
organizer's queue of sign-ups to approve is :mod:`.approval`).

A sign-up is double opt-in: :func:`signup` records it (unconfirmed) and emails a signed link to
the address given; only :func:`signup_confirm` (a POST from the page that link opens) adds the
person to members.toml (``[web] signup = "open"``) or queues them for the organizer
(``"approve"``, and ``"closed"`` for a sign-up made before it closed). The page says the same
whatever the address is: a member gets an email with the link to their page instead, a pending
sign-up a note that it still waits, so nobody learns from the page who is a member.

The calendar is read (with the address guard: :func:`.calendars.preview`) at preview, at sign-up
and again before the member is added: a calendar that cannot be read, or has no free events, is
never added silently; the person (or the organizer) is told what to fix. The address is a
password: registered as a secret at once, kept in the history database only while the sign-up
is undecided, never returned.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from dataclasses import dataclass
from enum import StrEnum
from os import PathLike
from zoneinfo import ZoneInfo

from calroulette import feeds
from calroulette.availability import FreeTime
from calroulette.config import (
    Community,
    DeliveryMethod,
    Frequency,
    Member,
    SignupMode,
)
from calroulette.config.roster import NewMember, Roster
from calroulette.delivery import Sending
from calroulette.errors import FeedError, UsageError
from calroulette.invites import account
from calroulette.invites.keys import Outgoing
from calroulette.redact import SECRETS, redact_url
from calroulette.store import Signup, SignupState, Store, open_store
from calroulette.timeutil import IsoWeek
from calroulette.tokens import Purpose, TokenError, sign, verify

from .calendars import WEB_FETCH_RETRIES, WEB_FETCH_TIMEOUT, preview
from .community import load
from .notices import deliver_notices, record_notice, require_email
from .signupform import (
    ConfirmRefused,
    SignupForm,
    SignupInvalid,
    SignupUnavailable,
    new_member,
    typed_calendar,
    typed_zone,
)
from .web import member_links, secret_key


@dataclass(frozen=True, slots=True)
class SignupPreview:
    week: IsoWeek
    zone: ZoneInfo
    keyword: str
    result: FreeTime | None  # None: the calendar could not be read (see problems)
    problems: tuple[str, ...]  # what stops joining: the calendar's error or no free events
    warnings: tuple[str, ...]  # worth fixing, not blocking


@dataclass(frozen=True, slots=True)
class SignupResult:
    email: str
    approve: bool  # the organizer approves once the address is confirmed


class Confirmed(StrEnum):
    ASK = "ask"  # a valid link, nothing done yet (GET): the page shows a button
    JOINED = "joined"  # added to members.toml now
    ALREADY = "already"  # already a member (this sign-up, or the address otherwise)
    PENDING = "pending"  # confirmed; waits for `calroulette members approve`
    REJECTED = "rejected"  # the organizer said no
    CALENDAR = "calendar"  # not added: the calendar cannot be used now (problems say why)


@dataclass(frozen=True, slots=True)
class ConfirmResult:
    state: Confirmed
    name: str
    email: str
    problems: tuple[str, ...] = ()


# --- preview ------------------------------------------------------------------------------------


def signup_preview(community: Community, form: SignupForm, *, now: dt.datetime) -> SignupPreview:
    """Read the calendar of ``form`` (only its calendar and time zone are needed) for its
    owner's next week, as the rounds would; what stops it from being used, and why."""
    problems: dict[str, str] = {}
    zone = typed_zone(form.timezone, problems)
    calendar = typed_calendar(form.calendar, problems)
    if problems or zone is None:
        raise SignupInvalid(problems)
    return read_calendar(community, calendar, zone, now)


def read_calendar(
    community: Community, calendar: str, zone: ZoneInfo, now: dt.datetime, *, person: bool = True
) -> SignupPreview:
    """``calendar``'s next week in ``zone`` (through the address guard, unless the community
    allows private feeds), with what stops it from being used; ``person``: worded for the
    person, who is not shown even the redacted address (its host may be theirs alone)."""
    try:
        seen = preview(
            calendar,
            zone,
            keyword=community.keyword,
            now=now,
            allow_private_feeds=community.allow_private_feeds,
            fetch_timeout=min(community.fetch_timeout, WEB_FETCH_TIMEOUT),
            fetch_retries=min(community.fetch_retries, WEB_FETCH_RETRIES),
        )
    except UsageError as error:  # a scheme that cannot be read: named by its scheme only
        problem = SECRETS.mask(str(error).removeprefix("calendar: "))
        raise SignupInvalid({"calendar": problem}) from None
    result, keyword = seen.result, community.keyword
    if isinstance(result, FeedError):
        problem = _feed_problem(result)
        if person:
            problem = problem.replace(redact_url(calendar), "your calendar's address")
        return SignupPreview(seen.week, zone, keyword, None, (problem,), ())
    problems: tuple[str, ...] = ()
    if result.availability_events == 0:
        busy = (
            " If every event shows as “Busy” with no title, the calendar is shared as "
            "busy-only: share it with full details (Outlook: “Can view all details”; Proton: "
            "“Full view”)."
            if result.busy_events
            else ""
        )
        problems = (
            f"No event titled “{keyword}” in {seen.week}: add a repeating event with “{keyword}” "
            f"in its title at the times you could meet, then preview again.{busy}",
        )
    # the check's lines name the person by a stand-in: "preview: calendar: …"
    warnings = [w.removeprefix("preview: ").removeprefix("calendar: ") for w in seen.check.warnings]
    return SignupPreview(seen.week, zone, keyword, result, problems, tuple(warnings))


def _feed_problem(error: FeedError) -> str:
    if isinstance(error, feeds.FetchError) and error.what.endswith(": not fetched"):
        return (
            f"{error.what}: calroulette reads calendars from public internet addresses only "
            "(use your calendar app's secret iCal address)"
        )
    return SECRETS.mask(error.message)


# --- sign-up ------------------------------------------------------------------------------------


def signup(
    config: str | PathLike[str],
    form: SignupForm,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    base_url: str | None = None,
    key: str | None = None,
) -> SignupResult:
    """Record a sign-up and email the link that confirms it; or, when the address is already
    a member's (or waits for approval), email them that instead: the result is the same."""
    community = load(config, members=False)
    mode = _open(community)
    new = new_member(form)
    checked = read_calendar(community, new.calendar, ZoneInfo(new.timezone), now)
    if checked.problems:
        raise SignupInvalid({"calendar": " ".join(checked.problems)})
    key = key or _key(community)
    base = community.web.base_url or base_url
    if base is None:
        raise SignupUnavailable("sign-up needs [web] base_url (the links in emails point there)")
    with open_store(community.database) as store:
        with store.transaction():
            store.signups.expire(now - Purpose.CONFIRM.max_age, now)
            outgoing = _answer(store, community, new, mode, now=now, base=base, key=key)
            record_notice(store, community, outgoing, now=now)
        deliver_notices(store, community, [outgoing.key], now=now, how=how)
    return SignupResult(new.email, approve=mode is not SignupMode.OPEN)


def _open(community: Community) -> SignupMode:
    if community.web.signup is SignupMode.CLOSED:
        raise SignupUnavailable(f"Sign-up to {community.name} is closed.")
    try:
        require_email(community)
    except UsageError:
        raise SignupUnavailable(
            f"{community.name} sends its invitations on Discord, so this page cannot confirm "
            f"an email address: write to {community.organizer_email} to join."
        ) from None
    return community.web.signup


def _answer(
    store: Store,
    community: Community,
    new: NewMember,
    mode: SignupMode,
    *,
    now: dt.datetime,
    base: str,
    key: str,
) -> Outgoing:
    """The email that answers a sign-up from ``new.email``, its sign-up recorded if new."""
    member = member_of(community, new.email)
    nonce = secrets.token_urlsafe(9)
    if member is not None:  # their page's link, as it is: a stranger must not revoke it
        links = member_links(community, store, [member.email], now=now)
        manage = links[member.email].manage if member.email in links else None
        return account.link_email(
            community,
            name=member.name,
            email=member.email,
            manage_link=manage,
            key=account.account_key("member", nonce, member.email),
            now=now,
            already_member=True,
            revokes=False,
        )
    earlier = store.signups.list(email=new.email)
    if any(s.state is SignupState.PENDING for s in earlier):
        return account.waiting_email(
            community,
            name=new.name,
            email=new.email,
            key=account.account_key("waiting", nonce, new.email),
            now=now,
        )
    for old in earlier:  # a second sign-up replaces an unconfirmed first one
        if old.state is SignupState.UNCONFIRMED:
            store.signups.set_state(old.id, SignupState.EXPIRED, now)
    signup_id = "s" + secrets.token_urlsafe(15)  # never "-…": the CLI would read an option
    store.signups.add(
        Signup(
            id=signup_id,
            email=new.email,
            name=new.name,
            calendar=new.calendar,
            timezone=new.timezone,
            topics=new.topics,
            team=new.extra.get("team"),
            frequency=new.extra.get("frequency", Frequency.WEEKLY.value),
            state=SignupState.UNCONFIRMED,
            created_at=now,
        )
    )
    token = sign(key, Purpose.CONFIRM, signup_id, now=now)
    return account.confirm_email(
        community,
        name=new.name,
        email=new.email,
        link=f"{base.rstrip('/')}/join/confirm/{token}",
        key=account.account_key("confirm", signup_id, new.email),
        now=now,
        approve=mode is not SignupMode.OPEN,
    )


def member_of(community: Community, email: str) -> Member | None:
    wanted = email.strip().lower()
    return next((m for m in community.members if m.email == wanted), None)


def _key(community: Community) -> str:
    key = secret_key(community)
    if key is None:
        raise SignupUnavailable(
            f"sign-up needs {community.web.secret_key_env} (the key that signs the links)"
        )
    return key


# --- confirm ------------------------------------------------------------------------------------


def signup_confirm(
    config: str | PathLike[str],
    token: str,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    apply: bool = True,
    key: str | None = None,
) -> ConfirmResult:
    """Follow a confirmation link: with ``apply`` (the page's button, a POST), confirm the
    sign-up: add the member (``signup = "open"``) or queue them for approval; without it (the
    link opened: a mail scanner may do that), only say where the sign-up stands. Confirming
    again is harmless. :class:`ConfirmRefused` for a forged, damaged or expired link."""
    community = load(config, members=False)
    try:
        claim = verify(key or _key(community), Purpose.CONFIRM, token, now=now)
    except TokenError as error:
        raise ConfirmRefused(error.code) from None
    if not community.database.exists():
        raise ConfirmRefused("invalid")
    with open_store(community.database) as store:
        if apply:
            with store.transaction():
                store.signups.expire(now - Purpose.CONFIRM.max_age, now)
        found = store.signups.get(claim.subject)
    if found is None:
        raise ConfirmRefused("invalid")
    if found.state is SignupState.EXPIRED:
        raise ConfirmRefused("expired")
    decided = {
        SignupState.JOINED: Confirmed.ALREADY,
        SignupState.PENDING: Confirmed.PENDING,
        SignupState.REJECTED: Confirmed.REJECTED,
    }
    if found.state in decided:
        return ConfirmResult(decided[found.state], found.name, found.email)
    if not apply:
        return ConfirmResult(Confirmed.ASK, found.name, found.email)
    if community.web.signup is not SignupMode.OPEN:  # "closed" since: the organizer decides
        with open_store(community.database) as store, store.transaction():
            store.signups.set_state(found.id, SignupState.PENDING, now)
        return ConfirmResult(Confirmed.PENDING, found.name, found.email)
    if member_of(community, found.email) is None:
        checked = read_calendar(community, found.calendar, ZoneInfo(found.timezone), now)
        if checked.problems:  # nothing changes: fixed, the same button adds them
            return ConfirmResult(Confirmed.CALENDAR, found.name, found.email, checked.problems)
    added, _ = add_signup(config, found, now=now, how=how)
    return ConfirmResult(Confirmed.JOINED if added else Confirmed.ALREADY, found.name, found.email)


def add_signup(
    config: str | PathLike[str], signup: Signup, *, now: dt.datetime, how: Sending | None
) -> tuple[bool, bool]:
    """Add ``signup`` to members.toml (under the roster's lock, as `members add` does), mark it
    joined and welcome them: (added, welcome sent). Not added when the address is already a
    member's (then no welcome either)."""
    extra = {"team": signup.team} if signup.team else {}
    if signup.frequency != Frequency.WEEKLY.value:
        extra["frequency"] = signup.frequency
    new = NewMember(
        signup.name, signup.email, signup.calendar, signup.timezone, signup.topics, extra
    )
    welcome = None
    with Roster.locked(config) as roster:
        community = roster.community()
        added = member_of(community, signup.email) is None
        if added:
            roster.add(new)
            roster.save()
        with open_store(community.database) as store, store.transaction():
            store.signups.set_state(signup.id, SignupState.JOINED, now)
            if added and community.delivery.method is not DeliveryMethod.DISCORD:
                links = member_links(community, store, [signup.email], now=now)
                welcome = account.welcome_email(
                    community,
                    name=signup.name,
                    email=signup.email,
                    manage_link=links[signup.email].manage if signup.email in links else None,
                    key=account.account_key("welcome", signup.id, signup.email),
                    now=now,
                )
                record_notice(store, community, welcome, now=now)
    if welcome is None:
        return added, False
    with open_store(community.database) as store:
        sent = deliver_notices(store, community, [welcome.key], now=now, how=how)
    return added, welcome.key in sent


def redacted(signup: Signup) -> Signup:
    """``signup`` with its calendar shown as redacted: what leaves this layer."""
    return dataclasses.replace(signup, calendar=redact_url(signup.calendar))
