"""The "can't make it" page served for real (uvicorn on loopback), followed from the links in
the invitations in the outbox, as a browser uses it (a requests session with its cookies and
the forms' CSRF fields), and once in a real browser (Chromium through Selenium).

Calendars come from pytest-httpserver; the clock is pinned to Tue 24 Nov 2026 12:00Z; Ada
(London) and Grace (New York) meet on Tue 1 Dec 14:00Z and are both free again on Tuesday
afternoon and Thursday 3 Dec 10:00-12:00Z.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from calroulette.store import open_store
from calroulette.tokens import Purpose, sign

from .support.browser import PHONE, Browser, chromium
from .support.cant import (
    NOW,
    Person,
    at,
    itips,
    meeting,
    mount_cant,
    outbox,
    record_and_send,
    write_config,
)
from .support.mail import parse, text_of
from .support.web import SECRET_KEY, Site, serving

pytestmark = pytest.mark.slow  # a uvicorn server per test

ADA, GRACE = "ada@example.org", "grace@example.org"
UID = "m-ada-grace@calroulette"
FREE = [(at(1, 14), at(1, 17)), (at(3, 10), at(3, 12))]


@pytest.fixture
def site(tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.setenv("CALROULETTE_SECRET_KEY", SECRET_KEY)
    people = [
        Person("<b>Ada</b> Lovelace", FREE, "Europe/London", address=ADA),
        Person("Grace Hopper", FREE, "America/New_York"),
        Person("Zoe Zed", [(at(3, 10), at(3, 11))], extra={"standby": True}),
    ]
    config = write_config(tmp_path, httpserver, people, base_url=None)
    with serving(config, now=NOW) as served:
        mount_cant(served.app)
        record_and_send(config, [meeting(UID, [ADA, GRACE], at(1, 14))])
        yield served


def path_of(site: Site, who: str) -> str:
    raw = outbox(site.config)[f"{UID}.{who}.request-0.eml"]
    (link,) = re.findall(r"https?://\S+/cant/\S+", text_of(parse(raw)))
    assert link.startswith(site.base_url)
    return str(link).removeprefix(site.base_url)


def test_another_time_moves_it_for_both_once(site: Site) -> None:
    visitor = site.visitor()
    page = visitor.get(path_of(site, GRACE))
    assert page.status_code == 200, page.text
    assert "Tue 01 Dec, 09:00–09:30" in page.text and "America/New_York" in page.text
    starts = re.findall(r'name="start" value="([^"]+)"', page.text)
    assert "2026-12-03T10:00:00Z" in starts and "2026-12-01T14:00:00Z" not in starts
    assert "Thu 03 Dec, 05:00–05:30" in page.text  # 10:00Z, in Grace's zone
    done = visitor.post(path_of(site, GRACE) + "/move", {"start": "2026-12-03T10:00:00Z"})
    assert done.status_code == 200 and "the meeting is moved" in done.text
    assert done.url.endswith("?done=moved")
    updates = [i for i in itips(site.config) if i.sequence == 1]
    assert sorted((i.to, i.method) for i in updates) == [(ADA, "REQUEST"), (GRACE, "REQUEST")]
    before = outbox(site.config)
    again = visitor.post(path_of(site, GRACE) + "/move", {"start": "2026-12-03T10:00:00Z"})
    assert "nothing needed changing" in again.text
    assert outbox(site.config) == before


def test_a_time_taken_meanwhile_is_refused_with_a_page(site: Site) -> None:
    visitor = site.visitor()
    visitor.get(path_of(site, ADA))
    refused = visitor.post(path_of(site, ADA) + "/move", {"start": "2026-12-02T10:00:00Z"})
    assert refused.status_code == 409
    assert "no longer free for both of you" in refused.text
    assert not [i for i in itips(site.config) if i.sequence == 1]


def test_i_cant_this_week_cancels_offers_the_partner_someone_and_a_second_click_is_quiet(
    site: Site,
) -> None:
    visitor = site.visitor()
    page = visitor.get(path_of(site, ADA))
    form = unescape(re.search(r'name="csrf" value="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
    done = visitor.post(path_of(site, ADA) + "/cancel")
    assert done.status_code == 200 and "the meeting is cancelled" in done.text
    assert "This meeting is cancelled" in done.text
    sent = sorted((i.to, i.method, i.sequence) for i in itips(site.config))
    assert (ADA, "CANCEL", 1) in sent and (GRACE, "CANCEL", 1) in sent
    assert (GRACE, "REQUEST", 0) in sent and ("zoe@example.org", "REQUEST", 0) in sent
    before = outbox(site.config)
    again = visitor.post(path_of(site, ADA) + "/cancel", {"csrf": form}, csrf=False)
    assert again.status_code == 200
    assert outbox(site.config) == before
    grace = site.visitor().get(path_of(site, GRACE))
    assert "This meeting is cancelled" in grace.text
    assert "Your new meeting this week" in grace.text and "with Zoe" in grace.text


def test_links_that_cannot_be_honoured(site: Site) -> None:
    visitor = site.visitor()
    mine = path_of(site, ADA)

    def status(token: str) -> int:
        return visitor.get(f"/cant/{token}").status_code

    assert status("not-a-token") == 403
    assert status(mine.rsplit("/", 1)[1][:-3] + "abc") == 403
    assert status(sign(SECRET_KEY, Purpose.MANAGE, f"{ADA} {UID}", now=NOW)) == 403
    assert status(sign(SECRET_KEY, Purpose.CANT, f"zoe@example.org {UID}", now=NOW)) == 403
    assert status(sign("another-key-" + "y" * 32, Purpose.CANT, f"{ADA} {UID}", now=NOW)) == 403
    old = NOW - dt.timedelta(days=22)
    assert status(sign(SECRET_KEY, Purpose.CANT, f"{ADA} {UID}", now=old)) == 410
    assert status(sign(SECRET_KEY, Purpose.CANT, f"{ADA} nope@calroulette", now=NOW)) == 410
    with open_store(site.config.parent / "calroulette.sqlite") as store, store.transaction():
        store.links.bump(ADA, NOW)  # Ada asked for a new link: the old ones are revoked
    assert visitor.get(mine).status_code == 410
    assert "has expired" in visitor.page
    site.clock.now = at(1, 14)
    assert visitor.get(path_of(site, GRACE)).status_code == 410  # the meeting has begun


def test_forms_need_their_csrf_field_and_this_site(site: Site) -> None:
    visitor = site.visitor()
    visitor.get(path_of(site, ADA))
    forged = visitor.post(path_of(site, ADA) + "/cancel", {}, csrf=False)
    assert forged.status_code == 403
    visitor.get(path_of(site, ADA))
    other = visitor.post(path_of(site, ADA) + "/cancel", headers={"Origin": "https://evil.example"})
    assert other.status_code == 403
    assert not [i for i in itips(site.config) if i.method == "CANCEL"]


def test_names_are_escaped_on_the_page(site: Site) -> None:
    page = site.visitor().get(path_of(site, GRACE))
    assert "<b>Ada</b>" not in page.text
    assert "&lt;b&gt;Ada&lt;/b&gt;" in page.text


def _click(browser: Browser, element: Any) -> None:
    """Click ``element`` (a form's button) and wait for the page it leads to."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = browser.driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser.driver, 90).until(expected_conditions.staleness_of(old))
    WebDriverWait(browser.driver, 60).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def test_in_a_real_browser_another_time_then_i_cant_this_week(site: Site) -> None:
    from selenium.webdriver.common.by import By

    with chromium(width=PHONE[0], height=PHONE[1]) as browser:
        browser.open(site.url(path_of(site, GRACE)))
        buttons = browser.driver.find_elements(By.CSS_SELECTOR, "#options button")
        assert len(buttons) >= 2
        assert not browser.scrolls_sideways()
        label = buttons[1].text
        _click(browser, buttons[1])
        notice = browser.driver.find_element(By.CSS_SELECTOR, "p.notice").text
        assert "moved" in notice
        assert label.split("–")[0] in browser.driver.find_element(By.ID, "meeting").text
        assert sorted(i.to for i in itips(site.config) if i.sequence == 1) == [ADA, GRACE]
        _click(browser, browser.driver.find_element(By.CSS_SELECTOR, "#cancel button"))
        assert "cancelled" in browser.driver.find_element(By.ID, "state").text
        errors = [e for e in browser.errors() if "/favicon.ico" not in e]
        assert errors == []
    cancels = [i for i in itips(site.config) if i.method == "CANCEL"]
    assert sorted(i.to for i in cancels) == [ADA, GRACE] and {i.sequence for i in cancels} == {2}
