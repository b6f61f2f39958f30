"""What the reminders and "did you meet?" follow-ups need from the history, read cheaply: the
meetings still going to happen whose start falls in a span of time, the reminder and follow-up
deliveries already recorded for them (their keys, never their bytes: every run of a 10,000-member
community looks at a week of meetings), and when the last look was taken.

Not wired into :class:`~.db.Store` (its owner may add ``store.reminders``): make one on a
store's connection, ``Reminders(store.conn)``. Writes happen inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Collection

from calroulette.intervals import Interval
from calroulette.invites import Channel, DeliveryKey, Kind
from calroulette.matching import Meeting, MeetingStatus, RoundStatus
from calroulette.timeutil import IsoWeek, format_utc, parse_utc

from .rounds import FoundMeeting

CHECKED = "reminders-checked-at"  # the meta key: when send_due last looked


class Reminders:
    """Reminder and follow-up reads and the checkpoint, on one connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def meetings_between(self, start: dt.datetime, end: dt.datetime) -> list[FoundMeeting]:
        """The meetings of sent rounds that are still on (invited or moved, not planned or
        cancelled) and start in ``[start, end)``, soonest first. The weeks are bounded too (a
        day either side, for the zones), so SQLite reads only those weeks' meetings."""
        low = IsoWeek.containing((start - dt.timedelta(days=1)).date())
        high = IsoWeek.containing((end + dt.timedelta(days=1)).date())
        rows = self.conn.execute(
            "SELECT m.week, m.uid, m.start, m.end, m.sequence, m.status, m.alternatives"
            " FROM meetings AS m JOIN rounds AS r USING (week)"
            " WHERE m.week >= ? AND m.week <= ? AND r.status = ? AND m.status IN (?, ?)"
            " AND m.start >= ? AND m.start < ? ORDER BY m.start, m.uid",
            (
                str(low),
                str(high),
                RoundStatus.SENT,
                MeetingStatus.INVITED,
                MeetingStatus.MOVED,
                format_utc(start),
                format_utc(end),
            ),
        ).fetchall()
        if not rows:
            return []
        members: dict[str, list[str]] = {}
        uids = [str(row[1]) for row in rows]
        for chunk in range(0, len(uids), 500):  # SQLite's limit on bound values
            part = uids[chunk : chunk + 500]
            marks = ",".join("?" * len(part))
            for uid, email in self.conn.execute(
                f"SELECT uid, email FROM meeting_members WHERE uid IN ({marks})"  # noqa: S608
                " ORDER BY uid, email",
                part,
            ):
                members.setdefault(str(uid), []).append(str(email))
        found = []
        for week, uid, begin, finish, sequence, status, alternatives in rows:
            meeting = Meeting(
                uid=str(uid),
                members=tuple(members.get(str(uid), ())),
                start=parse_utc(begin),
                end=parse_utc(finish),
                alternatives=tuple(
                    Interval(parse_utc(a), parse_utc(b)) for a, b in json.loads(alternatives)
                ),
                sequence=int(sequence),
                status=MeetingStatus(status),
            )
            found.append(FoundMeeting(IsoWeek.parse(week), meeting, RoundStatus.SENT))
        return found

    def recorded(
        self, uids: Collection[str], kinds: Collection[Kind] = (Kind.REMINDER, Kind.FOLLOWUP)
    ) -> dict[DeliveryKey, str]:
        """The deliveries of ``kinds`` recorded for the meetings ``uids``, whatever their
        sequence: key → status (``pending``, ``sent``, ``failed``, ``replaced``).

        Read by the ledger's primary key, whose text starts with the meeting's UID and a ``|``
        (:meth:`DeliveryKey.__str__`): a range of the key's own index, no message bytes."""
        wanted = {str(k) for k in kinds}
        out: dict[DeliveryKey, str] = {}
        for uid in sorted(set(uids)):
            # "}" follows "|" in ASCII: every key of this meeting and no other (UIDs hold no "|")
            keys = [
                str(k)
                for (k,) in self.conn.execute(
                    "SELECT key FROM deliveries WHERE key >= ? AND key < ?",
                    (f"{uid}|", f"{uid}}}"),
                )
            ]
            for text in keys:
                key = _parse_key(text)
                if key is None or key.kind not in wanted:
                    continue
                (status,) = self.conn.execute(
                    "SELECT status FROM deliveries WHERE key = ?", (text,)
                ).fetchone()
                out[key] = str(status)
        return out

    def pending(
        self, since: IsoWeek, kinds: Collection[Kind] = (Kind.REMINDER, Kind.FOLLOWUP)
    ) -> list[str]:
        """The meetings of the weeks from ``since`` on with a pending delivery of ``kinds`` (to
        retry, or to withdraw)."""
        marks = ",".join("?" * len(kinds))
        where = f"week >= ? AND status = 'pending' AND kind IN ({marks})"
        sql = f"SELECT DISTINCT meeting_uid FROM deliveries WHERE {where}"  # noqa: S608 - "?"s
        rows = self.conn.execute(sql, [str(since), *(str(k) for k in kinds)])
        return [str(uid) for (uid,) in rows]

    def checked_at(self) -> dt.datetime | None:
        """When the reminders were last looked at (None: never)."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (CHECKED,)).fetchone()
        return parse_utc(str(row[0])) if row else None

    def mark_checked(self, at: dt.datetime) -> None:
        """Remember ``at`` as the last look (never moved back: a clock set back, or a run with
        an older ``now``, does not report again what was already reported)."""
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
            " SET value = max(value, excluded.value)",
            (CHECKED, format_utc(at)),
        )


def _parse_key(text: str) -> DeliveryKey | None:
    """A ledger key's text back into its parts (None: not one of ours)."""
    uid, _, rest = text.partition("|")
    recipient, *tail = rest.rsplit("|", 3)  # an address may hold a "|"; the rest cannot
    if len(tail) != 3 or not tail[2].isdigit():
        return None
    channel, kind, sequence = tail
    try:
        return DeliveryKey(uid, recipient, Channel(channel), Kind(kind), int(sequence))
    except ValueError:
        return None
