"""A planned meeting → what people receive: the calendar object, one email per recipient in
their own zone, or a Discord post; and the keys that make each delivery happen once.

Pure: no network, no clock (``now`` comes in), no files. One module per concept:

- :mod:`.keys`: :class:`DeliveryKey`, :class:`Outgoing`, :class:`Kind`, :class:`Channel`;
- :mod:`.calendar`: the iTIP ``REQUEST``/``CANCEL`` object (RFC 5546);
- :mod:`.email`: the iMIP emails (RFC 6047) and the note to a member left out (its words:
  :mod:`.notes`);
- :mod:`.discord`: the webhook post;
- :mod:`.people`, :mod:`.link`: names, addresses, local times (``14:00 CET``, ``10:00 São
  Paulo time``), the meeting link;
- :mod:`.template`: every email's layout, as plain text and as a small HTML page;
- :mod:`.mime` and :mod:`.headers`: an email as it goes on the wire, every header checked.
"""

from .calendar import PRODID, build_calendar, summary
from .discord import discord_post, round_posts
from .email import meeting_emails, round_emails
from .keys import Channel, DeliveryKey, Kind, Outgoing, unmatched_uid
from .link import meeting_link, room_token, slug
from .people import ascii_domain

__all__ = [
    "PRODID",
    "Channel",
    "DeliveryKey",
    "Kind",
    "Outgoing",
    "ascii_domain",
    "build_calendar",
    "discord_post",
    "meeting_emails",
    "meeting_link",
    "room_token",
    "round_emails",
    "round_posts",
    "slug",
    "summary",
    "unmatched_uid",
]
