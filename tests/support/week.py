"""A small community on disk for the `run` tests: members.toml, one file calendar per member
(free every day at the same UTC hours), the history database and the outbox beside it; and
`calroulette` run as its own process with the clock pinned (``CALROULETTE_NOW``)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import random
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import icalendar
import tomlkit

from calroulette.store import DeliveryRow, open_store
from calroulette.timeutil import format_utc

CALROULETTE = Path(sys.executable).with_name("calroulette")
UTC = dt.UTC

# name, email, zone
PEOPLE = [
    ("Ada Lovelace", "ada@example.org", "Europe/London"),
    ("Grace Hopper", "grace@example.org", "America/New_York"),
    ("Alan Turing", "alan@example.org", "Europe/Berlin"),
    ("Katherine Johnson", "katherine@example.org", "America/Chicago"),
]


def free_daily(start: dt.time = dt.time(9), end: dt.time = dt.time(17), days: str = "") -> bytes:
    """A calendar free every day (or on ``days``: ``MO,TU,WE``) from ``start`` to ``end`` UTC,
    from 2026 on."""
    rule = "FREQ=DAILY" if not days else f"FREQ=WEEKLY;BYDAY={days}"
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calroulette tests//EN\r\n"
        "BEGIN:VEVENT\r\nUID:free-daily@test\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART:20260105T{start:%H%M%S}Z\r\nDTEND:20260105T{end:%H%M%S}Z\r\n"
        f"RRULE:{rule}\r\nSUMMARY:Free for coffee\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def write_club(
    folder: Path,
    *,
    zone: str = "Europe/Berlin",
    people: Iterable[tuple[str, str, str]] = PEOPLE,
    calendars: Mapping[str, bytes] | None = None,
    delivery: Mapping[str, Any] | None = None,
    members: Mapping[str, Mapping[str, Any]] | None = None,
    tables: Mapping[str, Mapping[str, Any]] | None = None,
    **community: Any,
) -> Path:
    """members.toml in ``folder`` for ``people``, each with a file calendar (default: free
    every day 09:00-17:00 UTC); ``community`` adds to (or replaces) ``[community]``'s settings,
    ``members`` adds settings to a member, by email; ``tables`` adds ``[web]``, ``[replies]``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "calendars").mkdir(exist_ok=True)
    entries = []
    for name, address, member_zone in people:
        path = folder / "calendars" / f"{address.split('@')[0]}.ics"
        path.write_bytes((calendars or {}).get(address, free_daily()))
        entry = {"name": name, "email": address, "calendar": str(path), "timezone": member_zone}
        entry.update((members or {}).get(address, {}))
        entries.append(entry)
    settings = {
        "name": "Week Coffee",
        "organizer": "Week Coffee <coffee@example.org>",
        "timezone": zone,
        "database": "history.sqlite",
        "cache_dir": str(folder / "cache"),
        "min_notice_hours": 24,
        **community,
    }
    doc = {
        "community": settings,
        "delivery": dict(delivery or {"method": "outbox", "outbox": "outbox"}),
        **{name: dict(values) for name, values in (tables or {}).items()},
        "members": entries,
    }
    config = folder / "members.toml"
    config.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return config


def environment(now: dt.datetime, **extra: str) -> dict[str, str]:
    return {**os.environ, "CALROULETTE_NOW": format_utc(now), "COLUMNS": "200", **extra}


def calroulette(
    config: Path, now: dt.datetime, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`calroulette <args> --config <config>` in its own process, the clock at ``now``."""
    return subprocess.run(
        [str(CALROULETTE), *args, "--config", str(config)],
        env=environment(now, **(env or {})),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def start(
    config: Path, now: dt.datetime, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """The same, started and left running (to be killed, or to race another one)."""
    return subprocess.Popen(
        [str(CALROULETTE), *args, "--config", str(config)],
        env=environment(now, **(env or {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def emls(folder: Path) -> list[Path]:
    """Every message the outbox holds, every week's."""
    return sorted((folder / "outbox").rglob("*.eml")) if (folder / "outbox").exists() else []


def ledger(folder: Path) -> list[DeliveryRow]:
    """Every delivery the history database holds, account emails included."""
    if not (folder / "history.sqlite").exists():
        return []
    with open_store(folder / "history.sqlite", readonly=True) as store:
        return store.deliveries.rows(accounts=True)


def killed_then_run(
    config: Path,
    now: dt.datetime,
    rng: random.Random,
    *,
    kills: int = 3,
    env: Mapping[str, str] | None = None,
) -> tuple[subprocess.CompletedProcess[str], int]:
    """`calroulette run -q` at ``now``, SIGKILLed ``kills`` times at seeded random moments
    (while it starts, reads the mailbox, plans, records, sends …), then run to its end; and how
    many of the runs were really killed (a run that finished first was not)."""
    killed = 0
    for _ in range(kills):
        proc = subprocess.Popen(
            [str(CALROULETTE), "run", "-q", "--config", str(config)],
            env=environment(now, **(env or {})),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            proc.wait(timeout=rng.uniform(0.1, 1.2))
        except subprocess.TimeoutExpired:
            proc.kill()  # SIGKILL
            proc.wait()
            killed += 1
    return calroulette(config, now, "run", "-q", env=env), killed


@dataclass(frozen=True)
class Sent:
    """One email of the outbox, as its recipient's mail program reads it."""

    to: str
    kind: str  # the delivery kind in its file name: request, cancel, reminder, followup …
    method: str  # the iTIP METHOD of its calendar part, "" without one
    uid: str  # the calendar part's UID, "" without one
    sequence: int  # the calendar part's SEQUENCE (-1 without one)
    start: dt.datetime | None
    message: EmailMessage


def outbox(folder: Path) -> list[Sent]:
    found = []
    for path in emls(folder):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        kind = path.name.rsplit(".", 2)[-2].rsplit("-", 1)[0]
        method, uid, sequence, start = "", "", -1, None
        part = next((p for p in msg.walk() if p.get_content_type() == "text/calendar"), None)
        if part is not None:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            cal = icalendar.Calendar.from_ical(payload)
            event = next(iter(cal.walk("VEVENT")))
            method, uid = str(cal["METHOD"]), str(event["UID"])
            sequence, start = int(event.get("SEQUENCE", 0)), event.decoded("DTSTART")
        to = str(msg["To"].addresses[0].addr_spec).lower()
        found.append(Sent(to, kind, method, uid, sequence, start, msg))
    return found


def body(msg: EmailMessage) -> str:
    """The plain-text part of an email."""
    part = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def links(msg: EmailMessage, path: str) -> list[str]:
    """The addresses in an email's text that go to ``path`` (``/cant/``, ``/met/``)."""
    return [u for u in re.findall(r"https?://[^\s<>\"')]+", body(msg)) if path in u]


def keys(rows: Iterable[DeliveryRow]) -> Counter[tuple[str, str, str, int]]:
    """The ledger's deliveries as (recipient, kind, meeting, sequence), counted."""
    return Counter(
        (r.key.recipient, str(r.key.kind), r.key.meeting_uid, r.key.sequence) for r in rows
    )
