"""calroulette's command line: one module per command under ``cli/``, all on one typer app.

Every command module is imported at start-up (typer needs each command's signature, options and
help to parse arguments and print ``--help``), so a command module imports at its top only what
that needs: the standard library, typer and :mod:`.app`. The library modules a command calls
(feeds → requests, availability → icalendar, matching → numpy, delivery, …) are imported inside
the command function, and for type hints under ``TYPE_CHECKING``. Otherwise every run of
``calroulette check`` would load what ``send`` and ``match`` need, about 0.7 s of imports.
"""

from .app import app, main
from .commands import *  # noqa: F403 - importing registers every command on `app`

__all__ = ["app", "main"]
