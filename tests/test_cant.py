""" "Can't make it" through the service: the link in every invitation, the page's other times,
moving, "I can't this week" with a new partner or a kind note, and declines that change nothing.

Real parts: each member's calendar served by pytest-httpserver and read by the real reader; the
round recorded and sent by `send` into the outbox; every check reads the .eml files back
(METHOD, SEQUENCE, recipients). The clock is pinned to Tue 24 Nov 2026 12:00Z; the round is
2026-W49 (Mon 30 Nov - Sun 6 Dec). Ada (London) and Grace (New York) meet on Tue 1 Dec 14:00Z
and are both free again Tue 14:00-17:00Z and Thu 3 Dec 10:00-12:00Z.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from calroulette import service
from calroulette.errors import UsageError
from calroulette.service.cant import CantState, Declined, DeclineOutcome, decline, rematch_due
from calroulette.store import AnswerSource, PartStat, open_store
from calroulette.store.releases import ReleaseOutcome, Releases
from calroulette.tokens import Purpose, verify

from .support.cant import (
    NOW,
    WEEK,
    Person,
    at,
    itips,
    meeting,
    notes,
    outbox,
    record_and_send,
    write_config,
)
from .support.mail import parse, text_of
from .support.web import SECRET_KEY

ADA, GRACE = "ada@example.org", "grace@example.org"
UID = "m-ada-grace@calroulette"
BOTH_FREE = [(at(1, 14), at(1, 17)), (at(3, 10), at(3, 12))]
LINK = re.compile(r"https?://\S+/cant/[A-Za-z0-9_.\-]+")


@pytest.fixture(autouse=True)
def signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALROULETTE_SECRET_KEY", SECRET_KEY)


def pair(*others: Person) -> list[Person]:
    return [
        Person("Ada Lovelace", BOTH_FREE, "Europe/London"),
        Person("Grace Hopper", BOTH_FREE, "America/New_York"),
        *others,
    ]


def setup(tmp_path: Path, httpserver: HTTPServer, people: list[Person], **settings: Any) -> Path:
    config = write_config(tmp_path, httpserver, people, **settings)
    record_and_send(config, [meeting(UID, [ADA, GRACE], at(1, 14))])
    return config


def link_of(config: Path, who: str, uid: str = UID, sequence: int = 0) -> str:
    raw = outbox(config)[f"{uid}.{who}.request-{sequence}.eml"]
    found = LINK.findall(text_of(parse(raw)))
    assert len(found) == 1, found
    return str(found[0])


def token_of(config: Path, who: str, uid: str = UID) -> str:
    return str(link_of(config, who, uid).rsplit("/", 1)[1])


# --- the link in every invitation ---------------------------------------------------------------


def test_each_invitation_carries_its_recipients_own_link_in_both_parts(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    config = setup(tmp_path, httpserver, pair())
    for who, other in ((ADA, GRACE), (GRACE, ADA)):
        msg = parse(outbox(config)[f"{UID}.{who}.request-0.eml"])
        plain, html = text_of(msg), text_of(msg, "html")
        mine = link_of(config, who)
        assert f"Can't make it? Pick another time or let your partner know: {mine}" in plain
        assert f'<a href="{mine}" ' in html and ">Pick another time</a>" in html
        claim = verify(SECRET_KEY, Purpose.CANT, mine.rsplit("/", 1)[1], now=NOW)
        assert claim.subject == f"{who} {UID}"
        assert link_of(config, other) not in msg.as_string()
        # the sentences that were not true are gone
        assert "so the organizer knows" not in plain
        assert "move the event in your calendar" not in plain


def test_without_a_signing_key_the_invitation_has_no_link_and_says_what_is_true(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CALROULETTE_SECRET_KEY")
    config = setup(tmp_path, httpserver, pair())
    plain = text_of(parse(outbox(config)[f"{UID}.{ADA}.request-0.eml"]))
    assert "/cant/" not in plain and "Can't make it?" not in plain
    assert "reply to all" in plain.lower()
    assert "ask the organizer (coffee@example.org) to move the meeting" in plain
    assert "so the organizer knows" not in plain


def test_with_replies_read_the_invitation_says_what_declining_does(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    people = pair()
    config = write_config(tmp_path, httpserver, people)
    text = config.read_text() + '\n[replies]\nimap_host = "imap.example.org"\nimap_username = "c"\n'
    config.write_text(text)
    record_and_send(config, [meeting(UID, [ADA, GRACE], at(1, 14))])
    plain = text_of(parse(outbox(config)[f"{UID}.{ADA}.request-0.eml"]))
    assert "Declining in your calendar app counts as not making it" in " ".join(plain.split())


# --- the page ------------------------------------------------------------------------------------


def test_the_page_lists_the_other_times_both_are_free_in_the_members_zone(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    config = setup(tmp_path, httpserver, pair())
    page = service.cant_page(config, token_of(config, GRACE), now=NOW)
    assert page.state is CantState.OPEN
    assert page.partners == ("Ada",)
    assert page.start_local.isoformat() == "2026-12-01T09:00:00-05:00"  # 14:00Z in New York
    starts = [o.start for o in page.options]
    # spread over both stretches, a meeting apart, never the meeting's own time
    assert starts == [at(1, 14, 30), at(1, 15), at(1, 15, 30), at(3, 10), at(3, 10, 30), at(3, 11)]
    assert page.options[0].start_local.isoformat() == "2026-12-01T09:30:00-05:00"


def test_the_page_keeps_min_notice_and_other_meetings(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """At Mon 30 Nov 20:00Z, nothing before Tue 1 Dec 20:00Z; Ada's other meeting on Thursday
    at 11:00 blocks that start (and nothing else)."""
    config = setup(tmp_path, httpserver, pair(Person("Zoe Z", BOTH_FREE)))
    with open_store(tmp_path / "calroulette.sqlite") as store, store.transaction():
        other = meeting("other@calroulette", ["ada@example.org", "zoe@example.org"], at(3, 11))
        Releases(store.conn).add_meeting(WEEK, other)
    late = at(1, 0) - dt.timedelta(hours=4)
    page = service.cant_page(config, token_of(config, ADA), now=late)
    assert [o.start for o in page.options] == [at(3, 10), at(3, 10, 30), at(3, 11, 30)]


def test_a_link_for_someone_not_at_the_meeting_is_refused(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    from calroulette.service.memberlinks import LinkError, LinkProblem
    from calroulette.tokens import sign

    config = setup(tmp_path, httpserver, pair(Person("Zoe Z", BOTH_FREE)))
    forged = sign(SECRET_KEY, Purpose.CANT, f"zoe@example.org {UID}", now=NOW)
    with pytest.raises(LinkError) as refused:
        service.cant_page(config, forged, now=NOW)
    assert refused.value.problem is LinkProblem.INVALID
    manage = sign(SECRET_KEY, Purpose.MANAGE, f"{ADA} {UID}", now=NOW)
    with pytest.raises(LinkError) as other:
        service.cant_page(config, manage, now=NOW)
    assert other.value.problem is LinkProblem.INVALID
    with pytest.raises(LinkError) as begun:
        service.cant_page(config, token_of(config, ADA), now=at(1, 14))
    assert begun.value.problem is LinkProblem.EXPIRED


# --- moving --------------------------------------------------------------------------------------


def test_moving_sends_one_updated_request_to_each_and_a_second_click_nothing(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    config = setup(tmp_path, httpserver, pair())
    token = token_of(config, ADA)
    moved = service.cant_move(config, token, "2026-12-03T10:30:00Z", now=NOW)
    assert moved.changed
    updates = [i for i in itips(config) if i.sequence == 1]
    assert sorted(i.to for i in updates) == [ADA, GRACE]
    assert {(i.method, i.uid, i.start) for i in updates} == {("REQUEST", UID, at(3, 10, 30))}
    before = outbox(config)
    again = service.cant_move(config, token, "2026-12-03T10:30:00Z", now=NOW)
    assert not again.changed and outbox(config) == before
    # the updated invitation carries a link that still works
    assert service.cant_page(config, token_of(config, GRACE), now=NOW).start_local.hour == 5


def test_a_time_not_free_for_both_is_refused_and_nothing_is_sent(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    config = setup(tmp_path, httpserver, pair())
    before = outbox(config)
    for start in ("2026-12-02T10:00:00Z", "2026-12-03T10:10:00Z", "not a time"):
        with pytest.raises(UsageError):
            service.cant_move(config, token_of(config, ADA), start, now=NOW)
    assert outbox(config) == before


# --- "I can't this week" -------------------------------------------------------------------------


def cancel(config: Path, who: str = ADA, now: dt.datetime = NOW) -> Declined:
    return service.cant_cancel(config, token_of(config, who), now=now)


def test_cancelling_tells_both_and_gives_the_partner_a_stand_by(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    zoe = Person("Zoe Zed", [(at(3, 10), at(3, 11))], extra={"standby": True})
    config = setup(tmp_path, httpserver, pair(zoe))
    done = cancel(config)
    assert done.outcome is DeclineOutcome.CANCELLED
    (settled,) = done.released
    assert settled.email == GRACE and settled.outcome is ReleaseOutcome.REMATCHED
    assert settled.partner == "zoe@example.org"
    sent = {
        (i.to, i.method, i.sequence, i.uid)
        for i in itips(config)
        if not (i.uid == UID and i.sequence == 0)
    }
    new = settled.meeting
    assert new is not None and new.start == at(3, 10)
    assert sent == {
        (ADA, "CANCEL", 1, UID),
        (GRACE, "CANCEL", 1, UID),
        (GRACE, "REQUEST", 0, new.uid),
        ("zoe@example.org", "REQUEST", 0, new.uid),
    }
    with open_store(tmp_path / "calroulette.sqlite") as store:
        said = store.attendance.of(UID)[ADA]
        round_ = store.rounds.load(WEEK)
    assert (said.partstat, said.source, said.sequence) == (PartStat.DECLINED, AnswerSource.LINK, 0)
    assert round_ is not None and round_.meeting_of(GRACE) == new
    assert not notes(config)


def test_someone_left_out_of_the_round_comes_before_a_stand_by(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    from calroulette.matching import reasons

    zoe = Person("Zoe Zed", [(at(1, 15), at(1, 16))], extra={"standby": True})
    alan = Person("Alan Turing", [(at(3, 11), at(3, 12))])
    config = write_config(tmp_path, httpserver, pair(zoe, alan))
    record_and_send(
        config,
        [meeting(UID, [ADA, GRACE], at(1, 14))],
        [reasons.no_shared_time("alan@example.org")],
    )
    (settled,) = cancel(config).released
    assert settled.partner == "alan@example.org"
    assert settled.meeting is not None and settled.meeting.start == at(3, 11)


def test_cooldown_avoid_teams_and_pauses_hold_and_the_partner_gets_a_kind_note(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """Everyone free with Grace is ruled out: Carl met her two weeks ago (cooldown 8), Dan
    avoids her, Eve is on her team (separate_teams), Bob is paused. Grace is told kindly."""
    free = [(at(1, 15), at(1, 17))]
    grace = Person("Grace Hopper", BOTH_FREE, "America/New_York", {"team": "red"})
    people = [
        Person("Ada Lovelace", BOTH_FREE, "Europe/London"),
        grace,
        Person("Carl C", free, extra={"standby": True}),
        Person("Dan D", free, extra={"standby": True, "avoid": ["grace@example.org"]}),
        Person("Eve E", free, extra={"standby": True, "team": "red"}),
        Person("Bob B", free, extra={"standby": True, "paused": True}),
    ]
    config = write_config(tmp_path, httpserver, people, separate_teams=True)
    earlier = NOW - dt.timedelta(weeks=2)
    record_and_send(
        config,
        [
            meeting(
                "old@calroulette", ["carl@example.org", GRACE], at(1, 14) - dt.timedelta(weeks=2)
            )
        ],
        week=WEEK.shifted(-2),
        now=earlier,
    )
    record_and_send(config, [meeting(UID, [ADA, GRACE], at(1, 14))])
    (settled,) = cancel(config).released
    assert settled.outcome is ReleaseOutcome.TOLD
    assert [i.to for i in itips(config) if i.sequence == 1] == sorted([ADA, GRACE])
    assert not [i for i in itips(config) if i.uid != UID]
    (note,) = notes(config).values()
    assert note["To"].addresses[0].addr_spec == GRACE
    body = " ".join(text_of(note).split())
    assert "Ada can't make it to your Test Coffee meeting" in body
    assert "nobody was" in body
    assert "avoid" not in body.lower() and "Dan" not in body


def test_a_second_click_and_a_late_reply_change_nothing(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    config = setup(tmp_path, httpserver, pair())
    token = token_of(config, ADA)
    first = service.cant_cancel(config, token, now=NOW)
    assert first.outcome is DeclineOutcome.CANCELLED
    before = outbox(config)
    again = service.cant_cancel(config, token, now=NOW + dt.timedelta(minutes=1))
    assert again.outcome is DeclineOutcome.ALREADY
    reply = decline(
        service.load(config), UID, GRACE, now=NOW, source=AnswerSource.REPLY, sequence=0
    )
    assert reply.outcome is DeclineOutcome.ALREADY
    assert outbox(config) == before
    page = service.cant_page(config, token, now=NOW)
    assert page.state is CantState.CANCELLED


def test_declines_that_change_nothing_say_why(tmp_path: Path, httpserver: HTTPServer) -> None:
    config = setup(tmp_path, httpserver, pair(Person("Zoe Z", BOTH_FREE)))
    community = service.load(config)
    service.cant_move(config, token_of(config, ADA), "2026-12-03T10:00:00Z", now=NOW)
    before = outbox(config)

    def said(uid: str, who: str, sequence: int, now: dt.datetime = NOW) -> DeclineOutcome:
        return decline(
            community, uid, who, now=now, source=AnswerSource.REPLY, sequence=sequence
        ).outcome

    assert said(UID, ADA, 0) is DeclineOutcome.STALE  # about the time before the move
    assert said(UID, "zoe@example.org", 1) is DeclineOutcome.NOT_ATTENDEE
    assert said("nope@calroulette", ADA, 0) is DeclineOutcome.UNKNOWN
    assert said(UID, ADA, 1, now=at(3, 10)) is DeclineOutcome.PAST
    assert outbox(config) == before
    with open_store(tmp_path / "calroulette.sqlite") as store:
        assert store.attendance.of(UID) == {}


def test_one_of_three_who_cannot_come_leaves_and_the_two_others_still_meet(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    zoe = Person("Zoe Zed", BOTH_FREE)
    config = write_config(tmp_path, httpserver, pair(zoe))
    trio = meeting(UID, [ADA, GRACE, "zoe@example.org"], at(1, 14))
    record_and_send(config, [trio])
    done = cancel(config, "zoe@example.org")
    assert done.outcome is DeclineOutcome.LEFT and done.released == ()
    changes = {(i.to, i.method, i.attendees) for i in itips(config) if i.sequence == 1}
    assert changes == {
        ("zoe@example.org", "CANCEL", (ADA, GRACE, "zoe@example.org")),
        (ADA, "REQUEST", (ADA, GRACE)),
        (GRACE, "REQUEST", (ADA, GRACE)),
    }
    plain = text_of(parse(outbox(config)[f"{UID}.{ADA}.request-1.eml"]))
    assert "Zoe can't make it; the time stays" in " ".join(plain.split())
    with open_store(tmp_path / "calroulette.sqlite") as store:
        (found,) = store.rounds.find(UID)
    assert found.meeting.members == (ADA, GRACE) and found.meeting.start == at(1, 14)


# --- crashes -------------------------------------------------------------------------------------


def test_a_crash_between_the_cancel_and_the_rematch_is_finished_by_rematch_due_once(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from calroulette.service import rematch

    zoe = Person("Zoe Zed", [(at(3, 10), at(3, 11))], extra={"standby": True})
    config = setup(tmp_path, httpserver, pair(zoe))

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # the process dies after the cancellation's transaction

    monkeypatch.setattr(rematch, "_try", crash)
    with pytest.raises(KeyboardInterrupt):
        cancel(config)
    monkeypatch.undo()
    monkeypatch.setenv("CALROULETTE_SECRET_KEY", SECRET_KEY)
    cancels = [i for i in itips(config) if i.method == "CANCEL"]
    assert sorted(i.to for i in cancels) == [ADA, GRACE]  # sent before the crash
    with open_store(tmp_path / "calroulette.sqlite") as store:
        (pending,) = Releases(store.conn).pending()
    assert pending.email == GRACE
    community = service.load(config)
    report = rematch_due(community, now=NOW + dt.timedelta(minutes=15))
    assert report.rematched == 1
    assert report.errors == ()
    again = rematch_due(community, now=NOW + dt.timedelta(minutes=30))
    assert again.settled == ()
    new = [i for i in itips(config) if i.uid != UID]
    assert sorted(i.to for i in new) == [GRACE, "zoe@example.org"]
    assert all(i.method == "REQUEST" and i.sequence == 0 for i in new)
    assert len([i for i in itips(config) if i.method == "CANCEL"]) == 2
    # the same click again (the page after a reload) finds it done
    assert cancel(config).outcome is DeclineOutcome.ALREADY
    assert len(itips(config)) == 6  # 2 invitations, 2 cancels, 2 new invitations


def test_a_release_whose_week_is_over_is_closed_without_a_message(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from calroulette.service import rematch

    config = setup(tmp_path, httpserver, pair())
    monkeypatch.setattr(rematch, "_try", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        cancel(config)
    monkeypatch.undo()
    before = outbox(config)
    report = rematch_due(service.load(config), now=at(8, 0))
    assert [s.outcome for s in report.settled] == [ReleaseOutcome.EXPIRED]
    assert outbox(config) == before


def test_a_crash_after_the_rematch_is_recorded_is_sent_by_rematch_due_once(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from calroulette.service import rematch

    zoe = Person("Zoe Zed", [(at(3, 10), at(3, 11))], extra={"standby": True})
    config = setup(tmp_path, httpserver, pair(zoe))

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # dies after the new meeting's transaction, before sending

    monkeypatch.setattr(rematch, "deliver_pending", crash)
    with pytest.raises(KeyboardInterrupt):
        cancel(config)
    monkeypatch.undo()
    monkeypatch.setenv("CALROULETTE_SECRET_KEY", SECRET_KEY)
    assert not [i for i in itips(config) if i.uid != UID]  # recorded, not sent yet
    community = service.load(config)
    report = rematch_due(community, now=NOW + dt.timedelta(minutes=15))
    assert report.settled == ()
    assert len(report.report.sent) == 2
    new = [i for i in itips(config) if i.uid != UID]
    assert sorted((i.to, i.method, i.sequence) for i in new) == [
        (GRACE, "REQUEST", 0),
        ("zoe@example.org", "REQUEST", 0),
    ]
    rematch_due(community, now=NOW + dt.timedelta(minutes=30))
    assert len(itips(config)) == 6
