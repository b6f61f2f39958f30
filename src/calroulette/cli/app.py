"""The typer application and what every command shares: options, the clock, the one error handler.

Commands parse arguments, call the library, render, and choose an exit code; nothing else.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperCommand, TyperGroup, TyperOption

from calroulette.errors import CalrouletteError, ConfigError, FeedError, UsageError
from calroulette.redact import SECRETS, SecretFilter
from calroulette.timeutil import UTC, IsoWeek, parse_utc

if TYPE_CHECKING:
    from calroulette.config import Community

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])

# The commands in `calroulette --help`, panel by panel, in this order; docs/generate.py lists them
# in the same order. A command missing here still works, listed last under "Commands".
PANELS: dict[str, tuple[str, ...]] = {
    "Weekly job": ("run", "match", "send"),
    "Members": ("init", "members", "serve"),
    "Diagnostics": ("check", "preview", "slots", "overlap", "why"),
    "History": ("history", "stats", "cancel", "reschedule"),
}
MEMBER_PANELS: dict[str, tuple[str, ...]] = {
    "Roster (members.toml)": ("add", "list", "pause", "resume", "remove"),
    "Sign-ups from the web page": ("pending", "approve", "reject"),
}


def _hide_flag_types(params: list[Any]) -> list[Any]:
    """A flag (``--json``, ``-q``, ``--help``) or a counter (``-v``) takes no value: its row in
    ``--help`` shows no ``<bool>`` or ``<int>`` (typer prints the metavar when one is set)."""
    for param in params:
        flag = isinstance(param, TyperOption) and (param.is_flag or param.count)
        if flag and param.metavar is None:
            param.metavar = ""
    return params


class Command(TyperCommand):
    """Every command: flags without a type in ``--help``."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _hide_flag_types(super().get_params(ctx))


class Group(TyperGroup):
    """A group whose commands are listed panel by panel, in the order of ``panels``."""

    panels: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for panel, names in self.panels.items():
            for name in names:
                command = self.commands.get(name)
                if command is not None and not getattr(command, "rich_help_panel", None):
                    command.rich_help_panel = panel  # type: ignore[attr-defined]

    def list_commands(self, ctx: Any) -> list[str]:
        order = [name for names in self.panels.values() for name in names]
        rank = {name: i for i, name in enumerate(order)}
        return sorted(self.commands, key=lambda name: (rank.get(name, len(order)), name))

    def get_params(self, ctx: Any) -> list[Any]:
        return _hide_flag_types(super().get_params(ctx))


class RootGroup(Group):
    panels: ClassVar[dict[str, tuple[str, ...]]] = PANELS


class MembersGroup(Group):
    panels: ClassVar[dict[str, tuple[str, ...]]] = MEMBER_PANELS


class App(typer.Typer):
    """A typer app whose commands are :class:`Command` objects.

    Help is markdown (``rich_markup_mode``): paragraphs are reflowed to the terminal's width,
    and an example indented by four spaces is a code block, shown line for line as written.
    """

    def command(
        self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any
    ) -> Callable[[F], F]:
        return super().command(name, cls=cls or Command, **kwargs)


app = App(
    name="calroulette",
    cls=RootGroup,
    help="Weekly coffee roulette: pairs community members who are free at the same time, "
    "using each member's own calendar as the database.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_show_locals=False,  # locals hold secret URLs and passwords
    add_completion=True,
)


ConfigOption = Annotated[
    Path,
    typer.Option(
        "--config", "-c", help="The community's members.toml.", envvar="CALROULETTE_CONFIG"
    ),
]
WeekOption = Annotated[
    str | None,
    typer.Option("--week", "-w", help="ISO week like 2026-W49 (default: next week)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


class _PlainConsole(Console):
    """A console that prints every string as written: names, reasons and feed errors come from
    outside, so no rich markup (`[bold]`, `[link=…]`), no emoji codes (`:warning:`), no
    highlighting, and control characters shown as escapes (``\\x1b``), line by line."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        from calroulette.render.literal import printable

        shown = tuple(
            Text("\n".join(printable(line) for line in o.split("\n"))) if isinstance(o, str) else o
            for o in objects
        )
        kwargs.update(markup=False, emoji=False, highlight=False)
        super().print(*shown, **kwargs)


def stdout() -> Console:
    return _PlainConsole(highlight=False, soft_wrap=True, markup=False, emoji=False)


def stderr() -> Console:
    return _PlainConsole(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """The one error handler: a CalrouletteError becomes its message on stderr and its exit code.

    Anything else is a bug and gets typer's traceback (without locals).
    """

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ConfigError as error:
            err = stderr()
            where = error.path or "members.toml"
            no_members = [(p.member, p.field) for p in error.problems] == [("config", "members")]
            if no_members:  # a new members.toml is not invalid: it has no members yet
                err.print(f"error: {where}: {SECRETS.mask(error.problems[0].message)}")
                raise typer.Exit(error.exit_code) from None
            err.print(f"error: {where}: invalid configuration", markup=False)
            for problem in error.problems:
                err.print(f"  {SECRETS.mask(str(problem))}", markup=False)
            raise typer.Exit(error.exit_code) from None
        except CalrouletteError as error:
            stderr().print(f"error: {SECRETS.mask(str(error))}", markup=False)
            raise typer.Exit(error.exit_code) from None

    return wrapper


def now() -> dt.datetime:
    """The clock, read once per command. ``CALROULETTE_NOW`` pins it (tests, demos, replays)."""
    pinned = os.environ.get("CALROULETTE_NOW")
    if pinned:
        try:
            return parse_utc(pinned)
        except ValueError as exc:
            raise UsageError(f"CALROULETTE_NOW: {exc}") from None
    return dt.datetime.now(UTC)


def load(config: Path, *, members: bool = True) -> Community:
    """The community in ``config`` (see :func:`calroulette.service.load`)."""
    from calroulette.service import load as load_community  # deferred: see cli/__init__.py

    return load_community(config, members=members)


def member_key(community: Community, given: str) -> str:
    """The member's email for ``given``: an email, or a name that names one member (the whole
    name, or one word of it, any case: "Finn" for Finn Larsen). A name shared by several
    members is refused, with their emails; anything else is returned as given, for the
    command to say it names nobody (a member who has left is still found by email)."""
    text = given.strip()
    if "@" in text or not text:
        return given
    wanted = text.casefold()
    named = [m for m in community.members if m.name.casefold() == wanted]
    if not named:
        named = [m for m in community.members if wanted in m.name.casefold().split()]
    if len(named) == 1:
        return named[0].email
    if len(named) > 1:
        emails = ", ".join(f"{m.name} <{m.email}>" for m in named)
        raise UsageError(f"{text}: {len(named)} members have this name: {emails}; give the email")
    return given


def parse_week(week: str | None) -> IsoWeek | None:
    """``--week``: an ISO week, or None for the service's default (next week)."""
    if week is None:
        return None
    try:
        return IsoWeek.parse(week)
    except ValueError as exc:
        raise UsageError(f"--week: {exc}") from None


VERBOSE_HELP = (
    "Show the log on stderr: warnings, retries and what each step did (-vv: every request too)."
)
QUIET_LOG_HELP = "Only errors in the log (--log-file too), and no progress bar."


@app.callback()
def _root(
    verbose: Annotated[
        int,
        typer.Option("--verbose", "-v", count=True, show_default=False, help=VERBOSE_HELP),
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=QUIET_LOG_HELP)] = False,
    log_file: Annotated[
        Path | None, typer.Option("--log-file", help="Also write the log to this file.")
    ] = None,
) -> None:
    """Weekly coffee roulette: pairs members who are free at the same time, using each
    member's own calendar as the database."""
    setup_logging(verbose=verbose, quiet=quiet, log_file=log_file)


class _Screen(logging.Filter):
    """What of the log reaches stderr without ``-v``: each problem once, in the command's words.

    A feed that failed is printed by the command itself (a row of ``check``, the "left out"
    table of ``match``), so the log's record of it (its argument is the error) stays off the
    screen, as do urllib3's retries. The commands that show each member's feed state
    (``check``, ``slots``) keep the records of a stale copy off too (:func:`feed_states_shown`).
    What remains (a stale copy used by ``match``, a cache moved aside) is printed as
    ``warning: member: stage: what``, without the log's time and logger.
    """

    def __init__(self) -> None:
        super().__init__()
        self.feed_states_shown = False

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        if record.name.startswith("urllib3"):
            return False
        if self.feed_states_shown and record.name == "calroulette.feeds":
            return False
        args = record.args if isinstance(record.args, tuple) else ()
        return not any(isinstance(a, FeedError) for a in args)


class _Plain(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


_screen: _Screen | None = None


def feed_states_shown() -> None:
    """The command prints every member's feed state (a stale copy too): the log need not."""
    if _screen is not None:
        _screen.feed_states_shown = True


def setup_logging(*, verbose: int, quiet: bool, log_file: Path | None) -> None:
    """Logs go to stderr (results go to stdout); every handler masks registered secrets.

    Each problem is printed once: without ``-v``, stderr gets the log's errors and only the
    warnings that no command output says already (:class:`_Screen`), in the commands' shape;
    with ``-v`` the whole log, with times and loggers, urllib3's retries too (``-vv``: every
    request). A ``--log-file`` gets the whole log at the chosen level (it is read after the
    fact, without the terminal's output). Plain text, never colour: cron mails it. urllib3's
    records go through the same masking handlers, since they quote the URL's path.
    """
    global _screen
    level = (
        logging.ERROR
        if quiet
        else logging.DEBUG
        if verbose > 1
        else (logging.INFO if verbose else logging.WARNING)
    )
    full = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    screen = logging.StreamHandler(sys.stderr)
    _screen = None
    if not verbose:
        _screen = _Screen()
        screen.addFilter(_screen)
    screen.setFormatter(full if verbose else _Plain())
    handlers: list[logging.Handler] = [screen]
    if log_file is not None:
        try:
            handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
        except OSError as exc:
            raise typer.BadParameter(f"cannot open {log_file}: {exc.strerror}") from None
        handlers[-1].setFormatter(full)
    for handler in handlers:
        handler.addFilter(SecretFilter())
    for name, name_level in (("calroulette", level), ("urllib3", max(level, logging.WARNING))):
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG if name == "urllib3" and verbose > 1 else name_level)
        for old in list(logger.handlers):
            logger.removeHandler(old)
            if old not in handlers and isinstance(old, logging.FileHandler):
                old.close()
        for handler in handlers:
            logger.addHandler(handler)


def main() -> None:
    """Console-script entry point."""
    from . import commands  # noqa: F401 - registers the commands on `app`

    app(prog_name="calroulette")
    sys.exit(0)
