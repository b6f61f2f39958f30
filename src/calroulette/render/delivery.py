"""What a delivery did, for the person (or cron) running the command: the summary on stdout,
each failure and what to do on stderr."""

from __future__ import annotations

from calroulette.config import Community, DeliveryMethod
from calroulette.delivery import Report
from calroulette.redact import SECRETS
from calroulette.timeutil import IsoWeek


def summary(community: Community, week: IsoWeek, report: Report) -> str:
    """``2026-W49: 8 delivered to outbox/2026-W49, 0 pending, 0 failed``."""
    delivered = len(report.sent) + len(report.already)
    return (
        f"{week}: {delivered} delivered{_where(community, week)}, "
        f"{len(report.pending)} pending, {len(report.failed)} failed"
    )


def problems(report: Report) -> list[str]:
    """One line per failed recipient, why sending stopped, each distinct pending error."""
    lines = [f"failed: {key.recipient}: {SECRETS.mask(error)}" for key, error in report.failed]
    if report.stopped:
        lines.append(f"stopped: {SECRETS.mask(report.stopped)}")
    errors = {SECRETS.mask(e) for _, e in report.pending if e != "not attempted"}
    lines += [f"pending: {error} (run the same command again later)" for error in sorted(errors)]
    return lines


def _where(community: Community, week: IsoWeek) -> str:
    d = community.delivery
    if d.method is DeliveryMethod.OUTBOX:
        return f" to {d.outbox / str(week)}"
    if d.method is DeliveryMethod.SMTP:
        return f" via {d.smtp_host}:{d.smtp_port}"
    return " to Discord"
