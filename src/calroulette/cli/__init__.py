"""calroulette's command line: one module per command under ``cli/``, all on one typer app."""

from .app import app, main
from .commands import *  # noqa: F403 - importing registers every command on `app`

__all__ = ["app", "main"]
