"""Time at the edges: the only place a local, floating or all-day value becomes UTC.

Inside calroulette every datetime is aware and in UTC. ``to_utc`` is the one edge in; render and
invites call ``astimezone(member_zone)`` as the one edge out.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

UTC = dt.UTC

_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
# The weeks a person may name: far enough from year 1 and 9999 that a week's bounds in any zone,
# the weeks around it and the cooldown before it (up to ten years) are all dates Python can hold.
FIRST_YEAR, LAST_YEAR = 1900, 9000


def load_zone(name: str) -> ZoneInfo:
    """Return the IANA zone ``name``; ``ValueError`` with a readable reason otherwise.

    >>> load_zone("America/New_Yrok")
    Traceback (most recent call last):
    ...
    ValueError: unknown time zone 'America/New_Yrok' (did you mean 'America/New_York'?)
    """
    if not name or name != name.strip() or name.startswith("/") or ".." in name:
        raise ValueError(f"unknown time zone {name!r}{_zone_hint(name)}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r}{_zone_hint(name)}") from None


@functools.lru_cache(maxsize=1024)
def _zone_hint(name: str) -> str:
    """The did-you-mean of an unknown zone, once per distinct name: 10,000 members with the same
    misspelled zone took 53 s to report when each compared it with all ~600 zones again."""
    known = _known_zones()
    close = difflib.get_close_matches(name.strip().casefold(), list(known), n=1, cutoff=0.75)
    if close:
        return f" (did you mean {known[close[0]]!r}?)"
    return " (use an IANA name like 'Europe/London')"


@functools.cache
def _known_zones() -> dict[str, str]:
    """Every IANA zone by its case-folded name (``available_timezones`` walks the tz database)."""
    return {zone.casefold(): zone for zone in available_timezones()}


def to_utc(value: dt.date | dt.datetime, member_zone: dt.tzinfo) -> dt.datetime:
    """Convert an iCalendar value to an aware UTC datetime.

    - a DATE is local midnight in the member's zone;
    - a floating (naive) time is read in the member's zone;
    - an aware time is converted.

    Local wall times follow RFC 5545 §3.3.5 whatever the zone's implementation (zoneinfo, or the
    dateutil zones icalendar builds from a VTIMEZONE, which answer differently): a time that
    happens twice is the first occurrence; a time in a DST gap is read with the offset before the
    gap (02:30 on a spring-forward night in New York is 07:30Z, i.e. 03:30 EDT).

    >>> from zoneinfo import ZoneInfo
    >>> to_utc(dt.datetime(2026, 3, 8, 2, 30), ZoneInfo("America/New_York")).isoformat()
    '2026-03-08T07:30:00+00:00'
    >>> to_utc(dt.datetime(2026, 11, 1, 1, 30), ZoneInfo("America/New_York")).isoformat()
    '2026-11-01T05:30:00+00:00'
    >>> to_utc(dt.date(2026, 12, 1), ZoneInfo("Asia/Tokyo")).isoformat()
    '2026-11-30T15:00:00+00:00'
    """
    if isinstance(value, dt.datetime):
        zone = value.tzinfo
        if zone is None or zone.utcoffset(value) is None:
            zone = member_zone
        return _wall_to_utc(value.replace(tzinfo=None, fold=0), zone)
    midnight = dt.datetime.combine(value, dt.time())
    return _wall_to_utc(midnight, member_zone)


def _wall_to_utc(wall: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """The UTC instant of the naive local time ``wall`` in ``zone``, per RFC 5545 §3.3.5."""
    if isinstance(zone, dt.timezone):
        return wall.replace(tzinfo=zone).astimezone(UTC)
    if isinstance(zone, ZoneInfo):
        # PEP 495's fold=0 is RFC 5545's answer: in a gap the offset before it, in a repeat the
        # first reading.
        return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    # Other zones are the dateutil ones icalendar builds from a VTIMEZONE. Their ``fromutc`` is
    # wrong for some changes (a two-hour fall-back, say) and their ``utcoffset`` answers a gap
    # time with the offset after it, so only ``utcoffset`` outside gaps is trusted here.
    day = dt.timedelta(days=1)
    before = _offset(wall - day, zone)
    after = _offset(wall + day, zone)
    if before == after:
        return (wall - before).replace(tzinfo=UTC)
    if after < before:
        # Clocks go back: never a gap, maybe a repeat; fold=0 and fold=1 are its two readings.
        offsets = {_offset(wall.replace(fold=fold), zone) for fold in (0, 1)}
        return min((wall - o).replace(tzinfo=UTC) for o in offsets)
    gap_start, gap_end = _gap(wall - day, wall + day, zone, before, after)
    if gap_start <= wall < gap_end:
        return (wall - before).replace(tzinfo=UTC)
    return (wall - _offset(wall, zone)).replace(tzinfo=UTC)


def _gap(
    low: dt.datetime, high: dt.datetime, zone: dt.tzinfo, before: dt.timedelta, after: dt.timedelta
) -> tuple[dt.datetime, dt.datetime]:
    """The local times that do not exist when clocks go forward between ``low`` and ``high``.

    Bisects for where ``utcoffset`` switches to ``after``; a zone that follows PEP 495 answers a
    gap time by its fold (so the gap ends at the switch), one that does not answers it with the
    offset after (so the gap starts at the switch).
    """
    while high - low > dt.timedelta(microseconds=1):
        middle = low + (high - low) // 2
        if _offset(middle, zone) == after:
            high = middle
        else:
            low = middle
    width = after - before
    probe = high - width // 2
    if _offset(probe.replace(fold=0), zone) != _offset(probe.replace(fold=1), zone):
        return high - width, high
    return high, high + width


def _offset(wall: dt.datetime, zone: dt.tzinfo) -> dt.timedelta:
    offset = zone.utcoffset(wall.replace(tzinfo=zone))
    if offset is None:
        raise ValueError(f"the zone {zone!r} gives no UTC offset")
    return offset


def ensure_utc(value: dt.datetime) -> dt.datetime:
    """Return ``value`` in UTC; a naive datetime is a bug, not an input."""
    if value.tzinfo is None:
        raise ValueError("naive datetime where an aware one is required")
    return value.astimezone(UTC)


def format_utc(value: dt.datetime) -> str:
    """``2026-11-30T14:00:00Z``: how UTC instants appear in JSON."""
    return ensure_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> dt.datetime:
    """Parse an ISO 8601 instant with an offset or ``Z`` (``2026-12-02T15:00Z``) into UTC.

    >>> parse_utc("tomorrow 3pm")
    Traceback (most recent call last):
    ...
    ValueError: 'tomorrow 3pm' is not a date and time (write it like 2026-12-02T15:00Z)
    """
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date and time (write it like 2026-12-02T15:00Z)"
        ) from None
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
        if not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
            raise ValueError(
                f"{text!r} is out of range (give a week of a year from {FIRST_YEAR} to {LAST_YEAR})"
            )
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
        return f"{self.year:04d}-W{self.week:02d}"

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
