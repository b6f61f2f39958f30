"""Reading one TOML table of members.toml: typed values, every problem collected, none raised.

:class:`Fields` gives each value its type and range or records a :class:`Problem` naming the
member (or table) and the key; :func:`unknown` names keys that are not settings, with the
closest one that is. :mod:`.load` reads every table through these.
"""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from calroulette.errors import Problem
from calroulette.timeutil import load_zone

from .text import not_one_line as _not_one_line
from .text import not_plain_text as _not_plain_text


class Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, member: str, field_name: str, message: str) -> None:
        self.problems.append(Problem(member, field_name, message))


def unknown(p: Collector, who: str, prefix: str, raw: dict[str, Any], known: set[str]) -> None:
    for key in raw:
        if key in known:
            continue
        close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        p.add(who, f"{prefix}{key}", f"unknown key{hint}")


_REPR = reprlib.Repr()  # Python 3.11's takes no arguments
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 2, 60, 60


def _shown(key: str, value: Any) -> str:
    """A value of the wrong type as a problem quotes it: shortened, and for ``calendar`` only
    what kind of value it is, since it may hold the secret address (``calendar = ["https://…"]``).
    """
    if key != "calendar":
        return _REPR.repr(value)
    kinds = {list: "a list", dict: "a table", bool: "true or false", int: "a number"}
    return kinds.get(type(value), "another kind of value") + " (not shown: it may be secret)"


class Fields:
    """Typed access to one TOML table that records a problem instead of raising."""

    def __init__(self, p: Collector, who: str, raw: dict[str, Any]) -> None:
        self.p, self.who, self.raw = p, who, raw

    def _get(self, key: str, kind: type | tuple[type, ...], what: str) -> Any:
        value = self.raw.get(key)
        if value is None:
            return None
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            self.p.add(self.who, key, f"must be {what}, not {_shown(key, value)}")
            return None
        return value

    def text(
        self, key: str, *, required: bool = False, default: str | None = None, plain: bool = False
    ) -> str | None:
        """A one-line string; ``plain``: text that reaches people (see :func:`_not_plain_text`)."""
        value = self._get(key, str, "a string")
        if value is None:
            if required and key not in self.raw:
                self.p.add(self.who, key, "missing")
            return default if key not in self.raw else (value or default)
        problem = _not_plain_text(value) if plain else _not_one_line(value)
        if problem:
            self.p.add(self.who, key, problem)
            return default
        return str(value)

    def path(self, key: str, base_dir: Path, default: Path) -> Path:
        """A file or folder, relative to members.toml's folder; an empty one is a problem (it
        would name the folder itself, or a file called "")."""
        value = self.text(key)
        if value is None:
            return default
        if not value.strip():
            self.p.add(self.who, key, "must not be empty (leave the setting out for the default)")
            return default
        return base_dir / Path(value.strip()).expanduser()

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self._get(key, int, "a whole number")
        if value is None:
            return default
        if not low <= value <= high:
            self.p.add(self.who, key, f"must be between {low} and {high}, not {value}")
            return default
        return int(value)

    def choice_int(self, key: str, default: int, choices: tuple[int, ...]) -> int:
        value = self._get(key, int, "a whole number")
        if value is None:
            return default
        if value not in choices:
            allowed = ", ".join(str(c) for c in choices)
            self.p.add(self.who, key, f"must be one of {allowed}, not {value}")
            return default
        return int(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, bool, "true or false")
        return default if value is None else bool(value)

    def zone(self, key: str, *, required: bool = False) -> ZoneInfo | None:
        value = self.text(key, required=required)
        if value is None:
            return None
        try:
            return load_zone(value)
        except ValueError as exc:
            self.p.add(self.who, key, str(exc))
            return None

    def choice(self, key: str, enum: Callable[[str], Any], default: Any, names: str) -> Any:
        value = self.text(key)
        if value is None:
            return default
        try:
            return enum(value.strip().lower())
        except ValueError:
            self.p.add(self.who, key, f"must be one of {names}, not {value!r}")
            return default

    def strings(self, key: str, *, plain: bool = False) -> tuple[str, ...]:
        value = self._get(key, list, "a list of strings")
        if value is None:
            return ()
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip() or _not_one_line(item):
                self.p.add(self.who, f"{key}[{i}]", "must be a non-empty one-line string")
                continue
            if plain and (problem := _not_plain_text(item)):
                self.p.add(self.who, f"{key}[{i}]", problem)
                continue
            out.append(item.strip())
        return tuple(out)
