"""Fetch each member's calendar feed: http(s)://, webcal:// (as https) or a local path.

A failure is a :class:`FeedError` value for that member; it never stops the others. Messages show
URLs only through :func:`redact_url`, never requests' own text (it contains the full URL).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import requests

from . import __version__
from .config import Community, Member
from .errors import FeedError
from .redact import is_url, redact_url

MAX_BYTES = 20 * 1024 * 1024
TIMEOUT = (10.0, 30.0)  # connect, read


@dataclass(frozen=True, slots=True)
class Feed:
    member: str
    body: bytes
    source: str  # shown form: redacted URL or path
    fetched_at: dt.datetime


def fetch_feeds(
    community: Community, members: Iterable[Member] | None = None, *, now: dt.datetime
) -> dict[str, Feed | FeedError]:
    """Fetch the feeds of ``members`` (default: everyone); one result per member email."""
    chosen = list(community.members if members is None else members)
    with requests.Session() as session:
        session.headers["User-Agent"] = f"calroulette/{__version__}"
        return {m.email: fetch_feed(m, session, now=now) for m in chosen}


def fetch_feed(member: Member, session: requests.Session, *, now: dt.datetime) -> Feed | FeedError:
    source = member.calendar
    shown = redact_url(source)
    if not is_url(source):
        try:
            return Feed(member.email, Path(source).read_bytes(), shown, now)
        except FileNotFoundError:
            return FeedError(member.email, "calendar", f"file not found: {shown}")
        except OSError as exc:
            return FeedError(member.email, "calendar", f"cannot read {shown}: {exc.strerror}")
    url = "https://" + source.split("://", 1)[1] if source.lower().startswith("webcal") else source
    try:
        response = session.get(url, timeout=TIMEOUT, stream=True)
        with response:
            if response.status_code != 200:
                return FeedError(
                    member.email, "calendar", f"HTTP {response.status_code} from {shown}"
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_content(65536):
                size += len(chunk)
                if size > MAX_BYTES:
                    return FeedError(member.email, "calendar", f"larger than 20 MB: {shown}")
                chunks.append(chunk)
    except requests.Timeout:
        return FeedError(member.email, "calendar", f"timed out fetching {shown}")
    except requests.RequestException as exc:
        return FeedError(member.email, "calendar", f"{type(exc).__name__} fetching {shown}")
    return Feed(member.email, b"".join(chunks), shown, now)
