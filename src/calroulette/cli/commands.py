"""Every command module, imported once so that each registers itself on the app."""

from . import history, init, match, members, overlap, preview, slots, why

__all__ = ["history", "init", "match", "members", "overlap", "preview", "slots", "why"]
