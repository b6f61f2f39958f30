"""calroulette.invites.mime keeps parsed and folded headers for reuse: the bytes must be the
same whatever was rendered before (the standard library's for unstructured fields; From, To and
Reply-To as :mod:`calroulette.invites.headers` folds them, since Python 3.11 folds those wrongly:
see tests/test_injection.py)."""

from __future__ import annotations

import itertools
from email import policy
from email.headerregistry import Address, AddressHeader
from email.message import EmailMessage

import pytest

from calroulette.invites import mime
from calroulette.invites.headers import fold_addresses

from .support.mail import generated

PEOPLE = [
    Address("Ada Lovelace", "ada", "example.org"),
    Address("Zoë Ørsted-Çelik", "zoe", "example.org"),  # RFC 2047 encoded
    Address('Grace, "Amazing" Hopper', "grace", "example.org"),  # quoted
    Address("José", "josé", "example.org"),  # a non-ASCII local part: SMTPUTF8
    Address("A very long display name " * 4, "long", "example.org"),  # folded
]
SUBJECTS = ["Coffee · Tue 14:00", "Café " * 30, "plain"]


def headers(
    to: Address, subject: str, reply_to: list[Address], target: EmailMessage
) -> EmailMessage:
    target["From"] = PEOPLE[0]
    target["To"] = to
    target["Reply-To"] = reply_to
    target["Subject"] = subject
    target["Date"] = "Tue, 24 Nov 2026 12:00:00 +0000"
    target["Auto-Submitted"] = "auto-generated"
    return target


def stock(message: EmailMessage, utf8: bool) -> bytes:
    """The header block with no cache in between: each field parsed afresh by the standard
    library, folded by it (unstructured fields) or by :func:`fold_addresses`."""
    fresh = EmailMessage(policy=policy.SMTPUTF8 if utf8 else policy.SMTP)
    out = b""
    for name, value in message.items():
        fresh[name] = list(value.addresses) if isinstance(value, AddressHeader) else str(value)
        field = fresh[name]
        if isinstance(field, AddressHeader):
            out += fold_addresses(name, field)
        else:
            out += fresh.policy.fold_binary(name, field)
    return out


@pytest.mark.parametrize("rounds", [1, 3])
def test_headers_are_the_same_bytes_in_any_order(rounds: int) -> None:
    cases = list(itertools.product(PEOPLE, SUBJECTS))
    for n in range(rounds):  # again, and reversed: every header now comes from the cache
        for to, subject in cases if n % 2 == 0 else reversed(cases):
            made = headers(to, subject, [to, PEOPLE[2]], mime.new_headers())
            body = mime.multipart("mixed", [mime.text("plain", "hi")], seed="x", top=True)
            wire = mime.Email(made, body).as_bytes()
            utf8 = not to.username.isascii()
            assert mime.needs_smtputf8(made) is utf8
            assert wire.split(b"MIME-Version:", 1)[0] == stock(made, utf8)


@pytest.mark.parametrize("rounds", [1, 3])
def test_mime_tree_is_the_classic_generators_bytes_whatever_was_folded_before(
    rounds: int,
) -> None:
    """The MIME tree's header folding is kept between messages: the bytes are still those of
    the plain compat32 policy, for headers repeated in every message, new in each (boundaries)
    and long enough to fold, in any order."""
    names = ["a.ics", "a long name " * 8 + ".ics"]
    cases = [(seed, name) for seed in ("<1@x>", "<2@x>", "<3@x>") for name in names]
    for n in range(rounds):
        for seed, name in cases if n % 2 == 0 else reversed(cases):
            parts = [
                mime.text("plain", "hi"),
                mime.binary("application/ics", b"BEGIN:VCALENDAR\r\n", filename=name),
            ]
            body = mime.multipart("mixed", parts, seed=seed, top=True)
            ours = mime.Email(mime.new_headers(), body).as_bytes()  # no header fields
            assert ours == generated(body)
    after = generated(body).split(b"Content-Disposition:", 1)[1]
    assert after.split(b"\r\n", 1)[1].startswith(b" ")  # the long name was folded
    assert mime._tree_folded.cache_info().hits > 0


@pytest.mark.parametrize("field", ["From", "To", "Reply-To"])
def test_address_fields_set_from_addresses_are_the_standard_fields(field: str) -> None:
    """From, To and Reply-To set from Address objects build their parse tree only when folded:
    the same text, addresses, groups, defects and folding (each policy) as the package's own."""
    for value in [*([p] for p in PEOPLE), PEOPLE[:3], PEOPLE[1:]]:
        ours = mime.new_headers()
        ours[field] = value
        stock = EmailMessage(policy=policy.SMTP)
        stock[field] = value
        mine, theirs = ours[field], stock[field]
        assert vars(mine)["_parse_tree"] is None  # not built: nothing has folded it yet
        assert str(mine) == str(theirs)
        assert (mine.addresses, mine.groups, mine.defects) == (
            theirs.addresses,
            theirs.groups,
            theirs.defects,
        )
        for each in (policy.SMTP, policy.SMTPUTF8, policy.default):
            assert mine.fold(policy=each) == theirs.fold(policy=each)
        assert fold_addresses(field, mine) == fold_addresses(field, theirs)
    text = mime.new_headers()
    text[field] = "Ada <ada@example.org>"  # set as text: parsed at once, as before
    assert vars(text[field])["_parse_tree"] is not None
