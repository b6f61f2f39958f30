"""The people on a message: names and addresses as headers want them, times in their zones.

Times are written for people: ``14:00 GMT``, ``09:00 EST``, ``19:30 IST``, the abbreviation
zoneinfo knows for the zone at that instant (so ``CET`` in winter and ``CEST`` in summer). Many
zones have none in the tz database, which writes their offset instead (``-03``, ``+04``,
``+0530``); a bare offset means little to a reader, so those times name the zone's city:
``10:00 São Paulo time``. A zone with no city (``UTC``, ``Etc/GMT-4``) keeps ``UTC`` or says
``UTC+04:00``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
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
    team: str | None = None
    topics: frozenset[str] = frozenset()


def person(community: Community, email: str) -> Person:
    member: Member | None = community.member(email)
    if member is None:  # left members.toml since the round was planned: keep their history
        return Person(email.split("@")[0], email, community.timezone)
    return Person(
        member.name, member.email, member.timezone, member.discord_id, member.team, member.topics
    )


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


_OFFSET_NAME = re.compile(r"[+-]\d{2}(?::?\d{2})?")  # what tzdata writes for a zone it names not
# The last part of an IANA key is ASCII: the cities people write with their accents.
_ACCENTS = {
    "Asuncion": "Asunción",
    "Bogota": "Bogotá",
    "Cordoba": "Córdoba",
    "Curacao": "Curaçao",
    "Sao Paulo": "São Paulo",
    "Sao Tome": "São Tomé",
    "Noronha": "Fernando de Noronha",
}


def city(zone: ZoneInfo) -> str | None:
    """The place a zone is named after, as people write it; None for ``UTC`` and ``Etc/…``.

    >>> city(ZoneInfo("America/Argentina/Buenos_Aires")), city(ZoneInfo("America/Sao_Paulo"))
    ('Buenos Aires', 'São Paulo')
    >>> city(ZoneInfo("UTC")), city(ZoneInfo("Etc/GMT-4"))
    (None, None)
    """
    key = zone.key
    if "/" not in key or key.startswith("Etc/"):
        return None
    name = key.rsplit("/", 1)[1].replace("_", " ")
    return _ACCENTS.get(name, name)


def zone_name(local: dt.datetime) -> str:
    """How a time in ``local``'s zone is labelled: the zone's abbreviation at that instant, else
    ``<city> time``, else the offset from UTC.

    >>> at = dt.datetime(2026, 12, 10, 13, 0, tzinfo=dt.UTC)
    >>> [zone_name(at.astimezone(ZoneInfo(z))) for z in
    ...  ("Europe/Berlin", "America/Sao_Paulo", "Asia/Kolkata", "UTC", "Etc/GMT-4")]
    ['CET', 'São Paulo time', 'IST', 'UTC', 'UTC+04:00']
    """
    abbreviation = local.tzname() or ""
    if abbreviation and not _OFFSET_NAME.fullmatch(abbreviation):
        return abbreviation
    place = city(local.tzinfo) if isinstance(local.tzinfo, ZoneInfo) else None
    if place is not None:
        return f"{place} time"
    offset = local.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def when(start: dt.datetime, end: dt.datetime, zone: ZoneInfo) -> str:
    """``Tuesday 1 December 2026, 14:00–14:30 GMT``, in ``zone`` (``10:00–10:30 São Paulo
    time`` where the zone has no abbreviation)."""
    s, e = ensure_utc(start).astimezone(zone), ensure_utc(end).astimezone(zone)
    return f"{s:%A} {s.day} {s:%B %Y}, {s:%H:%M}–{e:%H:%M} {zone_name(s)}"


def when_here(start: dt.datetime, end: dt.datetime, zone: ZoneInfo) -> str:
    """:func:`when` for the reader's own time, with their city when the label is an
    abbreviation (``… 14:00–14:30 GMT (London time)``): an abbreviation alone can be read two
    ways (IST, CST), and a member who travels sees which zone the email assumed."""
    text = when(start, end, zone)
    place = city(zone)
    local = ensure_utc(start).astimezone(zone)
    if place is not None and zone_name(local) != f"{place} time":
        text += f" ({place} time)"
    return text


def short(value: dt.datetime, zone: ZoneInfo) -> str:
    """``Tue 1 Dec, 14:00 GMT``: for subjects."""
    local = ensure_utc(value).astimezone(zone)
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M} {zone_name(local)}"


def moved(previous: dt.datetime, value: dt.datetime, zone: ZoneInfo) -> str:
    """``moved from Tue 8 Dec, 14:00 to Thu 10 Dec, 10:00 CET``: the zone said once when both
    times have the same label."""
    before, after = short(previous, zone), short(value, zone)
    label = zone_name(ensure_utc(value).astimezone(zone))
    if zone_name(ensure_utc(previous).astimezone(zone)) == label:
        before = before.removesuffix(f" {label}")
    return f"moved from {before} to {after}"


def clock(value: dt.datetime, zone: ZoneInfo) -> str:
    """``09:00 on Tuesday in New York (EST)``; ``11:00 on Tuesday in São Paulo``; ``14:00 on
    Tuesday (UTC)``: a partner's local time."""
    local = ensure_utc(value).astimezone(zone)
    label, place = zone_name(local), city(zone)
    if place is None:
        return f"{local:%H:%M} on {local:%A} ({label})"
    if label == f"{place} time":
        return f"{local:%H:%M} on {local:%A} in {place}"
    return f"{local:%H:%M} on {local:%A} in {place} ({label})"


def intro(me: Person, others: Sequence[Person]) -> str | None:
    """One line about who the recipient meets, from what members wrote in members.toml:
    ``You both listed python. Grace is on the Platform team and also listed compilers.``;
    None when nobody set topics or a team."""
    sentences = []
    shared = set(me.topics)
    for other in others:
        shared &= other.topics
    if shared:
        everyone = "You both" if len(others) == 1 else "You all"
        sentences.append(f"{everyone} listed {_and(sorted(shared))}.")
    for other in others:
        rest = sorted(other.topics - shared)[:_TOPICS_SHOWN]
        name = first_name(other.name)
        listed = f"{'also ' if shared else ''}listed {_and(rest)}" if rest else ""
        team = f"is on the {other.team} team" if other.team else ""
        said = " and ".join(part for part in (team, listed) if part)
        if said:
            sentences.append(f"{name} {said}.")
    return " ".join(sentences) or None


_TOPICS_SHOWN = 5


def _and(items: Sequence[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
