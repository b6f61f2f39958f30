"""What a member left out of a round reads: one text per :class:`~calroulette.matching.Reason`,
in the member's words. Pure: no network, no clock, no files.

Each note is written from the reason's code and plain facts: the week, the community's rules (a
number of weeks, of minutes, of hours), the week a cooldown ends and whether the member comes
first next week (:class:`~calroulette.matching.Unmatched`), never from the organizer's sentence
stored beside the code, which can hold a calendar address, an HTTP status or a parser's
diagnostics. It promises only what the rules will do: "you come first next week" only when
``first_next`` says the next round puts them first and that can help
(:mod:`calroulette.matching.reasons` explains what "first" buys).

A note for a reason that holds until the member acts (:attr:`Reason.tell_once`) says it is sent
once: the sender does not send it again while the reason stays the same.

A member whose calendar shows no free time for :data:`RESTING_WEEKS` rounds in a row gets one
more note (``resting``): they are paused until they add free time, and nothing is sent to them
while it lasts. Nothing is stored for it: they stay in every round's reading, and the first round
that finds free time pairs them as usual (the service layer derives who is resting from the
rounds: ``service.resting_members``).
"""

from __future__ import annotations

from dataclasses import dataclass

from calroulette.config import Community
from calroulette.matching import Reason, Unmatched
from calroulette.timeutil import IsoWeek

GUIDE = "the calroulette guide for members"
FREE_TIME_SECTION = "Mark when you are free"  # docs/members.md, section 1
ADDRESS_SECTION = "Find your calendar's secret address"  # docs/members.md, section 2
HEADING = "No meeting for you this week"
RESTING_WEEKS = 3  # rounds in a row without free time, after which a member is left in peace


@dataclass(frozen=True, slots=True)
class Note:
    subject: str
    paragraphs: tuple[str, ...]  # after the greeting
    heading: str = "No meeting for you this week"  # the HTML part's title (see HEADING)


def note(
    unmatched: Unmatched, community: Community, week: IsoWeek, *, resting: bool = False
) -> Note:
    """The note to ``unmatched.member``, left out of ``week``'s round; ``resting``: the one of
    :data:`RESTING_WEEKS` rounds in a row without free time (for :attr:`Reason.NO_FREE_TIME`)."""
    reason = unmatched.reason
    subject = f"{community.name}: no meeting for you in {week}"
    opening = f"{community.name} has no meeting for you in {week_of(week)}."
    if resting and reason is Reason.NO_FREE_TIME:
        subject += ": paused until you add free time"
        heading = "Paused until you add free time"
        return Note(subject, (opening, *_resting(unmatched, community)), heading)
    heading = HEADING
    if reason is Reason.FEED_ERROR:
        subject += ": we could not read your calendar"
        heading = "We could not read your calendar"
    elif reason is Reason.NO_FREE_TIME:
        subject += ": no free time in your calendar"
        heading = "No free time in your calendar"
    contact = f"If your calendar or plans changed, write to {community.organizer_email}."
    if reason.own_choice:  # never sent for a round (they chose it), but written as it is
        chose = "You are paused." if reason is Reason.PAUSED else "You meet less often than weekly."
        return Note(subject, (f"{opening} {chose}", contact), heading)
    if reason.tell_once:
        return Note(subject, (opening, *_until_you_act(unmatched, community)), heading)
    why = _why(unmatched, community)
    return Note(subject, (f"{opening} {why}", *_next(unmatched, week), contact), heading)


def week_of(week: IsoWeek) -> str:
    """``the week of Monday 30 November (2026-W49)``."""
    monday = week.monday()
    return f"the week of Monday {monday.day} {monday:%B} ({week})"


def _why(unmatched: Unmatched, community: Community) -> str:
    """Why, for the reasons that change with other people's calendars and the history."""
    reason = unmatched.reason
    if reason is Reason.ALL_PAIRED:
        return (
            "Someone was free at the same time as you, but they were paired with someone else: "
            "the round pairs as many members as it can, and this time that left you out."
        )
    if reason is Reason.ONLY_TEAMMATES:
        return (
            "The only members free at the same time as you were on your own team, and "
            f"{community.name} pairs people from different teams."
        )
    if reason is Reason.COOLDOWN:
        weeks = _weeks(community.cooldown_weeks)
        return (
            f"Everyone free at the same time as you has met you in the last {weeks} (or is due "
            f"to meet you within {weeks}), and {community.name} does not pair the same two "
            f"people again within {weeks}."
        )
    return "Nobody else was free at the times you marked as free."  # NO_SHARED_TIME


def _next(unmatched: Unmatched, week: IsoWeek) -> list[str]:
    """What the rules will do next, and what the member can do."""
    out = []
    ends = unmatched.cooldown_ends
    if unmatched.reason is Reason.COOLDOWN and ends is not None:
        when = "next week" if ends == week.shifted(1) else f"from {week_of(ends)}"
        out.append(f"At least one of them can be paired with you again {when}.")
    if unmatched.first_next:
        out.append(
            "You come first next week: members left out this week are paired before the "
            "others, whenever someone free at the same time can meet them."
        )
    if unmatched.reason is Reason.ALL_PAIRED:
        out.append("Sorry about that. Nothing to do on your side.")
    else:
        out.append(
            "Sorry about that. More free time in your calendar means more people you can "
            f"meet: see “{FREE_TIME_SECTION}” in {GUIDE}."
        )
    return out


def _until_you_act(unmatched: Unmatched, community: Community) -> list[str]:
    """The reasons only the member can end: what happened, how to check it, and that this note
    is not sent again while it lasts."""
    organizer = community.organizer_email
    if unmatched.reason is Reason.FEED_ERROR:
        return [
            "We could not read your calendar this week, so we could not see when you are free.",
            "Please check the calendar address you gave the organizer: an address stops "
            "working when its link is reset, or when the calendar is no longer shared or "
            f"published. “{ADDRESS_SECTION}” in {GUIDE} shows where to find the current one "
            f"in each calendar app. If it changed, send the new one to {organizer} and to "
            "nobody else (it works like a password). If nothing changed on your side, write to "
            f"{organizer} too: the organizer can see what went wrong.",
            "We will not send this note again while your calendar cannot be read. As soon as "
            "it can, you can be paired again.",
        ]
    keyword = community.keyword
    member = community.member(unmatched.member)
    if member is not None:
        keyword = community.keyword_for(member)
    notice = community.min_notice_hours
    soon = (
        f" (times less than {_hours(notice)} after the round was planned do not count)"
        if notice
        else ""
    )
    return [  # NO_FREE_TIME
        "We found no free time in your calendar that week: no event with the word "
        f"“{keyword}” in its title left room for a {community.meeting_minutes}-minute meeting "
        f"once your other events were taken out{soon}.",
        f"To be paired, add an event titled “{keyword}” at times you could meet, best repeating "
        f"every week: “{FREE_TIME_SECTION}” in {GUIDE} shows how. Questions? Write to "
        f"{organizer}.",
        "We will not send this note again while your calendar shows no free time. As soon as "
        "it does, you can be paired again.",
    ]


def _resting(unmatched: Unmatched, community: Community) -> list[str]:
    """No free time for :data:`RESTING_WEEKS` rounds: paused (derived, nothing stored) until
    the calendar shows free time again; no more notes meanwhile."""
    member = community.member(unmatched.member)
    keyword = community.keyword_for(member) if member is not None else community.keyword
    return [
        f"Your calendar has shown no free time for {RESTING_WEEKS} weeks in a row, so you are "
        "paused until you add free time to your calendar: you will get no more of these notes "
        "meanwhile, and you stay a member.",
        "As soon as your calendar shows free time again, you are paired as usual, with nothing "
        f"else to do: add an event titled “{keyword}” at times you could meet, best "
        f"repeating every week (“{FREE_TIME_SECTION}” in {GUIDE} shows how).",
        f"Questions? Write to {community.organizer_email}.",
    ]


def _weeks(n: int) -> str:
    return "1 week" if n == 1 else f"{n} weeks"


def _hours(n: int) -> str:
    return "1 hour" if n == 1 else f"{n} hours"
