"""Every email to a member carries their own links when the community has a web page: the page
to manage their membership in the body, and a one-click unsubscribe (RFC 8058) with the mailto
fallback (RFC 2369) in the headers; without a web page (or a signing key) the emails are the
bytes they always were. Read back as a mail program reads them (email, policy.default), and the
links followed on the app served for real."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest

from calroulette import invites, service
from calroulette.config import Community
from calroulette.delivery import rendering
from calroulette.invites import Kind, Outgoing
from calroulette.matching import Meeting, Round, reasons
from calroulette.service.web import MemberLinks, member_links
from calroulette.store import open_store
from calroulette.timeutil import IsoWeek
from calroulette.tokens import Purpose, verify

from .support import write_demo_config
from .support.mail import PEOPLE, make_community, parse, text_of
from .support.web import SECRET_KEY, links_in, serving, set_base_url

UTC = dt.UTC
WEEK = IsoWeek(2026, 49)
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # the Tuesday before 2026-W49
START = dt.datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
ADA, GRACE = "ada@example.org", "grace@example.org"
MEETING = Meeting(
    uid="m-49-ada-grace@calroulette.test",
    members=(ADA, GRACE),
    start=START,
    end=START + dt.timedelta(minutes=30),
)
MAILTO = "<mailto:coffee@example.org?subject=unsubscribe>"
BASE = "https://coffee.example.org"
FOOTER = "Manage your membership, pause or leave:"


def header_block(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0] + b"\r\n"


def raw_field(raw: bytes, name: bytes) -> bytes:
    """One header field as written, folding included (up to the next field)."""
    found = re.search(rb"(?mi)^" + name + rb":.*?\r\n(?![ \t])", header_block(raw), re.S)
    assert found, name
    return found.group(0)


@pytest.fixture
def links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, MemberLinks]:
    """Ada's, Grace's and Alan's links as the service signs them, from the history database."""
    monkeypatch.setenv("CALROULETTE_SECRET_KEY", SECRET_KEY)
    community = web_community(tmp_path)
    with open_store(community.database) as store:
        return member_links(community, store, [ADA, GRACE, "alan@example.org"], now=NOW)


def web_community(tmp_path: Path) -> Community:
    community = make_community(tmp_path)
    return replace(community, web=replace(community.web, base_url=BASE))


def by_recipient(outgoing: list[Outgoing]) -> dict[str, EmailMessage]:
    return {o.key.recipient: parse(o.payload) for o in outgoing}


# --- the headers ---------------------------------------------------------------------------------


def test_the_links_read_back_from_the_headers_as_they_were_signed(
    tmp_path: Path, links: dict[str, MemberLinks]
) -> None:
    """List-Unsubscribe: the recipient's own https link first, the mailto after; and the
    RFC 8058 one-click field. Each token names its recipient, for its purpose."""
    community = web_community(tmp_path)
    out = by_recipient(
        invites.meeting_emails(MEETING, community, WEEK, sequence=0, now=NOW, links=links)
    )
    for recipient, msg in out.items():
        mine = links[recipient]
        assert msg["List-Unsubscribe"] == f"<{mine.unsubscribe}>, {MAILTO}"
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        token = mine.unsubscribe.rsplit("/", 1)[1]
        assert mine.unsubscribe == f"{BASE}/unsubscribe/{token}"
        claim = verify(SECRET_KEY, Purpose.UNSUBSCRIBE, token, now=NOW)
        assert claim.subject == recipient
        manage = mine.manage.rsplit("/", 1)[1]
        assert verify(SECRET_KEY, Purpose.MANAGE, manage, now=NOW).subject == recipient
    assert out[ADA]["List-Unsubscribe"] != out[GRACE]["List-Unsubscribe"]


def test_the_long_unsubscribe_field_is_folded_between_its_addresses_only(
    tmp_path: Path, links: dict[str, MemberLinks]
) -> None:
    """A mail program does not decode RFC 2047 words in List-Unsubscribe (RFC 2369 is a list of
    <address>es): the https address is written whole, in plain ASCII, and the field is folded
    only between the two addresses; no line passes RFC 5322's 998 characters, and every other
    line of the headers still fits in 78."""
    community = web_community(tmp_path)
    outgoing = invites.meeting_emails(MEETING, community, WEEK, sequence=0, now=NOW, links=links)
    for item in outgoing:
        mine = links[item.key.recipient]
        field = raw_field(item.payload, b"List-Unsubscribe")
        assert b"=?" not in field
        assert field == (f"List-Unsubscribe: <{mine.unsubscribe}>,\r\n {MAILTO}\r\n".encode()), (
            field
        )
        assert raw_field(item.payload, b"List-Unsubscribe-Post") == (
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        )
        lines = header_block(item.payload).split(b"\r\n")
        assert max(len(line) for line in lines) <= 998
        others = [line for line in lines if mine.unsubscribe.encode() not in line]
        assert max(len(line) for line in others) <= 78


def test_without_a_web_page_the_emails_are_the_bytes_they_were(tmp_path: Path) -> None:
    """No links (no base_url, or no key: the service hands none): the mailto alone, no
    one-click field, no footer; and giving an empty map changes no byte."""
    community = make_community(tmp_path)
    plain = invites.meeting_emails(MEETING, community, WEEK, sequence=0, now=NOW)
    assert invites.meeting_emails(MEETING, community, WEEK, sequence=0, now=NOW, links={}) == plain
    for item in plain:
        msg = parse(item.payload)
        assert msg["List-Unsubscribe"] == MAILTO
        assert "List-Unsubscribe-Post" not in msg
        assert FOOTER not in text_of(msg)
        assert raw_field(item.payload, b"List-Unsubscribe") == (
            b"List-Unsubscribe: " + MAILTO.encode() + b"\r\n"
        )


def test_member_links_are_empty_without_base_url_or_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service hands no links when the community has no web page or no signing key, so
    the emails stay as they were."""
    monkeypatch.delenv("CALROULETTE_SECRET_KEY", raising=False)
    community = web_community(tmp_path)
    with open_store(community.database) as store:
        assert member_links(community, store, [ADA], now=NOW) == {}
        monkeypatch.setenv("CALROULETTE_SECRET_KEY", SECRET_KEY)
        assert member_links(make_community(tmp_path), store, [ADA], now=NOW) == {}
        assert set(member_links(community, store, [ADA], now=NOW)) == {ADA}


# --- the bodies ----------------------------------------------------------------------------------


def test_each_body_links_to_the_recipients_own_page_only(
    tmp_path: Path, links: dict[str, MemberLinks]
) -> None:
    """The plain text says where to manage, pause or leave; the HTML makes it a link; neither
    carries the partner's links."""
    community = web_community(tmp_path)
    out = by_recipient(
        invites.meeting_emails(MEETING, community, WEEK, sequence=0, now=NOW, links=links)
    )
    for recipient, msg in out.items():
        mine, theirs = links[recipient], links[GRACE if recipient == ADA else ADA]
        plain, html = text_of(msg), text_of(msg, "html")
        assert f"{FOOTER} {mine.manage}" in plain
        assert f'<a href="{mine.manage}" ' in html  # the footer's link, in words
        assert ">Manage your membership, pause or leave</a>" in html
        for other in (theirs.manage, theirs.unsubscribe):
            assert other not in msg.as_string()


def test_a_name_that_reads_like_a_link_stays_text_beside_ours(
    tmp_path: Path, links: dict[str, MemberLinks]
) -> None:
    """Only our own addresses become links in the HTML part."""
    evil = [("https://evil.example/login", ADA, "Europe/London", None), *PEOPLE[1:]]
    community = make_community(tmp_path, evil)
    community = replace(community, web=replace(community.web, base_url=BASE))
    out = by_recipient(
        invites.meeting_emails(MEETING, community, WEEK, sequence=0, now=NOW, links=links)
    )
    html = text_of(out[GRACE], "html")
    assert 'href="https://evil.example' not in html
    assert f'href="{links[GRACE].manage}"' in html


def test_cancel_update_and_the_note_carry_the_links_too(
    tmp_path: Path, links: dict[str, MemberLinks]
) -> None:
    community = web_community(tmp_path)
    cancelled = rendering.render_change(
        replace(MEETING, sequence=1), community, WEEK, kind=Kind.CANCEL, now=NOW, links=links
    )
    moved = rendering.render_change(
        replace(MEETING, sequence=1), community, WEEK, kind=Kind.REQUEST, now=NOW, links=links
    )
    left_out = Round(WEEK, 1, (), (reasons.no_shared_time("alan@example.org"),))
    note = rendering.render_round(left_out, community, now=NOW, links=links)
    for item in (*cancelled, *moved, *note):
        msg = parse(item.payload)
        mine = links[item.key.recipient]
        assert msg["List-Unsubscribe"] == f"<{mine.unsubscribe}>, {MAILTO}"
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert f"{FOOTER} {mine.manage}" in text_of(msg)
        assert f'href="{mine.manage}"' in text_of(msg, "html")
    assert str(parse(cancelled[0].payload)["Subject"]).startswith("Cancelled:")
    assert str(parse(moved[0].payload)["Subject"]).startswith("Updated:")
    assert "no meeting for you" in str(parse(note[0].payload)["Subject"])


def test_a_discord_post_names_no_ones_links(tmp_path: Path, links: dict[str, MemberLinks]) -> None:
    """A Discord post is read by the whole channel: a manage link in it would hand a member's
    settings to everyone there."""
    community = make_community(tmp_path, method="discord")
    community = replace(community, web=replace(community.web, base_url=BASE))
    round_ = Round(WEEK, 1, (MEETING,), (reasons.no_shared_time("alan@example.org"),))
    posts = rendering.render_round(round_, community, now=NOW, links=links)
    change = rendering.render_change(
        MEETING, community, WEEK, kind=Kind.CANCEL, now=NOW, links=links
    )
    for post in (*posts, *change):
        body = json.loads(post.payload)
        assert "/me/" not in body["content"] and "/unsubscribe/" not in body["content"]
        assert BASE not in post.payload.decode()


@pytest.mark.slow
def test_worker_processes_render_the_same_links(
    tmp_path: Path, links: dict[str, MemberLinks]
) -> None:
    """A round rendered in worker processes carries the same links, byte for byte."""
    community = web_community(tmp_path)
    meetings = tuple(
        replace(
            MEETING,
            uid=f"m{n}@calroulette.test",
            start=START + dt.timedelta(hours=n),
            end=START + dt.timedelta(hours=n, minutes=30),
        )
        for n in range(6)
    )
    round_ = Round(WEEK, 1, meetings, (reasons.no_shared_time("alan@example.org"),))
    here = rendering.render_round(round_, community, now=NOW, links=links, pool_min=10**9)
    pool = rendering.render_round(round_, community, now=NOW, links=links, pool_min=2, workers=2)
    assert pool == here
    assert all(b"List-Unsubscribe-Post" in o.payload for o in here)


# --- the whole way: send, then follow the links on the served app --------------------------------


def demo_without_web(tmp_path: Path) -> Path:
    """The demo members.toml without its [web] table: ``serving`` writes one."""
    config = write_demo_config(tmp_path)
    text = re.sub(r"(?ms)^\[web\][^\n]*\n.*?(?=^\[)", "", config.read_text(encoding="utf-8"))
    config.write_text(text, encoding="utf-8")
    return config


def outbox_emails(config: Path) -> dict[str, list[EmailMessage]]:
    """The outbox's emails by recipient."""
    out: dict[str, list[EmailMessage]] = {}
    for path in sorted((config.parent / "outbox").rglob("*.eml")):
        msg = parse(path.read_bytes())
        (to,) = msg["To"].addresses
        out.setdefault(to.addr_spec, []).append(msg)
    return out


def test_send_and_cancel_sign_each_members_links_at_the_rounds_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`match` + `send` on the demo with a base_url: every email, the notes included, carries
    its recipient's links, signed at the round's time; and so does a cancel."""
    monkeypatch.setenv("CALROULETTE_SECRET_KEY", SECRET_KEY)
    config = write_demo_config(tmp_path)
    set_base_url(config, "http://127.0.0.1:8000", "open")
    community = service.load(config)
    round_ = service.match(community, WEEK, now=NOW).round
    assert round_ is not None and round_.meetings
    service.send(community, WEEK, now=NOW)
    sent = outbox_emails(config)
    assert sent
    for recipient, messages in sent.items():
        for msg in messages:
            unsubscribe = str(msg["List-Unsubscribe"]).split(">")[0].removeprefix("<")
            assert unsubscribe.startswith("http://127.0.0.1:8000/unsubscribe/")
            claim = verify(SECRET_KEY, Purpose.UNSUBSCRIBE, unsubscribe.rsplit("/", 1)[1], now=NOW)
            assert claim.subject == recipient and claim.issued == NOW
            assert FOOTER in text_of(msg)
    meeting = round_.meetings[0]
    later = NOW + dt.timedelta(hours=1)
    service.cancel(community, meeting.uid, now=later)
    for recipient in meeting.members:
        (cancel,) = [m for m in outbox_emails(config)[recipient] if "Cancelled" in m["Subject"]]
        manage = [u for u in links_in(text_of(cancel)) if "/me/" in u]
        assert len(manage) == 1
        claim = verify(SECRET_KEY, Purpose.MANAGE, manage[0].rsplit("/", 1)[1], now=later)
        assert claim.subject == recipient and claim.issued == later


@pytest.mark.slow
def test_the_manage_link_in_an_email_opens_the_members_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The link in the body, followed on the app served for real, is the member's page."""
    monkeypatch.setenv("CALROULETTE_SECRET_KEY", SECRET_KEY)
    config = demo_without_web(tmp_path)
    with serving(config, now=NOW) as site:
        community = service.load(config)
        service.match(community, WEEK, now=NOW)
        service.send(community, WEEK, now=NOW)
        (msg, *_) = outbox_emails(config)[ADA]
        (manage,) = [u for u in links_in(text_of(msg)) if "/me/" in u]
        assert manage.startswith(site.base_url + "/me/")
        response = site.visitor().get(manage)
        assert response.status_code == 200
        assert "Ada Lovelace" in response.text


@pytest.mark.slow
def test_one_click_post_to_the_headers_link_pauses_the_member(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFC 8058: the mail program POSTs ``List-Unsubscribe=One-Click`` to the https address of
    the header, with no cookie and no form token; the member (who chose "pause", the default)
    is paused in members.toml."""
    monkeypatch.setenv("CALROULETTE_SECRET_KEY", SECRET_KEY)
    config = demo_without_web(tmp_path)
    with serving(config, now=NOW) as site:
        community = service.load(config)
        service.match(community, WEEK, now=NOW)
        service.send(community, WEEK, now=NOW)
        (msg, *_) = outbox_emails(config)[GRACE]
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url = str(msg["List-Unsubscribe"]).split(">")[0].removeprefix("<")
        assert url.startswith(site.base_url + "/unsubscribe/")
        response = site.visitor().post(url, {"List-Unsubscribe": "One-Click"}, csrf=False)
        assert response.status_code == 200
    grace = service.load(config).member(GRACE)
    assert grace is not None and grace.paused
