"""Free time for several weeks from one expansion: :func:`free_times`, which gives for each
week exactly what :func:`.rules.free_time` gives for it alone (tests/test_availability_horizon.py
proves it on every fixture and real export). The reader (:mod:`.reader`) uses it to cache the
weeks after the one asked for, so that next week's run finds an unchanged feed already read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import icalendar

from calroulette.config import Member
from calroulette.errors import FeedError
from calroulette.intervals import clip, merge, subtract
from calroulette.timeutil import IsoWeek

from .expansion import guessed_zones, occurrences_in_windows
from .rules import (
    _PAD,
    FreeTime,
    _blocks,
    _damage,
    _Sources,
    _span,
    _status,
    free_time,
    keyword_pattern,
)


def free_times(
    calendar: icalendar.Calendar,
    member: Member,
    weeks: Sequence[IsoWeek],
    *,
    keyword: str,
    week_zone: dt.tzinfo,
    ignore_uids: frozenset[str] = frozenset(),
) -> dict[IsoWeek, FreeTime | FeedError]:
    """For each of ``weeks``, exactly what :func:`free_time` gives (or the :class:`FeedError`
    it raises), from one expansion of the calendar across all of them.

    Asked week by week, each week costs a whole expansion: the library builds every series and
    walks each rule from its first DTSTART again. Here the weeks' windows (each exactly the one
    :func:`free_time` asks for) are expanded once (:func:`.expansion.occurrences_in_windows`),
    each occurrence is judged once, and the rules are applied to each week it is in. A week
    is computed alone, by :func:`free_time` itself, when the one expansion fails or warns, or
    when its answer could depend on the order occurrences come in (more than one different
    sentence about broken events in that week: which refusal comes first, and the order of
    the notes, follow the library's order, which a larger window can change).
    """
    zone = member.timezone
    bounds = [week.bounds(week_zone) for week in weeks]
    windows = [
        (start.astimezone(zone).date() - _PAD, end.astimezone(zone).date() + _PAD)
        for start, end in bounds
    ]
    found = occurrences_in_windows(calendar, member.email, windows)
    out: dict[IsoWeek, FreeTime | FeedError] = {}
    if found is None:
        for week in weeks:
            out[week] = _alone(calendar, member, week, keyword, week_zone, ignore_uids)
        return out
    pattern = keyword_pattern(keyword)
    sources = _Sources(calendar)
    tallies = [_Tally() for _ in weeks]
    for occurrence, inside in found:
        uid = str(occurrence.get("UID", ""))
        for i in inside:
            tallies[i].uids.add(uid)
        if (ignore_uids and uid in ignore_uids) or _status(occurrence) == "CANCELLED":
            continue
        is_free = bool(pattern.search(str(occurrence.get("SUMMARY", ""))))
        if not is_free and not _blocks(occurrence, member.email):
            continue
        source = sources.find(occurrence, zone)
        damage = _damage(occurrence, source)
        if damage is None:
            span = _span(occurrence, zone, source)
        elif is_free:
            for i in inside:
                tallies[i].notes.append(damage.skipped(sources.name(uid)))
            continue
        else:
            span = damage.bound(occurrence, zone)
            if span is None:
                for i in inside:
                    tallies[i].refusals.append(damage.refusal(sources.name(uid), weeks[i]))
                continue
        if span is None:
            continue
        for i in inside:
            week_start, week_end = bounds[i]
            if not (span[0] < week_end and span[1] > week_start):
                continue
            tally = tallies[i]
            if damage is not None:
                tally.notes.append(damage.blocked(sources.name(uid)))
            (tally.free if is_free else tally.busy).append(span)
    guessed = guessed_zones(calendar)
    for week, (week_start, week_end), tally in zip(weeks, bounds, tallies, strict=True):
        if len(set(tally.refusals)) > 1 or (not tally.refusals and len(set(tally.notes)) > 1):
            out[week] = _alone(calendar, member, week, keyword, week_zone, ignore_uids)
        elif tally.refusals:
            out[week] = FeedError(member.email, "calendar", tally.refusals[0])
        else:
            notes = [*tally.notes, *(note for uid, note in guessed if uid in tally.uids)]
            free = clip(subtract(merge(tally.free), merge(tally.busy)), week_start, week_end)
            out[week] = FreeTime(
                member.email,
                week,
                free,
                len(tally.free),
                len(tally.busy),
                tuple(dict.fromkeys(notes)),
            )
    return out


@dataclass(slots=True)
class _Tally:
    """What :func:`free_times` gathers for one week, as :func:`free_time` does."""

    uids: set[str] = field(default_factory=set)  # every occurrence in the week's window
    free: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)
    busy: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # about broken events, in the order met
    refusals: list[str] = field(default_factory=list)  # busy times that cannot be read


def _alone(
    calendar: icalendar.Calendar,
    member: Member,
    week: IsoWeek,
    keyword: str,
    week_zone: dt.tzinfo,
    ignore_uids: frozenset[str],
) -> FreeTime | FeedError:
    try:
        return free_time(
            calendar, member, week, keyword=keyword, week_zone=week_zone, ignore_uids=ignore_uids
        )
    except FeedError as error:
        return error
