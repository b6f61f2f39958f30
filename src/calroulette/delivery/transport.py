"""What every transport (outbox, SMTP, Discord) promises, and how it reports a failure."""

from __future__ import annotations

from typing import Protocol

from calroulette.errors import DeliveryError
from calroulette.store import DeliveryRow


class SendError(DeliveryError):
    """One send failed.

    - ``transient``: worth retrying (SMTP 4xx, timeouts, refused connections, HTTP 429/5xx);
      otherwise permanent for this message (a 5xx recipient rejection) and recorded as failed;
    - ``down``: the transport itself is unusable (login refused, connection lost after retries,
      webhook gone): stop the run and leave every remaining message pending;
    - ``retry_after``: the server said how long to wait (HTTP 429).
    """

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        down: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, transient=transient)
        self.message = message
        self.down = down
        self.retry_after = retry_after


class Transport(Protocol):
    name: str
    rate_limited: bool  # False: delivery.rate_limit_per_minute does not apply (the outbox)
    # How many sends may wait for one flush() before they are marked sent: 1 for a server (the
    # row is marked the moment the server takes the message), more for files (one disk flush).
    batch: int

    def already_delivered(self, row: DeliveryRow) -> bool:
        """True when the transport itself shows the delivery happened (an outbox file exists)."""
        ...

    def send(self, row: DeliveryRow) -> None:
        """Deliver ``row.payload``; raise :class:`SendError` on failure. Returns only once the
        receiving side has taken responsibility (SMTP 250 after DATA, HTTP 2xx), or, for a
        transport that batches (the outbox), once it is staged: :meth:`flush` makes it final."""
        ...

    def flush(self) -> None:
        """Make every send since the last flush durable (survive a power cut); the rows are
        marked sent only after this returns."""
        ...

    def close(self) -> None: ...
