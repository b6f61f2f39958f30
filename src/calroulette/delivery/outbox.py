"""The outbox: each message as an .eml file under ``outbox/<week>/``, plus the meeting's .ics.

The file's existence *is* the delivery record: a message is written to a temporary file in the
same folder, flushed to disk, then renamed into place (``os.replace`` is atomic on POSIX), so a
crash leaves either no file or the whole file, and a re-run that finds the file marks the row sent
without writing it again. Exactly once, with no window at all.

The folder itself is flushed once per :data:`BATCH` messages (:meth:`Outbox.flush`), before the
dispatcher marks them sent, rather than after every file: a power cut before that flush can lose
the renames, but then the rows are still pending and the files are written again. A meeting's
.ics (the same bytes for every attendee) is written once.
"""

from __future__ import annotations

import re
from pathlib import Path

from calroulette.atomicfile import flush_folder, write_atomic

from .ledger import Row
from .transport import SendError


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@+-]+", "_", text).strip("._") or "x"


BATCH = 256


class Outbox:
    name = "outbox"
    rate_limited = False  # files on a local disk: no relay to keep happy
    batch = BATCH

    def __init__(self, root: Path) -> None:
        self.root = root
        self._unsynced: set[Path] = set()  # folders with renames not yet flushed

    def eml_path(self, row: Row) -> Path:
        k = row.key
        return (
            self.root
            / _safe(row.week)
            / f"{_safe(k.meeting_uid)}.{_safe(k.recipient)}.{k.kind}-{k.sequence}.eml"
        )

    def ics_path(self, row: Row) -> Path:
        k = row.key
        return self.root / _safe(row.week) / f"{_safe(k.meeting_uid)}.{k.kind}-{k.sequence}.ics"

    def already_delivered(self, row: Row) -> bool:
        return self.eml_path(row).exists()

    def send(self, row: Row) -> None:
        try:
            if row.ics is not None and not _holds(self.ics_path(row), row.ics):
                self._write(self.ics_path(row), row.ics)
            self._write(self.eml_path(row), row.payload)
        except OSError as exc:  # full disk, permissions, a file in the way: fix it, run again
            raise SendError(
                f"outbox: cannot write in {self.root}: {exc.strerror or type(exc).__name__}",
                transient=True,
                down=True,
                retry_after=0.0,  # a local disk: waiting between tries changes nothing
            ) from None

    def flush(self) -> None:
        try:
            for folder in sorted(self._unsynced):
                flush_folder(folder)
        except OSError as exc:
            raise SendError(
                f"outbox: cannot flush {self.root} to disk: {exc.strerror or type(exc).__name__}",
                transient=True,
                down=True,
                retry_after=0.0,
            ) from None
        self._unsynced.clear()

    def close(self) -> None:
        return None

    def _write(self, path: Path, data: bytes) -> None:
        if path.parent not in self._unsynced:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._unsynced.add(path.parent.parent)  # the week's folder may be new
        write_atomic(path, data, durable=True, sync_folder=False)
        self._unsynced.add(path.parent)


def _holds(path: Path, data: bytes) -> bool:
    """True when ``path`` already holds ``data`` (another attendee's message wrote it)."""
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False
