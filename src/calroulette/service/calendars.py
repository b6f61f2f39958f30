"""``slots``, ``overlap`` and ``preview``: what calroulette reads from calendars, for people to see.

None of them records anything: they read the calendars (:func:`.reading.read_calendars`) and,
for ``overlap``, the week's stored round.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from calroulette import feeds
from calroulette.availability import FreeTime
from calroulette.config import Community, Member, unreadable_scheme
from calroulette.errors import FeedError, UsageError
from calroulette.intervals import Intervals
from calroulette.matching import Meeting
from calroulette.redact import SECRETS, is_url
from calroulette.timeutil import IsoWeek

from .community import week_or_next
from .members import WeekCheck, week_check
from .planning import stored_round
from .reading import read_calendars


@dataclass(frozen=True, slots=True)
class MemberWeek:
    """One member's free time in a week, and the feed it came from (it may be a stale copy)."""

    member: Member
    free: FreeTime
    feed: feeds.Feed | None


@dataclass(frozen=True, slots=True)
class Slots:
    week: IsoWeek
    found: tuple[MemberWeek, ...]
    errors: tuple[FeedError, ...]


def slots(
    community: Community,
    member: str | None = None,
    week: IsoWeek | None = None,
    *,
    now: dt.datetime,
) -> Slots:
    """When ``member`` (an email or a unique name; default: everyone) is free in ``week``."""
    week = week_or_next(week, community, now)
    chosen = list(community.members)
    if member is not None:
        found = community.member(member)
        if found is None:
            named = [m for m in community.members if m.name.casefold() == member.casefold()]
            if len(named) > 1:
                raise UsageError(f"{member}: {len(named)} members have this name; give the email")
            raise UsageError(f"{member}: no such member in {community.path or 'members.toml'}")
        chosen = [found]
    calendars = read_calendars(community, week, now, chosen)
    ok, errors = [], []
    for m in chosen:
        result = calendars.free[m.email]
        if isinstance(result, FeedError):
            errors.append(result)
        else:
            feed = calendars.fetched.get(m.email)
            ok.append(MemberWeek(m, result, feed if isinstance(feed, feeds.Feed) else None))
    return Slots(week, tuple(ok), tuple(errors))


@dataclass(frozen=True, slots=True)
class Overlap:
    week: IsoWeek
    free: dict[str, Intervals]  # the members counted (not paused, calendar read), by email
    errors: tuple[FeedError, ...]  # members whose calendar could not be read: not counted
    paused: int
    meetings: tuple[Meeting, ...]  # the week's stored round, if there is one


def overlap(community: Community, week: IsoWeek | None = None, *, now: dt.datetime) -> Overlap:
    """Everyone's free time in ``week`` (the paused aside), and the round stored for it."""
    week = week_or_next(week, community, now)
    counted = [m for m in community.members if not m.is_paused(week)]
    results = read_calendars(community, week, now, counted).free
    free = {m.email: r.free for m in counted if isinstance(r := results.get(m.email), FreeTime)}
    errors = tuple(r for m in counted if isinstance(r := results.get(m.email), FeedError))
    stored = stored_round(community, week)
    meetings = stored.meetings if stored is not None else ()
    return Overlap(week, free, errors, len(community.members) - len(counted), meetings)


PREVIEW = "preview"  # stands in for the person's email in messages
# A person waits on the web page while their calendar is read: a server that does not answer
# costs them this long (the weekly job allows `fetch_timeout`, 90 s, with 3 retries).
WEB_FETCH_TIMEOUT = 20
WEB_FETCH_RETRIES = 1


@dataclass(frozen=True, slots=True)
class Preview:
    member: Member  # the person, as a one-member community holds them
    community: Community
    week: IsoWeek
    result: FreeTime | FeedError
    check: WeekCheck


def preview(
    calendar: str,
    zone: ZoneInfo,
    week: IsoWeek | None = None,
    *,
    keyword: str = "free",
    now: dt.datetime,
    allow_private_feeds: bool = False,
    fetch_timeout: int = 90,
    fetch_retries: int = 3,
) -> Preview:
    """What calroulette would see in ``calendar`` (a secret address or a file) for its owner's
    next week (or ``week``), in their zone ``zone``. Fetched once, cached nowhere; an address
    on loopback or a private network only with ``allow_private_feeds``. ``fetch_timeout``
    and ``fetch_retries`` as in members.toml (the web page passes shorter ones)."""
    if not keyword.strip():
        raise UsageError("--keyword: must not be empty")
    source = calendar.strip()
    problem = unreadable_scheme(source, Path.cwd())  # a relative path is read from here
    if problem:
        raise UsageError(f"calendar: {problem}")
    if is_url(source):
        SECRETS.add(source)  # a secret address: masked in any log line from here on
    else:
        source = source.removeprefix("file://")  # as members.toml reads it
        source = str(Path(source).expanduser().resolve())
    member = Member(name="This calendar", email=PREVIEW, calendar=source, timezone=zone)
    week = week if week is not None else IsoWeek.next_after(now, zone)
    with tempfile.TemporaryDirectory(prefix="calroulette-preview-") as cache:
        community = Community(  # a one-member community: the week is read in the person's zone
            name="preview",
            organizer="",
            organizer_email="",
            timezone=zone,
            members=(member,),
            keyword=keyword.strip(),
            cache_dir=Path(cache),
            fetch_concurrency=1,
            fetch_timeout=fetch_timeout,
            fetch_retries=fetch_retries,
            allow_private_feeds=allow_private_feeds,
        )
        reading = read_calendars(community, week, now, [member], progress=False, horizon=1)
        result = reading.free[PREVIEW]
    return Preview(member, community, week, result, week_check(member, week, community, result))
