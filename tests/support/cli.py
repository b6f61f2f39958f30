"""Every command of the app, found as typer finds them: a new command is tested without anyone
adding it to a list."""

from __future__ import annotations

from typing import Any

import typer

from calroulette.cli import app


def commands() -> list[tuple[tuple[str, ...], Any]]:
    """``(("members", "add"), <command>)`` for every command, sorted by path."""
    found: list[tuple[tuple[str, ...], Any]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        subcommands = getattr(command, "commands", None)  # a group (typer vendors its click)
        if subcommands is None:
            found.append((path, command))
            return
        for name, sub in subcommands.items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return sorted(found, key=lambda item: item[0])


def command_paths() -> list[tuple[str, ...]]:
    """``("members", "add")`` for every command, sorted."""
    return [path for path, _ in commands()]
