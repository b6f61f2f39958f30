"""Text from members and feeds, shown in a terminal as written: never read as markup or commands.

Names, topics, a feed's UID in an error, the reasons kept in the history: any of it may hold
``[bold]`` or ``[link=https://…]`` (rich markup: printed as a string, it would be parsed, and a
stray ``[/bold]`` raises MarkupError), ``:warning:`` (an emoji code rich replaces) or an escape
sequence (``ESC [ 2 J`` clears the screen). So whatever came from outside reaches a rich
console as a :class:`rich.text.Text`, which rich prints as it is, with every control character
shown as an escape (``\\x1b``).

HTML is escaped where it is written (:mod:`.page`, the emails); the JSON shapes need nothing.
"""

from __future__ import annotations

import re

from rich.text import Text

# C0 and C1 controls (TAB and line breaks too: a cell or a line must not split or forge another
# line), the Unicode line and paragraph separators, and the bidirectional embeddings, overrides
# and isolates, which reorder what a terminal shows ("Trojan Source").
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(value: str) -> str:
    """``value`` with each control character written as its escape.

    >>> printable("Ada\\x1b[2J\\nLovelace")
    'Ada\\\\x1b[2J\\\\nLovelace'
    >>> printable("Zoë Ødegård [bold]") == "Zoë Ødegård [bold]"
    True
    """
    if _UNPRINTABLE.search(value) is None:
        return value
    return _UNPRINTABLE.sub(_escape, value)


def _escape(match: re.Match[str]) -> str:
    return match[0].encode("unicode_escape").decode("ascii")


def literal(value: str) -> Text:
    """``value`` for a rich console or table cell: printed exactly as written, nothing parsed.

    >>> literal("[/bold][link=https://evil.example]click :warning:").plain
    '[/bold][link=https://evil.example]click :warning:'
    """
    return Text(printable(value))
