"""Radicale, a real CalDAV server, on a free loopback port for the duration of a block (any
user name and password is accepted): what a member's calendar app stores and publishes."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from .mail import free_port


@contextmanager
def radicale_server(storage: Path) -> Iterator[str]:
    """Radicale storing into ``storage``; yields its base address."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "radicale",
            "--config=",
            f"--storage-filesystem-folder={storage}",
            "--auth-type=none",
            f"--server-hosts=127.0.0.1:{port}",
            "--logging-level=error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(base + "/.web/", timeout=1)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("Radicale did not start")
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
