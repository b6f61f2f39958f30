"""The outbox: each message as an .eml file under ``outbox/<week>/``, plus the meeting's .ics.

The file's existence *is* the delivery record: a message is written to a temporary file in the
same folder, flushed to disk, then renamed into place (``os.replace`` is atomic on POSIX), so a
crash leaves either no file or the whole file, and a re-run that finds the file marks the row sent
without writing it again. Exactly once, with no window at all.

A batch (:data:`BATCH` messages) is made durable together rather than file by file
(:class:`calroulette.atomicfile.StagedWrite`): :meth:`Outbox.send` has a few threads write its
files under temporary names and start their writeback without waiting; :meth:`Outbox.flush`
then waits for each file's data to be on disk (the disk has been writing them all meanwhile, so
the waits overlap and the writes merge: half the disk writes of a flush per file, and less
CPU), renames them into place, a meeting's .ics before its .eml, and flushes the folders once;
only then does the dispatcher mark the batch sent. A kill before a rename leaves a temporary
file (removed by a later run) and a pending row, written again; a kill after it, a whole file
and a pending row, which the next run finds and marks without writing; a power cut before the
folders' flush can lose renames, and then the rows are still pending and the files are written
again. A meeting's .ics (the same bytes for every attendee) is written once.

Whether a file exists is read from one listing of the week's folder, taken the first time the
run looks there (only one process sends for a database: :mod:`calroulette.delivery.sender` holds
a lock), rather than asked of the disk once per message: at 10,000 members those 10,000 lookups,
each waiting on the writer threads' hold on the folder, took ~2.5 s of a `send`. The same
listing finds the temporary files of a write killed before its rename, which are removed.

A file's name is its delivery key, readable and unique: ``<meeting>.<recipient>.<kind>-<n>.eml``.
A part with characters a file name cannot hold safely (``o'neil@``, ``zoë@``), or too long for
one, is kept readable with those characters replaced and made unique by a hash of the whole
part (``o_neil@x.org~3f…``): two recipients whose names differed only there once shared one
file, and one of their two notes was marked sent without ever being written.

The files hold names, emails and meeting links: each is 0600, in folders made 0700.
"""

from __future__ import annotations

import hashlib
import re
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from calroulette.atomicfile import StagedWrite, flush_folder, stage_write
from calroulette.store import DeliveryRow

from .transport import SendError


def _part(text: str, *, dots: bool = True) -> str:
    """``text`` as part of a file name: itself when every character is safe (and, without
    ``dots``, none is a dot, so that the first dot of a name ends this part); else the safe
    characters with a hash of the whole of ``text``, so that no other text gives the same part.
    """
    unsafe = _UNSAFE_DOTS if dots else _UNSAFE
    if text and not unsafe.search(text) and len(text) <= _LONGEST and text[0] != ".":
        return text
    shown = unsafe.sub("_", text).strip("._")[:_LONGEST] or "x"
    # "~" is not a safe character, so a part with a hash never equals a part without one
    return f"{shown}~{hashlib.sha256(text.encode()).hexdigest()[:16]}"


_UNSAFE_DOTS = re.compile(r"[^A-Za-z0-9._@+-]")
_UNSAFE = re.compile(r"[^A-Za-z0-9_@+-]")
_LONGEST = 100  # a name must stay under the 255 bytes file systems allow


BATCH = 256
WRITERS = 8  # threads writing files at once
STRAY_AFTER = 3600.0  # seconds: a temporary file this old is left by a killed write


class Outbox:
    name = "outbox"
    rate_limited = False  # files on a local disk: no relay to keep happy
    batch = BATCH

    def __init__(self, root: Path) -> None:
        self.root = root
        self._unsynced: set[Path] = set()  # folders with renames not yet flushed
        self._pool: ThreadPoolExecutor | None = None
        self._writing: list[Future[list[StagedWrite]]] = []  # this batch's files
        self._listed: dict[Path, set[str]] = {}  # folder → names there or being written
        self._ours: set[Path] = set()  # the .ics files this run writes

    def eml_path(self, row: DeliveryRow) -> Path:
        k = row.key
        name = f"{_part(k.meeting_uid, dots=False)}.{_part(k.recipient)}.{k.kind}-{k.sequence}"
        return self.root / _part(str(row.week)) / f"{name}.eml"

    def ics_path(self, row: DeliveryRow) -> Path:
        k = row.key
        name = f"{_part(k.meeting_uid, dots=False)}.{k.kind}-{k.sequence}"
        return self.root / _part(str(row.week)) / f"{name}.ics"

    def already_delivered(self, row: DeliveryRow) -> bool:
        path = self.eml_path(row)
        return path.name in self._names(path.parent)

    def send(self, row: DeliveryRow) -> None:
        """Start writing ``row``'s files; :meth:`flush` reports whether they were written."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(WRITERS, thread_name_prefix="outbox")
        eml, ics = self.eml_path(row), self.ics_path(row)
        names = self._names(eml.parent)
        if eml.parent not in self._unsynced:
            self._mkdir(eml.parent)
        # A meeting's .ics is written by this run once; one already there (from a run that
        # died) is compared byte for byte before it is kept.
        ics_data = row.ics if ics not in self._ours else None
        compare = ics_data is not None and ics.name in names
        if ics_data is not None:
            self._ours.add(ics)
            names.add(ics.name)
        names.add(eml.name)
        self._writing.append(self._pool.submit(self._write_row, row, ics_data, compare))

    def flush(self) -> None:
        """Make the batch's files durable, then put them in place: every file's data on disk,
        then the renames, in the order sent, then one flush of each folder."""
        writing, self._writing = self._writing, []
        staged, error = _collect(writing)
        try:
            if error is not None:
                raise error
            for file in staged:
                file.sync()
            for file in staged:
                file.commit()
            for folder in sorted(self._unsynced):
                flush_folder(folder)
        except OSError as exc:  # full disk, permissions, a file in the way: fix it, run again
            raise _down(self.root, exc) from None
        finally:
            for file in staged:
                file.discard()  # those not renamed (an error): nothing of them stays
        self._unsynced.clear()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        writing, self._writing = self._writing, []
        for file in _collect(writing)[0]:  # sent but never flushed: not delivered
            file.discard()

    def _mkdir(self, folder: Path) -> None:
        try:
            folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            folder.mkdir(exist_ok=True, mode=0o700)
        except OSError as exc:
            raise _down(self.root, exc) from None
        self._unsynced |= {folder, folder.parent}  # the week's folder may be new

    def _names(self, folder: Path) -> set[str]:
        """The names in ``folder`` (listed once), after removing stray temporary files."""
        names = self._listed.get(folder)
        if names is None:
            try:
                names = {path.name for path in folder.iterdir()}
            except OSError:  # not there yet; or unreadable, and writing there will say why
                names = set()
            names -= _remove_strays(folder, names)
            self._listed[folder] = names
        return names

    def _write_row(
        self, row: DeliveryRow, ics_data: bytes | None, compare: bool
    ) -> list[StagedWrite]:
        """``row``'s .eml, after its .ics when ``ics_data`` (kept if ``compare`` finds it there),
        staged: written, not yet durable nor in place."""
        ics = self.ics_path(row)
        staged = []
        try:
            if ics_data is not None and not (compare and _holds(ics, ics_data)):
                staged.append(stage_write(ics, ics_data))
            staged.append(stage_write(self.eml_path(row), row.payload))
        except BaseException:
            for file in staged:
                file.discard()
            raise
        return staged


def _collect(
    writing: list[Future[list[StagedWrite]]],
) -> tuple[list[StagedWrite], Exception | None]:
    """Every file the writers staged, in the order sent, once all of them have finished, and the
    first error one of them met (the others' files are still collected, to be discarded)."""
    staged: list[StagedWrite] = []
    error: Exception | None = None
    for future in writing:
        if future.cancelled():
            continue
        try:
            staged += future.result()
        except Exception as exc:  # noqa: BLE001 - raised by the caller, after the others finish
            error = error or exc
    return staged, error


def _down(root: Path, exc: OSError) -> SendError:
    return SendError(
        f"outbox: cannot write in {root}: {exc.strerror or type(exc).__name__}",
        transient=True,
        down=True,
        retry_after=0.0,  # a local disk: waiting between tries changes nothing
    )


def _remove_strays(folder: Path, names: set[str]) -> set[str]:
    """Remove the temporary files (``.<name>.<random>.tmp``, see :func:`write_atomic`) of writes
    killed before their rename, once they are :data:`STRAY_AFTER` old; the names removed."""
    removed = set()
    cutoff = time.time() - STRAY_AFTER
    for name in names:
        if not (name.startswith(".") and name.endswith(".tmp")):
            continue
        path = folder / name
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed.add(name)
        except OSError:  # gone already, or not ours to remove: harmless either way
            continue
    return removed


def _holds(path: Path, data: bytes) -> bool:
    """True when ``path`` already holds ``data`` (another attendee's message wrote it)."""
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False
