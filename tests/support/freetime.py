"""The plain way to read free time, which the fast path must always agree with: the whole feed
parsed and expanded in this process, with no pruning, no worker and no cache."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from calroulette.availability import FreeTime, free_time, parse_calendar
from calroulette.config import Community, Member
from calroulette.errors import FeedError
from calroulette.timeutil import IsoWeek


def plain_free_time(
    body: bytes,
    member: Member,
    week: IsoWeek,
    community: Community,
    *,
    ignore_uids: frozenset[str] = frozenset(),
) -> FreeTime | FeedError:
    """One feed body read the plain way; the member's error as a value."""
    notes: list[str] = []
    try:
        calendar = parse_calendar(body, member.email, notes)
        result = free_time(
            calendar,
            member,
            week,
            keyword=community.keyword_for(member),
            week_zone=community.timezone,
            ignore_uids=ignore_uids,
        )
    except FeedError as error:
        return error
    if notes:
        result = replace(result, warnings=tuple(dict.fromkeys([*notes, *result.warnings])))
    return result


def plain_free_times(
    community: Community, feeds: Mapping[str, bytes | FeedError], week: IsoWeek
) -> dict[str, FreeTime | FeedError]:
    """Every member's free time, read the plain way; a member without a body is "not fetched"."""
    out: dict[str, FreeTime | FeedError] = {}
    for member in community.members:
        feed = feeds.get(member.email)
        if feed is None:
            out[member.email] = FeedError(member.email, "calendar", "not fetched")
        elif isinstance(feed, FeedError):
            out[member.email] = feed
        else:
            out[member.email] = plain_free_time(feed, member, week, community)
    return out
