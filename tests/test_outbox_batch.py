"""The outbox's batched durability: a batch's files are written under temporary names, every
file's data is flushed to disk, then they are renamed into place (a meeting's .ics before its
.eml), then the folder is flushed once, and only then does the ledger mark the batch sent. A
failure at any step leaves the batch's rows pending, no temporary file and no open descriptor;
files already in place are recognised by the next run and not written again. (The same steps
under SIGKILL, in a real `send`: tests/test_crash.py.)"""

from __future__ import annotations

import datetime as dt
import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from calroulette import atomicfile
from calroulette.atomicfile import StagedWrite, stage_write
from calroulette.delivery import Report, SendError, outbox
from calroulette.delivery.dispatch import drain_rows
from calroulette.delivery.outbox import Outbox
from calroulette.invites import Channel, DeliveryKey
from calroulette.invites.keys import Kind
from calroulette.store import DeliveryRow, DeliveryStatus
from calroulette.timeutil import IsoWeek

WEEK = IsoWeek(2026, 49)
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def rows(count: int) -> list[DeliveryRow]:
    """``count`` pending deliveries, two a meeting, each meeting with its own .ics."""
    made = []
    for i in range(count):
        meeting = i // 2
        key = DeliveryKey(
            f"m{meeting:04d}@test", f"member{i:04d}@example.org", Channel.EMAIL, Kind.REQUEST, 0
        )
        ics = b"BEGIN:VCALENDAR\r\nUID:m%d\r\nEND:VCALENDAR\r\n" % meeting
        payload = b"To: member%d\r\n\r\n" % i + b"x" * 3000
        made.append(
            DeliveryRow(key, WEEK, f"<{i}@test>", payload, ics, DeliveryStatus.PENDING, 0, None)
        )
    return made


class Ledger:
    """What drain_rows asks of the ledger, recording when the rows are marked."""

    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.sent: list[DeliveryKey] = []

    def mark_sent(self, keys: list[DeliveryKey], now: dt.datetime) -> None:
        self.events.append(f"mark {len(keys)}")
        self.sent += keys

    def mark_failed(self, key: DeliveryKey, message: str) -> None:
        raise AssertionError(message)

    def note_attempt(self, key: DeliveryKey, message: str, retry_at: dt.datetime | None) -> None:
        raise AssertionError(message)


def drain(box: Outbox, todo: list[DeliveryRow], ledger: Ledger) -> Report:
    return drain_rows(ledger, box, todo, now=NOW)  # type: ignore[arg-type]


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every flush of a file, rename and flush of a folder, in order."""
    seen: list[str] = []
    sync, commit, flush_folder = StagedWrite.sync, StagedWrite.commit, atomicfile.flush_folder

    def on_sync(self: StagedWrite) -> None:
        sync(self)
        seen.append(f"sync {self.path.name}")

    def on_commit(self: StagedWrite) -> None:
        commit(self)
        seen.append(f"rename {self.path.name}")

    def on_flush_folder(folder: Path) -> None:
        flush_folder(folder)
        seen.append(f"folder {folder.name}")

    monkeypatch.setattr(StagedWrite, "sync", on_sync)
    monkeypatch.setattr(StagedWrite, "commit", on_commit)
    monkeypatch.setattr(outbox, "flush_folder", on_flush_folder)
    yield seen


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def folder_of(root: Path) -> Path:
    return root / str(WEEK)


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts /proc/self/fd")
def test_a_batch_is_flushed_whole_then_renamed_then_marked(
    tmp_path: Path, events: list[str]
) -> None:
    todo = rows(10)
    box = Outbox(tmp_path)
    box.batch = 4
    report = drain(box, todo, Ledger(events))
    assert len(report.sent) == 10 and report.exit_code == 0

    # three batches (4, 4, 2 messages): each one's files all flushed, then all renamed in the
    # order sent with a meeting's .ics before its .eml, then the folders, then the mark
    batches: list[list[str]] = [[]]
    for event in events:
        batches[-1].append(event)
        if event.startswith("mark"):
            batches.append([])
    assert batches.pop() == []
    assert [b[-1] for b in batches] == ["mark 4", "mark 4", "mark 2"]
    for number, batch in enumerate(batches):
        names = []
        for row in todo[4 * number : 4 * number + 4]:
            if row.key.recipient.endswith(
                (
                    "0@example.org",
                    "2@example.org",
                    "4@example.org",
                    "6@example.org",
                    "8@example.org",
                )
            ):
                names.append(box.ics_path(row).name)
            names.append(box.eml_path(row).name)
        kinds = [event.split()[0] for event in batch]
        assert kinds == ["sync"] * len(names) + ["rename"] * len(names) + ["folder"] * 2 + ["mark"]
        assert [e.split()[1] for e in batch if e.startswith("rename")] == names
        assert sorted(e.split()[1] for e in batch if e.startswith("sync")) == sorted(names)
        assert batch[-3:-1] == [f"folder {tmp_path.name}", f"folder {WEEK}"]

    folder = folder_of(tmp_path)
    assert sorted(p.read_bytes() for p in folder.glob("*.eml")) == sorted(r.payload for r in todo)
    assert len(list(folder.glob("*.ics"))) == 5
    assert not list(folder.glob(".*"))
    assert {p.stat().st_mode & 0o777 for p in folder.iterdir()} == {0o600}


def test_no_file_is_in_place_or_flushed_before_the_batch_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sending writes only temporary files and waits on no disk flush; :meth:`Outbox.flush`
    makes them durable (one fsync a file, one a folder) and puts them in place."""
    fsyncs: list[int] = []
    fsync = os.fsync

    def counting(fd: int) -> None:
        fsyncs.append(fd)
        fsync(fd)

    monkeypatch.setattr(os, "fsync", counting)
    todo = rows(6)
    box = Outbox(tmp_path)
    try:
        for row in todo:
            box.send(row)
        for future in box._writing:  # let the writers finish: still nothing in place
            future.result()
        folder = folder_of(tmp_path)
        assert not list(folder.glob("*.eml")) and not list(folder.glob("*.ics"))
        assert len(list(folder.glob(".*.tmp"))) == 9
        assert fsyncs == []
        box.flush()
    finally:
        box.close()
    assert len(fsyncs) == 9 + 2  # nine files, the week's folder and the outbox
    assert len(list(folder.glob("*.eml"))) == 6 and not list(folder.glob(".*"))


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts /proc/self/fd")
@pytest.mark.parametrize("failing", [1, 5, 9])
def test_a_failed_flush_keeps_nothing_of_the_batch_and_the_rerun_writes_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: int
) -> None:
    """The disk fails while the batch is flushed (the ``failing``-th file): no file of it is in
    place, no temporary file or descriptor stays, the rows are pending; the next run writes
    each message once."""
    todo = rows(6)
    calls = {"n": 0}
    sync = StagedWrite.sync

    def failing_sync(self: StagedWrite) -> None:
        calls["n"] += 1
        if calls["n"] == failing:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        sync(self)

    descriptors = open_descriptors()
    with monkeypatch.context() as patch:
        patch.setattr(StagedWrite, "sync", failing_sync)
        ledger = Ledger([])
        report = drain(Outbox(tmp_path), todo, ledger)
    assert report.stopped is not None and "Input/output error" in report.stopped
    assert ledger.sent == [] and len(report.pending) == 6
    folder = folder_of(tmp_path)
    assert list(folder.iterdir()) == []
    assert open_descriptors() == descriptors

    report = drain(Outbox(tmp_path), todo, ledger)
    assert len(report.sent) == 6 and report.already == [] and len(ledger.sent) == 6
    assert sorted(p.read_bytes() for p in folder.glob("*.eml")) == sorted(r.payload for r in todo)
    assert len(list(folder.iterdir())) == 9


def test_a_rename_that_fails_keeps_the_renamed_files_and_the_rerun_counts_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The third rename fails: the files renamed before it stay (whole: each was on disk before
    its rename) and the rows stay pending; the others are removed. The next run counts the
    files in place as delivered and writes only the rest."""
    todo = rows(6)
    calls = {"n": 0}
    commit = StagedWrite.commit

    def failing_commit(self: StagedWrite) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # ics 0, eml 0, eml 1 <- here
            raise OSError(errno.EISDIR, os.strerror(errno.EISDIR))
        commit(self)

    with monkeypatch.context() as patch:
        patch.setattr(StagedWrite, "commit", failing_commit)
        ledger = Ledger([])
        report = drain(Outbox(tmp_path), todo, ledger)
    assert report.stopped is not None and ledger.sent == []
    folder = folder_of(tmp_path)
    in_place = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.eml")}
    assert sorted(in_place) == [Outbox(tmp_path).eml_path(todo[0]).name]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*in_place, Outbox(tmp_path).ics_path(todo[0]).name]
    )

    report = drain(Outbox(tmp_path), todo, ledger)
    assert [k.recipient for k in report.already] == [todo[0].key.recipient]
    assert [k.recipient for k in report.sent] == [r.key.recipient for r in todo[1:]]
    assert sorted(ledger.sent, key=str) == sorted((r.key for r in todo), key=str)
    for name, stamp in in_place.items():
        assert (folder / name).stat().st_mtime_ns == stamp  # not written again
    assert sorted(p.read_bytes() for p in folder.glob("*.eml")) == sorted(r.payload for r in todo)
    assert len(list(folder.iterdir())) == 9


def test_files_in_place_with_pending_rows_are_not_written_again(
    tmp_path: Path, events: list[str]
) -> None:
    """A run killed between its flush and the ledger's mark: its files are in place, its rows
    pending. The next run finds every one of them and writes nothing."""
    todo = rows(8)
    box = Outbox(tmp_path)
    for row in todo:
        box.send(row)
    box.flush()
    box.close()  # and the ledger was never told
    written = {p.name: p.stat().st_mtime_ns for p in folder_of(tmp_path).iterdir()}
    events.clear()

    ledger = Ledger(events)
    report = drain(Outbox(tmp_path), todo, ledger)
    assert report.sent == [] and len(report.already) == 8 and len(ledger.sent) == 8
    assert not [e for e in events if e.startswith(("sync", "rename"))]
    assert {p.name: p.stat().st_mtime_ns for p in folder_of(tmp_path).iterdir()} == written


def test_closing_without_a_flush_leaves_nothing(tmp_path: Path) -> None:
    """A run that stops between sending and flushing (an error elsewhere): the staged files are
    not delivered, so none stays, not even as a temporary file."""
    box = Outbox(tmp_path)
    for row in rows(5):
        box.send(row)
    box.close()
    assert list(folder_of(tmp_path).iterdir()) == []


def test_a_staged_write_is_a_temporary_file_until_committed(tmp_path: Path) -> None:
    target = tmp_path / "message.eml"
    staged = stage_write(target, b"hello")
    assert not target.exists() and staged.tmp.read_bytes() == b"hello"
    assert staged.tmp.parent == tmp_path and staged.tmp.name.startswith(".message.eml.")
    staged.sync()
    staged.commit()
    assert target.read_bytes() == b"hello" and not staged.tmp.exists()
    assert target.stat().st_mode & 0o777 == 0o600
    staged.discard()  # committed: nothing to do
    assert target.read_bytes() == b"hello"
    with pytest.raises(ValueError, match="committed or discarded"):
        staged.commit()

    dropped = stage_write(tmp_path / "other.eml", b"bye")
    dropped.discard()
    assert not dropped.tmp.exists() and not (tmp_path / "other.eml").exists()
    with pytest.raises(ValueError, match="committed or discarded"):
        dropped.sync()


def test_writeback_starts_at_once_on_linux() -> None:
    """sync_file_range(2) is found on Linux (elsewhere the fsync alone does the work)."""
    found = atomicfile._sync_file_range()
    if os.uname().sysname == "Linux":
        assert found is not None
    else:
        assert found is None


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts /proc/self/fd")
def test_a_full_disk_while_writing_is_the_outbox_down_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer meets a full disk: the flush reports the transport down (retried with no wait)
    once every writer has finished, and nothing of the batch stays."""
    calls = {"n": 0}

    def full(path: Path, data: bytes) -> StagedWrite:
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return stage_write(path, data)

    monkeypatch.setattr(outbox, "stage_write", full)
    descriptors = open_descriptors()
    box = Outbox(tmp_path)
    for row in rows(6):
        box.send(row)
    with pytest.raises(SendError) as caught:
        box.flush()
    box.close()
    error = caught.value
    assert error.down and error.transient and error.retry_after == 0.0
    assert "No space left on device" in error.message
    assert list(folder_of(tmp_path).iterdir()) == []
    assert open_descriptors() == descriptors
