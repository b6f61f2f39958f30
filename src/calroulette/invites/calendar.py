"""A meeting as an iCalendar object: RFC 5546 iTIP ``REQUEST`` or ``CANCEL``, one VEVENT.

The VEVENT carries the meeting's stable UID, DTSTAMP, SEQUENCE, DTSTART/DTEND, SUMMARY,
DESCRIPTION, ORGANIZER (the community's organizer, the same address as From so Accept/Decline
replies reach a person), one ATTENDEE per member and, in a REQUEST when the community has
``reminder_minutes``, a VALARM (``ACTION:DISPLAY``, ``TRIGGER:-PT{n}M``): the calendar app's own
reminder, beside ours (a CANCEL carries none: nothing is left to remind of).

Times are written in **UTC** (``…Z``): a meeting is a single instance, so a TZID would add
nothing but a VTIMEZONE that can disagree with the client's own rules; every client shows a UTC
time in the reader's zone, and DST cannot shift it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from email.utils import parseaddr

import icalendar

from calroulette.config import Community
from calroulette.matching import Meeting
from calroulette.timeutil import ensure_utc

from .keys import Kind
from .people import Person, names, person

PRODID = "-//calroulette//calroulette//EN"


def summary(community: Community, people: Sequence[Person]) -> str:
    return f"☕ {community.name}: {names(people, first=True)}"


def build_calendar(
    meeting: Meeting,
    community: Community,
    *,
    link: str,
    sequence: int,
    dtstamp: dt.datetime,
    method: Kind = Kind.REQUEST,
) -> icalendar.Calendar:
    """The iTIP object for ``meeting``: METHOD:REQUEST, or METHOD:CANCEL with STATUS:CANCELLED."""
    people = [person(community, e) for e in meeting.members]
    cancel = method is Kind.CANCEL
    organizer_name, _ = parseaddr(community.organizer)
    event = icalendar.Event.new(
        uid=meeting.uid,
        stamp=ensure_utc(dtstamp),
        sequence=sequence,
        start=ensure_utc(meeting.start),
        end=ensure_utc(meeting.end),
        summary=summary(community, people),
        description=_description(community, people, link),
        organizer=icalendar.vCalAddress.new(
            community.organizer_email, cn=organizer_name or community.name
        ),
        attendees=[
            icalendar.vCalAddress.new(
                p.email, cn=p.name, role="REQ-PARTICIPANT", partstat="NEEDS-ACTION", rsvp=True
            )
            for p in people
        ],
        location=link,
        url=link,
        status=icalendar.enums.STATUS.CANCELLED if cancel else icalendar.enums.STATUS.CONFIRMED,
        transparency=icalendar.enums.TRANSP.OPAQUE,
    )
    if not cancel and community.reminder_minutes > 0:
        event.add_component(_alarm(community.reminder_minutes, event))
    calendar = icalendar.Calendar.new(
        prodid=PRODID, method="CANCEL" if cancel else "REQUEST", subcomponents=[event]
    )
    del calendar["UID"]  # Calendar.new() adds a random one: keep the object reproducible
    return calendar


def _alarm(minutes: int, event: icalendar.Event) -> icalendar.Alarm:
    """A display alarm ``minutes`` before the start. Its TRIGGER is written as minutes, as the
    setting reads (``-PT90M``; icalendar would write ``-PT1H30M``, the same duration), and its
    DESCRIPTION (required for DISPLAY, RFC 5545 §3.6.6) is the event's title. No UID: the
    object must be the same bytes every time it is rendered."""
    alarm = icalendar.Alarm()
    alarm.add("ACTION", "DISPLAY")
    alarm.add("DESCRIPTION", str(event["SUMMARY"]))
    alarm["TRIGGER"] = icalendar.vText(f"-PT{minutes}M")  # a DURATION value: digits and letters
    return alarm


def _description(community: Community, people: Sequence[Person], link: str) -> str:
    return (
        f"A {community.meeting_minutes}-minute coffee chat from {community.name} "
        f"for {names(people)}.\nJoin: {link}\n"
        "Can't make it? The invitation email says how to pick another time or let the others "
        "know."
    )
