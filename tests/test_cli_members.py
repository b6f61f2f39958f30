"""`calroulette members …` edits members.toml in place: comments kept, edits validated like
loading, calendars read (over real HTTP on loopback) before a member is added."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from calroulette.cli import app
from calroulette.config import load_community

from .support.calendars import FREE_TUESDAYS, ONLY_MEETINGS
from .support.calendars import MARKER as SECRET

runner = CliRunner()


CONFIG = """\
# Our coffee club. This comment must survive every edit.
[community]
name = "Test Coffee"
organizer = "Test Coffee <coffee@example.org>"
timezone = "Europe/Berlin"   # the community's zone
cache_dir = ".cache"
allow_private_feeds = true    # the tests' calendar servers are on loopback

[[members]]
# Ada joined first.
name = "Ada Lovelace"
email = "ada@example.org"
calendar = "ada.ics"
timezone = "Europe/London"
avoid = ["grace@example.org"]   # private
"""


@pytest.fixture
def club(tmp_path: Path, now_env: str) -> Path:
    path = tmp_path / "members.toml"
    path.write_text(CONFIG, encoding="utf-8")
    path.chmod(0o600)
    (tmp_path / "ada.ics").write_bytes(FREE_TUESDAYS)
    return path


def _add(config: Path, url: str, *extra: str) -> object:
    return runner.invoke(
        app,
        [
            "members",
            "add",
            "-c",
            str(config),
            "--name",
            "Grace Hopper",
            "--email",
            "Grace@Example.org",
            "--calendar",
            url,
            "--timezone",
            "Europe/Berlin",
            *extra,
        ],
    )


def _add_local(config: Path, name: str, email: str, calendar: str, zone: str) -> object:
    args = ["--name", name, "--email", email, "--calendar", calendar, "--timezone", zone]
    return runner.invoke(app, ["members", "add", "-c", str(config), *args])


def _serve(httpserver: HTTPServer, body: bytes, status: int = 200) -> str:
    path = f"/calendar/ical/grace/{SECRET}/basic.ics"
    httpserver.expect_request(path).respond_with_data(
        body, status=status, content_type="text/calendar"
    )
    return httpserver.url_for(path)


def test_add_reads_the_calendar_shows_the_week_and_appends_the_member(
    club: Path, httpserver: HTTPServer
) -> None:
    before = club.read_text(encoding="utf-8")
    url = _serve(httpserver, FREE_TUESDAYS)
    result = _add(club, url, "--topics", "python, compilers")
    assert result.exit_code == 0, result.output
    after = club.read_text(encoding="utf-8")
    assert after.startswith(before), "existing text, comments and layout are kept as they were"
    grace = load_community(club).member("grace@example.org")
    assert grace is not None
    assert (grace.name, grace.calendar) == ("Grace Hopper", url)
    assert str(grace.timezone) == "Europe/Berlin"
    assert grace.topics == {"python", "compilers"}
    # The grid: Tuesday 01 Dec, 10:00-11:30 local, in the second day column.
    lines = {line[:5]: line for line in result.stdout.splitlines() if line[:2].isdigit()}
    assert set(lines) == {"10:00", "10:30", "11:00", "11:30"}
    tuesday = slice(7 + 7, 7 + 7 + 5)
    assert [lines[t][tuesday] for t in ("10:00", "10:30", "11:00", "11:30")] == [
        "█████",
        "█████",
        "█████",
        "  ·  ",
    ]
    assert "01 Dec" in result.stdout
    assert SECRET not in result.output
    assert stat.S_IMODE(club.stat().st_mode) == 0o600, "permissions survive the rewrite"


def test_add_refuses_a_calendar_without_availability_events(
    club: Path, httpserver: HTTPServer
) -> None:
    before = club.read_text(encoding="utf-8")
    result = _add(club, _serve(httpserver, ONLY_MEETINGS))
    assert result.exit_code == 2
    assert "grace@example.org: calendar: no events titled 'free' in 2026-W49" in result.stderr
    assert "--force" in result.stderr
    assert club.read_text(encoding="utf-8") == before


def test_add_with_force_adds_a_member_whose_calendar_has_no_free_events(
    club: Path, httpserver: HTTPServer
) -> None:
    result = _add(club, _serve(httpserver, ONLY_MEETINGS), "--force")
    assert result.exit_code == 0, result.output
    assert "added anyway" in result.stderr
    assert load_community(club).member("grace@example.org") is not None


def test_add_refuses_a_calendar_that_cannot_be_read(club: Path, httpserver: HTTPServer) -> None:
    before = club.read_text(encoding="utf-8")
    result = _add(club, _serve(httpserver, b"not here", status=404))
    assert result.exit_code == 2
    assert "grace@example.org: calendar: HTTP 404" in result.stderr
    assert SECRET not in result.output
    assert club.read_text(encoding="utf-8") == before


def test_add_refuses_an_invalid_zone_in_one_line_and_changes_nothing(club: Path) -> None:
    before = club.read_text(encoding="utf-8")
    result = _add_local(club, "X", "x@example.org", "ada.ics", "Mars/Olympus")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: x@example.org: timezone: unknown time zone")
    assert "members.toml not changed" in result.stderr
    assert club.read_text(encoding="utf-8") == before


def test_add_refuses_an_email_that_is_already_a_member(club: Path) -> None:
    result = _add_local(club, "Ada 2", "ADA@example.org", "ada.ics", "Europe/London")
    assert result.exit_code == 2
    assert "ada@example.org: already a member" in result.stderr


def test_add_writes_a_relative_calendar_path_relative_to_members_toml(
    club: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(club.parent.parent)
    local = f"{club.parent.name}/ada.ics"
    result = _add_local(club, "Ada Two", "ada2@example.org", local, "Europe/London")
    assert result.exit_code == 0, result.output
    data = tomllib.loads(club.read_text(encoding="utf-8"))
    assert data["members"][1]["calendar"] == "ada.ics"


def test_remove_deletes_only_that_member(club: Path, httpserver: HTTPServer) -> None:
    assert _add(club, _serve(httpserver, FREE_TUESDAYS)).exit_code == 0
    result = runner.invoke(app, ["members", "remove", "-c", str(club), "ada@example.org"])
    assert result.exit_code == 0, result.output
    assert "Removed Ada Lovelace <ada@example.org>" in result.stdout
    text = club.read_text(encoding="utf-8")
    assert "# Our coffee club. This comment must survive every edit." in text
    assert "# the community's zone" in text
    assert [m.email for m in load_community(club).members] == ["grace@example.org"]


def test_remove_of_an_unknown_member_is_an_error(club: Path) -> None:
    result = runner.invoke(app, ["members", "remove", "-c", str(club), "nobody@example.org"])
    assert result.exit_code == 2
    assert "nobody@example.org: no such member" in result.stderr


def test_pause_until_writes_a_toml_date_and_resume_clears_it(club: Path, now_env: str) -> None:
    result = runner.invoke(
        app, ["members", "pause", "-c", str(club), "ada@example.org", "--until", "2027-01-10"]
    )
    assert result.exit_code == 0, result.output
    text = club.read_text(encoding="utf-8")
    assert "paused_until = 2027-01-10\n" in text
    assert "# Ada joined first." in text
    member = load_community(club).members[0]
    assert member.paused_until is not None and member.paused_until.isoformat() == "2027-01-10"

    result = runner.invoke(app, ["members", "resume", "-c", str(club), "ada@example.org"])
    assert result.exit_code == 0, result.output
    assert "paused" not in club.read_text(encoding="utf-8")


def test_pause_without_a_date_pauses_until_resumed(club: Path) -> None:
    result = runner.invoke(app, ["members", "pause", "-c", str(club), "ada@example.org"])
    assert result.exit_code == 0, result.output
    assert load_community(club).members[0].paused is True
    listed = runner.invoke(app, ["members", "list", "-c", str(club), "--json"])
    assert json.loads(listed.stdout)["members"][0]["status"] == "paused"


def test_pause_with_a_bad_date_is_refused(club: Path) -> None:
    before = club.read_text(encoding="utf-8")
    result = runner.invoke(
        app, ["members", "pause", "-c", str(club), "ada@example.org", "--until", "10/01/2027"]
    )
    assert result.exit_code == 2
    assert "--until: '10/01/2027' is not a date like 2027-01-10" in result.stderr
    assert club.read_text(encoding="utf-8") == before


def test_pause_until_a_date_that_is_not_in_the_future_is_refused(club: Path, now_env: str) -> None:
    """The clock is pinned to 2026-11-24: pausing until then (or earlier) would pause nobody."""
    before = club.read_text(encoding="utf-8")
    result = runner.invoke(
        app, ["members", "pause", "-c", str(club), "ada@example.org", "--until", "2026-11-24"]
    )
    assert result.exit_code == 2
    assert "--until: 2026-11-24 is not in the future" in result.stderr
    assert club.read_text(encoding="utf-8") == before


def test_resume_of_a_member_who_is_not_paused_changes_nothing(club: Path) -> None:
    before = club.read_text(encoding="utf-8")
    result = runner.invoke(app, ["members", "resume", "-c", str(club), "ada@example.org"])
    assert result.exit_code == 0
    assert "was not paused" in result.stdout
    assert club.read_text(encoding="utf-8") == before


def test_list_json_shape_hides_secrets_and_avoid_lists(club: Path, httpserver: HTTPServer) -> None:
    assert _add(club, _serve(httpserver, FREE_TUESDAYS)).exit_code == 0
    result = runner.invoke(app, ["members", "list", "-c", str(club), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["community"] == "Test Coffee"
    grace = payload["members"][1]
    assert grace == {
        "name": "Grace Hopper",
        "email": "grace@example.org",
        "timezone": "Europe/Berlin",
        "calendar": f"http://localhost:{httpserver.port}/…/basic.ics",
        "status": "active",
        "paused": False,
        "paused_until": None,
        "frequency": "weekly",
        "topics": [],
        "team": None,
    }
    human = runner.invoke(app, ["members", "list", "-c", str(club)])
    for output in (result.stdout, human.stdout):
        assert SECRET not in output
        assert "avoid" not in output
        assert "grace@example.org" in output
    assert "ada.ics" in human.stdout


def test_an_invalid_members_toml_is_not_edited(tmp_path: Path) -> None:
    path = tmp_path / "members.toml"
    path.write_text(CONFIG.replace('timezone = "Europe/Berlin"', 'timezon = "x"'), "utf-8")
    before = path.read_text(encoding="utf-8")
    result = runner.invoke(app, ["members", "pause", "-c", str(path), "ada@example.org"])
    assert result.exit_code == 2
    assert "timezon: unknown key" in result.stderr
    assert path.read_text(encoding="utf-8") == before


def test_removing_the_last_member_then_adding_one_keeps_a_clean_file(club: Path) -> None:
    assert (
        runner.invoke(app, ["members", "remove", "-c", str(club), "ada@example.org"]).exit_code == 0
    )
    text = club.read_text(encoding="utf-8")
    assert "members" not in text.split("[community]")[0], "no `members = []` above the tables"
    assert load_community(club).members == ()
    result = _add_local(club, "Ada Again", "ada@example.org", str(club.parent / "ada.ics"), "UTC")
    assert result.exit_code == 0, result.output
    assert [m.name for m in load_community(club).members] == ["Ada Again"]
    assert "[[members]]" in club.read_text(encoding="utf-8")
