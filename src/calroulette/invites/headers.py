"""Header fields that carry people, written so that each reads back as exactly what was set.

Every header is built through :mod:`email.headerregistry` (:mod:`.mime`), which parses and
checks it. Python 3.11's email package then needs three guards of ours on the way out:

- **Encoded words are decoded on the way in.** An RFC 2047 word (``=?utf-8?b?…?=``) anywhere in
  a value, a display name or an address's local part included, is decoded when the header is
  parsed, and the folder writes what it decodes to: a CR LF and a ``Bcc:`` header, say
  (CVE-2024-6923, fixed in later Pythons). :func:`check_value` refuses such a value, and any
  control character, before the email package sees it (members.toml refuses them first:
  :func:`calroulette.config.text.not_plain_text`).
- **Address lists are folded wrongly.** Folding a long From, To or Reply-To, the package can
  put the comma between two addresses inside an encoded word (``=?utf-8?q?=2C?=``: the two
  read as one, about one pair of non-ASCII names in twenty), and it drops the quotes of a
  display name it has to break (``"… <evil@attacker.example>, …"`` becomes an address of its
  own). :func:`fold_addresses` writes these fields itself, one mailbox after another.
- **An address in a list of addresses is encoded.** A ``List-Unsubscribe`` longer than a line
  is written as RFC 2047 words, which mail programs do not decode in it (RFC 2369: a list of
  ``<address>``es): the one-click link would be lost. :func:`fold_urls` writes it, folded
  between the addresses only.
- **Nothing may end a header early.** :func:`check_folded` refuses folded bytes in which a line
  break is not CR LF followed by a space or a tab (what newer Pythons check as
  ``verify_generated_headers``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from email.charset import Charset
from email.headerregistry import Address, AddressHeader
from typing import Any

from calroulette.config.text import CONTROL, ENCODED_WORD

LINE = 78  # RFC 5322 §2.1.1: lines SHOULD be at most 78 characters
_WORD = 75  # RFC 2047 §2: an encoded word is at most 75 characters
_QUOTED = 60  # a longer ASCII display name is written as encoded words, which can be folded

# A display name of atoms (RFC 5322 atext) separated by single spaces: written as it is.
_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
# Inside a folded header (before its final CRLF), a line may only break as CRLF then a space or
# a tab: anything else ends the header and starts another, or the body.
_BARE_LINE_BREAK = re.compile(rb"\r(?!\n)|(?<!\r)\n|\r\n(?![ \t])")
_UTF8 = Charset("utf-8")
MAX_LINE = 998  # RFC 5322 §2.1.1: lines MUST be at most 998 characters
# Fields that hold a list of <address>es (RFC 2369), written by fold_urls
URL_LISTS = frozenset({"list-unsubscribe"})
# One <address>, as fold_urls writes it: a scheme, then RFC 3986's characters, ASCII, no space
# and no comma (which separates the addresses)
_URL = re.compile(r"<[A-Za-z][A-Za-z0-9+.\-]*:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+;=%]+>")


def check_value(name: str, value: Any) -> None:
    """Refuse a value (text, an :class:`Address` or a list of them) that the email package
    would not write as itself: a control character, or an RFC 2047 encoded word."""
    items = value if isinstance(value, list | tuple) else [value]
    for item in items:
        parts = (
            (item.display_name, item.username, item.domain)
            if isinstance(item, Address)
            else (str(item),)
        )
        for part in parts:
            if CONTROL.search(part):  # what members.toml refuses: Cc but TAB, Zl, Zp
                raise ValueError(
                    f"{name}: {part!r} has a line break (CR, LF) or a control character"
                )
            if "=?" in part and ENCODED_WORD.search(part):
                raise ValueError(
                    f"{name}: {part!r} holds an RFC 2047 encoded word, which mail programs "
                    "would decode: refusing to write it"
                )


def check_folded(name: str, folded: bytes) -> bytes:
    """``folded`` when it is one header field, ending in CR LF; else ValueError."""
    if not folded.endswith(b"\r\n") or _BARE_LINE_BREAK.search(folded, 0, len(folded) - 2):
        raise ValueError(f"{name}: the folded header would start a new header line")
    return folded


def fold_addresses(name: str, header: AddressHeader) -> bytes:
    """``name: mailbox, mailbox…`` folded at :data:`LINE` characters, each display name written
    so that it reads back as itself: as atoms, as a quoted string (``\\`` and ``"`` escaped),
    or as RFC 2047 encoded words (non-ASCII, a tab, an ``=?``, or long).

    >>> from email.headerregistry import HeaderRegistry
    >>> people = [Address("Ada Lovelace", "ada", "x.org"), Address("Zoë, Ø", "zoe", "x.org")]
    >>> print(fold_addresses("Reply-To", HeaderRegistry()("Reply-To", people)).decode(), end="")
    Reply-To: Ada Lovelace <ada@x.org>, =?utf-8?b?Wm/Dqywgw5g=?= <zoe@x.org>
    """
    addresses = header.addresses
    tokens: list[str] = []
    for index, address in enumerate(addresses):
        comma = "," if index < len(addresses) - 1 else ""
        if address.display_name:
            tokens += _display_name(address.display_name)
            tokens.append(f"<{address.addr_spec}>{comma}")
        else:
            tokens.append(f"{address.addr_spec}{comma}")
    return _fold(name, tokens).encode("utf-8")


def _display_name(text: str) -> list[str]:
    """``text`` as tokens that may be folded between (a space, or nothing between encoded words,
    RFC 2047 §6.2)."""
    if "=?" not in text and _ATOMS.fullmatch(text):
        return text.split(" ")
    if "=?" not in text and text.isascii() and text.isprintable() and len(text) <= _QUOTED:
        return ['"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"']
    return [word for word in _UTF8.header_encode_lines(text, itertools.repeat(_WORD)) if word]


def _fold(name: str, tokens: Iterable[str]) -> str:
    """``name:`` and the tokens, a space between two, a line broken (CR LF and a space) before
    a token that would pass :data:`LINE`; a token longer than a line gets a line of its own."""
    lines: list[str] = []
    line = f"{name}:"
    for token in tokens:
        if len(line) + 1 + len(token) > LINE and line.strip():
            lines.append(line)
            line = ""
        line += " " + token
    lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def is_url_list(value: str) -> bool:
    """True when ``value`` is ``<address>, <address>…`` that :func:`fold_urls` can write."""
    return all(_URL.fullmatch(part.strip()) for part in value.split(","))


def fold_urls(name: str, value: str) -> bytes:
    """``name: <address>, <address>…`` (RFC 2369), folded between the addresses only: an
    address is never broken or encoded, so a long one (a signed link) makes a line longer than
    :data:`LINE`, as RFC 5322 allows up to :data:`MAX_LINE`.

    >>> print(fold_urls("List-Unsubscribe", "<https://x.example/u/" + "t" * 50 + ">, "
    ...     "<mailto:a@x.example>").decode().replace("t" * 50, "t…"), end="")
    List-Unsubscribe: <https://x.example/u/t…>,
     <mailto:a@x.example>
    """
    if not is_url_list(value):
        raise ValueError(f"{name}: {value!r} is not a list of <address>es (RFC 2369)")
    urls = [part.strip() for part in value.split(",")]
    tokens = [f"{url}," for url in urls[:-1]] + urls[-1:]
    lines = [f"{name}: {tokens[0]}"]
    for token in tokens[1:]:
        if len(lines[-1]) + 1 + len(token) > LINE:
            lines.append("")
        lines[-1] += " " + token
    if any(len(line) > MAX_LINE for line in lines):
        raise ValueError(f"{name}: an address is longer than a line of mail may be")
    return check_folded(name, ("\r\n".join(lines) + "\r\n").encode("ascii"))
