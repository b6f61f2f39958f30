"""The frame the member pages live in: ``calroulette serve`` and what it checks before starting,
``[web]`` in members.toml, the signed links emails carry, the rate limiter, the access log that
leaves tokens out, and the error pages (a 404 in the site's look; a crash without a traceback)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from calroulette import service
from calroulette.config import load_community
from calroulette.errors import ConfigError, UsageError
from calroulette.redact import SECRETS
from calroulette.store import open_store
from calroulette.tokens import MIN_KEY_LENGTH, Purpose, TokenError, sign, verify
from calroulette.web.app import _path
from calroulette.web.security import Limit, RateLimiter

from .support import write_demo_config
from .support.web import SECRET_KEY, free_socket, serving

NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
KEY_ENV = "CALROULETTE_SECRET_KEY"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in (KEY_ENV, "CALROULETTE_ADMIN_PASSWORD", "MY_KEY"):
        monkeypatch.delenv(name, raising=False)
    return _with_web(write_demo_config(tmp_path), None)


def _with_web(config: Path, table: str | None) -> Path:
    """members.toml with ``table`` as its ``[web]`` (None: without one)."""
    text = re.sub(r"(?ms)^\[web\][^\n]*\n.*?(?=^\[)", "", config.read_text(encoding="utf-8"))
    assert "[web]" not in text
    config.write_text(("" if table is None else f"[web]\n{table}\n\n") + text, "utf-8")
    return config


# --- the rate limiter -----------------------------------------------------------------------------


def test_a_limit_counts_hits_in_a_sliding_window() -> None:
    limiter = RateLimiter({"x": Limit(2, dt.timedelta(hours=1))})
    assert limiter.allow("x", "1.2.3.4", NOW)
    assert limiter.allow("x", "1.2.3.4", NOW + dt.timedelta(minutes=10))
    assert not limiter.allow("x", "1.2.3.4", NOW + dt.timedelta(minutes=20))
    assert limiter.allow("x", "5.6.7.8", NOW + dt.timedelta(minutes=20))  # per key
    # the first hit leaves the window an hour after it was made; the refused one never counted
    assert limiter.allow("x", "1.2.3.4", NOW + dt.timedelta(hours=1))
    assert not limiter.allow("x", "1.2.3.4", NOW + dt.timedelta(hours=1, minutes=5))
    assert limiter.allow("x", "1.2.3.4", NOW + dt.timedelta(hours=1, minutes=10))


def test_limits_of_different_names_are_counted_apart() -> None:
    limiter = RateLimiter({"a": Limit(1, dt.timedelta(hours=1)), "b": Limit(1, dt.timedelta(1))})
    assert limiter.allow("a", "k", NOW)
    assert limiter.allow("b", "k", NOW)
    assert not limiter.allow("a", "k", NOW)
    assert not limiter.allow("b", "k", NOW)


def test_the_limiter_forgets_the_oldest_keys_beyond_its_bound() -> None:
    """A flood of client addresses cannot grow it without bound: the least recently seen key
    is forgotten (and starts afresh)."""
    limiter = RateLimiter({"x": Limit(1, dt.timedelta(hours=1))}, max_keys=3)
    for n in range(3):
        assert limiter.allow("x", f"10.0.0.{n}", NOW)
    assert not limiter.allow("x", "10.0.0.0", NOW)  # seen again: now the most recent
    for n in range(100):
        limiter.allow("x", f"192.0.2.{n}", NOW)
        assert len(limiter._hits) <= 3
    assert limiter.allow("x", "10.0.0.1", NOW)  # forgotten long ago


def test_the_default_limits_are_named_as_the_routes_use_them() -> None:
    assert set(RateLimiter().limits) >= {
        "signup",
        "preview",
        "link",
        "admin-login",
        "form",
        "signup-email",
        "link-email",
    }


# --- serve: what it needs before it starts --------------------------------------------------------


def test_serve_refuses_without_a_signing_key_in_one_line(config: Path) -> None:
    with pytest.raises(UsageError) as caught:
        service.serve(config)
    message = str(caught.value)
    assert message.startswith(f"serve: {KEY_ENV} is not set")
    assert "secrets.token_urlsafe(32)" in message
    assert "\n" not in message


def test_serve_refuses_a_short_key_and_says_how_long(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "s" * (MIN_KEY_LENGTH - 1))
    with pytest.raises(UsageError) as caught:
        service.serve(config)
    assert f"too short ({MIN_KEY_LENGTH - 1} characters; at least {MIN_KEY_LENGTH}" in str(
        caught.value
    )
    assert "\n" not in str(caught.value)
    monkeypatch.setenv(KEY_ENV, "   ")  # blank is not set
    with pytest.raises(UsageError, match="is not set"):
        service.serve(config)


def test_serve_takes_the_key_and_password_from_the_environment_never_the_file(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET_KEY)
    monkeypatch.setenv("CALROULETTE_ADMIN_PASSWORD", "pass phrase for the organizer")
    settings = service.serve(config, host="127.0.0.1", port=8123)
    assert settings.secret_key == SECRET_KEY
    assert settings.admin_password == "pass phrase for the organizer"
    assert settings.base_url == "http://127.0.0.1:8123"  # no [web] base_url: where it listens
    assert settings.config == config
    # both are secrets from now on: masked wherever a log or an error would show them
    assert SECRET_KEY not in SECRETS.mask(f"key={SECRET_KEY}")
    assert "pass phrase" not in SECRETS.mask("pw=pass phrase for the organizer")
    assert service.serve(config, host="::1", port=9).base_url == "http://[::1]:9"


def test_serve_uses_the_variables_web_names_and_its_base_url(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_web(config, 'base_url = "https://coffee.example.org/"\nsecret_key_env = "MY_KEY"')
    monkeypatch.setenv(KEY_ENV, SECRET_KEY)  # not the one [web] names
    with pytest.raises(UsageError, match=r"^serve: MY_KEY is not set"):
        service.serve(config)
    monkeypatch.setenv("MY_KEY", "m" * 40)
    settings = service.serve(config)
    assert settings.secret_key == "m" * 40
    assert settings.base_url == "https://coffee.example.org"


def _calroulette(*args: str, env: dict[str, str], **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "calroulette", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,  # type: ignore[call-overload]
    )


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in (KEY_ENV, "CALROULETTE_ADMIN_PASSWORD", "CALROULETTE_CONFIG")
    }
    env.update(HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1", **values)
    return env


@pytest.mark.slow
@pytest.mark.parametrize(
    ("key", "said"),
    [(None, f"error: serve: {KEY_ENV} is not set"), ("short", f"error: serve: {KEY_ENV} is too")],
)
def test_the_serve_command_without_a_good_key_exits_2_with_one_line(
    config: Path, tmp_path: Path, key: str | None, said: str
) -> None:
    env = _env(tmp_path, **({KEY_ENV: key} if key else {}))
    process = _calroulette("serve", "--config", str(config), env=env)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2, err
    assert out == ""
    assert err.startswith(said)
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2, err  # one message (rich may wrap it once)


@pytest.fixture
def served(config: Path, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`calroulette serve` for real, on a free loopback port."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = _env(tmp_path, **{KEY_ENV: SECRET_KEY})
    process = _calroulette(
        "serve", "--config", str(config), "--port", str(port), env=env, cwd=tmp_path
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(base + "/", timeout=2)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    pytest.fail("calroulette serve did not start: " + process.communicate()[1])
                time.sleep(0.1)
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=20)


@pytest.mark.slow
def test_the_serve_command_serves_the_home_page_and_logs_no_token(
    served: tuple[str, subprocess.Popen[str]],
) -> None:
    base, process = served
    home = requests.get(base + "/", timeout=10)
    assert home.status_code == 200
    assert "<h1>Data Folk Coffee</h1>" in home.text
    assert "server" not in home.headers  # uvicorn's header is off
    token = sign(SECRET_KEY, Purpose.MANAGE, "ada@example.org", now=dt.datetime.now(dt.UTC))
    for path in (f"/me/{token}", f"/unsubscribe/{token}/confirm", f"/join/confirm/{token}"):
        assert requests.get(base + path, timeout=10).status_code < 500
    process.terminate()
    _, err = process.communicate(timeout=20)
    assert "calroulette: serving Data Folk Coffee at http://127.0.0.1:" in err
    assert token not in err and token[:12] not in err
    logged = [line for line in err.splitlines() if " GET /" in line]  # the access log
    assert any("GET /me/…" in line or "GET /me/\u2026" in line for line in logged), err
    assert any("GET /unsubscribe/…/confirm" in line for line in logged), err
    assert any("GET /join/confirm/…" in line for line in logged), err


@pytest.mark.slow
def test_a_crash_under_serve_is_one_masked_log_line_and_no_traceback(
    config: Path, served: tuple[str, subprocess.Popen[str]]
) -> None:
    """uvicorn logs an exception that reaches it with its traceback, through no secret filter:
    a crash must be answered (and logged, masked) before it gets there."""
    base, process = served
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('timezone = "America/New_York"', 'timezone = "Mars/X"', 1))
    crashed = requests.get(base + "/", timeout=10)
    process.terminate()
    _, err = process.communicate(timeout=20)
    assert crashed.status_code == 500
    assert "x-frame-options" in crashed.headers
    assert "Traceback" not in err, err
    assert "Exception in ASGI application" not in err, err
    assert [line for line in err.splitlines() if "web: GET /:" in line], err


# --- the access log -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/me/abc.DEF-_x", "/me/…"),
        ("/me/abc.def/pause", "/me/…/pause"),
        ("/unsubscribe/abc.def", "/unsubscribe/…"),
        ("/unsubscribe/abc.def/confirm", "/unsubscribe/…/confirm"),
        ("/join/confirm/abc.def", "/join/confirm/…"),
        ("/join", "/join"),
        ("/media/abc", "/media/abc"),
        ("/static/style.css", "/static/style.css"),
        ("/admin/signups/12/approve", "/admin/signups/12/approve"),
    ],
)
def test_the_access_log_leaves_the_token_of_a_signed_link_out(path: str, logged: str) -> None:
    assert _path(path) == logged


@pytest.mark.slow
def test_each_request_is_logged_once_without_its_token(
    config: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="calroulette.web")
    with serving(config, now=NOW) as site:
        token = sign(SECRET_KEY, Purpose.UNSUBSCRIBE, "ada@example.org", now=NOW)
        requests.get(site.url(f"/unsubscribe/{token}"), timeout=10)
        requests.get(site.url("/nowhere"), timeout=10)
    lines = [r.getMessage() for r in caplog.records if r.name == "calroulette.web"]
    assert any(line.startswith("127.0.0.1 GET /unsubscribe/… ") for line in lines), lines
    assert "127.0.0.1 GET /nowhere 404" in lines
    assert not any(token in line for line in lines)


# --- error pages ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_missing_page_is_a_404_in_the_sites_look(config: Path) -> None:
    with serving(config, now=NOW) as site:
        response = requests.get(site.url("/no/such/<page>"), timeout=10)
    assert response.status_code == 404
    assert "<title>Not found · Data Folk Coffee</title>" in response.text
    assert "There is no page at this address." in response.text
    assert "<page>" not in response.text  # the path is not echoed
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.slow
def test_a_crash_shows_a_plain_page_without_a_traceback_and_logs_it(
    config: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """members.toml broken by a hand edit while the site runs: every page fails, none shows
    what failed; the organizer finds it in the log; mended, the site works again."""
    caplog.set_level(logging.INFO, logger="calroulette.web")
    good = config.read_text(encoding="utf-8")
    with serving(config, now=NOW) as site:
        assert requests.get(site.url("/"), timeout=10).status_code == 200
        text = config.read_text(encoding="utf-8")
        config.write_text(
            text.replace('timezone = "America/New_York"', 'timezone = "Mars/Olympus"', 1), "utf-8"
        )
        crashed = requests.get(site.url("/"), timeout=10)
        missing = requests.get(site.url("/nowhere"), timeout=10)
        config.write_text(text, "utf-8")
        mended = requests.get(site.url("/"), timeout=10)
    assert crashed.status_code == 500
    assert "Something went wrong on our side" in crashed.text
    for word in ("Traceback", "ConfigError", "Mars", "members.toml", str(config.parent)):
        assert word not in crashed.text
    assert crashed.headers["content-security-policy"].startswith("default-src 'none'")
    assert missing.status_code == 404  # the error page falls back to a plain one
    assert "Mars" not in missing.text
    assert mended.status_code == 200
    errors = [r for r in caplog.records if r.name == "calroulette.web" and r.levelno >= 40]
    assert errors and "GET /:" in errors[0].getMessage()
    assert good.count("Mars") == 0


# --- [web] in members.toml ------------------------------------------------------------------------


def test_web_defaults_to_approval_and_no_base_url(config: Path) -> None:
    web = load_community(config).web
    assert web.base_url is None
    assert web.signup.value == "approve"
    assert web.secret_key_env == KEY_ENV
    assert web.admin_password_env == "CALROULETTE_ADMIN_PASSWORD"
    assert web.url("/join") is None


@pytest.mark.parametrize(
    ("base_url", "kept"),
    [
        ("https://coffee.example.org", "https://coffee.example.org"),
        ("https://coffee.example.org/", "https://coffee.example.org"),
        ("https://example.org/coffee", "https://example.org/coffee"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://localhost:8000", "http://localhost:8000"),
    ],
)
def test_a_base_url_is_https_or_on_this_machine(config: Path, base_url: str, kept: str) -> None:
    _with_web(config, f'base_url = "{base_url}"\nsignup = "open"')
    web = load_community(config).web
    assert web.base_url == kept
    assert web.signup.value == "open"
    assert web.url("/join") == kept + "/join"


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ('base_url = "http://coffee.example.org"', "must be https"),
        ('base_url = "http://10.0.0.5:8000"', "must be https"),
        ('base_url = "ftp://coffee.example.org"', "is not an address like https://"),
        ('base_url = "coffee.example.org"', "is not an address like https://"),
        ('base_url = "https://coffee.example.org/?a=1"', "no user, query or fragment"),
        ('base_url = "https://u:p@coffee.example.org"', "no user, query or fragment"),
        ('signup = "sometimes"', "open, approve, closed"),
        ("signup = 1", "signup"),
        ('secret_key = "in the file"', "secret_key"),
    ],
)
def test_a_wrong_web_table_is_refused_saying_what_is_wrong(
    config: Path, table: str, said: str
) -> None:
    _with_web(config, table)
    with pytest.raises(ConfigError) as caught:
        load_community(config)
    problems = [str(p) for p in caught.value.problems]
    assert any(said in p and "web" in p for p in problems), problems


@pytest.mark.parametrize("mode", ["open", "approve", "closed", "OPEN"])
def test_each_signup_mode_is_accepted(config: Path, mode: str) -> None:
    _with_web(config, f'signup = "{mode}"')
    assert load_community(config).web.signup.value == mode.lower()


# --- the links every email carries ----------------------------------------------------------------


def test_member_links_are_none_without_a_base_url_or_a_key(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    community = load_community(config)
    monkeypatch.setenv(KEY_ENV, SECRET_KEY)
    with open_store(community.database) as store:
        assert service.web.member_links(community, store, ["ada@example.org"], now=NOW) == {}
    _with_web(config, 'base_url = "https://coffee.example.org"')
    community = load_community(config)
    monkeypatch.delenv(KEY_ENV)
    with open_store(community.database) as store:
        assert service.web.member_links(community, store, ["ada@example.org"], now=NOW) == {}


def test_member_links_are_signed_for_their_purpose_and_the_current_version(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_web(config, 'base_url = "https://coffee.example.org"')
    community = load_community(config)
    monkeypatch.setenv(KEY_ENV, SECRET_KEY)
    with open_store(community.database) as store:
        with store.transaction():
            store.links.bump("grace@example.org", NOW)
        emails = ["ada@example.org", "grace@example.org"]
        links = service.web.member_links(community, store, emails, now=NOW)
        old = links["grace@example.org"]
        with store.transaction():
            assert store.links.bump("grace@example.org", NOW) == 2
        new = service.web.member_links(community, store, emails, now=NOW)["grace@example.org"]
    assert set(links) == set(emails)
    ada = links["ada@example.org"]
    assert ada.manage.startswith("https://coffee.example.org/me/")
    assert ada.unsubscribe.startswith("https://coffee.example.org/unsubscribe/")
    manage = ada.manage.rsplit("/", 1)[1]
    unsubscribe = ada.unsubscribe.rsplit("/", 1)[1]
    assert verify(SECRET_KEY, Purpose.MANAGE, manage, now=NOW, version=0).subject == (
        "ada@example.org"
    )
    assert verify(SECRET_KEY, Purpose.UNSUBSCRIBE, unsubscribe, now=NOW, version=0).subject == (
        "ada@example.org"
    )
    with pytest.raises(TokenError, match="invalid"):
        verify(SECRET_KEY, Purpose.UNSUBSCRIBE, manage, now=NOW)
    grace_old = old.manage.rsplit("/", 1)[1]
    grace_new = new.manage.rsplit("/", 1)[1]
    assert verify(SECRET_KEY, Purpose.MANAGE, grace_new, now=NOW, version=2).version == 2
    with pytest.raises(TokenError, match="expired"):
        verify(SECRET_KEY, Purpose.MANAGE, grace_old, now=NOW, version=2)
