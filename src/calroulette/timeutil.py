"""Time at the edges: the only place a local, floating or all-day value becomes UTC.

Inside calroulette every datetime is aware and in UTC. ``to_utc`` is the one edge in; render and
invites call ``astimezone(member_zone)`` as the one edge out.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = dt.UTC

_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")


def load_zone(name: str) -> ZoneInfo:
    """Return the IANA zone ``name``; ``ValueError`` with a readable reason otherwise."""
    if not name or name != name.strip() or name.startswith("/") or ".." in name:
        raise ValueError(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name like 'Europe/London')"
        ) from None


def to_utc(value: dt.date | dt.datetime, member_zone: dt.tzinfo) -> dt.datetime:
    """Convert an iCalendar value to an aware UTC datetime.

    - a DATE is local midnight in the member's zone;
    - a floating (naive) time is read in the member's zone;
    - an aware time is converted.

    zoneinfo's default ``fold=0`` gives RFC 5545 §3.3.5's answers: a time in a DST gap is read with
    the offset before the gap (so it moves forward), a repeated time is the first occurrence.
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            value = value.replace(tzinfo=member_zone)
        return value.astimezone(UTC)
    return dt.datetime(value.year, value.month, value.day, tzinfo=member_zone).astimezone(UTC)


def ensure_utc(value: dt.datetime) -> dt.datetime:
    """Return ``value`` in UTC; a naive datetime is a bug, not an input."""
    if value.tzinfo is None:
        raise ValueError("naive datetime where an aware one is required")
    return value.astimezone(UTC)


def format_utc(value: dt.datetime) -> str:
    """``2026-11-30T14:00:00Z``: how UTC instants appear in JSON."""
    return ensure_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> dt.datetime:
    """Parse an ISO 8601 instant with an offset or ``Z`` (``2026-12-02T15:00Z``) into UTC."""
    value = dt.datetime.fromisoformat(text.strip().replace("z", "Z"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone (end it with Z or an offset like +01:00)")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True, order=True)
class IsoWeek:
    """An ISO 8601 week such as ``2026-W49``; its bounds depend on the zone it is read in."""

    year: int
    week: int

    def __post_init__(self) -> None:
        dt.date.fromisocalendar(self.year, self.week, 1)  # raises ValueError when out of range

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        match = _WEEK_RE.match(text.strip())
        if not match:
            raise ValueError(f"{text!r} is not an ISO week (write it like 2026-W49)")
        try:
            return cls(int(match.group(1)), int(match.group(2)))
        except ValueError:
            raise ValueError(f"{text!r} is not a week of that year") from None

    @classmethod
    def containing(cls, day: dt.date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @classmethod
    def next_after(cls, now: dt.datetime, zone: dt.tzinfo) -> IsoWeek:
        """The ISO week after the one containing ``now`` read in ``zone``."""
        today_local = ensure_utc(now).astimezone(zone).date()
        return cls.containing(today_local + dt.timedelta(days=7))

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    def monday(self) -> dt.date:
        return dt.date.fromisocalendar(self.year, self.week, 1)

    def days(self) -> list[dt.date]:
        first = self.monday()
        return [first + dt.timedelta(days=i) for i in range(7)]

    def bounds(self, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
        """``[Monday 00:00, next Monday 00:00)`` in ``zone``, as UTC datetimes."""
        start = self.monday()
        return to_utc(start, zone), to_utc(start + dt.timedelta(days=7), zone)

    def shifted(self, weeks: int) -> IsoWeek:
        return IsoWeek.containing(self.monday() + dt.timedelta(weeks=weeks))

    def weeks_since(self, other: IsoWeek) -> int:
        """How many weeks ``self`` is after ``other`` (negative when before)."""
        return (self.monday() - other.monday()).days // 7
