"""What a delivery did, for the person (or cron) running the command: where the week stands on
stdout (`sent 7 of 8, 1 failed`), and on stderr each failure with the server's words and the
command that recovers it."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from calroulette.config import Community, DeliveryMethod
from calroulette.redact import SECRETS
from calroulette.timeutil import IsoWeek

if TYPE_CHECKING:
    from calroulette.service.sending import Outcome
    from calroulette.store import WeekDeliveries

RETRY = "`calroulette send --retry-failed`"


def summary(community: Community, outcome: Outcome) -> str:
    """``2026-W49: sent 7 of 8 via smtp.example.org:587, 1 failed``: every run's messages of
    the week together (a week is sent when all of them are)."""
    state, week, report = outcome.state, outcome.week, outcome.report
    if state is None:  # what this run did, for a change that did not look at the whole week
        delivered = len(report.sent) + len(report.already)
        to = destination(community, week)
        return (
            f"{week}: sent {delivered}{to}, {len(report.pending)} pending, "
            f"{len(report.failed)} failed"
        )
    return progress(state, where=f"{week}: ", to=destination(community, week))


def progress(state: WeekDeliveries, *, where: str = "", to: str = "") -> str:
    """``sent 7 of 8, 1 failed``: a week's messages, every run's together."""
    parts = [f"{where}sent {state.sent} of {state.total}{to}"]
    if state.pending:
        parts.append(f"{state.pending} pending")
    if state.failed:
        parts.append(f"{state.failed} failed")
    return ", ".join(parts)


def problems(outcome: Outcome, now: dt.datetime) -> list[str]:
    """What the organizer should know, one line each: corrections applied, failures (with what
    to do), why sending stopped, what waits to be retried."""
    lines = [
        f"corrected: {c.old} is now {c.new} in {c.week} "
        + (f"({c.recorded} updated message(s) recorded)" if c.recorded else "(not sent yet)")
        for c in outcome.corrections
    ]
    if outcome.retried:
        lines.append(f"retried: {outcome.retried} failed message(s) sent again")
    failures = outcome.state.failures if outcome.state else tuple(outcome.report.failed)
    for key, error in failures:
        lines.append(f"failed: {key.recipient}: {_mask(error)} ({_fix(error)})")
    report = outcome.report
    if report.stopped:
        lines.append(f"stopped: {_mask(report.stopped)}")
    errors = {_mask(e) for _, e in report.pending if e != "not attempted"}
    lines += [f"pending: {error} (run the same command again later)" for error in sorted(errors)]
    waiting: dict[str, dt.datetime] = {}
    for _, error, at in report.deferred:
        shown = _mask(error)
        waiting[shown] = min(at, waiting.get(shown, at))
    for error, at in sorted(waiting.items()):
        lines.append(f"pending: {error} (tried again after {_when(at, now)}; {RETRY} to try now)")
    return lines


def _fix(error: str) -> str:
    if " recipient: " in error:
        return (
            "if the address is wrong, correct it in members.toml and run `calroulette send`; "
            f"otherwise {RETRY} once the cause is fixed"
        )
    return f"{RETRY} once the cause is fixed"


def _when(at: dt.datetime, now: dt.datetime) -> str:
    minutes = max(0, round((at - now).total_seconds() / 60))
    return f"{at:%H:%M}Z" if minutes >= 120 else f"{minutes} min"


def _mask(text: str) -> str:
    return SECRETS.mask(text)


def destination(community: Community, week: IsoWeek) -> str:
    """`` to outbox/2026-W49``, `` via smtp.example.org:587``, `` to Discord``."""
    d = community.delivery
    if d.method is DeliveryMethod.OUTBOX:
        return f" to {d.outbox / str(week)}"
    if d.method is DeliveryMethod.SMTP:
        return f" via {d.smtp_host}:{d.smtp_port}"
    return " to Discord"
