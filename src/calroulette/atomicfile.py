"""Atomic file writes: a reader (or a crash) sees the old file or the new one, never half of it.

Used wherever a file is a record: members.toml edits (a torn file loses the community), the
outbox (the file's existence *is* the record that a message was delivered) and the files
commands write for people (``history --ics``, ``overlap --html``). The caches, with an entry per
member, are rows of SQLite files instead (:mod:`calroulette.cachedb`).
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from collections.abc import Callable
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


class StagedWrite:
    """A file written under a temporary name beside ``path``, neither durable nor in place yet:
    :func:`write_atomic` with ``durable=True``, split so that many files share their waits.

    For a batch: :func:`stage_write` each file (its writeback to disk starts at once, without
    waiting), then :meth:`sync` each (the disk has been writing them all meanwhile, so these waits
    overlap and its writes merge), then :meth:`commit`
    each (the rename), then :func:`flush_folder` once per folder. Only a file whose data is on
    disk is renamed, so a crash or a power cut at any point leaves, under ``path``, nothing or
    the whole file; :meth:`discard` removes a temporary file that will not be committed.
    """

    __slots__ = ("fd", "path", "tmp")

    def __init__(self, path: Path, tmp: Path, fd: int) -> None:
        self.path, self.tmp = path, tmp
        self.fd: int | None = fd  # open until committed or discarded: fsync reports on it

    def sync(self) -> None:
        """Wait until the data is on disk."""
        if self.fd is None:
            raise ValueError(f"{self.tmp} is committed or discarded")
        os.fsync(self.fd)

    def commit(self) -> None:
        """Rename the temporary file onto ``path`` (after :meth:`sync`)."""
        if self.fd is None:
            raise ValueError(f"{self.tmp} is committed or discarded")
        fd, self.fd = self.fd, None
        try:
            os.close(fd)
            self.tmp.replace(self.path)
        except BaseException:
            self.tmp.unlink(missing_ok=True)
            raise

    def discard(self) -> None:
        """Close and remove the temporary file, unless committed (then nothing)."""
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            os.close(fd)
        finally:
            self.tmp.unlink(missing_ok=True)


def stage_write(path: Path, data: bytes) -> StagedWrite:
    """Write ``data`` (0600) to a temporary file beside ``path``, as :func:`write_atomic` does,
    and start writing it to disk without waiting: see :class:`StagedWrite`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        _start_writeback(fd)
    except BaseException:
        os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise
    return StagedWrite(path, Path(tmp), fd)


_SYNC_FILE_RANGE_WRITE = 2  # <fcntl.h>: start writeback of the dirty pages, do not wait


def _start_writeback(fd: int) -> None:
    """Ask Linux to start writing ``fd``'s data to disk now, without waiting; elsewhere nothing
    (the later fsync then does all of the work). A hint: the fsync that follows reports errors."""
    sync_file_range = _sync_file_range()
    if sync_file_range is not None:
        sync_file_range(fd, 0, 0, _SYNC_FILE_RANGE_WRITE)


@functools.cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    """libc's sync_file_range(2), which Python's os module lacks (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes  # ~2 ms, and only once a batch of files is written

        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (ImportError, OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


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
