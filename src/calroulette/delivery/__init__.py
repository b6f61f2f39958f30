"""Delivery: a planned round (or a change to one meeting) → the outbox, SMTP or Discord, once.

The flow is a transactional outbox (see :mod:`.ledger`): render every message, record them all as
pending in one transaction, then drain the pending rows through the transport
(:mod:`.dispatch`), marking each one sent as soon as the transport confirms it.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import ssl
import time
from collections.abc import Callable, Mapping

from calroulette import invites
from calroulette.config import Community, DeliveryMethod
from calroulette.invites import Channel, Kind, Outgoing
from calroulette.matching import Meeting, Round
from calroulette.timeutil import IsoWeek

from . import ledger
from .discord import DiscordTransport, webhook_url
from .dispatch import EXIT_PENDING, Report, Retry, drain
from .outbox import Outbox
from .smtp import SmtpTransport, smtp_password
from .transport import SendError, Transport

__all__ = [
    "EXIT_PENDING",
    "Report",
    "Retry",
    "SendError",
    "Transport",
    "channel_of",
    "deliver",
    "open_transport",
    "render_change",
    "render_round",
    "send_round",
]


def channel_of(community: Community) -> Channel:
    return Channel.DISCORD if community.delivery.method is DeliveryMethod.DISCORD else Channel.EMAIL


def open_transport(community: Community, *, ssl_context: ssl.SSLContext | None = None) -> Transport:
    """The transport ``[delivery]`` asks for. Secrets come from the environment or keyring."""
    d = community.delivery
    if d.method is DeliveryMethod.SMTP:
        return SmtpTransport(
            d,
            envelope_from=community.organizer_email,
            password=smtp_password(d.smtp_username),
            ssl_context=ssl_context,
        )
    if d.method is DeliveryMethod.DISCORD:
        return DiscordTransport(webhook_url(d.discord_webhook_env))
    return Outbox(d.outbox)


def render_round(
    round_: Round, community: Community, *, sequences: Mapping[str, int], now: dt.datetime
) -> list[Outgoing]:
    """Every message of a round for the community's channel."""
    if channel_of(community) is Channel.DISCORD:
        return invites.round_posts(round_, community, sequences=sequences, now=now)
    return invites.round_emails(round_, community, sequences=sequences, now=now)


def render_change(
    meeting: Meeting,
    community: Community,
    week: IsoWeek,
    *,
    kind: Kind,
    sequence: int,
    now: dt.datetime,
) -> list[Outgoing]:
    """A cancel or an updated request for one meeting, to every attendee."""
    if channel_of(community) is Channel.DISCORD:
        return [
            invites.discord_post(meeting, community, week, sequence=sequence, now=now, kind=kind)
        ]
    return invites.meeting_emails(meeting, community, week, sequence=sequence, now=now, kind=kind)


def deliver(
    conn: sqlite3.Connection,
    community: Community,
    week: IsoWeek,
    outgoing: list[Outgoing],
    *,
    now: dt.datetime,
    transport: Transport | None = None,
    retry: Retry | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Report:
    """Record ``outgoing`` as pending (one transaction), then send everything pending in ``week``.

    Messages recorded by an earlier run keep their recorded bytes; nothing sent is sent again.
    """
    ledger.record(conn, str(week), outgoing, now)
    try:
        transport = transport or open_transport(community)
    except SendError as error:
        pending = ledger.rows(conn, week=str(week), status=ledger.Status.PENDING)
        return Report(
            pending=[(r.key, error.message) for r in pending],
            stopped=error.message,
            fatal=not error.transient,
        )
    return drain(
        conn,
        transport,
        week=str(week),
        channel=channel_of(community),
        now=now,
        rate_limit_per_minute=community.delivery.rate_limit_per_minute,
        retry=retry,
        sleep=sleep,
    )


def send_round(
    conn: sqlite3.Connection,
    community: Community,
    round_: Round,
    *,
    now: dt.datetime,
    sequences: Mapping[str, int] | None = None,
    transport: Transport | None = None,
    retry: Retry | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Report:
    """Deliver a planned round: its invitations and the notes to members left out."""
    outgoing = render_round(round_, community, sequences=sequences or {}, now=now)
    return deliver(
        conn,
        community,
        round_.week,
        outgoing,
        now=now,
        transport=transport,
        retry=retry,
        sleep=sleep,
    )
