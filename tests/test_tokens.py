"""The signed tokens of the links in emails and on the web page: one subject, one purpose, a
lifetime, a link version; anything else is refused."""

from __future__ import annotations

import base64
import datetime as dt
import json
import zlib

import pytest

from calroulette.tokens import MIN_KEY_LENGTH, Claim, Purpose, TokenError, sign, verify

KEY = "k" * MIN_KEY_LENGTH
OTHER_KEY = "o" * MIN_KEY_LENGTH
NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)


def _code(purpose: Purpose, token: str, **kwargs: object) -> str:
    with pytest.raises(TokenError) as caught:
        verify(KEY, purpose, token, **{"now": NOW, **kwargs})  # type: ignore[arg-type]
    return caught.value.code


@pytest.mark.parametrize("purpose", list(Purpose))
def test_a_token_round_trips_with_its_subject_version_and_time(purpose: Purpose) -> None:
    token = sign(KEY, purpose, "ada+coffee@example.org", now=NOW, version=4)
    claim = verify(KEY, purpose, token, now=NOW, version=4)
    assert claim == Claim("ada+coffee@example.org", 4, NOW.replace(microsecond=0))
    assert token.isascii() and not set(token) & set("/?#&=+ %")  # fits in a path as it is


def test_signing_is_deterministic_for_the_same_inputs() -> None:
    """A round rendered twice carries the same links, so its messages have the same bytes."""
    assert sign(KEY, Purpose.MANAGE, "a@x.org", now=NOW) == sign(
        KEY, Purpose.MANAGE, "a@x.org", now=NOW
    )
    assert sign(KEY, Purpose.MANAGE, "a@x.org", now=NOW) != sign(
        KEY, Purpose.MANAGE, "a@x.org", now=NOW + dt.timedelta(seconds=1)
    )


@pytest.mark.parametrize("purpose", list(Purpose))
def test_a_token_expires_just_after_its_lifetime(purpose: Purpose) -> None:
    token = sign(KEY, purpose, "a@x.org", now=NOW)
    assert verify(KEY, purpose, token, now=NOW + purpose.max_age).subject == "a@x.org"
    later = NOW + purpose.max_age + dt.timedelta(seconds=1)
    assert _code(purpose, token, now=later) == "expired"


def test_the_lifetimes_are_the_documented_ones() -> None:
    assert Purpose.CONFIRM.max_age == dt.timedelta(days=2)
    assert Purpose.MANAGE.max_age == dt.timedelta(days=60)
    assert Purpose.UNSUBSCRIBE.max_age == dt.timedelta(days=120)
    assert Purpose.ADMIN.max_age == dt.timedelta(hours=12)


def test_a_shorter_max_age_is_honoured() -> None:
    token = sign(KEY, Purpose.MANAGE, "a@x.org", now=NOW)
    late = NOW + dt.timedelta(hours=2)
    assert verify(KEY, Purpose.MANAGE, token, now=late, max_age=dt.timedelta(hours=2))
    assert _code(Purpose.MANAGE, token, now=late, max_age=dt.timedelta(hours=1)) == "expired"


def test_an_older_link_version_is_expired_and_the_current_one_works() -> None:
    """Asking for a new link raises the member's version: every older link dies."""
    old = sign(KEY, Purpose.MANAGE, "a@x.org", now=NOW, version=1)
    new = sign(KEY, Purpose.MANAGE, "a@x.org", now=NOW, version=2)
    assert verify(KEY, Purpose.MANAGE, new, now=NOW, version=2).version == 2
    assert _code(Purpose.MANAGE, old, version=2) == "expired"
    # without a version to compare with, the claim says which one it carries
    assert verify(KEY, Purpose.MANAGE, old, now=NOW).version == 1


@pytest.mark.parametrize("purpose", list(Purpose))
def test_a_token_of_another_key_is_invalid(purpose: Purpose) -> None:
    token = sign(OTHER_KEY, purpose, "a@x.org", now=NOW)
    assert _code(purpose, token) == "invalid"


@pytest.mark.parametrize("made", list(Purpose))
@pytest.mark.parametrize("used", list(Purpose))
def test_a_token_is_good_for_its_own_purpose_only(made: Purpose, used: Purpose) -> None:
    token = sign(KEY, made, "a@x.org", now=NOW)
    if made is used:
        assert verify(KEY, used, token, now=NOW).subject == "a@x.org"
    else:
        assert _code(used, token) == "invalid"


def _payload(token: str) -> str:
    body = token.split(".")[0]
    raw = base64.urlsafe_b64decode(body.lstrip(".") + "=" * (-len(body) % 4))
    return raw.decode() if raw.startswith(b"{") else zlib.decompress(raw).decode()


def _forge(token: str, payload: dict[str, object]) -> str:
    """``token``'s signature on another payload."""
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
    return body.decode().rstrip("=") + "." + token.rsplit(".", 1)[1]


def test_a_tampered_payload_is_invalid() -> None:
    token = sign(KEY, Purpose.MANAGE, "ada@x.org", now=NOW, version=1)
    payload = json.loads(_payload(token))
    assert payload["s"] == "ada@x.org"  # the forgery below changes only what it means to
    for changed in ({**payload, "s": "bob@x.org"}, {**payload, "v": 2}, {**payload, "t": 0}):
        assert _code(Purpose.MANAGE, _forge(token, changed)) == "invalid"


@pytest.mark.parametrize(
    "damage",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one character of the signature
        lambda t: t[:-4],  # cut short
        lambda t: t.replace(".", ""),  # no separator
        lambda t: "",
        lambda t: "." * 3,
        lambda t: t + t,
        lambda t: "ä" + t,
    ],
    ids=["signature", "short", "no-dot", "empty", "dots", "doubled", "non-ascii"],
)
def test_a_damaged_token_is_invalid(damage: object) -> None:
    token = sign(KEY, Purpose.UNSUBSCRIBE, "a@x.org", now=NOW)
    assert _code(Purpose.UNSUBSCRIBE, damage(token)) == "invalid"  # type: ignore[operator]


def test_a_signed_payload_of_the_wrong_shape_is_invalid() -> None:
    """Even with the right key, only the payload sign() makes is accepted."""
    from itsdangerous import URLSafeSerializer

    serializer = URLSafeSerializer(KEY, salt="calroulette.manage")
    stamp = int(NOW.timestamp())
    for payload in (
        ["a@x.org", 0, stamp],
        {"s": 1, "v": 0, "t": stamp},
        {"s": "a@x.org", "v": "0", "t": stamp},
        {"s": "a@x.org", "v": 0, "t": "now"},
        {"s": "a@x.org", "v": 0},
        "a@x.org",
    ):
        assert _code(Purpose.MANAGE, str(serializer.dumps(payload))) == "invalid", payload
    good = serializer.dumps({"s": "a@x.org", "v": 0, "t": stamp})
    assert verify(KEY, Purpose.MANAGE, str(good), now=NOW).subject == "a@x.org"


def test_a_token_issued_in_the_future_is_invalid_beyond_five_minutes_of_skew() -> None:
    soon = sign(KEY, Purpose.MANAGE, "a@x.org", now=NOW + dt.timedelta(minutes=5))
    assert verify(KEY, Purpose.MANAGE, soon, now=NOW).subject == "a@x.org"
    later = sign(KEY, Purpose.MANAGE, "a@x.org", now=NOW + dt.timedelta(minutes=5, seconds=1))
    assert _code(Purpose.MANAGE, later) == "invalid"
