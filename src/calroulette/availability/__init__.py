"""A member's calendar feed → their free time in one week, as merged UTC intervals.

- :mod:`.rules`: the free/busy rules on a parsed calendar (:func:`free_time`); :mod:`.horizon`:
  :func:`free_times` for several weeks from one expansion, each week exactly
  :func:`free_time`'s answer;
- :mod:`.parse` and :mod:`.expansion`: icalendar's parse and recurring-ical-events' expansion,
  with the checks and repairs calroulette adds on top;
- :mod:`.reader`: :class:`FreeTimeReader`, the one way the service reads many members' free time
  (private parts: pruning before parsing, worker processes and a cache by feed content).
"""

from .horizon import free_times
from .parse import parse_calendar
from .reader import FreeTimeReader
from .rules import FreeTime, free_time, keyword_pattern, skipped_events

__all__ = [
    "FreeTime",
    "FreeTimeReader",
    "free_time",
    "free_times",
    "keyword_pattern",
    "parse_calendar",
    "skipped_events",
]
