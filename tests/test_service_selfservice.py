"""What a member does with the links in our emails, through the service (the web page calls
these): their page, pause, skip next week, resume, settings, a new calendar, leave, a fresh link,
one-click unsubscribe; every refusal of a link that must not be honoured.

On the demo community (outbox delivery), the clock at Tuesday 2026-11-24 12:00Z: next week,
2026-W49, is planned and sent; Ada Lovelace meets Alan Turing on Tue 01 Dec at 14:00Z.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from calroulette import service
from calroulette.availability.reader import HORIZON_WEEKS, STAGGER_WEEKS, FreeTimeReader
from calroulette.config import load_community
from calroulette.config.roster import NewMember, Roster
from calroulette.errors import UsageError
from calroulette.feeds.cache import cache_key
from calroulette.matching import MeetingStatus
from calroulette.service.community import week_or_next
from calroulette.service.memberfields import Settings
from calroulette.service.memberlinks import LinkError, LinkProblem
from calroulette.store import open_store
from calroulette.tokens import Purpose, sign

from .support import ROOT, write_demo_config
from .support.web import outbox, plain_text, planned_and_sent, set_base_url, signed_link

KEY = "service-test-signing-key-" + "y" * 32
NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
ADA, ALAN = "ada@example.org", "alan@example.org"
DEMO = ROOT / "demo" / "calendars"

pytestmark = pytest.mark.slow  # `match` reads the calendars in worker processes


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CALROULETTE_SECRET_KEY", KEY)
    path = write_demo_config(tmp_path)
    set_base_url(path, "http://127.0.0.1:8000", "open")  # where the emailed links point
    return path


def token(config: Path, who: str = ADA, purpose: Purpose = Purpose.MANAGE, **kw: object) -> str:
    at = kw.get("now", NOW)
    assert isinstance(at, dt.datetime)
    return signed_link(config, who, purpose, key=KEY, now=at)


def member(config: Path, who: str = ADA) -> object:
    return load_community(config).member(who)


# --- links --------------------------------------------------------------------------------


def test_a_forged_token_is_invalid(config: Path) -> None:
    forged = sign("another-key-" + "z" * 32, Purpose.MANAGE, ADA, now=NOW)
    for bad in (forged, "nonsense", token(config)[:-3] + "abc"):
        with pytest.raises(LinkError) as refused:
            service.member_page(config, bad, now=NOW)
        assert refused.value.problem is LinkProblem.INVALID


def test_a_token_for_the_other_purpose_is_invalid(config: Path) -> None:
    with pytest.raises(LinkError) as refused:
        service.member_page(config, token(config, purpose=Purpose.UNSUBSCRIBE), now=NOW)
    assert refused.value.problem is LinkProblem.INVALID
    with pytest.raises(LinkError) as refused:
        service.unsubscribe(config, token(config, purpose=Purpose.MANAGE), now=NOW)
    assert refused.value.problem is LinkProblem.INVALID
    assert not load_community(config).members[0].paused


def test_a_manage_link_expires_after_60_days(config: Path) -> None:
    made = token(config)
    assert service.member_page(config, made, now=NOW + dt.timedelta(days=59)).member.email == ADA
    with pytest.raises(LinkError) as refused:
        service.member_page(config, made, now=NOW + dt.timedelta(days=61))
    assert refused.value.problem is LinkProblem.EXPIRED


def test_a_link_of_a_member_who_left_names_nobody(config: Path) -> None:
    made = token(config)
    service.members_remove(config, ADA, now=NOW)
    with pytest.raises(LinkError) as refused:
        service.member_page(config, made, now=NOW)
    assert refused.value.problem is LinkProblem.GONE


def test_a_link_request_revokes_older_links_and_emails_a_working_one(config: Path) -> None:
    old = token(config)
    assert service.link_request(config, " Ada@Example.org ", now=NOW).sent
    (name,) = [n for n in outbox(config) if "account-link" in n]
    message = outbox(config)[name]
    assert message["To"].addresses[0].addr_spec == ADA
    (link,) = [u for u in re.findall(r"https?://\S+", plain_text(message)) if "/me/" in u]
    new = link.rsplit("/me/", 1)[1]
    assert service.member_page(config, new, now=NOW).member.email == ADA
    with pytest.raises(LinkError) as refused:
        service.member_page(config, old, now=NOW)
    assert refused.value.problem is LinkProblem.EXPIRED
    # the unsubscribe link of the old version is revoked too
    with pytest.raises(LinkError):
        service.unsubscribe(
            config, sign(KEY, Purpose.UNSUBSCRIBE, ADA, now=NOW, version=0), now=NOW
        )


def test_a_link_request_for_a_stranger_sends_nothing_and_changes_nothing(config: Path) -> None:
    assert not service.link_request(config, "eve@example.org", now=NOW).sent
    assert outbox(config) == {}
    with open_store(config.parent / "calroulette.sqlite", readonly=True) as store:
        assert store.links.versions() == {}
    with pytest.raises(UsageError):
        service.link_request(config, "not an address", now=NOW)


# --- the page -----------------------------------------------------------------------------


def test_the_page_shows_the_meeting_to_come_in_the_members_zone(config: Path) -> None:
    planned_and_sent(config, NOW)
    page = service.member_page(config, token(config), now=NOW)
    (meeting,) = page.upcoming
    assert meeting.partners == ("Alan",)
    assert meeting.start_local.isoformat() == "2026-12-01T14:00:00+00:00"  # London: UTC in Dec
    assert meeting.sent and meeting.status is MeetingStatus.INVITED
    assert page.past == ()
    alan = service.member_page(config, token(config, ALAN), now=NOW)
    assert alan.upcoming[0].start_local.isoformat() == "2026-12-01T15:00:00+01:00"  # Berlin
    assert alan.upcoming[0].partners == ("Ada",)
    later = service.member_page(config, token(config), now=NOW + dt.timedelta(days=8))
    assert later.upcoming == () and later.past[0].partners == ("Alan",)


def test_the_page_redacts_a_calendar_address(config: Path) -> None:
    secret = "https://calendar.example.org/private-abc123secret/basic.ics"
    with Roster.locked(config) as roster:
        roster.update(ADA, calendar=secret)
        roster.save()
    page = service.member_page(config, token(config), now=NOW)
    assert page.calendar == "https://calendar.example.org/…/basic.ics"
    assert "abc123secret" not in repr(page.calendar)


# --- pause, skip, resume ------------------------------------------------------------------


def test_a_pause_cancels_the_sent_meeting_in_it_and_tells_the_partner(config: Path) -> None:
    planned_and_sent(config, NOW)
    change = service.member_pause(config, token(config), dt.date(2026, 12, 10), now=NOW)
    assert [u.outcome is not None for u in change.meetings] == [True]
    ada = load_community(config).member(ADA)
    assert ada is not None and ada.paused_until == dt.date(2026, 12, 10)
    cancels = [n for n in outbox(config) if ".cancel-" in n]
    assert sorted(n.split("@calroulette.")[1].split(".cancel")[0] for n in cancels) == [ADA, ALAN]


def test_a_pause_must_end_after_today(config: Path) -> None:
    for day in (dt.date(2026, 11, 24), dt.date(2026, 11, 1)):
        with pytest.raises(UsageError, match="after today"):
            service.member_pause(config, token(config), day, now=NOW)
    assert "paused" not in config.read_text(encoding="utf-8")


def test_a_pause_until_resumed_then_resume(config: Path) -> None:
    service.member_pause(config, token(config), None, now=NOW)
    assert load_community(config).members[0].paused
    assert service.member_resume(config, token(config), now=NOW).changed
    assert not service.member_resume(config, token(config), now=NOW).changed
    assert "paused" not in config.read_text(encoding="utf-8")


def test_skip_pauses_until_the_monday_after_next_week_and_cancels_that_weeks_meeting(
    config: Path,
) -> None:
    planned_and_sent(config, NOW)
    change = service.member_skip(config, token(config), now=NOW)
    assert change.changed and change.until == dt.date(2026, 12, 7)  # W49 skipped, W50 back
    ada = load_community(config).member(ADA)
    assert ada is not None and ada.paused_until == dt.date(2026, 12, 7)
    assert any(
        n.startswith(tuple("0123456789abcdef")) and ALAN in n and ".cancel-" in n
        for n in outbox(config)
    )


def test_skip_keeps_a_meeting_still_to_come_this_week(config: Path) -> None:
    planned_and_sent(config, NOW)
    monday = dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC)  # in W49: its meeting is tomorrow
    change = service.member_skip(config, token(config, now=monday), now=monday)
    assert change.until == dt.date(2026, 12, 14) and change.meetings == ()
    page = service.member_page(config, token(config, now=monday), now=monday)
    assert [m.partners for m in page.upcoming] == [("Alan",)]
    assert not [n for n in outbox(config) if ".cancel-" in n]


def test_skip_of_a_member_paused_through_next_week_changes_nothing(config: Path) -> None:
    service.member_pause(config, token(config), None, now=NOW)
    before = config.read_text(encoding="utf-8")
    assert not service.member_skip(config, token(config), now=NOW).changed
    assert config.read_text(encoding="utf-8") == before


# --- settings -----------------------------------------------------------------------------


def test_settings_change_the_member_and_keep_the_rest_of_the_file(config: Path) -> None:
    before = config.read_text(encoding="utf-8")
    change = service.member_settings(
        config,
        token(config),
        Settings(
            name="Ada King",
            timezone="Europe/Paris",
            frequency="monthly",
            topics="Maths, python",
            unsubscribe="leave",
        ),
        now=NOW,
    )
    assert change.fields == ("frequency", "name", "timezone", "topics", "unsubscribe")
    text = config.read_text(encoding="utf-8")
    assert text.startswith(before.split("[[members]]")[0])  # comments and settings kept
    assert text.split("# Ada")[-1].count("[[members]]") == before.count("[[members]]")
    ada = load_community(config).member(ADA)
    assert ada is not None
    assert (ada.name, ada.timezone.key, ada.frequency.value) == (
        "Ada King",
        "Europe/Paris",
        "monthly",
    )
    assert ada.topics == {"maths", "python"} and ada.unsubscribe.value == "leave"
    grace = load_community(config).member("grace@example.org")
    assert grace is not None and grace.name == "Grace Hopper"


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        (Settings(name="  "), "Name"),
        (Settings(name="Eve\nBcc: x@y.org"), "Name"),
        (Settings(timezone="Mars/Olympus"), "Time zone"),
        (Settings(frequency="hourly"), "How often"),
        (Settings(unsubscribe="explode"), "Unsubscribe"),
        (Settings(topics=",".join(f"t{i}" for i in range(11))), "Topics"),
    ],
)
def test_settings_that_do_not_pass_are_refused_whole(
    config: Path, changes: Settings, says: str
) -> None:
    before = config.read_text(encoding="utf-8")
    with pytest.raises(UsageError, match=says):
        service.member_settings(config, token(config), changes, now=NOW)
    assert config.read_text(encoding="utf-8") == before


def test_a_setting_left_as_the_form_showed_it_keeps_an_edit_made_meanwhile(
    config: Path,
) -> None:
    shown = Settings(name="Ada Lovelace", topics="python, statistics", frequency="weekly")
    with Roster.locked(config) as roster:  # the organizer, while Ada's page is open
        roster.update(ADA, topics=["history"])
        roster.save()
    changed = Settings(name="Ada King", topics="python, statistics", frequency="weekly")
    change = service.member_settings(config, token(config), changed, now=NOW, was=shown)
    assert change.fields == ("name",)
    ada = load_community(config).member(ADA)
    assert ada is not None and (ada.name, ada.topics) == ("Ada King", {"history"})


def test_a_settings_change_waits_for_a_writer_holding_the_lock_and_loses_nothing(
    config: Path,
) -> None:
    """Another writer (the CLI's `members add`) holds members.toml's lock, reads it, waits,
    then saves: the member's change, made meanwhile, waits for it and keeps its member."""
    holding = threading.Event()

    def organizer() -> None:
        with Roster.locked(config) as roster:
            holding.set()
            time.sleep(0.5)
            roster.add(NewMember("Hedy Lamarr", "hedy@example.org", str(DEMO / "ada.ics"), "UTC"))
            roster.save()

    thread = threading.Thread(target=organizer)
    thread.start()
    assert holding.wait(5)
    service.member_settings(config, token(config), Settings(name="Ada King"), now=NOW)
    thread.join()
    community = load_community(config)
    assert community.member("hedy@example.org") is not None
    ada = community.member(ADA)
    assert ada is not None and ada.name == "Ada King"


# --- leaving ------------------------------------------------------------------------------


def test_leaving_cancels_the_meeting_removes_the_member_and_their_cached_calendar(
    config: Path, httpserver: object
) -> None:
    from pytest_httpserver import HTTPServer

    assert isinstance(httpserver, HTTPServer)
    for who in ("ada", "alan"):
        body_ = (DEMO / f"{who}.ics").read_bytes()
        httpserver.expect_request(f"/private-9x/{who}/basic.ics").respond_with_data(body_)
    text = config.read_text(encoding="utf-8")
    urls = {w: httpserver.url_for(f"/private-9x/{w}/basic.ics") for w in ("ada", "alan")}
    for who, url in urls.items():
        text = re.sub(rf'calendar = ".*/{who}\.ics"', f'calendar = "{url}"', text)
    text = text.replace("[community]\n", "[community]\nallow_private_feeds = true\n")
    config.write_text(text, encoding="utf-8")
    planned_and_sent(config, NOW)
    cache = config.parent / "cache"

    def rows(file: str, sql: str, *args: str) -> int:
        with sqlite3.connect(cache / file) as conn:
            return int(conn.execute(sql, args).fetchone()[0])

    feeds = "SELECT count(*) FROM feeds WHERE key = ?"
    assert rows("feeds.sqlite", feeds, cache_key(urls["ada"])) == 1
    free_before = rows("free.sqlite", "SELECT count(*) FROM free")
    community = load_community(config)
    member = community.member(ADA)
    assert member is not None
    with FreeTimeReader(community, week_or_next(None, community, NOW)) as reader:
        weeks = reader.horizon_for((DEMO / "ada.ics").read_bytes(), member)
    assert HORIZON_WEEKS <= weeks < HORIZON_WEEKS + STAGGER_WEEKS

    change = service.member_leave(config, token(config), now=NOW)

    assert [u.sent for u in change.meetings] == [True]
    assert load_community(config).member(ADA) is None
    assert "Grace Hopper" in config.read_text(encoding="utf-8")
    assert any(ALAN in n and ".cancel-" in n for n in outbox(config))
    assert rows("feeds.sqlite", feeds, cache_key(urls["ada"])) == 0
    assert rows("feeds.sqlite", feeds, cache_key(urls["alan"])) == 1  # the others' stay
    # every week read from that body: the one asked for and the horizon after it
    assert rows("free.sqlite", "SELECT count(*) FROM free") == free_before - weeks
    with open_store(config.parent / "calroulette.sqlite", readonly=True) as store:
        (found,) = store.rounds.find(ADA)  # the history keeps the meeting, cancelled
    assert found.meeting.status is MeetingStatus.CANCELLED
    with pytest.raises(LinkError) as refused:
        service.member_page(config, token(config), now=NOW)
    assert refused.value.problem is LinkProblem.GONE


# --- one-click unsubscribe ----------------------------------------------------------------


def test_unsubscribe_pauses_once_and_says_so_the_second_time(config: Path) -> None:
    link = token(config, purpose=Purpose.UNSUBSCRIBE)
    seen = service.unsubscribe(config, link, now=NOW, apply=False)
    assert (seen.action.value, seen.done, seen.already) == ("pause", False, False)
    assert not load_community(config).members[0].paused
    first = service.unsubscribe(config, link, now=NOW)
    assert first.done and load_community(config).members[0].paused
    before = config.read_text(encoding="utf-8")
    second = service.unsubscribe(config, link, now=NOW)
    assert second.already and not second.done
    assert config.read_text(encoding="utf-8") == before


def test_unsubscribe_removes_a_member_who_chose_leave(config: Path) -> None:
    planned_and_sent(config, NOW)
    with Roster.locked(config) as roster:
        roster.update(ADA, unsubscribe="leave")
        roster.save()
    link = token(config, purpose=Purpose.UNSUBSCRIBE)
    assert service.unsubscribe(config, link, now=NOW).done
    assert load_community(config).member(ADA) is None
    assert any(ALAN in n and ".cancel-" in n for n in outbox(config))
    again = service.unsubscribe(config, link, now=NOW)
    assert again.already and again.member is None


def test_settings_and_a_pause_may_be_given_as_plain_values(config: Path) -> None:
    change = service.member_settings(
        config, token(config), {"topics": ["history", "Maths"], "frequency": "monthly"}, now=NOW
    )
    assert change.fields == ("frequency", "topics")
    ada = load_community(config).member(ADA)
    assert ada is not None and ada.topics == {"history", "maths"}
    with pytest.raises(UsageError, match="email"):
        service.member_settings(config, token(config), {"email": "eve@example.org"}, now=NOW)
    service.member_pause(config, token(config), "2026-12-31", now=NOW)
    ada = load_community(config).member(ADA)
    assert ada is not None and ada.paused_until == dt.date(2026, 12, 31)
    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        service.member_pause(config, token(config), "next tuesday", now=NOW)


def test_a_link_signed_with_the_environments_key_passes_where_the_web_app_has_its_own(
    config: Path,
) -> None:
    """`send` signs the links in emails with CALROULETTE_SECRET_KEY; the web app passes the key
    it was started with (the same one under `serve`): either is honoured, nothing else is."""
    web_key = "web-app-key-" + "w" * 32
    assert service.member_page(config, token(config), now=NOW, key=web_key).member.email == ADA
    own = sign(web_key, Purpose.MANAGE, ADA, now=NOW)
    assert service.member_page(config, own, now=NOW, key=web_key).member.email == ADA
    with pytest.raises(LinkError) as refused:
        service.member_page(config, own, now=NOW)  # not the environment's, nor given
    assert refused.value.problem is LinkProblem.INVALID
    with pytest.raises(LinkError) as refused:
        service.member_page(config, own, now=NOW + dt.timedelta(days=61), key=web_key)
    assert refused.value.problem is LinkProblem.EXPIRED
