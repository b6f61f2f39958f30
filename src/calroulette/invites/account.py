"""One-off emails about a person's place in the community, outside any round: confirm a sign-up
(double opt-in), welcome a new member, the link to their page, and the notes that answer a
sign-up (already a member, still waiting, not accepted). Pure: no network, no clock, no files.

Each is plain text with an HTML alternative (every value escaped; only our own links are links),
from the organizer, with a Message-ID derived from its delivery key (:func:`account_key`): the
ledger records it as a :attr:`Kind.ACCOUNT` delivery, and a retry sends the same bytes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from email.utils import format_datetime

from calroulette.config import Community
from calroulette.timeutil import ensure_utc

from . import mime
from .email import _bodies
from .keys import Channel, DeliveryKey, Kind, Outgoing
from .people import email_address, first_name, organizer
from .template import Block, Button, Heading, Para

CONFIRM_DAYS = 2  # what the email promises; calroulette.tokens.Purpose.CONFIRM enforces it


def account_key(purpose: str, ident: str, email: str) -> DeliveryKey:
    """The key of one account email: ``account-<purpose>-<ident>`` to ``email``.

    >>> str(account_key("confirm", "abc123", "Ada@X.org"))
    'account-confirm-abc123|ada@x.org|email|account|0'
    """
    return DeliveryKey(
        f"account-{purpose}-{ident}", email.strip().lower(), Channel.EMAIL, Kind.ACCOUNT, 0
    )


def confirm_email(
    community: Community,
    *,
    name: str,
    email: str,
    link: str,
    key: DeliveryKey,
    now: dt.datetime,
    approve: bool = False,
) -> Outgoing:
    """The double opt-in: the link that confirms the sign-up (a page with a button)."""
    after = (
        "Once you confirm, the organizer looks at your sign-up, and you hear from us when you "
        "are in."
        if approve
        else "Once you confirm, you are in: you take part from the next round."
    )
    blocks: list[str | Sequence[str] | Block] = [
        Heading("Confirm your sign-up"),
        f"Hi {first_name(name)},",
        f"Someone, we hope you, asked to join {community.name} with this email address. "
        f"{community.name} pairs members who are free at the same time for a "
        f"{community.meeting_minutes}-minute chat every week.",
        Button(
            "Confirm my address",
            link,
            text="To confirm that this address is yours, open this link and press Confirm:\n",
            lead="To confirm that this address is yours, open this link and press Confirm:",
            show_url=True,
        ),
        f"The link works for {CONFIRM_DAYS} days. {after}",
        Para(
            "If you did not sign up, ignore this email: nothing happens without the confirmation.",
            muted=True,
        ),
        _questions(community),
    ]
    return _outgoing(
        community,
        name,
        email,
        f"Confirm your sign-up to {community.name}",
        blocks,
        key=key,
        now=now,
        links=(link,),
    )


def welcome_email(
    community: Community,
    *,
    name: str,
    email: str,
    manage_link: str | None,
    key: DeliveryKey,
    now: dt.datetime,
) -> Outgoing:
    """You are in: how the rounds work, and the link to the member's page."""
    keyword = community.keyword
    blocks: list[str | Sequence[str] | Block] = [
        Heading(f"Welcome to {community.name}"),
        f"Hi {first_name(name)},",
        f"Welcome to {community.name}! Every week calroulette reads your calendar and pairs you "
        "with another member who is free at the same time; you both get an invitation by email. "
        "You take part from the next round.",
        f"Keep events titled “{keyword}” in your calendar at the times you could meet, best "
        "repeating every week: calroulette only pairs you at those times.",
        *_page(community, manage_link),
        _questions(community),
    ]
    links = (manage_link,) if manage_link else ()
    return _outgoing(
        community,
        name,
        email,
        f"Welcome to {community.name}",
        blocks,
        key=key,
        now=now,
        links=links,
    )


def link_email(
    community: Community,
    *,
    name: str,
    email: str,
    manage_link: str | None,
    key: DeliveryKey,
    now: dt.datetime,
    already_member: bool = False,
    revokes: bool = True,
) -> Outgoing:
    """The link to the member's page, as asked for (``revokes``: it replaced every earlier
    one); ``already_member``: the answer to a sign-up with a member's address (nothing
    changed)."""
    blocks: list[str | Sequence[str] | Block] = [
        Heading("You are already a member" if already_member else "Your page"),
        f"Hi {first_name(name)},",
    ]
    if already_member:
        blocks.append(
            f"Someone, we hope you, tried to sign up to {community.name} with this email "
            "address. You are already a member, so nothing has changed."
        )
    else:
        blocks.append(f"Here is the link to your page in {community.name}, as asked.")
    blocks += _page(community, manage_link)
    if revokes and manage_link and not already_member:
        blocks.append("Links to your page sent before this one no longer work.")
    blocks.append(_questions(community))
    subject = (
        f"You are already a member of {community.name}"
        if already_member
        else f"Your link to your {community.name} page"
    )
    links = (manage_link,) if manage_link else ()
    return _outgoing(community, name, email, subject, blocks, key=key, now=now, links=links)


def waiting_email(
    community: Community, *, name: str, email: str, key: DeliveryKey, now: dt.datetime
) -> Outgoing:
    """The answer to a sign-up from an address whose sign-up already waits for approval."""
    blocks: list[str | Sequence[str] | Block] = [
        Heading("Your sign-up is waiting for approval"),
        f"Hi {first_name(name)},",
        f"Someone, we hope you, tried to sign up to {community.name} with this email address. "
        "Your earlier sign-up is confirmed and waits for the organizer's approval, so nothing "
        "has changed: you hear from us when you are in.",
        _questions(community),
    ]
    subject = f"Your sign-up to {community.name} is waiting for approval"
    return _outgoing(community, name, email, subject, blocks, key=key, now=now)


def rejected_email(
    community: Community, *, name: str, email: str, key: DeliveryKey, now: dt.datetime
) -> Outgoing:
    """The organizer did not accept the sign-up: a short, kind note."""
    blocks: list[str | Sequence[str] | Block] = [
        Heading(f"Your sign-up to {community.name}"),
        f"Hi {first_name(name)},",
        f"Thank you for signing up to {community.name}. The organizer has not added you this "
        "time, and the calendar address you gave has been deleted.",
        _questions(community),
    ]
    subject = f"Your sign-up to {community.name}"
    return _outgoing(community, name, email, subject, blocks, key=key, now=now)


# --- helpers ----------------------------------------------------------------------------------


def _page(community: Community, manage_link: str | None) -> list[str | Block]:
    if not manage_link:
        return [f"To pause, change your settings or leave, write to {community.organizer_email}."]
    lead = (
        "Your page, to pause, skip a week, change your settings, give a new calendar address "
        "or leave:"
    )
    return [
        Button("Open your page", manage_link, text=f"{lead}\n", lead=lead, show_url=True),
        Para("Keep this link to yourself: whoever has it can manage your membership.", muted=True),
    ]


def _questions(community: Community) -> Para:
    return Para(f"Questions? Write to {community.organizer_email}.", muted=True)


def _outgoing(
    community: Community,
    name: str,
    email: str,
    subject: str,
    blocks: Sequence[str | Sequence[str] | Block],
    *,
    key: DeliveryKey,
    now: dt.datetime,
    links: Sequence[str] = (),
) -> Outgoing:
    headers = mime.new_headers()
    headers["From"] = organizer(community)
    headers["To"] = email_address(name, email)
    headers["Subject"] = subject
    headers["Date"] = format_datetime(ensure_utc(now))
    headers["Message-ID"] = key.message_id(community.organizer_email.partition("@")[2])
    headers["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
    seed = str(headers["Message-ID"])
    text, html_body = _bodies(community, blocks, links=links, title=subject)
    parts = [mime.text("plain", text), mime.text("html", html_body)]
    message = mime.Email(headers, mime.multipart("alternative", parts, seed=seed, top=True))
    return Outgoing(key, message.as_bytes(), None, message.message_id)
