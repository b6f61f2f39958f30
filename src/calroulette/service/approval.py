"""``calroulette members pending``, ``approve`` and ``reject``: the organizer's queue of
confirmed sign-ups when ``[web] signup = "approve"`` (see :mod:`.joining` for how they got there).

Approving adds the person to members.toml as `members add` would (their calendar read first:
one that cannot be read, or has no free events, is refused unless ``force``) and emails them a
welcome with the link to their page. Rejecting forgets their calendar address at once. No
calendar address leaves this module: every :class:`~calroulette.store.Signup` returned has it
redacted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from os import PathLike
from zoneinfo import ZoneInfo

from calroulette.config import Community, DeliveryMethod
from calroulette.delivery import Sending
from calroulette.errors import UsageError
from calroulette.invites import account
from calroulette.store import Signup, SignupState, open_store

from .community import load
from .joining import add_signup, member_of, read_calendar, redacted
from .notices import deliver_notices, record_notice


def members_pending(config: str | PathLike[str]) -> list[Signup]:
    """The confirmed sign-ups waiting for approval, oldest first; each calendar redacted."""
    community = load(config, members=False)
    if not community.database.exists():
        return []
    with open_store(community.database, readonly=True) as store:
        waiting = store.signups.list(state=SignupState.PENDING)
    return [redacted(s) for s in waiting]


@dataclass(frozen=True, slots=True)
class Approval:
    signup: Signup  # calendar redacted
    added: bool  # False: the address was a member already (marked joined, nothing else)
    welcomed: bool  # the welcome email went out (False: pending for the next `send`)
    problems: tuple[str, ...] = ()  # the calendar's, approved anyway (--force)
    warnings: tuple[str, ...] = ()


def members_approve(
    config: str | PathLike[str],
    id_or_email: str,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    force: bool = False,
) -> Approval:
    """Add a pending sign-up to members.toml and welcome them. Refuses (unless ``force``) when
    their calendar cannot be read now or shows no free events, as `members add` does."""
    community = load(config, members=False)
    found = _pick(community, id_or_email, {SignupState.PENDING})
    zone = ZoneInfo(found.timezone)
    checked = read_calendar(community, found.calendar, zone, now, person=False)
    if checked.problems and not force and member_of(community, found.email) is None:
        raise UsageError(
            f"{found.email}: calendar: {' '.join(checked.problems)} (not approved: ask them to "
            "fix it, or approve anyway with --force)"
        )
    added, welcomed = add_signup(config, found, now=now, how=how)
    return Approval(redacted(found), added, welcomed, checked.problems, checked.warnings)


@dataclass(frozen=True, slots=True)
class Rejection:
    signup: Signup  # calendar redacted
    told: bool  # a short note was recorded for them
    sent: bool  # and went out (False: pending for the next `send`)


def members_reject(
    config: str | PathLike[str],
    id_or_email: str,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    notify: bool = True,
) -> Rejection:
    """Turn a sign-up down: its calendar is forgotten at once. A confirmed (pending) one gets a
    short note unless ``notify`` is False; an unconfirmed one never does (nobody has shown the
    address is theirs)."""
    community = load(config, members=False)
    found = _pick(community, id_or_email, {SignupState.PENDING, SignupState.UNCONFIRMED})
    note = None
    if notify and found.state is SignupState.PENDING:
        note = account.rejected_email(
            community,
            name=found.name,
            email=found.email,
            key=account.account_key("rejected", found.id, found.email),
            now=now,
        )
        if community.delivery.method is DeliveryMethod.DISCORD:
            note = None
    with open_store(community.database) as store:
        with store.transaction():
            store.signups.set_state(found.id, SignupState.REJECTED, now)
            if note is not None:
                record_notice(store, community, note, now=now)
        sent = note is not None and note.key in deliver_notices(
            store, community, [note.key], now=now, how=how
        )
    return Rejection(redacted(found), note is not None, sent)


def _pick(community: Community, id_or_email: str, states: set[SignupState]) -> Signup:
    """The latest sign-up named by ``id_or_email`` in one of ``states``; else UsageError."""
    found: list[Signup] = []
    if community.database.exists():
        with open_store(community.database, readonly=True) as store:
            found = store.signups.find(id_or_email)
    chosen = [s for s in found if s.state in states]
    if chosen:
        return chosen[-1]
    shown = id_or_email.strip()
    if found:
        return_state = found[-1].state.value
        raise UsageError(
            f"{shown}: the sign-up is {return_state}, not pending "
            "(see `calroulette members pending`)"
        )
    raise UsageError(f"{shown}: no such sign-up (see `calroulette members pending`)")
