"""Text that goes into an email header, a calendar property or in front of people: one line, and
the text itself.

Pure: the loader (:mod:`.load`) turns each answer into a problem naming the member and the field;
:mod:`calroulette.invites.headers` checks the same rules again, as the last guard before a header
is written.
"""

from __future__ import annotations

import re


def not_one_line(value: str) -> str | None:
    """Why ``value`` cannot go into an email header or an iCalendar property, if it cannot.

    Besides CR and LF, Python's ``str.splitlines`` (and so its email package) and other mail and
    calendar tools break lines at VT, FF, FS/GS/RS, NEL and the Unicode line and paragraph
    separators; RFC 5322 and RFC 5545 allow no control character but TAB in a value.
    """
    if "\r" in value or "\n" in value:
        return "must be on one line (contains a line break)"
    found = CONTROL.search(value)
    if found is not None:
        return f"must be on one line (contains the control character U+{ord(found[0]):04X})"
    return None


# Every character of the Unicode categories Cc, Zl and Zp but TAB (tests/test_config.py checks the
# set against unicodedata): one search instead of a category lookup per character, which was
# most of loading a 10,000-member members.toml.
CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def not_plain_text(value: str) -> str | None:
    """Why ``value`` cannot be a name, an address or other text that reaches people, if it cannot.

    Besides :func:`not_one_line`: no RFC 2047 encoded word (``=?utf-8?b?…?=``). Mail programs,
    Python's email package among them, decode such a word wherever it appears in a header, even
    inside a quoted name or an address, so ``=?utf-8?b?RXZlDQpCY2M6IHZAeC5vcmc=?=`` becomes a line
    break and a Bcc: header in the partner's invitation. One that decodes to a line break or a
    control character is refused as that character is; any other is refused too, since nobody
    writes one by hand (TOML is UTF-8: write the text itself) and it would read differently in
    the headers, the body and the calendar.

    >>> not_plain_text("Eve =?utf-8?q?=0D=0A?=")
    "must be on one line (contains a line break, written as the encoded word '=?utf-8?q?=0D=0A?=')"
    >>> not_plain_text("=?utf-8?q?Zo=C3=AB?=")
    "must be the text itself, not the encoded word '=?utf-8?q?Zo=C3=AB?=' (write 'Zoë')"
    >>> not_plain_text("Ada =? Lovelace") is None
    True
    """
    problem = not_one_line(value)
    if problem or "=?" not in value:  # the fast path: almost every value
        return problem
    word = ENCODED_WORD.search(value)
    if word is None:
        return None
    shown = word[0] if len(word[0]) <= 40 else word[0][:39] + "…"
    # Decoded as the email package decodes it (its parser is lenient: missing base64 padding,
    # unknown charsets, words inside other words). Imported here: few values get this far.
    from email.policy import default

    decoded = str(default.header_factory("x-calroulette", value))
    problem = not_one_line(decoded)
    if problem:
        return f"{problem.removesuffix(')')}, written as the encoded word {shown!r})"
    hint = f" (write {decoded!r})" if decoded.strip() and decoded != value else ""
    return f"must be the text itself, not the encoded word {shown!r}{hint}"


# An RFC 2047 encoded word as Python's email parser finds one: ``=?charset?b-or-q?text?=``, the
# charset and text without a "?", anywhere in a value (RFC 2047 wants it between spaces; the
# parser, like other mail programs, is more lenient).
ENCODED_WORD = re.compile(r"=\?[^?]*\?[bq]\?[^?]*\?=", re.IGNORECASE)
