"""No text a member (or a feed) writes reaches anyone raw, checked in the bytes that leave.

- members.toml: names, emails and every text field that reaches people are validated *after*
  decoding: an RFC 2047 encoded word that decodes to a line break or a control character is
  refused like that character, and any other encoded word is refused too (nobody types one).
- Email: every header goes through the email package's structured headers, with guards of ours
  behind it (calroulette.invites.headers: Python 3.11 decodes encoded words into headers, and
  folds long address lists wrongly); no name can add a header, an address or a MIME part
  (outbox files, a real aiosmtpd server, and a property test over the names members.toml takes).
- Terminal, HTML, Discord and .ics: rich markup, emoji codes and escape sequences print as
  written; names are escaped in the overlap page and the emails' HTML; on Discord they neither
  ping nor read as mentions or links; in calendars they stay inside their property.
- `history` shows each meeting's short id, which `cancel` takes; files for people are 0600.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import json
import re
import stat
from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import icalendar
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner, Result

from calroulette import invites
from calroulette.cli import app
from calroulette.config import parse_community
from calroulette.errors import ConfigError
from calroulette.intervals import Interval
from calroulette.matching import Meeting, Reason, Round, Unmatched
from calroulette.store import open_store, short_id
from calroulette.timeutil import IsoWeek

from .support.mail import PASSWORD, USER, Mailbox, community_data, make_cert, smtp_server

UTC = dt.UTC
W49 = IsoWeek(2026, 49)
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
START = dt.datetime(2026, 12, 1, 14, 0, tzinfo=UTC)

# The issue's name: one encoded word that decodes to CR LF, a Bcc: header and a body.
ISSUE_NAME = (
    "=?utf-8?b?"
    + base64.b64encode(
        b"Eve\r\nBcc: victim@attacker.example\r\n\r\nYour account is locked: https://evil.example"
    ).decode()
    + "?="
)
ISSUE_PROBLEM = re.escape(
    "name: must be on one line (contains a line break, written as the encoded word '=?utf-8?b?"
)

# Names members.toml accepts, each aimed at one reader: rich, Discord, HTML and headers, and
# the header folding (non-ASCII, a tab, an "=?" that is no encoded word, an address).
MARKUP = "[bold]Ada[/bold] :warning: [link=https://evil.example]x[/link]"
MENTIONS = "@everyone @here <@&123456789012345678> [free](https://evil.example) **Bo**"
HTML = '<script>alert(1)</script> "Cy" & Co, <evil@attacker.example>'
FOLDING = "Dï =? Gray\tBcc: victim@attacker.example"
DI_DISCORD = "123456789012345678"
# A feed's broken event whose UID is rich markup: it ends up in the reason `history` shows.
EVIL_UID = "[/bold][link=https://evil.example]click"

HOSTILE = {
    "ada@example.org": MARKUP,
    "bo@example.org": MENTIONS,
    "cy@example.org": HTML,
    "di@example.org": FOLDING,
}
EXPECTED_HEADERS = [
    "From",
    "To",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "Auto-Submitted",
    "MIME-Version",
    "Content-Type",
]
EXPECTED_TREE = [
    "multipart/mixed",
    "multipart/alternative",
    "text/plain",
    "text/html",
    "text/calendar",
    "application/ics",
]

FREE_ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//calroulette tests//EN
BEGIN:VEVENT
UID:free-{who}@test
DTSTAMP:20261101T000000Z
DTSTART:20261103T140000Z
DTEND:20261103T170000Z
RRULE:FREQ=WEEKLY
SUMMARY:free for coffee
END:VEVENT
END:VCALENDAR
"""
# A busy event whose time cannot be read: it refuses its member in the week, and the message
# names it by its title, which is markup.
EVIL_TITLE = EVIL_UID
BROKEN_ICS = f"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//calroulette tests//EN
BEGIN:VEVENT
UID:{EVIL_UID}
DTSTAMP:20261101T000000Z
DTSTART:20261202T150000Z
DTEND:20261202T140000Z
SUMMARY:{EVIL_TITLE}
END:VEVENT
END:VCALENDAR
"""

runner = CliRunner()


def toml_string(value: str) -> str:
    """``value`` as a TOML basic string (JSON's escapes are TOML's for these characters)."""
    return json.dumps(value, ensure_ascii=False)


def write_config(
    folder: Path,
    names: dict[str, str] | None = None,
    *,
    delivery: str = 'method = "outbox"',
    broken: bool = False,
) -> Path:
    """members.toml for the hostile members (each free on Tuesdays 14:00–17:00 UTC), plus Ra
    whose feed has :data:`EVIL_UID` when ``broken``; the database and outbox under ``folder``."""
    names = HOSTILE if names is None else names
    lines = [
        "[community]",
        'name = "Data Folk Coffee"',
        'organizer = "Data Folk Coffee <coffee@example.org>"',
        'timezone = "Europe/London"',
        'database = "history.sqlite"',
        f"cache_dir = {toml_string(str(folder / 'cache'))}",
        "allow_private_feeds = true",
        "",
        "[delivery]",
        delivery,
    ]
    members = dict(names)
    if broken:
        members["ra@example.org"] = "Ra Perlman"
    for address, name in members.items():
        who = address.split("@")[0]
        calendar = folder / f"{who}.ics"
        text = BROKEN_ICS if who == "ra" else FREE_ICS.format(who=who)
        calendar.write_text(text.replace("\n", "\r\n"), encoding="utf-8")
        lines += [
            "",
            "[[members]]",
            f"name = {toml_string(name)}",
            f'email = "{address}"',
            f"calendar = {toml_string(str(calendar))}",
            'timezone = "Europe/London"',
        ]
        if who == "di":
            lines.append(f'discord_id = "{DI_DISCORD}"')
    config = folder / "members.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config.chmod(0o600)
    return config


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    """The real command, 250 columns wide so that no table cell is wrapped or cut."""
    return runner.invoke(app, list(args), env={"COLUMNS": "250", **(env or {})})


def ok(result: Result, code: int = 0) -> Result:
    """``result`` exited with ``code`` through the CLI's own handling, never a traceback."""
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr and "MarkupError" not in result.stderr
    return result


def parse(raw: bytes) -> EmailMessage:
    if not raw.isascii():  # SMTPUTF8: raw UTF-8 headers
        return email.message_from_string(raw.decode("utf-8"), policy=email.policy.default)  # type: ignore[return-value]
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def header_names(raw: bytes) -> list[str]:
    """The names of the header block's fields, read from the bytes: a line is a new field
    unless it starts with a space or a tab (a folded continuation)."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\n" not in head.replace(b"\r\n", b"") and b"\r" not in head.replace(b"\r\n", b"")
    return [
        line.split(b":", 1)[0].decode() for line in head.split(b"\r\n") if line[:1] not in b" \t"
    ]


def same_name(read: str, written: str) -> bool:
    """The name read back from a header is the one written, but for whitespace: Python's reader
    turns a tab into a space and, where a long name was folded into two encoded words, reads a
    space between them (RFC 2047 §6.2 says to drop it, as mail clients do)."""
    return "".join(read.split()) == "".join(written.split())


def assert_one_invitation(raw: bytes, recipient: str, names: dict[str, str]) -> EmailMessage:
    """An invitation to ``recipient`` with exactly our header fields (read from the bytes), one
    To: address and the meeting's two members in Reply-To, with the names as written in
    members.toml, and our MIME tree."""
    assert header_names(raw) == EXPECTED_HEADERS
    msg = parse(raw)
    (to,) = msg["To"].addresses
    assert to.addr_spec == recipient and same_name(to.display_name, names[recipient])
    reply_to = [(a.display_name, a.addr_spec) for a in msg["Reply-To"].addresses]
    assert len(reply_to) == 2 and recipient in [address for _, address in reply_to]
    assert all(same_name(name, names[address]) for name, address in reply_to)
    assert [p.get_content_type() for p in msg.walk()] == EXPECTED_TREE
    assert msg["Bcc"] is None and msg["Cc"] is None
    return msg


def html_part(msg: EmailMessage) -> str:
    part = next(p for p in msg.walk() if p.get_content_type() == "text/html")
    return str(part.get_content())  # type: ignore[attr-defined]


def calendar_of(msg: EmailMessage) -> bytes:
    part = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
    return part.get_payload(decode=True)  # type: ignore[return-value]


def attendees(ics: bytes) -> dict[str, str]:
    """``{address: CN}`` of the ATTENDEE lines, read as RFC 5545 §3.1 says (quoted parameter
    values, RFC 6868's ``^`` escapes, no backslash escapes in parameters), independently of
    icalendar, whose reader takes a backslash in a parameter for an escape (ical.js does not)."""
    found = {}
    for line in re.sub(rb"\r\n[ \t]", b"", ics).decode("utf-8").split("\r\n"):
        if not line.startswith("ATTENDEE;"):
            continue
        params, value, i, quoted, current = {}, "", len("ATTENDEE;"), False, ""
        while i < len(line):
            ch = line[i]
            if ch == '"':
                quoted = not quoted
            elif not quoted and ch in ";:":
                key, _, raw = current.partition("=")
                params[key.upper()] = raw
                current = ""
                if ch == ":":
                    value = line[i + 1 :]
                    break
            else:
                current += ch
            i += 1
        cn = re.sub(
            r"\^(.)", lambda m: {"'": '"', "n": "\n", "^": "^"}.get(m[1], m[0]), params["CN"]
        )
        found[value.removeprefix("mailto:")] = cn
    return found


# --- members.toml: validated after decoding -------------------------------------------------


def _member_data(**fields: Any) -> dict[str, Any]:
    """members.toml's tables for one member, Ada, with ``fields`` changed."""
    data = community_data([("Ada Lovelace", "ada@example.org", "Europe/London", None)])
    data["members"][0].update(fields)
    return data


def _problems(data: dict[str, Any], tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_community(data, base_dir=tmp_path)
    return [str(p) for p in raised.value.problems]


CRLF_B = "=?utf-8?b?" + base64.b64encode(b"x\r\nBcc: v@attacker.example").decode() + "?="
LF_Q_LOWER = "=?UTF-8?q?x=0ABcc:_v@attacker.example?="
UNPADDED = "=?utf-8?B?" + base64.b64encode(b"x\r\nBcc: v@a.example").decode().rstrip("=") + "?="
INSIDE = "Ada=?utf-8?q?=0D=0A?=Bcc"


@pytest.mark.parametrize(
    ("word", "what"),
    [
        (CRLF_B, "a line break"),
        (LF_Q_LOWER, "a line break"),
        (UNPADDED, "a line break"),  # the email package decodes it all the same
        (INSIDE, "a line break"),  # inside a word, not between spaces: decoded all the same
        ("=?utf-8?q?a=0Bb?=", "the control character U+000B"),
        ("=?utf-8?q?a=E2=80=A8b?=", "the control character U+2028"),
        ("=?x-unknown?q?a=0Db?=", "a line break"),  # an unknown charset: decoded as bytes
    ],
)
@pytest.mark.parametrize(
    ("field", "who", "where"),
    [
        ("name", "ada@example.org", "member"),
        ("team", "ada@example.org", "member"),
        ("topics", "ada@example.org", "member"),
        ("email", "", "member"),  # named by the address itself, or members[0] when malformed
        ("name", "community", "community"),
        ("organizer", "community", "community"),
    ],
)
def test_an_encoded_word_that_decodes_to_a_line_break_or_control_is_refused_like_one(
    tmp_path: Path, word: str, what: str, field: str, who: str, where: str
) -> None:
    """Every text field that reaches people is checked after decoding: one problem, naming
    the member and the field, said as a literal control character is said."""
    if field == "email":
        data = _member_data(email=f"{word}@example.org")
    elif field == "topics":
        data = _member_data(topics=["python", word])
    elif field == "organizer":
        data = _member_data()
        data["community"]["organizer"] = f"{word} <coffee@example.org>"
    elif where == "community":
        data = _member_data()
        data["community"][field] = word
    else:
        data = _member_data(**{field: word})
    found = _problems(data, tmp_path)
    label = "topics[1]" if field == "topics" else field
    encoded = word[word.index("=?") : word.rindex("?=") + 2]  # the word alone, as it is named
    shown = encoded if len(encoded) <= 40 else encoded[:39] + "…"
    expected = f"must be on one line (contains {what}, written as the encoded word {shown!r})"
    mine = [p for p in found if p.endswith(f": {label}: {expected}")]
    assert len(mine) == 1 and mine[0].startswith(who), found


def test_a_harmless_encoded_word_is_refused_too_and_the_problem_says_what_to_write(
    tmp_path: Path,
) -> None:
    """Decided: refused outright. Nobody types an encoded word, and mail programs would show
    it decoded in the headers but as written in the body and the calendar."""
    found = _problems(_member_data(name="=?utf-8?q?Zo=C3=AB_=C3=98deg=C3=A5rd?="), tmp_path)
    assert found == [
        "ada@example.org: name: must be the text itself, not the encoded word "
        "'=?utf-8?q?Zo=C3=AB_=C3=98deg=C3=A5rd?=' (write 'Zoë Ødegård')"
    ]


@pytest.mark.parametrize("name", ["Grace =? Hopper", "a=?b?=", "=?utf-8?x?y?=", "Ada ?= Lovelace"])
def test_text_that_only_looks_like_an_encoded_word_is_accepted(tmp_path: Path, name: str) -> None:
    community = parse_community(_member_data(name=name), base_dir=tmp_path)
    assert community.members[0].name == name


def test_the_issues_encoded_word_name_stops_run_before_anything_is_sent(
    tmp_path: Path, now_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name from the issue, against a real SMTP server: `run` refuses members.toml with one
    line naming the member and the field, creates no database and sends nothing."""
    cert, key = make_cert(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.setenv("CALROULETTE_SMTP_PASSWORD", PASSWORD)
    with smtp_server(cert, key) as (port, box):
        config = write_config(
            tmp_path,
            {**HOSTILE, "eve@example.org": ISSUE_NAME},
            delivery=_smtp_delivery(port),
        )
        result = ok(cli("run", "-c", str(config)), code=2)
    assert box.received == []
    assert not (tmp_path / "history.sqlite").exists()
    lines = [line for line in result.stderr.splitlines() if "eve@example.org" in line]
    assert len(lines) == 1 and re.search(ISSUE_PROBLEM, lines[0]), result.stderr
    assert "Bcc" not in result.stderr  # the problem shows the word, not what it decodes to


# --- email: no header, address or part from a name -------------------------------------------


def test_invites_refuse_an_encoded_word_even_when_members_toml_was_not_checked(
    tmp_path: Path,
) -> None:
    """The last guard, in :mod:`calroulette.invites.mime`: a community built without the loader
    (a future web form, say) still cannot send the issue's name, an encoded word in an address,
    or a Unicode line separator; Python 3.11's email package would write them all."""
    community = parse_community(community_data(), base_dir=tmp_path)
    meeting = Meeting("m@test", ("ada@example.org", "grace@example.org"), START, START)
    ada, *others = community.members
    bad_member = [
        replace(ada, name=ISSUE_NAME),
        replace(ada, name="=?utf-8?q?Ada=22_=3Cceo@bank.example=3E?="),
        replace(ada, name="Ada\u2028Bcc: v@attacker.example"),
        replace(ada, email="=?utf-8?q?x=0D=0ABcc=3A_v=40x.org=0D=0A?=@example.org"),
    ]
    for member in bad_member:
        bad = replace(community, members=(member, *others))
        this = replace(meeting, members=(member.email, "grace@example.org"))
        with pytest.raises(ValueError, match=r"encoded word|line break"):
            invites.meeting_emails(this, bad, W49, sequence=0, now=NOW)
    bad = replace(community, name=CRLF_B)  # the community's name is in every Subject
    with pytest.raises(ValueError, match="encoded word"):
        invites.meeting_emails(meeting, bad, W49, sequence=0, now=NOW)


@pytest.mark.parametrize(
    ("ada", "grace"),
    [
        # Python 3.11 folds the comma between these two into an encoded word: one address
        ("Ødegård “Pepe” Lindqvist", "José de la Vega"),
        ("Björk (she/her) Lindqvist (he/him)", "Łukasz (he/him) de la Vega"),
        # it drops the quotes of a display name it must break: the name's address is added
        ("x" * 70 + ' "quoted" <evil@attacker.example>,', "Grace Hopper"),
        ('"' + "x" * 80, "Grace Hopper"),
    ],
)
def test_reply_to_keeps_both_partners_whatever_their_names(
    tmp_path: Path, ada: str, grace: str
) -> None:
    """Each invitation's Reply-To holds the meeting's two members and nobody else, To: the
    recipient, for names the email package's own folding gets wrong."""
    people = [
        (ada, "ada@example.org", "Europe/London", None),
        (grace, "grace@example.org", "Europe/London", None),
    ]
    community = parse_community(community_data(people), base_dir=tmp_path)
    names = {m.email: m.name for m in community.members}
    meeting = Meeting("m@test", ("ada@example.org", "grace@example.org"), START, START)
    for outgoing in invites.meeting_emails(meeting, community, W49, sequence=0, now=NOW):
        msg = assert_one_invitation(outgoing.payload, outgoing.key.recipient, names)
        assert {a.addr_spec for a in msg["Reply-To"].addresses} == set(names)


# Pieces of names aimed at the header parser, mixed with any text into one name.
_FRAGMENTS = [
    '"',
    "\\",
    "<",
    ">",
    ",",
    ";",
    ":",
    "@",
    "(",
    ")",
    "[",
    "]",
    "=?",
    "?=",
    "=?utf-8?q?",
    "Bcc: v@attacker.example",
    "\t",
    " ",
    "  ",
    "ë",
    "☕",
    "\u00a0",
    "x" * 80,
    "Zoë Ødegård",
    "<evil@attacker.example>",
    "=?utf-8?b?DQo=",
]
_NAMES = st.lists(
    st.one_of(st.sampled_from(_FRAGMENTS), st.text(min_size=1, max_size=12)), min_size=1, max_size=8
).map("".join)


@pytest.mark.slow
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=_NAMES)
def test_no_name_members_toml_accepts_can_add_a_header_an_address_or_a_part(
    tmp_path: Path, name: str
) -> None:
    """For any name the loader accepts, both invitations carry exactly our header fields (read
    from the bytes), one To: address with the name exactly as written, the meeting's two members
    in Reply-To, our MIME tree, and the name as both attendees' calendars write it."""
    data = community_data(
        [
            (name, "ada@example.org", "Europe/London", None),
            ("Grace Hopper", "grace@example.org", "America/New_York", None),
        ]
    )
    try:
        community = parse_community(data, base_dir=tmp_path)
    except ConfigError:
        assume(False)
        return
    written = community.members[0].name  # as the loader keeps it (stripped)
    names = {"ada@example.org": written, "grace@example.org": "Grace Hopper"}
    meeting = Meeting("m@test", ("ada@example.org", "grace@example.org"), START, START)
    out = invites.meeting_emails(meeting, community, W49, sequence=0, now=NOW)
    assert [o.key.recipient for o in out] == ["ada@example.org", "grace@example.org"]
    for outgoing in out:
        msg = assert_one_invitation(outgoing.payload, outgoing.key.recipient, names)
        assert attendees(calendar_of(msg)) == names


def test_outbox_files_carry_the_names_and_nothing_more(tmp_path: Path, now_env: str) -> None:
    """`match` and `send` to the outbox: each .eml is one invitation with our headers and MIME
    tree; the HTML part escapes every name and links only the meeting link; each .ics keeps
    the names inside their ATTENDEE parameters."""
    config = write_config(tmp_path)
    ok(cli("match", "-c", str(config)))
    ok(cli("send", "-c", str(config)))
    files = sorted((tmp_path / "outbox" / "2026-W49").glob("*.eml"))
    assert len(files) == 4
    for path in files:
        raw = path.read_bytes()
        recipient = parse(raw)["To"].addresses[0].addr_spec
        msg = assert_one_invitation(raw, recipient, HOSTILE)
        page = html_part(msg)
        assert "<script>" not in page and "<evil@" not in page
        partners = [a.addr_spec for a in msg["Reply-To"].addresses if a.addr_spec != recipient]
        if partners == ["cy@example.org"]:  # Cy's whole name: in the partner's email
            escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &quot;Cy&quot; &amp; Co, &lt;evil@"
            assert escaped in page
        links = re.findall(r'<a href="([^"]*)"', page)
        assert len(links) == 1 and links[0].startswith("https://meet.jit.si/data-folk-coffee-")
        assert "evil.example" not in "".join(links)
    for path in sorted((tmp_path / "outbox" / "2026-W49").glob("*.ics")):
        people = attendees(path.read_bytes())
        assert len(people) == 2 and people == {e: HOSTILE[e] for e in people}
        (event,) = icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
        assert str(event["SUMMARY"]).startswith("☕ Data Folk Coffee: ")


def _smtp_delivery(port: int) -> str:
    return "\n".join(
        [
            'method = "smtp"',
            'smtp_host = "127.0.0.1"',
            f"smtp_port = {port}",
            'smtp_security = "starttls"',
            f'smtp_username = "{USER}"',
            "rate_limit_per_minute = 100000",
        ]
    )


def test_smtp_carries_each_invitation_to_its_one_recipient_and_no_header_more(
    tmp_path: Path, now_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`send` through a real SMTP server (STARTTLS, AUTH; the test's certificate trusted by
    SSL_CERT_FILE, as an organizer's own CA would be): one envelope recipient per message, the
    one in To:, and exactly our header fields in the bytes the server received."""
    cert, key = make_cert(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.setenv("CALROULETTE_SMTP_PASSWORD", PASSWORD)
    box = Mailbox()
    with smtp_server(cert, key, mailbox=box) as (port, _):
        config = write_config(tmp_path, delivery=_smtp_delivery(port))
        ok(cli("match", "-c", str(config)))
        ok(cli("send", "-c", str(config)))
    assert len(box.received) == 4
    assert sorted(r.rcpt_tos[0] for r in box.received) == sorted(HOSTILE)
    for received in box.received:
        (recipient,) = received.rcpt_tos
        assert received.mail_from == "coffee@example.org"
        assert_one_invitation(received.data, recipient, HOSTILE)


# --- Discord: no ping, no mention, no link from a name ---------------------------------------


@pytest.fixture
def webhook(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[HTTPServer]:
    monkeypatch.setenv("CALROULETTE_DISCORD_WEBHOOK", httpserver.url_for("/api/webhooks/1/t"))
    httpserver.expect_request("/api/webhooks/1/t", method="POST").respond_with_json({"id": "1"})
    yield httpserver
    for request, _ in httpserver.log:
        request.close()


@pytest.mark.slow
def test_discord_posts_keep_mentions_markdown_and_links_in_names_inert(
    tmp_path: Path, now_env: str, webhook: HTTPServer
) -> None:
    """The JSON the webhook receives: `@everyone`, `@here`, a role mention, a masked link and
    bold in a name (and in the community's name) are escaped to plain text; the only mention
    is the member with a Discord id, who is also the only one allowed to be pinged."""
    config = write_config(tmp_path, delivery='method = "discord"')
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('"Data Folk Coffee"', '"**Data** @here Coffee"', 1))
    ok(cli("match", "-c", str(config)))
    ok(cli("send", "-c", str(config)))
    payloads = [json.loads(request.form["payload_json"]) for request, _ in webhook.log]
    assert len(payloads) == 2
    contents = " ".join(p["content"] for p in payloads)
    for raw in ("@everyone", "@here", "<@&", "[free]", "**", "[bold]", "<script>"):
        assert raw not in contents, raw
    assert not re.search(r"(?<!\\)\]\(", contents)  # no masked link: "](" only escaped
    assert re.findall(r"(?<!\\)<@!?&?\d+>", contents) == [f"<@{DI_DISCORD}>"]
    assert "\\*\\*Data\\*\\* @\u200bhere Coffee" in contents
    assert "@\u200beveryone @\u200bhere \\<@\u200b&123456789012345678\\>" in contents
    assert "\\[free\\](https\\://evil.example)" in contents
    for payload in payloads:
        users = [DI_DISCORD] if f"<@{DI_DISCORD}>" in payload["content"] else []
        assert payload["allowed_mentions"] == {"parse": [], "users": users}


def test_a_discord_id_that_is_not_ascii_digits_is_never_put_in_a_mention(tmp_path: Path) -> None:
    """``"²³".isdigit()`` is true: such an id is not a Discord user, so the member is named
    (inertly) and nobody is allowed a ping."""
    data = community_data(
        [
            ("Ada", "ada@example.org", "Europe/London", None),
            ("Bo", "bo@example.org", "Europe/London", None),
        ],
        method="discord",
    )
    community = parse_community(data, base_dir=tmp_path)
    community = replace(
        community, members=tuple(replace(m, discord_id="²³") for m in community.members)
    )
    meeting = Meeting("m@test", ("ada@example.org", "bo@example.org"), START, START)
    body = json.loads(invites.discord_post(meeting, community, W49, sequence=0, now=NOW).payload)
    assert "<@" not in body["content"] and "Ada & Bo" in body["content"]
    assert body["allowed_mentions"] == {"parse": [], "users": []}


# --- the terminal: printed as written -----------------------------------------------------------


def test_markup_in_a_feeds_uid_prints_literally_in_every_command(
    tmp_path: Path, now_env: str
) -> None:
    """The issue's feed: a broken event whose UID is rich markup. The reason stored in the
    history prints as written in `history` (a MarkupError on every later run, before), and so
    does the feed's error in `match`, `why`, `check` and `overlap`."""
    config = write_config(tmp_path, broken=True)
    shown = f"event {EVIL_TITLE!r} (first on 2026-12-02) ends before it starts"
    for command, code in (("match", 0), ("check", 1), ("overlap", 1)):
        result = ok(cli(command, "-c", str(config)), code=code)
        assert shown in result.stdout + result.stderr, command
    result = ok(cli("history", "-c", str(config)))
    assert f"Ra Perlman: feed error: calendar: {shown}" in result.stdout
    result = ok(cli("history", "--member", "ra@example.org", "-c", str(config)))
    assert shown in result.stdout
    assert shown in ok(cli("why", "ra@example.org", "-c", str(config))).stdout


def test_markup_and_emoji_codes_in_names_print_literally(tmp_path: Path, now_env: str) -> None:
    """A name with ``[bold]``, ``[link=…]`` and ``:warning:`` is printed as written by every
    command that shows names, never styled, linked or turned into ⚠."""
    config = write_config(tmp_path)
    commands = [
        ("match",),
        ("history",),
        ("why", "ada@example.org"),
        ("members", "list"),
        ("slots", "--all"),
        ("overlap",),
    ]
    for args in commands:
        result = ok(cli(*args, "-c", str(config)))
        assert MARKUP in result.stdout, args
        assert "⚠" not in result.stdout, args


def test_a_control_character_in_a_stored_reason_is_shown_as_its_escape(
    tmp_path: Path, now_env: str
) -> None:
    """A reason in the database (an older version's, say) holding escape sequences: `history`
    shows them as ``\\x1b``, and no control character reaches the terminal."""
    config = write_config(tmp_path)
    evil = "feed error: x\x1b[2J\x1b]8;;https://evil.example\x07y\nforged row\u202eetc"
    round_ = Round(W49, 1, (), (Unmatched("ada@example.org", Reason.FEED_ERROR, evil),))
    with open_store(tmp_path / "history.sqlite") as store, store.transaction():
        store.rounds.record(round_, at=NOW)
    result = ok(cli("history", "-c", str(config)))
    assert "x\\x1b[2J\\x1b]8;;https://evil.example\\x07y\\nforged row\\u202eetc" in result.stdout
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]", result.stdout)


# --- history: the short id, which cancel takes -------------------------------------------------


def test_history_shows_each_meetings_short_id_and_cancel_takes_it(
    tmp_path: Path, now_env: str
) -> None:
    config = write_config(tmp_path)
    ok(cli("match", "-c", str(config)))
    ok(cli("send", "-c", str(config)))
    meetings = json.loads(ok(cli("history", "--json", "-c", str(config))).stdout)["rounds"][0][
        "meetings"
    ]
    assert all(m["uid"].endswith("@calroulette") for m in meetings)  # --json: the whole UID
    table = ok(cli("history", "-c", str(config))).stdout
    for meeting in meetings:
        (row,) = [line for line in table.splitlines() if short_id(meeting["uid"]) in line]
        assert HOSTILE[meeting["members"][0]] in row and meeting["uid"] not in row
    first = meetings[0]
    ok(cli("cancel", short_id(first["uid"]), "-c", str(config)))
    after = json.loads(ok(cli("history", "--json", "-c", str(config))).stdout)["rounds"][0]
    statuses = {m["uid"]: m["status"] for m in after["meetings"]}
    assert statuses[first["uid"]] == "cancelled"
    assert sorted(statuses.values()) == ["cancelled", "invited"]


# --- HTML and .ics files: escaped, and readable only by the organizer ---------------------------


def test_the_overlap_page_escapes_names_and_feed_errors(tmp_path: Path, now_env: str) -> None:
    config = write_config(tmp_path, broken=True)
    ok(cli("match", "-c", str(config)))
    page_file = tmp_path / "overlap.html"
    ok(cli("overlap", "--html", str(page_file), "-c", str(config)), code=1)
    page = page_file.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '"Cy"' not in page and "&quot;Cy&quot;" in page  # a title="…" attribute stays one
    assert "<evil@attacker.example>" not in page
    assert page.count("<li>") == 2  # the round: two meetings, no element from a name


@pytest.mark.parametrize(
    ("args", "name"), [(("history", "--ics"), "meetings.ics"), (("overlap", "--html"), "o.html")]
)
def test_files_for_people_are_created_0600_and_an_existing_file_keeps_its_mode(
    tmp_path: Path, now_env: str, args: tuple[str, ...], name: str
) -> None:
    """They hold names, emails and who is free when: readable only by the organizer, unless
    the organizer made the file readable by others before (then it stays as they made it)."""
    config = write_config(tmp_path)
    ok(cli("match", "-c", str(config)))
    new = tmp_path / name
    ok(cli(*args, str(new), "-c", str(config)))
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    published = tmp_path / f"published-{name}"
    published.write_text("old", encoding="utf-8")
    published.chmod(0o644)
    ok(cli(*args, str(published), "-c", str(config)))
    assert stat.S_IMODE(published.stat().st_mode) == 0o644
    assert published.read_text(encoding="utf-8") != "old"


def test_the_history_calendar_keeps_each_name_inside_its_property(
    tmp_path: Path, now_env: str
) -> None:
    """Quotes, semicolons, colons, commas and backslashes in names stay text in SUMMARY and
    DESCRIPTION: the file reads back with the same events and the names exactly."""
    names = {
        "ada@example.org": 'Ada "the; first:" Lovelace, \\ Countess',
        "bo@example.org": "Bo;ROLE=CHAIR:mailto:evil@attacker.example",
    }
    config = write_config(tmp_path, names)
    ok(cli("match", "-c", str(config)))
    ics = tmp_path / "meetings.ics"
    ok(cli("history", "--ics", str(ics), "-c", str(config)))
    (event,) = icalendar.Calendar.from_ical(ics.read_bytes()).walk("VEVENT")
    assert set(event) >= {"SUMMARY", "DESCRIPTION"} and "ATTENDEE" not in event
    summary = str(event["SUMMARY"])
    assert summary.removeprefix("☕ Data Folk Coffee: ") in (
        f"{names['ada@example.org']} & {names['bo@example.org']}",
        f"{names['bo@example.org']} & {names['ada@example.org']}",
    )
    description = str(event["DESCRIPTION"])
    assert all(f"{name} <{address}>" in description for address, name in names.items())


def test_the_html_part_of_an_invitation_links_only_the_meeting_link(tmp_path: Path) -> None:
    """A name that reads like an address (``https://evil.example/login``) is text in the
    partner's email, never a link; the meeting link still is one."""
    people = [
        ("Eve https://evil.example/login", "eve@example.org", "Europe/London", None),
        ("Grace Hopper", "grace@example.org", "Europe/London", None),
    ]
    community = parse_community(community_data(people), base_dir=tmp_path)
    meeting = Meeting(
        "m@test",
        ("eve@example.org", "grace@example.org"),
        START,
        START + dt.timedelta(minutes=30),
        (Interval(START + dt.timedelta(days=1), START + dt.timedelta(days=1, minutes=30)),),
    )
    out = invites.meeting_emails(meeting, community, W49, sequence=0, now=NOW)
    grace = next(o for o in out if o.key.recipient == "grace@example.org")
    page = html_part(parse(grace.payload))
    assert "Eve https://evil.example/login" in page
    link = invites.meeting_link(community, W49, "m@test")
    assert re.findall(r'<a href="([^"]*)"', page) == [link]
