"""The operations: one function per command, named like it, over the community, the history
database and ``now``; each returns a typed result that ``render`` turns into text.

The CLI (and the web page) parse their input, call one of these, render the result and choose an
exit code; nothing else combines the edges (feeds, store, delivery) with the core. Each operation
is imported on first use: ``send`` must not pay for the planner's imports, nor ``--help`` for any.

=================  ===================================================
operation          module
=================  ===================================================
``match``          :mod:`.planning` (with ``why`` and ``history``)
``send``, ``run``  :mod:`.sending`
``cancel``         :mod:`.meetings` (with ``reschedule``)
``check``          :mod:`.health`
``slots``          :mod:`.calendars` (with ``overlap`` and ``preview``)
``members_*``      :mod:`.members` (add, remove, pause, resume, list)
``init``           :mod:`.setup`
``serve``          :mod:`.web` (with the signed links in emails)
=================  ===================================================
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .calendars import overlap, preview, slots
    from .community import load
    from .health import check
    from .meetings import cancel, reschedule
    from .members import (
        members_add,
        members_list,
        members_pause,
        members_remove,
        members_resume,
    )
    from .planning import history, match, why
    from .sending import run, send
    from .setup import init
    from .web import serve

OPERATIONS = {
    "cancel": "meetings",
    "check": "health",
    "history": "planning",
    "init": "setup",
    "match": "planning",
    "members_add": "members",
    "members_list": "members",
    "members_pause": "members",
    "members_remove": "members",
    "members_resume": "members",
    "overlap": "calendars",
    "preview": "calendars",
    "reschedule": "meetings",
    "run": "sending",
    "send": "sending",
    "serve": "web",
    "slots": "calendars",
    "why": "planning",
}
"""Every user-facing operation, and the module that holds it."""


def __getattr__(name: str) -> object:
    if name == "load":
        return import_module(".community", __name__).load
    if name in OPERATIONS:
        return getattr(import_module(f".{OPERATIONS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [  # noqa: RUF022 - OPERATIONS' order
    "OPERATIONS",
    "load",
    "cancel",
    "check",
    "history",
    "init",
    "match",
    "members_add",
    "members_list",
    "members_pause",
    "members_remove",
    "members_resume",
    "overlap",
    "preview",
    "reschedule",
    "run",
    "send",
    "serve",
    "slots",
    "why",
]
