"""The people on a message: names and addresses as headers want them, times in their zones."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from calroulette.config import Community, Member
from calroulette.timeutil import ensure_utc


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str
    zone: ZoneInfo
    discord_id: str | None = None


def person(community: Community, email: str) -> Person:
    member: Member | None = community.member(email)
    if member is None:  # left members.toml since the round was planned: keep their history
        return Person(email.split("@")[0], email, community.timezone)
    return Person(member.name, member.email, member.timezone, member.discord_id)


def organizer(community: Community) -> Address:
    name, address = parseaddr(community.organizer)
    return email_address(name or community.name, address or community.organizer_email)


def email_address(name: str, email: str) -> Address:
    """An address with an internationalised domain in its ASCII (IDNA) form, which every server
    accepts; a non-ASCII local part stays as it is and needs SMTPUTF8 (see
    :meth:`calroulette.invites.mime.Email.as_bytes`)."""
    local, _, domain = ascii_domain(email).partition("@")
    return Address(display_name=name, username=local, domain=domain)


def ascii_domain(email: str) -> str:
    """``zoë@exämple.org`` → ``zoë@xn--exmple-cua.org``: the domain in IDNA form.

    >>> ascii_domain("ada@bücher.example")
    'ada@xn--bcher-kva.example'
    """
    local, _, domain = email.partition("@")
    if not domain.isascii():
        with contextlib.suppress(UnicodeError):  # left as written: the server will refuse it
            domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}"


def first_name(name: str) -> str:
    return name.split()[0] if name.split() else name


def names(people: Sequence[Person], *, first: bool = False) -> str:
    shown = [first_name(p.name) if first else p.name for p in people]
    if len(shown) <= 2:
        return " & ".join(shown) if first else " and ".join(shown)
    joiner = " & " if first else " and "
    return ", ".join(shown[:-1]) + joiner + shown[-1]


def when(start: dt.datetime, end: dt.datetime, zone: ZoneInfo) -> str:
    """``Tuesday 1 December 2026, 14:00–14:30 GMT``, in ``zone``."""
    s, e = ensure_utc(start).astimezone(zone), ensure_utc(end).astimezone(zone)
    return f"{s:%A} {s.day} {s:%B %Y}, {s:%H:%M}–{e:%H:%M} {s:%Z}"


def short(value: dt.datetime, zone: ZoneInfo) -> str:
    """``Tue 1 Dec, 14:00 GMT``: for subjects."""
    local = ensure_utc(value).astimezone(zone)
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M %Z}"


def clock(value: dt.datetime, zone: ZoneInfo) -> str:
    """``09:00 on Tuesday (America/New_York)``."""
    local = ensure_utc(value).astimezone(zone)
    return f"{local:%H:%M} on {local:%A} ({zone.key})"
