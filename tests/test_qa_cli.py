"""Acceptance checks of the CLI's failure paths: one clear line, the documented exit code,
nothing written, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from calroulette.cli import app

from .conftest import ROOT, write_demo_config

runner = CliRunner()

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
    assert err.splitlines() == [
        f"error: {config}: invalid configuration",
        "  config: members: no members yet (add one with `calroulette members add`)",
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


def _demo(tmp_path: Path) -> Path:
    return write_demo_config(tmp_path)


@pytest.mark.parametrize("command", [["run"], ["match"], ["match", "--dry-run"]])
def test_a_week_that_is_over_is_not_planned_and_nobody_is_mailed(
    tmp_path: Path, now_env: str, command: list[str]
) -> None:
    """`run --week` of a past week mailed every member "no meeting for you" for a week that
    was over, and recorded a round in which everyone was left out."""
    config = _demo(tmp_path)
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
    config = _demo(tmp_path)
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
    config = _demo(tmp_path)
    monkeypatch.setenv("CALROULETTE_NOW", "2026-11-24T12:00:00Z")
    code, planned, err = cli("match", "--json", "-c", str(config))
    assert code == 0, err
    monkeypatch.setenv("CALROULETTE_NOW", "2026-12-20T12:00:00Z")
    code, shown, err = cli("match", "--json", "--week", "2026-W49", "-c", str(config))
    assert code == 0, err
    assert shown == planned
    code, _, err = cli("match", "--rematch", "--week", "2026-W49", "-c", str(config))
    assert code == 2 and "is over" in err
