"""The issue's "Done when", in a real browser: a person with only the community's link joins,
sees their week, is in the next round, pauses, changes their time zone and leaves, with
``signup = "open"`` and nothing done by the organizer; and a member unsubscribes with one
click from an invitation's List-Unsubscribe header.

Debian's headless Chromium, driven by Selenium through chromium-driver (tests/support/browser.py;
skipped, saying what to install, without them). The site is the demo community served by uvicorn
on loopback; the new member's calendar is on a real HTTP server, and in a second variant on a
real CalDAV server (Radicale). Every page is checked for console errors (a Content-Security-Policy
violation or a script error shows there), and at a phone's width for sideways scrolling.
"""

from __future__ import annotations

import datetime as dt
import email
import re
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
import requests
from pytest_httpserver import HTTPServer
from selenium.webdriver.remote.webelement import WebElement

from calroulette import service
from calroulette.config import Member, load_community
from calroulette.matching.reasons import Reason
from calroulette.timeutil import IsoWeek

from .support import write_demo_config
from .support.browser import PHONE, Browser, chromium
from .support.caldav import radicale_server
from .support.feeds import ICS
from .support.web import SECRET_KEY, Site, links_in, serving

pytestmark = pytest.mark.slow

NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)  # a Tuesday; next week is 2026-W49
WEEK = IsoWeek(2026, 49)
FEED = "/calendar/ical/zed.example.org/private-3b4c5d6e/basic.ics"
ZONE = "Europe/Lisbon"  # the browser's: the form must pre-select it


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo community; private feeds allowed (the calendar servers are on loopback); the
    signing key in the environment, as `serve` and the emails `send` writes find it."""
    monkeypatch.setenv("CALROULETTE_SECRET_KEY", SECRET_KEY)
    config = write_demo_config(tmp_path)
    text = re.sub(r"(?ms)^\[web\][^\n]*\n.*?(?=^\[)", "", config.read_text(encoding="utf-8"))
    text = text.replace("[community]\n", "[community]\nallow_private_feeds = true\n", 1)
    config.write_text(text, encoding="utf-8")
    return config


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        browser.set_timezone(ZONE)
        yield browser


# --- the pages, as a person uses them -------------------------------------------------------------


def _by(css: str) -> tuple[str, str]:
    return ("css selector", css)


def _find(browser: Browser, css: str) -> WebElement:
    return browser.driver.find_element(*_by(css))


def _go(browser: Browser, url: str, status: int | None = None) -> None:
    """Open ``url``; ``status``: the error status the page itself answers with (the console
    notes it, and only it is allowed there)."""
    browser.open(url)
    _settled(
        browser,
        url,
        f"{url} - Failed to load resource: the server responded with a status of {status}"
        if status
        else None,
    )


def _settled(browser: Browser, what: str, expected: str | None = None) -> None:
    """The page has loaded and logged no error (a CSP violation, a script error, a 404 for
    its style sheet)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser.driver, 60).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )
    # a browser asks every site for /favicon.ico; a site without one logs a 404, nothing worse
    errors = [
        e
        for e in browser.errors()
        if "/favicon.ico - Failed to load resource" not in e
        and (expected is None or not e.startswith(expected))
    ]
    assert errors == [], f"{what}: the console shows {errors}"
    assert browser.driver.find_elements(*_by('link[rel="stylesheet"]')), what


def _submit(browser: Browser, css: str) -> None:
    """Click the button ``css`` and wait for the page it leads to."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    button = _find(browser, css)
    old = _find(browser, "html")
    button.click()
    WebDriverWait(browser.driver, 90).until(expected_conditions.staleness_of(old))
    _settled(browser, css)


def _type(browser: Browser, name: str, value: str) -> None:
    field = _find(browser, f'[name="{name}"]')
    field.clear()
    field.send_keys(value)


def _choose(browser: Browser, name: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    select = Select(_find(browser, f'select[name="{name}"]'))
    try:
        select.select_by_value(value)
    except Exception:  # noqa: BLE001 - an <option> without a value attribute: its text
        select.select_by_visible_text(value)


def _text(browser: Browser) -> str:
    return str(_find(browser, "body").text)


def _fits_a_phone(browser: Browser, button_css: str, shot: Path | None = None) -> None:
    """At a phone's width the page does not scroll sideways and its main button is in view."""
    browser.size(*PHONE)
    try:
        time.sleep(0.2)  # the layout after the resize
        assert not browser.scrolls_sideways(), f"{browser.driver.current_url}: scrolls sideways"
        button = _find(browser, button_css)
        browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
        assert browser.in_view(button), f"{button_css}: not in view at a phone's width"
        if shot is not None:
            browser.screenshot(shot)
    finally:
        browser.size(1280, 900)


def _outbox(config: Path, to: str) -> list[EmailMessage]:
    found = []
    files = sorted((config.parent / "outbox").rglob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    for path in files:
        message = email.message_from_bytes(path.read_bytes(), policy=default)
        assert isinstance(message, EmailMessage)
        if to in str(message["To"]).lower():
            found.append(message)
    return found


def _link(message: EmailMessage, part: str) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    links = [u for u in links_in(body.get_content()) if part in u]
    assert links, f"no {part} link in {message['Subject']!r}"
    return links[0]


def _member(config: Path, email_address: str) -> Member | None:
    return load_community(config).member(email_address)


# --- joining --------------------------------------------------------------------------------------


def _join(browser: Browser, site: Site, calendar: str, shots: Path | None) -> Member:
    """From /join to a member in members.toml, as a person does it in the browser."""
    _go(browser, site.url("/join"))
    assert browser.zone() == ZONE
    zone = _find(browser, 'select[name="timezone"]')
    assert zone.get_attribute("value") == ZONE, "the browser's time zone is not pre-selected"
    _type(browser, "name", "Zed Shaw")
    _type(browser, "email", "zed@example.org")
    _type(browser, "calendar", calendar)
    if browser.driver.find_elements(*_by('[name="topics"]')):
        _type(browser, "topics", "python, statistics")
    _submit(browser, 'button[name="action"][value="preview"]')
    page = _text(browser)
    assert "Zed Shaw" in _find(browser, 'input[name="name"]').get_attribute("value")
    grid = browser.driver.find_elements(*_by(".grid"))
    assert grid, "the preview shows no week grid"
    # the weekly free Tuesday afternoon, 14:00-17:00 UTC: the same hours in Lisbon in December
    assert "Tue" in page and "14:00" in page, page
    if shots is not None:
        browser.screenshot(shots / "join-preview-desktop.png")
        _fits_a_phone(
            browser,
            'button[name="action"][value="join"]',
            shots / "join-preview-phone.png",
        )
    if not _find(browser, '[name="calendar"]').get_attribute("value"):
        _type(browser, "calendar", calendar)  # asked again rather than echoed back
    _submit(browser, 'button[name="action"][value="join"]')
    assert "email" in _text(browser).lower()  # "check your email"
    assert _member(site.config, "zed@example.org") is None  # not before the confirmation

    confirm = _link(_outbox(site.config, "zed@example.org")[-1], "/join/confirm/")
    _go(browser, confirm)
    _fits_a_phone(browser, "main form button")
    _submit(browser, "main form button")
    member = _member(site.config, "zed@example.org")
    assert member is not None, _text(browser)
    assert member.name == "Zed Shaw"
    assert member.timezone.key == ZONE
    assert member.calendar == calendar
    return member


def _in_next_round(site: Site) -> None:
    """The new member is in next week's round: in a meeting, or left out for a reason that is
    not their calendar."""
    community = service.load(site.config)
    round_ = service.match(community, now=site.clock.now).round
    assert round_.week == WEEK
    if round_.meeting_of("zed@example.org") is None:
        unmatched = round_.unmatched_of("zed@example.org")
        assert unmatched is not None, "the new member is not in the round at all"
        assert unmatched.reason not in (Reason.FEED_ERROR, Reason.NO_FREE_TIME, Reason.PAUSED), (
            unmatched.message
        )


def test_a_stranger_joins_is_matched_pauses_changes_zone_and_leaves(
    config: Path, httpserver: HTTPServer, browser: Browser, tmp_path: Path
) -> None:
    httpserver.expect_request(FEED).respond_with_data(ICS, content_type="text/calendar")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with serving(config, now=NOW, signup="open") as site:
        _go(browser, site.url("/"))
        _join(browser, site, httpserver.url_for(FEED), shots)
        _in_next_round(site)

        # the welcome email links to the member's page
        welcome = _outbox(config, "zed@example.org")[-1]
        manage = _link(welcome, "/me/")
        _go(browser, manage)
        assert "Zed Shaw" in _text(browser)
        browser.screenshot(shots / "manage-desktop.png")
        _fits_a_phone(browser, "main form button", shots / "manage-phone.png")

        # pause until a date
        until = dt.date(2027, 1, 11)
        _type_date(browser, "until", until)
        _submit(browser, 'form[action$="/pause"] button')
        member = _member(config, "zed@example.org")
        assert member is not None and member.paused_until == until and not member.paused
        assert member.is_paused(WEEK)

        # change the time zone
        _go(browser, manage)
        _choose(browser, "timezone", "Asia/Tokyo")
        _submit(browser, 'form[action$="/settings"] button')
        member = _member(config, "zed@example.org")
        assert member is not None and member.timezone.key == "Asia/Tokyo"
        assert member.paused_until == until  # the rest of the settings as they were

        # leave
        _go(browser, manage)
        leave = 'form[action$="/leave"]'
        checkbox = browser.driver.find_elements(*_by(f'{leave} input[name="confirm"]'))
        if checkbox and checkbox[0].get_attribute("type") == "checkbox":
            checkbox[0].click()
        _submit(browser, f"{leave} button")
        assert _member(config, "zed@example.org") is None
        assert "Zed Shaw" not in config.read_text(encoding="utf-8")
        # the old link now says the member is gone (410), and nothing else goes wrong
        _go(browser, manage, status=410)
        assert "Zed Shaw" not in _text(browser)
    for shot in shots.iterdir():
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def _type_date(browser: Browser, name: str, day: dt.date) -> None:
    """A date input takes the date as the person's locale types it; a script sets it as the
    form would send it."""
    field = _find(browser, f'input[name="{name}"]')
    if field.get_attribute("type") == "date":
        browser.driver.execute_script("arguments[0].value = arguments[1]", field, day.isoformat())
    else:
        _type(browser, name, day.isoformat())


def test_one_click_unsubscribe_from_an_invitation_pauses_the_member(
    config: Path, httpserver: HTTPServer
) -> None:
    """RFC 8058: the mail client POSTs ``List-Unsubscribe=One-Click`` to the header's https (here
    http on loopback) address, with no cookie and no form token."""
    with serving(config, now=NOW, signup="open") as site:
        community = service.load(config)
        round_ = service.match(community, now=site.clock.now).round
        service.send(community, now=site.clock.now)
        invited = sorted({m for meeting in round_.meetings for m in meeting.members})
        assert invited, "the demo community has meetings next week"
        who = invited[0]
        invitation = next(m for m in _outbox(config, who) if m["List-Unsubscribe-Post"] is not None)
        assert invitation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        header = str(invitation["List-Unsubscribe"])
        addresses = re.findall(r"<([^>]+)>", header)
        assert any(a.startswith("mailto:") for a in addresses), header  # still the fallback
        https = [a for a in addresses if a.startswith(site.base_url + "/unsubscribe/")]
        assert https, header
        # as a mail client sends it: the exact body, no cookie, no Origin
        body = "List-Unsubscribe=One-Click"
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        response = requests.post(https[0], data=body, headers=form, timeout=30)
        assert response.status_code == 200, response.text
        assert not response.cookies
        member = _member(config, who)
        assert member is not None and member.paused, "unsubscribe = pause (the default)"
        again = requests.post(https[0], data=body, headers=form, timeout=30)
        assert again.status_code == 200  # a mail client may send it twice


# --- the same sign-up with the calendar on a CalDAV server ----------------------------------------


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[str]:
    """Radicale on a free loopback port (any user name and password is accepted)."""
    with radicale_server(tmp_path / "radicale") as base:
        yield base


# A weekly free Tuesday afternoon as a calendar app PUTs it: 15:00-18:00 in Berlin (CET) is
# 14:00-17:00 in Lisbon in December.
CALDAV_EVENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example Corp.//Calendar App//EN\r\n"
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"
    "BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n"
    "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nEND:STANDARD\r\n"
    "BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"
    "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nEND:DAYLIGHT\r\n"
    "END:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\nUID:zed-free@example.org\r\nDTSTAMP:20261101T090000Z\r\n"
    "DTSTART;TZID=Europe/Berlin:20261103T150000\r\nDTEND;TZID=Europe/Berlin:20261103T180000\r\n"
    "RRULE:FREQ=WEEKLY;BYDAY=TU\r\nSUMMARY:Free for coffee\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def test_a_stranger_with_a_caldav_calendar_joins_and_is_matched(
    config: Path, radicale: str, browser: Browser
) -> None:
    auth = ("zed", "app-password-9d8c7b")
    collection = f"{radicale}/zed/coffee/"
    assert requests.request("MKCALENDAR", collection, auth=auth, timeout=10).status_code == 201
    put = requests.put(
        collection + "free.ics",
        data=CALDAV_EVENT,
        headers={"Content-Type": "text/calendar; charset=utf-8"},
        auth=auth,
        timeout=10,
    )
    assert put.status_code == 201
    calendar = collection.replace("http://", f"http://{auth[0]}:{auth[1]}@")
    with serving(config, now=NOW, signup="open") as site:
        member = _join(browser, site, calendar, shots=None)
        assert member.calendar == calendar
        _in_next_round(site)
