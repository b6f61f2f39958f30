"""Discord: one webhook message per meeting, the .ics attached (multipart/form-data).

The webhook URL holds a token, so it is a secret: it comes from the environment variable named
by ``delivery.discord_webhook_env``, is registered with the redactor, and is never part of a
message (requests puts URLs in its exception texts, so those are never shown).
HTTP 429 carries ``retry_after`` (seconds) in its JSON body and a ``Retry-After`` header: the
engine waits that long before the next attempt.
"""

from __future__ import annotations

import os

import requests

from calroulette.redact import SECRETS
from calroulette.store import DeliveryRow

from .transport import SendError


def webhook_url(env_name: str) -> str:
    url = os.environ.get(env_name, "").strip()
    if not url:
        raise SendError(
            f"discord: {env_name} is not set (export the channel's webhook URL in it)",
            transient=False,
            down=True,
        )
    SECRETS.add(url)
    return url


class DiscordTransport:
    name = "discord"
    rate_limited = True
    batch = 1  # marked sent as soon as the server has taken the message

    def __init__(self, url: str, *, timeout: float = 15.0) -> None:
        self.url = url
        self.timeout = timeout
        self.session = requests.Session()

    def already_delivered(self, row: DeliveryRow) -> bool:
        return False

    def send(self, row: DeliveryRow) -> None:
        files = {}
        if row.ics is not None:
            files["files[0]"] = ("invite.ics", row.ics, "text/calendar")
        try:
            response = self.session.post(
                self.url,
                params={"wait": "true"},  # 200 with the message once Discord stored it
                data={"payload_json": row.payload.decode()},
                files=files,
                timeout=self.timeout,
            )
        except requests.Timeout:
            raise SendError("discord: webhook timed out", transient=True) from None
        except requests.RequestException as exc:
            # never str(exc): it contains the webhook URL and its token
            raise SendError(
                f"discord: webhook unreachable ({type(exc).__name__})", transient=True, down=True
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            return
        if status == 429:
            raise SendError(
                "discord: rate limited (429)", transient=True, retry_after=_retry_after(response)
            )
        if status >= 500:
            raise SendError(f"discord: webhook answered {status}", transient=True)
        if status in (401, 403, 404):
            raise SendError(
                f"discord: webhook answered {status} (the webhook was deleted or the URL is wrong)",
                transient=False,
                down=True,
            )
        raise SendError(f"discord: webhook rejected the message ({status})", transient=False)

    def flush(self) -> None:
        return None  # the server has the message: nothing of ours to flush

    def close(self) -> None:
        self.session.close()


def _retry_after(response: requests.Response) -> float | None:
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("retry_after"), int | float):
            return float(body["retry_after"])
    except ValueError:
        pass
    header = response.headers.get("Retry-After")
    try:
        return float(header) if header else None
    except ValueError:
        return None
