"""Edit members.toml in place: add, remove, pause and resume members, keeping comments and layout.

The organizer's file is theirs: comments, blank lines, key order and quoting survive every edit
(tomlkit round-trips them). An edit is validated exactly as loading validates (by
:func:`config.parse_community` on the edited document) before anything is written, and the file
is replaced atomically (temporary file in the same folder, then rename), so a crash or a refused
edit never leaves a half-written members.toml.

A members.toml that is a symbolic link is read and written through it: loading takes relative
paths (the database, the outbox, calendars) from the folder of the file the link points to, so
replacing the link with a file beside it would move them all (`run` then opened a new, empty
history and sent the week again).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions
from tomlkit.items import AoT, Array, Table
from tomlkit.toml_document import TOMLDocument

from calroulette.atomicfile import write_atomically
from calroulette.errors import ConfigError, Problem, UsageError
from calroulette.redact import is_url

from .address import unreadable_scheme
from .load import load_community, parse_community
from .model import Community

BOM = "\ufeff"  # some editors (Notepad) begin a UTF-8 file with one; tomlkit does not read it


@dataclass(frozen=True, slots=True)
class NewMember:
    """What `calroulette members add` knows about a member before they are written."""

    name: str
    email: str
    calendar: str  # a URL, or a path relative to members.toml
    timezone: str
    topics: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # any other [[members]] key


class Roster:
    """members.toml as an editable document. Nothing is written until :meth:`save`."""

    def __init__(self, path: Path, document: TOMLDocument, *, bom: bool = False) -> None:
        self.path = path
        self.document = document
        self.bom = bom  # the file began with a UTF-8 byte order mark: kept when it is written

    @classmethod
    @contextmanager
    def locked(cls, path: str | os.PathLike[str]) -> Iterator[Roster]:
        """:meth:`open` under an exclusive lock held until the block ends: every writer of
        members.toml (the CLI's ``members`` commands, the web page) edits it this way, so two
        edits at once are made one after the other and neither is lost. Readers need no lock
        (the file is replaced atomically). POSIX ``flock`` on ``<members.toml>.lock`` beside the
        file (through a symbolic link, beside the file it points to); released if the process
        dies."""
        target = Path(path).resolve()
        with _file_lock(target.with_name(target.name + ".lock")):
            yield cls.open(path)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Roster:
        """Read members.toml; it must already be valid (an edit never hides an older problem)."""
        file = Path(path)
        # The same one-line problems as every other command (missing, unreadable, not TOML,
        # invalid), worded by tomllib rather than tomlkit (which calls the end of the file '\x00').
        load_community(file)
        text = file.read_text(encoding="utf-8")
        try:
            document = tomlkit.parse(text.removeprefix(BOM))
        except tomlkit.exceptions.TOMLKitError as exc:
            problem = Problem("config", str(file), f"not valid TOML: {exc}")
            raise ConfigError([problem], str(file)) from None
        roster = cls(file, document, bom=text.startswith(BOM))
        roster.community()  # refuse to edit a file that does not load
        return roster

    # --- reading ------------------------------------------------------------------------------

    def community(self) -> Community:
        """The edited document, validated exactly as :func:`config.load_community` would."""
        data = self.document.unwrap()
        return parse_community(data, base_dir=self.path.resolve().parent, path=self.path)

    def text(self) -> str:
        return tomlkit.dumps(self.document)

    # --- editing ------------------------------------------------------------------------------

    def add(self, new: NewMember) -> None:
        """Append a ``[[members]]`` table; refuses an email that is already a member."""
        email = new.email.strip().lower()
        if self._find(email) is not None:
            raise UsageError(f"{email}: already a member (remove them first to re-add)")
        members = self._members(create=True)
        table = tomlkit.table()
        table["name"] = new.name.strip()
        table["email"] = email
        table["calendar"] = _calendar_for_file(new.calendar.strip(), self.path)
        table["timezone"] = new.timezone.strip()
        topics = [t.strip() for t in new.topics if t.strip()]
        if topics:
            table["topics"] = topics
        for key, value in new.extra.items():
            table[key] = value
        if len(members) > 0:
            _end_with_blank_line(members[-1])
        members.append(table)
        self._validate_edit(email)

    def remove(self, email: str) -> str:
        """Remove a member; their history stays in the database. Returns their name."""
        index, table = self._require(email)
        name = str(table.get("name", email))
        members = self._members()
        if len(members) == 1:
            # tomlkit writes an empty array of tables as `members = []` at the top of the file.
            del self.document["members"]
        else:
            del members[index]
        self._validate_edit(email)
        return name

    def pause(self, email: str, until: dt.date | None = None) -> None:
        """``paused = true`` (until resumed), or ``paused_until = DATE`` (resumes by itself)."""
        _, table = self._require(email)
        for key in ("paused", "paused_until"):
            if key in table:
                del table[key]
        if until is None:
            _add_key(table, "paused", True)
        else:
            _add_key(table, "paused_until", until)
        self._validate_edit(email)

    def resume(self, email: str) -> bool:
        """Clear any pause; False when the member was not paused."""
        _, table = self._require(email)
        was_paused = False
        for key in ("paused", "paused_until"):
            if key in table:
                was_paused = True
                del table[key]
        self._validate_edit(email)
        return was_paused

    def update(self, email: str, /, **fields: Any) -> list[str]:
        """Set a member's ``fields`` (any of :data:`UPDATABLE`), keeping every other key, and
        return the keys changed. A value of None, "" or an empty list removes the key (the
        default applies again); topics are a list of strings; a calendar path is written as
        :meth:`add` writes it. A key already holding the value is left as written. Validated
        like every edit: a change that makes the file invalid is refused whole."""
        unknown = sorted(set(fields) - UPDATABLE)
        if unknown:
            raise UsageError(f"{', '.join(unknown)}: not a member setting that can be changed")
        _, table = self._require(email)
        changed = []
        for key, raw in fields.items():
            value = _setting(key, raw, self.path)
            current: Any = table.get(key)
            before = current.unwrap() if hasattr(current, "unwrap") else current
            if value is None:
                if key in table:
                    del table[key]
                    changed.append(key)
            elif before != value:
                if key in table:
                    table[key] = value
                else:
                    _add_key(table, key, value)
                changed.append(key)
        self._validate_edit(email)
        return changed

    # --- writing ------------------------------------------------------------------------------

    def save(self) -> Community:
        """Validate, then replace the file atomically, keeping its permissions; through a
        symbolic link, the file it points to (as loading reads it), never the link."""
        community = self.community()
        write_atomically(self.path.resolve(), (BOM if self.bom else "") + self.text())
        return community

    # --- helpers ------------------------------------------------------------------------------

    def _members(self, *, create: bool = False) -> AoT:
        members = self.document.get("members")
        if create and isinstance(members, Array) and len(members) == 0:  # `members = []`
            del self.document["members"]
            members = None
        if members is None and create:
            members = tomlkit.aot()
            self.document.add(tomlkit.nl())
            self.document.append("members", members)
            members = self.document["members"]
        if not isinstance(members, AoT):
            raise UsageError(f"{self.path}: [[members]] is not an array of tables")
        return members

    def _find(self, email: str) -> tuple[int, Table] | None:
        wanted = email.strip().lower()
        if self.document.get("members") is None:
            return None
        for index, table in enumerate(self._members()):
            value = table.get("email")
            if isinstance(value, str) and value.strip().lower() == wanted:
                return index, table
        return None

    def _require(self, email: str) -> tuple[int, Table]:
        found = self._find(email)
        if found is None:
            raise UsageError(f"{email.strip().lower()}: no such member in {self.path}")
        return found

    def _validate_edit(self, email: str) -> None:
        """Refuse an edit that makes the file invalid, in one line naming every new problem."""
        try:
            self.community()
        except ConfigError as error:
            problems = "; ".join(str(p) for p in error.problems)
            raise UsageError(f"{problems} ({self.path.name} not changed)") from None


UPDATABLE = frozenset(
    {"name", "calendar", "timezone", "frequency", "topics", "team", "unsubscribe", "keyword"}
)
"""The member settings :meth:`Roster.update` changes (the email is the member's key: not one;
pauses have :meth:`Roster.pause` and :meth:`Roster.resume`)."""


def _setting(key: str, value: Any, config: Path) -> Any:
    """``value`` as members.toml writes ``key``; None: remove the key."""
    if value is None:
        return None
    if key == "topics":
        if isinstance(value, str):
            value = value.split(",")
        topics = [str(t).strip() for t in value if str(t).strip()]
        return list(dict.fromkeys(topics)) or None  # in the order given, each once
    text = str(value).strip()  # a StrEnum (Frequency, Unsubscribe) as its value
    if not text:
        return None
    return _calendar_for_file(text, config) if key == "calendar" else text


def _add_key(table: Table, key: str, value: Any) -> None:
    """Add ``key`` after the table's last key. tomlkit keeps the blank lines and comments that
    precede the next ``[[members]]`` in this table's body, so appending would put the key under
    the comment about the next member (where a person reads it as theirs)."""
    body = table.value.body
    last = max((i for i, (k, _) in enumerate(body) if k is not None), default=len(body) - 1)
    if last == len(body) - 1:
        table[key] = value
        return
    table.value._insert_at(last + 1, key, tomlkit.item(value))


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # Windows: no flock; one writer at a time
        yield
        return
    with path.open("a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _calendar_for_file(calendar: str, config: Path) -> str:
    """A URL or an absolute path as given; a relative path (from the current folder) rewritten
    relative to members.toml, which is how members.toml reads paths."""
    if not calendar or is_url(calendar) or calendar.startswith("file://"):
        return calendar
    if Path(calendar).expanduser().is_absolute():
        return calendar
    if unreadable_scheme(calendar, Path.cwd()):  # kept as typed, for validation to refuse
        return calendar
    absolute = Path(calendar).expanduser().resolve()
    try:
        return os.path.relpath(absolute, config.resolve().parent)
    except ValueError:  # another drive on Windows
        return str(absolute)


def _end_with_blank_line(table: Table) -> None:
    """So that an appended ``[[members]]`` is separated from the previous one as people write it."""
    text = table.as_string()
    if not text.endswith("\n\n"):
        table.add(tomlkit.nl())
