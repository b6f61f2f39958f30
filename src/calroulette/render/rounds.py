"""Rounds for people to read: the round `match` planned, the history, one member's outcome."""

from __future__ import annotations

from rich.table import Table

from calroulette.config import Community, MemberStatus
from calroulette.matching import MeetingStatus, Round
from calroulette.service.planning import HistoryResult, Why

from .text import plain_table


def round_text(community: Community, round_: Round, *, saved: bool = True) -> str:
    """Meetings with each member's local time, then who is left out and why.

    Plain aligned text rather than a rich Table: a round of 10,000 members has ~5,000 rows,
    which a Table takes seconds to lay out."""
    people = {m.email: m for m in community.members}
    rows = []
    for meeting in round_.meetings:
        when = meeting.start.astimezone(community.timezone)
        names, local_times = [], []
        for email in meeting.members:
            member = people.get(email)
            names.append(member.name if member else email)
            zone = member.timezone if member else community.timezone
            city = str(zone).rsplit("/", 1)[-1].replace("_", " ")
            local_times.append(f"{meeting.start.astimezone(zone):%a %H:%M} {city}")
        alternatives = ", ".join(
            f"{a.astimezone(community.timezone):%a %H:%M}" for a, _ in meeting.alternatives
        )
        rows.append(
            [
                f"{when:%a %d %b %H:%M}",
                "\n".join(names),
                "\n".join(local_times),
                alternatives or "—",
            ]
        )
    state = round_.status.value if saved else "dry run"
    title = (
        f"{community.name}: {round_.week} ({state}), "
        f"{len(round_.meetings)} meetings (times in {community.timezone})"
    )
    text = [title, "", plain_table(["when", "who", "local time", "alternatives"], rows)]
    if round_.unmatched:
        left = [
            [people[u.member].name if u.member in people else u.member, u.message]
            for u in round_.unmatched
        ]
        text += ["", "left out", "", plain_table(["member", "why"], left)]
    return "\n".join(text)


def history_table(community: Community, result: HistoryResult) -> Table:
    """One row per meeting (its status when it is not simply going ahead) and per member left
    out, week by week, in the member's zone (or the community's). Someone no longer in
    members.toml shows as their email, marked as having left."""
    people = {m.email: m for m in community.members}
    email = result.member

    def name(address: str) -> str:
        known = people.get(address)
        return known.name if known else f"{address} ({MemberStatus.LEFT})"

    zone = people[email].timezone if email in people else community.timezone
    table = Table(title=f"{community.name}: history ({zone})", title_justify="left")
    table.add_column("week")
    table.add_column("status")
    table.add_column("when")
    table.add_column("who")
    for r in result.rounds:
        meetings = r.meetings if email is None else [m for m in r.meetings if email in m.members]
        for m in meetings:
            status = r.status.value
            if m.status in (MeetingStatus.CANCELLED, MeetingStatus.MOVED):
                status = f"{status}, {m.status.value}"
            table.add_row(
                str(r.week),
                status,
                f"{m.start.astimezone(zone):%a %d %b %H:%M}",
                " & ".join(name(e) for e in m.members),
            )
        for u in r.unmatched:
            if email is None or u.member == email:
                table.add_row(str(r.week), r.status.value, "—", f"{name(u.member)}: {u.message}")
    return table


def explain(community: Community, why: Why) -> str:
    """One member's outcome in a round as a sentence (local times in their zone)."""
    round_, email = why.round, why.email
    member = community.member(email)
    name = member.name if member else email
    zone = member.timezone if member else community.timezone
    state = (
        f"{round_.week} ({round_.status.value})"
        if why.saved
        else f"{round_.week} (not planned yet: what `calroulette match` would decide now)"
    )
    meeting = round_.meeting_of(email)
    if meeting is not None:
        others = [_name(community, e) for e in meeting.members if e != email]
        start = meeting.start.astimezone(zone)
        end = meeting.end.astimezone(zone)
        alternatives = len(meeting.alternatives)
        extra = f"; {alternatives} other shared time(s) kept" if alternatives else ""
        return (
            f"{state}: {name} meets {' and '.join(others)} on "
            f"{start:%a %d %b %H:%M}–{end:%H:%M} ({zone}){extra}."
        )
    unmatched = round_.unmatched_of(email)
    if unmatched is not None:
        return f"{state}: {name} is left out: {unmatched.message}."
    return f"{state}: {name} was not a member when this round was planned."


def _name(community: Community, email: str) -> str:
    member = community.member(email)
    return member.name if member else email
