"""The account emails (confirm a sign-up, welcome, a link to one's page, the answers to a sign-up):
from the organizer, plain text with an HTML alternative, the same bytes for the same delivery,
every value escaped and only our own links made links."""

from __future__ import annotations

import datetime as dt
import email
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

from calroulette.config import Community, parse_community
from calroulette.invites import Channel, Kind, Outgoing
from calroulette.invites.account import (
    account_key,
    confirm_email,
    link_email,
    rejected_email,
    waiting_email,
    welcome_email,
)

NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
LINK = "https://coffee.example.org/join/confirm/abc.DEF-123_x?y=1&z=2"
MANAGE = "https://coffee.example.org/me/eyJzIjoiYSJ9.sig"
EVIL = "https://evil.example/login"
XSS = "<script>alert(1)</script>"


@pytest.fixture
def community() -> Community:
    data = {
        "community": {
            "name": "Data Folk Coffee",
            "organizer": "Ada Organizer <coffee@example.org>",
            "timezone": "Europe/London",
        },
        "members": [],
    }
    return parse_community(data, base_dir=Path("/nonexistent"))


def _parsed(outgoing: Outgoing) -> EmailMessage:
    message = email.message_from_bytes(outgoing.payload, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def _part(message: EmailMessage, kind: str) -> str:
    body = message.get_body((kind,))
    assert body is not None
    return str(body.get_content())


ALL: dict[str, Callable[..., Outgoing]] = {
    "confirm": lambda c, name, key: confirm_email(
        c, name=name, email="zed@example.org", link=LINK, key=key, now=NOW
    ),
    "welcome": lambda c, name, key: welcome_email(
        c, name=name, email="zed@example.org", manage_link=MANAGE, key=key, now=NOW
    ),
    "link": lambda c, name, key: link_email(
        c, name=name, email="zed@example.org", manage_link=MANAGE, key=key, now=NOW
    ),
    "member": lambda c, name, key: link_email(
        c,
        name=name,
        email="zed@example.org",
        manage_link=MANAGE,
        key=key,
        now=NOW,
        already_member=True,
        revokes=False,
    ),
    "waiting": lambda c, name, key: waiting_email(
        c, name=name, email="zed@example.org", key=key, now=NOW
    ),
    "rejected": lambda c, name, key: rejected_email(
        c, name=name, email="zed@example.org", key=key, now=NOW
    ),
}


def test_the_key_names_an_account_email_to_one_person() -> None:
    key = account_key("confirm", "s123", " Zed@Example.org ")
    assert (key.meeting_uid, key.recipient) == ("account-confirm-s123", "zed@example.org")
    assert (key.channel, key.kind, key.sequence) == (Channel.EMAIL, Kind.ACCOUNT, 0)


@pytest.mark.parametrize("which", list(ALL))
def test_each_is_from_the_organizer_to_the_person_with_text_and_html(
    community: Community, which: str
) -> None:
    key = account_key(which, "s1", "zed@example.org")
    outgoing = ALL[which](community, "Zed Shaw", key)
    message = _parsed(outgoing)
    assert str(message["From"]) == "Ada Organizer <coffee@example.org>"
    assert str(message["To"]) == "Zed Shaw <zed@example.org>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    assert "Hi Zed," in _part(message, "plain")
    assert '<p style="margin:0 0 16px">Hi Zed,</p>' in _part(message, "html")
    assert outgoing.key == key and outgoing.ics is None
    assert outgoing.message_id == str(message["Message-ID"]) == key.message_id("example.org")
    # the same delivery, the same bytes (a retry sends what the ledger recorded)
    assert ALL[which](community, "Zed Shaw", key).payload == outgoing.payload
    other = ALL[which](community, "Zed Shaw", account_key(which, "s2", "zed@example.org"))
    assert other.message_id != outgoing.message_id


def test_the_confirmation_carries_its_link_and_what_happens_next(community: Community) -> None:
    key = account_key("confirm", "s1", "zed@example.org")
    message = _parsed(
        confirm_email(community, name="Zed", email="zed@example.org", link=LINK, key=key, now=NOW)
    )
    text, html = _part(message, "plain"), _part(message, "html")
    assert "Confirm your sign-up to Data Folk Coffee" in str(message["Subject"])
    assert LINK in text and "2 days" in text and "ignore this email" in text
    # a button to it, and the address under it as text to copy (one link, not two)
    confirm = "https://coffee.example.org/join/confirm/abc.DEF-123_x?y=1&amp;z=2"
    assert html.count(f'<a href="{confirm}" ') == 1 and ">Confirm my address</a>" in html
    assert f">{confirm}</p>" in html
    approve = _parsed(
        confirm_email(
            community,
            name="Zed",
            email="zed@example.org",
            link=LINK,
            key=key,
            now=NOW,
            approve=True,
        )
    )
    assert "organizer" in _part(approve, "plain")


def test_the_welcome_without_a_page_says_whom_to_write_to(community: Community) -> None:
    key = account_key("welcome", "s1", "zed@example.org")
    message = _parsed(
        welcome_email(
            community, name="Zed", email="zed@example.org", manage_link=None, key=key, now=NOW
        )
    )
    text = _part(message, "plain")
    assert "/me/" not in text and "write to coffee@example.org" in text
    assert "“free”" in text


@pytest.mark.parametrize("which", list(ALL))
def test_markup_and_addresses_in_a_name_are_text(community: Community, which: str) -> None:
    name = f"{XSS} {EVIL}"
    message = _parsed(ALL[which](community, name, account_key(which, "s1", "zed@example.org")))
    html = _part(message, "html")
    assert "<script" not in html and "&lt;script&gt;" in html
    assert f'href="{EVIL}' not in html  # a name that reads like an address is not a link
    links = [part.split('"')[0] for part in html.split('href="')[1:]]
    assert set(links) <= {MANAGE, LINK.replace("&", "&amp;")}
    assert XSS in str(message["To"])  # as the person wrote it, in an encoded header


def test_a_name_with_a_line_break_never_reaches_a_header(community: Community) -> None:
    with pytest.raises(ValueError, match=r"CR or LF|line break"):
        waiting_email(
            community,
            name="Eve\r\nBcc: x@y.org",
            email="zed@example.org",
            key=account_key("waiting", "s1", "zed@example.org"),
            now=NOW,
        )
