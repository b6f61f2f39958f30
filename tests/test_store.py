"""The history database: real SQLite files, migrations from nothing, whole rounds or none."""

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
from calroulette.matching import History, Meeting, Round, RoundError, RoundStatus, Unmatched
from calroulette.store import MIGRATIONS, StoreError, open_store
from calroulette.timeutil import IsoWeek

from .conftest import ROOT

UTC = dt.UTC
W48, W49, W50 = IsoWeek(2026, 48), IsoWeek(2026, 49), IsoWeek(2026, 50)
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
        unmatched=(Unmatched("fay@x.org", "paused"), Unmatched("gus@x.org", "feed error: x")),
        errors=(RoundError("gus@x.org", "calendar: HTTP 404"),),
    )


def test_a_new_database_is_migrated_to_the_latest_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "history.sqlite"
    with open_store(path) as store:
        assert store.version == len(MIGRATIONS)
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master")}
        assert {"rounds", "meetings", "meeting_members", "unmatched", "errors"} <= tables
        assert len(store.secret) == 32
        secret = store.secret
    with open_store(path) as again:
        assert again.version == len(MIGRATIONS)
        assert again.secret == secret


def test_an_older_database_is_migrated_forward_keeping_its_rounds(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(f"BEGIN; {MIGRATIONS[0]}; PRAGMA user_version = 1; COMMIT;")
    conn.execute("INSERT INTO rounds (week, seed, planned_at) VALUES ('2026-W48', 1, 'x')")
    conn.close()
    with open_store(path) as store:
        assert store.version == len(MIGRATIONS)
        assert store.weeks() == [W48]


def test_deliveries_migration_matches_the_delivery_ledger_schema(tmp_path: Path) -> None:
    from calroulette.delivery import ledger

    with open_store(tmp_path / "a.sqlite") as store:
        ours = store.conn.execute("PRAGMA table_info(deliveries)").fetchall()
    theirs_conn = sqlite3.connect(tmp_path / "b.sqlite")
    theirs_conn.executescript(ledger.SCHEMA)
    theirs = theirs_conn.execute("PRAGMA table_info(deliveries)").fetchall()
    theirs_conn.close()
    assert ours == theirs


def test_a_round_comes_back_exactly_as_saved(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    with open_store(path) as store:
        store.save_round(sample_round(), at=NOW)
    with open_store(path) as store:
        assert store.load_round(W49) == sample_round()
        assert store.planned_at(W49) == NOW
        assert store.load_round(W50) is None


def test_a_week_has_one_round_unless_replaced(tmp_path: Path) -> None:
    with open_store(tmp_path / "h.sqlite") as store:
        store.save_round(sample_round())
        with pytest.raises(UsageError, match="already planned"):
            store.save_round(sample_round())
        other = Round(W49, 7, (), (Unmatched("ada@x.org", "paused"),))
        kept, created = store.record_round(other)
        assert (kept, created) == (sample_round(), False)
        _, created = store.record_round(other, replace=True)
        assert created and store.load_round(W49) == other
        assert store.conn.execute("SELECT count(*) FROM meeting_members").fetchone()[0] == 0


def test_a_sent_round_cannot_be_deleted_or_replaced(tmp_path: Path) -> None:
    with open_store(tmp_path / "h.sqlite") as store:
        store.save_round(sample_round())
        store.mark_sent(W49, at=NOW)
        assert store.load_round(W49).status is RoundStatus.SENT  # type: ignore[union-attr]
        with pytest.raises(UsageError, match="already sent"):
            store.delete_round(W49)
        with pytest.raises(UsageError, match="already sent"):
            store.record_round(sample_round(), replace=True)
        with pytest.raises(UsageError, match="no round"):
            store.mark_sent(W50)


def test_an_error_halfway_through_saving_leaves_no_half_round(tmp_path: Path) -> None:
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
            store.save_round(broken)
        for table in ("rounds", "meetings", "meeting_members", "unmatched", "errors"):
            assert store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0  # noqa: S608
        store.save_round(good)  # and the database is still usable
        assert store.load_round(W49) == good


@pytest.mark.slow
def test_kill_9_while_saving_rounds_leaves_only_whole_rounds(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    script = textwrap.dedent(
        f"""
        import datetime as dt, sys
        sys.path.insert(0, {str(ROOT / "src")!r})
        from calroulette.matching import Meeting, Round, Unmatched
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
                left = tuple(Unmatched(f"c{{i}}@x.org", "paused") for i in range(50))
                store.save_round(Round(week, k, meetings, left))
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
        weeks = store.weeks()
        assert weeks, "nothing was saved before the kill; give it longer"
        for week in weeks:
            r = store.load_round(week)
            assert r is not None and len(r.meetings) == 300 and len(r.unmatched) == 50
        orphans = store.conn.execute(
            "SELECT count(*) FROM meetings WHERE week NOT IN (SELECT week FROM rounds)"
        ).fetchone()[0]
        assert orphans == 0


def test_history_is_built_from_earlier_rounds_and_later_rounds_pairs(tmp_path: Path) -> None:
    with open_store(tmp_path / "h.sqlite") as store:
        store.save_round(sample_round(W48, shift=-1))
        store.save_round(sample_round(W49))
        history = store.history(W49)
        assert history.secret == store.secret
        assert history.last_met == {
            ("ada@x.org", "bob@x.org"): W48,
            ("cy@x.org", "di@x.org"): W48,
            ("cy@x.org", "ed@x.org"): W48,
            ("di@x.org", "ed@x.org"): W48,
        }
        assert history.left_out == frozenset({"gus@x.org"})  # paused members do not come first
        assert history.last_matched["ada@x.org"] == W48
        assert store.history(W50).last_matched["ada@x.org"] == W49
        assert history.next_met == {}  # nothing planned after W49
        # planning W48 now (out of order): nothing before it, and W49's pairs are coming up
        earlier = store.history(W48)
        assert replace(earlier, next_met={}, next_matched={}) == History(secret=store.secret)
        assert earlier.next_met == dict.fromkeys(history.last_met, W49)
        assert earlier.next_matched == dict.fromkeys(history.last_matched, W49)


def test_cancelled_meetings_do_not_count_as_met(tmp_path: Path) -> None:
    with open_store(tmp_path / "h.sqlite") as store:
        store.save_round(sample_round(W48, shift=-1))
        store.conn.execute("UPDATE meetings SET status = 'cancelled' WHERE uid LIKE 'ab-%'")
        assert ("ada@x.org", "bob@x.org") not in store.history(W49).last_met
        assert len(store.load_round(W48, include_cancelled=True).meetings) == 2  # type: ignore[union-attr]


def test_rounds_of_a_member_include_those_who_left_the_community(tmp_path: Path) -> None:
    with open_store(tmp_path / "h.sqlite") as store:
        store.save_round(sample_round(W48, shift=-1))
        store.save_round(Round(W49, 1, (), (Unmatched("fay@x.org", "paused"),)))
        assert [r.week for r in store.rounds("ADA@x.org")] == [W48]
        assert [r.week for r in store.rounds("fay@x.org")] == [W48, W49]
        assert [r.week for r in store.rounds()] == [W48, W49]


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
    with open_store(path) as store:
        store.save_round(sample_round())
    with open_store(path, readonly=True) as store:
        assert store.load_round(W49) == sample_round()
        with pytest.raises(sqlite3.OperationalError):
            store.delete_round(W49)


def test_history_from_the_database_equals_history_from_the_rounds(tmp_path: Path) -> None:
    """Two implementations (SQL in the store, History.from_rounds in memory) must agree."""
    rounds = [sample_round(W48, shift=-1), sample_round(W49), Round(W50, 3, (), ())]
    with open_store(tmp_path / "h.sqlite") as store:
        for r in rounds:
            store.save_round(r)
        for week in (IsoWeek(2026, 47), W48, W49, W50, IsoWeek(2026, 51)):
            earlier = [r for r in rounds if r.week < week]
            expected = History.from_rounds(rounds, secret=store.secret, week=week)
            assert store.history(week) == expected
            assert replace(expected, next_met={}, next_matched={}) == History.from_rounds(
                earlier, secret=store.secret
            )
