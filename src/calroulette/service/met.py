""" "Did you meet?": the one-click answers in the follow-up the day after a meeting
(:mod:`.reminders` sends it), signed here, and recorded by ``met_answer`` (the page of
``serve`` at ``/met/<token>/yes`` or ``/no``).

**Links.** A token of :attr:`Purpose.MET` names one attendee and one meeting (subject
``"<email> <meeting uid>"``) and carries the attendee's link version (``store.links``), as every
member link does: asking for a new link to one's page revokes these too. It lives 30 days; the
follow-up goes out within :data:`.reminders.FOLLOWUP_DAYS` of the meeting.

**Answers.** Following a link records its answer at once (one click): ``met = yes`` or ``no``
for that attendee and meeting (``store.attendance``); a later answer replaces an earlier one,
from the same link or the other. A meeting any attendee says did not happen no longer counts
for the cooldown (:meth:`calroulette.store.Rounds.history`): the pair may be paired again
sooner. Refused (:class:`MetError`): a forged or damaged token, or one made for another purpose
(``invalid``), one too old or replaced by a newer link (``expired``), one for a meeting that is
not in the history or was cancelled (``unknown``, ``cancelled``), one whose subject is no
attendee of the meeting (``not-attendee``: a triple that dropped them, say).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from os import PathLike
from zoneinfo import ZoneInfo

from calroulette.config import Community
from calroulette.errors import CalrouletteError, UsageError
from calroulette.invites.reminders import MetLinks
from calroulette.matching import Meeting, MeetingStatus, RoundStatus
from calroulette.store import Met, Store, open_store
from calroulette.tokens import Claim, Purpose, sign

from .community import load
from .memberlinks import LinkError, verified
from .web import secret_key

Config = str | PathLike[str]


class MetProblem(StrEnum):
    INVALID = "invalid"  # forged, damaged, for another purpose: 403
    EXPIRED = "expired"  # too old, or replaced by a newer link: 410
    UNKNOWN = "unknown"  # no such meeting (in a sent round): 410
    CANCELLED = "cancelled"  # the meeting was cancelled: 410
    NOT_ATTENDEE = "not-attendee"  # the link's person is not (or no longer) an attendee: 403


class MetError(CalrouletteError):
    """A "did you meet?" link that must not be honoured; :attr:`problem` says why."""

    def __init__(self, problem: MetProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class MetAnswer:
    """What ``met_answer`` recorded."""

    community: Community
    email: str
    name: str  # the attendee's first name ("" for one no longer in members.toml)
    partners: tuple[str, ...]  # the other attendees' first names
    start_local: dt.datetime  # the meeting's start in the attendee's zone
    zone: ZoneInfo
    answer: Met
    before: Met | None  # their earlier answer, if any
    uid: str

    @property
    def changed(self) -> bool:
        """An earlier, different answer was replaced."""
        return self.before is not None and self.before is not self.answer


def subject(email: str, uid: str) -> str:
    """The subject a "did you meet?" token names: ``"<email> <uid>"`` (an email has no space)."""
    return f"{email.strip().lower()} {uid}"


def met_links(
    community: Community,
    store: Store,
    meeting: Meeting,
    emails: Iterable[str],
    *,
    now: dt.datetime,
) -> dict[str, MetLinks]:
    """Each of ``emails``' two answers about ``meeting``, signed at ``now`` with their link
    version; empty without ``[web] base_url`` or a signing key (then no follow-up can go)."""
    key = secret_key(community)
    base = community.web.base_url
    if key is None or base is None:
        return {}
    base = base.rstrip("/")
    out = {}
    for email in emails:
        version = store.links.version(email)
        token = sign(key, Purpose.MET, subject(email, meeting.uid), now=now, version=version)
        out[email] = MetLinks(yes=f"{base}/met/{token}/yes", no=f"{base}/met/{token}/no")
    return out


def met_answer(
    config: Config, token: str, answer: Met | str, *, now: dt.datetime, key: str | None = None
) -> MetAnswer:
    """Record ``answer`` (``yes`` or ``no``: "did you meet?") for the attendee and meeting
    ``token`` names. ``key``: the signing key of the web app (links are also checked with the
    environment's)."""
    try:
        answer = Met(answer)
    except ValueError:
        raise UsageError(f"met: {answer!r} is not an answer (yes or no)") from None
    community = load(config, members=False)
    claim = _verified(community, key, token, now)
    email, _, uid = claim.subject.partition(" ")
    if not email or not uid:
        raise MetError(MetProblem.INVALID)
    if not community.database.exists():
        raise MetError(MetProblem.UNKNOWN)
    with open_store(community.database) as store:
        if claim.version != store.links.version(email):
            raise MetError(MetProblem.EXPIRED)  # a newer link was sent: this one was replaced
        found = [f for f in store.rounds.find(uid) if f.meeting.uid == uid]
        if not found or found[0].round_status is not RoundStatus.SENT:
            raise MetError(MetProblem.UNKNOWN)
        meeting = found[0].meeting
        if meeting.status is MeetingStatus.CANCELLED:
            raise MetError(MetProblem.CANCELLED)
        if email not in meeting.members:
            raise MetError(MetProblem.NOT_ATTENDEE)
        with store.transaction():
            earlier = store.attendance.of(uid).get(email)
            store.attendance.met(uid, email, answer, at=now)
    zone = _zone(community, email)
    return MetAnswer(
        community=community,
        email=email,
        name=_first(community, email, former=""),
        partners=tuple(_first(community, e) for e in meeting.members if e != email),
        start_local=meeting.start.astimezone(zone),
        zone=zone,
        answer=answer,
        before=earlier.met if earlier is not None else None,
        uid=uid,
    )


def _verified(community: Community, key: str | None, token: str, now: dt.datetime) -> Claim:
    """The claim of ``token`` (:func:`.memberlinks.verified`: the web app's key or the
    environment's, with which ``run`` signs the follow-ups), as a :class:`MetError`."""
    try:
        return verified(community, key, Purpose.MET, token, now)
    except LinkError as error:
        raise MetError(MetProblem(error.problem.value)) from None


def _first(community: Community, email: str, *, former: str = "a former member") -> str:
    member = community.member(email)
    if member is None or member.email != email:
        return former
    return member.name.split()[0] if member.name.split() else member.name


def _zone(community: Community, email: str) -> ZoneInfo:
    member = community.member(email)
    return member.timezone if member is not None and member.email == email else community.timezone
