"""The command line as a user runs it: exit codes, stdout for results, stderr for errors."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from calroulette.cli import app

from .conftest import ROOT

runner = CliRunner()


def test_slots_json_for_the_demo_member_lists_utc_intervals(now_env: str) -> None:
    result = runner.invoke(
        app, ["slots", "ada@example.org", "--json", "-c", str(ROOT / "members.toml")]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["member"] == "ada@example.org"
    assert payload["week"] == "2026-W49"
    assert payload["free"][0] == ["2026-12-01T14:00:00Z", "2026-12-01T17:00:00Z"]


def test_invalid_config_exits_2_with_one_line_per_problem(tmp_path: object) -> None:
    from pathlib import Path

    config = Path(str(tmp_path)) / "members.toml"
    config.write_text('[community]\nname = "x"\ntimezon = "Mars/Olympus"\n', encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "calroulette", "slots", "--all", "-c", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "timezon: unknown key (did you mean 'timezone'?)" in proc.stderr
