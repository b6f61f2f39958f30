"""Fixtures every test module may use; shared helpers live in the ``support`` package."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from .support.feeds import RawServer


@pytest.fixture
def now_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """Pin the CLI's clock to a Tuesday before 2026-W49."""
    value = "2026-11-24T12:00:00Z"
    monkeypatch.setenv("CALROULETTE_NOW", value)
    return value


@pytest.fixture(autouse=True)
def _private_cache_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A community without cache_dir caches under $XDG_CACHE_HOME: never the real home's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


@pytest.fixture(autouse=True)
def _no_web_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's shell may hold the signing key or the /admin password: with the key, every
    email would carry signed links, and bytes compared by tests would differ."""
    monkeypatch.delenv("CALROULETTE_SECRET_KEY", raising=False)
    monkeypatch.delenv("CALROULETTE_ADMIN_PASSWORD", raising=False)


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(routes: dict[str, Callable[[BaseHTTPRequestHandler], None]]) -> RawServer:
        servers.append(RawServer(routes))
        return servers[-1]

    yield start
    for server in servers:
        server.close()
