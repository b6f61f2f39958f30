"""The signed links of the member pages, checked: which member a manage or unsubscribe link names,
or why it must not be honoured (:class:`LinkError`); and fresh links signed for a member.

A link names the member by email and carries their link version (``store.links``): a link of an
older version was replaced (asking for a new link revokes every older one), and one whose member
is no longer in members.toml names nobody.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from os import PathLike

from calroulette.config import Community, Member
from calroulette.errors import CalrouletteError, UsageError
from calroulette.store import open_store
from calroulette.tokens import Claim, Purpose, TokenError, sign, verify

from .community import load
from .web import MemberLinks, secret_key

Config = str | PathLike[str]


class LinkProblem(StrEnum):
    INVALID = "invalid"  # forged, damaged or made for another purpose: 403
    EXPIRED = "expired"  # too old, or replaced by a newer link: 410
    GONE = "gone"  # its member is no longer in members.toml: 410


class LinkError(CalrouletteError):
    """A member link that must not be honoured; :attr:`problem` says why."""

    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def identify(
    config: Config, token: str, purpose: Purpose, *, now: dt.datetime, key: str | None
) -> tuple[Community, Member]:
    """members.toml as it is now, and the member a valid link of ``purpose`` names."""
    community, _, member = claim(config, token, purpose, now=now, key=key)
    if member is None:
        raise LinkError(LinkProblem.GONE)
    return community, member


def claim(
    config: Config, token: str, purpose: Purpose, *, now: dt.datetime, key: str | None
) -> tuple[Community, str, Member | None]:
    """The community, the email a valid link of ``purpose`` names, and that member (None when
    they are no longer in members.toml). ``key``: the signing key (default: the environment's)."""
    community = load(config, members=False)
    found = verified(community, key, purpose, token, now)
    email = found.subject
    version = 0
    if community.database.exists():  # no history yet: every link is of version 0
        with open_store(community.database, readonly=True) as store:
            version = store.links.version(email)
    if found.version != version:
        raise LinkError(LinkProblem.EXPIRED)  # a newer link was sent: this one was replaced
    return community, email, by_email(community, email)


def verified(
    community: Community, key: str | None, purpose: Purpose, token: str, now: dt.datetime
) -> Claim:
    """The claim of ``token`` under ``key`` (the web app's) or the environment's key: the same
    key when ``serve`` runs, but links in emails are signed by ``send`` and ``run`` with the
    environment's. :class:`LinkError` (``expired`` before ``invalid``) when neither key signed
    it; :class:`UsageError` when there is no key at all."""
    keys = list(dict.fromkeys(k for k in (key, secret_key(community)) if k))
    if not keys:
        raise UsageError(f"serve: {community.web.secret_key_env} is not set")
    problems = []
    for secret in keys:
        try:
            return verify(secret, purpose, token, now=now)
        except TokenError as error:
            problems.append(LinkProblem(error.code))
    raise LinkError(min(problems, key=[LinkProblem.EXPIRED, LinkProblem.INVALID].index))


def signing_key(community: Community, key: str | None) -> str:
    secret = key or secret_key(community)
    if secret is None:
        raise UsageError(f"serve: {community.web.secret_key_env} is not set")
    return secret


def by_email(community: Community, email: str) -> Member | None:
    """The member with this email (never by name, as :meth:`Community.member` also finds)."""
    found = community.member(email)
    return found if found is not None and found.email == email.strip().lower() else None


@contextmanager
def member_still(config: Config, email: str) -> Iterator[None]:
    """Turns the refusal of an edit for a member no longer in members.toml (removed between the
    link's check and the lock) into ``LinkError(gone)``; any other refusal stays."""
    try:
        yield
    except UsageError:
        if by_email(load(config, members=False), email) is None:
            raise LinkError(LinkProblem.GONE) from None
        raise


def signed_links(
    secret: str, base_url: str, email: str, version: int, now: dt.datetime
) -> MemberLinks:
    """``email``'s links of ``version``, as :func:`.web.member_links` makes them."""
    base = base_url.rstrip("/")
    manage = sign(secret, Purpose.MANAGE, email, now=now, version=version)
    unsubscribe = sign(secret, Purpose.UNSUBSCRIBE, email, now=now, version=version)
    return MemberLinks(
        manage=f"{base}/me/{manage}", unsubscribe=f"{base}/unsubscribe/{unsubscribe}"
    )
