"""Real parts for the reminder, follow-up and "did you meet?" tests: a community (outbox or
Discord) with a sent round recorded in a real history database, the outbox read back as a mail
client would, and the member pages served with the ``/met`` routes."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import tomlkit

from calroulette.config import Community, load_community
from calroulette.matching import Meeting, MeetingStatus, Round
from calroulette.store import open_store
from calroulette.timeutil import IsoWeek
from calroulette.web import met

from . import web as web_support
from .mail import PEOPLE, community_data

UTC = dt.UTC
WEEK = IsoWeek(2026, 49)
SENT_AT = dt.datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # Tuesday of the week before
START = dt.datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # Tuesday 1 December, 14:00Z
WEBHOOK_PATH = "/api/webhooks/123/secret-token"
WEBHOOK_ENV = "CALROULETTE_DISCORD_WEBHOOK"
ADA, GRACE, ZOE, ALAN = (p[1] for p in PEOPLE)


def write_config(
    tmp_path: Path,
    *,
    method: str = "outbox",
    base_url: str | None = "https://coffee.example.org",
    people: Sequence[tuple[str, str, str, str | None]] | None = None,
    **settings: Any,
) -> Path:
    """members.toml for the four people of :mod:`.mail` (or ``people``), with ``settings`` in
    ``[community]`` (reminder_minutes, reminder_email, followup …)."""
    data = community_data(list(people) if people else None, method=method)
    data["community"].update(database="history.sqlite", **settings)
    data["delivery"].setdefault("rate_limit_per_minute", 100_000)
    if base_url is not None:
        data["web"] = {"base_url": base_url}
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "members.toml"
    path.write_text(tomlkit.dumps(data), encoding="utf-8")
    return path


def make(tmp_path: Path, **kwargs: Any) -> Community:
    return load_community(write_config(tmp_path, **kwargs))


def meeting(
    uid: str, *members: str, start: dt.datetime = START, minutes: int = 30, sequence: int = 0
) -> Meeting:
    return Meeting(
        uid=uid,
        members=tuple(sorted(members)),
        start=start,
        end=start + dt.timedelta(minutes=minutes),
        sequence=sequence,
    )


def sent_round(
    community: Community, *meetings: Meeting, week: IsoWeek = WEEK, at: dt.datetime = SENT_AT
) -> None:
    """Record ``meetings`` as ``week``'s round and mark it sent (its invitations are not the
    subject here: the ledger holds none of them)."""
    with open_store(community.database) as store, store.transaction():
        store.rounds.record(Round(week, 1, tuple(meetings), ()), at=at)
        store.rounds.mark_sent(week, at)


def change(community: Community, moved: Meeting) -> None:
    """Record a meeting's new time, sequence or status, as cancel and reschedule do."""
    with open_store(community.database) as store, store.transaction():
        store.rounds.change(moved)


def cancelled(m: Meeting) -> Meeting:
    return Meeting(
        m.uid, m.members, m.start, m.end, m.alternatives, m.sequence + 1, MeetingStatus.CANCELLED
    )


def outbox_messages(community: Community, kind: str) -> dict[str, list[EmailMessage]]:
    """The outbox's emails of ``kind`` (``reminder``, ``followup``), by recipient (To)."""
    found: dict[str, list[EmailMessage]] = {}
    for path in sorted(community.delivery.outbox.rglob(f"*.{kind}-*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        found.setdefault(msg["To"].addresses[0].addr_spec, []).append(msg)
    return found


@contextmanager
def serving_met(config: Path, **kwargs: Any) -> Iterator[web_support.Site]:
    """:func:`.web.serving` with the ``/met`` routes in the app (until web/app.py mounts them
    itself: then this adds nothing)."""
    original = web_support.__dict__["create_app"]

    def create(settings: Any, **options: Any) -> Any:
        app = original(settings, **options)
        if not any(getattr(route, "name", None) == "met" for route in app.routes):
            app.router.routes.extend(met.routes)
        return app

    setattr(web_support, "create_app", create)  # noqa: B010 - serving() looks it up there
    try:
        with web_support.serving(config, **kwargs) as site:
            yield site
    finally:
        setattr(web_support, "create_app", original)  # noqa: B010
