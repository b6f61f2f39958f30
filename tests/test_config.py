"""members.toml: every problem reported at once, each naming the member (by email) and field."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from calroulette.cli import app
from calroulette.config import Community, _not_one_line, load_community, parse_community
from calroulette.errors import ConfigError

from .conftest import ROOT

GOOD = """
[community]
name = "Data Folk Coffee"
organizer = "Data Folk Coffee <coffee@example.org>"
timezone = "America/New_York"

[[members]]
name = "Ada Lovelace"
email = "Ada@Example.org"
calendar = "calendars/ada.ics"
timezone = "Europe/London"
keyword = "coffee"

[[members]]
name = "Grace Hopper"
email = "grace@example.org"
calendar = "https://calendar.example/private-0123456789abcdef/basic.ics"
timezone = "America/New_York"
"""


def load_text(tmp_path: Path, text: str) -> Community:
    path = tmp_path / "members.toml"
    path.write_text(text, encoding="utf-8")
    return load_community(path)


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_text(tmp_path, text)
    return [str(p) for p in info.value.problems]


def test_a_valid_file_loads_with_normalised_values(tmp_path: Path) -> None:
    community = load_text(tmp_path, GOOD)
    ada, grace = community.members
    assert ada.email == "ada@example.org"
    assert ada.timezone == ZoneInfo("Europe/London")
    assert ada.calendar == str((tmp_path / "calendars" / "ada.ics").resolve())
    assert grace.calendar.startswith("https://calendar.example/")
    assert community.keyword_for(ada) == "coffee" and community.keyword_for(grace) == "free"
    assert community.timezone == ZoneInfo("America/New_York")
    assert community.member("ADA@example.org") is ada
    assert community.member("grace hopper") is grace
    assert community.member("nobody") is None


def test_the_demo_community_is_valid() -> None:
    community = load_community(ROOT / "members.toml")
    assert len(community.members) >= 4
    assert all(Path(m.calendar).is_file() for m in community.members)


def test_several_problems_are_reported_at_once_each_naming_member_and_field(
    tmp_path: Path,
) -> None:
    found = problems(
        tmp_path,
        GOOD.replace('timezone = "Europe/London"', 'timezone = "Europe/Lodnon"')
        .replace('email = "grace@example.org"', 'email = "grace(at)example.org"')
        .replace('name = "Data Folk Coffee"', 'name = "Data Folk Coffee"\nmeeting_minuts = 30'),
    )
    assert found == [
        "community: meeting_minuts: unknown key (did you mean 'meeting_minutes'?)",
        "ada@example.org: timezone: unknown time zone 'Europe/Lodnon' "
        "(did you mean 'Europe/London'?)",
        "members[1]: email: 'grace(at)example.org' is not a valid email address",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('timezone = "America/New_York"\n\n', 'timezone = "Mars/Olympus"\n\n'),
            "community: timezone: unknown time zone 'Mars/Olympus' (use an IANA name",
        ),
        (
            ('email = "grace@example.org"', 'email = "ada@example.org"'),
            "ada@example.org (members[1]): email: duplicate: also members[0]",
        ),
        (
            ('email = "grace@example.org"', 'email = "grace@example"'),
            "members[1]: email: 'grace@example' is not a valid email address",
        ),
        (
            ('calendar = "calendars/ada.ics"\n', ""),
            "ada@example.org: calendar: missing",
        ),
        (
            ('calendar = "calendars/ada.ics"', 'calendar = "  "'),
            "ada@example.org: calendar: must not be empty",
        ),
        (
            ('name = "Ada Lovelace"', 'name = "Ada\\nLovelace"'),
            "ada@example.org: name: must be on one line",
        ),
        (
            ('name = "Ada Lovelace"', 'name = "  "'),
            "ada@example.org: name: must not be empty",
        ),
        (
            ('name = "Ada Lovelace"', 'name = "Ada\\rLovelace"'),
            "ada@example.org: name: must be on one line",
        ),
        (
            ('keyword = "coffee"', 'keywrod = "coffee"'),
            "ada@example.org: keywrod: unknown key (did you mean 'keyword'?)",
        ),
        (
            ('keyword = "coffee"', 'colour = "blue"'),
            "ada@example.org: colour: unknown key",
        ),
        (
            ('keyword = "coffee"', 'keyword = " "'),
            "ada@example.org: keyword: must not be empty",
        ),
        (
            ('keyword = "coffee"', "paused = 'yes'"),
            "ada@example.org: paused: must be true or false, not 'yes'",
        ),
        (
            ('timezone = "Europe/London"', "timezone = 1"),
            "ada@example.org: timezone: must be a string, not 1",
        ),
        (
            (
                'timezone = "America/New_York"\n\n',
                'timezone = "America/New_York"\nmeeting_minutes = "30"\n\n',
            ),
            "community: meeting_minutes: must be a whole number, not '30'",
        ),
        (
            (
                'timezone = "America/New_York"\n\n',
                'timezone = "America/New_York"\nmeeting_minutes = 1\n\n',
            ),
            "community: meeting_minutes: must be between 5 and 240, not 1",
        ),
        (
            (
                'timezone = "America/New_York"\n\n',
                'timezone = "America/New_York"\nmeeting_minutes = true\n\n',
            ),
            "community: meeting_minutes: must be a whole number, not True",
        ),
        (
            ('organizer = "Data Folk Coffee <coffee@example.org>"', 'organizer = "Coffee"'),
            "community: organizer: 'Coffee' has no valid address",
        ),
        (
            ("[community]", "[communty]"),
            "config: communty: unknown key (did you mean 'community'?)",
        ),
    ],
)
def test_each_validation_names_member_and_field(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    old, new = change
    assert old in GOOD
    found = problems(tmp_path, GOOD.replace(old, new, 1))
    assert any(p.startswith(expected) for p in found), found


def test_a_missing_file_and_broken_toml_are_one_problem_each(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_community(tmp_path / "nope.toml")
    found = problems(tmp_path, "[community\nname = 1\n")
    assert len(found) == 1 and "not valid TOML" in found[0] and "\n" not in found[0]
    (tmp_path / "latin1.toml").write_bytes(b'[community]\nname = "Caf\xe9"\n')
    with pytest.raises(ConfigError, match="not readable UTF-8"):
        load_community(tmp_path / "latin1.toml")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"community": "x"}, "community: [community]: missing table"),
        ({"members": "x"}, "members: [[members]]: must be an array of tables"),
        ({"members": ["x"]}, "members[0]: [[members]]: must be a table"),
        ({"members": [{"email": "a@example.org"}]}, "a@example.org: name: missing"),
    ],
)
def test_wrong_shapes_are_problems_not_crashes(data: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_community(data, base_dir=Path("/tmp"))
    assert any(str(p).startswith(expected) for p in info.value.problems), info.value.problems


def test_cli_exits_2_with_one_line_per_problem_and_no_traceback(tmp_path: Path) -> None:
    config = tmp_path / "members.toml"
    config.write_text(
        GOOD.replace('timezone = "Europe/London"', 'timezone = "Mars/Olympus"').replace(
            'keyword = "coffee"', 'keywrod = "coffee"'
        ),
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "calroulette", "slots", "--all", "-c", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0] == f"error: {config}: invalid configuration"
    assert sorted(line.strip() for line in lines[1:]) == [
        "ada@example.org: keywrod: unknown key (did you mean 'keyword'?)",
        "ada@example.org: timezone: unknown time zone 'Mars/Olympus' "
        "(use an IANA name like 'Europe/London')",
    ]


def test_cli_config_errors_never_show_a_secret_calendar_url(tmp_path: Path) -> None:
    config = tmp_path / "members.toml"
    config.write_text(GOOD.replace('timezone = "America/New_York"\n\n', "\n\n"), encoding="utf-8")
    result = CliRunner().invoke(app, ["slots", "--all", "-c", str(config)])
    assert result.exit_code == 2
    assert "community: timezone: missing" in result.output
    assert "0123456789abcdef" not in result.output


def test_every_control_and_line_separator_character_is_refused_and_nothing_else() -> None:
    """The one-line check is exactly "no character of category Cc, Zl or Zp but TAB", over every
    code point (it is a precomputed character class, checked here against unicodedata)."""
    for code in range(0x110000):
        ch = chr(code)
        refused = _not_one_line(f"a{ch}b") is not None
        expected = ch != "\t" and unicodedata.category(ch) in ("Cc", "Zl", "Zp")
        assert refused == expected, f"U+{code:04X}"
    assert _not_one_line("Ada\u2028Lovelace") == (
        "must be on one line (contains the control character U+2028)"
    )
