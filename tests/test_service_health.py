"""`calroulette check` (:mod:`calroulette.service.health`): one row per member (OK, WARN or
ERROR with its fix), exit 0/1/2, --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from calroulette.cli import app

from .support.feeds import ICS_LF

runner = CliRunner()


def ics(*events: str, extra: str = "") -> str:
    return (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n"
        + extra
        + "".join(events)
        + "END:VCALENDAR\n"
    )


def event(uid: str, summary: str, start: str, end: str, rrule: str = "FREQ=WEEKLY") -> str:
    return (
        f"BEGIN:VEVENT\nUID:{uid}\nDTSTAMP:20261101T000000Z\nDTSTART:{start}\nDTEND:{end}\n"
        f"RRULE:{rrule}\nSUMMARY:{summary}\nEND:VEVENT\n"
    )


FREE = ICS_LF  # Tuesdays 14:00–17:00 UTC, "Free for coffee": 3 free hours in 2026-W49
NO_KEYWORD = ics(event("d", "Dentist", "20261103T090000Z", "20261103T100000Z"))
FREE_BUSY_ONLY = ics(
    event("a", "Busy", "20261103T090000Z", "20261103T100000Z"),
    event("b", "Busy", "20261104T090000Z", "20261104T100000Z"),
)
ALL_BLOCKED = ics(
    event("f", "free", "20261103T140000Z", "20261103T170000Z"),
    event("m", "Team meeting", "20261103T130000Z", "20261103T180000Z"),
)
MARS = ics(
    "BEGIN:VEVENT\nUID:x\nDTSTAMP:20261101T000000Z\nDTSTART;TZID=Mars/Olympus:20261103T140000\n"
    "DTEND;TZID=Mars/Olympus:20261103T170000\nRRULE:FREQ=WEEKLY\nSUMMARY:free\nEND:VEVENT\n"
)


def write_config(tmp_path: Path, calendars: dict[str, str], mode: int = 0o600) -> Path:
    lines = [
        "[community]",
        'name = "Check Coffee"',
        'organizer = "Check Coffee <coffee@example.org>"',
        'timezone = "UTC"',
        f'cache_dir = "{tmp_path / "cache"}"',
        "allow_private_feeds = true",
    ]
    for name, calendar in calendars.items():
        lines += [
            "[[members]]",
            f'name = "{name.title()}"',
            f'email = "{name}@example.org"',
            f'calendar = "{calendar}"',
            'timezone = "UTC"',
        ]
    config = tmp_path / "members.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config.chmod(mode)
    return config


def serve(httpserver: HTTPServer, path: str, body: str, status: int = 200) -> str:
    httpserver.expect_request(path).respond_with_data(body, status=status)
    return httpserver.url_for(path)


def run_check(config: Path, *extra: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["check", "-c", str(config), "--week", "2026-W49", *extra])
    return result.exit_code, result.stdout, result.stderr


def test_all_ok_exits_0_with_free_hours_events_and_feed_age(
    tmp_path: Path, httpserver: HTTPServer, now_env: str
) -> None:
    config = write_config(tmp_path, {"ada": serve(httpserver, "/ada.ics", FREE)})
    code, out, _ = run_check(config)
    assert code == 0
    assert (
        "OK    ada@example.org: 3.0 free hours in 2026-W49, 1 availability event (once this week), "
        in out
    )
    assert "feed fetched now" in out


def test_each_problem_gets_its_row_and_fix_and_exit_1(
    tmp_path: Path, httpserver: HTTPServer, now_env: str
) -> None:
    port = httpserver.port
    calendars = {
        "ada": serve(httpserver, "/ada.ics", FREE),
        "bob": serve(httpserver, "/private-b0b0b0b0b0/basic.ics", "", status=404),
        "cy": serve(httpserver, "/cy.ics", "<!DOCTYPE html><html>Sign in</html>"),
        "dee": serve(httpserver, "/dee.ics", NO_KEYWORD),
        "eve": serve(httpserver, "/eve.ics", FREE_BUSY_ONLY),
        "fay": serve(httpserver, "/fay.ics", ALL_BLOCKED),
        "gus": serve(httpserver, "/gus.ics", MARS),
    }
    code, out, _ = run_check(write_config(tmp_path, calendars))
    assert code == 1
    rows = {line.split()[1].rstrip(":"): line for line in out.splitlines()[1:]}
    assert rows["ada@example.org"].startswith("OK ")
    assert rows["bob@example.org"] == (
        f"ERROR bob@example.org: calendar: HTTP 404 from http://localhost:{port}/…/basic.ics "
        "(use the secret iCal address; it may have been reset, so copy it again)"
    )
    assert rows["cy@example.org"].startswith(
        "ERROR cy@example.org: calendar: this looks like a web page, not a calendar, from http://"
    )
    assert rows["dee@example.org"] == (
        "WARN  dee@example.org: no availability events in 2026-W49 (no event titled 'free') "
        "(add a repeating event with 'free' in its title, e.g. 'free for coffee')"
    )
    assert "free/busy only" in rows["eve@example.org"]
    assert rows["eve@example.org"].startswith("WARN ")
    assert rows["fay@example.org"].startswith(
        "WARN  fay@example.org: all free time in 2026-W49 is blocked by busy events"
    )
    # a free event in a zone nobody knows is read around (left out), and named so it gets fixed
    assert rows["gus@example.org"] == (
        "WARN  gus@example.org: a broken free event is left out: event 'free' (first on "
        "2026-11-03): it uses the unknown time zone 'Mars/Olympus', so its free time is not "
        "offered (pick its time zone from the list in your calendar app)"
    )
    assert out.splitlines()[0] == "Check Coffee, 2026-W49: 1 OK, 4 to check, 2 failing"


def test_json_gives_the_same_per_member(
    tmp_path: Path, httpserver: HTTPServer, now_env: str
) -> None:
    calendars = {
        "ada": serve(httpserver, "/ada.ics", FREE),
        "bob": serve(httpserver, "/bob.ics", "", status=404),
        "cy": serve(httpserver, "/cy.ics", FREE.replace("DTSTART:20261103T140000Z", "DTSTART:x")),
    }
    code, out, _ = run_check(write_config(tmp_path, calendars), "--json")
    assert code == 1
    payload = json.loads(out)
    assert payload["week"] == "2026-W49" and payload["status"] == "error"
    ada, bob, cy = payload["members"]
    assert cy["status"] == "error" and cy["kind"] == "parse"
    assert ada["status"] == "ok"
    assert ada["free_hours"] == 3.0
    assert ada["availability_events"] == 1
    assert ada["feed_status"] == "fresh" and ada["feed_age_hours"] == 0.0
    assert bob["status"] == "error" and bob["kind"] == "http"
    assert bob["fix"].startswith("use the secret iCal address")


def test_stale_cache_is_a_warning_naming_the_failure(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_oneshot_request("/ada.ics").respond_with_data(FREE)
    httpserver.expect_request("/ada.ics").respond_with_data("", status=404)
    config = write_config(tmp_path, {"ada": httpserver.url_for("/ada.ics")})
    monkeypatch.setenv("CALROULETTE_NOW", "2026-11-21T12:00:00Z")
    assert run_check(config)[0] == 0
    monkeypatch.setenv("CALROULETTE_NOW", "2026-11-24T12:00:00Z")
    code, out, _ = run_check(config)
    assert code == 1
    assert (
        "WARN  ada@example.org: 3.0 free hours in 2026-W49, 1 availability event (once this week); "
        in out
    )
    assert "stale copy from 3 days ago used: HTTP 404 from" in out
    assert out.rstrip().endswith(
        "(use the secret iCal address; it may have been reset, so copy it again; "
        "the copy is used for up to 14 days)"
    )


def test_members_toml_readable_by_others_is_a_warning(
    tmp_path: Path, httpserver: HTTPServer, now_env: str
) -> None:
    config = write_config(tmp_path, {"ada": serve(httpserver, "/ada.ics", FREE)}, mode=0o644)
    code, out, _ = run_check(config)
    assert code == 1
    assert (
        "WARN  config: members.toml is readable by group and others (mode 644) and holds "
        f"secret addresses (chmod 600 {config})"
    ) in out
    os.chmod(config, 0o640)
    assert "readable by its group (mode 640)" in run_check(config)[1]


def test_invalid_config_exits_2(tmp_path: Path, now_env: str) -> None:
    config = tmp_path / "members.toml"
    config.write_text('[community]\nname = "x"\n', encoding="utf-8")
    code, out, err = run_check(config)
    assert code == 2
    assert "organizer: missing" in err
    code, out, _ = run_check(config, "--json")
    assert code == 2
    payload = json.loads(out)
    assert payload["status"] == "invalid-config"
    assert "community: organizer: missing" in payload["problems"]


@pytest.mark.slow
def test_in_a_pipe_there_is_no_colour_and_no_progress_bar(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """What cron mails: plain rows on stdout, plain log lines on stderr."""
    calendars = {f"m{i}": serve(httpserver, f"/m{i}.ics", FREE) for i in range(3)}
    calendars["bob"] = serve(httpserver, "/bob.ics", "", status=404)
    config = write_config(tmp_path, calendars)
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    env["CALROULETTE_NOW"] = "2026-11-24T12:00:00Z"
    proc = subprocess.run(
        [sys.executable, "-m", "calroulette", "check", "-c", str(config)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 1
    assert "\x1b[" not in proc.stdout and "\x1b[" not in proc.stderr
    assert "fetching calendars" not in proc.stderr
    assert "ERROR bob@example.org: calendar: HTTP 404" in proc.stdout  # results on stdout
    assert proc.stderr == ""  # the row says it all: the log's record of it only with -v


def test_the_log_repeats_a_row_only_with_verbose(
    tmp_path: Path, httpserver: HTTPServer, now_env: str
) -> None:
    """The row says what failed and the fix: the log's record of it only with -v."""
    config = write_config(tmp_path, {"bob": serve(httpserver, "/bob.ics", "", status=404)})
    loud = runner.invoke(app, ["-v", "check", "-c", str(config)])
    plain = runner.invoke(app, ["check", "-c", str(config)])
    quiet = runner.invoke(app, ["-q", "check", "-c", str(config)])
    assert "WARNING calroulette.feeds: bob@example.org: calendar: HTTP 404" in loud.stderr
    assert plain.stderr == quiet.stderr == ""
    assert "ERROR bob@example.org: calendar: HTTP 404" in plain.stdout
    assert quiet.exit_code == 1
    assert "ERROR bob@example.org: calendar: HTTP 404" in quiet.stdout


@pytest.mark.parametrize("key", [None, "k" * 43])
def test_check_warns_when_emails_would_go_out_without_their_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str | None
) -> None:
    """[web] base_url promises a manage link and one-click unsubscribe in every email; without
    the signing key in run's environment they would silently be left out."""

    from calroulette.config import parse_community
    from calroulette.service.health import links_warning

    data = {
        "community": {"name": "C", "organizer": "C <c@example.org>", "timezone": "UTC"},
        "web": {"base_url": "https://coffee.example.org"},
    }
    community = parse_community(data, base_dir=tmp_path)
    if key is not None:
        monkeypatch.setenv("CALROULETTE_SECRET_KEY", key)
    warning = links_warning(community)
    if key is None:
        assert warning is not None and "CALROULETTE_SECRET_KEY" in warning.message
        assert warning.level.value == "warn"
    else:
        assert warning is None
    bare = parse_community({"community": data["community"]}, base_dir=tmp_path)
    assert links_warning(bare) is None  # no base_url: no links promised
