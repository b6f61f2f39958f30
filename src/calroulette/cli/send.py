"""`calroulette send`: deliver a week's planned round (outbox, SMTP or Discord), exactly once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from calroulette.redact import SECRETS

from .app import (
    ConfigOption,
    JsonOption,
    WeekOption,
    app,
    handle_errors,
    load,
    now,
    resolve_week,
    stderr,
    stdout,
)

if TYPE_CHECKING:
    from calroulette.config import Community
    from calroulette.delivery.weekly import Outcome
    from calroulette.invites import DeliveryKey


@app.command()
@handle_errors
def send(
    week: WeekOption = None,
    config: ConfigOption = Path("members.toml"),
    as_json: JsonOption = False,
) -> None:
    """Send the week's planned round: one invitation per member, notes to those left out.

    Each message is recorded before it is sent and marked once it is delivered, so running
    this again sends only what did not go out. Exit code 75 while anything is still pending
    (run it again later); 1 when a recipient was rejected or sending needs you (login refused,
    certificate, webhook missing: those messages stay pending until the next run).

    Example: calroulette send --week 2026-W49 --config members.toml
    """
    from calroulette.delivery.weekly import send_week  # deferred: see cli/__init__.py

    at = now()
    community = load(config, members=False)
    target = resolve_week(week, community, at)
    finish(community, send_week(community, target, now=at), as_json=as_json)


def finish(community: Community, outcome: Outcome, *, as_json: bool) -> None:
    """Print what was delivered (stdout), what is pending or failed (stderr); set the exit code."""
    report = outcome.report
    err = stderr()
    if outcome.note:
        err.print(outcome.note, markup=False)
    if as_json:
        payload = {
            "week": str(outcome.week),
            "sent": [_key(k) for k in report.sent + report.already],
            "pending": [{**_key(k), "error": SECRETS.mask(e)} for k, e in report.pending],
            "failed": [{**_key(k), "error": SECRETS.mask(e)} for k, e in report.failed],
        }
        typer.echo(json.dumps(payload, indent=2))
    else:
        delivered = len(report.sent) + len(report.already)
        where = _where(community, outcome)
        stdout().print(
            f"{outcome.week}: {delivered} delivered{where}, {len(report.pending)} pending, "
            f"{len(report.failed)} failed",
            markup=False,
        )
    for key, error in report.failed:
        err.print(f"failed: {key.recipient}: {SECRETS.mask(error)}", markup=False)
    if report.stopped:
        err.print(f"stopped: {SECRETS.mask(report.stopped)}", markup=False)
    errors = {SECRETS.mask(e) for _, e in report.pending if e != "not attempted"}
    for error in sorted(errors):
        err.print(f"pending: {error} (run the same command again later)", markup=False)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _key(k: DeliveryKey) -> dict[str, object]:
    return {
        "meeting": k.meeting_uid,
        "recipient": k.recipient,
        "kind": str(k.kind),
        "sequence": k.sequence,
    }


def _where(community: Community, outcome: Outcome) -> str:
    from calroulette.config import DeliveryMethod

    d = community.delivery
    if d.method is DeliveryMethod.OUTBOX:
        return f" to {d.outbox / str(outcome.week)}"
    if d.method is DeliveryMethod.SMTP:
        return f" via {d.smtp_host}:{d.smtp_port}"
    return " to Discord"
