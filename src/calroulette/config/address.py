"""Where a member's calendar is: a web address (secret: never shown in full), or a file, whose
relative path is read from the folder of members.toml (of the file a symbolic link points to).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from calroulette.redact import is_url

from .model import Member

_SCHEME_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*)://")
# A web address whose scheme is missing or mistyped: a host name with a dot, then a path.
_NO_SCHEME_RE = re.compile(r"^(?:(?:https?|webcals?)[:/]+)?([a-z0-9-]+\.)+[a-z]{2,}(:\d+)?/", re.I)


def unreadable_scheme(source: str, base_dir: Path | None = None) -> str | None:
    """Why an address like ``ftp://…`` cannot be read (naming only its scheme: the rest may be
    a secret), or None for http(s)://, webcal(s)://, file:// and paths.

    With ``base_dir`` (where a relative path is read from), also a web address without its
    scheme that names no file there: read as a path, it was shown in full in every error
    ("file not found: /…/calendar.google.com/…/private-…/basic.ics"), stored and emailed.

    >>> unreadable_scheme("ftp://files.example/private-abc/cal.ics").split(" (")[0]
    'ftp:// addresses cannot be read'
    >>> unreadable_scheme("webcal://calendar.example/private-abc/basic.ics") is None
    True
    >>> unreadable_scheme("calendar.example/private-abc/basic.ics", Path("/no")).split(" (")[0]
    'looks like a web address without https://'
    """
    match = _SCHEME_RE.match(source)
    if (
        match is None
        and base_dir is not None
        and _NO_SCHEME_RE.match(source.strip())
        and not _is_file(base_dir, source.strip())
    ):
        return (
            "looks like a web address without https:// (write the whole address, from "
            "https:// or webcal://; not shown here: it is secret)"
        )
    if match is None or is_url(source.strip()) or match.group(1).lower() == "file":
        return None
    return (
        f"{match.group(1).lower()}:// addresses cannot be read "
        "(use the calendar's https:// or webcal:// iCal address, or a file path)"
    )


def _is_file(base_dir: Path, source: str) -> bool:
    try:
        return (base_dir / Path(source).expanduser()).is_file()
    except (OSError, ValueError):
        return False


def resolve_calendar(member: Member, base_dir: Path) -> Member:
    """``member`` with a calendar that is a file made an absolute path (URLs as written)."""
    source = member.calendar
    if not source or is_url(source):
        return member
    if source.startswith("file://"):
        source = source[len("file://") :]
    resolved = str((base_dir / Path(source).expanduser()).resolve())
    return replace(member, calendar=resolved)


def base_url_problem(url: str) -> str | None:
    """Links in emails point at ``base_url``: https, or http only on this machine (a test, or a
    proxy on the same host), with no query or fragment."""
    parts = urlsplit(url)
    local = (parts.hostname or "") in ("localhost", "127.0.0.1", "::1")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"{url!r} is not an address like https://coffee.example.org"
    if parts.scheme == "http" and not local:
        return f"{url!r}: must be https (links in emails carry sign-in tokens)"
    if parts.query or parts.fragment or parts.username or parts.password:
        return f"{url!r}: must have no user, query or fragment"
    return None
