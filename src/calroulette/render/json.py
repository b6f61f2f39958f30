"""The documented ``--json`` shapes, one function per result: what scripts read.

Times are UTC with ``Z``; states and reasons are their codes, next to the sentence people read.
The calendar address is never in a shape, only its redacted form.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from calroulette.config import Member, MemberStatus
from calroulette.errors import FeedError
from calroulette.intervals import Intervals
from calroulette.redact import SECRETS, redact_url
from calroulette.timeutil import IsoWeek, format_utc

if TYPE_CHECKING:  # types only: `check` and `send` must not load planning, delivery or feeds
    from calroulette.invites import DeliveryKey
    from calroulette.matching import Meeting, Round
    from calroulette.service.health import Health, MemberHealth
    from calroulette.service.planning import HistoryResult
    from calroulette.service.sending import Outcome
    from calroulette.store import WeekDeliveries


def intervals_json(spans: Intervals) -> list[list[str]]:
    return [[format_utc(s.start), format_utc(s.end)] for s in spans]


def free_time_json(member: str, week: IsoWeek, zone: dt.tzinfo, free: Intervals) -> dict[str, Any]:
    return {
        "member": member,
        "week": str(week),
        "timezone": str(zone),
        "free": intervals_json(free),
    }


def error_json(error: FeedError) -> dict[str, str]:
    return {"member": error.member, "error": f"{error.stage}: {error.message}"}


def round_json(round_: Round) -> dict[str, Any]:
    """A round: its meetings, who is left out (the reason's code and sentence), feed errors."""
    return {
        "week": str(round_.week),
        "status": round_.status.value,
        "meetings": [meeting_json(m) for m in round_.meetings],
        "unmatched": [
            {"member": u.member, "reason": u.message, "code": u.reason.value}
            for u in round_.unmatched
        ],
        "errors": [{"member": e.member, "error": e.error} for e in round_.errors],
    }


def meeting_json(meeting: Meeting) -> dict[str, Any]:
    return {
        "uid": meeting.uid,
        "status": meeting.status.value,
        "sequence": meeting.sequence,
        "members": list(meeting.members),
        "start": format_utc(meeting.start),
        "end": format_utc(meeting.end),
        "alternatives": [[format_utc(a), format_utc(b)] for a, b in meeting.alternatives],
    }


def history_json(result: HistoryResult) -> dict[str, Any]:
    """Every round, with where its messages stand (``delivery``); for one member, their
    meeting or their reason in each. A meeting with recorded answers has ``attendance``."""
    if result.member is None:
        rounds = []
        for r in result.rounds:
            shape = {**round_json(r), **_delivery(result, r)}
            for meeting in shape["meetings"]:
                meeting.update(_attendance(result, meeting["uid"]))
            rounds.append(shape)
        return {"rounds": rounds}
    email = result.member
    rounds = []
    for r in result.rounds:
        meeting = r.meeting_of(email)
        unmatched = r.unmatched_of(email)
        rounds.append(
            {
                "week": str(r.week),
                "status": r.status.value,
                "meeting": (
                    {**meeting_json(meeting), **_attendance(result, meeting.uid)}
                    if meeting
                    else None
                ),
                "reason": unmatched.message if unmatched else None,
                "code": unmatched.reason.value if unmatched else None,
                **_delivery(result, r),
            }
        )
    return {"member": email, "rounds": rounds}


def _attendance(result: HistoryResult, uid: str) -> dict[str, Any]:
    """``{"attendance": {email: {"answer", "source", "sequence", "answered_at", "met"}}}`` when
    anything was recorded for the meeting, else nothing (the shape is unchanged)."""
    answers = result.attendance.get(uid)
    if not answers:
        return {}
    return {
        "attendance": {
            email: {
                "answer": a.partstat.value.lower() if a.partstat else None,
                "source": a.source.value if a.source else None,
                "sequence": a.sequence,
                "answered_at": format_utc(a.answered_at) if a.answered_at else None,
                "met": a.met.value if a.met else None,
            }
            for email, a in sorted(answers.items())
        }
    }


def _delivery(result: HistoryResult, round_: Round) -> dict[str, Any]:
    state = result.deliveries.get(round_.week)
    return {"delivery": deliveries_json(state, round_)} if state is not None else {}


def health_json(health: Health) -> dict[str, object]:
    """``check``: the same rows as the terminal, nothing more."""

    def row(r: MemberHealth) -> dict[str, object]:
        return {
            "member": r.member,
            "name": r.name,
            "status": str(r.level),
            "message": r.message,
            "fix": r.fix,
            "kind": r.kind or None,
            "stage": r.stage or None,
            "source": r.source or None,
            "free_hours": r.free_hours,
            "availability_events": r.availability_events,
            "availability_times": r.availability_times,
            "busy_events": r.busy_events,
            "feed_status": r.feed_status,
            "feed_age_hours": r.feed_age_hours,
            "notes": list(r.notes),
        }

    return {
        "week": str(health.week),
        "status": str(health.level),
        "config": [row(r) for r in health.config],
        "members": [row(r) for r in health.members],
    }


def member_json(member: Member, today: dt.date, *, resting: bool = False) -> dict[str, Any]:
    """What `members list` shows of a member: never the full calendar address, never `avoid`.
    ``resting``: the rounds found no free time long enough to pause them until they add some."""
    return {
        "name": member.name,
        "email": member.email,
        "timezone": str(member.timezone),
        "calendar": redact_url(member.calendar),
        "status": member_status(member, today, resting=resting),
        "paused": member.paused,
        "paused_until": member.paused_until.isoformat() if member.paused_until else None,
        "frequency": member.frequency.value,
        "topics": sorted(member.topics),
        "team": member.team,
    }


def member_status(member: Member, today: dt.date, *, resting: bool = False) -> str:
    """``active``, ``paused``, ``paused until 2027-01-10`` or ``paused until free time``."""
    status = member.status(today)
    if status is MemberStatus.PAUSED_UNTIL and member.paused_until is not None:
        return f"paused until {member.paused_until.isoformat()}"
    if status is MemberStatus.ACTIVE and resting:
        return "paused until free time"
    return status.value


def report_json(outcome: Outcome) -> dict[str, Any]:
    """What a delivery run did (``sent``, ``pending``: to retry, ``failed``: refused this run,
    each with the error), and where the week stands (``state``, with every message that failed
    for good and every one waiting to be retried, whichever run it was)."""
    report = outcome.report
    payload: dict[str, Any] = {
        "week": str(outcome.week),
        "sent": [_key(k) for k in report.sent + report.already],
        "pending": [{**_key(k), "error": SECRETS.mask(e)} for k, e in report.pending],
        "failed": [{**_key(k), "error": SECRETS.mask(e)} for k, e in report.failed],
        "deferred": [
            {**_key(k), "error": SECRETS.mask(e), "retry_at": format_utc(at)}
            for k, e, at in report.deferred
        ],
        "retried": outcome.retried,
        "corrected": [
            {"week": str(c.week), "old": c.old, "new": c.new} for c in outcome.corrections
        ],
    }
    if outcome.state is not None:
        payload["state"] = deliveries_json(outcome.state, outcome.round)
    return payload


def deliveries_json(state: WeekDeliveries, round_: Round | None) -> dict[str, Any]:
    """Where a week's messages stand: the round's state code, the counts, the failures."""
    shown = state.state(round_.status).value if round_ is not None else None
    return {
        "state": shown,
        "sent": state.sent,
        "pending": state.pending,
        "failed": state.failed,
        "total": state.total,
        "failures": [{**_key(k), "error": SECRETS.mask(e)} for k, e in state.failures],
        "waiting": [
            {
                **_key(k),
                "error": SECRETS.mask(e),
                "retry_at": format_utc(at) if at is not None else None,
            }
            for k, e, at in state.waiting
        ],
    }


def _key(k: DeliveryKey) -> dict[str, object]:
    return {
        "meeting": k.meeting_uid,
        "recipient": k.recipient,
        "kind": str(k.kind),
        "sequence": k.sequence,
    }
