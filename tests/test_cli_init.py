"""`calroulette init`: a commented members.toml that loads, explains every setting, and is never
written over."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from calroulette.cli import app
from calroulette.config import DeliveryMethod, Frequency, SmtpSecurity, load_community
from calroulette.config.load import (
    _COMMUNITY_KEYS,
    _DELIVERY_KEYS,
    _MEMBER_KEYS,
    _REPLIES_KEYS,
    _WEB_KEYS,
)
from calroulette.config.template import template_text

from .support.calendars import FREE_TUESDAYS

runner = CliRunner()


def test_init_writes_a_members_toml_that_loads(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "coffee")])
    assert result.exit_code == 0, result.output
    path = tmp_path / "coffee" / "members.toml"
    community = load_community(path)
    assert community.name == "Data Folk Coffee"
    assert community.organizer_email == "coffee@example.org"
    assert str(community.timezone) == "Europe/London"
    assert community.members == ()  # the example member is commented out: its calendar is fake
    assert community.delivery.method is DeliveryMethod.OUTBOX


def test_init_fills_in_name_organizer_and_zone_and_keeps_the_comments(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "init",
            str(tmp_path),
            "--name",
            "Bäckerei Kaffee",
            "--organizer",
            "Kaffee <kaffee@example.de>",
            "--timezone",
            "Europe/Berlin",
        ],
    )
    assert result.exit_code == 0, result.output
    text = (tmp_path / "members.toml").read_text(encoding="utf-8")
    assert 'name = "Bäckerei Kaffee"' in text
    assert "# Two members who met are not paired again for this many weeks" in text
    community = load_community(tmp_path / "members.toml")
    assert (community.name, community.organizer_email) == ("Bäckerei Kaffee", "kaffee@example.de")
    assert str(community.timezone) == "Europe/Berlin"


def test_init_prints_three_numbered_next_steps(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 0
    steps = re.findall(r"^\s+(\d)\. ", result.stdout, flags=re.MULTILINE)
    assert steps == ["1", "2", "3"]
    assert "calroulette members add" in result.stdout
    assert "calroulette check" in result.stdout


def test_init_never_overwrites_an_existing_file(tmp_path: Path) -> None:
    existing = tmp_path / "members.toml"
    existing.write_text("# mine\n", encoding="utf-8")
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 2
    assert "already exists" in result.stderr
    assert existing.read_text(encoding="utf-8") == "# mine\n"


def test_init_refuses_an_unknown_zone_and_writes_nothing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path), "--timezone", "Mars/Olympus"])
    assert result.exit_code == 2
    assert "community: timezone: unknown time zone 'Mars/Olympus'" in result.stderr
    assert not (tmp_path / "members.toml").exists()


def test_init_file_is_readable_only_by_its_owner(tmp_path: Path) -> None:
    runner.invoke(app, ["init", str(tmp_path)])
    mode = stat.S_IMODE((tmp_path / "members.toml").stat().st_mode)
    assert mode == 0o600


@pytest.mark.parametrize(
    ("table", "keys"),
    [
        ("community", _COMMUNITY_KEYS),
        ("members", _MEMBER_KEYS),
        ("delivery", _DELIVERY_KEYS),
        ("web", _WEB_KEYS),
        ("replies", _REPLIES_KEYS),
    ],
)
def test_template_mentions_every_setting_the_loader_accepts(table: str, keys: set[str]) -> None:
    text = template_text()
    missing = sorted(k for k in keys if not re.search(rf"^#? ?{k} = ", text, re.MULTILINE))
    assert missing == [], f"[{table}] settings missing from templates/members.toml"


def _uncommented(text: str, skip: set[str]) -> str:
    """Every commented-out `# key = value` setting of [community] and [delivery] made real, and
    the commented example member with the settings that have a default."""
    out = []
    section = ""
    member_keys = {"name", "email", "calendar", "timezone", "keyword", "paused", "frequency"}
    member_keys |= {"unsubscribe", "standby"}
    for line in text.splitlines():
        if line == "# [[members]]":
            line = "[[members]]"
        if line.startswith("["):
            section = line
        match = re.match(r"^# ([a-z_]+) = (.*)$", line)
        settings = section in ("[community]", "[delivery]") and match and match.group(1) not in skip
        example = section == "[[members]]" and match and match.group(1) in member_keys
        if match and (settings or example):
            line = f"{match.group(1)} = {match.group(2)}"
        out.append(line)
    return "\n".join(out) + "\n"


def test_commented_out_settings_show_the_real_defaults(tmp_path: Path) -> None:
    """Uncommenting every setting must change nothing: the comments tell the truth."""
    # cache_dir's default depends on $XDG_CACHE_HOME and smtp_username has none: both are examples.
    skip = {"cache_dir", "smtp_username"}
    (tmp_path / "members.toml").write_text(_uncommented(template_text(), skip), encoding="utf-8")
    c = load_community(tmp_path / "members.toml")
    assert (c.meeting_minutes, c.keyword, c.cooldown_weeks) == (30, "free", 8)
    assert c.database == tmp_path / "calroulette.sqlite"
    assert (c.slot_minutes, c.min_notice_hours) == (30, 24)
    assert (c.separate_teams, c.allow_triples, c.notify_unmatched) == (False, True, True)
    assert c.meeting_link == "https://meet.jit.si/{community}-{uid}"
    assert (c.stale_days, c.fetch_concurrency) == (14, 16)
    d = c.delivery
    assert d.outbox == tmp_path / "outbox"
    assert (d.smtp_host, d.smtp_port, d.smtp_security) == ("localhost", 587, SmtpSecurity.STARTTLS)
    assert (d.rate_limit_per_minute, d.discord_webhook_env) == (60, "CALROULETTE_DISCORD_WEBHOOK")
    member = c.members[0]
    assert (member.paused, member.frequency) == (False, Frequency.WEEKLY)


def _add_args(config: str, name: str, email: str, calendar: Path, zone: str) -> list[str]:
    person = ["--name", name, "--email", email, "--calendar", str(calendar), "--timezone", zone]
    return ["members", "add", "-c", config, *person]


def test_from_init_to_a_planned_round_as_the_organizer_guide_says(
    tmp_path: Path, now_env: str
) -> None:
    """docs/organizer.md's path: init, members add, check, match."""
    bob_tuesdays = FREE_TUESDAYS.replace(
        b"DTSTART:20261103T090000Z", b"DTSTART:20261103T093000Z"
    ).replace(b"DTEND:20261103T103000Z", b"DTEND:20261103T110000Z")
    (tmp_path / "ann.ics").write_bytes(FREE_TUESDAYS)  # Tuesdays 09:00-10:30 UTC
    (tmp_path / "bob.ics").write_bytes(bob_tuesdays)  # Tuesdays 09:30-11:00 UTC
    config = str(tmp_path / "members.toml")
    steps = [
        ["init", str(tmp_path), "--name", "Our Coffee", "--timezone", "Europe/London"],
        [
            "members",
            "add",
            "-c",
            config,
            "--name",
            "Ann",
            "--email",
            "ann@example.org",
            "--calendar",
            str(tmp_path / "ann.ics"),
            "--timezone",
            "Europe/London",
        ],
        [
            "members",
            "add",
            "-c",
            config,
            "--name",
            "Bob",
            "--email",
            "bob@example.org",
            "--calendar",
            str(tmp_path / "bob.ics"),
            "--timezone",
            "Europe/Paris",
        ],
        ["check", "-c", config],
    ]
    for args in steps:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
    result = runner.invoke(app, ["match", "-c", config, "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["week"] == "2026-W49"
    assert [(m["members"], m["start"]) for m in payload["meetings"]] == [
        (["ann@example.org", "bob@example.org"], "2026-12-01T09:30:00Z")
    ]


def test_step_one_asks_only_for_what_the_flags_did_not_give(tmp_path: Path) -> None:
    def first_step(*flags: str) -> str:
        target = tmp_path / str(len(list(tmp_path.iterdir())))
        result = runner.invoke(app, ["init", str(target), *flags])
        assert result.exit_code == 0, result.stdout
        return " ".join(result.stdout.split("1. ", 1)[1].split("2. ", 1)[0].split())

    assert "set the community's name, organizer address and time zone" in first_step()
    partly = first_step("--timezone", "Europe/Berlin", "--name", "Data Folk Coffee")
    assert "set the community's organizer address (" in partly
    everything = first_step(
        "--name",
        "Data Folk Coffee",
        "--organizer",
        "Coffee <coffee@example.org>",
        "--timezone",
        "Europe/Berlin",
    )
    assert everything.startswith("Look over") and "set the community" not in everything
