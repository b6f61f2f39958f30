"""The outbox: each message as an .eml file under ``outbox/<week>/``, plus the meeting's .ics.

The file's existence *is* the delivery record: a message is written to a temporary file in the
same folder, flushed to disk, then renamed into place (``os.replace`` is atomic on POSIX), so a
crash leaves either no file or the whole file, and a re-run that finds the file marks the row sent
without writing it again. Exactly once, with no window at all.
"""

from __future__ import annotations

import re
from pathlib import Path

from calroulette.atomicfile import write_atomic

from .ledger import Row
from .transport import SendError


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@+-]+", "_", text).strip("._") or "x"


class Outbox:
    name = "outbox"
    rate_limited = False  # files on a local disk: no relay to keep happy

    def __init__(self, root: Path) -> None:
        self.root = root

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
            if row.ics is not None:
                _write_atomic(self.ics_path(row), row.ics)
            _write_atomic(self.eml_path(row), row.payload)
        except OSError as exc:  # full disk, permissions, a file in the way: fix it, run again
            raise SendError(
                f"outbox: cannot write in {self.root}: {exc.strerror or type(exc).__name__}",
                transient=True,
                down=True,
                retry_after=0.0,  # a local disk: waiting between tries changes nothing
            ) from None

    def close(self) -> None:
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data, durable=True)
