"""Acceptance checks of the CLI's failure paths: one clear line, the documented exit code,
nothing written, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from calroulette.cli import app

runner = CliRunner()

COMMUNITY_ONLY = """
[community]
name = "Data Folk Coffee"
organizer = "Data Folk Coffee <coffee@example.org>"
timezone = "America/New_York"
database = "calroulette.sqlite"
"""


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("name", ["nope.toml", "elsewhere/members.toml"])
def test_a_missing_config_file_is_named_in_the_first_line(
    tmp_path: Path, now_env: str, name: str
) -> None:
    config = tmp_path / name
    code, _, err = cli("match", "-c", str(config))
    assert code == 2
    assert err.splitlines()[0] == f"error: {config}: invalid configuration"


def test_invalid_toml_is_named_in_the_first_line(tmp_path: Path, now_env: str) -> None:
    config = tmp_path / "club.toml"
    config.write_text("x = [\n", encoding="utf-8")
    code, _, err = cli("slots", "--all", "-c", str(config))
    assert code == 2
    lines = err.splitlines()
    assert lines[0] == f"error: {config}: invalid configuration"
    assert lines[1].startswith(f"  config: {config}: not valid TOML")
