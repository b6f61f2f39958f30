"""Small calendar bodies the CLI tests serve: free on Tuesdays, and a calendar with only meetings.

``MARKER`` is a secret address segment the tests look for in every output (it must never show).
"""

from __future__ import annotations

MARKER = "private-SECRETMARKER7f3a9c"

# Tuesdays 09:00-10:30 UTC = 10:00-11:30 in Berlin (CET, UTC+1) in 2026-W49.
FREE_TUESDAYS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//calroulette tests//EN\r
BEGIN:VEVENT\r
UID:free-tuesdays@test\r
DTSTAMP:20261101T000000Z\r
DTSTART:20261103T090000Z\r
DTEND:20261103T103000Z\r
RRULE:FREQ=WEEKLY\r
SUMMARY:Free for coffee\r
END:VEVENT\r
END:VCALENDAR\r
"""

ONLY_MEETINGS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//calroulette tests//EN\r
BEGIN:VEVENT\r
UID:standup@test\r
DTSTAMP:20261101T000000Z\r
DTSTART:20261103T090000Z\r
DTEND:20261103T093000Z\r
RRULE:FREQ=DAILY\r
SUMMARY:Standup\r
END:VEVENT\r
END:VCALENDAR\r
"""
