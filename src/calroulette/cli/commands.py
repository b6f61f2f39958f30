"""Every command module, imported once so that each registers itself on the app."""

from . import (
    cancel,
    check,
    history,
    init,
    match,
    members,
    overlap,
    preview,
    reschedule,
    run,
    send,
    serve,
    slots,
    stats,
    why,
)

__all__ = [
    "cancel",
    "check",
    "history",
    "init",
    "match",
    "members",
    "overlap",
    "preview",
    "reschedule",
    "run",
    "send",
    "serve",
    "slots",
    "stats",
    "why",
]
