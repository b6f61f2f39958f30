"""An email as it goes on the wire: headers through the email package, MIME parts as constants.

Pure: no I/O. :mod:`calroulette.invites` decides what a message says; this module assembles it.

- **Headers that carry people** (From, To, Reply-To, Subject …) go through
  :mod:`email.headerregistry` under ``policy.SMTP``: names are RFC 2047-encoded, internationalised
  addresses are handled, and a CR or LF in a value raises instead of injecting a header. The
  guards of :mod:`.headers` stand behind it: no encoded word or control character goes in, the
  address fields are folded by us (Python 3.11 folds them wrongly), and no folded field may hold
  a line break that would start another.
- **The MIME tree** has headers that are constants of ours (``text/plain; charset="utf-8"``,
  ``base64`` …), so it is built from plain :class:`email.message.Message` objects and written by
  the classic (``compat32``) generator, which writes such headers as given. Building it with
  ``EmailMessage.set_content`` and ``add_alternative`` parsed each of those headers back into a
  tree, again on every read while generating, and folded it again on the way out: most of
  rendering a round (~5 ms a message; a 10,000-member community sends ~10,000 a week). The bodies
  are encoded as ``set_content`` encodes them: quoted-printable UTF-8 text, base64 bytes.
- **The tree is written by us** (:func:`_tree_bytes`), as the ``compat32`` generator writes it:
  each part's headers (folded once per round, see :class:`_Tree`), a blank line, then its lines
  with CRLF ends, or its parts between boundary lines. The generator dispatched every part by
  type, buffered it and copied it up the tree: a fifth of rendering a message, for a tree of at
  most five leaves whose shape is ours. tests/test_mime_bytes.py holds it to the generator's
  bytes for every kind of message.
- **Boundaries are derived** from the message's Message-ID rather than drawn at random, so a
  message rendered twice is the same bytes. A boundary starts with ``=_``, which neither
  quoted-printable (``=`` is always ``=3D`` or a soft line break) nor base64 can produce, so it can
  never occur in a part (RFC 2046 §5.1.1).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy, quoprimime
from email.headerregistry import Address, AddressHeader, BaseHeader, HeaderRegistry
from email.message import EmailMessage, Message
from functools import lru_cache
from typing import Any

from .headers import URL_LISTS, check_folded, check_value, fold_addresses, fold_urls, is_url_list

QP_LINE = 76  # RFC 2045 §6.7: encoded lines of at most 76 characters


class _Headers(HeaderRegistry):
    """The standard header classes, each built once: :class:`HeaderRegistry` builds a new class
    for every header it parses (a tenth of rendering a round). The same classes, the same bytes.

    Parsed headers are also kept, the last :data:`_REUSED` of them: every message of a round has
    the same From, Date, List-Unsubscribe and Auto-Submitted. A header is immutable (a ``str``
    with its parse tree), so sharing it between messages changes no byte.

    An address field set from :class:`Address` objects (as :mod:`.email` sets From, To and
    Reply-To) builds its parse tree when it is folded (:class:`_LazyAddresses`): the package
    builds it by parsing the field's text again, a tenth of rendering a message, and nothing
    reads it but the package's own folding, which :func:`fold_addresses` stands in for.
    """

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}
        self._parsed: dict[tuple[str, object], BaseHeader] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = super().__getitem__(name)
            if issubclass(cls, AddressHeader):
                cls = type(cls.__name__, (_LazyAddresses, cls), {})
            self._classes[key] = cls
        return cls

    def __call__(self, name: str, value: Any) -> BaseHeader:
        key = (name.lower(), _identity(value))
        header = self._parsed.get(key)
        if header is None:
            check_value(name, value)
            header = super().__call__(name, value)
            if len(self._parsed) >= _REUSED:
                self._parsed.clear()
            self._parsed[key] = header
        return header


class _LazyAddresses(AddressHeader):
    """An address header whose parse tree is built when it is first folded, when it was set from
    :class:`Address` objects: the same text, addresses, groups and defects (none: the package
    records none for objects), and the same folding, as :class:`AddressHeader`."""

    @classmethod
    def parse(cls, value: Any, kwds: dict[str, Any]) -> None:
        if not isinstance(value, str):
            kwds["parse_tree"] = None  # AddressHeader.parse then leaves it unbuilt
        super().parse(value, kwds)

    def fold(self, *, policy: Any) -> str:
        state = vars(self)  # BaseHeader.init's attribute, which typeshed does not declare
        if state["_parse_tree"] is None:
            state["_parse_tree"] = self.value_parser(str(self))
        # BaseHeader's, which the registry puts after this class (typeshed's AddressHeader is a
        # mixin without it)
        folded: str = super().fold(policy=policy)  # type: ignore[misc]
        return folded


def _identity(value: Any) -> object:
    """What makes a header value the same as another: its text, or each address's parts (an
    :class:`Address` compares equal but cannot be a dict key)."""
    if isinstance(value, str):
        return value
    items = value if isinstance(value, list | tuple) else [value]
    return tuple(
        (a.display_name, a.username, a.domain) if isinstance(a, Address) else repr(a) for a in items
    )


_REUSED = 64


# policy.SMTP and policy.SMTPUTF8 with that registry, for the headers that carry people
SMTP = policy.SMTP.clone(header_factory=_Headers())
SMTPUTF8 = policy.SMTPUTF8.clone(header_factory=_Headers())


class _Tree(policy.Compat32):
    """compat32 for the MIME tree: its headers written as given, CRLF line ends.

    Most of them are the same in every message (``Content-Transfer-Encoding: base64`` …) and
    the generator folds each one again for every message: a tenth of rendering a round. The
    folded bytes depend only on the header's name and text (this policy is fixed), so the
    recent ones are kept; the boundaries, new in each message, pass through.
    """

    def fold_binary(self, name: str, value: str) -> bytes:
        return _tree_folded(name, value)


_TREE = _Tree(linesep="\r\n")


@lru_cache(maxsize=_REUSED)
def _tree_folded(name: str, value: str) -> bytes:
    return policy.Compat32.fold_binary(_TREE, name, value)


def new_headers() -> EmailMessage:
    """An empty header block whose values are parsed and checked as they are set."""
    return EmailMessage(policy=SMTP)


@dataclass(frozen=True, slots=True)
class Email:
    headers: EmailMessage  # From, To, Subject … (no MIME headers, no body): see new_headers
    body: Message  # the MIME tree, from its MIME-Version and Content-Type headers down

    @property
    def message_id(self) -> str:
        return str(self.headers["Message-ID"])

    def as_bytes(self) -> bytes:
        """The message as sent: 7-bit headers (RFC 2047 for names), or raw UTF-8 headers when an
        address needs SMTPUTF8 (RFC 2047 is not allowed inside an address); CRLF line ends."""
        utf8 = needs_smtputf8(self.headers)
        out = [_folded(utf8, name, value) for name, value in self.headers.raw_items()]
        return b"".join(_tree_bytes(self.body, out))


def _tree_bytes(part: Message, out: list[bytes]) -> list[bytes]:
    """``part`` (a tree built by :func:`text`, :func:`binary` and :func:`multipart`) appended
    to ``out`` as :class:`email.generator.BytesGenerator` writes it under :data:`_TREE`: its
    headers, a blank line, then its payload's lines joined by CRLF (the last one as it ends), or
    each part after a boundary line and a closing boundary line (no preamble, no epilogue)."""
    for name, value in part.raw_items():
        out.append(_tree_folded(name, value))
    out.append(b"\r\n")
    payload = part.get_payload()
    if isinstance(payload, list):
        mark = f"--{part.get_boundary()}".encode("ascii")
        for index, child in enumerate(payload):
            out.append(mark + b"\r\n" if index == 0 else b"\r\n" + mark + b"\r\n")
            _tree_bytes(child, out)
        out.append(b"\r\n" + mark + b"--\r\n")
    elif isinstance(payload, str) and payload:
        out.append("\r\n".join(_LINE_END.split(payload)).encode("ascii", "surrogateescape"))
    return out


_LINE_END = re.compile(r"\r\n|\r|\n")  # email.generator's NLCRE


_FOLDED: dict[tuple[bool, str, type, str], bytes] = {}


def _folded(utf8: bool, name: str, value: BaseHeader) -> bytes:
    """``name: value`` folded for the wire, kept for the headers repeated in every message (see
    :class:`_Headers`). The folding depends only on the policy, the header's name and class and
    its text."""
    key = (utf8, name, type(value), str(value))
    folded = _FOLDED.get(key)
    if folded is None:
        if isinstance(value, AddressHeader):  # see .headers: the package folds these wrongly
            folded = fold_addresses(name, value)
        elif name.lower() in URL_LISTS and is_url_list(str(value)):  # nor may it encode these
            folded = fold_urls(name, str(value))
        else:
            folded = check_folded(name, (SMTPUTF8 if utf8 else SMTP).fold_binary(name, value))
        if len(_FOLDED) >= _REUSED:
            _FOLDED.clear()
        _FOLDED[key] = folded
    return folded


def needs_smtputf8(headers: EmailMessage) -> bool:
    """True when an address has a non-ASCII local part (RFC 6531: only SMTPUTF8 can carry it)."""
    return any(
        not a.username.isascii()
        for header in ("From", "To", "Reply-To")
        for a in getattr(headers[header], "addresses", ())
    )


# --- parts ----------------------------------------------------------------------------------------


def text(subtype: str, content: str) -> Message:
    """A ``text/<subtype>`` part in UTF-8, quoted-printable (readable where it is ASCII).

    >>> part = text("plain", "Café at 10:00 = fine")
    >>> part["Content-Type"], part.get_payload()
    ('text/plain; charset="utf-8"', 'Caf=C3=A9 at 10:00 =3D fine\\n')
    """
    lines = content.encode("utf-8").splitlines()
    body = b"\n".join(lines) + b"\n"
    # latin-1 maps each byte to one character: body_encode then writes =XX for every byte > 127
    return _leaf(
        f'text/{subtype}; charset="utf-8"',
        "quoted-printable",
        quoprimime.body_encode(body.decode("latin-1"), QP_LINE),
    )


def binary(content_type: str, data: bytes, *, filename: str | None = None) -> Message:
    """A base64 part carrying ``data`` byte for byte (a calendar keeps its CRLF line folding);
    an attachment named ``filename`` when given."""
    part = _leaf(content_type, "base64", base64.encodebytes(data).decode("ascii"))
    if filename is not None:
        part["Content-Disposition"] = f'attachment; filename="{filename}"'
    return part


def multipart(subtype: str, parts: Sequence[Message], *, seed: str, top: bool = False) -> Message:
    """A ``multipart/<subtype>`` part around ``parts``, its boundary derived from ``seed``;
    ``top``: the message's body, which also says ``MIME-Version: 1.0``."""
    container = Message()
    if top:
        container["MIME-Version"] = "1.0"
    container["Content-Type"] = f'multipart/{subtype}; boundary="{boundary(seed, subtype)}"'
    for part in parts:
        container.attach(part)
    return container


def boundary(seed: str, role: str) -> str:
    """``=_`` and 24 hex digits from ``seed`` and ``role`` (each multipart of a message differs;
    short enough that the Content-Type line needs no folding).

    >>> boundary("<a@b>", "mixed") == boundary("<a@b>", "mixed") != boundary("<a@b>", "alternative")
    True
    """
    return "=_" + hashlib.sha256(f"{seed}\n{role}".encode()).hexdigest()[:24]


def _leaf(content_type: str, encoding: str, payload: str) -> Message:
    part = Message()  # headers stored as written: they are constants of ours, ASCII, short
    part["Content-Type"] = content_type
    part["Content-Transfer-Encoding"] = encoding
    part.set_payload(payload)
    return part
