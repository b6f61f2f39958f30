"""Every command module, imported once so that each registers itself on the app."""

from . import init, members, overlap, preview, slots

__all__ = ["init", "members", "overlap", "preview", "slots"]
