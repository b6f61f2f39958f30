"""A community for the "can't make it" tests: members whose calendars are served by
pytest-httpserver (each a few "free" spans in 2026-W49), a members.toml written to disk (so
``serve`` can serve it too), outbox delivery, a round recorded by hand and sent for real; and
the outbox read back as a mail program reads it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import icalendar
from pytest_httpserver import HTTPServer

from calroulette import service
from calroulette.config import Community
from calroulette.matching import Meeting, Round, Unmatched
from calroulette.store import open_store
from calroulette.timeutil import UTC, IsoWeek

from .mail import parse

NOW = dt.datetime(2026, 11, 24, 12, tzinfo=UTC)  # the Tuesday before 2026-W49
WEEK = IsoWeek(2026, 49)  # Mon 30 Nov - Sun 6 Dec 2026
BASE_URL = "http://127.0.0.1:8000"


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A UTC instant in December 2026."""
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def free_ics(*spans: tuple[dt.datetime, dt.datetime]) -> bytes:
    """A calendar whose only events are "Free" ones at ``spans``."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//cant//EN"]
    for n, (start, end) in enumerate(spans):
        lines += [
            "BEGIN:VEVENT",
            f"UID:free-{n}@test",
            "DTSTAMP:20261101T000000Z",
            f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
            f"DTEND:{end:%Y%m%dT%H%M%SZ}",
            "SUMMARY:Free",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


@dataclass
class Person:
    name: str
    free: Sequence[tuple[dt.datetime, dt.datetime]] = ()
    zone: str = "UTC"
    extra: dict[str, Any] = field(default_factory=dict)  # standby, avoid, paused, team...
    address: str | None = None  # default: the first name, lower-cased, @example.org

    @property
    def email(self) -> str:
        return self.address or f"{self.name.split()[0].lower()}@example.org"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, frozenset, set)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(
    tmp_path: Path,
    httpserver: HTTPServer,
    people: Sequence[Person],
    *,
    method: str = "outbox",
    base_url: str | None = BASE_URL,
    **settings: Any,
) -> Path:
    """members.toml for ``people``, each calendar served by ``httpserver``."""
    lines = [
        "[community]",
        'name = "Test Coffee"',
        'organizer = "Test Coffee <coffee@example.org>"',
        'timezone = "UTC"',
        f'cache_dir = "{tmp_path / "cache"}"',
        "allow_private_feeds = true",
        'database = "calroulette.sqlite"',
        *(f"{k} = {_toml(v)}" for k, v in settings.items()),
        "",
        "[delivery]",
        f'method = "{method}"',
        'outbox = "outbox"',
        "",
    ]
    if base_url is not None:
        lines += ["[web]", f'base_url = "{base_url}"', ""]
    for person in people:
        path = f"/cal/{person.email.split('@')[0]}.ics"
        httpserver.expect_request(path).respond_with_data(
            free_ics(*person.free), content_type="text/calendar"
        )
        lines += [
            "[[members]]",
            f"name = {_toml(person.name)}",
            f"email = {_toml(person.email)}",
            f"calendar = {_toml(httpserver.url_for(path))}",
            f"timezone = {_toml(person.zone)}",
            *(f"{k} = {_toml(v)}" for k, v in person.extra.items()),
            "",
        ]
    config = tmp_path / "members.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    return config


def meeting(uid: str, members: Sequence[str], start: dt.datetime, minutes: int = 30) -> Meeting:
    return Meeting(uid, tuple(sorted(members)), start, start + dt.timedelta(minutes=minutes))


def record_and_send(
    config: Path,
    meetings: Sequence[Meeting],
    unmatched: Sequence[Unmatched] = (),
    *,
    week: IsoWeek = WEEK,
    now: dt.datetime = NOW,
    send: bool = True,
) -> Community:
    """Record ``week``'s round as given, then send it (invitations into the outbox)."""
    community = service.load(config)
    with open_store(community.database) as store, store.transaction():
        store.rounds.record(Round(week, 1, tuple(meetings), tuple(unmatched)), at=now)
    if send:
        service.send(community, week, now=now)
    return community


def outbox(config: Path, week: IsoWeek = WEEK) -> dict[str, bytes]:
    """Every file of the week's outbox folder, by name."""
    folder = config.parent / "outbox" / str(week)
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.eml"))} if folder.exists() else {}


def calendar_of(msg: EmailMessage) -> icalendar.Calendar:
    part = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return icalendar.Calendar.from_ical(payload)


@dataclass(frozen=True)
class Itip:
    """One email of the outbox as iTIP: who it went to, METHOD, SEQUENCE, UID, start, attendees."""

    file: str
    to: str
    method: str
    sequence: int
    uid: str
    start: dt.datetime
    attendees: tuple[str, ...]


def itips(config: Path, week: IsoWeek = WEEK) -> list[Itip]:
    out = []
    for name, raw in outbox(config, week).items():
        msg = parse(raw)
        if not any(p.get_content_type() == "text/calendar" for p in msg.walk()):
            continue
        cal = calendar_of(msg)
        event = next(iter(cal.walk("VEVENT")))
        out.append(
            Itip(
                name,
                str(msg["To"].addresses[0].addr_spec),
                str(cal["METHOD"]),
                int(str(event["SEQUENCE"])),
                str(event["UID"]),
                event.decoded("DTSTART"),
                tuple(sorted(str(a).removeprefix("mailto:") for a in event.get("ATTENDEE"))),
            )
        )
    return out


def notes(config: Path, kind: str = "no-rematch", week: IsoWeek = WEEK) -> dict[str, EmailMessage]:
    """The emails of ``kind`` (by file name), without a calendar: by recipient."""
    return {
        str(parse(raw)["To"].addresses[0].addr_spec): parse(raw)
        for name, raw in outbox(config, week).items()
        if f".{kind}-" in name
    }


def mount_cant(app: Any) -> None:
    """The "can't make it" routes on ``app`` when web/app.py does not add them yet."""
    from calroulette.web import cant

    if not any(getattr(r, "name", None) == "cant" for r in app.router.routes):
        app.router.routes[0:0] = cant.routes
