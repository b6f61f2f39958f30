"""`calroulette match`, `history` and `why` on the demo community, with the history database in a
temporary directory."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from calroulette.cli import app
from calroulette.store import open_store
from calroulette.timeutil import IsoWeek

from .support import demo_config_text, write_demo_config

runner = CliRunner()
W49 = IsoWeek(2026, 49)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The demo members.toml with absolute calendar paths and the database under tmp_path."""
    return write_demo_config(tmp_path)


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def counts(db: Path) -> tuple[int, ...]:
    conn = sqlite3.connect(db)
    try:
        return tuple(
            conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
            for t in ("rounds", "meetings", "meeting_members", "unmatched")
        )
    finally:
        conn.close()


def test_match_json_plans_and_records_the_demo_round(config: Path, now_env: str) -> None:
    """The documented --json shape; the round is in the database, its meetings planned (nobody
    invited yet: sequence 0)."""
    code, out, err = run("match", "--json", "-c", str(config))
    assert code == 0, err
    payload = json.loads(out)
    assert set(payload) == {"week", "status", "meetings", "unmatched", "errors"}
    assert (payload["week"], payload["status"]) == ("2026-W49", "planned")
    # 8 demo members, all free on Tuesday or Wednesday afternoons (UTC): four pairs
    assert len(payload["meetings"]) == 4
    assert payload["unmatched"] == [] and payload["errors"] == []
    seen = [e for m in payload["meetings"] for e in m["members"]]
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 8
    first = payload["meetings"][0]
    assert set(first) == {"uid", "members", "start", "end", "alternatives", "status", "sequence"}
    assert first["uid"].endswith("@calroulette")
    assert (first["status"], first["sequence"]) == ("planned", 0)  # nobody invited yet
    assert re.fullmatch(r"2026-12-0\dT\d\d:\d\d:00Z", first["start"])
    assert all(len(a) == 2 for a in first["alternatives"])
    assert counts(config.parent / "calroulette.sqlite") == (1, 4, 8, 0)


def test_running_match_again_prints_the_same_round_and_changes_nothing(
    config: Path, now_env: str
) -> None:
    _, first, _ = run("match", "--json", "-c", str(config))
    db = config.parent / "calroulette.sqlite"
    before = counts(db)
    code, again, err = run("match", "--json", "-c", str(config), "--seed", "99")
    assert code == 0
    assert again == first
    assert "already planned" in err and "--rematch" in err
    assert counts(db) == before


def test_dry_run_records_nothing(config: Path, now_env: str) -> None:
    code, out, err = run("match", "--dry-run", "--json", "-c", str(config))
    assert code == 0
    assert len(json.loads(out)["meetings"]) == 4
    assert "dry run" in err
    assert not (config.parent / "calroulette.sqlite").exists()


def test_rematch_replans_an_unsent_round_and_refuses_a_sent_one(config: Path, now_env: str) -> None:
    """--rematch replaces a round nobody has been told about; once `send` has mailed it, the
    round stays as sent and --rematch exits 2."""
    run("match", "--json", "-c", str(config))
    code, out, _ = run("match", "--json", "--rematch", "--seed", "7", "-c", str(config))
    assert code == 0
    db = config.parent / "calroulette.sqlite"
    with open_store(db, readonly=True) as store:
        stored = store.rounds.load(W49)
    assert stored is not None and stored.seed == 7
    assert [m.uid for m in stored.meetings] == [m["uid"] for m in json.loads(out)["meetings"]]
    code, _, err = run("send", "-c", str(config))  # the demo delivers to its outbox
    assert code == 0, err
    code, _, err = run("match", "--rematch", "-c", str(config))
    assert code == 2
    assert "already sent" in err
    assert counts(db)[0] == 1


def test_human_output_shows_local_times_and_who_is_left_out(
    config: Path, now_env: str, tmp_path: Path
) -> None:
    text = config.read_text(encoding="utf-8")
    text = text.replace('email = "radia@example.org"', 'email = "radia@example.org"\npaused = true')
    config.write_text(text, encoding="utf-8")
    code, out, _ = run("match", "-c", str(config))
    assert code == 0
    assert "2026-W49" in out
    assert "London" in out and "Helsinki" in out  # members' own zones next to their times
    assert "left out" in out and "Radia Perlman" in out and "paused" in out


def test_history_lists_rounds_and_one_members_meetings(config: Path, now_env: str) -> None:
    code, out, _ = run("history", "-c", str(config))
    assert code == 0 and "no rounds recorded yet" in out
    _, planned, _ = run("match", "--json", "-c", str(config))
    code, out, _ = run("history", "--json", "-c", str(config))
    (stored,) = json.loads(out)["rounds"]
    delivery = stored.pop("delivery")
    assert stored == json.loads(planned)
    assert (delivery["state"], delivery["total"]) == ("planned", 0)
    code, out, _ = run("history", "--json", "--member", "Ada Lovelace", "-c", str(config))
    mine = json.loads(out)
    assert mine["member"] == "ada@example.org"
    (entry,) = mine["rounds"]
    assert entry["week"] == "2026-W49" and entry["reason"] is None
    assert "ada@example.org" in entry["meeting"]["members"]
    code, out, _ = run("history", "--member", "ada@example.org", "-c", str(config))
    assert code == 0 and "Ada Lovelace" in out and "2026-W49" in out


def test_history_shows_cancelled_meetings_and_members_who_left(config: Path, now_env: str) -> None:
    """A cancelled meeting stays in the history, marked as such (it happened to people: they
    were invited, then told); someone removed from members.toml shows as having left."""
    assert run("match", "-c", str(config))[0] == 0
    assert run("send", "-c", str(config))[0] == 0
    code, _, err = run("cancel", "ada@example.org", "--week", "2026-W49", "-c", str(config))
    assert code == 0, err
    code, out, _ = run("history", "-c", str(config), "--member", "ada@example.org")
    assert code == 0
    (row,) = [line for line in out.splitlines() if "Ada Lovelace" in line]
    assert "sent, cancelled" in row
    payload = json.loads(run("history", "--json", "-c", str(config))[1])
    statuses = sorted(m["status"] for m in payload["rounds"][0]["meetings"])
    assert statuses == ["cancelled", "invited", "invited", "invited"]
    assert run("members", "remove", "alan@example.org", "-c", str(config))[0] == 0
    code, out, _ = run("history", "-c", str(config))
    assert code == 0 and "alan@example.org (left)" in out and "Alan Turing" not in out


def test_why_explains_a_meeting_and_a_reason(config: Path, now_env: str) -> None:
    code, out, _ = run("why", "ada@example.org", "-c", str(config))
    assert code == 0
    assert "not planned yet" in out and "Ada Lovelace meets" in out
    assert not (config.parent / "calroulette.sqlite").exists()
    run("match", "-c", str(config))
    code, out, _ = run("why", "ada@example.org", "--week", "2026-W49", "-c", str(config))
    assert code == 0 and "2026-W49 (planned)" in out and "(Europe/London)" in out
    code, _, err = run("why", "nobody@example.org", "-c", str(config))
    assert code == 2 and "no such member" in err


@pytest.mark.slow
def test_the_demo_command_works_twice_from_a_fresh_directory(config: Path, now_env: str) -> None:
    """What `make demo` runs, as a subprocess: exit 0 both times, the same round printed."""
    outputs = []
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, "-m", "calroulette", "match", "--config", str(config)],
            capture_output=True,
            text=True,
            check=False,
            cwd=config.parent,
        )
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1] and "4 meetings" in outputs[0]


def test_a_broken_feed_leaves_that_member_out_with_the_error(config: Path, now_env: str) -> None:
    text = config.read_text(encoding="utf-8").replace("demo/calendars/radia.ics", "missing.ics")
    config.write_text(text, encoding="utf-8")
    code, out, err = run("match", "--json", "-c", str(config))
    assert code == 0
    payload = json.loads(out)
    (entry,) = [u for u in payload["unmatched"] if u["member"] == "radia@example.org"]
    assert entry["reason"].startswith("feed error: calendar: ")
    assert [e["member"] for e in payload["errors"]] == ["radia@example.org"]
    assert "warning: radia@example.org: calendar: " in err
    assert all("radia@example.org" not in m["members"] for m in payload["meetings"])


def test_a_week_planned_after_the_next_one_repeats_none_of_its_pairs(
    config: Path, now_env: str
) -> None:
    """Next-but-one week planned first, then next week (or next week re-planned after it):
    the pairs of the later round are within the cooldown, so next week pairs others."""

    def pairs(week: str, *extra: str) -> set[tuple[str, ...]]:
        code, out, err = run("match", "--json", "--week", week, *extra, "-c", str(config))
        assert code == 0, err
        return {tuple(m["members"]) for m in json.loads(out)["meetings"]}

    later = pairs("2026-W50")
    assert len(later) == 4
    sooner = pairs("2026-W49")
    assert sooner and not sooner & later
    assert not pairs("2026-W49", "--rematch") & later


def test_a_member_meeting_every_other_week_sits_out_the_week_before_a_later_round(
    tmp_path: Path, now_env: str
) -> None:
    """`frequency` holds on both sides of a meeting too: with next-but-one week planned first,
    a member who meets every other week sits out next week (re-planned or not), and says why."""
    ada = 'email = "ada@example.org"\n'
    text = demo_config_text(tmp_path)
    assert text.count(ada) == 1
    config = write_demo_config(tmp_path, text.replace(ada, ada + 'frequency = "biweekly"\n'))

    def plan(week: str, *extra: str) -> tuple[set[str], dict[str, str]]:
        code, out, err = run("match", "--json", "--week", week, *extra, "-c", str(config))
        assert code == 0, err
        payload = json.loads(out)
        meeting = {e for m in payload["meetings"] for e in m["members"]}
        return meeting, {u["member"]: u["reason"] for u in payload["unmatched"]}

    met, _ = plan("2026-W50")
    assert "ada@example.org" in met
    for extra in ((), ("--rematch",)):
        met, unmatched = plan("2026-W49", *extra)
        assert "ada@example.org" not in met
        assert unmatched["ada@example.org"] == "frequency: biweekly, meets in 2026-W50"
