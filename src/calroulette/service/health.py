"""``check``: is the community ready for a round? One verdict per member, each with a fix.

:func:`check` reads every calendar (with the full parse as the test of a good copy), computes each
member's free time in the week and turns what it finds into an OK, WARN or ERROR row with a
``kind`` code. ``calroulette check`` only renders the rows; a web page could do the same.
"""

from __future__ import annotations

import datetime as dt
import re
import stat
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from calroulette import feeds
from calroulette.availability import FreeTime, keyword_pattern, skipped_events
from calroulette.config import Community, Member
from calroulette.errors import FeedError
from calroulette.feedformat import looks_free_busy_only
from calroulette.feeds import hints
from calroulette.intervals import total
from calroulette.redact import is_url
from calroulette.timeutil import IsoWeek

from .community import week_or_next
from .reading import read_calendars


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class MemberHealth:
    """One member's row: ``message`` says what was found, ``fix`` what to do ("" when OK)."""

    member: str  # email
    name: str
    level: Level
    message: str
    fix: str = ""
    kind: str = ""  # ERROR: http, timeout, too-large, not-icalendar, parse, timezone …
    stage: str = ""  # ERROR: where it failed (calendar, fetch, timezone …), as every error says
    source: str = ""  # the redacted address or the path
    free_hours: float | None = None
    availability_events: int | None = None  # events (a repeating one counts once)
    availability_times: int | None = None  # their occurrences in the week
    busy_events: int | None = None
    feed_status: str | None = None  # fresh, not-modified, stale, local
    feed_age_hours: float | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Health:
    week: IsoWeek
    config: tuple[MemberHealth, ...]  # rows about members.toml itself (permissions)
    members: tuple[MemberHealth, ...]

    @property
    def level(self) -> Level:
        levels = {row.level for row in (*self.config, *self.members)}
        if Level.ERROR in levels:
            return Level.ERROR
        return Level.WARN if Level.WARN in levels else Level.OK


def check(
    community: Community,
    week: IsoWeek | None = None,
    *,
    now: dt.datetime,
    limits: feeds.FetchLimits | None = None,
    progress: bool | None = None,
) -> Health:
    """Read every calendar and judge each member's for ``week`` (default: next week)."""
    week = week_or_next(week, community, now)
    calendars = read_calendars(community, week, now, limits=limits, progress=progress)
    fetched, free = calendars.fetched, calendars.free
    rows = tuple(
        _judge(member, fetched[member.email], free[member.email], community, now)
        for member in community.members
    )
    config_rows: tuple[MemberHealth, ...] = ()
    holds_secrets = any(is_url(m.calendar) for m in community.members)
    if community.path is not None and holds_secrets:
        warning = permissions_warning(community.path)
        if warning is not None:
            config_rows = (warning,)
    if (web := links_warning(community)) is not None:
        config_rows = (*config_rows, web)
    return Health(week, config_rows, rows)


def links_warning(community: Community) -> MemberHealth | None:
    """``[web] base_url`` promises links in every email, which need the signing key: without
    it in this environment, ``run`` would send emails with no manage or one-click unsubscribe
    link, and nothing else would say so."""
    from .web import secret_key

    if community.web.base_url is None or secret_key(community) is not None:
        return None
    variable = community.web.secret_key_env
    return MemberHealth(
        member="config",
        name="[web]",
        level=Level.WARN,
        message=f"[web] base_url is set but {variable} is not: emails go out without the "
        "links to members' pages and one-click unsubscribe",
        fix=f"set {variable} for `run` and `send` too, the same key `serve` uses",
        kind="web-key",
    )


def permissions_warning(path: Path) -> MemberHealth | None:
    """members.toml holds secret calendar addresses: it must not be readable by others.

    Only checked when some member's calendar is a URL: a file of local paths (the demo) holds
    no secret.
    """
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if not mode & (stat.S_IRGRP | stat.S_IROTH):
        return None
    who = (
        "group and others"
        if mode & stat.S_IRGRP and mode & stat.S_IROTH
        else ("its group" if mode & stat.S_IRGRP else "others")
    )
    return MemberHealth(
        member="config",
        name=path.name,
        level=Level.WARN,
        message=f"{path.name} is readable by {who} (mode {mode:o}) and holds secret addresses",
        fix=f"chmod 600 {path}",
        kind="permissions",
    )


def _judge(
    member: Member,
    fetched: feeds.Feed | FeedError,
    result: FreeTime | FeedError,
    community: Community,
    now: dt.datetime,
) -> MemberHealth:
    if isinstance(fetched, FeedError):
        return _error_row(member, fetched)
    if isinstance(result, FeedError):
        return _error_row(member, result, fetched)
    return _verdict(member, fetched, result, community, now)


def _verdict(
    member: Member,
    feed: feeds.Feed,
    free: FreeTime,
    community: Community,
    now: dt.datetime,
) -> MemberHealth:
    hours = total(free.free).total_seconds() / 3600
    age = feed.age(now)
    n = free.availability_events
    # each event that touches the week occurs in it at least once: at most n events, 1 at least
    series = availability_series(feed.body, community.keyword_for(member)) if n else 0
    events = max(1, min(n, series)) if n else 0

    def row(level: Level, message: str, fix: str = "", kind: str = "") -> MemberHealth:
        return MemberHealth(
            member=member.email,
            name=member.name,
            level=level,
            message=message,
            fix=fix,
            kind=kind,
            source=feed.source,
            free_hours=round(hours, 2),
            availability_events=events,
            availability_times=free.availability_events,
            busy_events=free.busy_events,
            feed_status=str(feed.status),
            feed_age_hours=round(age.total_seconds() / 3600, 1),
            notes=free.warnings,
        )

    skipped = skipped_events(free)
    if skipped:  # a broken free event is read around, but the member should fix it
        what, fix = hints.split_fix(skipped[0].removeprefix("skipped "))
        more = f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""
        return row(
            Level.WARN,
            f"a broken free event is left out{more}: {what}",
            fix=fix,
            kind="skipped-event",
        )
    keyword = community.keyword_for(member)
    if free.availability_events == 0:
        if looks_free_busy_only(feed.body):
            return row(
                Level.WARN,
                "no availability events: the feed is free/busy only (every title 'Busy')",
                fix=hints.address_hint(member.calendar)
                or "share the calendar with full details, or use a dedicated calendar",
                kind="free-busy-only",
            )
        return row(
            Level.WARN,
            f"no availability events in {free.week} (no event titled '{keyword}')",
            fix=f"add a repeating event with '{keyword}' in its title, e.g. '{keyword} for coffee'",
            kind="no-availability",
        )
    if not free.free:
        return row(
            Level.WARN,
            f"all free time in {free.week} is blocked by busy events",
            "move the availability, or mark the overlapping events 'show as free'",
            "all-blocked",
        )
    times = "once" if n == 1 else f"{n} times"
    summary = (
        f"{hours:.1f} free hours in {free.week}, {events} availability "
        f"event{'s' * (events != 1)} ({times} this week)"
    )
    if feed.stale:
        what, fix = hints.split_fix(feed.problem or "the fetch failed")
        limit = f"the copy is used for up to {community.stale_days} days"
        return row(
            Level.WARN,
            f"{summary}; stale copy from {_age(age)} ago used: {what}",
            fix=f"{fix}; {limit}" if fix else limit,
            kind="stale",
        )
    return row(
        Level.OK,
        f"{summary}, feed {_freshness(feed, age)}",
    )


def availability_series(body: bytes, keyword: str) -> int:
    """How many events of the calendar are availability events: distinct UIDs of the VEVENTs
    whose title holds the keyword (not cancelled). :class:`FreeTime` counts occurrences in the
    week: a daily "free" event is five of them, but the member made one event. A plain scan
    of the lines (unfolded), not a parse: the reader has parsed the calendar already.
    """
    pattern = keyword_pattern(keyword)
    text = body.decode("utf-8", "replace").replace("\r\n", "\n")
    text = re.sub(r"\n[ \t]", "", text)  # unfold (RFC 5545 3.1)
    uids: set[str] = set()
    uid = summary = status = ""
    inside = 0
    for line in text.split("\n"):
        name, _, value = line.partition(":")
        name = name.split(";", 1)[0].upper()
        if name == "BEGIN" and value.strip().upper() == "VEVENT":
            inside, uid, summary, status = 1, "", "", ""
        elif inside and name == "BEGIN":
            inside += 1  # a VALARM inside the event: its lines are not the event's
        elif inside > 1 and name == "END":
            inside -= 1
        elif inside == 1 and name == "END":
            inside = 0
            if pattern.search(summary) and status.strip().upper() != "CANCELLED":
                uids.add(uid.strip() or f"#{len(uids)}")
        elif inside == 1 and name in ("UID", "SUMMARY", "STATUS"):
            uid = value if name == "UID" else uid
            summary = value if name == "SUMMARY" else summary
            status = value if name == "STATUS" else status
    return len(uids)


def _error_row(member: Member, error: FeedError, feed: feeds.Feed | None = None) -> MemberHealth:
    if isinstance(error, feeds.FetchError):
        what, fix, kind = error.what, error.fix, str(error.kind)
    else:
        what, fix = hints.split_fix(error.message)
        kind = "timezone" if error.stage == "timezone" else "parse"
    return MemberHealth(
        member=member.email,
        name=member.name,
        level=Level.ERROR,
        message=what,
        fix=fix,
        kind=kind,
        stage=error.stage,
        source=feed.source if feed else "",
        feed_status=str(feed.status) if feed else None,
    )


def _freshness(feed: feeds.Feed, age: dt.timedelta) -> str:
    if feed.status is feeds.FeedStatus.LOCAL:
        return "read from a file"
    if feed.status is feeds.FeedStatus.NOT_MODIFIED:
        return "unchanged (304)"
    return "fetched now"


def _age(age: dt.timedelta) -> str:
    hours = age.total_seconds() / 3600
    if hours < 1:
        return f"{age.total_seconds() / 60:.0f} min"
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{hours / 24:.0f} days"
