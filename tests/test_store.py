"""The history database: real SQLite files, migrations from nothing and from older versions,
whole rounds or none."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest

from calroulette.errors import UsageError
from calroulette.intervals import Interval
from calroulette.invites import Channel, DeliveryKey, Kind, Outgoing
from calroulette.matching import (
    History,
    Meeting,
    MeetingStatus,
    Reason,
    Round,
    RoundError,
    RoundStatus,
    Unmatched,
)
from calroulette.store import (
    MIGRATIONS,
    DeliveryRow,
    DeliveryStatus,
    FoundMeeting,
    Store,
    StoreError,
    open_store,
)
from calroulette.timeutil import IsoWeek

from .support import ROOT

UTC = dt.UTC
W47, W48, W49, W50 = IsoWeek(2026, 47), IsoWeek(2026, 48), IsoWeek(2026, 49), IsoWeek(2026, 50)
NOW = dt.datetime(2026, 11, 24, 12, tzinfo=UTC)


def t(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 11, 30, hour, tzinfo=UTC) + dt.timedelta(days=day)


def sample_round(week: IsoWeek = W49, shift: int = 0) -> Round:
    days = 7 * shift
    return Round(
        week=week,
        seed=42,
        meetings=(
            Meeting(
                f"ab-{week}@calroulette",
                ("ada@x.org", "bob@x.org"),
                t(1 + days, 10),
                t(1 + days, 10) + dt.timedelta(minutes=30),
                (Interval(t(2 + days, 9), t(2 + days, 9) + dt.timedelta(minutes=30)),),
            ),
            Meeting(
                f"cde-{week}@calroulette",
                ("cy@x.org", "di@x.org", "ed@x.org"),
                t(3 + days, 15),
                t(3 + days, 15) + dt.timedelta(minutes=30),
            ),
        ),
        unmatched=(
            Unmatched("fay@x.org", Reason.PAUSED, "paused"),
            Unmatched("gus@x.org", Reason.FEED_ERROR, "feed error: x"),
        ),
        errors=(RoundError("gus@x.org", "calendar: HTTP 404"),),
    )


def record(store: Store, round_: Round, *, at: dt.datetime = NOW, replace: bool = False) -> bool:
    """Record ``round_`` the way the service does: in a transaction of its own."""
    with store.transaction():
        return store.rounds.record(round_, at=at, replace=replace)


def count(store: Store, table: str) -> int:
    return int(store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


def test_a_new_database_is_migrated_to_the_latest_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "history.sqlite"
    with open_store(path) as store:
        assert store.version == len(MIGRATIONS) == 6
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master")}
        assert {"rounds", "meetings", "meeting_members", "unmatched", "errors"} <= tables
        assert {"deliveries"} <= tables
        assert len(store.rounds.secret) == 32
        secret = store.rounds.secret
    with open_store(path) as again:
        assert again.version == len(MIGRATIONS)
        assert again.rounds.secret == secret


def test_an_older_database_is_migrated_forward_keeping_its_rounds(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(f"BEGIN; {MIGRATIONS[0]}; PRAGMA user_version = 1; COMMIT;")
    conn.execute("INSERT INTO rounds (week, seed, planned_at) VALUES ('2026-W48', 1, 'x')")
    conn.close()
    with open_store(path) as store:
        assert store.version == len(MIGRATIONS)
        assert store.rounds.weeks() == [W48]


def test_the_deliveries_table_holds_what_the_ledger_records(tmp_path: Path) -> None:
    """The table the migrations build (here from a version-1 file) has every column the ledger
    writes and reads back: a delivery comes back whole, then marked sent."""
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(f"BEGIN; {MIGRATIONS[0]}; PRAGMA user_version = 1; COMMIT;")
    conn.close()
    key = DeliveryKey("ab@calroulette", "ada@x.org", Channel.EMAIL, Kind.REQUEST, 1)
    outgoing = Outgoing(key, b"Subject: coffee\r\n\r\nhi", b"BEGIN:VCALENDAR", "<m1@x.org>")
    with open_store(path) as store:
        with store.transaction():
            assert store.deliveries.record(W49, [outgoing, outgoing], NOW) == 1
        assert store.deliveries.rows() == [
            DeliveryRow(
                key,
                W49,
                "<m1@x.org>",
                b"Subject: coffee\r\n\r\nhi",
                b"BEGIN:VCALENDAR",
                DeliveryStatus.PENDING,
                0,
                None,
            )
        ]
        store.deliveries.mark_sent([key], NOW)
        (row,) = store.deliveries.rows(week=W49, status=DeliveryStatus.SENT)
        assert (row.key, row.attempts) == (key, 1)


def test_a_round_comes_back_exactly_as_recorded(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    with open_store(path) as store:
        assert record(store, sample_round(), at=NOW)
    with open_store(path) as store:
        assert store.rounds.load(W49) == sample_round()
        assert store.rounds.status(W49) is RoundStatus.PLANNED
        planned_at = store.conn.execute("SELECT planned_at FROM rounds WHERE week = '2026-W49'")
        assert planned_at.fetchone()[0] == "2026-11-24T12:00:00Z"
        assert store.rounds.load(W50) is None
        assert store.rounds.status(W50) is None


def test_a_changed_meeting_keeps_its_new_time_sequence_and_status(tmp_path: Path) -> None:
    with open_store(tmp_path / "h.sqlite") as store:
        record(store, sample_round())
        moved = replace(
            sample_round().meetings[0],
            start=t(4, 10),
            end=t(4, 10) + dt.timedelta(minutes=30),
            sequence=1,
            status=MeetingStatus.MOVED,
        )
        with store.transaction():
            store.rounds.change(moved)
        loaded = store.rounds.load(W49)
        assert loaded is not None
        assert loaded.meetings == (sample_round().meetings[1], moved)  # in time order
        found = FoundMeeting(W49, moved, RoundStatus.PLANNED)
        assert store.rounds.find(moved.uid) == [found]
        assert store.rounds.find("ADA@x.org", W49) == [found]


def test_a_week_has_one_round_unless_replaced(tmp_path: Path) -> None:
    with open_store(tmp_path / "h.sqlite") as store:
        assert record(store, sample_round())
        other = Round(W49, 7, (), (Unmatched("ada@x.org", Reason.PAUSED, "paused"),))
        assert not record(store, other)
        assert store.rounds.load(W49) == sample_round()
        assert record(store, other, replace=True)
        assert store.rounds.load(W49) == other
        assert count(store, "meeting_members") == 0
        assert count(store, "meetings") == 0


def test_a_sent_round_cannot_be_replaced_and_its_meetings_are_invited(tmp_path: Path) -> None:
    with open_store(tmp_path / "h.sqlite") as store:
        record(store, sample_round())
        with store.transaction():
            store.rounds.mark_sent(W49, at=NOW)
        loaded = store.rounds.load(W49)
        assert loaded is not None and loaded.status is RoundStatus.SENT
        assert [m.status for m in loaded.meetings] == [MeetingStatus.INVITED] * 2
        assert not record(store, sample_round())
        with pytest.raises(UsageError, match="already sent"):
            record(store, sample_round(), replace=True)
        assert store.rounds.load(W49) == loaded
        with pytest.raises(UsageError, match="no round"), store.transaction():
            store.rounds.mark_sent(W50, at=NOW)


def test_an_error_halfway_through_recording_leaves_no_half_round(tmp_path: Path) -> None:
    """The second meeting reuses the first one's UID: its INSERT fails after the round row and
    the first meeting were written, and the transaction takes all of it back."""
    good = sample_round()
    broken = Round(
        W49,
        1,
        (good.meetings[0], Meeting(good.meetings[0].uid, ("x@x.org", "y@x.org"), t(1, 1), t(1, 2))),
        (),
    )
    with open_store(tmp_path / "h.sqlite") as store:
        with pytest.raises(sqlite3.IntegrityError):
            record(store, broken)
        for table in ("rounds", "meetings", "meeting_members", "unmatched", "errors"):
            assert count(store, table) == 0, table
        assert record(store, good)  # and the database is still usable
        assert store.rounds.load(W49) == good


@pytest.mark.slow
def test_kill_9_while_recording_rounds_leaves_only_whole_rounds(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    script = textwrap.dedent(
        f"""
        import datetime as dt, sys
        sys.path.insert(0, {str(ROOT / "src")!r})
        from calroulette.matching import Meeting, Reason, Round, Unmatched
        from calroulette.store import open_store
        from calroulette.timeutil import IsoWeek
        start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        with open_store({str(path)!r}) as store:
            print("ready", flush=True)
            for k in range(10_000):
                week = IsoWeek(2020, 1).shifted(k)
                meetings = tuple(
                    Meeting(f"{{k}}-{{i}}", (f"a{{i}}@x.org", f"b{{i}}@x.org"), start, start)
                    for i in range(300)
                )
                left = tuple(
                    Unmatched(f"c{{i}}@x.org", Reason.PAUSED, "paused") for i in range(50)
                )
                with store.transaction():
                    store.rounds.record(Round(week, k, meetings, left), at=start)
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    ) as proc:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(0.8)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with open_store(path) as store:
        weeks = store.rounds.weeks()
        assert weeks, "nothing was recorded before the kill; give it longer"
        for week in weeks:
            r = store.rounds.load(week)
            assert r is not None and len(r.meetings) == 300 and len(r.unmatched) == 50
        orphans = store.conn.execute(
            "SELECT count(*) FROM meetings WHERE week NOT IN (SELECT week FROM rounds)"
        ).fetchone()[0]
        assert orphans == 0


def test_history_is_built_from_earlier_rounds_and_later_rounds_pairs(tmp_path: Path) -> None:
    with open_store(tmp_path / "h.sqlite") as store:
        record(store, sample_round(W48, shift=-1))
        record(store, sample_round(W49))
        history = store.rounds.history(W49)
        assert history.secret == store.rounds.secret
        assert history.last_met == {
            ("ada@x.org", "bob@x.org"): W48,
            ("cy@x.org", "di@x.org"): W48,
            ("cy@x.org", "ed@x.org"): W48,
            ("di@x.org", "ed@x.org"): W48,
        }
        assert history.left_out == frozenset({"gus@x.org"})  # paused members do not come first
        assert history.last_matched["ada@x.org"] == W48
        assert store.rounds.history(W50).last_matched["ada@x.org"] == W49
        assert history.next_met == {}  # nothing planned after W49
        # planning W48 now (out of order): nothing before it, and W49's pairs are coming up
        earlier = store.rounds.history(W48)
        assert earlier.next_round == W49
        assert replace(earlier, next_met={}, next_matched={}, next_round=None) == History(
            secret=store.rounds.secret
        )
        assert earlier.next_met == dict.fromkeys(history.last_met, W49)
        assert earlier.next_matched == dict.fromkeys(history.last_matched, W49)


def test_cancelled_meetings_do_not_count_as_met(tmp_path: Path) -> None:
    with open_store(tmp_path / "h.sqlite") as store:
        record(store, sample_round(W48, shift=-1))
        ab = sample_round(W48, shift=-1).meetings[0]
        with store.transaction():
            store.rounds.change(replace(ab, sequence=1, status=MeetingStatus.CANCELLED))
        history = store.rounds.history(W49)
        assert ("ada@x.org", "bob@x.org") not in history.last_met
        assert ("cy@x.org", "di@x.org") in history.last_met
        assert "ada@x.org" not in history.last_matched
        with_cancelled = store.rounds.load(W48, include_cancelled=True)
        assert with_cancelled is not None and len(with_cancelled.meetings) == 2
        assert with_cancelled.meetings[0].status is MeetingStatus.CANCELLED
        without = store.rounds.load(W48)
        assert without is not None and [m.uid for m in without.meetings] == [
            sample_round(W48).meetings[1].uid
        ]


def test_rounds_of_a_member_include_those_who_left_the_community(tmp_path: Path) -> None:
    with open_store(tmp_path / "h.sqlite") as store:
        record(store, sample_round(W48, shift=-1))
        record(store, Round(W49, 1, (), (Unmatched("fay@x.org", Reason.PAUSED, "paused"),)))
        assert store.rounds.weeks("ADA@x.org") == [W48]
        assert store.rounds.weeks("fay@x.org") == [W48, W49]
        assert store.rounds.weeks() == [W48, W49]


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer calroulette"):
        open_store(path)


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    path.write_text("BEGIN:VCALENDAR\n" * 200, encoding="utf-8")
    with pytest.raises(StoreError, match="cannot use the database"):
        open_store(path)


def test_read_only_opening_never_creates_or_writes(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    with pytest.raises(StoreError):
        open_store(path, readonly=True)
    assert not path.exists()
    with open_store(path) as store:
        record(store, sample_round())
    with open_store(path, readonly=True) as store:
        assert store.rounds.load(W49) == sample_round()
        with pytest.raises(sqlite3.OperationalError):
            record(store, Round(W49, 7, (), ()), replace=True)
    with open_store(path) as store:
        assert store.rounds.load(W49) == sample_round()


def test_history_from_the_database_equals_history_from_the_rounds(tmp_path: Path) -> None:
    """Two implementations (SQL in the store, History.from_rounds in memory) must agree."""
    rounds = [sample_round(W48, shift=-1), sample_round(W49), Round(W50, 3, (), ())]
    with open_store(tmp_path / "h.sqlite") as store:
        for r in rounds:
            record(store, r)
        for week in (W47, W48, W49, W50, IsoWeek(2026, 51)):
            earlier = [r for r in rounds if r.week < week]
            expected = History.from_rounds(rounds, secret=store.rounds.secret, week=week)
            assert store.rounds.history(week) == expected
            assert store.rounds.history(week).next_round == min(
                (r.week for r in rounds if r.week > week), default=None
            )
            assert replace(
                expected, next_met={}, next_matched={}, next_round=None
            ) == History.from_rounds(earlier, secret=store.rounds.secret)


# --- a database written by calroulette 0.1 (schema version 2) --------------------------------

# Every sentence calroulette 0.1 stored as a left-out member's reason, with the code it must
# become (in W49, the latest round), and whether the member comes first in the next round.
OLD_REASONS = {
    "pat@x.org": ("paused", Reason.PAUSED),
    "pam@x.org": ("paused until 2027-01-10", Reason.PAUSED),
    "bea@x.org": ("frequency: biweekly, last met in 2026-W47", Reason.FREQUENCY),
    "fel@x.org": (
        "feed error: calendar: HTTP 404 from https://calendar.google.com/…/basic.ics "
        "(use the secret iCal address)",
        Reason.FEED_ERROR,
    ),
    "nel@x.org": (
        "no shared free time with anyone (no free time this week at least 24 hours ahead)",
        Reason.NO_FREE_TIME,
    ),
    "nia@x.org": ("no shared free time with anyone", Reason.NO_SHARED_TIME),
    "tom@x.org": ("no shared free time with anyone outside their team", Reason.ONLY_TEAMMATES),
    "col@x.org": (
        "cooldown: already met everyone free at the same time within 8 weeks",
        Reason.COOLDOWN,
    ),
    "ali@x.org": ("everyone compatible is already paired", Reason.ALL_PAIRED),
}
COMES_FIRST = {"fel@x.org", "nel@x.org", "nia@x.org", "tom@x.org", "col@x.org", "ali@x.org"}


MEMBERS_OF_0_1 = [
    ("drop@c", "ada@x.org"),
    ("drop@c", "cy@x.org"),
    ("gone@c", "di@x.org"),
    ("gone@c", "ed@x.org"),
    ("moved@c", "cy@x.org"),
    ("moved@c", "di@x.org"),
    ("moved@c", "ed@x.org"),
    ("plan@c", "bob@x.org"),
    ("plan@c", "di@x.org"),
    ("sent@c", "ada@x.org"),
    ("sent@c", "bob@x.org"),
]
STATUSES_AFTER = {
    "sent@c": (0, MeetingStatus.INVITED),
    "moved@c": (1, MeetingStatus.MOVED),
    "gone@c": (1, MeetingStatus.CANCELLED),
    "plan@c": (0, MeetingStatus.PLANNED),
    "drop@c": (0, MeetingStatus.CANCELLED),
}


def _version_2_database(path: Path) -> None:
    """Two rounds as calroulette 0.1 wrote them: W48 sent, with a meeting as invited, one moved
    (SEQUENCE 1) and one cancelled; W49 planned, with a planned and a cancelled meeting, and a
    member left out for each reason (and W48 one more, who must not come first)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(f"BEGIN; {MIGRATIONS[0]}; {MIGRATIONS[1]}; PRAGMA user_version = 2; COMMIT;")
    conn.executemany(
        "INSERT INTO rounds (week, seed, status, planned_at, sent_at) VALUES (?, ?, ?, ?, ?)",
        [
            ("2026-W48", 11, "sent", "2026-11-17T12:00:00Z", "2026-11-18T09:00:00Z"),
            ("2026-W49", 12, "planned", "2026-11-24T12:00:00Z", None),
        ],
    )
    conn.executemany(
        "INSERT INTO meetings (uid, week, start, end, sequence, status, alternatives)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            ("sent@c", "2026-W48", "2026-11-24T10:00:00Z", "2026-11-24T10:30:00Z", 0,
             "scheduled", '[["2026-11-25T09:00:00Z", "2026-11-25T09:30:00Z"]]'),
            ("moved@c", "2026-W48", "2026-11-26T15:00:00Z", "2026-11-26T15:30:00Z", 1,
             "scheduled", "[]"),
            ("gone@c", "2026-W48", "2026-11-27T08:00:00Z", "2026-11-27T08:30:00Z", 1,
             "cancelled", "[]"),
            ("plan@c", "2026-W49", "2026-12-01T10:00:00Z", "2026-12-01T10:30:00Z", 0,
             "scheduled", "[]"),
            ("drop@c", "2026-W49", "2026-12-02T10:00:00Z", "2026-12-02T10:30:00Z", 0,
             "cancelled", "[]"),
        ],
    )  # fmt: skip
    conn.executemany("INSERT INTO meeting_members (uid, email) VALUES (?, ?)", MEMBERS_OF_0_1)
    conn.executemany(
        "INSERT INTO unmatched (week, email, reason) VALUES (?, ?, ?)",
        [("2026-W48", "old@x.org", "everyone compatible is already paired")]
        + [("2026-W49", email, sentence) for email, (sentence, _) in OLD_REASONS.items()],
    )
    conn.execute(
        "INSERT INTO errors (week, email, error) VALUES ('2026-W49', 'fel@x.org', ?)",
        (OLD_REASONS["fel@x.org"][0].removeprefix("feed error: "),),
    )
    conn.close()


def _assert_converted(store: Store) -> None:
    """The rounds of :func:`_version_2_database`, read through the store after migration 3."""
    w48 = store.rounds.load(W48, include_cancelled=True)
    w49 = store.rounds.load(W49, include_cancelled=True)
    assert w48 is not None and w49 is not None
    assert (w48.status, w49.status) == (RoundStatus.SENT, RoundStatus.PLANNED)
    meetings = [*w48.meetings, *w49.meetings]
    assert {m.uid: (m.sequence, m.status) for m in meetings} == STATUSES_AFTER
    assert sorted((m.uid, e) for m in meetings for e in m.members) == MEMBERS_OF_0_1
    assert w48.meetings[0].alternatives == (
        Interval(
            dt.datetime(2026, 11, 25, 9, tzinfo=UTC), dt.datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
        ),
    )
    assert w48.unmatched == (
        Unmatched("old@x.org", Reason.ALL_PAIRED, "everyone compatible is already paired"),
    )
    assert {u.member: (u.message, u.reason) for u in w49.unmatched} == OLD_REASONS
    assert w49.errors == (
        RoundError("fel@x.org", OLD_REASONS["fel@x.org"][0].removeprefix("feed error: ")),
    )
    assert store.rounds.history(W50).left_out == COMES_FIRST
    # cancelled meetings do not count as met; the moved one does
    assert store.rounds.history(W49).last_met == {
        ("ada@x.org", "bob@x.org"): W48,
        ("cy@x.org", "di@x.org"): W48,
        ("cy@x.org", "ed@x.org"): W48,
        ("di@x.org", "ed@x.org"): W48,
    }


def test_a_version_2_database_gets_reason_codes_and_meeting_states(tmp_path: Path) -> None:
    """Migration 3 turns each stored sentence into its code and keeps the sentence verbatim,
    turns scheduled/cancelled into planned/invited/moved/cancelled, and rebuilds the meetings
    table without losing (or cascading away) a single meeting_members row."""
    path = tmp_path / "history.sqlite"
    _version_2_database(path)
    with open_store(path) as store:
        assert store.version == len(MIGRATIONS)
        codes = store.conn.execute(
            "SELECT email, reason, message FROM unmatched WHERE week = ?", (str(W49),)
        ).fetchall()
        assert {e: (m, Reason(r)) for e, r, m in codes} == OLD_REASONS
        rows = store.conn.execute("SELECT uid, email FROM meeting_members ORDER BY uid, email")
        assert rows.fetchall() == MEMBERS_OF_0_1
        assert store.conn.execute("PRAGMA foreign_key_check").fetchall() == []
        _assert_converted(store)
    with open_store(path) as again:  # once converted, opening again changes nothing
        assert again.version == len(MIGRATIONS)
        _assert_converted(again)


def test_reading_a_version_2_database_converts_in_memory_and_leaves_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.sqlite"
    _version_2_database(path)
    before = path.read_bytes()
    with open_store(path, readonly=True) as store:
        _assert_converted(store)
    assert path.read_bytes() == before
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
        statuses = conn.execute("SELECT DISTINCT status FROM meetings ORDER BY status")
        assert statuses.fetchall() == [("cancelled",), ("scheduled",)]
        columns = [row[1] for row in conn.execute("PRAGMA table_info(unmatched)")]
        assert columns == ["week", "email", "reason"]
    finally:
        conn.close()
