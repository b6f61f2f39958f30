"""The fix for each common wrong address, recognised from the address and the server's answer."""

from __future__ import annotations

import pytest

from calroulette.feedformat import BodyKind, looks_free_busy_only
from calroulette.feeds import hints

GOOGLE_PUBLIC = "https://calendar.google.com/calendar/ical/ada%40example.org/public/basic.ics"
GOOGLE_SECRET = (
    "https://calendar.google.com/calendar/ical/ada%40example.org/private-0a1b2c3d4e/basic.ics"
)
OUTLOOK_HTML = (
    "https://outlook.office365.com/owa/calendar/0a1b2c@example.org/9f8e7d6c5b/calendar.html"
)
NEXTCLOUD = "https://cloud.example.org/remote.php/dav/calendars/ada/personal/"


@pytest.mark.parametrize("status", [403, 404])
def test_google_public_address_refused_says_use_the_secret_address(status: int) -> None:
    assert hints.status_hint(GOOGLE_PUBLIC, status) == hints.GOOGLE_PUBLIC
    assert "Secret address in iCal format" in hints.GOOGLE_PUBLIC


def test_google_secret_address_404_gets_the_generic_fix() -> None:
    assert hints.status_hint(GOOGLE_SECRET, 404) == (
        "use the secret iCal address; it may have been reset, so copy it again"
    )


def test_outlook_html_link_says_use_the_ics_link() -> None:
    assert hints.body_hint(OUTLOOK_HTML, BodyKind.HTML, "generic") == hints.OUTLOOK_HTML
    assert hints.status_hint(OUTLOOK_HTML, 404) == hints.OUTLOOK_HTML


@pytest.mark.parametrize(
    ("url", "status", "kind"),
    [
        (NEXTCLOUD, 405, None),
        (NEXTCLOUD, None, BodyKind.HTML),  # Nextcloud's web view of the collection
        ("https://dav.example.org/ada/cal/", 207, None),
        ("https://dav.example.org/ada/cal/", None, BodyKind.XML),
    ],
)
def test_caldav_collection_needs_export(
    url: str, status: int | None, kind: BodyKind | None
) -> None:
    assert hints.looks_like_collection(url, status, kind)


def test_a_collection_address_that_already_asks_for_export_gets_no_export_hint() -> None:
    assert not hints.looks_like_collection(NEXTCLOUD + "?export", 405, None)


def test_an_ordinary_web_page_is_not_taken_for_a_collection() -> None:
    assert not hints.looks_like_collection("https://example.org/cal.ics", None, BodyKind.HTML)
    assert hints.body_hint("https://example.org/cal.ics", BodyKind.HTML, "generic") == "generic"


def test_free_busy_only_feed_is_recognised_from_its_titles() -> None:
    body = (
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:Busy\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nSUMMARY;LANGUAGE=de:Besetzt\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nDTSTART:20261103T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    assert looks_free_busy_only(body)
    assert not looks_free_busy_only(body.replace(b"Besetzt", b"Free for coffee"))
    assert not looks_free_busy_only(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")  # no events at all
