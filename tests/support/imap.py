"""A real IMAP server for the replies tests: Dovecot (Debian's ``dovecot-imapd``) on a loopback
port, IMAP over TLS with a certificate made for the test, one user in a passwd-file, maildir in
a temporary folder; and the fixtures of fixtures/replies/ filled in for a test's meetings.

Run unprivileged as the current user. As root (containers, CI), Dovecot will not run its login
process as root, so it uses Debian's ``dovenull``/``dovecot`` users and keeps mail as ``nobody``,
in a folder of its own those users can reach.
"""

from __future__ import annotations

import base64
import email
import email.policy
import getpass
import grp
import imaplib
import os
import pwd
import quopri
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .mail import client_context, free_port, make_cert

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "replies"
USER, PASSWORD = "coffee@example.org", "imap-s3cret-Pa55word"


def dovecot_binary() -> str | None:
    found = shutil.which("dovecot") or "/usr/sbin/dovecot"
    return found if os.access(found, os.X_OK) else None


@dataclass
class Imap:
    """The running server: where it is and how to talk to it as a test."""

    host: str
    port: int
    user: str
    password: str
    cert: Path  # the server's certificate, which is also its CA
    folder: str = "INBOX"

    @contextmanager
    def client(self) -> Iterator[imaplib.IMAP4_SSL]:
        conn = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=client_context(self.cert))
        try:
            conn.login(self.user, self.password)
            conn.select(self.folder)
            yield conn
        finally:
            conn.logout()

    def append(self, *messages: bytes, flags: str = "") -> None:
        with self.client() as conn:
            for raw in messages:
                status, _ = conn.append(self.folder, flags or None, None, raw)
                assert status == "OK"

    def flags(self) -> dict[int, set[str]]:
        """Each message's flags, by UID (every message: nothing is ever deleted)."""
        with self.client() as conn:
            _status, data = conn.uid("FETCH", "1:*", "(FLAGS)")
        found: dict[int, set[str]] = {}
        for item in data:
            if not isinstance(item, bytes):
                continue
            uid = re.search(rb"UID (\d+)", item)
            flags = re.search(rb"FLAGS \(([^)]*)\)", item)
            if uid and flags:
                found[int(uid.group(1))] = set(flags.group(1).decode().split())
        return found


def skip_without_dovecot() -> str:
    binary = dovecot_binary()
    if binary is None:
        pytest.skip("Dovecot is not installed (Debian: apt-get install dovecot-imapd)")
    return binary


@contextmanager
def dovecot(tmp_path: Path) -> Iterator[Imap]:
    """Start Dovecot for one test; stop it (and remove its files) afterwards."""
    binary = skip_without_dovecot()
    root = os.geteuid() == 0
    home = Path(tempfile.mkdtemp(prefix="calroulette-dovecot-")) if root else tmp_path / "dovecot"
    home.mkdir(exist_ok=True)
    if root:
        home.chmod(0o755)  # the login user (dovenull) must reach the sockets inside
    cert, key = make_cert(home)
    (home / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    mail = home / "mail"
    mail.mkdir()
    port = free_port()
    if root:
        if not _users_exist("dovecot", "dovenull", "nobody"):
            pytest.skip("Dovecot runs as root here but its users (dovecot, dovenull) are missing")
        os.chown(mail, pwd.getpwnam("nobody").pw_uid, _group("nogroup", "nobody"))
        people = (
            "default_internal_user = dovecot\ndefault_login_user = dovenull\n"
            f"mail_uid = nobody\nmail_gid = {_group_name('nogroup', 'nobody')}\n"
            "first_valid_uid = 1\nfirst_valid_gid = 1\n"
        )
    else:
        me = getpass.getuser()
        group = grp.getgrgid(os.getegid()).gr_name
        people = (
            f"default_internal_user = {me}\ndefault_internal_group = {group}\n"
            f"default_login_user = {me}\n"
        )
    config = home / "dovecot.conf"
    config.write_text(
        f"""base_dir = {home}/run
state_dir = {home}/state
log_path = {home}/dovecot.log
info_log_path = {home}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
{people}mail_location = maildir:{mail}/%u
passdb {{
  driver = passwd-file
  args = {home}/users
}}
userdb {{
  driver = passwd-file
  args = {home}/users
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
"""
    )
    process = subprocess.Popen(
        [binary, "-F", "-c", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(port, process, home / "dovecot.log")
        yield Imap("127.0.0.1", port, USER, PASSWORD, cert)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        if root:
            shutil.rmtree(home, ignore_errors=True)


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out = process.stdout.read().decode(errors="replace") if process.stdout else ""
            text = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"dovecot exited ({process.returncode}): {out}\n{text}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"dovecot did not listen on port {port}")


def _users_exist(*names: str) -> bool:
    try:
        for name in names:
            pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _group_name(*names: str) -> str:
    for name in names:
        try:
            grp.getgrnam(name)
        except KeyError:
            continue
        return name
    raise KeyError(names[0])


def _group(*names: str) -> int:
    return grp.getgrnam(_group_name(*names)).gr_gid


# --- fixtures -------------------------------------------------------------------------------


def reply(name: str, **values: str | int) -> bytes:
    """fixtures/replies/``name``.eml with its placeholders (``{{UID}}``, ``{{ATTENDEE}}``,
    ``{{SEQUENCE}}``, ``{{ORGANIZER}}``, ``{{PARTSTAT}}``, ``{{MESSAGE_ID}}``) filled in, in
    the headers, in plain parts and inside base64 and quoted-printable parts alike."""
    raw = (FIXTURES / f"{name}.eml").read_bytes()
    table = {f"{{{{{k.upper()}}}}}".encode(): str(v).encode() for k, v in values.items()}

    def fill(data: bytes) -> bytes:
        for placeholder, value in table.items():
            data = data.replace(placeholder, value)
        return data

    raw = fill(raw)  # headers and 7bit/8bit parts (and quoted-printable, where unbroken)
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    changed = False
    for part in message.walk():
        encoding = str(part.get("Content-Transfer-Encoding", "")).lower()
        if part.is_multipart() or encoding not in ("base64", "quoted-printable"):
            continue
        decoded = part.get_payload(decode=True)
        assert isinstance(decoded, bytes)
        filled = fill(decoded)
        if filled == decoded:
            continue
        changed = True
        if encoding == "base64":
            part.set_payload(base64.encodebytes(filled).decode("ascii"))
        else:
            part.set_payload(quopri.encodestring(filled).decode("ascii"))
    if changed:
        raw = message.as_bytes()
    assert b"{{" not in raw, f"{name}: a placeholder was left unfilled"
    return raw


# --- a community with meetings and a mailbox -------------------------------------------------

PASSWORD_ENV = "CALROULETTE_TEST_IMAP_PASSWORD"


def replies_community(tmp_path: Path, server: Imap, *, ca: bool = True, **replies: object) -> Any:
    """The mail tests' community, with ``[replies]`` pointing at ``server``."""
    from calroulette.config import parse_community

    from .mail import community_data

    data = community_data()
    data["community"]["database"] = str(tmp_path / "history.sqlite")
    data["replies"] = {
        "imap_host": server.host,
        "imap_port": server.port,
        "imap_username": server.user,
        "imap_password_env": PASSWORD_ENV,
        **({"ca_file": str(server.cert)} if ca else {}),
        **replies,
    }
    return parse_community(data, base_dir=tmp_path)


def record_meetings(community: Any, week: str, meetings: list[Any], at: Any) -> None:
    """A sent round of ``meetings`` in the history database."""
    from calroulette.matching import Round, RoundStatus
    from calroulette.store import open_store
    from calroulette.timeutil import IsoWeek

    round_ = Round(IsoWeek.parse(week), 1, tuple(meetings), (), RoundStatus.SENT)
    with open_store(community.database) as store, store.transaction():
        assert store.rounds.record(round_, at=at)
