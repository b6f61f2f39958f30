"""Mozilla's ical.js, run by Node.js from tests/js (installed there by ``npm ci`` once)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from . import ROOT

JS = ROOT / "tests" / "js"


def ical_js_node() -> Path:
    """The ``node`` to run tests/js with, ical.js installed; skips the test without Node.js."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run Mozilla's ical.js (install Node.js)")
    if not (JS / "node_modules" / "ical.js" / "package.json").exists():
        subprocess.run(
            [npm, "ci", "--prefix", str(JS), "--no-audit", "--no-fund"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return Path(node)
