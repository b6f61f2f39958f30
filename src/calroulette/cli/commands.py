"""Every command module, imported once so that each registers itself on the app."""

from . import check, history, init, match, members, overlap, preview, slots, why

__all__ = ["check", "history", "init", "match", "members", "overlap", "preview", "slots", "why"]
