"""The designed invitation: a member reading it on a phone knows when, with whom, how to join and
what to do if the time does not suit, and the plain part says the same.

The facts (the time, the partner's local time, the link, the other times, the topics, the "can't
make it" link, the member's page) are read out of each part on its own terms: the plain part by
its lines, the HTML part by its structure (table cells, list items, links), and compared. The
browser tests render a real round (``delivery.render_round``), open its HTML part in headless
Chromium at desktop and phone widths, light and dark, and look at what a person would: no
sideways scrolling, the Join button on the first screen, no console error, every fact there.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from dataclasses import replace
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from calroulette.config import Community
from calroulette.delivery import render_change, render_round
from calroulette.intervals import Interval
from calroulette.invites import Kind, Outgoing, meeting_link
from calroulette.matching import Meeting, Round, reasons
from calroulette.timeutil import IsoWeek

from .support.browser import PHONE, Browser, chromium
from .support.mail import Links, make_community, parse

UTC = dt.UTC
WEEK = IsoWeek(2026, 49)
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
START = dt.datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # Tuesday
ADA, GRACE = "ada@example.org", "grace@example.org"
BASE = "https://coffee.example.org"
MEETING = Meeting(
    uid="m-ada-grace@calroulette.test",
    members=(ADA, GRACE),
    start=START,
    end=START + dt.timedelta(minutes=30),
    alternatives=(
        Interval(START + dt.timedelta(days=1, hours=1), START + dt.timedelta(days=1, hours=1.5)),
        Interval(START + dt.timedelta(days=2, hours=-5), START + dt.timedelta(days=2, hours=-4.5)),
    ),
)


def links_for(*emails: str) -> dict[str, Links]:
    return {
        e: Links(
            f"{BASE}/me/{e[:3]}.eyJzIjoiYWRhIn0.c2lnbmF0dXJl",
            f"{BASE}/unsubscribe/{e[:3]}.eyJzIjoiYWRhIn0",
            {MEETING.uid: f"{BASE}/cant/{e[:3]}.eyJtIjoibTEifQ.c2lnbmF0dXJlX2NhbnQ"},
        )
        for e in emails
    }


@pytest.fixture
def community(tmp_path: Path) -> Community:
    """Ada in London and Grace, here in São Paulo (a zone without an abbreviation), both with
    topics, Grace with a team."""
    base = make_community(tmp_path)
    members = []
    for m in base.members:
        if m.email == ADA:
            m = replace(m, topics=frozenset({"python", "gardening"}))
        elif m.email == GRACE:
            m = replace(
                m,
                topics=frozenset({"python", "compilers"}),
                team="Platform",
                timezone=ZoneInfo("America/Sao_Paulo"),
            )
        members.append(m)
    return replace(base, members=tuple(members))


def part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body((subtype,))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def invitation(community: Community, recipient: str = ADA) -> EmailMessage:
    out = render_round(
        Round(WEEK, 1, (MEETING,), ()), community, now=NOW, links=links_for(ADA, GRACE)
    )
    return parse(next(o for o in out if o.key.recipient == recipient).payload)


# --- reading the facts out of each part ----------------------------------------------------------


def words(text: str) -> str:
    return " ".join(text.split())


def plain_facts(text: str) -> dict[str, object]:
    """The facts as the plain part states them, line by line."""
    lines = text.split("\n")
    rows = dict(line.split(": ", 1) for line in lines if re.match(r"^(When|Grace|Join): ", line))
    cant = re.search(r"let your partner know: (\S+)", text)
    manage = re.search(r"Manage your membership, pause or leave: (\S+)", text)
    return {
        "when": rows["When"],
        "partner": rows["Grace"],
        "link": rows["Join"],
        "alternatives": [line.removeprefix("  - ") for line in lines if line.startswith("  - ")],
        "intro": next(words(p) for p in text.split("\n\n") if "listed" in p),
        "cant": cant.group(1) if cant else None,
        "manage": manage.group(1) if manage else None,
    }


class _Reader(HTMLParser):
    """Table cells, list items, paragraphs and links of an HTML part, as text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[str] = []
        self.items: list[str] = []
        self.paragraphs: list[str] = []
        self.links: list[tuple[str, str]] = []  # (href, text)
        self.hidden = 0
        self._open: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        style = dict(attrs).get("style") or ""
        if tag == "div" and "display:none" in style:
            self.hidden += 1
        if tag in ("td", "li", "p", "a"):
            self._open.append((tag, [dict(attrs).get("href") or ""]))

    def handle_endtag(self, tag: str) -> None:
        for k in range(len(self._open) - 1, -1, -1):
            if self._open[k][0] == tag:
                _, (href, *text) = self._open.pop(k)
                value = words("".join(text))
                if tag == "td":
                    self.cells.append(value)
                elif tag == "li":
                    self.items.append(value)
                elif tag == "p":
                    self.paragraphs.append(value)
                else:
                    self.links.append((href, value))
                break

    def handle_data(self, data: str) -> None:
        for _, text in self._open:
            text.append(data)


def html_facts(page: str) -> dict[str, object]:
    """The facts as the HTML part shows them: the panel's labelled cells, the list, the links."""
    reader = _Reader()
    reader.feed(page)
    cells = reader.cells
    label = {cells[k].upper(): cells[k + 1] for k in range(len(cells) - 1)}
    by_text = {text: href for href, text in reader.links}
    join = by_text["Join the call"]
    assert join in reader.paragraphs, "the address to copy is under the button"
    return {
        "when": label["WHEN"],
        "partner": label["GRACE"],
        "link": join,
        "alternatives": reader.items,
        "intro": next(p for p in reader.paragraphs if "listed" in p),
        "cant": by_text.get("Pick another time"),
        "manage": by_text.get("Manage your membership, pause or leave"),
    }


def test_the_plain_and_the_html_part_state_the_same_facts(community: Community) -> None:
    message = invitation(community)
    plain, html = part(message, "plain"), part(message, "html")
    facts = plain_facts(plain)
    assert facts == html_facts(html)
    # and they are the right facts (hand-derived: 14:00Z is 14:00 GMT, 11:00 in São Paulo)
    mine = links_for(ADA)[ADA]
    assert facts == {
        "when": "Tuesday 1 December 2026, 14:00–14:30 GMT (London time)",
        "partner": "11:00 on Tuesday in São Paulo",
        "link": meeting_link(community, WEEK, MEETING.uid),
        "alternatives": [
            "Wednesday 2 December 2026, 15:00–15:30 GMT",
            "Thursday 3 December 2026, 09:00–09:30 GMT",
        ],
        "intro": "You both listed python. Grace is on the Platform team and also listed compilers.",
        "cant": mine.cant[MEETING.uid],
        "manage": mine.manage,
    }
    assert message["Subject"] == "☕ Data Folk Coffee: Ada & Grace · Tue 1 Dec, 14:00 GMT"
    grace = invitation(community, GRACE)
    assert grace["Subject"] == "☕ Data Folk Coffee: Ada & Grace · Tue 1 Dec, 11:00 São Paulo time"
    assert "When: Tuesday 1 December 2026, 11:00–11:30 São Paulo time\n" in part(grace, "plain")
    assert "Ada: 14:00 on Tuesday in London (GMT)" in part(grace, "plain")
    assert "You both listed python. Ada also listed gardening." in words(part(grace, "plain"))


def test_only_our_addresses_are_links_and_every_value_is_escaped(community: Community) -> None:
    """A partner named like an address and like markup: text in the heading, the panel and
    the sentences; the only links are the meeting, "can't make it" and the member's page."""
    evil = "https://evil.example/login <b>Eve</b>"
    members = tuple(replace(m, name=evil) if m.email == GRACE else m for m in community.members)
    message = invitation(replace(community, members=members))
    html = part(message, "html")
    reader = _Reader()
    reader.feed(html)
    mine = links_for(ADA)[ADA]
    link = meeting_link(community, WEEK, MEETING.uid)
    assert {href for href, _ in reader.links} == {link, mine.cant[MEETING.uid], mine.manage}
    assert "<b>" not in html and "&lt;b&gt;Eve&lt;/b&gt;" in html
    assert 'href="https://evil.example' not in html


def test_nothing_is_loaded_from_elsewhere_and_dark_mode_is_offered(community: Community) -> None:
    html = part(invitation(community), "html")
    for outside in ("<img", "<link", "@import", "url(", "<script", "src="):
        assert outside not in html, outside
    assert "@media (prefers-color-scheme: dark)" in html
    assert '<meta name="color-scheme" content="light dark">' in html
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert "max-width:560px" in html


def test_the_cancellation_says_what_calendar_apps_really_do(community: Community) -> None:
    cancelled = render_change(
        replace(MEETING, sequence=1),
        community,
        WEEK,
        kind=Kind.CANCEL,
        now=NOW,
        links=links_for(ADA, GRACE),
    )
    message = parse(next(o for o in cancelled if o.key.recipient == ADA).payload)
    for text in (words(part(message, "plain")), words(_text_of_html(part(message, "html")))):
        assert "is cancelled" in text and "Tuesday 1 December 2026, 14:00–14:30 GMT" in text
        assert "removes it when you open" not in text
        assert "in Thunderbird, press Delete in the bar above it." in text
        assert "Remove from Calendar" in text
    assert "Cancelled: coffee with Grace</h1>" in part(message, "html")


def test_the_note_to_a_member_left_out_has_the_same_layout(community: Community) -> None:
    left_out = Round(WEEK, 1, (), (reasons.no_shared_time(ADA),))
    (note,) = render_round(left_out, community, now=NOW, links=links_for(ADA))
    html = part(parse(note.payload), "html")
    assert "No meeting for you this week</h1>" in html and "max-width:560px" in html
    assert f'<a href="{links_for(ADA)[ADA].manage}" ' in html


def _text_of_html(page: str) -> str:
    reader = _Reader()
    reader.feed(page)
    return " ".join(reader.paragraphs)


# --- in a real browser ----------------------------------------------------------------------------

DESKTOP = (1200, 900)
SHOTS = os.environ.get("CALROULETTE_SHOTS")  # a folder to keep the screenshots in, to look at


def _open(browser: Browser, page: Path, size: tuple[int, int], *, dark: bool = False) -> None:
    browser.size(*size)
    scheme = "dark" if dark else "light"
    browser.driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
    )
    browser.open(page.as_uri())


def _shot(browser: Browser, tmp_path: Path, name: str) -> None:
    path = browser.screenshot(tmp_path / f"{name}.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(SHOTS) / path.name)


def _html_file(outgoing: Outgoing, tmp_path: Path, name: str) -> tuple[Path, str]:
    message = parse(outgoing.payload)
    page = tmp_path / f"{name}.html"
    page.write_text(part(message, "html"), encoding="utf-8")
    return page, part(message, "plain")


@pytest.mark.slow
def test_the_invitation_reads_well_on_a_desktop_and_a_phone_light_and_dark(
    community: Community, tmp_path: Path
) -> None:
    out = render_round(
        Round(WEEK, 1, (MEETING,), ()), community, now=NOW, links=links_for(ADA, GRACE)
    )
    page, plain = _html_file(next(o for o in out if o.key.recipient == ADA), tmp_path, "invitation")
    facts = plain_facts(plain)
    with chromium(width=DESKTOP[0], height=DESKTOP[1]) as browser:
        for size, dark in ((DESKTOP, False), (PHONE, False), (PHONE, True)):
            _open(browser, page, size, dark=dark)
            name = f"invitation-{size[0]}{'-dark' if dark else ''}"
            assert not browser.scrolls_sideways(), name
            assert browser.errors() == [], name
            text = words(browser.driver.execute_script("return document.body.innerText"))
            for fact in (
                facts["when"],
                f"Grace {facts['partner']}",
                facts["link"],
                *facts["alternatives"],  # type: ignore[misc]
                facts["intro"],
            ):
                assert words(str(fact)).lower() in text.lower(), (name, fact)
            button = browser.driver.find_element("link text", "Join the call")
            assert button.get_attribute("href") == facts["link"]
            top, bottom = browser.driver.execute_script(
                "const r = arguments[0].getBoundingClientRect(); return [r.top, r.bottom];",
                button,
            )
            assert browser.in_view(button) and top >= 0 and bottom <= size[1], (name, top, bottom)
            cant = browser.driver.find_element("link text", "Pick another time")
            assert cant.get_attribute("href") == facts["cant"]
            card = browser.driver.execute_script(
                "return getComputedStyle(document.querySelector('.cr-card')).backgroundColor"
            )
            assert card == ("rgb(33, 31, 28)" if dark else "rgb(255, 255, 255)"), name
            _shot(browser, tmp_path, name)


@pytest.mark.slow
def test_the_cancellation_and_the_note_fit_a_phone(community: Community, tmp_path: Path) -> None:
    cancelled = render_change(
        replace(MEETING, sequence=1),
        community,
        WEEK,
        kind=Kind.CANCEL,
        now=NOW,
        links=links_for(ADA),
    )
    (note,) = render_round(
        Round(WEEK, 1, (), (reasons.no_shared_time(ADA),)), community, now=NOW, links=links_for(ADA)
    )
    with chromium(width=PHONE[0], height=PHONE[1]) as browser:
        for outgoing, name in ((cancelled[0], "cancellation"), (note, "note")):
            page, plain = _html_file(outgoing, tmp_path, name)
            _open(browser, page, PHONE)
            assert not browser.scrolls_sideways(), name
            assert browser.errors() == [], name
            text = words(browser.driver.execute_script("return document.body.innerText"))
            for paragraph in plain.split("\n\n"):
                if "Manage your membership" not in paragraph:  # a link in words there
                    assert words(paragraph) in text, (name, paragraph)
            _shot(browser, tmp_path, f"{name}-{PHONE[0]}")
