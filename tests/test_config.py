"""members.toml: every problem reported at once, each naming the member (by email) and field."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import unicodedata
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from calroulette import service
from calroulette.cli import app
from calroulette.config import Community, load_community, parse_community
from calroulette.config.text import not_one_line as _not_one_line
from calroulette.errors import ConfigError
from calroulette.redact import SECRETS, redact_url

from .support import ROOT

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
topics = ["python"]

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


def changed(old: str, new: str) -> str:
    """GOOD with its first ``old`` replaced by ``new`` (which must be there)."""
    assert old in GOOD
    return GOOD.replace(old, new, 1)


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
    found = problems(tmp_path, changed(*change))
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


@pytest.mark.slow
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


@pytest.mark.parametrize(
    ("table", "key"),
    [("community", "database"), ("community", "cache_dir"), ("delivery", "outbox")],
)
@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_path_setting_is_a_problem_not_the_folder_itself(
    tmp_path: Path, table: str, key: str, value: str
) -> None:
    """``database = ""`` would name members.toml's folder (or a file called ""): one problem,
    for that key, that says to leave the setting out for the default."""
    setting = f'{key} = "{value}"'
    if table == "community":
        text = changed(
            'timezone = "America/New_York"\n\n', f'timezone = "America/New_York"\n{setting}\n\n'
        )
    else:
        text = f"{GOOD}\n[delivery]\n{setting}\n"
    assert problems(tmp_path, text) == [
        f"{table}: {key}: must not be empty (leave the setting out for the default)"
    ]


def test_three_empty_path_settings_are_three_problems(tmp_path: Path) -> None:
    """Each empty path is reported under its own key, all at once."""
    text = changed(
        'timezone = "America/New_York"\n\n',
        'timezone = "America/New_York"\ndatabase = ""\ncache_dir = ""\n\n',
    )
    assert sorted(problems(tmp_path, f'{text}\n[delivery]\noutbox = ""\n')) == [
        "community: cache_dir: must not be empty (leave the setting out for the default)",
        "community: database: must not be empty (leave the setting out for the default)",
        "delivery: outbox: must not be empty (leave the setting out for the default)",
    ]


def test_path_settings_are_taken_from_the_folder_of_members_toml(tmp_path: Path) -> None:
    text = changed(
        'timezone = "America/New_York"\n\n',
        'timezone = "America/New_York"\ndatabase = "data/h.sqlite"\ncache_dir = "c"\n\n',
    )
    community = load_text(tmp_path, f'{text}\n[delivery]\noutbox = "sent"\n')
    assert community.database == tmp_path / "data" / "h.sqlite"
    assert community.cache_dir == tmp_path / "c"
    assert community.delivery.outbox == tmp_path / "sent"


# --- secrets: reading members.toml registers none; service.load, the edge, does -----------------


def _with_calendars(urls: list[str]) -> str:
    """GOOD with one more member per address in ``urls``."""
    extra = "".join(
        f'\n[[members]]\nname = "Member {i}"\nemail = "m{i}@example.org"\n'
        f'calendar = "{url}"\ntimezone = "UTC"\n'
        for i, url in enumerate(urls)
    )
    return GOOD + extra


def test_parsing_a_community_registers_no_secret(tmp_path: Path) -> None:
    """``load_community`` and ``parse_community`` are pure: the calendar addresses they read
    are not added to ``redact.SECRETS`` (that is ``service.load``'s job)."""
    urls = [
        "https://calendar.example/calendar/ical/x/private-parseonly1a2b3c/basic.ics",
        "webcal://p01-caldav.icloud.com/published/2/parseonly4d5e6f7a",
    ]
    text = _with_calendars(urls)
    parse_community(tomllib.loads(text), base_dir=tmp_path)
    load_text(tmp_path, text)
    assert [SECRETS.mask(url) for url in urls] == urls
    assert SECRETS.mask("GET /published/2/parseonly4d5e6f7a") == (
        "GET /published/2/parseonly4d5e6f7a"
    )


def test_service_load_registers_each_calendar_address_as_a_secret(tmp_path: Path) -> None:
    """Every member's calendar address read through ``service.load`` is masked from then on,
    whole and as the path urllib3 logs on its own; a file path is no secret."""
    urls = [
        "https://calendar.example/calendar/ical/y/private-svcload1a2b3c/basic.ics",
        "webcal://p01-caldav.icloud.com/published/2/svcload4d5e6f7a",
    ]
    path = tmp_path / "members.toml"
    path.write_text(_with_calendars(urls), encoding="utf-8")
    assert [SECRETS.mask(url) for url in urls] == urls  # not registered by anything else
    community = service.load(path)
    assert [SECRETS.mask(url) for url in urls] == [redact_url(url) for url in urls]
    logged = "GET /calendar/ical/y/private-svcload1a2b3c/basic.ics 200"
    assert SECRETS.mask(logged) == "GET …/basic.ics 200"
    grace = community.member("grace@example.org")
    assert grace is not None and "0123456789abcdef" not in SECRETS.mask(grace.calendar)
    ada_file = community.members[0].calendar
    assert SECRETS.mask(ada_file) == ada_file


# --- values that end up in email headers and invitations ---------------------------------------


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
    """A TOML escape like \\u2028 in a name, the organizer or a topic would split the email
    header or calendar property it goes into (a Bcc: injection): refused."""
    quote = '["' if "[" in old else '"'
    new = old.replace(quote, f"{quote}Evil{char}Bcc: evil@attacker.example", 1)
    found = problems(tmp_path, changed(old, new))
    assert any(p.startswith(who) for p in found), found


def test_an_organizer_with_two_addresses_is_refused(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        changed(
            'organizer = "Data Folk Coffee <coffee@example.org>"',
            'organizer = "coffee@example.org, evil@attacker.example"',
        ),
    )
    assert [p for p in found if p.startswith("community: organizer:")], found


def test_a_name_with_punctuation_is_still_fine(tmp_path: Path) -> None:
    community = load_text(tmp_path, changed("Ada Lovelace", "Ada Lovelace (she/her)"))
    assert community.members[0].name == "Ada Lovelace (she/her)"


@pytest.mark.parametrize("address", ["ftp://files.example/private-tok3n/cal.ics", "caldav://x/y"])
def test_a_calendar_address_with_another_scheme_is_a_config_problem_that_hides_it(
    tmp_path: Path, address: str
) -> None:
    """It was read as a file path ("file not found: …/ftp:/files.example/private-tok3n/…"),
    printing the whole secret address."""
    found = problems(tmp_path, changed('calendar = "calendars/ada.ics"', f'calendar = "{address}"'))
    scheme = address.split(":", 1)[0]
    assert found == [
        f"ada@example.org: calendar: {scheme}:// addresses cannot be read "
        "(use the calendar's https:// or webcal:// iCal address, or a file path)"
    ]


def test_preview_refuses_another_scheme_without_showing_the_address() -> None:
    result = CliRunner().invoke(
        app, ["preview", "ftp://files.example/private-tok3n/cal.ics", "--timezone", "UTC"]
    )
    assert result.exit_code == 2
    assert "tok3n" not in result.stdout + result.stderr
    assert result.stderr.splitlines()[-1] == (
        "error: calendar: ftp:// addresses cannot be read "
        "(use the calendar's https:// or webcal:// iCal address, or a file path)"
    )


def test_preview_reads_a_file_url_like_members_toml_does() -> None:
    path = ROOT / "demo" / "calendars" / "ada.ics"
    result = CliRunner().invoke(
        app, ["preview", f"file://{path}", "--timezone", "UTC", "--week", "2026-W49"]
    )
    assert result.exit_code == 0, result.stderr


def test_an_organizer_name_with_a_comma_gets_the_quoting_hint_and_the_hint_works(
    tmp_path: Path,
) -> None:
    old = 'organizer = "Data Folk Coffee <coffee@example.org>"'
    found = problems(tmp_path, changed(old, 'organizer = "Coffee, Inc <coffee@example.org>"'))
    hint = next(p for p in found if p.startswith("community: organizer:"))
    assert "needs double quotes" in hint, hint
    suggested = hint.split("organizer = ", 1)[1].removesuffix(")")
    community = load_text(tmp_path, changed(old, f"organizer = {suggested}"))  # as the hint says
    assert community.organizer_email == "coffee@example.org"
    assert community.organizer == '"Coffee, Inc" <coffee@example.org>'
