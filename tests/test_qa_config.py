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
