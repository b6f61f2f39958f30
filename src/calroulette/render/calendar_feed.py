"""History as a calendar: every scheduled meeting of every round in one iCalendar file.

The organizer subscribes to (or imports) the file to see the community's meetings next to their
own. It is a published calendar (METHOD:PUBLISH), not an invitation: no ORGANIZER or ATTENDEE,
so a calendar app never offers to reply or sends anything to the members.

UIDs are derived from, but not equal to, the invitations' UIDs: a calendar app that already holds
an invitation with that UID (the organizer's own copy) would otherwise merge the two or refuse
the import.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import replace

import icalendar

from calroulette.config import Community
from calroulette.matching import Meeting, Round, RoundStatus

PRODID = "-//calroulette//history//EN"


def history_calendar(
    rounds: Iterable[Round],
    *,
    community: str,
    names: Mapping[str, str],
    generated: dt.datetime,
) -> icalendar.Calendar:
    """One VEVENT per meeting, in UTC, titled like the invitations ("☕ Ada & Grace").

    ``names`` maps emails to display names; members who left members.toml appear by email.
    Cancelled meetings are left out.
    """
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{community}: coffee meetings")
    calendar.add("x-wr-caldesc", f"Every meeting calroulette has planned for {community}.")
    for round_ in sorted(rounds, key=lambda r: r.week):
        for meeting in sorted(round_.meetings, key=lambda m: (m.start, m.members)):
            if not meeting.status.active:
                continue
            calendar.add_component(
                _event(meeting, round_, community=community, names=names, stamp=generated)
            )
    return calendar


def history_ics(
    rounds: Iterable[Round],
    *,
    community: Community,
    generated: dt.datetime,
    member: str | None = None,
) -> str:
    """``rounds`` as the text of an .ics file; with ``member`` (an email), only their meetings."""
    chosen = [
        replace(r, meetings=tuple(m for m in r.meetings if member is None or member in m.members))
        for r in rounds
    ]
    names = {m.email: m.name for m in community.members}
    calendar = history_calendar(chosen, community=community.name, names=names, generated=generated)
    return bytes(calendar.to_ical()).decode("utf-8")


def _event(
    meeting: Meeting,
    round_: Round,
    *,
    community: str,
    names: Mapping[str, str],
    stamp: dt.datetime,
) -> icalendar.Event:
    people = [names.get(email, email) for email in meeting.members]
    event = icalendar.Event()
    event.add("uid", f"history-{meeting.uid}")
    event.add("dtstamp", stamp.astimezone(dt.UTC))
    event.add("dtstart", meeting.start.astimezone(dt.UTC))
    event.add("dtend", meeting.end.astimezone(dt.UTC))
    event.add("summary", f"☕ {community}: {' & '.join(people)}")
    lines = [f"Week {round_.week}, round {round_.status.value}."]
    lines += [f"{name} <{email}>" for name, email in zip(people, meeting.members, strict=True)]
    event.add("description", "\n".join(lines))
    confirmed = round_.status is RoundStatus.SENT
    event.add("status", "CONFIRMED" if confirmed else "TENTATIVE")
    event.add("transp", "TRANSPARENT")  # the organizer's own free/busy is not affected
    event.add("categories", ["calroulette"])
    return event
