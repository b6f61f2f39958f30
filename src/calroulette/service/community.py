"""The community every operation starts from, and the weeks it may plan.

:func:`load` is the edge that reads members.toml: it is where the calendar addresses are
registered as secrets (masked in every log line and message from then on), not the pure loader.
"""

from __future__ import annotations

import datetime as dt
from os import PathLike

from calroulette.config import Community, load_community
from calroulette.errors import ConfigError, Problem, UsageError
from calroulette.redact import SECRETS, is_url
from calroulette.timeutil import IsoWeek


def load(path: str | PathLike[str], *, members: bool = True) -> Community:
    """members.toml as a :class:`Community`; with ``members``, one without members is a
    configuration error.

    Planning for nobody would record an empty round (and ``run`` would mark it sent), so the
    members added later that week could not be matched until the next one.
    """
    community = load_community(path)
    register_secrets(community)
    if members and not community.members:
        problem = Problem(
            "config", "members", "no members yet (add one with `calroulette members add`)"
        )
        raise ConfigError([problem], str(path))
    return community


def register_secrets(community: Community) -> None:
    """Every calendar address of ``community`` is masked wherever it would be shown."""
    for member in community.members:
        if is_url(member.calendar):
            SECRETS.add(member.calendar)


def week_or_next(week: IsoWeek | None, community: Community, now: dt.datetime) -> IsoWeek:
    """``week``, or by default the next week in the community's zone."""
    return week if week is not None else IsoWeek.next_after(now, community.timezone)


def check_plannable(
    week: IsoWeek, community: Community, now: dt.datetime, *, force: bool = False
) -> None:
    """A :class:`UsageError` when no meeting of ``week`` could still be planned, or (unless
    ``force``) when ``week`` is already under way: it contains ``now`` in the community's zone.

    Planning a week that is over leaves everyone out (no start is ``min_notice_hours`` ahead),
    records that round and, with ``run``, mails every member a "no meeting for you" note for a
    week that is over. Planning the week under way is much the same, only partly: most of its
    free time has gone by, so most members are left out and told so, in a week they are already
    in. ``force`` is for an organizer who means it (a first round started on a Monday, say).
    """
    week_start, week_end = week.bounds(community.timezone)
    last_start = week_end - dt.timedelta(minutes=community.meeting_minutes)
    if week_end <= now:
        raise UsageError(f"--week: {week} is over (leave out --week to plan next week)")
    if last_start < now + dt.timedelta(hours=community.min_notice_hours):
        raise UsageError(
            f"--week: too late to plan {week}: no meeting could start at least "
            f"{community.min_notice_hours} hours from now (leave out --week to plan next week)"
        )
    if week_start <= now and not force:
        raise UsageError(
            f"--week: {week} is under way: members would be told of a round for a week they "
            "are already in (leave out --week to plan next week, or add --force to plan this "
            "one anyway)"
        )
