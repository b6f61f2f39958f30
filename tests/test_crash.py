"""Exactly once under kill -9: `calroulette send` for a round of 20 meetings, killed with SIGKILL at
several points of the SMTP conversation, then run again until it finishes.

The SMTP server (aiosmtpd, STARTTLS + AUTH, in this process) does the killing, so each kill lands
at a chosen point rather than at a lucky moment:

- ``mail``: when the next message starts: everything before it was accepted and recorded;
- ``data-before``: after the message's data arrived but before the server kept it;
- ``data-after``: after the server kept the message, before the client saw the 250. This is the
  window no SMTP client can close: the next run sends that message again, with the same bytes and
  Message-ID (mail stores collapse it), and the test counts exactly that one extra transaction.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import icalendar
import pytest
import tomlkit

from calroulette.matching import Meeting, Round
from calroulette.store import DeliveryRow, DeliveryStatus, open_store
from calroulette.timeutil import IsoWeek

from .support.mail import PASSWORD, USER, Mailbox, make_cert, smtp_server

UTC = dt.UTC
WEEK = IsoWeek(2026, 49)
ZONES = ["Europe/London", "America/New_York", "Asia/Kolkata", "Europe/Berlin", "Australia/Sydney"]
CALROULETTE = Path(sys.executable).with_name("calroulette")
HOUR = dt.timedelta(hours=1)


def smtp_delivery(port: int) -> dict[str, object]:
    return {
        "method": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "starttls",
        "smtp_username": USER,
        "rate_limit_per_minute": 100_000,
    }


def write_community(
    tmp_path: Path, delivery: dict[str, object], members: int = 40
) -> tuple[Path, list[str]]:
    emails = [f"member{i:03d}@example.org" for i in range(members)]
    doc = {
        "community": {
            "name": "Crash Test Coffee",
            "organizer": "Crash Test Coffee <coffee@example.org>",
            "timezone": "Europe/London",
            "database": "history.sqlite",
        },
        "delivery": delivery,
        "members": [
            {
                "name": f"Member {i:03d}",
                "email": e,
                "calendar": f"member{i:03d}.ics",  # never read: send fetches nothing
                "timezone": ZONES[i % len(ZONES)],
            }
            for i, e in enumerate(emails)
        ],
    }
    path = tmp_path / "members.toml"
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return path, emails


def plan(tmp_path: Path, emails: list[str], every: dt.timedelta = HOUR) -> Round:
    """A round pairing the members in order, a meeting each ``every`` from Monday 09:00,
    recorded as planned in the history database (what `calroulette match` leaves)."""
    start = dt.datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    meetings = tuple(
        Meeting(
            f"crash-{i:03d}@calroulette.test",
            (emails[2 * i], emails[2 * i + 1]),
            start + i * every,
            start + i * every + dt.timedelta(minutes=30),
        )
        for i in range(len(emails) // 2)
    )
    round_ = Round(WEEK, 1, meetings, ())
    with open_store(tmp_path / "history.sqlite") as store, store.transaction():
        assert store.rounds.record(round_, at=dt.datetime(2026, 11, 24, 12, tzinfo=UTC))
    return round_


def ledger(tmp_path: Path) -> list[DeliveryRow]:
    """The week's deliveries, as the history database holds them."""
    with open_store(tmp_path / "history.sqlite") as store:
        return store.deliveries.rows(week=WEEK)


def env_for(cert: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CALROULETTE_NOW": "2026-11-24T12:00:00Z",
        "CALROULETTE_SMTP_PASSWORD": PASSWORD,
        "SSL_CERT_FILE": str(cert),  # the production default context, trusting the test cert
    }


def send(
    config: Path,
    box: Mailbox,
    cert: Path,
    kill_at: tuple[str, int] | None,
    *extra: str,
    expect: int = 0,
) -> int:
    """`calroulette send` in its own process; the server SIGKILLs it at ``kill_at``. A run that
    is not killed must exit ``expect``."""
    env = env_for(cert)
    box.kill_at = kill_at
    proc = subprocess.Popen(
        [str(CALROULETTE), "send", "--config", str(config), "--week", str(WEEK), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    box.victim = proc.pid
    _out, err = proc.communicate(timeout=120)
    box.victim = None
    if kill_at is None:
        assert proc.returncode == expect, err.decode()
    return proc.returncode


@pytest.mark.slow
def test_kill_9_at_any_point_of_sending_delivers_each_invitation_once(tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path)
    box = Mailbox()
    with smtp_server(cert, key, mailbox=box) as (port, box):
        config, emails = write_community(tmp_path, smtp_delivery(port))
        round_ = plan(tmp_path, emails)
        schedule = [("mail", 5), ("data-after", 9), ("data-before", 14), ("mail", 30), None]
        for point in schedule:
            code = send(config, box, cert, point)
            if point is not None:
                assert code == -9, f"the server did not kill the run at {point}"
        assert box.kills == ["mail", "data-after", "data-before", "mail"]
        delivered = len(box.received)
        assert send(config, box, cert, None) == 0  # a run after the end sends nothing
        assert len(box.received) == delivered

    # Every recipient holds exactly one invitation (one Message-ID) per meeting, for the right UID.
    copies: dict[tuple[str, str], list[bytes]] = defaultdict(list)
    for received in box.received:
        msg = received.message()
        (rcpt,) = received.rcpt_tos
        part = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
        cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))
        uid = str(cal.walk("VEVENT")[0]["UID"])
        assert rcpt in [str(a).removeprefix("mailto:") for a in cal.walk("VEVENT")[0]["ATTENDEE"]]
        copies[(rcpt, msg["Message-ID"])].append(received.data)
        assert uid == next(m.uid for m in round_.meetings if rcpt in m.members)
    assert {rcpt for rcpt, _ in copies} == set(emails)
    assert len(copies) == 40  # one Message-ID per recipient and meeting
    # The one message in flight at the data-after kill went out twice, byte for byte the same.
    repeated = [data for data in copies.values() if len(data) > 1]
    assert len(repeated) == 1 and repeated[0][0] == repeated[0][1]
    assert len(box.received) == 41

    rows = ledger(tmp_path)
    assert len(rows) == 40 and {r.status for r in rows} == {DeliveryStatus.SENT}


@pytest.mark.slow
def test_two_senders_at_once_send_each_invitation_once(tmp_path: Path) -> None:
    """An overlapping cron job: two `send` processes start together on a slow server."""
    cert, key = make_cert(tmp_path)
    with smtp_server(cert, key, mailbox=Mailbox(delay=0.02)) as (port, box):
        config, emails = write_community(tmp_path, smtp_delivery(port))
        plan(tmp_path, emails)
        command = [str(CALROULETTE), "send", "--config", str(config), "--week", str(WEEK)]
        procs = [
            subprocess.Popen(command, env=env_for(cert), stderr=subprocess.PIPE) for _ in range(2)
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err.decode()
    assert len(box.received) == 40
    assert sorted(r.rcpt_tos[0] for r in box.received) == sorted(emails)


@pytest.mark.slow
def test_kill_9_at_random_moments_never_loses_or_multiplies_an_invitation(tmp_path: Path) -> None:
    """Six SIGKILLs at seeded random moments (during start-up, recording, sending), then a run
    to the end: each recipient holds one invitation; repeats only of the in-flight message."""
    rng = random.Random(20261124)
    cert, key = make_cert(tmp_path)
    with smtp_server(cert, key, mailbox=Mailbox(delay=0.04)) as (port, box):
        config, emails = write_community(tmp_path, smtp_delivery(port))
        plan(tmp_path, emails)
        command = [str(CALROULETTE), "send", "--config", str(config), "--week", str(WEEK)]
        kills = 0
        for _ in range(6):
            proc = subprocess.Popen(
                command, env=env_for(cert), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                proc.wait(timeout=rng.uniform(0.3, 1.5))
            except subprocess.TimeoutExpired:
                proc.kill()  # SIGKILL
                proc.wait()
                kills += 1
        final = subprocess.run(command, env=env_for(cert), capture_output=True, check=False)
        assert final.returncode == 0, final.stderr.decode()
    copies: dict[tuple[str, str], list[bytes]] = defaultdict(list)
    for received in box.received:
        copies[(received.rcpt_tos[0], received.message()["Message-ID"])].append(received.data)
    assert len(copies) == 40 and {rcpt for rcpt, _ in copies} == set(emails)
    repeats = len(box.received) - 40
    assert repeats <= kills  # at most the one message in flight per kill
    assert all(len(set(data)) == 1 for data in copies.values())  # a repeat is byte-identical


@pytest.mark.slow
def test_kill_9_while_writing_the_outbox_leaves_every_file_whole_and_recorded(
    tmp_path: Path,
) -> None:
    """The outbox marks its messages sent a batch at a time (one flush of the folder each):
    SIGKILLs while it writes, then a run to the end, leave one whole .eml per
    recipient, byte for byte what the ledger recorded, and every row sent."""
    rng = random.Random(20261125)
    config, emails = write_community(
        tmp_path, {"method": "outbox", "outbox": "outbox"}, members=600
    )
    plan(tmp_path, emails, every=dt.timedelta(minutes=1))
    env = {**os.environ, "CALROULETTE_NOW": "2026-11-24T12:00:00Z"}
    command = [str(CALROULETTE), "send", "--config", str(config), "--week", str(WEEK)]
    folder = tmp_path / "outbox" / str(WEEK)

    def on_disk() -> int:
        return len(list(folder.glob("*.eml"))) if folder.exists() else 0

    # killed once 100 invitations are on disk (inside the first batch of 256), once 300 are
    # (inside the second), then at a seeded random moment
    for threshold in (100, 300, None):
        proc = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + (60 if threshold else rng.uniform(0.5, 4.0))
        while proc.poll() is None and time.monotonic() < deadline:
            if threshold is not None and on_disk() >= threshold:
                break
            time.sleep(0.002)
        proc.kill()  # SIGKILL (nothing, when it had already finished)
        proc.wait()
        if threshold is not None:
            assert threshold <= on_disk() < 600  # it died while writing
    final = subprocess.run(command, env=env, capture_output=True, check=False)
    assert final.returncode == 0, final.stderr.decode()

    rows = ledger(tmp_path)
    assert len(rows) == 600 and {r.status for r in rows} == {DeliveryStatus.SENT}
    emls = sorted(folder.glob("*.eml"))
    assert len(emls) == 600
    recorded = {r.payload for r in rows}
    assert {path.read_bytes() for path in emls} == recorded  # whole, and what was recorded
    assert len(list(folder.glob("*.ics"))) == 300


def _invitations(box: Mailbox) -> dict[tuple[str, str], list[bytes]]:
    """Every message the server took, by (recipient, Message-ID)."""
    copies: dict[tuple[str, str], list[bytes]] = defaultdict(list)
    for received in box.received:
        copies[(received.rcpt_tos[0], received.message()["Message-ID"])].append(received.data)
    return copies


@pytest.mark.slow
def test_kill_9_while_retrying_failed_messages_sends_each_once(tmp_path: Path) -> None:
    """A week the server refused, then `send --retry-failed` killed twice on its way: each
    recipient ends with one invitation, the one in flight at the data-after kill repeated
    byte for byte; every row sent."""
    cert, key = make_cert(tmp_path)
    with smtp_server(cert, key, mailbox=Mailbox(refuse="554 5.7.1 relaying denied")) as (
        port,
        box,
    ):
        config, emails = write_community(tmp_path, smtp_delivery(port), members=20)
        plan(tmp_path, emails)
        send(config, box, cert, None, expect=1)  # every message refused: partly sent
        assert box.received == [] and {r.status for r in ledger(tmp_path)} == {
            DeliveryStatus.FAILED
        }
        box.refuse = None
        for point in [("data-after", 4), ("mail", 11)]:
            assert send(config, box, cert, point, "--retry-failed") == -9
        assert box.kills == ["data-after", "mail"]
        assert send(config, box, cert, None) == 0  # the rest is pending again: a plain run ends it
    copies = _invitations(box)
    assert {rcpt for rcpt, _ in copies} == set(emails) and len(copies) == 20
    repeated = [data for data in copies.values() if len(data) > 1]
    assert len(repeated) == 1 and repeated[0][0] == repeated[0][1]
    assert {r.status for r in ledger(tmp_path)} == {DeliveryStatus.SENT}


@pytest.mark.slow
def test_kill_9_while_a_corrected_email_is_sent_never_doubles_the_update(tmp_path: Path) -> None:
    """member000's address bounced; the organizer corrects it; the run that sends the updated
    invitations is killed as it starts sending: the next run sends each update once, and the
    correction is applied once (the round names the new address, the old row is replaced)."""
    cert, key = make_cert(tmp_path)
    with smtp_server(cert, key) as (port, box):
        config, emails = write_community(tmp_path, smtp_delivery(port), members=6)
        plan(tmp_path, emails)
        box.reject = {emails[0]}
        send(config, box, cert, None, expect=1)
        assert len(box.received) == 5
        fixed = "member000@example.net"
        config.write_text(config.read_text(encoding="utf-8").replace(emails[0], fixed), "utf-8")
        assert send(config, box, cert, ("mail", 6)) == -9  # the first updated invitation
        assert send(config, box, cert, None) == 0
        assert send(config, box, cert, None) == 0  # and nothing more
    updates = box.received[5:]
    assert sorted(r.rcpt_tos[0] for r in updates) == sorted([fixed, emails[1]])
    rows = ledger(tmp_path)
    assert [r.status for r in rows if r.key.recipient == emails[0]] == [DeliveryStatus.REPLACED]
    assert {r.status for r in rows if r.key.recipient != emails[0]} == {DeliveryStatus.SENT}
    with open_store(tmp_path / "history.sqlite") as store:
        stored = store.rounds.load(WEEK)
    assert stored is not None and stored.meetings[0].members == tuple(sorted((fixed, emails[1])))


# A `send` to the outbox that SIGKILLs itself at a chosen step of its batched flush: the step's
# name and the how-many-th time it is reached, from the environment (see the cases below).
_KILLING_SEND = """
import os, signal, sys
from calroulette import atomicfile
from calroulette.delivery import dispatch, outbox

point, nth = os.environ["KILL_AT"].split(":")
seen = {"n": 0}

def reached(name):
    if name == point:
        seen["n"] += 1
        if seen["n"] == int(nth):
            os.kill(os.getpid(), signal.SIGKILL)

def wrap(owner, attribute, name, after=False):
    inner = getattr(owner, attribute)
    def step(*args, **kwargs):
        if not after:
            reached(name)
        result = inner(*args, **kwargs)
        if after:
            reached(name)
        return result
    setattr(owner, attribute, step)

wrap(atomicfile.StagedWrite, "sync", "sync")
wrap(atomicfile.StagedWrite, "commit", "rename", after=True)
wrap(outbox, "flush_folder", "folder")
wrap(dispatch.Deliveries, "mark_sent", "mark")
sys.argv = ["calroulette", *sys.argv[1:]]
from calroulette.cli import main
main()
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "kill_at",
    [
        "sync:1",  # the first batch staged, nothing on disk yet
        "sync:200",  # half of the first batch's files flushed, none renamed
        "rename:1",  # one file in place
        "rename:150",  # in the middle of the renames (an .ics or an .eml)
        "rename:384",  # every file of the first batch in place, the folder not yet flushed
        "folder:1",  # the same, as the folder's flush starts
        "mark:1",  # the batch durable, the ledger not yet told
        "rename:500",  # the second batch, after the first was marked
    ],
)
def test_kill_9_inside_a_batched_outbox_flush_leaves_one_file_per_delivery(
    tmp_path: Path, kill_at: str
) -> None:
    """The outbox stages a batch, flushes every file's data, renames them all, flushes the folder,
    then the ledger marks the batch: a SIGKILL at each of those steps, then a run to the end,
    leaves one whole .eml per recipient (what the ledger recorded), every row sent, and nothing
    written twice: the files in place before the kill are counted as already delivered."""
    config, emails = write_community(
        tmp_path, {"method": "outbox", "outbox": "outbox"}, members=600
    )
    plan(tmp_path, emails, every=dt.timedelta(minutes=1))
    env = {**os.environ, "CALROULETTE_NOW": "2026-11-24T12:00:00Z"}
    args = ["send", "--config", str(config), "--week", str(WEEK)]
    folder = tmp_path / "outbox" / str(WEEK)

    killed = subprocess.run(
        [sys.executable, "-c", _KILLING_SEND, *args],
        env={**env, "KILL_AT": kill_at},
        capture_output=True,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr.decode()
    in_place = {p.name: p.read_bytes() for p in folder.glob("*.eml")}
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.glob("*")}
    before = {r.key: r.status for r in ledger(tmp_path)}
    marked = sum(s is DeliveryStatus.SENT for s in before.values())
    assert marked == (256 if kill_at == "rename:500" else 0)
    step = kill_at.split(":")[0]
    if step == "sync":  # no file is renamed before every file of its batch is on disk
        assert in_place == {}
    elif step in ("folder", "mark") or kill_at == "rename:384":
        assert len(in_place) == 256  # the whole first batch, and nothing of the second
    assert len(in_place) >= marked

    final = subprocess.run([str(CALROULETTE), *args], env=env, capture_output=True, check=False)
    assert final.returncode == 0, final.stderr.decode()

    rows = ledger(tmp_path)
    assert len(rows) == 600 and {r.status for r in rows} == {DeliveryStatus.SENT}
    emls = sorted(folder.glob("*.eml"))
    assert len(emls) == 600 and len(list(folder.glob("*.ics"))) == 300
    assert {path.read_bytes() for path in emls} == {r.payload for r in rows}
    # what was in place before the kill was not written again: same bytes, same file
    for name, data in in_place.items():
        assert (folder / name).read_bytes() == data
    for path in folder.iterdir():
        if path.name in stamps and path.suffix == ".eml":
            assert path.stat().st_mtime_ns == stamps[path.name]
    # the killed run's temporary files are young: left for a later run to remove, never counted
    assert all(p.name.startswith(".") and p.name.endswith(".tmp") for p in folder.glob(".*"))
