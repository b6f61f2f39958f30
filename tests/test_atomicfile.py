"""Atomic writes: the old file or the new one, never half, and no temporary file left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from calroulette.atomicfile import write_atomic, write_atomically


def test_write_replaces_the_file_with_private_permissions_by_default(tmp_path: Path) -> None:
    target = tmp_path / "members.toml"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o644)
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o600
    write_atomic(target, b"newer", mode=0o640, durable=True)
    assert (target.read_bytes(), target.stat().st_mode & 0o777) == (b"newer", 0o640)
    assert [p.name for p in tmp_path.iterdir()] == ["members.toml"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary_one(tmp_path: Path) -> None:
    target = tmp_path / "entry.json"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["entry.json"]


def test_rewriting_text_keeps_the_files_permissions_and_a_new_file_gets_the_given_ones(
    tmp_path: Path,
) -> None:
    """members.toml keeps the mode its owner gave it (often 0600: it holds secret addresses);
    a new file, like ``history --ics``'s, gets ``new_mode``."""
    kept = tmp_path / "members.toml"
    kept.write_text("old", encoding="utf-8")
    kept.chmod(0o640)
    write_atomically(kept, "Café\n")
    assert kept.read_text(encoding="utf-8") == "Café\n"
    assert kept.stat().st_mode & 0o777 == 0o640
    new = tmp_path / "history.ics"
    write_atomically(new, "BEGIN:VCALENDAR\n", new_mode=0o644)
    assert new.stat().st_mode & 0o777 == 0o644
    write_atomically(tmp_path / "private.txt", "x")
    assert (tmp_path / "private.txt").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "history.ics",
        "members.toml",
        "private.txt",
    ]
