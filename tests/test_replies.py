"""service.replies.read_replies against a real IMAP server (Dovecot on loopback, TLS with a test
CA): answers from each calendar app recorded, junk left alone, nothing deleted, each message
handled once, the unreadable reported once, the password never shown."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from calroulette.matching import Meeting, MeetingStatus
from calroulette.service.replies import read_replies
from calroulette.store import AnswerSource, PartStat, open_store
from calroulette.store.inbox import InboxOutcome
from tests.support.imap import (
    PASSWORD,
    PASSWORD_ENV,
    Imap,
    dovecot,
    record_meetings,
    replies_community,
    reply,
)

pytestmark = pytest.mark.slow

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
START = dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.UTC)
ADA, GRACE, ORGANIZER = "ada@example.org", "grace@example.org", "coffee@example.org"
DONE = "$CalrouletteDone"


def uid(n: int) -> str:
    return f"{n:032x}@calroulette.example.org"


def meeting(n: int, *, sequence: int = 0, start: dt.datetime = START, **kw: object) -> Meeting:
    return Meeting(uid(n), (ADA, GRACE), start, start + dt.timedelta(minutes=30),
                   sequence=sequence, status=MeetingStatus.INVITED, **kw)  # type: ignore[arg-type]  # fmt: skip


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Imap]:
    with dovecot(tmp_path) as running:
        yield running


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


def fill(name: str, n: int, *, partstat: str = "ACCEPTED", sequence: int = 0, **kw: str) -> bytes:
    values = {"uid": uid(n), "attendee": GRACE, "organizer": ORGANIZER, "partstat": partstat,
              "sequence": sequence, "message_id": f"{name}-{n}@example.net", **kw}  # fmt: skip
    return reply(name, **values)


CLIENTS = [
    ("gmail_reply", "ACCEPTED", {}),
    ("outlook_reply", "TENTATIVE", {"from": "Grace@Example.org", "attendee": "GRACE@example.org"}),
    ("apple_reply", "ACCEPTED", {}),
    ("apple_ical3_reply", "TENTATIVE", {}),
    ("thunderbird_reply", "ACCEPTED", {}),
    ("thunderbird_compat_reply", "TENTATIVE", {}),
]


def test_each_calendar_app_reply_is_recorded_and_flagged(tmp_path: Path, server: Imap) -> None:
    community = replies_community(tmp_path, server)
    record_meetings(community, "2026-W49", [meeting(n) for n in range(len(CLIENTS))], NOW)
    server.append(*(fill(name, n, partstat=p, **kw) for n, (name, p, kw) in enumerate(CLIENTS)))
    before = server.flags()

    report = read_replies(community, now=NOW)

    assert report.problems == ()
    assert report.counts == {InboxOutcome.RECORDED: len(CLIENTS)}
    assert report.recorded == len(CLIENTS)
    with open_store(community.database, readonly=True) as store:
        for n, (name, partstat, _) in enumerate(CLIENTS):
            answer = store.attendance.of(uid(n))[GRACE]
            assert (answer.partstat, answer.source, answer.sequence) == (
                PartStat(partstat),
                AnswerSource.REPLY,
                0,
            ), name
            assert ADA not in store.attendance.of(uid(n))
    after = server.flags()
    assert after.keys() == before.keys()  # nothing deleted
    for flags in after.values():
        assert DONE in flags
        assert "\\Seen" not in flags  # read with BODY.PEEK: the organizer's unread stays unread
        assert "\\Deleted" not in flags


def test_junk_is_left_alone_and_the_unreadable_reported_once(tmp_path: Path, server: Imap) -> None:
    community = replies_community(tmp_path, server)
    record_meetings(community, "2026-W49", [meeting(1), meeting(2, sequence=1)], NOW)
    server.append(
        fill(
            "junk_stranger", 1, **{"from": "mallory@example.net", "attendee": "mallory@example.net"}
        ),
        fill(
            "junk_stranger",
            1,
            partstat="DECLINED",
            **{"from": "mallory@example.net"},
            message_id="from-mallory@example.net",
        ),
        fill("junk_old_sequence", 2, partstat="DECLINED", sequence=0),
        fill("junk_forwarded_invitation", 1),
        fill("junk_not_itip", 1),
        fill("junk_unreadable", 1),
        fill("gmail_reply", 99),  # a reply to a meeting of the organizer's own, not ours
    )

    first = read_replies(community, now=NOW)

    assert first.counts == {
        InboxOutcome.STRANGER: 2,
        InboxOutcome.STALE: 1,
        InboxOutcome.NOT_REPLY: 1,
        InboxOutcome.NOT_ITIP: 1,
        InboxOutcome.UNREADABLE: 1,
        InboxOutcome.UNKNOWN: 1,
    }
    assert len(first.problems) == 1
    assert "junk_unreadable-1@example.net" in first.problems[0]
    assert "cannot be read" in first.problems[0]
    with open_store(community.database, readonly=True) as store:
        assert store.attendance.all() == []
    flags = server.flags()
    assert len(flags) == 7  # nothing deleted
    marked = sorted(u for u, f in flags.items() if DONE in f)
    assert marked == [1, 2, 3]  # the two strangers and the stale reply: about our meetings
    assert not any("\\Seen" in f or "\\Flagged" in f for f in flags.values())

    second = read_replies(community, now=NOW + dt.timedelta(minutes=15))
    assert (second.notes, second.problems) == ((), ())
    assert server.flags() == flags


def test_a_message_whose_flag_was_lost_is_not_handled_twice(tmp_path: Path, server: Imap) -> None:
    community = replies_community(tmp_path, server)
    record_meetings(community, "2026-W49", [meeting(1)], NOW)
    server.append(fill("gmail_reply", 1))
    assert read_replies(community, now=NOW).recorded == 1
    with server.client() as conn:  # as if marking it had failed after the answer was recorded
        conn.uid("STORE", "1", "-FLAGS.SILENT", f"({DONE})")
    with open_store(community.database, readonly=True) as store:
        recorded = store.attendance.of(uid(1))[GRACE]

    again = read_replies(community, now=NOW + dt.timedelta(hours=1))

    assert again.notes == ()
    assert DONE in server.flags()[1]
    with open_store(community.database, readonly=True) as store:
        assert store.attendance.of(uid(1))[GRACE] == recorded


def test_a_later_invitation_is_answered_again(tmp_path: Path, server: Imap) -> None:
    """Moved meetings have a new SEQUENCE: the answer to it replaces the earlier one."""
    community = replies_community(tmp_path, server)
    record_meetings(community, "2026-W49", [meeting(1, sequence=1)], NOW)
    server.append(fill("thunderbird_reply", 1, partstat="TENTATIVE", sequence=1))
    server.append(fill("outlook_reply", 1, partstat="ACCEPTED", sequence=1, **{"from": GRACE},
                       message_id="later@example.net"))  # fmt: skip
    report = read_replies(community, now=NOW)
    assert report.recorded == 2
    with open_store(community.database, readonly=True) as store:
        answer = store.attendance.of(uid(1))[GRACE]
    assert (answer.partstat, answer.sequence) == (PartStat.ACCEPTED, 1)


def test_a_decline_after_the_meeting_began_is_only_recorded(tmp_path: Path, server: Imap) -> None:
    community = replies_community(tmp_path, server)
    past = NOW - dt.timedelta(hours=2)
    record_meetings(community, "2026-W48", [meeting(1, start=past)], NOW)
    server.append(fill("apple_reply", 1, partstat="DECLINED"))
    report = read_replies(community, now=NOW)
    assert report.counts == {InboxOutcome.RECORDED: 1}
    assert report.declines == ()
    with open_store(community.database, readonly=True) as store:
        assert store.attendance.of(uid(1))[GRACE].partstat is PartStat.DECLINED


def test_a_decline_is_acted_on_like_the_cant_link(tmp_path: Path, server: Imap) -> None:
    pytest.importorskip("calroulette.service.cant", reason="the can't-make-it work has not landed")
    community = replies_community(
        tmp_path,
        server,
    )
    record_meetings(community, "2026-W49", [meeting(1)], NOW)
    server.append(fill("outlook_decline_method_inside", 1, partstat="DECLINED", **{"from": GRACE}))
    report = read_replies(community, now=NOW)
    assert report.counts == {InboxOutcome.DECLINED: 1}, report.problems
    assert len(report.declines) == 1
    with open_store(community.database, readonly=True) as store:
        assert store.attendance.of(uid(1))[GRACE].partstat is PartStat.DECLINED
    assert DONE in server.flags()[1]
    assert read_replies(community, now=NOW + dt.timedelta(minutes=15)).notes == ()


def test_an_untrusted_certificate_is_one_clear_line(tmp_path: Path, server: Imap) -> None:
    """Without the test CA (the system's CAs only), the server's certificate must be refused."""
    community = replies_community(tmp_path, server, ca=False)
    record_meetings(community, "2026-W49", [meeting(1)], NOW)
    server.append(fill("gmail_reply", 1))
    report = read_replies(community, now=NOW)
    [line] = report.problems
    assert line.startswith(f"replies: {server.host}:{server.port}: cannot verify the server's TLS")
    assert "ca_file" in line and "\n" not in line
    assert report.notes == ()
    assert DONE not in server.flags()[1]


def test_a_missing_password_names_the_variable(
    tmp_path: Path, server: Imap, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_ENV)
    report = read_replies(replies_community(tmp_path, server), now=NOW)
    [line] = report.problems
    assert f"${PASSWORD_ENV} is not set" in line


def test_a_wrong_password_is_refused_without_showing_either(
    tmp_path: Path, server: Imap, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "wrong-password-123")
    [line] = read_replies(replies_community(tmp_path, server), now=NOW).problems
    assert "login refused" in line and PASSWORD_ENV in line
    assert "wrong-password-123" not in line


def test_the_password_is_never_in_the_report_or_the_log(
    tmp_path: Path, server: Imap, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    community = replies_community(tmp_path, server)
    record_meetings(community, "2026-W49", [meeting(1)], NOW)
    server.append(fill("gmail_reply", 1), fill("junk_unreadable", 1))
    report = read_replies(community, now=NOW)
    assert report.recorded == 1
    assert PASSWORD not in repr(report)
    assert PASSWORD not in caplog.text


def test_replies_off_without_the_table(tmp_path: Path) -> None:
    from tests.support.mail import make_community

    assert read_replies(make_community(tmp_path), now=NOW).configured is False
