"""One-off emails about a person's account (confirm a sign-up, welcome, a link to their page):
recorded in the deliveries ledger and sent at once.

The ledger is the same transactional outbox the rounds use: the email is recorded as a pending
:attr:`~calroulette.invites.Kind.ACCOUNT` delivery (filed under the current week in the
community's zone), in the same transaction as the change it reports when there is one, and then
that one delivery is sent (:func:`calroulette.delivery.sender.deliver_now`, under the sender's
lock, so a ``send`` running at the same time never sends it twice). A failure leaves it pending:
the next ``send`` or ``run`` retries it, as it retries a round's messages; the web page never
sends anything of the week's round.

Account emails are emails: a community that delivers by Discord has no way to reach a person
who is not a member yet, so :func:`require_email` refuses it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection

from calroulette.config import Community, DeliveryMethod
from calroulette.delivery import Sending
from calroulette.delivery.sender import deliver_now
from calroulette.errors import UsageError
from calroulette.invites import DeliveryKey, Outgoing
from calroulette.redact import SECRETS
from calroulette.store import Store, open_store
from calroulette.timeutil import IsoWeek, ensure_utc

log = logging.getLogger(__name__)


class NoEmail(UsageError):
    """The community delivers by Discord: an email to one person cannot be sent."""


def require_email(community: Community) -> None:
    """Refuse, saying why, when the community does not deliver by email."""
    if community.delivery.method is DeliveryMethod.DISCORD:
        raise NoEmail(
            '[delivery] method = "discord": sign-up and account emails need email '
            "(outbox or smtp); members are added with `calroulette members add`"
        )


def notice_week(community: Community, now: dt.datetime) -> IsoWeek:
    """The week an account email is filed under: the current one in the community's zone (the
    weeks a ``send`` still delivers start there)."""
    return IsoWeek.containing(ensure_utc(now).astimezone(community.timezone).date())


def record_notice(
    store: Store, community: Community, outgoing: Outgoing, *, now: dt.datetime
) -> None:
    """Record ``outgoing`` as pending, inside the caller's transaction."""
    require_email(community)
    store.deliveries.record(notice_week(community, now), [outgoing], now)


def deliver_notices(
    store: Store,
    community: Community,
    keys: Collection[DeliveryKey],
    *,
    now: dt.datetime,
    how: Sending | None = None,
) -> set[DeliveryKey]:
    """Send the recorded account emails ``keys`` now; the keys that went out. The others stay
    pending for the next ``send`` (logged, masked)."""
    if not keys:
        return set()
    report = deliver_now(store, community, keys, now, how or Sending())
    for key, error in [*report.pending, *report.failed]:
        log.warning(
            "account email %s to %s not sent: %s",
            key.meeting_uid,
            key.recipient,
            SECRETS.mask(error),
        )
    return set(report.sent) | set(report.already)


def send_notice(
    community: Community, outgoing: Outgoing, *, now: dt.datetime, how: Sending | None = None
) -> bool:
    """Record one account email in the ledger and send it at once: True once it went out,
    False when it waits for the next ``send`` (a transport down, another ``send`` running)."""
    require_email(community)
    with open_store(community.database) as store:
        with store.transaction():
            record_notice(store, community, outgoing, now=now)
        return outgoing.key in deliver_notices(store, community, [outgoing.key], now=now, how=how)
