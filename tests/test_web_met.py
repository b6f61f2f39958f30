"""The "did you meet?" page, served by uvicorn on loopback and used as a browser uses it: one
click records the answer, the page's button (a form with its CSRF field) changes it, and every
link that must not be honoured gets a page saying why (403 or 410) and changes nothing.

The meeting: Ada and Grace on Tuesday 1 December 2026 at 14:00Z; the clock is the next day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from calroulette.config import load_community
from calroulette.store import Met, open_store
from calroulette.tokens import Purpose, sign

from .support.remind import (
    ADA,
    ALAN,
    GRACE,
    cancelled,
    change,
    meeting,
    sent_round,
    serving_met,
    write_config,
)
from .support.web import SECRET_KEY, Site

NOW = dt.datetime(2026, 12, 2, 15, tzinfo=dt.UTC)
UID = "m1@test"

pytestmark = pytest.mark.slow  # a uvicorn server per test


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    config = write_config(tmp_path)
    with serving_met(config, now=NOW) as served:
        sent_round(load_community(config), meeting(UID, ADA, GRACE))
        yield served


def token(
    who: str = ADA, uid: str = UID, *, purpose: Purpose = Purpose.MET, version: int = 0
) -> str:
    return sign(SECRET_KEY, purpose, f"{who} {uid}", now=NOW, version=version)


def answers(site: Site) -> dict[str, Met | None]:
    with open_store(site.config.parent / "history.sqlite") as store:
        return {e: a.met for e, a in store.attendance.of(UID).items()}


def test_one_click_records_the_answer_and_thanks_by_name(site: Site) -> None:
    visitor = site.visitor()
    page = visitor.get(f"/met/{token()}/yes")
    assert page.status_code == 200
    assert "Thank you, Ada" in page.text and "you met Grace" in page.text
    assert "Tuesday 1 December at 14:00 GMT" in page.text  # in Ada's zone
    assert answers(site) == {ADA: Met.YES}
    assert f'action="/met/{token()}/no"' in page.text  # the other answer, as a button
    assert 'name="csrf"' in page.text


def test_the_button_changes_the_answer(site: Site) -> None:
    visitor = site.visitor()
    visitor.get(f"/met/{token()}/yes")
    changed = visitor.post(f"/met/{token()}/no")
    assert changed.status_code == 200
    assert "Changed: we noted that you and Grace did not meet" in changed.text
    assert f'action="/met/{token()}/yes"' in changed.text
    assert answers(site) == {ADA: Met.NO}


def test_a_post_without_the_forms_field_changes_nothing(site: Site) -> None:
    visitor = site.visitor()
    visitor.get(f"/met/{token()}/yes")
    refused = visitor.post(f"/met/{token()}/no", {"csrf": "forged"}, csrf=False)
    assert refused.status_code == 403
    nocookie = site.visitor().post(f"/met/{token()}/no", csrf=False)  # no cookie at all
    assert nocookie.status_code == 403
    visitor.get(f"/met/{token()}/yes")
    crossed = visitor.post(f"/met/{token()}/no", headers={"Origin": "https://evil.example"})
    assert crossed.status_code == 403
    assert answers(site) == {ADA: Met.YES}


def test_each_attendee_answers_for_themself(site: Site) -> None:
    site.visitor().get(f"/met/{token(ADA)}/yes")
    site.visitor().get(f"/met/{token(GRACE)}/no")
    assert answers(site) == {ADA: Met.YES, GRACE: Met.NO}


@pytest.mark.parametrize(
    ("make_token", "status", "says"),
    [
        (lambda: token()[:-3] + "abc", 403, "not valid"),  # damaged
        (lambda: sign("another-key-" + "y" * 32, Purpose.MET, f"{ADA} {UID}", now=NOW), 403, ""),
        (lambda: token(purpose=Purpose.MANAGE), 403, "not valid"),  # made for another purpose
        (lambda: sign(SECRET_KEY, Purpose.MANAGE, ADA, now=NOW), 403, "not valid"),
        (lambda: token(ALAN), 403, "not yours"),  # signed, but not an attendee
        (lambda: token(uid="nope@test"), 410, "no record"),
        (lambda: token(version=1), 410, "expired"),  # a newer link was made since
        (
            lambda: sign(SECRET_KEY, Purpose.MET, f"{ADA} {UID}", now=NOW - dt.timedelta(days=31)),
            410,
            "expired",
        ),
    ],
)
def test_a_link_that_must_not_be_honoured_changes_nothing(
    site: Site, make_token: object, status: int, says: str
) -> None:
    bad = make_token()  # type: ignore[operator]
    page = site.visitor().get(f"/met/{bad}/no")
    assert page.status_code == status
    assert says in page.text
    assert answers(site) == {}


def test_a_link_replaced_by_a_new_one_is_expired(site: Site) -> None:
    with open_store(site.config.parent / "history.sqlite") as store, store.transaction():
        store.links.bump(ADA, NOW)  # Ada asked for a new link to her page: old links die
    assert site.visitor().get(f"/met/{token(version=0)}/no").status_code == 410
    assert site.visitor().get(f"/met/{token(version=1)}/no").status_code == 200
    assert answers(site) == {ADA: Met.NO}


def test_a_cancelled_meeting_takes_no_answer(site: Site) -> None:
    community = load_community(site.config)
    change(community, cancelled(meeting(UID, ADA, GRACE)))
    page = site.visitor().get(f"/met/{token()}/yes")
    assert page.status_code == 410 and "cancelled" in page.text
    assert answers(site) == {}


def test_only_yes_and_no_are_answers(site: Site) -> None:
    assert site.visitor().get(f"/met/{token()}/maybe").status_code == 404
    assert answers(site) == {}
