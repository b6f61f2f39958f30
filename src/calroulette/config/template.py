"""`calroulette init`: a new community's commented members.toml, written from a shipped template.

The template (``templates/members.toml``, package data) lists every setting with its default and
what it does; tests check that it names every key :mod:`calroulette.config` accepts and that the
file it writes loads.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import cast

import tomlkit
from tomlkit.items import Table

from calroulette.atomicfile import write_atomically
from calroulette.errors import ConfigError, UsageError

from .load import parse_community

CONFIG_NAME = "members.toml"


def template_text() -> str:
    """The shipped members.toml template, unchanged."""
    return resources.files("calroulette.config").joinpath(CONFIG_NAME).read_text("utf-8")


def render_template(
    *, name: str | None = None, organizer: str | None = None, timezone: str | None = None
) -> str:
    """The template with the community's name, organizer and zone filled in (comments kept)."""
    document = tomlkit.parse(template_text())
    community = cast(Table, document["community"])
    for key, value in (("name", name), ("organizer", organizer), ("timezone", timezone)):
        if value is not None:
            community[key] = value.strip()
    return tomlkit.dumps(document)


def write_config(
    directory: Path,
    *,
    name: str | None = None,
    organizer: str | None = None,
    timezone: str | None = None,
) -> Path:
    """Write ``directory/members.toml`` (created 0600: it will hold secret addresses).

    Refuses to overwrite an existing file, and refuses values that would not load.
    """
    target = directory / CONFIG_NAME
    if target.exists():
        raise UsageError(f"{target}: already exists (calroulette init never overwrites it)")
    text = render_template(name=name, organizer=organizer, timezone=timezone)
    try:
        parse_community(tomlkit.parse(text).unwrap(), base_dir=directory.resolve(), path=target)
    except ConfigError as error:
        raise UsageError("; ".join(str(p) for p in error.problems)) from None
    directory.mkdir(parents=True, exist_ok=True)
    write_atomically(target, text)
    return target


def next_steps(
    config: Path, *, name: bool = False, organizer: bool = False, timezone: bool = False
) -> list[str]:
    """What to do after init, as the command prints it; ``name``, ``organizer``, ``timezone``:
    given on the command line already (step 1 asks only for the others)."""
    flag = "" if config.name == CONFIG_NAME and config.parent == Path() else f" -c {config}"
    unset = [
        what
        for what, given in (
            ("name", name),
            ("organizer address", organizer),
            ("time zone", timezone),
        )
        if not given
    ]
    first = (
        f"Edit {config}: set the community's {_and(unset)} "
        "(every setting is explained in the file)."
        if unset
        else f"Look over {config}: every setting is explained in the file, with its default."
    )
    return [
        first,
        f"Add the members, one by one: calroulette members add{flag} --name … --email … "
        "--timezone ZONE (it asks for the calendar's secret address, reads the calendar and "
        "shows the member's next week; docs/members.md tells members how to find the address).",
        f"Check every calendar, then plan a round: calroulette check{flag}, "
        f"then calroulette match{flag} --dry-run.",
    ]


def _and(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
