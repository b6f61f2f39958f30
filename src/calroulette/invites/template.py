"""Every email to a person, as a :class:`Letter` of a few kinds of block, written twice: as plain
text, and as a small HTML page that mail programs show well. Pure: strings in, strings out.

The HTML is what mail programs render, which is not what browsers render: Gmail keeps only
inline styles on elements (and a ``<style>`` block in the head, which Outlook.com and some
Android apps drop), Outlook for Windows lays out with Word (tables, no ``max-width``, no
``border-radius``), Apple Mail and Thunderbird are close to a browser. So:

- **Layout is tables and inline CSS**: a full-width background table, a centred card of at most
  :data:`WIDTH` pixels (a conditional ``<!--[if mso]>`` table gives Outlook for Windows its
  width), one column, system fonts, nothing loaded from anywhere (no image, no web font: many
  programs block them, and each is a tracking request).
- **The one** ``<style>`` **block** is a progressive enhancement: dark colours under
  ``prefers-color-scheme: dark`` (Apple Mail, Thunderbird, Outlook on the web and phones honour
  it; Gmail darkens by itself) and a little less padding on a narrow screen. Without it the
  email reads the same, in light colours.
- **A button is a link in a table cell** (the "bulletproof" pattern): the cell has the colour,
  so the button shows in Outlook too, and the link has the padding, so the whole of it clicks.
- **Everything is escaped**, and only the addresses handed in as ``links`` (ours: the meeting
  link, the member's own pages) become links: a member named ``https://evil.example/login`` is
  text in their partner's email, even where a paragraph quotes their name beside our link.

The plain part says the same, in the same order: a test reads the facts (when, with whom, the
link, the other times, the topics, "can't make it") out of both parts and compares them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

WIDTH = 560  # pixels: the card's width at most (readable lines; fits every mail program)
FONT = (
    "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif,"
    "'Apple Color Emoji','Segoe UI Emoji'"
)
# Light colours (inline), and their dark counterparts (the <style> block): text on each
# background has a contrast of at least 7:1 (body) or 4.5:1 (muted, the button's label).
PAGE, CARD, INK, MUTED, ACCENT, PANEL, RULE = (
    "#f3efe9",
    "#ffffff",
    "#1f2328",
    "#5b616b",
    "#7a3f1d",
    "#f8f4ee",
    "#e6dfd5",
)
_DARK = f"""
a {{ color: {ACCENT}; }}
p a, li a {{ word-break: break-all; }}
@media (prefers-color-scheme: dark) {{
  .cr-page {{ background-color: #141311 !important; }}
  .cr-card {{ background-color: #211f1c !important; }}
  .cr-ink {{ color: #efeae4 !important; }}
  .cr-ink a {{ color: #f0b993 !important; }}
  .cr-muted, .cr-muted a {{ color: #b7afa5 !important; }}
  .cr-brand {{ color: #e8a77c !important; }}
  .cr-panel {{ background-color: #2b2824 !important; border-color: #3a3631 !important; }}
  .cr-button {{ background-color: #e8a77c !important; }}
  .cr-button a {{ color: #1d120b !important; }}
  .cr-outline {{ border-color: #e8a77c !important; }}
  .cr-outline a, .cr-link {{ color: #f0b993 !important; }}
}}
@media (max-width: 480px) {{
  .cr-pad {{ padding-left: 20px !important; padding-right: 20px !important; }}
  .cr-outer {{ padding: 12px 8px !important; }}
}}
"""


# --- the blocks ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Para:
    """A paragraph (a line break stays one); ``muted``: smaller and grey, for asides."""

    text: str
    muted: bool = False


@dataclass(frozen=True, slots=True)
class Heading:
    """The title of the letter (HTML only: the plain part has its subject and first line)."""

    text: str


@dataclass(frozen=True, slots=True)
class Section:
    """A small heading before the blocks that follow: ``Other times you are both free:``;
    ``plain``: whether the plain part says it too (not when the next line repeats it)."""

    text: str
    plain: bool = True


@dataclass(frozen=True, slots=True)
class Items:
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Facts:
    """Labelled lines in a panel (``When: …``); ``first`` is shown larger."""

    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Button:
    """A link as a button. Plain text: ``{label}: {url}``, or ``text`` then the address when
    ``text`` is given (on the next line when ``text`` ends with a line break). HTML: ``lead``
    (if any) above the button, and with ``show_url`` the address under it as text to copy
    (not a second link)."""

    label: str
    url: str
    text: str | None = None
    lead: str | None = None
    show_url: bool = False
    outline: bool = False


Block = Para | Heading | Section | Items | Facts | Button


@dataclass(frozen=True, slots=True)
class Letter:
    brand: str  # the community's name, above everything
    blocks: tuple[Block, ...]
    footer: tuple[Button | Para, ...] = ()  # under the card, small: the member's own page
    preview: str = ""  # the line a mail program shows beside the subject in the inbox


def letter(
    brand: str,
    paragraphs: Sequence[str | Sequence[str] | Block],
    footer: Sequence[Button | Para] = (),
    preview: str = "",
) -> Letter:
    """A letter from the simple shape most emails have: a ``str`` is a paragraph, a sequence
    of strings a list; blocks pass through."""
    blocks: list[Block] = []
    for block in paragraphs:
        if isinstance(block, str):
            blocks.append(Para(block))
        elif isinstance(block, Para | Heading | Section | Items | Facts | Button):
            blocks.append(block)
        else:
            blocks.append(Items(tuple(block)))
    return Letter(brand, tuple(blocks), tuple(footer), preview)


# --- plain text ---------------------------------------------------------------------------------


def plain(letter: Letter) -> str:
    """The plain part: paragraphs apart by a blank line, lists indented, links written out."""
    out: list[str] = []
    after_section = False
    for block in (*letter.blocks, *letter.footer):
        if isinstance(block, Heading) or (isinstance(block, Section) and not block.plain):
            continue
        if after_section:  # a section's heading sits right above what it heads
            out[-1] += "\n" + _plain(block)
        else:
            out.append(_plain(block))
        after_section = isinstance(block, Section)
    return "\n\n".join(out) + "\n"


def _plain(block: Block) -> str:
    if isinstance(block, Para | Section):
        return block.text
    if isinstance(block, Items):
        return "\n".join(f"  - {item}" for item in block.items)
    if isinstance(block, Facts):
        return "\n".join(f"{label}: {value}" for label, value in block.rows)
    assert isinstance(block, Button)
    if block.text is None:
        return f"{block.label}: {block.url}"
    return f"{block.text}{block.url}" if block.text.endswith("\n") else f"{block.text} {block.url}"


# --- HTML ---------------------------------------------------------------------------------------


def page(letter: Letter, links: Collection[str] = (), *, title: str = "") -> str:
    """The HTML part. ``links``: the addresses of ours that may become links (a button's own
    address always is one); ``title``: the document's title (the subject)."""
    ours = _pattern(links)
    body = "\n".join(_html(block, ours) for block in letter.blocks)
    footer = "\n".join(_footer(block, ours) for block in letter.footer)
    preview = (
        f'<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">'
        f"{html.escape(letter.preview)}</div>\n"
        if letter.preview
        else ""
    )
    footer_row = (
        f'<tr><td class="cr-pad cr-muted" style="padding:16px 28px 0;font-family:{FONT};'
        f'font-size:13px;line-height:1.5;color:{MUTED}">\n{footer}\n</td></tr>\n'
        if footer
        else ""
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light dark">\n'
        '<meta name="supported-color-schemes" content="light dark">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_DARK}</style>\n</head>\n"
        f'<body class="cr-page" style="margin:0;padding:0;background-color:{PAGE};'
        '-webkit-text-size-adjust:100%;text-size-adjust:100%">\n'
        f"{preview}"
        '<table role="presentation" class="cr-page" width="100%" cellpadding="0" '
        f'cellspacing="0" border="0" style="background-color:{PAGE}">\n'
        '<tr><td class="cr-outer" align="center" style="padding:24px 12px">\n'
        f'<!--[if mso]><table role="presentation" width="{WIDTH}" align="center" '
        'cellpadding="0" cellspacing="0" border="0"><tr><td><![endif]-->\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        f'style="max-width:{WIDTH}px">\n'
        f'<tr><td class="cr-card" style="background-color:{CARD};border-radius:12px">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">\n'
        f'<tr><td class="cr-pad cr-brand" style="padding:24px 28px 0;font-family:{FONT};'
        f"font-size:13px;line-height:1.4;font-weight:600;letter-spacing:0.04em;"
        f'text-transform:uppercase;color:{ACCENT}">{html.escape(letter.brand)}</td></tr>\n'
        f'<tr><td class="cr-pad cr-ink" style="padding:8px 28px 12px;font-family:{FONT};'
        f'font-size:16px;line-height:1.55;color:{INK}">\n{body}\n</td></tr>\n'
        "</table>\n</td></tr>\n"
        f"{footer_row}"
        "</table>\n<!--[if mso]></td></tr></table><![endif]-->\n"
        "</td></tr>\n</table>\n</body>\n</html>\n"
    )


def _html(block: Block, ours: re.Pattern[str] | None) -> str:
    if isinstance(block, Heading):
        return (
            f'<h1 class="cr-ink" style="margin:4px 0 12px;font-family:{FONT};font-size:24px;'
            f'line-height:1.25;font-weight:700;color:{INK}">{html.escape(block.text)}</h1>'
        )
    if isinstance(block, Section):
        return (
            f'<h2 class="cr-ink" style="margin:24px 0 6px;font-family:{FONT};font-size:16px;'
            f'line-height:1.4;font-weight:700;color:{INK}">{html.escape(block.text)}</h2>'
        )
    if isinstance(block, Para):
        text = "<br>\n".join(_linkify(line, ours) for line in block.text.split("\n"))
        if block.muted:
            return (
                f'<p class="cr-muted" style="margin:0 0 16px;font-size:14px;line-height:1.5;'
                f'color:{MUTED}">{text}</p>'
            )
        return f'<p style="margin:0 0 16px">{text}</p>'
    if isinstance(block, Items):
        items = "".join(
            f'<li style="margin:0 0 4px">{_phrases(item, ours)}</li>' for item in block.items
        )
        return f'<ul style="margin:0 0 16px;padding:0 0 0 22px">{items}</ul>'
    if isinstance(block, Facts):
        return _facts(block, ours)
    return _button(block, ours)


def _facts(block: Facts, ours: re.Pattern[str] | None) -> str:
    rows = []
    for n, (label, value) in enumerate(block.rows):
        size, weight = ("18px", "700") if n == 0 else ("15px", "400")
        rows.append(
            "<tr>"
            f'<td class="cr-muted" valign="top" style="padding:3px 12px 3px 0;width:1%;'
            f"white-space:nowrap;font-family:{FONT};font-size:13px;line-height:1.9;"
            f'font-weight:600;text-transform:uppercase;letter-spacing:0.04em;color:{MUTED}">'
            f"{html.escape(label)}</td>"
            f'<td class="cr-ink" valign="top" style="padding:3px 0;font-family:{FONT};'
            f'font-size:{size};line-height:1.45;font-weight:{weight};color:{INK}">'
            f"{_phrases(value, ours)}</td></tr>"
        )
    return (
        '<table role="presentation" class="cr-panel" width="100%" cellpadding="0" '
        f'cellspacing="0" border="0" style="margin:4px 0 20px;background-color:{PANEL};'
        f'border:1px solid {RULE};border-radius:10px">\n'
        '<tr><td style="padding:14px 16px">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">'
        + "".join(rows)
        + "</table>\n</td></tr></table>"
    )


def _button(block: Button, ours: re.Pattern[str] | None) -> str:
    url = html.escape(block.url, quote=True)
    label = html.escape(block.label)
    if block.outline:
        cell = f'class="cr-outline" style="border:2px solid {ACCENT};border-radius:8px"'
        link = (
            f'<a href="{url}" style="display:inline-block;padding:9px 20px;font-family:{FONT};'
            f"font-size:15px;line-height:1.2;font-weight:600;color:{ACCENT};"
            f'text-decoration:none;border-radius:8px">{label}</a>'
        )
    else:
        cell = f'class="cr-button" style="background-color:{ACCENT};border-radius:8px"'
        link = (
            f'<a href="{url}" style="display:inline-block;padding:13px 32px;font-family:{FONT};'
            "font-size:17px;line-height:1.2;font-weight:700;color:#ffffff;"
            f'text-decoration:none;border-radius:8px">{label}</a>'
        )
    before = f'<p style="margin:0 0 12px">{_linkify(block.lead, ours)}</p>\n' if block.lead else ""
    after = (
        f'\n<p class="cr-muted" style="margin:0 0 16px;font-size:13px;line-height:1.5;'
        f'color:{MUTED};word-break:break-all">{html.escape(block.url)}</p>'
        if block.show_url
        else ""
    )
    spacing = "0 0 8px" if block.show_url else "0 0 16px"
    return (
        f"{before}"
        '<table role="presentation" cellpadding="0" cellspacing="0" border="0" '
        f'style="margin:{spacing}"><tr><td {cell}>{link}</td></tr></table>{after}'
    )


def _footer(block: Button | Para, ours: re.Pattern[str] | None) -> str:
    if isinstance(block, Para):
        text = "<br>\n".join(_linkify(line, ours) for line in block.text.split("\n"))
        return f'<p style="margin:0 0 8px">{text}</p>'
    url = html.escape(block.url, quote=True)
    return (
        f'<p style="margin:0 0 8px"><a href="{url}" class="cr-link" style="color:{MUTED};'
        f'text-decoration:underline">{html.escape(block.label)}</a></p>'
    )


_PHRASE = 32  # characters: a phrase this short is kept on one line
_BREAKS = re.compile(r"(?<=,) | (?=\()")  # after a comma, before a parenthesis


def _phrases(text: str, ours: re.Pattern[str] | None) -> str:
    """``text`` escaped, its short phrases each kept on one line, so a narrow screen breaks
    ``Tuesday 1 December 2026, 14:00–14:30 GMT (London time)`` between them and not inside
    ``14:00–14:30``; a parenthesis is quieter. Text with a link of ours, or a phrase too long
    for a phone, is left to wrap as it likes."""
    parts = _BREAKS.split(text)
    if (ours is not None and ours.search(text)) or any(len(p) > _PHRASE for p in parts):
        return _linkify(text, ours)
    out = []
    for part in parts:
        quiet = part.startswith("(")
        style = "white-space:nowrap" + (";font-weight:400;color:" + MUTED if quiet else "")
        css = ' class="cr-muted"' if quiet else ""
        out.append(f'<span{css} style="{style}">{html.escape(part)}</span>')
    return " ".join(out)


def _pattern(links: Collection[str]) -> re.Pattern[str] | None:
    links = [url for url in links if url]
    if not links:
        return None
    return re.compile("|".join(re.escape(url) for url in sorted(set(links), key=len, reverse=True)))


def _linkify(line: str, ours: re.Pattern[str] | None) -> str:
    """Escape ``line``; each of our addresses in it becomes a link (escaped once, so ``&`` in a
    query survives). Nothing else does, even when it reads like an address: a member could
    name themself ``https://evil.example/login``, and their partner's email must not offer it
    as a link."""
    if ours is None:
        return html.escape(line)
    out, last = [], 0
    for match in ours.finditer(line):
        url = html.escape(match.group(0), quote=True)
        # a bare <a href> (coloured by the <style> block): the address is its own text
        out += [html.escape(line[last : match.start()]), f'<a href="{url}">{url}</a>']
        last = match.end()
    return "".join([*out, html.escape(line[last:])])
