"""members.toml → a frozen :class:`Community`, with every problem reported at once.

The organizer's whole configuration is one TOML file. Loading never raises on the first mistake:
it collects a :class:`~calroulette.errors.Problem` for each (naming the member and the field) and
raises one :class:`~calroulette.errors.ConfigError` holding them all, like khal's loader.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import string
import tomllib
from collections import Counter
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from calroulette.errors import ConfigError, Problem

from .address import base_url_problem, resolve_calendar, unreadable_scheme
from .fields import Collector as _Collector
from .fields import Fields as _Fields
from .fields import unknown as _unknown
from .model import (
    EMAIL_RE,
    Community,
    Delivery,
    DeliveryMethod,
    Frequency,
    Member,
    Replies,
    SignupMode,
    SmtpSecurity,
    Unsubscribe,
    Web,
    Weekday,
    default_cache_dir,
)

# --- loading ------------------------------------------------------------------------------------

_COMMUNITY_KEYS = {
    "name",
    "organizer",
    "timezone",
    "meeting_minutes",
    "keyword",
    "cooldown_weeks",
    "database",
    "slot_minutes",
    "min_notice_hours",
    "separate_teams",
    "allow_triples",
    "meeting_link",
    "notify_unmatched",
    "cache_dir",
    "stale_days",
    "fetch_concurrency",
    "fetch_timeout",
    "fetch_retries",
    "allow_private_feeds",
    "match_day",
    "match_time",
    "reminder_minutes",
    "reminder_email",
    "followup",
}
_MEMBER_KEYS = {
    "name",
    "email",
    "calendar",
    "timezone",
    "keyword",
    "paused",
    "paused_until",
    "frequency",
    "avoid",
    "team",
    "topics",
    "discord_id",
    "unsubscribe",
    "standby",
}
_DELIVERY_KEYS = {
    "method",
    "outbox",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "rate_limit_per_minute",
    "discord_webhook_env",
}
_WEB_KEYS = {"base_url", "signup", "secret_key_env", "admin_password_env"}
_REPLIES_KEYS = {
    "imap_host",
    "imap_port",
    "imap_username",
    "imap_folder",
    "imap_password_env",
    "ca_file",
}
_TOP_KEYS = {"community", "members", "delivery", "web", "replies"}
_SLOT_MINUTES = (5, 10, 15, 20, 30, 60)
_LINK_FIELDS = {"uid", "week", "community"}


def load_community(path: str | os.PathLike[str]) -> Community:
    """Read and validate members.toml; raise :class:`ConfigError` listing every problem."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8").removeprefix("\ufeff")  # Notepad's BOM
    except FileNotFoundError:
        raise ConfigError(
            [Problem("config", str(file), "file not found (create one with `calroulette init`)")],
            str(file),
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not readable UTF-8"
        raise ConfigError([Problem("config", str(file), reason)], str(file)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problem = Problem("config", str(file), f"not valid TOML: {exc}")
        raise ConfigError([problem], str(file)) from None
    except RecursionError:  # tomllib recurses once per level of [[[…]]] or {a = {…}}
        problem = Problem("config", str(file), "not valid TOML: values nested too deeply")
        raise ConfigError([problem], str(file)) from None
    return parse_community(data, base_dir=file.resolve().parent, path=file)


def parse_community(data: dict[str, Any], base_dir: Path, path: Path | None = None) -> Community:
    """Validate already-parsed TOML ``data``; relative paths are taken from ``base_dir``."""
    p = _Collector()
    _unknown(p, "config", "", data, _TOP_KEYS)
    raw = data.get("community")
    if not isinstance(raw, dict):
        p.add("community", "[community]", "missing table (name, organizer, timezone ...)")
        raw = {}
    _unknown(p, "community", "", raw, _COMMUNITY_KEYS)
    c = _Fields(p, "community", raw)
    name = c.text("name", required=True, default="", plain=True)
    organizer = c.text("organizer", required=True, default="", plain=True)
    organizer_email = ""
    if organizer:
        organizer_email = parseaddr(organizer)[1].lower()
        # parseaddr keeps the first of several addresses and silently drops the rest
        if len(getaddresses([organizer])) != 1 or not EMAIL_RE.match(organizer_email):
            p.add("community", "organizer", _organizer_problem(organizer))
    zone = c.zone("timezone", required=True)
    keyword = c.text("keyword", default="free")
    if keyword is not None and not keyword.strip():
        p.add("community", "keyword", "must not be empty")
    link = c.text("meeting_link", default="https://meet.jit.si/{community}-{uid}") or ""
    _check_link(p, link)
    raw_delivery = data.get("delivery", {})
    if not isinstance(raw_delivery, dict):
        p.add("delivery", "[delivery]", "must be a table")
        raw_delivery = {}
    delivery = _parse_delivery(p, raw_delivery, base_dir)
    raw_web = data.get("web", {})
    if not isinstance(raw_web, dict):
        p.add("web", "[web]", "must be a table")
        raw_web = {}
    web = _parse_web(p, raw_web)
    replies = _parse_replies(p, data.get("replies"), base_dir)

    members = _parse_members(p, data.get("members"), base_dir)
    community = Community(
        name=name or "",
        organizer=organizer or "",
        organizer_email=organizer_email,
        timezone=zone or ZoneInfo("UTC"),
        members=tuple(resolve_calendar(m, base_dir) for m in members),
        meeting_minutes=c.integer("meeting_minutes", 30, 5, 240),
        keyword=(keyword or "free").strip(),
        cooldown_weeks=c.integer("cooldown_weeks", 8, 0, 520),
        database=c.path("database", base_dir, base_dir / "calroulette.sqlite"),
        slot_minutes=c.choice_int("slot_minutes", 30, _SLOT_MINUTES),
        min_notice_hours=c.integer("min_notice_hours", 24, 0, 24 * 28),
        separate_teams=c.boolean("separate_teams", False),
        allow_triples=c.boolean("allow_triples", True),
        meeting_link=link,
        notify_unmatched=c.boolean("notify_unmatched", True),
        cache_dir=c.path("cache_dir", base_dir, default_cache_dir()),
        stale_days=c.integer("stale_days", 14, 0, 3650),
        fetch_concurrency=c.integer("fetch_concurrency", 16, 1, 256),
        fetch_timeout=c.integer("fetch_timeout", 90, 1, 600),
        fetch_retries=c.integer("fetch_retries", 3, 0, 10),
        allow_private_feeds=c.boolean("allow_private_feeds", False),
        delivery=delivery,
        web=web,
        replies=replies,
        match_day=c.choice("match_day", Weekday, Weekday.TUESDAY, "monday … sunday"),
        match_time=_clock(p, c.text("match_time")),
        reminder_minutes=c.integer("reminder_minutes", 10, 0, 24 * 60),
        reminder_email=c.boolean("reminder_email", False),
        followup=c.boolean("followup", True),
        path=path,
    )
    _check_avoid(p, community.members)
    if p.problems:
        raise ConfigError(p.problems, str(path) if path else "")
    return community


def _parse_delivery(p: _Collector, raw: dict[str, Any], base_dir: Path) -> Delivery:
    _unknown(p, "delivery", "", raw, _DELIVERY_KEYS)
    d = _Fields(p, "delivery", raw)
    security = d.choice("smtp_security", SmtpSecurity, SmtpSecurity.STARTTLS, "starttls, tls, none")
    default_port = 465 if security is SmtpSecurity.TLS else 587
    return Delivery(
        method=d.choice("method", DeliveryMethod, DeliveryMethod.OUTBOX, "outbox, smtp, discord"),
        outbox=d.path("outbox", base_dir, base_dir / "outbox"),
        smtp_host=d.text("smtp_host", default="localhost") or "localhost",
        smtp_port=d.integer("smtp_port", default_port, 1, 65535),
        smtp_security=security,
        smtp_username=d.text("smtp_username"),
        rate_limit_per_minute=d.integer("rate_limit_per_minute", 60, 1, 100_000),
        discord_webhook_env=d.text("discord_webhook_env", default="CALROULETTE_DISCORD_WEBHOOK")
        or "CALROULETTE_DISCORD_WEBHOOK",
    )


def _parse_web(p: _Collector, raw: dict[str, Any]) -> Web:
    _unknown(p, "web", "", raw, _WEB_KEYS)
    w = _Fields(p, "web", raw)
    base_url = w.text("base_url")
    if base_url is not None:
        base_url = base_url.strip().rstrip("/")
        if problem := base_url_problem(base_url):
            p.add("web", "base_url", problem)
            base_url = None
    return Web(
        base_url=base_url,
        signup=w.choice("signup", SignupMode, SignupMode.APPROVE, "open, approve, closed"),
        secret_key_env=w.text("secret_key_env", default="CALROULETTE_SECRET_KEY")
        or "CALROULETTE_SECRET_KEY",
        admin_password_env=w.text("admin_password_env", default="CALROULETTE_ADMIN_PASSWORD")
        or "CALROULETTE_ADMIN_PASSWORD",
    )


def _parse_replies(p: _Collector, raw: Any, base_dir: Path) -> Replies | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        p.add("replies", "[replies]", "must be a table")
        return None
    _unknown(p, "replies", "", raw, _REPLIES_KEYS)
    r = _Fields(p, "replies", raw)
    host = (r.text("imap_host", required=True) or "").strip()
    username = (r.text("imap_username", required=True) or "").strip()
    ca_file = r.path("ca_file", base_dir, Path()) if "ca_file" in raw else None
    return Replies(
        imap_host=host,
        imap_username=username,
        imap_port=r.integer("imap_port", 993, 1, 65535),
        imap_folder=(r.text("imap_folder", default="INBOX") or "INBOX").strip(),
        imap_password_env=r.text("imap_password_env", default="CALROULETTE_IMAP_PASSWORD")
        or "CALROULETTE_IMAP_PASSWORD",
        ca_file=ca_file,
    )


def _clock(p: _Collector, value: str | None) -> dt.time:
    """``match_time``: ``HH:MM`` on a 24-hour clock, in the community's zone."""
    if value is None:
        return dt.time(9, 0)
    try:
        return dt.datetime.strptime(value.strip(), "%H:%M").time()  # noqa: DTZ007 - a clock time
    except ValueError:
        p.add("community", "match_time", f"must be a time like 09:00, not {value!r}")
        return dt.time(9, 0)


def _parse_members(p: _Collector, raw_members: Any, base_dir: Path) -> list[Member]:
    if raw_members is None:
        return []
    if not isinstance(raw_members, list):
        p.add("members", "[[members]]", "must be an array of tables ([[members]])")
        return []
    members: list[Member] = []
    seen: dict[str, int] = {}
    emails = [_email_of(raw) for raw in raw_members]
    shared = {e for e, n in Counter(emails).items() if e and n > 1}  # not emails.count: O(n²)
    for index, raw in enumerate(raw_members):
        label = f"members[{index}]"
        if not isinstance(raw, dict):
            p.add(label, "[[members]]", "must be a table")
            continue
        # Problems name the member by email (lower-cased, as everywhere else); by position when
        # the email is missing or malformed, and by both when two members share it.
        who = emails[index] or label
        if emails[index] in shared:
            who = f"{emails[index]} ({label})"
        f = _Fields(p, who, raw)
        _unknown(p, who, "", raw, _MEMBER_KEYS)
        name = f.text("name", required=True, plain=True)
        if name is not None and not name.strip():
            p.add(who, "name", "must not be empty (the name partners see in invitations)")
        email = (f.text("email", required=True, plain=True) or "").strip().lower()
        if email and not EMAIL_RE.match(email):
            p.add(who, "email", f"{email!r} is not a valid email address")
        elif email in seen:
            p.add(who, "email", f"duplicate: also members[{seen[email]}]")
        elif email:
            seen[email] = index
        calendar = f.text("calendar", required=True)
        if calendar is not None and not calendar.strip():
            p.add(who, "calendar", "must not be empty (the calendar's secret iCal address)")
        elif calendar is not None and (problem := unreadable_scheme(calendar, base_dir)):
            p.add(who, "calendar", problem)
        zone = f.zone("timezone", required=True)
        keyword = f.text("keyword")
        if keyword is not None and not keyword.strip():
            p.add(who, "keyword", "must not be empty (leave it out to use the community's)")
        paused_until = raw.get("paused_until")
        if paused_until is not None and (
            not isinstance(paused_until, dt.date) or isinstance(paused_until, dt.datetime)
        ):
            p.add(who, "paused_until", f"must be a date like 2027-01-10, not {paused_until!r}")
            paused_until = None
        avoid = []
        for i, other in enumerate(f.strings("avoid")):
            if not EMAIL_RE.match(other.lower()):
                p.add(who, f"avoid[{i}]", "is not a valid email address")
            avoid.append(other.lower())
        discord = raw.get("discord_id")
        if discord is not None and not (
            isinstance(discord, int | str) and _DIGITS.fullmatch(str(discord).strip())
        ):
            p.add(who, "discord_id", "must be a Discord user id (digits)")
            discord = None
        members.append(
            Member(
                name=(name or "").strip(),
                email=email,
                calendar=(calendar or "").strip(),
                timezone=zone or ZoneInfo("UTC"),
                keyword=keyword.strip() if keyword else None,
                paused=f.boolean("paused", False),
                paused_until=paused_until,
                frequency=f.choice(
                    "frequency", Frequency, Frequency.WEEKLY, "weekly, biweekly, monthly"
                ),
                avoid=frozenset(avoid),
                team=(f.text("team", plain=True) or "").strip() or None,
                topics=frozenset(t.lower() for t in f.strings("topics", plain=True)),
                discord_id=str(discord).strip() if discord is not None else None,
                unsubscribe=f.choice("unsubscribe", Unsubscribe, Unsubscribe.PAUSE, "pause, leave"),
                standby=f.boolean("standby", False),
            )
        )
    return members


def _email_of(raw: Any) -> str:
    email = raw.get("email") if isinstance(raw, dict) else None
    if isinstance(email, str) and EMAIL_RE.match(email.strip().lower()):
        return email.strip().lower()
    return ""


def _check_avoid(p: _Collector, members: tuple[Member, ...]) -> None:
    for member in members:
        if member.email in member.avoid:
            p.add(member.email, "avoid", "lists the member themself")


def _organizer_problem(organizer: str) -> str:
    """Why ``organizer`` is not one address, and how to write it."""
    name, bracket, rest = organizer.rpartition("<")
    quoted = f'"{name.strip()}" <{rest}'
    if bracket and "," in name and '"' not in name and len(getaddresses([quoted])) == 1:
        # a comma separates addresses: "Coffee, Inc <c@x>" is "Coffee" and "Inc <c@x>"
        return (
            f"{organizer!r} reads as two addresses: a name with a comma needs double quotes "
            f"(in single quotes for TOML: organizer = '{quoted}')"
        )
    return (
        f"{organizer!r} has no valid address "
        "(write it like 'Data Folk Coffee <coffee@example.org>')"
    )


def _check_link(p: _Collector, link: str) -> None:
    try:
        fields = [(n, c, s) for _, n, s, c in string.Formatter().parse(link) if n is not None]
    except ValueError:
        p.add("community", "meeting_link", "has an unbalanced { or }")
        return
    unknown = {n for n, _, _ in fields} - _LINK_FIELDS
    # A format spec or conversion ({uid:d}, {week!r}) passed this check, then made `run` crash
    # on the first invitation, after the round was recorded.
    formatted = [
        "{" + n + (f"!{c}" if c else "") + (f":{s}" if s else "") + "}"
        for n, c, s in fields
        if c or s
    ]
    if unknown:
        p.add(
            "community",
            "meeting_link",
            f"unknown placeholder {{{sorted(unknown)[0]}}} (use {{uid}}, {{week}}, {{community}})",
        )
    elif formatted:
        p.add("community", "meeting_link", f"{formatted[0]}: write it plain, like {{uid}}")
    if link and not link.lower().startswith(("https://", "http://")):
        p.add("community", "meeting_link", "must start with https://")


_DIGITS = re.compile("[0-9]+")  # not str.isdigit: "²³" is digits to it
