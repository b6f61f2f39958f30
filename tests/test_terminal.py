"""What an organizer reads in the terminal: help that fits 80 columns with its examples intact,
commands in panels, each problem printed once, library log lines only with -v, members named by
email or by name, and `init` that writes no member who would fail."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from calroulette.cli import app
from calroulette.cli.app import MEMBER_PANELS, PANELS

from .support import write_demo_config
from .support.cli import commands

runner = CliRunner()
COMMANDS = commands()
BOX = "│╭╮╰╯─"


def _help(path: tuple[str, ...]) -> str:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    return result.stdout


def _examples(docstring: str) -> list[str]:
    """The example lines of a docstring: the lines of its code blocks (indented four spaces)."""
    text = inspect.cleandoc(docstring)
    return [line.strip() for line in text.splitlines() if line.startswith("    ")]


def _words(text: str) -> str:
    """``text`` as one line of words, the box drawing and markdown's backticks left out."""
    text = re.sub(f"[{BOX}]", " ", text).replace("`", "")
    return " ".join(text.replace("\\\\", "\\").split())


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_fits_80_columns_with_every_example_on_lines_of_its_own(
    path: tuple[str, ...], command: object
) -> None:
    shown = _help(path)
    lines = shown.splitlines()
    too_wide = [line for line in lines if len(line) > 80]
    assert too_wide == []
    examples = _examples(command.help or "")  # type: ignore[attr-defined]
    assert examples, f"`calroulette {' '.join(path)} --help` has no example"
    name = " ".join(path)
    assert any(e.startswith(f"calroulette {name}") for e in examples)
    stripped = [line.strip() for line in lines]
    for i, example in enumerate(examples):
        # each example line is one line of the help, exactly as written: not re-wrapped,
        # not broken mid-word; a long one goes on with a trailing backslash
        assert example in stripped, f"{example!r} is not a line of the help:\n{shown}"
        continued = i > 0 and examples[i - 1].endswith("\\")
        assert example.startswith("calroulette ") or continued, example
        assert len(example) <= 76


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_shows_every_word_of_the_docstring_and_no_type_for_flags(
    path: tuple[str, ...], command: object
) -> None:
    """Markdown reflows the paragraphs: no word may get lost to it (an ``<address>`` read as
    HTML, a ``*`` or ``_`` read as emphasis), and a flag's row shows no ``<bool>``."""
    shown = _words(_help(path))
    for paragraph in inspect.cleandoc(command.help or "").split("\n\n"):  # type: ignore[attr-defined]
        if paragraph.startswith("    "):
            continue  # an example: checked line by line above
        assert _words(paragraph) in shown
    for param in command.params:  # type: ignore[attr-defined]
        if param.help:
            assert _words(param.help) in shown, param.name
    assert "<bool>" not in shown
    assert "<int>" not in shown or not any(
        getattr(p, "count", False)
        for p in command.params  # type: ignore[attr-defined]
    )


def test_the_root_help_shows_the_commands_in_panels_in_order() -> None:
    shown = _help(())
    assert "<bool>" not in shown and "<int>" not in shown  # --quiet, --verbose, --help
    titles = re.findall(r"╭─ (.+?) ─", shown)
    assert titles == ["Options", *PANELS]
    for panel, names in PANELS.items():
        body = shown.split(f"╭─ {panel} ")[1].split("╰")[0]
        listed = re.findall(r"^│ (\S+)", body, re.MULTILINE)
        assert listed == list(names)
    registered = {path[0] for path, _ in COMMANDS}
    assert registered == {name for names in PANELS.values() for name in names}


def test_the_members_help_shows_its_subcommands_in_panels() -> None:
    shown = _help(("members",))
    assert re.findall(r"╭─ (.+?) ─", shown) == ["Options", *MEMBER_PANELS]
    registered = {path[1] for path, _ in COMMANDS if path[0] == "members"}
    assert registered == {name for names in MEMBER_PANELS.values() for name in names}


def test_the_command_reference_follows_the_panels() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "docs"))
    try:
        import generate  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    order = [name for name, _ in generate._commands()]
    expected = []
    for names in PANELS.values():
        for name in names:
            if name == "members":
                expected += [f"members {n}" for ns in MEMBER_PANELS.values() for n in ns]
            else:
                expected.append(name)
    assert order == expected


# --- each problem once ---------------------------------------------------------------------------

DAILY_FREE = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:daily-free@test\r
DTSTAMP:20261101T000000Z\r
DTSTART:20261102T140000Z\r
DTEND:20261102T160000Z\r
RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR\r
SUMMARY:free for coffee\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:daily-free@test\r
RECURRENCE-ID:20261203T140000Z\r
DTSTAMP:20261101T000000Z\r
DTSTART:20261203T150000Z\r
DTEND:20261203T170000Z\r
SUMMARY:free for coffee (later)\r
BEGIN:VALARM\r
ACTION:DISPLAY\r
DESCRIPTION:free\r
TRIGGER:-PT5M\r
END:VALARM\r
END:VEVENT\r
END:VCALENDAR\r
"""


def _community(tmp_path: Path, members: list[tuple[str, str, str]], extra: str = "") -> Path:
    """members.toml with (name, email, calendar) members, UTC, feeds on loopback allowed."""
    lines = [
        "[community]",
        'name = "Terminal Coffee"',
        'organizer = "Terminal Coffee <coffee@example.org>"',
        'timezone = "UTC"',
        f'cache_dir = "{tmp_path / "cache"}"',
        "allow_private_feeds = true",
        "fetch_retries = 1",
        extra,
    ]
    for name, email, calendar in members:
        lines += [
            "[[members]]",
            f'name = "{name}"',
            f'email = "{email}"',
            f'calendar = "{calendar}"',
            'timezone = "UTC"',
        ]
    config = tmp_path / "members.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config.chmod(0o600)
    return config


def _three_and_a_broken_feed(tmp_path: Path, broken_url: str) -> Path:
    for name in ("bea", "cy", "dan"):
        (tmp_path / f"{name}.ics").write_bytes(DAILY_FREE)
    return _community(
        tmp_path,
        [
            ("Ada Lovelace", "ada@example.org", broken_url),
            ("Bea Chen", "bea@example.org", str(tmp_path / "bea.ics")),
            ("Cy Twombly", "cy@example.org", str(tmp_path / "cy.ics")),
            ("Dan Rather", "dan@example.org", str(tmp_path / "dan.ics")),
        ],
    )


@pytest.mark.parametrize(
    "command", [["check"], ["match"], ["match", "--dry-run"], ["run", "--week", "2026-W49"]]
)
def test_a_failing_feed_is_told_once_and_the_library_logs_only_with_verbose(
    tmp_path: Path, now_env: str, httpserver: object, command: list[str]
) -> None:
    from pytest_httpserver import HTTPServer

    assert isinstance(httpserver, HTTPServer)
    httpserver.expect_request("/ada-secret.ics").respond_with_data("down", status=500)
    config = _three_and_a_broken_feed(tmp_path, httpserver.url_for("/ada-secret.ics"))

    result = runner.invoke(app, [*command, "-c", str(config)])
    told = result.stdout + result.stderr
    assert result.exit_code in (0, 1), told
    assert told.count("HTTP 500") == 1, told
    line = next(line for line in told.splitlines() if "HTTP 500" in line)
    assert "ada@example.org: " in line or "Ada Lovelace " in line
    assert "(" in line and line.rstrip().endswith(")")  # what happened, then (how to fix)
    for noise in ("Retrying", "DeadlineRetry", "WARNING", "urllib3"):
        assert noise not in told

    (tmp_path / "calroulette.sqlite").unlink(missing_ok=True)
    loud = runner.invoke(app, ["-v", *command, "-c", str(config)])
    assert "WARNING calroulette.feeds: ada@example.org: calendar: HTTP 500" in loud.stderr


def test_a_stale_copy_used_by_match_is_said_once_in_the_commands_shape(
    tmp_path: Path, now_env: str, httpserver: object
) -> None:
    """The log's one warning nothing else prints (the last good copy is used) reaches the
    screen without -v, as `warning: member: stage: what`, not as a log line."""
    from pytest_httpserver import HTTPServer

    assert isinstance(httpserver, HTTPServer)
    served = {"status": 200}

    def handle(request: object) -> object:
        from werkzeug.wrappers import Response

        return Response(DAILY_FREE if served["status"] == 200 else b"down", served["status"])

    httpserver.expect_request("/ada-secret.ics").respond_with_handler(handle)  # type: ignore[arg-type]
    config = _three_and_a_broken_feed(tmp_path, httpserver.url_for("/ada-secret.ics"))
    assert runner.invoke(app, ["check", "-c", str(config)]).exit_code == 0
    served["status"] = 500
    result = runner.invoke(app, ["match", "--dry-run", "-c", str(config)])
    assert result.exit_code == 0, result.output
    stale = [line for line in result.stderr.splitlines() if "last good copy" in line]
    assert stale == [stale[0]] and stale[0].startswith("warning: ada@example.org: calendar: ")
    assert "HTTP 500" in stale[0]
    checked = runner.invoke(app, ["check", "-c", str(config)])
    assert checked.stdout.count("HTTP 500") == 1 and checked.stderr == ""


def test_a_dry_run_says_so_in_its_heading_once(tmp_path: Path, now_env: str) -> None:
    config = write_demo_config(tmp_path)
    result = runner.invoke(app, ["match", "--dry-run", "-c", str(config)])
    assert result.exit_code == 0, result.output
    heading = result.stdout.splitlines()[0]
    assert "(dry run: nothing recorded)" in heading and "planned" not in heading
    assert "nothing recorded" not in result.stderr
    assert not (tmp_path / "calroulette.sqlite").exists()


def test_overlap_html_writes_the_page_and_says_where_in_one_line(
    tmp_path: Path, now_env: str
) -> None:
    config = write_demo_config(tmp_path)
    page = tmp_path / "overlap.html"
    result = runner.invoke(app, ["overlap", "--html", str(page), "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"Wrote {page}: members free in 2026-W49 (8 counted, 0 paused)"
    ]
    assert result.stderr == ""
    assert "<html" in page.read_text(encoding="utf-8")


# --- members by name ---------------------------------------------------------------------------


def _finns(tmp_path: Path) -> Path:
    for name in ("finn", "finnb", "grace"):
        (tmp_path / f"{name}.ics").write_bytes(DAILY_FREE)
    return _community(
        tmp_path,
        [
            ("Finn Larsen", "finn@example.org", str(tmp_path / "finn.ics")),
            ("Finn Berg", "finn.berg@example.org", str(tmp_path / "finnb.ics")),
            ("Grace Hopper", "grace@example.org", str(tmp_path / "grace.ics")),
        ],
    )


@pytest.mark.parametrize(
    "command",
    [
        ["slots", "{who}"],
        ["why", "{who}"],
        ["history", "--member", "{who}"],
        ["members", "pause", "{who}"],
    ],
    ids=["slots", "why", "history", "pause"],
)
def test_a_member_is_named_by_email_or_by_a_name_only_they_have(
    tmp_path: Path, now_env: str, command: list[str]
) -> None:
    config = _finns(tmp_path)
    for who in ("Larsen", "finn larsen", "Grace", "grace@example.org"):
        args = [part.format(who=who) for part in command]
        result = runner.invoke(app, [*args, "-c", str(config)])
        assert result.exit_code == 0, (who, result.output)
        assert "no such member" not in result.output
        if command[0] == "members":
            runner.invoke(app, ["members", "resume", who, "-c", str(config)])
    ambiguous = runner.invoke(app, [*[p.format(who="finn") for p in command], "-c", str(config)])
    assert ambiguous.exit_code == 2
    assert ambiguous.stderr == (
        "error: finn: 2 members have this name: Finn Larsen <finn@example.org>, "
        "Finn Berg <finn.berg@example.org>; give the email\n"
    )
    unknown = runner.invoke(app, [*[p.format(who="Zed") for p in command], "-c", str(config)])
    assert unknown.exit_code == 2 and "zed: no such member" in unknown.stderr.lower()


def test_members_pause_resume_and_remove_by_name_write_the_email(
    tmp_path: Path, now_env: str
) -> None:
    config = _finns(tmp_path)
    paused = runner.invoke(app, ["members", "pause", "Grace", "-c", str(config)])
    assert paused.stdout.startswith("Paused grace@example.org "), paused.output
    resumed = runner.invoke(app, ["members", "resume", "grace hopper", "-c", str(config)])
    assert resumed.stdout.startswith("Resumed grace@example.org:"), resumed.output
    removed = runner.invoke(app, ["members", "remove", "Berg", "-c", str(config)])
    assert removed.stdout.startswith("Removed Finn Berg <finn.berg@example.org>"), removed.output
    assert "finn.berg@example.org" not in config.read_text(encoding="utf-8")


# --- check counts events -------------------------------------------------------------------------


def test_check_counts_events_and_says_how_often_they_fall_in_the_week(
    tmp_path: Path, now_env: str
) -> None:
    """One daily event (with one moved occurrence, which has the same UID and an alarm) is one
    availability event, five times in the week."""
    config = _finns(tmp_path)
    result = runner.invoke(app, ["check", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "OK    grace@example.org: 10.0 free hours in 2026-W49, " in result.stdout
    assert "1 availability event (5 times this week)" in result.stdout
    checked = runner.invoke(app, ["check", "--json", "-c", str(config)])
    import json

    row = json.loads(checked.stdout)["members"][0]
    assert (row["availability_events"], row["availability_times"]) == (1, 5)


def test_the_series_count_reads_uids_keywords_and_cancelled_events() -> None:
    from calroulette.service.health import availability_series

    body = (
        b"BEGIN:VCALENDAR\r\n"
        b"BEGIN:VEVENT\r\nUID:a\r\nSUMMARY:Free\r\n  for coffee\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:20261201T100000Z\r\nSUMMARY:free\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nUID:b\r\nSUMMARY:freelance work\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nUID:c\r\nSTATUS:CANCELLED\r\nSUMMARY:free\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nUID:d\r\nSUMMARY;LANGUAGE=en:I'm free!\r\nEND:VEVENT\r\n"
        b"END:VCALENDAR\r\n"
    )
    assert availability_series(body, "free") == 2  # a (twice) and d


# --- preview and init ----------------------------------------------------------------------------


def test_preview_never_shows_the_secret_address(
    tmp_path: Path, now_env: str, httpserver: object
) -> None:
    from pytest_httpserver import HTTPServer

    assert isinstance(httpserver, HTTPServer)
    httpserver.expect_request("/private-0123456789abcdef/basic.ics").respond_with_data(
        DAILY_FREE, content_type="text/calendar"
    )
    address = httpserver.url_for("/private-0123456789abcdef/basic.ics")
    result = runner.invoke(app, ["preview", "--timezone", "UTC", "--allow-private-feeds", address])
    assert result.exit_code == 0, result.output
    told = result.stdout + result.stderr
    assert "0123456789abcdef" not in told and "Reading" not in told
    assert "OK: calroulette can read this calendar's free time." in result.stderr


def test_init_writes_no_member_that_would_fail_and_check_says_what_to_do(
    tmp_path: Path, now_env: str
) -> None:
    written = runner.invoke(app, ["init", str(tmp_path)])
    assert written.exit_code == 0, written.output
    assert "example.org/ical" not in "".join(
        line
        for line in (tmp_path / "members.toml").read_text().splitlines()
        if not line.startswith("#")
    )
    assert "members remove" not in written.stdout  # nothing to remove
    assert "calroulette members add -c" in written.stdout
    for command in (["check"], ["match"]):
        result = runner.invoke(app, [*command, "-c", str(tmp_path / "members.toml")])
        assert result.exit_code == 2
        assert result.stderr == (
            f"error: {tmp_path / 'members.toml'}: no members yet "
            "(add one with `calroulette members add`)\n"
        )
        assert result.stdout == ""


def test_skip_reasons_speak_to_a_contributor() -> None:
    """A skip says what is missing and where it would be, never a machine's path."""
    tests = Path(__file__).resolve().parent
    for path in [*tests.glob("*.py"), *tests.glob("support/*.py")]:
        text = path.read_text(encoding="utf-8")
        assert "beside the " + "clone" not in text, path.name
        for reason in re.findall(r"skip\(\s*f\"([^\"]*)", text):
            assert "{" not in reason, (path.name, reason)  # no interpolated path
