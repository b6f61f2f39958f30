"""The command line as a user runs it: exit codes, stdout for results, stderr for errors; and its
failure paths: one clear line, the documented exit code, nothing written, never a traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner
from werkzeug import Request, Response

from calroulette.cli import app

from .support import CALENDARS, ROOT, write_demo_config
from .support.feeds import ICS

runner = CliRunner()
DEMO = str(ROOT / "members.toml")


def community(tmp_path: Path, *members: tuple[str, str, str]) -> Path:
    """A members.toml in ``tmp_path`` with (email, calendar path, zone) members; New York weeks."""
    lines = [
        "[community]",
        'name = "Test Coffee"',
        'organizer = "Test Coffee <coffee@example.org>"',
        'timezone = "America/New_York"',
        f'cache_dir = "{tmp_path / "cache"}"',
        "allow_private_feeds = true  # the tests' calendar servers are on loopback",
    ]
    for email, calendar, zone in members:
        name = email.split("@")[0].title()
        lines += [
            "[[members]]",
            f'name = "{name}"',
            f'email = "{email}"',
            f'calendar = "{calendar}"',
            f'timezone = "{zone}"',
        ]
    path = tmp_path / "members.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_slots_json_for_one_member_has_exactly_the_documented_shape(now_env: str) -> None:
    result = runner.invoke(app, ["slots", "ada@example.org", "--json", "-c", DEMO])
    assert result.exit_code == 0, result.output
    # demo/calendars/ada.ics: free Tue and Thu 14:00–17:00 London (GMT in December = UTC); the
    # default week is the one after 2026-11-24 in New York: 2026-W49.
    assert json.loads(result.stdout) == {
        "member": "ada@example.org",
        "week": "2026-W49",
        "timezone": "Europe/London",
        "free": [
            ["2026-12-01T14:00:00Z", "2026-12-01T17:00:00Z"],
            ["2026-12-03T14:00:00Z", "2026-12-03T17:00:00Z"],
        ],
    }


def test_slots_finds_a_member_by_name_and_takes_an_explicit_week(now_env: str) -> None:
    result = runner.invoke(
        app, ["slots", "Ada Lovelace", "--week", "2026-W50", "--json", "-c", DEMO]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["week"] == "2026-W50"
    assert payload["free"][0] == ["2026-12-08T14:00:00Z", "2026-12-08T17:00:00Z"]


def test_slots_all_json_lists_every_member_in_config_order_and_no_errors(now_env: str) -> None:
    result = runner.invoke(app, ["slots", "--all", "--json", "-c", DEMO])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"week", "members", "errors"}
    assert payload["week"] == "2026-W49" and payload["errors"] == []
    emails = [m["email"] for m in _members(DEMO)]
    assert [m["member"] for m in payload["members"]] == emails
    for entry in payload["members"]:
        assert set(entry) == {"member", "week", "timezone", "free"}
        assert all(a.endswith("Z") and b.endswith("Z") and a < b for a, b in entry["free"])


def _members(config: str) -> list[dict[str, str]]:
    import tomllib

    return list(tomllib.loads(Path(config).read_text(encoding="utf-8"))["members"])


def test_a_broken_feed_exits_1_with_one_line_while_the_others_are_printed(
    tmp_path: Path, now_env: str
) -> None:
    html = tmp_path / "login.html"
    html.write_text("<!DOCTYPE html><html><body>Sign in</body></html>", encoding="utf-8")
    config = community(
        tmp_path,
        ("good@example.org", str(CALENDARS / "google_keyword_whole_word.ics"), "UTC"),
        ("web@example.org", str(html), "UTC"),
        ("gone@example.org", str(tmp_path / "missing.ics"), "UTC"),
        ("tz@example.org", str(CALENDARS / "outlook_duplicate_uid_time_only_start.ics"), "UTC"),
    )
    result = runner.invoke(app, ["slots", "--all", "--json", "-c", str(config)])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert [m["member"] for m in payload["members"]] == ["good@example.org"]
    # google_keyword_whole_word.ics: four one-hour "free" events on 30 Nov and 1 Dec (UTC)
    assert len(payload["members"][0]["free"]) == 4
    errors = {e["member"]: e["error"] for e in payload["errors"]}
    assert list(errors) == ["web@example.org", "gone@example.org", "tz@example.org"]
    assert "looks like a web page" in errors["web@example.org"]
    assert "missing.ics" in errors["gone@example.org"]
    assert "has a DTSTART that is not a date" in errors["tz@example.org"]
    assert all("\n" not in e for e in errors.values())
    stderr_lines = result.stderr.strip().splitlines()
    assert len(stderr_lines) == 3
    assert all(line.startswith("error: ") for line in stderr_lines)


def test_a_single_failing_member_prints_nothing_on_stdout_and_exits_1(
    tmp_path: Path, now_env: str
) -> None:
    config = community(tmp_path, ("gone@example.org", str(tmp_path / "missing.ics"), "UTC"))
    result = runner.invoke(app, ["slots", "gone@example.org", "--json", "-c", str(config)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: gone@example.org: calendar: ")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["slots", "nobody@example.org"], "nobody@example.org: no such member"),
        (["slots", "ada@example.org", "--all"], "give a MEMBER (email or name) or --all"),
        (["slots"], "give a MEMBER (email or name) or --all"),
        (["slots", "ada@example.org", "--week", "2026-49"], "--week: '2026-49' is not an ISO week"),
        (["slots", "ada@example.org", "--week", "2027-W53"], "not a week of that year"),
    ],
)
def test_usage_mistakes_exit_2_with_one_line(args: list[str], message: str, now_env: str) -> None:
    result = runner.invoke(app, [*args, "-c", DEMO])
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_human_output_is_in_the_members_local_time(tmp_path: Path, now_env: str) -> None:
    config = community(
        tmp_path,
        (
            "kenji@example.org",
            str(CALENDARS / "google_all_day_events_member_zone.ics"),
            "Asia/Tokyo",
        ),
    )
    result = runner.invoke(app, ["slots", "kenji@example.org", "-c", str(config)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Asia/Tokyo" in out
    # Free weekdays 08:00–20:00 JST. The New York week is 30 Nov 05:00Z (14:00 JST) to 7 Dec
    # 05:00Z (14:00 JST); all-day events block Tokyo's Wed 2 Dec and Fri 4 – Sun 6 Dec.
    rows = re.findall(r"(\w{3} \d\d \w{3})\s*│\s*([\d:–, ]+?)\s*│\s*(\d+)", out)
    assert rows == [
        ("Mon 30 Nov", "14:00–20:00", "6"),
        ("Tue 01 Dec", "08:00–20:00", "12"),
        ("Thu 03 Dec", "08:00–20:00", "12"),
        ("Mon 07 Dec", "08:00–14:00", "6"),
    ]


def test_the_default_week_is_the_next_one_in_the_community_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Sunday 6 Dec 23:30 in New York = Monday 7 Dec 04:30Z: "next week" is New York's W50.
    monkeypatch.setenv("CALROULETTE_NOW", "2026-12-07T04:30:00Z")
    result = runner.invoke(app, ["slots", "ada@example.org", "--json", "-c", DEMO])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["week"] == "2026-W50"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CALROULETTE_NOW": "2026-11-24T12:00:00Z"}
    return subprocess.run(
        [sys.executable, "-m", "calroulette", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


@pytest.mark.slow
def test_subprocess_all_members_exit_0_and_json_on_stdout_only() -> None:
    proc = _run("slots", "--all", "--json", "-c", DEMO)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["errors"] == []
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_subprocess_a_broken_member_exits_1_without_a_traceback(tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.ics"
    body = (CALENDARS / "google_keyword_whole_word.ics").read_bytes()
    truncated.write_bytes(body[: len(body) // 2])
    config = community(
        tmp_path,
        ("good@example.org", str(CALENDARS / "google_keyword_whole_word.ics"), "UTC"),
        ("cut@example.org", str(truncated), "UTC"),
    )
    proc = _run("slots", "--all", "--json", "-c", str(config))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    payload = json.loads(proc.stdout)
    assert [m["member"] for m in payload["members"]] == ["good@example.org"]
    assert payload["errors"] == [
        {
            "member": "cut@example.org",
            "error": "calendar: the feed is truncated (no END:VCALENDAR); "
            "it will be read again on the next run",
        }
    ]
    assert proc.stderr.strip() == (
        "error: cut@example.org: calendar: the feed is truncated (no END:VCALENDAR); "
        "it will be read again on the next run"
    )


@pytest.mark.slow
def test_invalid_config_exits_2_with_one_line_per_problem(tmp_path: Path) -> None:
    config = tmp_path / "members.toml"
    config.write_text('[community]\nname = "x"\ntimezon = "Mars/Olympus"\n', encoding="utf-8")
    proc = _run("slots", "--all", "-c", str(config))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "timezon: unknown key (did you mean 'timezone'?)" in proc.stderr


def test_human_hours_count_real_time_on_a_dst_night(tmp_path: Path, now_env: str) -> None:
    # fastmail_iana_tzid_no_vtimezone_dst_us_fold: on Sun 1 Nov (Chicago falls back at 02:00)
    # free 01:30 CDT – 02:30 CST is two real hours (06:30Z–08:30Z) though the clock shows one,
    # plus 15:00–17:00 CST: four hours in all.
    config = community(
        tmp_path,
        (
            "kim@example.org",
            str(CALENDARS / "fastmail_iana_tzid_no_vtimezone_dst_us_fold.ics"),
            "America/Chicago",
        ),
    )
    result = runner.invoke(app, ["slots", "kim@example.org", "-w", "2026-W44", "-c", str(config)])
    assert result.exit_code == 0, result.output
    rows = re.findall(r"(\w{3} \d\d \w{3})\s*│\s*([\d:–, ]+?)\s*│\s*(\d+)", result.stdout)
    assert rows == [
        ("Sat 31 Oct", "15:00–17:00", "2"),
        ("Sun 01 Nov", "01:30–02:30, 15:00–17:00", "4"),
    ]


def test_a_name_two_members_share_asks_for_the_email(tmp_path: Path, now_env: str) -> None:
    config = community(
        tmp_path,
        ("sam@example.org", str(CALENDARS / "google_keyword_whole_word.ics"), "UTC"),
        ("sam@example.com", str(CALENDARS / "google_keyword_whole_word.ics"), "UTC"),
    )
    result = runner.invoke(app, ["slots", "Sam", "-c", str(config)])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: Sam: 2 members have this name: Sam <sam@example.org>, Sam <sam@example.com>; "
        "give the email\n"
    )


def serve_switchable(httpserver: HTTPServer, body: bytes) -> dict[str, object]:
    """Serve /ada.ics with an ETag (304 when it matches); change ``body`` and ``etag`` in the
    returned dict to change what the calendar server holds."""
    served: dict[str, object] = {"body": body, "etag": '"v1"'}

    def handle(request: Request) -> Response:
        etag = str(served["etag"])
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(served["body"], content_type="text/calendar", headers={"ETag": etag})

    httpserver.expect_request("/ada.ics").respond_with_handler(handle)
    return served


@pytest.mark.parametrize("looker", [["slots", "--all", "--json"], ["overlap"]])
def test_looking_at_a_calendar_that_broke_keeps_its_last_good_copy(
    tmp_path: Path, now_env: str, httpserver: HTTPServer, looker: list[str]
) -> None:
    """`slots` and `overlap` fetch like `match`: a new body that does not parse is not kept as
    the last good copy. Kept, the next conditional request would be answered 304 for the broken
    body, and `match` would lose the member instead of using the copy that worked."""
    broken = ICS.replace(b"DTSTART:20261103T140000Z", b"DTSTART:notadate")
    served = serve_switchable(httpserver, ICS)
    config = community(tmp_path, ("ada@example.org", httpserver.url_for("/ada.ics"), "UTC"))
    slots = ["slots", "ada@example.org", "--json", "-c", str(config)]
    good = runner.invoke(app, slots)
    assert good.exit_code == 0, good.output
    served.update(body=broken, etag='"v2"')  # the member's calendar app exports a broken event

    looked = runner.invoke(app, [*looker, "-c", str(config)])
    assert "malformed DTSTART" in looked.stderr, looked.output
    after = runner.invoke(app, slots)  # asks again: the server sends the broken body again

    assert after.exit_code == 0, after.output
    assert json.loads(after.stdout)["free"] == json.loads(good.stdout)["free"] != []
    assert "using the copy fetched" in after.stderr


def test_reschedule_checking_a_calendar_that_broke_keeps_its_last_good_copy(
    tmp_path: Path, now_env: str, httpserver: HTTPServer
) -> None:
    """`reschedule` reads the attendees' calendars afresh (without the meeting itself); like
    every reader it keeps only a body that parses, and checks the time against the good copy."""
    served = serve_switchable(httpserver, ICS)
    (tmp_path / "bob.ics").write_bytes(ICS)  # Bob is free when Ada is: Tuesdays 14:00-17:00 UTC
    config = community(
        tmp_path,
        ("ada@example.org", httpserver.url_for("/ada.ics"), "UTC"),
        ("bob@example.org", str(tmp_path / "bob.ics"), "UTC"),
    )
    slots = ["slots", "ada@example.org", "--json", "-c", str(config)]
    good = runner.invoke(app, slots)
    assert good.exit_code == 0, good.output
    planned = runner.invoke(app, ["match", "--json", "-c", str(config)])
    assert planned.exit_code == 0, planned.output
    (meeting,) = json.loads(planned.stdout)["meetings"]
    served.update(body=ICS.replace(b"DTSTART:20261103T140000Z", b"DTSTART:notadate"), etag='"v2"')

    # inside the good copy's Tuesday free time (14:00-17:00 UTC), and not the planned start
    to = next(t for t in ("2026-12-01T14:00:00Z", "2026-12-01T15:00:00Z") if t != meeting["start"])
    moved = runner.invoke(app, ["reschedule", meeting["uid"], "--to", to, "-c", str(config)])
    assert moved.exit_code == 0, moved.output  # free, by the good copy
    assert "malformed DTSTART" in moved.stderr  # the broken body was fetched, and not used
    shown = runner.invoke(app, ["match", "--json", "-c", str(config)])
    assert [m["start"] for m in json.loads(shown.stdout)["meetings"]] == [to]

    after = runner.invoke(app, slots)
    assert after.exit_code == 0, after.output
    assert json.loads(after.stdout)["free"] == json.loads(good.stdout)["free"]


# --- failure paths: one clear line, the documented exit code, nothing written -------------------

COMMUNITY_ONLY = """
[community]
name = "Data Folk Coffee"
organizer = "Data Folk Coffee <coffee@example.org>"
timezone = "America/New_York"
database = "calroulette.sqlite"
"""


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    "command",
    [["slots", "--all"], ["match"], ["match", "--dry-run"], ["run"], ["check"], ["overlap"]],
)
def test_a_community_without_members_is_refused_and_nothing_is_recorded(
    tmp_path: Path, now_env: str, command: list[str]
) -> None:
    """Otherwise `run` from cron records an empty round for the week and marks it sent, so
    members added later that week cannot be matched until the next one."""
    config = tmp_path / "members.toml"
    config.write_text(COMMUNITY_ONLY, encoding="utf-8")
    code, out, err = cli(*command, "-c", str(config))
    assert code == 2, (out, err)
    assert err.splitlines() == [  # not "invalid": it has no members yet
        f"error: {config}: no members yet (add one with `calroulette members add`)",
    ]
    assert not (tmp_path / "calroulette.sqlite").exists()


def test_history_and_members_list_still_work_without_members(tmp_path: Path, now_env: str) -> None:
    config = tmp_path / "members.toml"
    config.write_text(COMMUNITY_ONLY, encoding="utf-8")
    assert cli("history", "-c", str(config))[0] == 0
    assert cli("members", "list", "-c", str(config))[0] == 0


def test_members_add_to_a_community_without_members_works(tmp_path: Path, now_env: str) -> None:
    config = tmp_path / "members.toml"
    config.write_text(COMMUNITY_ONLY, encoding="utf-8")
    code, _, err = cli(
        "members",
        "add",
        "--name",
        "Ada Lovelace",
        "--email",
        "ada@example.org",
        "--calendar",
        str(ROOT / "demo" / "calendars" / "ada.ics"),
        "--timezone",
        "Europe/London",
        "-c",
        str(config),
    )
    assert code == 0, err
    assert cli("slots", "--all", "-c", str(config))[0] == 0


@pytest.mark.parametrize("name", ["nope.toml", "elsewhere/members.toml"])
def test_a_missing_config_file_is_named_in_the_first_line(
    tmp_path: Path, now_env: str, name: str
) -> None:
    config = tmp_path / name
    code, _, err = cli("match", "-c", str(config))
    assert code == 2
    assert err.splitlines()[0] == f"error: {config}: invalid configuration"


@pytest.mark.parametrize(
    "command", [["slots", "--all"], ["members", "list"], ["members", "remove", "a@b.org"]]
)
def test_invalid_toml_is_named_in_the_first_line(
    tmp_path: Path, now_env: str, command: list[str]
) -> None:
    config = tmp_path / "club.toml"
    config.write_text("x = [\n", encoding="utf-8")
    code, _, err = cli(*command, "-c", str(config))
    assert code == 2
    assert err.splitlines() == [
        f"error: {config}: invalid configuration",
        f"  config: {config}: not valid TOML: Invalid value (at end of document)",
    ]


@pytest.mark.parametrize("value", ["garbage", "2026-13-02T15:00Z", "tomorrow 3pm"])
def test_a_bad_reschedule_time_says_how_to_write_one(
    tmp_path: Path, now_env: str, value: str
) -> None:
    config = write_demo_config(tmp_path)
    code, _, err = cli("reschedule", "x@calroulette", "--to", value, "-c", str(config))
    assert code == 2
    assert err.splitlines() == [
        f"error: --to: {value!r} is not a date and time (write it like 2026-12-02T15:00Z)"
    ]


@pytest.mark.parametrize("command", [["run"], ["match"], ["match", "--dry-run"]])
def test_a_week_that_is_over_is_not_planned_and_nobody_is_mailed(
    tmp_path: Path, now_env: str, command: list[str]
) -> None:
    """`run --week` of a past week mailed every member "no meeting for you" for a week that
    was over, and recorded a round in which everyone was left out."""
    config = write_demo_config(tmp_path)
    code, out, err = cli(*command, "--week", "2026-W47", "-c", str(config))
    assert code == 2, (out, err)
    assert err.splitlines() == [
        "error: --week: 2026-W47 is over (leave out --week to plan next week)"
    ]
    assert not (tmp_path / "outbox").exists()
    assert not (tmp_path / "calroulette.sqlite").exists()


def test_a_week_too_close_to_its_end_is_not_planned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Sunday noon UTC: W48 ends Monday 05:00Z (New York); 24 hours' notice reaches past it
    monkeypatch.setenv("CALROULETTE_NOW", "2026-11-29T12:00:00Z")
    config = write_demo_config(tmp_path)
    code, _, err = cli("run", "--week", "2026-W48", "-c", str(config))
    assert code == 2
    assert err.splitlines() == [
        "error: --week: too late to plan 2026-W48: no meeting could start at least 24 hours "
        "from now (leave out --week to plan next week)"
    ]
    assert not (tmp_path / "outbox").exists()


def test_a_past_week_with_a_round_is_still_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_demo_config(tmp_path)
    monkeypatch.setenv("CALROULETTE_NOW", "2026-11-24T12:00:00Z")
    code, planned, err = cli("match", "--json", "-c", str(config))
    assert code == 0, err
    monkeypatch.setenv("CALROULETTE_NOW", "2026-12-20T12:00:00Z")
    code, shown, err = cli("match", "--json", "--week", "2026-W49", "-c", str(config))
    assert code == 0, err
    assert shown == planned
    code, _, err = cli("match", "--rematch", "--week", "2026-W49", "-c", str(config))
    assert code == 2 and "is over" in err
