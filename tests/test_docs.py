"""Every command a user can run has help with an example and is documented (sqlite-utils' rule).

Commands are found on the typer app itself, so a command added later is checked too.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from calroulette.cli import app

from .conftest import ROOT

runner = CliRunner()


def _commands() -> list[tuple[str, ...]]:
    root = typer.main.get_command(app)
    found: list[tuple[str, ...]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        # typer vendors its own click (typer._click): test for a group by its commands.
        subcommands = getattr(command, "commands", None)
        if subcommands is not None:
            for name, sub in subcommands.items():
                walk(sub, (*path, name))
        else:
            found.append(path)

    walk(root, ())
    return sorted(found)


COMMANDS = _commands()
DOCS = "\n".join(
    p.read_text(encoding="utf-8")
    for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
)


def test_the_commands_of_this_issue_are_registered() -> None:
    for command in [("init",), ("members", "add"), ("members", "list"), ("preview",), ("overlap",)]:
        assert command in COMMANDS


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_command_help_has_an_example(command: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    name = " ".join(command)
    assert re.search(rf"Example: calroulette {re.escape(name)}\b", result.stdout), (
        f"`calroulette {name} --help` shows no 'Example: calroulette {name} …' line"
    )


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_command_is_documented(command: tuple[str, ...]) -> None:
    name = " ".join(command)
    assert re.search(rf"calroulette {re.escape(name)}\b", DOCS), (
        f"`calroulette {name}` is not mentioned in README.md or docs/*.md"
    )


def test_docs_link_to_each_other() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/organizer.md" in readme
    assert "docs/members.md" in readme


def test_quick_start_is_the_two_make_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Quick start", 1)[1].split("```", 2)[1]
    commands = [line.split("#")[0].strip() for line in block.splitlines()[1:] if line.strip()]
    assert commands == ["make demo", "make test"]


def test_organizer_guide_describes_every_setting() -> None:
    from calroulette import config

    guide = (ROOT / "docs" / "organizer.md").read_text(encoding="utf-8")
    keys = config._COMMUNITY_KEYS | config._MEMBER_KEYS | config._DELIVERY_KEYS
    missing = sorted(k for k in keys if f"`{k}`" not in guide)
    assert missing == [], "settings not described in docs/organizer.md"


def test_shell_completion_completes_commands_and_subcommands() -> None:
    """What bash runs on <Tab> (typer's completion protocol), against the installed command."""
    import os
    import subprocess
    import sys

    def complete(words: str) -> list[str]:
        env = dict(
            os.environ,
            COMP_WORDS=words,
            COMP_CWORD=str(len(words.split()) - 1),
            _CALROULETTE_COMPLETE="complete_bash",
        )
        script = "from calroulette.cli import main; main()"
        proc = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
        )
        return proc.stdout.split()

    assert complete("calroulette mem") == ["members"]
    assert complete("calroulette members re") == ["remove", "resume"]
