"""Delivery: what the ledger holds → the outbox, SMTP or Discord, once. Plans nothing.

The flow is a transactional outbox: the service renders every message of a change
(:mod:`.rendering`), records them as pending together with the change, in one transaction of the
history database (:mod:`calroulette.store.deliveries`), then :func:`deliver_pending` drains the
pending rows through the transport (:mod:`.dispatch`), marking each one sent as soon as the
transport confirms it.
"""

from .dispatch import EXIT_PENDING, RateLimit, Report, Retry, drain
from .rendering import channel_of, render_change, render_round
from .sender import Sending, deliver_pending, open_transport, window
from .transport import SendError, Transport

__all__ = [
    "EXIT_PENDING",
    "RateLimit",
    "Report",
    "Retry",
    "SendError",
    "Sending",
    "Transport",
    "channel_of",
    "deliver_pending",
    "drain",
    "open_transport",
    "render_change",
    "render_round",
    "window",
]
