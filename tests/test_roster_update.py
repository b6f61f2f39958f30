"""`Roster.update` changes a member's settings in place: only the keys given, comments and the
other members kept, validated as loading validates, written only by `save`."""

from __future__ import annotations

from pathlib import Path

import pytest

from calroulette.config import load_community
from calroulette.config.roster import Roster
from calroulette.errors import UsageError

TEXT = """\
# Our community: the comment at the top stays.
[community]
name = "Coffee"
organizer = "Coffee <coffee@example.org>"
timezone = "Europe/London"

[[members]]
name = "Ada Lovelace"   # as she likes it written
email = "ada@example.org"
calendar = "https://cal.example.org/ada/basic.ics"
timezone = "Europe/London"
topics = ["statistics", "python"]

# Grace joined in 2025.
[[members]]
name = "Grace Hopper"
email = "grace@example.org"
calendar = "https://cal.example.org/grace/basic.ics"
timezone = "America/New_York"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "members.toml"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_update_changes_only_the_given_keys_and_keeps_comments(config: Path) -> None:
    with Roster.locked(config) as roster:
        changed = roster.update(
            "ADA@example.org", name="Ada King", frequency="biweekly", topics=["maths"]
        )
        roster.save()
    assert changed == ["name", "frequency", "topics"]
    text = config.read_text(encoding="utf-8")
    assert "# Our community: the comment at the top stays." in text
    assert "# Grace joined in 2025." in text
    assert 'name = "Ada King"   # as she likes it written' in text
    ada = load_community(config).member("ada@example.org")
    assert ada is not None
    assert (ada.name, ada.frequency.value, ada.topics) == ("Ada King", "biweekly", {"maths"})
    assert ada.calendar == "https://cal.example.org/ada/basic.ics"
    grace = load_community(config).member("grace@example.org")
    assert grace is not None and grace.name == "Grace Hopper"
    # the new key stays inside Ada's table, before the blank line that ends it
    assert 'frequency = "biweekly"\n\n# Grace joined' in text


def test_update_with_an_empty_value_removes_the_key(config: Path) -> None:
    roster = Roster.open(config)
    assert roster.update("ada@example.org", topics=[], team="") == ["topics"]
    roster.save()
    ada = load_community(config).member("ada@example.org")
    assert ada is not None and ada.topics == frozenset()
    assert "topics" not in config.read_text(encoding="utf-8").split("# Grace")[0]


def test_update_to_the_same_value_changes_nothing(config: Path) -> None:
    roster = Roster.open(config)
    assert roster.update("ada@example.org", name="Ada Lovelace", timezone="Europe/London") == []
    roster.save()
    assert config.read_text(encoding="utf-8") == TEXT


def test_update_topics_from_a_comma_separated_string_once_each(config: Path) -> None:
    roster = Roster.open(config)
    roster.update("ada@example.org", topics=" maths, python ,maths,, ")
    community = roster.save()
    ada = community.member("ada@example.org")
    assert ada is not None and ada.topics == {"maths", "python"}
    assert 'topics = ["maths", "python"]' in config.read_text(encoding="utf-8")


def test_update_refuses_an_invalid_value_and_writes_nothing(config: Path) -> None:
    roster = Roster.open(config)
    with pytest.raises(UsageError, match="timezone"):
        roster.update("ada@example.org", timezone="Mars/Olympus")
    with pytest.raises(UsageError, match="frequency"):
        Roster.open(config).update("ada@example.org", frequency="hourly")
    assert config.read_text(encoding="utf-8") == TEXT


def test_update_refuses_the_email_an_unknown_key_and_an_unknown_member(config: Path) -> None:
    roster = Roster.open(config)
    with pytest.raises(UsageError, match="email"):
        roster.update("ada@example.org", email="eve@example.org")
    with pytest.raises(UsageError, match="paused"):
        roster.update("ada@example.org", paused=True)
    with pytest.raises(UsageError, match="no such member"):
        roster.update("eve@example.org", name="Eve")


def test_update_of_a_calendar_path_is_written_relative_to_members_toml(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cals").mkdir()
    (tmp_path / "cals" / "ada.ics").write_text("BEGIN:VCALENDAR\nEND:VCALENDAR\n")
    monkeypatch.chdir(tmp_path / "cals")
    roster = Roster.open(config)
    roster.update("ada@example.org", calendar="ada.ics")
    roster.save()
    assert 'calendar = "cals/ada.ics"' in config.read_text(encoding="utf-8")


def test_update_of_a_name_with_an_encoded_word_is_refused(config: Path) -> None:
    with pytest.raises(UsageError, match="name"):
        Roster.open(config).update("ada@example.org", name="Eve =?utf-8?q?=0D=0ABcc:_x?=")


def test_pause_is_written_in_the_members_table_not_under_the_next_ones_comment(
    config: Path,
) -> None:
    roster = Roster.open(config)
    roster.pause("ada@example.org")
    roster.save()
    text = config.read_text(encoding="utf-8")
    assert 'topics = ["statistics", "python"]\npaused = true\n\n# Grace joined' in text
