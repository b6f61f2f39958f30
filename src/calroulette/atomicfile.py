"""Atomic file writes: a reader (or a crash) sees the old file or the new one, never half of it.

Used wherever a file is a record: members.toml edits (a torn file loses the community), the
outbox (the file's existence *is* the record that a message was delivered) and the files
commands write for people (``history --ics``, ``overlap --html``). The caches, with an entry per
member, are rows of SQLite files instead (:mod:`calroulette.cachedb`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(
    path: Path, data: bytes, *, mode: int = 0o600, durable: bool = False, sync_folder: bool = True
) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    ``mode`` is the result's permission bits (0600 by default: caches and members.toml hold
    secrets). ``durable`` also flushes the file and the folder to disk, so that the rename
    survives a power cut, for files that record that something happened; with ``sync_folder``
    false, only the file: the caller flushes the folder once for many files (:func:`flush_folder`).
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        try:  # raw writes: a buffered file object costs three more system calls per file
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        if mode != 0o600:  # mkstemp made it 0600 already
            Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable and sync_folder:
        flush_folder(path.parent)


def flush_folder(folder: Path) -> None:
    """Flush ``folder`` to disk: the renames into it survive a power cut."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def write_atomically(path: Path, text: str, *, new_mode: int = 0o600) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (same folder).

    The new file keeps the old one's permission bits (members.toml holds secret addresses, so it
    is often 0600); a new file gets ``new_mode`` (0600 unless the caller says otherwise).
    """
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = new_mode
    write_atomic(path, text.encode("utf-8"), mode=mode, durable=True)
