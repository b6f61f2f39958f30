"""``serve`` and the signed links of the member pages: what the web app needs from members.toml
and the environment, and the links every email carries (manage, one-click unsubscribe).

Secrets never come from members.toml: the signing key from ``CALROULETTE_SECRET_KEY`` (or the
variable ``[web] secret_key_env`` names), the organizer's password from
``CALROULETTE_ADMIN_PASSWORD`` or the system keyring (service ``calroulette``, user ``admin``).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

from calroulette.config import Community
from calroulette.errors import UsageError
from calroulette.redact import SECRETS
from calroulette.tokens import MIN_KEY_LENGTH, Purpose, sign

from .community import load

if TYPE_CHECKING:
    from calroulette.store import Store

KEYRING_SERVICE = "calroulette"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True, slots=True)
class WebSettings:
    """What ``calroulette serve`` starts the app with."""

    config: Path
    community: Community  # as members.toml was at start (each request reads it again)
    secret_key: str
    admin_password: str | None  # None: /admin is switched off
    base_url: str  # ``[web] base_url``, or the address served when none is set


def secret_key(community: Community) -> str | None:
    """The signing key from the environment, registered as a secret; None when unset."""
    key = os.environ.get(community.web.secret_key_env, "").strip()
    if not key:
        return None
    SECRETS.add(key)
    return key


def admin_password(community: Community) -> str | None:
    password = os.environ.get(community.web.admin_password_env, "")
    if not password:
        try:
            import keyring  # optional: only when the organizer keeps the password there

            password = keyring.get_password(KEYRING_SERVICE, "admin") or ""
        except Exception:  # noqa: BLE001 - no keyring module or no usable backend: not found
            password = ""
    if password:
        SECRETS.add(password)
    return password or None


def serve(config: str | PathLike[str], *, host: str = "127.0.0.1", port: int = 8000) -> WebSettings:
    """Check that the member pages can run: members.toml loads, and a signing key long enough
    is in the environment. Refuses, saying what to do, otherwise."""
    community = load(config, members=False)
    key = secret_key(community)
    variable = community.web.secret_key_env
    if key is None:
        raise UsageError(
            f"serve: {variable} is not set (the key that signs every link; make one with "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'` and keep it "
            "secret)"
        )
    if len(key) < MIN_KEY_LENGTH:
        raise UsageError(
            f"serve: {variable} is too short ({len(key)} characters; at least "
            f"{MIN_KEY_LENGTH}: make one with `python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`)"
        )
    shown_host = f"[{host}]" if ":" in host else host
    base_url = community.web.base_url or f"http://{shown_host}:{port}"
    return WebSettings(Path(config), community, key, admin_password(community), base_url)


@dataclass(frozen=True, slots=True)
class MemberLinks:
    """The signed links one email carries for its recipient."""

    manage: str  # their page: settings, pause, leave
    unsubscribe: str  # RFC 8058 one-click (POST), and a page with a button (GET)


def member_links(
    community: Community, store: Store, emails: Iterable[str], *, now: dt.datetime
) -> dict[str, MemberLinks]:
    """Links for each of ``emails``, signed at ``now`` with their current link version; empty
    when the community has no ``[web] base_url`` or no signing key (emails then carry none)."""
    key = secret_key(community)
    if community.web.base_url is None or key is None:
        return {}
    versions = store.links.versions()
    out = {}
    for email in emails:
        version = versions.get(email, 0)
        manage = sign(key, Purpose.MANAGE, email, now=now, version=version)
        unsubscribe = sign(key, Purpose.UNSUBSCRIBE, email, now=now, version=version)
        out[email] = MemberLinks(
            manage=f"{community.web.base_url}/me/{manage}",
            unsubscribe=f"{community.web.base_url}/unsubscribe/{unsubscribe}",
        )
    return out
