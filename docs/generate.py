"""What the docs show of the program, generated from the program: run by cog.

``make docs`` rewrites the marked blocks of README.md and docs/organizer.md in place (``cog -r``);
tests/test_docs.py fails when a block differs from what this prints (``cog --check``), so the
example output and the command reference cannot drift from the code.

- :func:`example` runs a command on a copy of the demo community (members.toml and demo/) with
  the clock pinned, and prints it as a terminal session;
- :func:`command_reference` lists every command with its arguments, options and help, read
  from the typer app itself.
"""

from __future__ import annotations

import inspect
import os
import re
import shlex
import shutil
import tempfile
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from calroulette.cli import app

ROOT = Path(__file__).resolve().parent.parent
# A Tuesday before 2026-W49: `calroulette match` plans W49 for the demo, whose calendars
# repeat weekly from November 2026. Any date works; a fixed one keeps the output fixed.
NOW = "2026-11-24T12:00:00Z"


@contextmanager
def _demo() -> Iterator[Path]:
    """A scratch copy of the demo community; its database, outbox and cache stay in it."""
    with tempfile.TemporaryDirectory(prefix="calroulette-docs-") as tmp:
        folder = Path(tmp)
        shutil.copytree(ROOT / "demo", folder / "demo")
        text = (ROOT / "members.toml").read_text(encoding="utf-8")
        text = re.sub(r'cache_dir = ".*"', 'cache_dir = ".cache"', text)
        (folder / "members.toml").write_text(text, encoding="utf-8")
        yield folder


def example(*commands: str) -> None:
    """Print ``commands`` run one after the other on the demo, as ``$ calroulette …`` and the
    output on stdout. (cog's ``cog.out``: called from a cog block, so it prints.)"""
    import cog  # type: ignore[import-not-found]  # provided by cogapp while it runs

    runner = CliRunner()
    lines: list[str] = []
    with _demo() as folder:
        cwd = Path.cwd()
        env = {"CALROULETTE_NOW": NOW, "COLUMNS": "100", "XDG_CACHE_HOME": str(folder)}
        try:
            os.chdir(folder)
            for command in commands:
                result = runner.invoke(app, shlex.split(command), env=env, terminal_width=100)
                if result.exit_code not in (0, 1):
                    raise RuntimeError(f"calroulette {command}: exit {result.exit_code}")
                lines.append(f"$ calroulette {command}")
                lines += [line.rstrip() for line in result.stdout.rstrip("\n").splitlines()]
        finally:
            os.chdir(cwd)
    cog.out("```text\n" + "\n".join(lines) + "\n```\n")


def _order() -> tuple[str, ...]:
    """The commands as `calroulette --help` lists them, panel by panel (cli/app.py's PANELS);
    the members subcommands in their own panels' order, where `members` stands."""
    from calroulette.cli.app import MEMBER_PANELS, PANELS

    order: list[str] = []
    for names in PANELS.values():
        for name in names:
            if name == "members":
                order += [f"members {sub}" for subs in MEMBER_PANELS.values() for sub in subs]
            else:
                order.append(name)
    return tuple(order)


ORDER = _order()


def _commands() -> list[tuple[str, Any]]:
    """Every command, in :data:`ORDER` (one missing from it comes last, so it still shows)."""
    found: list[tuple[str, Any]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            found.append((" ".join(path), command))
            return
        for name in sorted(subcommands):
            walk(subcommands[name], (*path, name))

    walk(typer.main.get_command(app), ())
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(found, key=lambda item: (rank.get(item[0], len(ORDER)), item[0]))


def _placeholder(param: Any) -> str:
    return str(param.name).upper().removeprefix("AS_")


def _synopsis(name: str, command: Any) -> str:
    parts = [f"calroulette {name}"]
    for param in command.params:
        if type(param).__name__.endswith("Argument"):
            shown = _placeholder(param)
            parts.append(shown if param.required else f"[{shown}]")
        elif param.required:
            parts.append(f"{param.opts[0]} {_placeholder(param)}")
    if any(not type(p).__name__.endswith("Argument") and not p.required for p in command.params):
        parts.append("[options]")
    return " ".join(parts)


def _option(param: Any) -> str:
    names = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
    value = "" if param.is_flag or param.count else f" {_placeholder(param)}"
    return f"{names}{value}"


def command_reference() -> None:
    """Print the command reference of docs/organizer.md: a table, then each command's help."""
    import cog

    commands = _commands()
    out = ["| command | what it does |", "|---|---|"]
    for name, command in commands:
        first = " ".join(inspect.cleandoc(command.help or "").split("\n\n")[0].split())
        anchor = name.replace(" ", "-")
        out.append(f"| [`calroulette {name}`](#calroulette-{anchor}) | {first} |")
    for name, command in commands:
        out += ["", f"### `calroulette {name}`", "", f"`{_synopsis(name, command)}`", ""]
        paragraphs = inspect.cleandoc(command.help or "").split("\n\n")
        examples: list[str] = []  # the lines of the code blocks (indented four spaces)
        for paragraph in paragraphs:
            if paragraph.startswith("    "):
                examples += textwrap.dedent(paragraph).splitlines()
            elif paragraph.strip() not in ("Example:", "Examples:"):
                out += [" ".join(paragraph.split()), ""]
        options = [p for p in command.params if not type(p).__name__.endswith("Argument")]
        arguments = [p for p in command.params if type(p).__name__.endswith("Argument")]
        if arguments or options:
            out += ["| | |", "|---|---|"]
            for param in arguments:
                out.append(f"| `{_placeholder(param)}` | {param.help or ''} |")
            for param in options:
                default = ""
                if not param.is_flag and param.default not in (None, "", ()):
                    default = f" Default: `{param.default}`."
                out.append(f"| {_option(param)} | {param.help or ''}{default} |")
            out.append("")
        if examples:
            out += ["```sh", *(e.rstrip() for e in examples), "```", ""]
    cog.out(re.sub(r"\n{3,}", "\n\n", "\n".join(out)).rstrip() + "\n")
