"""Feeds for the tests: a calendar body, communities whose members have one each, fast fetch
limits, helpers to fetch and read one feed, and a raw HTTP server for what werkzeug cannot do."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from werkzeug import Request, Response

from calroulette.config import Community, parse_community
from calroulette.feeds import Feed, FetchError, FetchLimits, fetch_feeds
from calroulette.timeutil import UTC, IsoWeek

from .freetime import plain_free_time

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
WEEK = IsoWeek(2026, 49)
SECRET = "private-0f9e8d7c6b5a4321"
# Fast limits so the suite does not wait on back-off or long deadlines.
FAST = FetchLimits(
    connect_timeout=1.0,
    read_timeout=0.5,
    deadline=1.0,
    max_bytes=256 * 1024,
    retries=2,
    backoff_factor=0.01,
    max_retry_after=2,
)

# A weekly "free" slot on Tuesdays, 14:00–17:00 UTC; in 2026-W49 that is 2026-12-01.
ICS_LF = (
    "BEGIN:VCALENDAR\n"
    "VERSION:2.0\n"
    "PRODID:-//test//calroulette//EN\n"
    "BEGIN:VEVENT\n"
    "UID:free-1@test\n"
    "DTSTAMP:20261101T000000Z\n"
    "DTSTART:20261103T140000Z\n"
    "DTEND:20261103T170000Z\n"
    "RRULE:FREQ=WEEKLY\n"
    "SUMMARY:Free for coffee\n"
    "END:VEVENT\n"
    "END:VCALENDAR\n"
)
ICS = ICS_LF.replace("\n", "\r\n").encode()
TUESDAY_FREE = [
    (dt.datetime(2026, 12, 1, 14, tzinfo=UTC), dt.datetime(2026, 12, 1, 17, tzinfo=UTC))
]


def secret_path(name: str) -> str:
    return f"/calendar/ical/{name}.example.org/{SECRET}/basic.ics"


def community_of(tmp_path: Path, calendars: dict[str, str], **settings: Any) -> Community:
    """A community whose members are named by ``calendars``' keys, each with that calendar.

    Its feeds may come from loopback (``allow_private_feeds``, as the test servers need) unless
    ``settings`` says otherwise."""
    data = {
        "community": {
            "name": "Test Coffee",
            "organizer": "Test Coffee <coffee@example.org>",
            "timezone": "UTC",
            "cache_dir": str(tmp_path / "cache"),
            "allow_private_feeds": True,
            **settings,
        },
        "members": [
            {"name": name, "email": f"{name}@example.org", "calendar": url, "timezone": "UTC"}
            for name, url in calendars.items()
        ],
    }
    return parse_community(data, base_dir=tmp_path)


def fetch_one(
    tmp_path: Path, url: str, *, now: dt.datetime = NOW, limits: FetchLimits = FAST, **kw: Any
) -> Feed | FetchError:
    return fetch_feeds(community_of(tmp_path, {"ada": url}), now=now, limits=limits, **kw)[
        "ada@example.org"
    ]


def free_of(feed: Feed | FetchError, community: Community | None = None) -> list[tuple[Any, Any]]:
    assert isinstance(feed, Feed), feed
    member = community.members[0] if community else _member()
    result = plain_free_time(feed.body, member, WEEK, community or _community())
    assert not isinstance(result, Exception), result
    return [(i.start, i.end) for i in result.free]


def _community() -> Community:
    return community_of(Path("/nonexistent"), {"ada": "https://example.org/x.ics"})


def _member() -> Any:
    return _community().members[0]


def error_of(result: Feed | FetchError) -> FetchError:
    assert isinstance(result, FetchError), result
    assert SECRET not in str(result)
    assert "\n" not in str(result)
    return result


# --- a raw server for what werkzeug cannot do: trickling, endless and silent responses ----------


class RawServer:
    """A threaded HTTP/1.1 server on loopback whose routes write to the socket directly."""

    def __init__(self, routes: dict[str, Callable[[BaseHTTPRequestHandler], None]]) -> None:
        stop = self.stop_event = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                route = routes[self.path.split("?")[0]]
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    route(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        Handler.stop = stop  # type: ignore[attr-defined]
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def close(self) -> None:
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()


def trickle(handler: BaseHTTPRequestHandler) -> None:
    """Headers at once, then one byte every 50 ms: never idle long enough for a read timeout."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/calendar")
    handler.send_header("Content-Length", str(len(ICS)))
    handler.end_headers()
    for byte in ICS:
        if handler.stop.wait(0.05):  # type: ignore[attr-defined]
            return
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()


def endless(handler: BaseHTTPRequestHandler) -> None:
    """A chunked body that never ends (no Content-Length to refuse it up front)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/calendar")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    chunk = b"BEGIN:VCALENDAR\r\n" + b"X-FILLER:" + b"x" * 8000 + b"\r\n"
    while not handler.stop.is_set():  # type: ignore[attr-defined]
        handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")


def serve_ics(handler: BaseHTTPRequestHandler) -> None:
    """The calendar, with its length."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/calendar")
    handler.send_header("Content-Length", str(len(ICS)))
    handler.end_headers()
    handler.wfile.write(ICS)


def silent(handler: BaseHTTPRequestHandler) -> None:
    """Accepts the request and never answers."""
    handler.stop.wait(5)  # type: ignore[attr-defined]


ETAG = '"v1-abc"'


def etag_handler(body: bytes, etag: str = ETAG) -> object:
    def handle(request: Request) -> Response:
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(body, content_type="text/calendar", headers={"ETag": etag})

    return handle


def cached_rows(cache_dir: Path) -> list[tuple[str, bytes, str]]:
    """The feed cache's entries as (key, body, confirmed_at), read as another program would."""
    path = cache_dir / "feeds.sqlite"
    if not path.exists():
        return []
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT key, body, confirmed_at FROM feeds ORDER BY key").fetchall()
