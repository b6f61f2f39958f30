"""Every command module, imported once so that each registers itself on the app."""

from . import slots

__all__ = ["slots"]
