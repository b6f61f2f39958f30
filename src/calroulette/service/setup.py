"""``init``: start a community with a commented members.toml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from calroulette.config import template


@dataclass(frozen=True, slots=True)
class Started:
    path: Path  # the members.toml written
    steps: tuple[str, ...]  # what to do next, in order


def init(
    directory: Path,
    *,
    name: str | None = None,
    organizer: str | None = None,
    timezone: str | None = None,
) -> Started:
    """Write a commented members.toml with every setting and one example member; never
    overwrites an existing file."""
    path = template.write_config(directory, name=name, organizer=organizer, timezone=timezone)
    steps = template.next_steps(
        path, name=name is not None, organizer=organizer is not None, timezone=timezone is not None
    )
    return Started(path, tuple(steps))
