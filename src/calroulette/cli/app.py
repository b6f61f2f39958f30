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
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from calroulette.errors import CalrouletteError, ConfigError, UsageError
from calroulette.redact import SECRETS, SecretFilter
from calroulette.timeutil import UTC, IsoWeek, parse_utc

if TYPE_CHECKING:
    from calroulette.config import Community

app = typer.Typer(
    name="calroulette",
    help="Weekly coffee roulette: pairs community members who are free at the same time, "
    "using each member's own calendar as the database.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals hold secret URLs and passwords
    add_completion=True,
)

P = ParamSpec("P")
R = TypeVar("R")

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
            err.print(f"error: {error.path or 'members.toml'}: invalid configuration", markup=False)
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


def parse_week(week: str | None) -> IsoWeek | None:
    """``--week``: an ISO week, or None for the service's default (next week)."""
    if week is None:
        return None
    try:
        return IsoWeek.parse(week)
    except ValueError as exc:
        raise UsageError(f"--week: {exc}") from None


@app.callback()
def _root(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log output.")
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors in the log.")] = False,
    log_file: Annotated[
        Path | None, typer.Option("--log-file", help="Also write the log to this file.")
    ] = None,
) -> None:
    """Weekly coffee roulette: pairs members who are free at the same time, using each
    member's own calendar as the database."""
    setup_logging(verbose=verbose, quiet=quiet, log_file=log_file)


def setup_logging(*, verbose: int, quiet: bool, log_file: Path | None) -> None:
    """Logs go to stderr (results go to stdout); every handler masks registered secrets.

    Plain text, never colour or progress bars: cron mails it. urllib3's own records (retries,
    and with -vv every request line) go through the same masking handlers, since they quote
    the URL's path.
    """
    level = (
        logging.ERROR
        if quiet
        else logging.DEBUG
        if verbose > 1
        else (logging.INFO if verbose else logging.WARNING)
    )
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        try:
            handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
        except OSError as exc:
            raise typer.BadParameter(f"cannot open {log_file}: {exc.strerror}") from None
    for handler in handlers:
        handler.addFilter(SecretFilter())
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
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
