"""``check`` for people: a summary line, then one coloured row per member with the fix."""

from __future__ import annotations

from rich.text import Text

from calroulette.service.health import Health, Level

from .literal import printable

_STYLE = {Level.OK: "green", Level.WARN: "yellow", Level.ERROR: "bold red"}


def health_lines(health: Health, community_name: str) -> list[Text]:
    rows = (*health.config, *health.members)
    counts = {level: sum(r.level is level for r in rows) for level in Level}
    lines = [
        Text(
            printable(
                f"{community_name}, {health.week}: {counts[Level.OK]} OK, "
                f"{counts[Level.WARN]} to check, {counts[Level.ERROR]} failing"
            )
        )
    ]
    for row in rows:
        line = Text()
        line.append(f"{row.level.upper():<5}", style=_STYLE[row.level])
        stage = f"{row.stage}: " if row.stage else ""  # member: stage: what (how to fix)
        line.append(printable(f" {row.member}: {stage}{row.message}"))
        if row.fix:
            line.append(printable(f" ({row.fix})"))
        lines.append(line)
    return lines
