"""A member's settings as the member page edits them: what was typed, checked and normalised
(:func:`checked`), and what a calendar address leaves behind in the caches when it is replaced
or its member leaves (:func:`forget_calendar`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from calroulette.config import Community, Member
from calroulette.config.model import Frequency, Unsubscribe
from calroulette.config.text import not_plain_text
from calroulette.errors import UsageError
from calroulette.redact import is_url, redact_url
from calroulette.timeutil import IsoWeek, load_zone

MAX_NAME = 80
MAX_TOPICS = 10
MAX_TOPIC = 40


@dataclass(frozen=True, slots=True)
class Settings:
    """A member's settings as typed into the page; None: not on the form."""

    name: str | None = None
    timezone: str | None = None
    frequency: str | None = None
    topics: str | None = None  # comma-separated
    unsubscribe: str | None = None


FIELDS = frozenset({"name", "timezone", "frequency", "topics", "unsubscribe"})


def settings_of(values: Mapping[str, object]) -> Settings:
    """:class:`Settings` from a mapping of its field names (topics may be a list); other keys
    are refused."""
    unknown = sorted(set(values) - FIELDS)
    if unknown:
        raise UsageError(f"{', '.join(unknown)}: not a setting a member changes")
    out: dict[str, str | None] = {}
    for name, value in values.items():
        if value is None or isinstance(value, str):
            out[name] = value
        elif isinstance(value, Iterable):
            out[name] = ", ".join(str(v) for v in value)
        else:
            out[name] = str(value)
    return Settings(**out)


def current_settings(member: Member) -> dict[str, object]:
    """``member``'s settings as :func:`checked` gives them (topics sorted, lower-case)."""
    return {
        "name": member.name,
        "timezone": member.timezone.key,
        "frequency": member.frequency.value,
        "topics": sorted(member.topics),
        "unsubscribe": member.unsubscribe.value,
    }


def differs(key: str, new: object, old: object) -> bool:
    """``new`` (from :func:`checked`) is another value than ``old`` (from :func:`current`);
    topics compare as members.toml reads them, in lower case and any order."""
    if key == "topics":
        assert isinstance(new, list)
        return sorted({t.lower() for t in new}) != old
    return new != old


def checked(changes: Settings | Mapping[str, object], *, strict: bool = True) -> dict[str, object]:
    """The fields given, checked: a name on one line, a known zone, a frequency and unsubscribe
    choice from their lists, topics split at commas. A field that does not pass is a
    :class:`UsageError` saying what to type (with ``strict``), or left out."""
    if not isinstance(changes, Settings):
        changes = settings_of(changes)
    out: dict[str, object] = {}
    for field, value in (
        ("name", changes.name),
        ("timezone", changes.timezone),
        ("frequency", changes.frequency),
        ("topics", changes.topics),
        ("unsubscribe", changes.unsubscribe),
    ):
        if value is None:
            continue
        try:
            out[field] = _check(field, value)
        except UsageError:
            if strict:
                raise
    return out


def _check(field: str, value: str) -> object:
    text = value.strip()
    if field == "name":
        if not text:
            raise UsageError("Name: please give the name partners will see.")
        if len(text) > MAX_NAME:
            raise UsageError(f"Name: at most {MAX_NAME} characters.")
        if problem := not_plain_text(text):
            raise UsageError(f"Name: {problem}.")
        return text
    if field == "timezone":
        try:
            return load_zone(text).key
        except ValueError as exc:
            raise UsageError(f"Time zone: {exc}.") from None
    if field == "frequency":
        if text not in set(Frequency):
            raise UsageError("How often: choose weekly, biweekly or monthly.")
        return text
    if field == "unsubscribe":
        if text not in set(Unsubscribe):
            raise UsageError("Unsubscribe: choose pause or leave.")
        return text
    topics = list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if len(topics) > MAX_TOPICS or any(len(t) > MAX_TOPIC for t in topics):
        raise UsageError(
            f"Topics: at most {MAX_TOPICS}, separated by commas, each up to {MAX_TOPIC} characters."
        )
    for topic in topics:
        if problem := not_plain_text(topic):
            raise UsageError(f"Topics: {problem}.")
    return topics


def shown_calendar(calendar: str) -> str:
    """A calendar as a page may show it: an address redacted, a file by its name."""
    return redact_url(calendar) if is_url(calendar) else Path(calendar).name


def forget_calendar(community: Community, member: Member) -> None:
    """Delete the cached copies of ``member.calendar`` (the feed's last good body, the free
    time computed from it), unless another member of ``community`` uses that calendar.

    The feed cache is keyed by a hash of the address (:func:`calroulette.feeds.cache.cache_key`);
    free-time entries by a hash of the body, the member, their zone and keyword and the week
    (:class:`calroulette.availability.FreeTimeReader`): those computed from the body the feed
    cache held (or the file's) are deleted for every week cached. Entries from an older body or
    zone cannot be found (their key needs the body); they hold free intervals only, no name or
    address, and go with their week (``KEEP_WEEKS``)."""
    calendar = member.calendar
    if any(m.calendar == calendar for m in community.members if m.email != member.email):
        return
    from calroulette.availability import FreeTimeReader
    from calroulette.feeds.cache import FeedCache

    body: bytes | None = None
    if is_url(calendar):
        if (community.cache_dir / "feeds.sqlite").exists():
            with FeedCache(community.cache_dir) as feeds:
                cached = feeds.load(calendar)
                body = cached.body if cached is not None else None
                feeds.forget(calendar)
    else:
        try:
            body = Path(calendar).read_bytes()
        except OSError:
            body = None
    if body is None or not (community.cache_dir / "free.sqlite").exists():
        return
    with FreeTimeReader(community, IsoWeek(2000, 1), workers=1, expected=1) as reader:
        weeks = [IsoWeek.parse(w) for (w,) in reader.cache.query("SELECT DISTINCT week FROM free")]
    for week in weeks:
        with FreeTimeReader(community, week, workers=1, expected=1) as reader:
            entry = reader._key(body, member)  # the key the reader itself looks up
            reader.cache.write("DELETE FROM free WHERE week = ? AND key = ?", [(str(week), entry)])
