"""Rounds for people to read: the round `match` planned, the history, one member's outcome."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from calroulette.config import Community, MemberStatus
from calroulette.invites import Kind
from calroulette.matching import MeetingStatus, Reason, Round, RoundError
from calroulette.service.planning import HistoryResult, Why
from calroulette.store import (
    AnswerSource,
    Attendance,
    DeliveryStatus,
    Met,
    WeekDeliveries,
    short_id,
)

from .delivery import progress
from .literal import literal, printable
from .text import plain_table


def round_text(community: Community, round_: Round, *, saved: bool = True) -> Text:
    """Meetings with each member's local time, then who is left out and why.

    Plain aligned text rather than a rich Table: a round of 10,000 members has ~5,000 rows,
    which a Table takes seconds to lay out. A :class:`Text`, printed as written: names and
    reasons are not rich markup (see :mod:`.literal`)."""
    people = {m.email: m for m in community.members}
    rows = []
    for meeting in round_.meetings:
        when = meeting.start.astimezone(community.timezone)
        names, local_times = [], []
        for email in meeting.members:
            member = people.get(email)
            names.append(printable(member.name if member else email))
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
    state = round_.status.value if saved else "dry run: nothing recorded"
    title = (
        f"{community.name}: {round_.week} ({state}), "
        f"{len(round_.meetings)} meetings (times in {community.timezone})"
    )
    text = [printable(title), "", plain_table(["when", "who", "local time", "alternatives"], rows)]
    if round_.unmatched:
        left = [
            [
                printable(people[u.member].name if u.member in people else u.member),
                printable(u.message),
            ]
            for u in round_.unmatched
        ]
        text += ["", "left out", "", plain_table(["member", "why"], left)]
    return Text("\n".join(text))  # each name and reason made printable above: one per line


def errors_not_shown(round_: Round) -> tuple[RoundError, ...]:
    """The feed errors :func:`round_text` does not show: a member left out for their feed
    error is listed in its table with the error and its fix already (a paused member whose
    calendar failed is not)."""
    shown = {u.member for u in round_.unmatched if u.reason is Reason.FEED_ERROR}
    return tuple(e for e in round_.errors if e.member not in shown)


def history_table(community: Community, result: HistoryResult) -> Table:
    """One row per meeting (its short id, which `cancel` and `reschedule` accept, and its status
    when it is not simply going ahead) and per member left out, week by week, in the member's
    zone (or the community's). Someone no longer in members.toml shows as their email, marked as
    having left. Every cell is a :class:`Text`: a reason read back from the database may quote a
    feed (``[/bold]`` in an event's UID), and rich would parse a string as markup."""
    people = {m.email: m for m in community.members}
    email = result.member

    def name(address: str) -> str:
        known = people.get(address)
        return known.name if known else f"{address} ({MemberStatus.LEFT})"

    zone = people[email].timezone if email in people else community.timezone
    table = Table(title=literal(f"{community.name}: history ({zone})"), title_justify="left")
    for column in ("week", "id", "status", "when", "who"):
        table.add_column(column, no_wrap=column == "id")
    for r in result.rounds:
        shown = round_state(r, result.deliveries.get(r.week))
        meetings = r.meetings if email is None else [m for m in r.meetings if email in m.members]
        for m in meetings:
            status = shown
            if m.status in (MeetingStatus.CANCELLED, MeetingStatus.MOVED):
                status = f"{status}, {m.status.value}"
            answers = result.attendance.get(m.uid, {})
            table.add_row(
                literal(str(r.week)),
                literal(short_id(m.uid)),
                literal(status),
                literal(f"{m.start.astimezone(zone):%a %d %b %H:%M}"),
                literal(" & ".join(name(e) + _marks(answers.get(e)) for e in m.members)),
            )
        for u in r.unmatched:
            if email is None or u.member == email:
                table.add_row(
                    literal(str(r.week)),
                    literal("—"),
                    literal(shown),
                    literal("—"),
                    literal(f"{name(u.member)}: {u.message}"),
                )
    return table


def _marks(answer: Attendance | None) -> str:
    """`` (declined, met)``: what a member answered of a meeting, when anything was recorded."""
    said = [] if answer is None else attendance_words(answer)
    return f" ({', '.join(said)})" if said else ""


def attendance_words(answer: Attendance) -> list[str]:
    """``["declined"]``, ``["accepted", "met"]``, ``["did not meet"]`` …"""
    said = [answer.partstat.value.lower()] if answer.partstat is not None else []
    if answer.met is not None:
        said.append("met" if answer.met is Met.YES else "did not meet")
    return said


def round_state(round_: Round, deliveries: WeekDeliveries | None) -> str:
    """``planned``, ``sending``, ``sent`` or ``partly sent``: what people were told of it."""
    if deliveries is None:
        return round_.status.value
    return deliveries.state(round_.status).value.replace("-", " ")


def delivery_lines(result: HistoryResult) -> list[str]:
    """Under the history: each week whose messages did not all go out, and who did not get one
    (with the server's words), for the weeks shown."""
    lines = []
    for r in result.rounds:
        state = result.deliveries.get(r.week)
        if state is None or not (state.failed or state.pending):
            continue
        lines.append(f"{r.week}: {progress(state)}")
        for key, error in state.failures:
            if result.member is None or key.recipient == result.member:
                lines.append(f"  failed: {key.recipient}: {error}")
        for key, error, _ in state.waiting:
            if result.member is None or key.recipient == result.member:
                lines.append(f"  pending: {key.recipient}: {error}")
    return lines


def explain(community: Community, why: Why) -> Text:
    """One member's outcome in a round as a sentence (local times in their zone), printed as
    written (see :mod:`.literal`)."""
    return literal(_explain(community, why))


def _explain(community: Community, why: Why) -> str:
    round_, email = why.round, why.email
    member = community.member(email)
    name = member.name if member else email
    zone = member.timezone if member else community.timezone
    state = (
        f"{round_.week} ({round_state(round_, why.deliveries)})"
        if why.saved
        else f"{round_.week} (not planned yet: what `calroulette match` would decide now)"
    )
    told = _told(why)
    meeting = round_.meeting_of(email)
    if meeting is not None:
        others = [_name(community, e) for e in meeting.members if e != email]
        start = meeting.start.astimezone(zone)
        end = meeting.end.astimezone(zone)
        alternatives = len(meeting.alternatives)
        extra = f"; {alternatives} other shared time(s) kept" if alternatives else ""
        return (
            f"{state}: {name} meets {' and '.join(others)} on "
            f"{start:%a %d %b %H:%M}–{end:%H:%M} ({zone}){extra}.{told}"
            f"{_answers(community, meeting.members, why.attendance)}"
        )
    unmatched = round_.unmatched_of(email)
    if unmatched is not None:
        return f"{state}: {name} is left out: {unmatched.message}.{told}"
    return f"{state}: {name} was not a member when this round was planned."


_SOURCE = {
    AnswerSource.REPLY: "in their calendar app",
    AnswerSource.LINK: "on the can't-make-it page",
}


def _answers(community: Community, members: tuple[str, ...], answers: dict[str, Attendance]) -> str:
    """`` Answers: Grace Hopper declined (in their calendar app); Ada Lovelace met.``"""
    said = []
    for email in members:
        answer = answers.get(email)
        if answer is None:
            continue
        words = attendance_words(answer)
        if not words:
            continue
        where = _SOURCE.get(answer.source) if answer.source and answer.partstat else None
        first = f"{words[0]} ({where})" if where else words[0]
        said.append(f"{_name(community, email)} {', '.join([first, *words[1:]])}")
    return f" Answers: {'; '.join(said)}." if said else ""


def _told(why: Why) -> str:
    """`` Their invitation: sent.`` and the like: what reached the member, once sent."""
    what = {Kind.REQUEST: "invitation", Kind.CANCEL: "cancellation", Kind.UNMATCHED: "note"}
    mine = [r for r in why.mine if r.key.kind in what]  # not reminders, follow-ups, …
    if why.deliveries is None or not mine:
        return ""
    latest = max(mine, key=lambda r: (r.key.sequence, r.key.kind is not Kind.REQUEST))
    said = what[latest.key.kind]
    if latest.status is DeliveryStatus.FAILED:
        return f" Their {said} failed: {latest.last_error}."
    if latest.status is DeliveryStatus.PENDING:
        waiting = f" ({latest.last_error})" if latest.last_error else ""
        return f" Their {said} is waiting to be sent{waiting}."
    return f" Their {said} was {latest.status.value}."


def _name(community: Community, email: str) -> str:
    member = community.member(email)
    return member.name if member else email
