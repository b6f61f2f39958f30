"""Acceptance checks on members.toml values that end up in email headers and invitations."""

from __future__ import annotations

from pathlib import Path

import pytest

from calroulette.config import load_community
from calroulette.errors import ConfigError

BASE = """
[community]
name = "Data Folk Coffee"
organizer = "Data Folk Coffee <coffee@example.org>"
timezone = "America/New_York"

[[members]]
name = "Ada Lovelace"
email = "ada@example.org"
calendar = "ada.ics"
timezone = "Europe/London"
topics = ["python"]
"""


def _problems(tmp_path: Path, old: str, new: str) -> list[str]:
    path = tmp_path / "members.toml"
    text = BASE.replace(old, new)
    assert text != BASE
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_community(path)
    return [str(p) for p in info.value.problems]


# Characters that Python's str.splitlines() and many mail and calendar tools take as line breaks
# (or that RFC 5322 / RFC 5545 forbid in a header or property value): a name is one line of text.
@pytest.mark.parametrize(
    "char",
    ["\\u000b", "\\u000c", "\\u001c", "\\u001e", "\\u0085", "\\u2028", "\\u2029", "\\u0000"],
)
@pytest.mark.parametrize(
    ("old", "who"),
    [
        ('name = "Ada Lovelace"', "ada@example.org: name"),
        ('name = "Data Folk Coffee"', "community: name"),
        ('organizer = "Data Folk Coffee <', "community: organizer"),
        ('topics = ["python', "ada@example.org: topics[0]"),
    ],
)
def test_a_line_separator_or_control_character_in_a_header_value_is_refused(
    tmp_path: Path, char: str, old: str, who: str
) -> None:
    new = (
        old.replace('"', f'"Evil{char}Bcc: evil@attacker.example', 1)
        if "[" not in old
        else (old.replace('["', f'["Evil{char}Bcc: evil@attacker.example', 1))
    )
    found = _problems(tmp_path, old, new)
    assert any(p.startswith(who) for p in found), found


def test_an_organizer_with_two_addresses_is_refused(tmp_path: Path) -> None:
    found = _problems(
        tmp_path,
        'organizer = "Data Folk Coffee <coffee@example.org>"',
        'organizer = "coffee@example.org, evil@attacker.example"',
    )
    assert [p for p in found if p.startswith("community: organizer:")], found


def test_a_name_with_punctuation_is_still_fine(tmp_path: Path) -> None:
    path = tmp_path / "members.toml"
    path.write_text(BASE.replace("Ada Lovelace", "Ada Lovelace (she/her)"), encoding="utf-8")
    assert load_community(path).members[0].name == "Ada Lovelace (she/her)"


@pytest.mark.parametrize("address", ["ftp://files.example/private-tok3n/cal.ics", "caldav://x/y"])
def test_a_calendar_address_with_another_scheme_is_a_config_problem_that_hides_it(
    tmp_path: Path, address: str
) -> None:
    """It was read as a file path ("file not found: …/ftp:/files.example/private-tok3n/…"),
    printing the whole secret address."""
    found = _problems(tmp_path, 'calendar = "ada.ics"', f'calendar = "{address}"')
    scheme = address.split(":", 1)[0]
    assert found == [
        f"ada@example.org: calendar: {scheme}:// addresses cannot be read "
        "(use the calendar's https:// or webcal:// iCal address, or a file path)"
    ]


def test_preview_refuses_another_scheme_without_showing_the_address(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from calroulette.cli import app

    result = CliRunner().invoke(
        app, ["preview", "ftp://files.example/private-tok3n/cal.ics", "--timezone", "UTC"]
    )
    assert result.exit_code == 2
    assert "tok3n" not in result.stdout + result.stderr
    assert result.stderr.splitlines()[-1] == (
        "error: calendar: ftp:// addresses cannot be read "
        "(use the calendar's https:// or webcal:// iCal address, or a file path)"
    )


def test_preview_reads_a_file_url_like_members_toml_does(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from calroulette.cli import app

    from .conftest import ROOT

    path = ROOT / "demo" / "calendars" / "ada.ics"
    result = CliRunner().invoke(
        app, ["preview", f"file://{path}", "--timezone", "UTC", "--week", "2026-W49"]
    )
    assert result.exit_code == 0, result.stderr


def test_an_organizer_name_with_a_comma_gets_the_quoting_hint_and_the_hint_works(
    tmp_path: Path,
) -> None:
    old = 'organizer = "Data Folk Coffee <coffee@example.org>"'
    found = _problems(tmp_path, old, 'organizer = "Coffee, Inc <coffee@example.org>"')
    hint = next(p for p in found if p.startswith("community: organizer:"))
    assert "needs double quotes" in hint, hint
    suggested = hint.split("organizer = ", 1)[1].removesuffix(")")
    path = tmp_path / "members.toml"
    path.write_text(BASE.replace(old, f"organizer = {suggested}"), encoding="utf-8")
    community = load_community(path)  # what the hint says to write loads
    assert community.organizer_email == "coffee@example.org"
    assert community.organizer == '"Coffee, Inc" <coffee@example.org>'
