"""The links an email carries: the meeting link (the community's ``meeting_link`` template with
URL-safe placeholders), and the recipient's own signed links (:class:`MemberLinks`), among them
their "can't make it" link for each meeting (:func:`cant_link`)."""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from collections.abc import Mapping
from typing import Protocol

from calroulette.config import Community
from calroulette.timeutil import IsoWeek


def slug(text: str) -> str:
    """ASCII letters, digits and hyphens only: safe in a URL path and a Jitsi room name.

    >>> slug("Data Folk Coffee ☕ (Zürich)")
    'data-folk-coffee-zurich'
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "coffee"


def room_token(uid: str) -> str:
    """A URL-safe room name for a meeting: SHA-256 of its UID, 120 bits in base32.

    The UID is unguessable (the matching step mixes the history's random secret into it), and so
    is this token; hashing also keeps ``@`` and other characters of the UID out of the URL.

    >>> token = room_token("m1@example.org")
    >>> len(token), token.isalnum(), token == token.lower(), token != room_token("m2@example.org")
    (24, True, True, True)
    """
    digest = hashlib.sha256(uid.encode()).digest()
    return base64.b32encode(digest[:15]).decode().lower()


def meeting_link(community: Community, week: IsoWeek, uid: str) -> str:
    """Render ``community.meeting_link``; every placeholder is URL-safe.

    ``{uid}`` becomes the meeting's unguessable room token, ``{community}`` the community's slug
    and ``{week}`` the ISO week (``2026-W49``).
    """
    return community.meeting_link.format(
        uid=room_token(uid), week=str(week), community=slug(community.name)
    )


class MemberLinks(Protocol):
    """A member's own links, signed for them by the service layer (``service.web.member_links``
    makes them: this module signs nothing). Strings only, so a round rendered in worker
    processes carries them as they are."""

    @property
    def manage(self) -> str:
        """Their page: pause, settings, leave."""
        ...

    @property
    def unsubscribe(self) -> str:
        """One-click unsubscribe (RFC 8058): a POST pauses or removes them, as they chose."""
        ...


def cant_link(links: MemberLinks | None, uid: str) -> str | None:
    """The recipient's "can't make it" link for meeting ``uid``, when the service signed one.

    It is carried by links objects that have a ``cant`` mapping (meeting UID → address: a
    member may have meetings in two weeks at once); the manage-and-unsubscribe links alone
    (older callers, the tests of those) have none, and their emails are as before."""
    found = getattr(links, "cant", None)
    if not isinstance(found, Mapping):
        return None
    url = found.get(uid)
    return url if isinstance(url, str) and url else None
