"""The smaller defects an attack on config, files and outputs found (issue 16), each through the
real commands: a symlinked members.toml, a history database that is empty, read-only or on a full
disk, outbox file names, secret calendar addresses, SMTP without TLS, and config edge cases."""

from __future__ import annotations

import ipaddress
import json
import os
import select
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner, Result

from calroulette import timeutil
from calroulette.cli import app
from calroulette.store import DeliveryStatus, open_store
from calroulette.timeutil import IsoWeek

from .support import ROOT, demo_config_text, write_demo_config
from .support.calendars import FREE_TUESDAYS, MARKER, ONLY_MEETINGS
from .support.mail import PASSWORD, USER, free_port

runner = CliRunner()
W49 = IsoWeek(2026, 49)


def cli(*args: str | Path, stdin: str | None = None) -> Result:
    return runner.invoke(app, [str(a) for a in args], input=stdin)


def emls(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.eml"))


def club(tmp_path: Path, people: list[tuple[str, str, bytes]]) -> Path:
    """A members.toml in tmp_path whose members' calendars are files with the given bodies."""
    text = (
        "[community]\n"
        'name = "Test Coffee"\n'
        'organizer = "Test Coffee <coffee@example.org>"\n'
        'timezone = "Europe/Berlin"\n'
        'cache_dir = ".cache"\n'
    )
    for index, (name, email, body) in enumerate(people):
        (tmp_path / f"cal{index}.ics").write_bytes(body)
        text += (
            f'\n[[members]]\nname = "{name}"\nemail = "{email}"\n'
            f'calendar = "cal{index}.ics"\ntimezone = "Europe/Berlin"\n'
        )
    config = tmp_path / "members.toml"
    config.write_text(text, encoding="utf-8")
    return config


def calroulette(*args: str | Path, limit_file_size: int | None = None) -> list[str]:
    """The command line of calroulette in a fresh interpreter; with ``limit_file_size``, no file
    can grow past that many bytes (RLIMIT_FSIZE; Python ignores SIGXFSZ, so a write past it
    fails with EFBIG, as on a full disk)."""
    code = "from calroulette.cli import main; main()"
    if limit_file_size is not None:
        limit = f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit_file_size},) * 2)"
        code = f"import resource; {limit}; {code}"
    return [sys.executable, "-c", code, *map(str, args)]


# --- members.toml through a symbolic link ---------------------------------------------------


@pytest.mark.slow
def test_members_add_through_a_symlink_writes_its_target_and_the_history_stays(
    tmp_path: Path, now_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`members add` replaced the link with a file; relative paths then resolved beside the link,
    and `run` opened a new, empty database and sent the week again."""
    real = tmp_path / "club"
    real.mkdir()
    config = write_demo_config(real)  # the database and the outbox are relative to it
    elsewhere = tmp_path / "cron"
    elsewhere.mkdir()
    link = elsewhere / "members.toml"
    link.symlink_to(config)
    assert cli("match", "-c", link).exit_code == 0
    (real / "calendars").mkdir()
    (real / "calendars" / "new.ics").write_bytes(FREE_TUESDAYS)

    monkeypatch.chdir(tmp_path)
    args = ["--name", "Noor", "--email", "noor@example.org", "--timezone", "Europe/Berlin"]
    added = cli("members", "add", "-c", link, *args, "--calendar", "club/calendars/new.ics")

    assert added.exit_code == 0, added.output
    assert link.is_symlink() and link.resolve() == config
    # written relative to the file the link points to, which is how loading reads it
    assert 'calendar = "calendars/new.ics"' in config.read_text(encoding="utf-8")
    listed = cli("members", "list", "--json", "-c", link)
    assert any(m["email"] == "noor@example.org" for m in json.loads(listed.stdout)["members"])
    sent = cli(
        "run", "--week", "2026-W49", "-c", link
    )  # sends the round planned before the edit, from its history
    assert sent.exit_code == 0, sent.output
    assert len(emls(real / "outbox" / "2026-W49")) == 8
    assert sorted(p.name for p in elsewhere.iterdir()) == ["members.toml"]
    again = cli("run", "--week", "2026-W49", "-c", link)
    assert again.exit_code == 0 and "nothing new to send" in again.stderr
    assert len(emls(real / "outbox" / "2026-W49")) == 8


# --- the history database: empty, not one, read-only, full disk ---------------------------------


def _other_programs_database(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda p: p.write_bytes(b""), "the file is empty"),
        (lambda p: p.write_bytes(b"BEGIN:VCALENDAR\r\n" * 300), "file is not a database"),
        (_other_programs_database, "it is another program's database"),
    ],
    ids=["empty", "not-sqlite", "another-database"],
)
def test_a_database_file_that_holds_no_history_is_refused_and_never_written_over(
    tmp_path: Path, now_env: str, make: Any, why: str
) -> None:
    """A 0-byte database gave a traceback, then `send` silently made a new history in it and
    the week went out twice."""
    config = write_demo_config(tmp_path)
    database = tmp_path / "calroulette.sqlite"
    make(database)
    before = database.read_bytes()
    for command in (["run"], ["match"], ["send"], ["match", "--dry-run"], ["history"]):
        result = cli(*command, "-c", config)
        assert result.exit_code == 1, (command, result.output)
        assert result.stderr.splitlines() == [
            f"error: history: {database}: cannot use the database ({why}); calroulette will not "
            "write over it: restore it from a backup, or move it away to start a new history "
            "(in which a week already sent may be sent again)"
        ], command
    assert database.read_bytes() == before
    assert not (tmp_path / "outbox").exists()
    database.rename(tmp_path / "moved-away.sqlite")  # what the message says to do
    assert cli("run", "--week", "2026-W49", "-c", config).exit_code == 0
    assert len(emls(tmp_path / "outbox" / "2026-W49")) == 8


def _without_file_permission_override() -> list[str]:
    """A prefix that makes a 0400 file read-only to the command even for root (which may write
    any file): root without CAP_DAC_OVERRIDE."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("root without setpriv: a read-only file cannot be made read-only to root")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]


@pytest.mark.slow
def test_a_read_only_database_ends_in_one_line_and_nothing_is_half_written(
    tmp_path: Path, now_env: str
) -> None:
    config = write_demo_config(tmp_path)
    assert cli("match", "-c", config).exit_code == 0
    database = tmp_path / "calroulette.sqlite"
    database.chmod(0o400)

    command = [*_without_file_permission_override(), *calroulette("send", "-c", config)]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)

    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines() == [
        f"error: history: {database}: cannot write it (attempt to write a readonly database); "
        "nothing was half-written: make the file and its folder writable for this user, then "
        "run the same command again"
    ]
    database.chmod(0o600)
    with open_store(database, readonly=True) as store:
        assert store.deliveries.rows(week=W49) == []
    assert not (tmp_path / "outbox").exists()
    assert cli("send", "-c", config).exit_code == 0
    assert len(emls(tmp_path / "outbox" / "2026-W49")) == 8


@pytest.mark.slow
def test_a_full_disk_while_recording_ends_in_one_line_and_the_next_send_sends_each_once(
    tmp_path: Path, now_env: str
) -> None:
    """Recording a round's messages needs more than 40,000 bytes of write-ahead log; the
    database (~100 kB) is only read."""
    config = write_demo_config(tmp_path)
    assert cli("match", "-c", config).exit_code == 0
    database = tmp_path / "calroulette.sqlite"

    command = calroulette("send", "-c", config, limit_file_size=40_000)
    proc = subprocess.run(command, capture_output=True, text=True, check=False)

    assert proc.returncode == 1, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"error: history: {database}: cannot write it: ")
    assert line.endswith("free some space, then run the same command again")
    with open_store(database, readonly=True) as store:
        assert store.deliveries.rows(week=W49) == []
    assert cli("send", "-c", config).exit_code == 0
    folder = tmp_path / "outbox" / "2026-W49"
    assert len(emls(folder)) == 8
    with open_store(database, readonly=True) as store:
        rows = store.deliveries.rows(week=W49)
    assert len(rows) == 8 and {r.status for r in rows} == {DeliveryStatus.SENT}
    assert cli("send", "-c", config).exit_code == 0
    assert len(emls(folder)) == 8


@pytest.mark.slow
def test_a_full_disk_while_creating_the_database_leaves_no_database_behind(
    tmp_path: Path, now_env: str
) -> None:
    """A new database is built whole beside its place and then linked in: a failure halfway
    leaves nothing at `database` that a later command would refuse as not a history."""
    config = write_demo_config(tmp_path)
    command = calroulette("match", "-c", config, limit_file_size=40_000)
    proc = subprocess.run(command, capture_output=True, text=True, check=False)

    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith(
        f"error: history: {tmp_path / 'calroulette.sqlite'}: cannot use the database ("
    )
    assert not [p.name for p in tmp_path.iterdir() if "sqlite" in p.name]
    assert cli("match", "-c", config).exit_code == 0


def test_the_database_and_the_outbox_are_private(tmp_path: Path, now_env: str) -> None:
    """0600 files (the database's -wal and -shm too) in folders calroulette makes 0700."""
    text = write_demo_config(tmp_path).read_text(encoding="utf-8")
    config = write_demo_config(
        tmp_path, text.replace('database = "calroulette.sqlite"', 'database = "data/h.sqlite"')
    )
    old = os.umask(0o022)
    try:
        assert cli("run", "--week", "2026-W49", "-c", config).exit_code == 0
    finally:
        os.umask(old)

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    database = tmp_path / "data" / "h.sqlite"
    assert (mode(tmp_path / "data"), mode(database)) == (0o700, 0o600)
    with open_store(database) as store, store.transaction():  # the WAL files exist while open
        assert mode(Path(f"{database}-wal")) == mode(Path(f"{database}-shm")) == 0o600
    folder = tmp_path / "outbox" / "2026-W49"
    assert (mode(tmp_path / "outbox"), mode(folder)) == (0o700, 0o700)
    files = list(folder.iterdir())
    assert len(files) == 12 and {mode(f) for f in files} == {0o600}


# --- outbox file names ----------------------------------------------------------------------


def test_recipients_that_differ_only_in_characters_a_file_name_drops_get_a_file_each(
    tmp_path: Path, now_env: str
) -> None:
    """o'neil@ and o&neil@ (zoë@ and zoé@) were one file: both notes were marked sent and one
    was never written."""
    people = ["o'neil@example.org", "o&neil@example.org", "zoë@example.org", "zoé@example.org"]
    config = club(tmp_path, [(f"Person {i}", e, ONLY_MEETINGS) for i, e in enumerate(people)])

    result = cli("run", "-c", config)

    assert result.exit_code == 0, result.output
    notes = emls(tmp_path / "outbox" / "2026-W49")
    assert len(notes) == 4
    recipients = [
        line.split(":", 1)[1].strip()
        for note in notes
        for line in note.read_text(encoding="utf-8").splitlines()
        if line.startswith("To:")
    ]
    assert sorted(r.rsplit("<", 1)[-1].rstrip(">") for r in recipients) == sorted(people)
    readable = ("unmatched-2026-W49.o_neil@example.org~", "unmatched-2026-W49.zo_@example.org~")
    assert all(n.name.startswith(readable) for n in notes), notes
    assert cli("run", "-c", config).exit_code == 0  # found again by name: nothing rewritten
    assert emls(tmp_path / "outbox" / "2026-W49") == notes


# --- secret calendar addresses --------------------------------------------------------------

SECRET_URL = f"https://calendar.example/ical/{MARKER}/basic.ics"


@pytest.mark.parametrize(
    ("calendar", "problem"),
    [
        (f'["{SECRET_URL}"]', "must be a string, not a list (not shown: it may be secret)"),
        (
            f'"{SECRET_URL.removeprefix("https://")}"',
            "looks like a web address without https:// (write the whole address, from https:// "
            "or webcal://; not shown here: it is secret)",
        ),
        (
            f'"https:/{SECRET_URL.removeprefix("https://")}"',
            "looks like a web address without https:// (write the whole address, from https:// "
            "or webcal://; not shown here: it is secret)",
        ),
    ],
    ids=["in-a-list", "without-scheme", "mistyped-scheme"],
)
def test_a_mistyped_calendar_address_is_refused_and_never_shown(
    tmp_path: Path, now_env: str, calendar: str, problem: str
) -> None:
    """It was printed in full by the config error, `check`, the warnings and `members list`,
    and (read as a file path) stored in the database and emailed to the member."""
    config = write_demo_config(tmp_path)
    text = config.read_text(encoding="utf-8")
    start = text.index('calendar = "', text.index('email = "ada@example.org"'))
    end = text.index("\n", start)
    config.write_text(f"{text[:start]}calendar = {calendar}{text[end:]}", encoding="utf-8")
    for command in (["check"], ["run"], ["members", "list"], ["slots", "--all"]):
        result = cli(*command, "-c", config)
        assert result.exit_code == 2, result.output
        assert MARKER not in result.output
        assert f"  ada@example.org: calendar: {problem}" in result.stderr.splitlines()[1:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["members.toml"]


def test_an_address_without_its_scheme_is_refused_by_members_add_and_preview(
    tmp_path: Path, now_env: str
) -> None:
    config = write_demo_config(tmp_path)
    before = config.read_bytes()
    address = SECRET_URL.removeprefix("https://")
    args = ["--name", "Noor", "--email", "noor@example.org", "--timezone", "UTC"]
    added = cli("members", "add", "-c", config, *args, "--calendar", "-", stdin=address + "\n")
    previewed = cli("preview", "-", "--timezone", "UTC", stdin=address + "\n")
    for result in (added, previewed):
        assert result.exit_code == 2
        assert MARKER not in result.output
        assert "looks like a web address without https://" in result.stderr
    assert config.read_bytes() == before


def test_a_file_whose_path_looks_like_an_address_is_still_a_file(
    tmp_path: Path, now_env: str
) -> None:
    (tmp_path / "calendars.old").mkdir()
    (tmp_path / "calendars.old" / "ada.ics").write_bytes(FREE_TUESDAYS)
    config = club(tmp_path, [("Ada", "ada@example.org", FREE_TUESDAYS)])
    text = config.read_text(encoding="utf-8").replace("cal0.ics", "calendars.old/ada.ics")
    config.write_text(text, encoding="utf-8")
    result = cli("slots", "--all", "-c", config, "--week", "2026-W49")
    assert result.exit_code == 0, result.output


_ALLOW_LOOPBACK = "[community]\nallow_private_feeds = true\n"


def _serve(httpserver: HTTPServer) -> str:
    path = f"/ical/{MARKER}/basic.ics"
    httpserver.expect_request(path).respond_with_data(FREE_TUESDAYS, content_type="text/calendar")
    return httpserver.url_for(path)


def test_members_add_reads_the_address_from_standard_input(
    tmp_path: Path, now_env: str, httpserver: HTTPServer
) -> None:
    text = demo_config_text(tmp_path)  # with the test server on loopback allowed:
    config = write_demo_config(tmp_path, text.replace("[community]\n", _ALLOW_LOOPBACK, 1))
    url = _serve(httpserver)
    args = ["--name", "Noor", "--email", "noor@example.org", "--timezone", "Europe/Berlin"]
    result = cli("members", "add", "-c", config, *args, "--calendar", "-", stdin=f"{url}\n")
    assert result.exit_code == 0, result.output
    assert MARKER not in result.output
    assert f'calendar = "{url}"' in config.read_text(encoding="utf-8")


def test_preview_reads_the_address_from_standard_input(
    now_env: str, httpserver: HTTPServer
) -> None:
    url = _serve(httpserver)
    args = ["-", "--timezone", "Europe/Berlin", "--week", "2026-W49", "--allow-private-feeds"]
    result = cli("preview", *args, stdin=url)
    assert result.exit_code == 0, result.output
    assert "OK: calroulette can read this calendar's free time." in result.stderr
    assert MARKER not in result.output


def test_without_an_address_or_a_terminal_the_commands_say_how_to_give_it(
    tmp_path: Path, now_env: str
) -> None:
    config = write_demo_config(tmp_path)
    args = ["--name", "Noor", "--email", "noor@example.org", "--timezone", "UTC"]
    added = cli("members", "add", "-c", config, *args)
    previewed = cli("preview", "--timezone", "UTC")
    assert (added.exit_code, added.stderr) == (
        2,
        "error: --calendar: missing (give - to read it from standard input)\n",
    )
    assert (previewed.exit_code, previewed.stderr) == (
        2,
        "error: calendar: missing (give - to read it from standard input)\n",
    )
    empty = cli("preview", "-", "--timezone", "UTC", stdin="\n")
    assert empty.stderr == "error: calendar: nothing on standard input (expected the address)\n"


@pytest.mark.parametrize("command", [["members", "add"], ["preview"]], ids=" ".join)
def test_help_says_why_an_address_on_the_command_line_is_a_bad_idea(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], terminal_width=400)
    assert result.exit_code == 0
    help_text = " ".join(result.stdout.replace("│", " ").split())
    assert "visible to other users (ps) and stays in your shell history" in help_text
    assert "give - to read it from standard input" in help_text


def _read_until(fd: int, wanted: bytes, seconds: float = 30.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + seconds
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the other side closed (the command ended)
                break
            if not chunk:
                break
            seen += chunk
    return seen


@pytest.mark.slow
def test_preview_asks_for_the_address_on_a_terminal_without_showing_it(
    tmp_path: Path, now_env: str
) -> None:
    folder = tmp_path / MARKER
    folder.mkdir()
    calendar = folder / "basic.ics"
    calendar.write_bytes(FREE_TUESDAYS)
    leader, follower = os.openpty()
    env = {**os.environ, "COLUMNS": "120", "TERM": "dumb"}
    command = calroulette("preview", "--timezone", "Europe/Berlin", "--week", "2026-W49")
    with subprocess.Popen(
        command, stdin=follower, stdout=follower, stderr=follower, env=env, start_new_session=True
    ) as proc:
        os.close(follower)
        shown = _read_until(leader, b"Calendar address (not shown): ")
        os.write(leader, f"{calendar}\n".encode())
        shown += _read_until(leader, b"can read this calendar's free time.")
        assert proc.wait(timeout=60) == 0, shown.decode(errors="replace")
    os.close(leader)
    assert b"OK: calroulette can read this calendar's free time." in shown
    assert MARKER.encode() not in shown


# --- SMTP without TLS -----------------------------------------------------------------------


def _this_machines_address() -> str | None:
    """An address of this machine that is not a loopback one, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: only the route is looked up
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if ipaddress.ip_address(address).is_loopback else address


class _PlainServer:
    """An SMTP server without TLS that offers AUTH and records every attempt and message."""

    def __init__(self) -> None:
        self.logins: list[str] = []
        self.received: list[bytes] = []

    def authenticate(self, server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        assert isinstance(auth_data, LoginPassword)
        self.logins.append(auth_data.password.decode())
        ok = (auth_data.login.decode(), auth_data.password.decode()) == (USER, PASSWORD)
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.received.append(bytes(envelope.content))
        return "250 OK"


@contextmanager
def _plain_smtp(host: str) -> Iterator[tuple[int, _PlainServer]]:
    server = _PlainServer()
    port = free_port()
    controller = Controller(
        server,
        hostname=host,
        port=port,
        authenticator=server.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield port, server
    finally:
        controller.stop()


def _smtp_club(tmp_path: Path, host: str, port: int) -> Path:
    text = write_demo_config(tmp_path).read_text(encoding="utf-8")
    delivery = (
        f'[delivery]\nmethod = "smtp"\nsmtp_host = "{host}"\nsmtp_port = {port}\n'
        f'smtp_security = "none"\nsmtp_username = "{USER}"\nrate_limit_per_minute = 100000\n'
    )
    start = text.index("[delivery]")
    end = text.index("[[members]]")
    return write_demo_config(tmp_path, text[:start] + delivery + "\n" + text[end:])


def test_smtp_without_tls_never_sends_the_password_to_another_machine(
    tmp_path: Path, now_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AUTH PLAIN went in clear text to a remote relay, without a word. Nothing is sent, and
    the messages stay pending for when the setting is fixed."""
    remote = _this_machines_address()
    if remote is None:
        pytest.skip("this machine has no address but loopback")
    monkeypatch.setenv("CALROULETTE_SMTP_PASSWORD", PASSWORD)
    with _plain_smtp(remote) as (port, server):
        config = _smtp_club(tmp_path, remote, port)
        result = cli("run", "--week", "2026-W49", "-c", config)
        assert server.logins == [] and server.received == []
    assert result.exit_code == 1
    assert (
        f"smtp: will not send the password for {USER} in clear text to {remote}:{port} "
        '(smtp_security = "none" is for a relay on this machine; '
        'set smtp_security = "starttls" or "tls")'
    ) in result.stderr
    assert PASSWORD not in result.output
    with open_store(tmp_path / "calroulette.sqlite", readonly=True) as store:
        assert {r.status for r in store.deliveries.rows(week=W49)} == {DeliveryStatus.PENDING}


def test_smtp_without_tls_still_logs_in_to_a_relay_on_this_machine(
    tmp_path: Path, now_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALROULETTE_SMTP_PASSWORD", PASSWORD)
    with _plain_smtp("127.0.0.1") as (port, server):
        result = cli("run", "--week", "2026-W49", "-c", _smtp_club(tmp_path, "127.0.0.1", port))
        assert result.exit_code == 0, result.output
        assert server.logins == [PASSWORD] and len(server.received) == 8


# --- members.toml edge cases ----------------------------------------------------------------


def test_a_members_toml_with_a_byte_order_mark_loads_and_keeps_it_when_edited(
    tmp_path: Path, now_env: str
) -> None:
    """Loading said "Invalid statement (line 1, column 1)": Notepad saves UTF-8 with a BOM."""
    config = write_demo_config(tmp_path)
    config.write_bytes(b"\xef\xbb\xbf" + config.read_bytes())
    assert cli("check", "-c", config, "--week", "2026-W49").exit_code == 0
    args = ["--name", "Noor", "--email", "noor@example.org", "--timezone", "UTC"]
    calendar = ROOT / "demo" / "calendars" / "ada.ics"
    result = cli("members", "add", "-c", config, *args, "--calendar", calendar)
    assert result.exit_code == 0, result.output
    assert config.read_bytes().startswith(b"\xef\xbb\xbf# The demo community")
    assert cli("members", "list", "-c", config).exit_code == 0


@pytest.mark.parametrize("nested", ["[" * 5000 + "]" * 5000, "{a = " * 2000 + "1" + "}" * 2000])
def test_deeply_nested_toml_is_one_problem_not_a_traceback(tmp_path: Path, nested: str) -> None:
    config = tmp_path / "members.toml"
    config.write_text(f"[community]\nname = {nested}\n", encoding="utf-8")
    result = cli("check", "-c", config)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {config}: invalid configuration",
        f"  config: {config}: not valid TOML: values nested too deeply",
    ]


@pytest.mark.parametrize("placeholder", ["{uid:d}", "{week!r}", "{uid:{week}}"])
def test_a_meeting_link_placeholder_with_a_format_is_refused_before_anything_is_recorded(
    tmp_path: Path, now_env: str, placeholder: str
) -> None:
    """`{uid:d}` passed validation, then `run` crashed on the first invitation, after the
    round was recorded."""
    config = write_demo_config(tmp_path)
    text = config.read_text(encoding="utf-8").replace(
        "[delivery]", f'meeting_link = "https://meet.example/{placeholder}"\n\n[delivery]'
    )
    config.write_text(text, encoding="utf-8")
    result = cli("run", "-c", config)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[1:] == [
        f"  community: meeting_link: {placeholder}: write it plain, like {{uid}}"
    ]
    assert not (tmp_path / "calroulette.sqlite").exists()


@pytest.mark.parametrize("week", ["9999-W52", "0001-W01"])
@pytest.mark.parametrize(
    "command",
    [
        ["match"],
        ["run"],
        ["send"],
        ["check"],
        ["slots", "--all"],
        ["overlap"],
        ["why", "ada@example.org"],
        ["preview", "x.ics", "--timezone", "UTC"],
    ],
    ids=" ".join,
)
def test_a_week_out_of_range_is_a_usage_error(
    tmp_path: Path, now_env: str, week: str, command: list[str]
) -> None:
    """They gave an OverflowError traceback."""
    config = ["-c", write_demo_config(tmp_path)] if command[0] != "preview" else []
    result = cli(*command, "--week", week, *config)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: --week: {week!r} is out of range (give a week of a year from 1900 to 9000)\n"
    )


@pytest.mark.parametrize(
    ("value", "ok"), [('"²³"', False), ('"١٢٣"', False), ('"1234"', True), ("1234", True)]
)
def test_a_discord_id_is_ascii_digits_only(tmp_path: Path, value: str, ok: bool) -> None:
    config = write_demo_config(tmp_path)
    text = config.read_text(encoding="utf-8").replace(
        'email = "ada@example.org"', f'email = "ada@example.org"\ndiscord_id = {value}'
    )
    config.write_text(text, encoding="utf-8")
    result = cli("members", "list", "--json", "-c", config)
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 2
        assert "  ada@example.org: discord_id: must be a Discord user id (digits)" in result.stderr


def test_a_misspelled_zone_is_compared_with_every_zone_once_per_distinct_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """10,000 members with one misspelled zone took 53 s to report: each member's hint compared
    the name with all ~600 zones again. Counted, not timed: the search runs once per name."""
    searched: list[str] = []
    real = timeutil.difflib.get_close_matches

    def counting(word: str, possibilities: Any, *args: Any, **kwargs: Any) -> list[str]:
        searched.append(word)
        return real(word, possibilities, *args, **kwargs)

    monkeypatch.setattr(timeutil, "difflib", SimpleNamespace(get_close_matches=counting))
    timeutil._zone_hint.cache_clear()
    zones = ["Europe/Lodnon", "America/New_Yrok"] * 250
    config = club(tmp_path, [])
    members = "".join(
        f'\n[[members]]\nname = "P{i}"\nemail = "p{i}@example.org"\ncalendar = "p.ics"\n'
        f'timezone = "{zone}"\n'
        for i, zone in enumerate(zones)
    )
    config.write_text(config.read_text(encoding="utf-8") + members, encoding="utf-8")

    result = cli("check", "-c", config)

    assert result.exit_code == 2
    assert result.stderr.count("did you mean 'Europe/London'?") == 250
    assert result.stderr.count("did you mean 'America/New_York'?") == 250
    assert sorted(searched) == ["america/new_yrok", "europe/lodnon"]
