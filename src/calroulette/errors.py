"""The error tree: every error a user can see, with the exit code it maps to.

A member's failure is a *value* (a :class:`FeedError` in a result mapping), not an exception that
unwinds the run; the CLI has exactly one handler for :class:`CalrouletteError`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input, in the shape ``member: field: message``."""

    member: str  # an email, a member's position ("members[3]") or "community"
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.member}: {self.field}: {self.message}"


class CalrouletteError(Exception):
    """Base class; the CLI turns it into one line on stderr and this exit code."""

    exit_code = 1


class ConfigError(CalrouletteError):
    """members.toml is invalid; holds every problem found, not just the first."""

    exit_code = 2

    def __init__(self, problems: list[Problem] | tuple[Problem, ...], path: str = "") -> None:
        self.problems = tuple(problems)
        self.path = path
        where = f"{path}: " if path else ""
        lines = "\n".join(f"  {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"{where}{count} problem{'s' if count != 1 else ''}\n{lines}")


class FeedError(CalrouletteError):
    """One member's calendar could not be used. Never stops the run for the others.

    ``stage`` is the field-or-stage of the message shape ("calendar", "parse", "timezone" ...).
    The message must never contain a secret URL in full or a raw feed body.
    """

    def __init__(self, member: str, stage: str, message: str) -> None:
        self.member = member
        self.stage = stage
        self.message = message
        super().__init__(f"{member}: {stage}: {message}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FeedError) and (self.member, self.stage, self.message) == (
            other.member,
            other.stage,
            other.message,
        )

    def __hash__(self) -> int:
        return hash((self.member, self.stage, self.message))


class DeliveryError(CalrouletteError):
    """Sending one message failed; ``transient`` decides between retry and record."""

    def __init__(self, message: str, *, transient: bool) -> None:
        self.transient = transient
        super().__init__(message)


class UsageError(CalrouletteError):
    """The command was asked for something that cannot be done (unknown member, bad week ...)."""

    exit_code = 2
