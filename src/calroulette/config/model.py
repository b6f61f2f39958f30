"""The community as frozen values: :class:`Community` (its rules and settings) and :class:`Member`.

Made by :mod:`.load` from members.toml; read by every layer above. No file or network I/O here.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

from calroulette.timeutil import IsoWeek

EMAIL_RE = re.compile(r"^[^@\s<>,;:\"()\[\]]+@[^@\s<>,;:\"()\[\]]+\.[^@\s<>,;:\"()\[\]]+$")


class Frequency(StrEnum):
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"

    @property
    def weeks(self) -> int:
        """A member takes part at most once in this many weeks."""
        return {"weekly": 1, "biweekly": 2, "monthly": 4}[self.value]


class MemberStatus(StrEnum):
    """Where a member stands on a day. A member who left is no longer in members.toml: their
    history keeps them, under this status."""

    ACTIVE = "active"
    PAUSED = "paused"  # until `calroulette members resume`
    PAUSED_UNTIL = "paused-until"  # until the week that starts on or after `paused_until`
    # never from members.toml: the service reads it from the rounds (service/resting.py), for
    # a member whose calendar showed no free time three rounds running, until it shows some
    PAUSED_UNTIL_FREE = "paused-until-free"
    LEFT = "left"


class Unsubscribe(StrEnum):
    """What a one-click unsubscribe (RFC 8058) from one of our emails does: the member's choice."""

    PAUSE = "pause"  # paused until they resume on their page: settings and history kept
    LEAVE = "leave"  # removed from members.toml, as `members remove`


class SignupMode(StrEnum):
    """Who may join through the web page's /join."""

    OPEN = "open"  # a confirmed sign-up is a member at once
    APPROVE = "approve"  # a confirmed sign-up waits for `calroulette members approve`
    CLOSED = "closed"  # no sign-up page


class DeliveryMethod(StrEnum):
    OUTBOX = "outbox"
    SMTP = "smtp"
    DISCORD = "discord"


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"
    TLS = "tls"  # implicit TLS, usually port 465
    NONE = "none"  # only for a relay on the same host


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    email: str  # lower-cased; the member's unique key everywhere
    calendar: str  # a URL as written, or an absolute path
    timezone: ZoneInfo
    keyword: str | None = None  # overrides the community's
    paused: bool = False
    paused_until: dt.date | None = None
    frequency: Frequency = Frequency.WEEKLY
    avoid: frozenset[str] = frozenset()  # private: never shown in any output
    team: str | None = None
    topics: frozenset[str] = frozenset()
    discord_id: str | None = None
    unsubscribe: Unsubscribe = Unsubscribe.PAUSE
    standby: bool = False  # may be offered a partner whose meeting was cancelled that week

    def is_paused(self, week: IsoWeek) -> bool:
        """Paused for ``week``: ``paused = true``, or the week starts before ``paused_until``."""
        if self.paused:
            return True
        return self.paused_until is not None and week.monday() < self.paused_until

    def status(self, today: dt.date) -> MemberStatus:
        if self.paused:
            return MemberStatus.PAUSED
        if self.paused_until is not None and self.paused_until > today:
            return MemberStatus.PAUSED_UNTIL
        return MemberStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class Delivery:
    method: DeliveryMethod = DeliveryMethod.OUTBOX
    outbox: Path = Path("outbox")
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_username: str | None = None
    rate_limit_per_minute: int = 60
    discord_webhook_env: str = "CALROULETTE_DISCORD_WEBHOOK"


@dataclass(frozen=True, slots=True)
class Web:
    """``[web]``: the member pages of ``calroulette serve``. Secrets (the signing key, the
    organizer's password) come from the environment, never from members.toml."""

    base_url: str | None = None  # https://coffee.example.org: links in emails point here
    signup: SignupMode = SignupMode.APPROVE
    secret_key_env: str = "CALROULETTE_SECRET_KEY"  # noqa: S105 - a variable's name
    admin_password_env: str = "CALROULETTE_ADMIN_PASSWORD"  # noqa: S105 - a name

    def url(self, path: str) -> str | None:
        """``base_url`` + ``path`` (which starts with /), or None when there is no base URL."""
        if self.base_url is None:
            return None
        return self.base_url.rstrip("/") + path


class Weekday(StrEnum):
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"

    @property
    def number(self) -> int:
        """0 for Monday, as :meth:`datetime.date.weekday`."""
        return list(Weekday).index(self)


@dataclass(frozen=True, slots=True)
class Replies:
    """``[replies]``: the organizer's mailbox, where calendar apps send their answers (iTIP
    REPLY) to invitations. TLS is always verified; the password comes from the environment."""

    imap_host: str
    imap_username: str
    imap_port: int = 993
    imap_folder: str = "INBOX"
    imap_password_env: str = "CALROULETTE_IMAP_PASSWORD"  # noqa: S105 - a variable's name
    ca_file: Path | None = None  # a CA bundle to verify the server with (default: the system's)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "calroulette"


@dataclass(frozen=True, slots=True)
class Community:
    name: str
    organizer: str  # "Display Name <address>" as written
    organizer_email: str
    timezone: ZoneInfo
    members: tuple[Member, ...]
    meeting_minutes: int = 30
    keyword: str = "free"
    cooldown_weeks: int = 8
    database: Path = Path("calroulette.sqlite")
    slot_minutes: int = 30
    min_notice_hours: int = 24
    separate_teams: bool = False
    allow_triples: bool = True
    meeting_link: str = "https://meet.jit.si/{community}-{uid}"
    notify_unmatched: bool = True
    cache_dir: Path = field(default_factory=default_cache_dir)
    stale_days: int = 14
    fetch_concurrency: int = 16
    fetch_timeout: int = 90  # seconds one calendar may take, retries included
    fetch_retries: int = 3  # after a timeout, a refused connection, 429 or 5xx
    # true: calendars may be fetched from loopback, private and link-local addresses (a CalDAV
    # server on the organizer's own network); false: refused, after DNS and at every redirect
    allow_private_feeds: bool = False
    delivery: Delivery = field(default_factory=Delivery)
    web: Web = field(default_factory=Web)
    replies: Replies | None = None  # no [replies]: answers from calendar apps are not read
    # `run` from cron every 15 minutes does what is due: the weekly round from this day and
    # time of the week before (in the community's zone), reminders, follow-ups, retries
    match_day: Weekday = Weekday.TUESDAY
    match_time: dt.time = dt.time(9, 0)
    reminder_minutes: int = 10  # before each meeting; 0: no reminders
    reminder_email: bool = False  # reminders by email too (Discord communities get them always)
    followup: bool = True  # "did you meet?" the day after
    path: Path | None = None  # the members.toml this came from
    # email -> member, built once: invitations look members up several times per meeting, and a
    # scan of 10,000 members each time costs seconds per round.
    _by_email: dict[str, Member] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_email", {m.email: m for m in self.members})

    def member(self, key: str) -> Member | None:
        """Find a member by email (case-insensitive) or by exact name."""
        found = self._by_email.get(key.strip().lower())
        if found is not None:
            return found
        matches = [m for m in self.members if m.name.casefold() == key.strip().casefold()]
        return matches[0] if len(matches) == 1 else None

    def keyword_for(self, member: Member) -> str:
        return member.keyword or self.keyword
