"""What every bench script shares: a description of the machine, and its own section of
docs/benchmarks.md, rewritten between markers so that the hand-written analysis around it stays."""

from __future__ import annotations

import os
import platform
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def machine() -> str:
    """``AMD EPYC …, 2 cores, Python 3.11.7, Linux``."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def write_section(begin: str, end: str, heading: str, body: str, doc: Path = DOC) -> None:
    """Replace the text between ``begin`` and ``end`` in ``doc`` with ``body``; append a new
    ``## heading`` section with the markers when they are not there yet."""
    section = f"{begin}\n{body}\n{end}"
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n## {heading}\n\n" + section + "\n"
    doc.write_text(text, encoding="utf-8")
