"""The member's own page, "send me a link" and one-click unsubscribe, served by uvicorn on
loopback and used as a browser uses them (a requests session with its cookies and the forms'
CSRF fields); mail goes to the demo community's outbox.

The clock starts at Tuesday 2026-11-24 12:00Z: next week, 2026-W49, is planned and sent; Ada
Lovelace (Europe/London) meets Alan Turing on Tue 01 Dec at 14:00Z.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pytest_httpserver import HTTPServer

from calroulette.config import load_community
from calroulette.config.roster import NewMember, Roster
from calroulette.tokens import Purpose, sign

from .support import ROOT, write_demo_config
from .support.web import (
    SECRET_KEY,
    Site,
    links_in,
    outbox,
    plain_text,
    planned_and_sent,
    serving,
    signed_link,
)

NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
ADA, ALAN = "ada@example.org", "alan@example.org"
DEMO = ROOT / "demo" / "calendars"
MARKER = "zq7secretmarker9x"
EXPIRED = "this link has expired or was replaced: get a new one at /link"
NOT_VALID = "this link is not valid"

pytestmark = pytest.mark.slow  # a uvicorn server per test


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CALROULETTE_SECRET_KEY", SECRET_KEY)  # the links in round emails
    path = write_demo_config(tmp_path)
    # serving() writes its own [web] table
    text = re.sub(r"(?ms)^\[web\][^\n]*\n.*?(?=^\[|\Z)", "", path.read_text(encoding="utf-8"))
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def site(config: Path) -> Iterator[Site]:
    with serving(config, now=NOW) as served:
        yield served


def token(site: Site, who: str = ADA, purpose: Purpose = Purpose.MANAGE) -> str:
    return signed_link(site.config, who, purpose, key=SECRET_KEY, now=site.clock.now)


def cancels_to(config: Path, who: str) -> list[str]:
    return [n for n in outbox(config) if f".{who}.cancel-" in n]


# --- the page -----------------------------------------------------------------------------


def test_the_page_shows_the_meeting_to_come_after_match_and_send(site: Site) -> None:
    planned_and_sent(site.config, NOW)
    visitor = site.visitor()
    page = visitor.get(f"/me/{token(site)}")
    assert page.status_code == 200, page.text
    upcoming = page.text.split('id="upcoming"')[1].split("</ul>")[0]
    assert "Tue 01 Dec, 14:00–14:30 (Europe/London)" in upcoming
    assert "with Alan" in upcoming and "Turing" not in upcoming
    assert "ada@example.org" in page.text and "Europe/London" in page.text
    assert "active" in page.text.split('id="status"')[1][:200]
    assert "set-cookie" in page.headers  # the CSRF cookie the forms need


def test_the_link_in_a_round_email_opens_the_page(site: Site) -> None:
    planned_and_sent(site.config, NOW)
    links = [
        u
        for name, message in outbox(site.config).items()
        if f".{ADA}.request-" in name
        for u in links_in(plain_text(message))
        if "/me/" in u
    ]
    if not links:
        pytest.skip("round emails carry no manage link yet (the invitation work adds it)")
    assert site.visitor().get(links[0]).status_code == 200


def test_a_script_in_a_name_is_shown_escaped(site: Site) -> None:
    with Roster.locked(site.config) as roster:
        roster.update(ADA, name="<script>alert(1)</script> Ada", topics=["<b>bold</b>"])
        roster.save()
    page = site.visitor().get(f"/me/{token(site)}")
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text and "<b>bold" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Ada" in page.text


# --- links that must not be honoured --------------------------------------------------------


def test_forged_cross_purpose_and_expired_links_are_refused(site: Site) -> None:
    visitor = site.visitor()
    forged = sign("another-key-" + "z" * 32, Purpose.MANAGE, ADA, now=NOW)
    for path in (
        f"/me/{forged}",
        f"/me/{token(site)[:-4]}abcd",
        f"/me/{token(site, purpose=Purpose.UNSUBSCRIBE)}",
        f"/unsubscribe/{token(site, purpose=Purpose.MANAGE)}",
    ):
        refused = visitor.get(path)
        assert refused.status_code == 403, path
        assert NOT_VALID in refused.text.lower()
    late = token(site)
    site.clock.advance(days=61)
    expired = visitor.get(f"/me/{late}")
    assert expired.status_code == 410 and EXPIRED in expired.text.lower()
    # a POST with an expired link changes nothing
    visitor.get(f"/me/{token(site)}")
    assert visitor.post(f"/me/{late}/pause", {"until": ""}).status_code == 410
    assert not load_community(site.config).members[0].paused


def test_a_post_without_the_csrf_field_or_cookie_is_refused(site: Site) -> None:
    before = site.config.read_text(encoding="utf-8")
    visitor = site.visitor()
    form = visitor.get(f"/me/{token(site)}").text
    assert visitor.post(f"/me/{token(site)}/pause", {}, csrf=False).status_code == 403
    stranger = site.visitor()  # has the field from the page, but not the cookie
    stranger.page = form
    assert stranger.post(f"/me/{token(site)}/leave", {"confirm": "yes"}).status_code == 403
    other = requests.post(
        site.url(f"/me/{token(site)}/resume"),
        data={"csrf": "x"},
        headers={"Origin": "https://evil.example"},
        timeout=30,
    )
    assert other.status_code == 403
    assert site.config.read_text(encoding="utf-8") == before


# --- pause, skip, resume, settings --------------------------------------------------------


def test_pause_skip_resume_and_settings_through_the_page(site: Site) -> None:
    visitor = site.visitor()
    me = f"/me/{token(site)}"
    visitor.get(me)

    paused = visitor.post(f"{me}/pause", {"until": "2026-12-20"})
    assert paused.status_code == 200 and "You are paused." in paused.text
    assert "paused until Sun 20 Dec 2026" in paused.text
    assert load_community(site.config).member(ADA).paused_until == dt.date(2026, 12, 20)  # type: ignore[union-attr]

    resumed = visitor.post(f"{me}/resume", {})
    assert "Welcome back" in resumed.text
    assert load_community(site.config).member(ADA).paused_until is None  # type: ignore[union-attr]

    skipped = visitor.post(f"{me}/skip", {})
    assert "You skip the next round." in skipped.text
    assert load_community(site.config).member(ADA).paused_until == dt.date(2026, 12, 7)  # type: ignore[union-attr]
    visitor.post(f"{me}/resume", {})

    forever = visitor.post(f"{me}/pause", {"until": ""})
    assert "paused until you resume" in forever.text
    assert load_community(site.config).member(ADA).paused is True  # type: ignore[union-attr]
    visitor.post(f"{me}/resume", {})

    past = visitor.post(f"{me}/pause", {"until": "2026-11-24"})
    assert past.status_code == 400 and "after today" in past.text
    visitor.get(me)

    saved = visitor.post(
        f"{me}/settings",
        {
            "name": "Ada King",
            "timezone": "Asia/Tokyo",
            "frequency": "biweekly",
            "topics": "maths, python",
            "unsubscribe": "leave",
        },
    )
    assert "Your settings are saved." in saved.text
    ada = load_community(site.config).member(ADA)
    assert ada is not None
    assert (ada.name, ada.timezone.key, ada.frequency.value, ada.unsubscribe.value) == (
        "Ada King",
        "Asia/Tokyo",
        "biweekly",
        "leave",
    )
    assert ada.topics == {"maths", "python"}
    text = site.config.read_text(encoding="utf-8")
    assert text.count("[[members]]") == 8 and "# The demo community" in text
    assert "Grace Hopper" in text

    bad = visitor.post(f"{me}/settings", {"timezone": "Mars/Olympus"})
    assert bad.status_code == 400 and "unknown time zone" in bad.text
    assert load_community(site.config).member(ADA).timezone.key == "Asia/Tokyo"  # type: ignore[union-attr]


def test_a_settings_change_keeps_an_edit_made_while_another_writer_held_the_lock(
    site: Site,
) -> None:
    """The organizer's `members add` holds members.toml's lock and saves a new member while Ada
    saves her settings: both are in the file, which stays valid."""
    visitor = site.visitor()
    me = f"/me/{token(site)}"
    visitor.get(me)
    holding = threading.Event()

    def organizer() -> None:
        with Roster.locked(site.config) as roster:
            holding.set()
            time.sleep(0.7)
            roster.add(NewMember("Hedy Lamarr", "hedy@example.org", str(DEMO / "ada.ics"), "UTC"))
            roster.save()

    thread = threading.Thread(target=organizer)
    thread.start()
    assert holding.wait(5)
    shown = re.search(r'name="was_topics" value="([^"]*)"', visitor.page)
    assert shown is not None
    saved = visitor.post(
        f"{me}/settings",
        {
            "name": "Ada King",
            "was_name": "Ada Lovelace",
            "topics": shown.group(1),
            "was_topics": shown.group(1),
        },
    )
    thread.join()
    assert saved.status_code == 200
    community = load_community(site.config)
    assert community.member("hedy@example.org") is not None
    assert community.member(ADA).name == "Ada King"  # type: ignore[union-attr]
    assert len(community.members) == 9


# --- a new calendar address ---------------------------------------------------------------


def test_a_new_calendar_is_previewed_then_saved_and_never_shown_or_logged(
    site: Site, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with Roster.locked(site.config) as roster:  # the test server is on loopback
        roster.document["community"]["allow_private_feeds"] = True  # type: ignore[index]
        roster.save()
    path = f"/calendar/ical/ada/private-{MARKER}/basic.ics"
    httpserver.expect_request(path).respond_with_data((DEMO / "ada.ics").read_bytes())
    httpserver.expect_request(f"/gone/{MARKER}/basic.ics").respond_with_data("", status=404)
    good = httpserver.url_for(path) + f"?token={MARKER}"
    visitor = site.visitor()
    me = f"/me/{token(site)}"
    pages = [visitor.get(me)]

    pages.append(visitor.post(f"{me}/calendar", {"calendar": good, "action": "preview"}))
    assert pages[-1].status_code == 200
    assert 'id="week"' in pages[-1].text and "Tue 01 Dec" in pages[-1].text
    assert load_community(site.config).member(ADA).calendar.startswith(str(ROOT))  # type: ignore[union-attr]

    bad = httpserver.url_for(f"/gone/{MARKER}/basic.ics")
    pages.append(visitor.post(f"{me}/calendar", {"calendar": bad, "action": "save"}))
    assert pages[-1].status_code == 400 and "404" in pages[-1].text
    pages.append(visitor.post(f"{me}/calendar", {"calendar": "/etc/passwd", "action": "save"}))
    assert pages[-1].status_code == 400 and "https://" in pages[-1].text

    pages.append(visitor.get(me))
    pages.append(visitor.post(f"{me}/calendar", {"calendar": good, "action": "save"}))
    assert "Your new calendar address is saved." in pages[-1].text
    assert load_community(site.config).member(ADA).calendar == good  # type: ignore[union-attr]
    assert "basic.ics" in pages[-1].text  # shown redacted
    for response in pages:
        assert MARKER not in response.text
        assert MARKER not in str(response.headers)
    ours = [r for r in caplog.records if r.name != "werkzeug"]  # not the test server's log
    assert ours and not [r for r in ours if MARKER in r.getMessage()]


# --- leaving ------------------------------------------------------------------------------


def test_leaving_cancels_the_sent_meeting_for_the_partner_and_the_link_dies(
    site: Site,
) -> None:
    planned_and_sent(site.config, NOW)
    visitor = site.visitor()
    me = f"/me/{token(site)}"
    visitor.get(me)
    unsure = visitor.post(f"{me}/leave", {})
    assert unsure.status_code == 400
    assert load_community(site.config).member(ADA) is not None
    visitor.get(me)
    left = visitor.post(f"{me}/leave", {"confirm": "yes"})
    assert left.status_code == 200 and "You have left" in left.text
    assert load_community(site.config).member(ADA) is None
    assert "Grace Hopper" in site.config.read_text(encoding="utf-8")
    (cancel,) = cancels_to(site.config, ALAN)
    assert outbox(site.config)[cancel]["Subject"]
    gone = visitor.get(me)
    assert gone.status_code == 410 and "no longer a member" in gone.text


# --- a fresh link -------------------------------------------------------------------------


def test_asking_for_a_link_emails_a_working_one_and_the_old_one_dies(site: Site) -> None:
    old = f"/me/{token(site)}"
    visitor = site.visitor()
    assert visitor.get("/link").status_code == 200
    sent = visitor.post("/link", {"email": "Ada@Example.org"})
    assert sent.status_code == 200
    assert "If that address is a member, a link is on its way" in sent.text
    visitor.get("/link")
    stranger = visitor.post("/link", {"email": "eve@example.org"})
    assert stranger.status_code == 200

    def main(text: str) -> str:
        return text.split("<main>")[1].split("</main>")[0]

    assert main(stranger.text) == main(sent.text)
    mails = [m for n, m in outbox(site.config).items() if "account-link" in n]
    assert [m["To"].addresses[0].addr_spec for m in mails] == [ADA]
    (link,) = [u for u in links_in(plain_text(mails[0])) if "/me/" in u]
    assert link.startswith(site.base_url + "/me/")
    assert site.visitor().get(link).status_code == 200
    refused = site.visitor().get(old)
    assert refused.status_code == 410 and EXPIRED in refused.text.lower()


def test_asking_for_links_is_rate_limited_per_address(site: Site) -> None:
    visitor = site.visitor()
    codes = []
    for _ in range(4):
        visitor.get("/link")
        codes.append(visitor.post("/link", {"email": "eve@example.org"}).status_code)
    assert codes == [200, 200, 200, 429]


# --- unsubscribe --------------------------------------------------------------------------


def test_one_click_unsubscribe_without_cookies_pauses_once(site: Site) -> None:
    planned_and_sent(site.config, NOW)
    url = site.url(f"/unsubscribe/{token(site, purpose=Purpose.UNSUBSCRIBE)}")
    shown = requests.get(url, timeout=30)
    assert shown.status_code == 200 and "Pause my invitations" in shown.text
    assert "/me/" not in shown.text  # an unsubscribe link does not open the member's page
    assert not load_community(site.config).member(ADA).paused  # type: ignore[union-attr]

    first = requests.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=30)
    assert first.status_code == 200 and not first.history and "You are paused" in first.text
    assert load_community(site.config).member(ADA).paused  # type: ignore[union-attr]
    assert cancels_to(site.config, ALAN)  # the partner is told
    second = requests.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=30)
    assert second.status_code == 200 and "Already done" in second.text
    assert requests.post(url, data={}, timeout=30).status_code == 400


def test_one_click_unsubscribe_removes_a_member_who_chose_leave(site: Site) -> None:
    with Roster.locked(site.config) as roster:
        roster.update(ADA, unsubscribe="leave")
        roster.save()
    url = site.url(f"/unsubscribe/{token(site, purpose=Purpose.UNSUBSCRIBE)}")
    assert "Leave Data Folk Coffee" in requests.get(url, timeout=30).text
    done = requests.post(
        url,
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert done.status_code == 200 and "You have left" in done.text
    assert load_community(site.config).member(ADA) is None
    again = requests.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=30)
    assert again.status_code == 200 and "Already done" in again.text


def test_the_unsubscribe_button_needs_its_csrf_field(site: Site) -> None:
    visitor = site.visitor()
    path = f"/unsubscribe/{token(site, purpose=Purpose.UNSUBSCRIBE)}"
    visitor.get(path)
    assert visitor.post(f"{path}/confirm", {}, csrf=False).status_code == 403
    assert not load_community(site.config).member(ADA).paused  # type: ignore[union-attr]
    visitor.get(path)
    assert visitor.post(f"{path}/confirm", {}).status_code == 200
    assert load_community(site.config).member(ADA).paused  # type: ignore[union-attr]
