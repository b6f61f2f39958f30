"""What one ``run`` did, for cron's mail: a line per step that did something, the round's week,
and what the organizer should know; and the same as JSON.

Quiet (``run -q``, for cron every 15 minutes): only the steps that did something, one line each,
on stdout, and their problems on stderr; a run that found nothing due prints nothing, so cron
mails nothing. The week under way without its round is said once, to the first quiet run that
finds it. Without ``-q``, also the round planned, where the week's round stands (or when it is
due), every time, the messages waiting for a later retry, and the steps' notes (follow-ups off
for want of links: a note that holds for days, too much for a mail every quarter of an hour).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, cast

from calroulette.config import Community
from calroulette.delivery import Report
from calroulette.invites import Kind
from calroulette.matching import RoundStatus
from calroulette.redact import SECRETS
from calroulette.service.due import RunReport, Step, StepOutcome, StepStatus, delivery_report
from calroulette.service.sending import Outcome
from calroulette.store import short_id
from calroulette.store.inbox import InboxOutcome
from calroulette.timeutil import format_utc

from .delivery import destination, problems, progress, summary
from .json import report_json

if TYPE_CHECKING:
    from calroulette.service.rematch import RematchReport
    from calroulette.service.reminders import DueReport
    from calroulette.service.replies import RepliesReport


def run_lines(community: Community, result: RunReport, *, quiet: bool) -> list[str]:
    """stdout: one line per step that did something; without ``quiet``, where the round stands."""
    if result.busy:
        return []
    lines: list[str] = []
    for step in result.steps:
        if step.status is not StepStatus.DONE:
            continue
        if step.step is Step.ROUND and isinstance(step.result, Outcome):
            lines.append(_round_line(community, step.result, quiet=quiet))
        else:
            lines.append(step_line(step))
    if not quiet and not _round_done(result):
        lines.append(_week_line(community, result))
    return lines


def run_problems(result: RunReport, now: dt.datetime, *, quiet: bool) -> list[str]:
    """stderr: another run under way, failed steps, the week under way without its round, and
    each message that failed (with what to do); without ``quiet``, also what waits for a retry."""
    if result.busy:
        return [
            "another `calroulette run` is still under way: this one did nothing "
            "(the next run does what is due)"
        ]
    lines = []
    for step in result.steps:
        if step.error:
            lines.append(f"{step.step}: failed: {SECRETS.mask(step.error)}")
        lines += [SECRETS.mask(line) for line in step.problems]
        if not quiet:  # a note may hold for days (follow-ups without links): not every quarter
            lines += [SECRETS.mask(line) for line in step.notes]
    if result.missed is not None and (result.missed_news or not quiet):
        week = result.missed
        lines.append(
            f"warning: {week} began without its round being sent: "
            f"`calroulette run --week {week} --force` plans and sends it now"
        )
    round_ = result.round
    if round_ is not None and round_.note and not quiet:
        lines.append(round_.note)
    report = result.report
    if quiet:
        report = Report(
            sent=report.sent,
            already=report.already,
            pending=report.pending,
            failed=report.failed,
            stopped=report.stopped,
            fatal=report.fatal,
        )
    shown = Outcome(
        result.week,
        report,
        0,
        state=round_.state if round_ is not None and (result.explicit or result.planned) else None,
        retried=round_.retried if round_ is not None else 0,
        corrections=round_.corrections if round_ is not None else (),
    )
    return lines + problems(shown, now)


def run_json(result: RunReport) -> dict[str, Any]:
    """``send --json``'s shape for every message this run handed over (``sent``, ``pending``,
    ``failed``, ``deferred``) and the week's ``state``; plus ``planned``, ``due_at`` (when the
    week's round is due), ``missed`` (the week under way, begun without its round), ``busy``
    (another run was under way) and ``steps``: each step's ``status`` (done, idle, off,
    failed), its ``error`` and what it did."""
    round_ = result.round
    outcome = Outcome(
        result.week,
        result.report,
        round_.recorded if round_ is not None else 0,
        round=round_.round if round_ is not None else None,
        state=result.state,
        retried=round_.retried if round_ is not None else 0,
        corrections=round_.corrections if round_ is not None else (),
    )
    payload = report_json(outcome)
    if result.state is not None and result.status is not None:
        payload["state"]["state"] = result.state.state(result.status).value
    payload.update(
        planned=result.planned,
        due_at=format_utc(result.due_at),
        missed=str(result.missed) if result.missed is not None else None,
        busy=result.busy,
        steps=[step_json(s) for s in result.steps],
    )
    return payload


def _round_done(result: RunReport) -> bool:
    step = result.step(Step.ROUND)
    return step is not None and step.status is StepStatus.DONE


def _round_line(community: Community, outcome: Outcome, *, quiet: bool) -> str:
    """As ``send`` says it (``2026-W49: sent 8 of 8 to …``); quiet: one line with the round."""
    sent = summary(community, outcome)
    if not quiet:
        return sent
    round_ = outcome.round
    if round_ is None:
        return f"round: {sent}"
    what = f"{len(round_.meetings)} meeting{'s' if len(round_.meetings) != 1 else ''}"
    if round_.unmatched:
        what += f", {len(round_.unmatched)} left out"
    verb = "planned" if outcome.planned else "sent"
    return f"round: {outcome.week} {verb} ({what}); {sent.removeprefix(f'{outcome.week}: ')}"


def _week_line(community: Community, result: RunReport) -> str:
    """Where the week's round stands, or when it is due."""
    week = result.week
    when = result.due_at.astimezone(community.timezone)
    due = f"{when:%a %d %b %Y %H:%M} {community.timezone}"
    if result.status is RoundStatus.PLANNED:
        return (
            f"{week}: the round is planned, and is sent {due} "
            f"(`calroulette run --week {week}` sends it now)"
        )
    if result.state is not None:
        return progress(result.state, where=f"{week}: ", to=destination(community, week))
    return (
        f"{week}: the round is due {due} (`calroulette run --week {week}` plans and sends it now)"
    )


def step_line(step: StepOutcome) -> str:
    """What a step did, in a few words: ``replies: 2 answers recorded, 1 decline acted on``."""
    result = step.result
    if step.step is Step.REPLIES:
        parts = _replies(cast("RepliesReport", result))
    elif step.step is Step.REMATCHES:
        parts = _rematches(cast("RematchReport", result))
    elif step.step is Step.REMINDERS:
        parts = _reminders(cast("DueReport", result))
    else:
        parts = []
    report = delivery_report(step)
    if report is not None:
        parts += _sent(report)
    return f"{step.step}: " + (", ".join(parts) or "done")


def _sent(report: Report) -> list[str]:
    parts = []
    sent = len(report.sent) + len(report.already)
    if sent:
        parts.append(f"{_count(sent, 'message')} sent")
    if report.pending:
        parts.append(f"{len(report.pending)} pending")
    if report.failed:
        parts.append(f"{len(report.failed)} failed")
    return parts


def _replies(report: RepliesReport) -> list[str]:
    counts = report.counts
    recorded = counts.get(InboxOutcome.RECORDED, 0)
    declined = counts.get(InboxOutcome.DECLINED, 0)
    ignored = sum(counts.get(o, 0) for o in _IGNORED)
    parts = [f"{_count(len({n.message for n in report.notes}), 'message')} read"]
    if recorded:
        parts.append(f"{_count(recorded, 'answer')} recorded")
    if declined:
        parts.append(f"{_count(declined, 'decline')} acted on")
    if ignored:
        parts.append(f"{ignored} ignored (stale, or not from an attendee)")
    if report.waiting:
        parts.append(f"{report.waiting} left for the next run")
    return parts


_IGNORED = (InboxOutcome.STALE, InboxOutcome.STRANGER, InboxOutcome.NO_ANSWER)


def _rematches(report: RematchReport) -> list[str]:
    parts = []
    if report.rematched:
        parts.append(f"{_count(report.rematched, 'new partner')} found")
    if report.told:
        parts.append(f"{_count(report.told, 'member')} told nobody was free")
    other = len(report.settled) - report.rematched - report.told
    if other:
        parts.append(f"{other} settled without a message (week over, or left)")
    return parts


SKIPPED_LISTED = 3  # meetings named one by one in a skipped reminder's note; more are counted


def _reminders(report: DueReport) -> list[str]:
    from calroulette.service.reminders import Skip

    parts = []
    if report.reminders:
        parts.append(f"{_count(len(report.reminders), 'reminder')} recorded")
    if report.followups:
        parts.append(f"{_count(len(report.followups), 'did-you-meet message')} recorded")
    groups: dict[tuple[Kind, Skip], list[str]] = {}
    for skipped in report.skipped:
        groups.setdefault((skipped.kind, skipped.reason), []).append(short_id(skipped.uid))
    for (kind, reason), ids in groups.items():
        what = "reminder" if kind is Kind.REMINDER else '"did you meet?"'
        why = "the meeting had begun" if reason is Skip.STARTED else "too late"
        if len(ids) <= SKIPPED_LISTED:
            meetings = f"meeting{'' if len(ids) == 1 else 's'} {', '.join(ids)}"
        else:  # after a long stop: a count, not a line of hundreds of ids
            meetings = f"{len(ids)} meetings"
        parts.append(f"{what} of {meetings} not sent ({why})")
    if report.withdrawn:
        parts.append(f"{len(report.withdrawn)} withdrawn (no longer useful)")
    return parts


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def step_json(step: StepOutcome) -> dict[str, Any]:
    """A step's entry in ``steps``: its status, what went wrong, what it did."""
    shown: dict[str, Any] = {"step": str(step.step), "status": str(step.status)}
    if step.error:
        shown["error"] = SECRETS.mask(step.error)
    if step.problems:
        shown["problems"] = [SECRETS.mask(p) for p in step.problems]
    if step.notes:
        shown["notes"] = [SECRETS.mask(n) for n in step.notes]
    result = step.result
    if step.step is Step.REPLIES and result is not None:
        replies = cast("RepliesReport", result)
        shown["read"] = {str(k): v for k, v in sorted(replies.counts.items())}
        shown["waiting"] = replies.waiting
    elif step.step is Step.REMATCHES and result is not None:
        rematches = cast("RematchReport", result)
        shown["settled"] = [
            {
                "week": str(s.week),
                "member": s.email,
                "meeting": s.uid,
                "outcome": str(s.outcome),
                "partner": s.partner,
                "new_meeting": s.meeting.uid if s.meeting else None,
            }
            for s in rematches.settled
        ]
    elif step.step is Step.REMINDERS and result is not None:
        due = cast("DueReport", result)
        shown["reminders"] = len(due.reminders)
        shown["followups"] = len(due.followups)
        shown["skipped"] = [
            {"meeting": k.uid, "kind": str(k.kind), "reason": str(k.reason)} for k in due.skipped
        ]
        shown["withdrawn"] = len(due.withdrawn)
        shown["next_due"] = format_utc(due.next_due) if due.next_due else None
    report = delivery_report(step)
    if report is not None:
        shown["sent"] = len(report.sent) + len(report.already)
        shown["pending"] = len(report.pending)
        shown["failed"] = len(report.failed)
    return shown
