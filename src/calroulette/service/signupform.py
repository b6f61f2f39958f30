"""The sign-up form (:class:`SignupForm`) checked as members.toml checks a member, and what the
sign-up page tells the person instead of going on (:class:`SignupError` and its kinds).

The calendar field takes a web address only: a stranger's "calendar" must never name a file on
the organizer's machine. It is registered as a secret the moment it is read, and no message here
ever quotes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from calroulette.config import Frequency, parse_community
from calroulette.config.model import EMAIL_RE
from calroulette.config.roster import NewMember
from calroulette.config.text import not_plain_text
from calroulette.errors import CalrouletteError, ConfigError
from calroulette.redact import SECRETS, is_url
from calroulette.timeutil import load_zone

MAX = {"name": 80, "email": 254, "calendar": 2000, "topics": 300, "team": 60}
MAX_TOPICS = 10


@dataclass(frozen=True, slots=True)
class SignupForm:
    """The sign-up form as typed (``topics`` comma-separated)."""

    name: str = ""
    email: str = ""
    calendar: str = ""
    timezone: str = ""
    topics: str = ""
    team: str = ""
    frequency: str = "weekly"


class SignupError(CalrouletteError):
    """What the sign-up page tells the person instead of going on; ``status`` for the web."""

    status = 400
    exit_code = 2


class SignupInvalid(SignupError):
    """Fields to correct: ``problems`` by field name, one sentence each (never the address)."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{field}: {text}" for field, text in problems.items()))


class SignupUnavailable(SignupError):
    """Sign-up is closed (``[web] signup = "closed"``) or cannot work here (no email)."""

    status = 404


class ConfirmRefused(SignupError):
    """A confirmation link that must not be honoured: ``code`` "invalid" (403) or "expired"
    (410: too old, or its sign-up expired)."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.status = 410 if code == "expired" else 403
        super().__init__(code)


def new_member(form: SignupForm) -> NewMember:
    """The form as a member, validated as members.toml validates one; SignupInvalid with
    every problem otherwise."""
    problems: dict[str, str] = {}
    values = {f: str(getattr(form, f) or "").strip() for f in MAX}
    for field, longest in MAX.items():
        if len(values[field]) > longest:
            problems[field] = f"at most {longest} characters"
    calendar = typed_calendar(form.calendar, problems)
    email = values["email"].lower()
    if not EMAIL_RE.match(email):
        problems.setdefault("email", "must be an email address like ada@example.org")
    zone = typed_zone(form.timezone, problems)
    topics = [t.strip() for t in values["topics"].split(",") if t.strip()]
    if len(topics) > MAX_TOPICS:
        problems.setdefault("topics", f"at most {MAX_TOPICS} topics")
    frequency = form.frequency.strip() or Frequency.WEEKLY.value
    if frequency not in {f.value for f in Frequency}:
        problems["frequency"] = "choose weekly, biweekly or monthly"
    for field in ("name", "team"):
        if problem := not_plain_text(values[field]):
            problems.setdefault(field, problem)
    if not values["name"]:
        problems.setdefault("name", "tell us the name partners see in invitations")
    extra: dict[str, str] = {}
    if frequency != Frequency.WEEKLY.value:
        extra["frequency"] = frequency
    if values["team"]:
        extra["team"] = values["team"]
    new = NewMember(values["name"], email, calendar, zone.key if zone else "", tuple(topics), extra)
    if not problems:
        problems = _as_members_toml(new)
    if problems:
        raise SignupInvalid(problems)
    return new


def typed_calendar(value: str, problems: dict[str, str]) -> str:
    """The calendar address typed, registered as a secret at once: a web address only (a
    stranger's "calendar" must never name a file on this machine)."""
    calendar = value.strip()
    SECRETS.add(calendar)
    if not is_url(calendar) or any(c.isspace() for c in calendar):
        problems["calendar"] = (
            "paste your calendar's secret iCal address, starting with https:// or webcal://"
        )
    elif len(calendar) > MAX["calendar"]:
        problems["calendar"] = f"at most {MAX['calendar']} characters"
    return calendar


def typed_zone(name: str, problems: dict[str, str]) -> ZoneInfo | None:
    try:
        return load_zone(name.strip())
    except ValueError as error:
        problems["timezone"] = str(error)
        return None


def _as_members_toml(new: NewMember) -> dict[str, str]:
    """Problems members.toml's own validation finds in ``new`` (as `members add` would)."""
    raw: dict[str, object] = {
        "name": new.name,
        "email": new.email,
        "calendar": new.calendar,
        "timezone": new.timezone,
        **new.extra,
    }
    if new.topics:
        raw["topics"] = list(new.topics)
    data = {
        "community": {"name": "x", "organizer": "x <x@example.org>", "timezone": "UTC"},
        "members": [raw],
    }
    try:
        parse_community(data, base_dir=Path("/nonexistent"))
    except ConfigError as error:
        out: dict[str, str] = {}
        for p in error.problems:
            out.setdefault(p.field.split("[")[0], p.message)
        return out
    return {}
