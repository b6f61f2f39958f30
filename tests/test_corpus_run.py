"""Every calendar we have, and a damaged copy of each, in one community with two healthy members:
`check` and `match --dry-run` finish with one row per member and no traceback, and the healthy
members' answers are exactly what they are without the others (issue 15: a broken, quirky or
hostile feed costs at most its own member)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import tomlkit
from typer.testing import CliRunner

from calroulette.cli import app

from .support import CALENDARS, SHARED_CALENDARS
from .support.feeds import ICS

pytestmark = pytest.mark.slow  # ~150 calendars read in worker processes

WEEK = "2026-W49"
runner = CliRunner()


def damaged(body: bytes, rng: random.Random) -> bytes:
    """One seeded blow to a feed: a line dropped, doubled or cut, or the body truncated."""
    lines = body.splitlines(keepends=True)
    if len(lines) < 3:
        return body[: len(body) // 2]
    i = rng.randrange(1, len(lines) - 1)
    blow = rng.choice(["drop", "double", "cut", "truncate"])
    if blow == "drop":
        del lines[i]
    elif blow == "double":
        lines.insert(i, lines[i])
    elif blow == "cut":
        lines[i] = lines[i][: max(1, len(lines[i]) // 2)] + b"\r\n"
    else:
        lines = lines[:i]
    return b"".join(lines)


def write_config(folder: Path, calendars: dict[str, Path]) -> Path:
    doc = {
        "community": {
            "name": "Corpus Coffee",
            "organizer": "Corpus Coffee <coffee@example.org>",
            "timezone": "UTC",
            "database": "history.sqlite",
            "cache_dir": "cache",
            "fetch_timeout": 30,
        },
        "members": [
            {"name": name, "email": f"{name}@example.org", "calendar": str(path), "timezone": "UTC"}
            for name, path in calendars.items()
        ],
    }
    path = folder / "members.toml"
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return path


def check(config: Path) -> tuple[int, dict[str, dict[str, object]]]:
    result = runner.invoke(app, ["check", "--json", "--week", WEEK, "-c", str(config)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stdout + result.stderr
    rows = {row["member"]: row for row in json.loads(result.stdout)["members"]}
    return result.exit_code, rows


def test_every_calendar_and_a_damaged_copy_cost_only_their_own_member(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALROULETTE_NOW", "2026-11-24T12:00:00Z")
    healthy = tmp_path / "healthy.ics"
    healthy.write_bytes(ICS)
    pair = {"ada": healthy, "bob": healthy}
    alone = tmp_path / "alone"
    alone.mkdir()
    _, expected = check(write_config(alone, pair))

    corpus = sorted(CALENDARS.glob("*.ics"))
    if SHARED_CALENDARS.exists():
        corpus += sorted(SHARED_CALENDARS.rglob("*.ics"))
    assert len(corpus) >= 40
    rng = random.Random(20261124)
    copies = tmp_path / "damaged"
    copies.mkdir()
    calendars = dict(pair)
    for i, path in enumerate(corpus):
        calendars[f"c{i:03d}"] = path
        broken = copies / f"{i:03d}.ics"
        broken.write_bytes(damaged(path.read_bytes(), rng))
        calendars[f"d{i:03d}"] = broken
    together = tmp_path / "together"
    together.mkdir()
    config = write_config(together, calendars)

    code, rows = check(config)
    assert code in (0, 1)
    assert set(rows) == {f"{name}@example.org" for name in calendars}  # one row each
    for who in ("ada@example.org", "bob@example.org"):
        assert rows[who] == expected[who]  # the healthy answers, unchanged
    for row in rows.values():
        assert "\n" not in str(row["message"])

    result = runner.invoke(app, ["match", "--dry-run", "--json", "--week", WEEK, "-c", str(config)])
    assert result.exit_code == 0, result.stderr
    planned = json.loads(result.stdout)
    named = {m for meeting in planned["meetings"] for m in meeting["members"]}
    named |= {u["member"] for u in planned["unmatched"]}
    assert named == {f"{name}@example.org" for name in calendars}  # everyone has an outcome
