"""The history database's schema, as the list of scripts that build it, oldest first.

Each script runs in its own transaction together with ``PRAGMA user_version``, so an interrupted
upgrade leaves the previous version intact. To change the schema, APPEND a script; never edit one
that has shipped (a database already past it would never see the change). Foreign keys are off
while the scripts run (SQLite's procedure for changing a table: a ``DROP TABLE`` would otherwise
cascade into the rows that reference it) and checked before each commit.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: rounds and everything in them.
    """
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    -- Mixed into meeting UIDs (and so into meeting links): random per database.
    INSERT INTO meta (key, value) VALUES ('secret', lower(hex(randomblob(16))));
    CREATE TABLE rounds (
        week       TEXT PRIMARY KEY,  -- 2026-W49
        seed       INTEGER NOT NULL,
        status     TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'sent')),
        planned_at TEXT NOT NULL,
        sent_at    TEXT
    );
    CREATE TABLE meetings (
        uid          TEXT PRIMARY KEY,
        week         TEXT NOT NULL REFERENCES rounds (week) ON DELETE CASCADE,
        start        TEXT NOT NULL,
        end          TEXT NOT NULL,
        sequence     INTEGER NOT NULL DEFAULT 0,
        status       TEXT NOT NULL DEFAULT 'scheduled'
                     CHECK (status IN ('scheduled', 'cancelled')),
        alternatives TEXT NOT NULL DEFAULT '[]'  -- JSON: [["…Z", "…Z"], …]
    );
    CREATE INDEX meetings_week ON meetings (week);
    CREATE TABLE meeting_members (
        uid   TEXT NOT NULL REFERENCES meetings (uid) ON DELETE CASCADE,
        email TEXT NOT NULL,
        PRIMARY KEY (uid, email)
    );
    CREATE INDEX meeting_members_email ON meeting_members (email);
    CREATE TABLE unmatched (
        week   TEXT NOT NULL REFERENCES rounds (week) ON DELETE CASCADE,
        email  TEXT NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (week, email)
    );
    CREATE TABLE errors (
        week  TEXT NOT NULL REFERENCES rounds (week) ON DELETE CASCADE,
        email TEXT NOT NULL,
        error TEXT NOT NULL,
        PRIMARY KEY (week, email)
    );
    """,
    # 2: the deliveries ledger: one row per (meeting, recipient, channel, kind, sequence).
    """
    CREATE TABLE IF NOT EXISTS deliveries (
        key          TEXT PRIMARY KEY,  -- meeting_uid|recipient|channel|kind|sequence
        week         TEXT NOT NULL,
        meeting_uid  TEXT NOT NULL,
        recipient    TEXT NOT NULL,
        channel      TEXT NOT NULL,
        kind         TEXT NOT NULL,
        sequence     INTEGER NOT NULL,
        message_id   TEXT NOT NULL,
        payload      BLOB NOT NULL,     -- the exact bytes to send (RFC 5322 message or JSON body)
        ics          BLOB,
        status       TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sent', 'failed')),
        attempts     INTEGER NOT NULL DEFAULT 0,
        last_error   TEXT,
        created_at   TEXT NOT NULL,
        sent_at      TEXT
    );
    CREATE INDEX IF NOT EXISTS deliveries_week ON deliveries (week, status);
    """,
    # 3: states and reasons as codes. Until now a left-out member's reason was only a sentence,
    # and the rules read its first word; the sentence becomes `message` and the code `reason`,
    # converted here once from the sentences calroulette wrote (the last `ELSE` is what the old
    # rule made of any other sentence: left out for want of a partner). A meeting's status
    # becomes planned / invited / moved / cancelled (a CHECK cannot be altered: a new table).
    """
    ALTER TABLE unmatched RENAME COLUMN reason TO message;
    ALTER TABLE unmatched ADD COLUMN reason TEXT NOT NULL DEFAULT 'no-shared-time'
        CHECK (reason IN ('paused', 'frequency', 'feed-error', 'no-free-time', 'no-shared-time',
                          'only-teammates', 'cooldown', 'all-paired'));
    UPDATE unmatched SET reason = CASE
        WHEN message LIKE 'paused%' THEN 'paused'
        WHEN message LIKE 'frequency%' THEN 'frequency'
        WHEN message LIKE 'feed error%' THEN 'feed-error'
        WHEN message LIKE 'no shared free time with anyone (no free time%' THEN 'no-free-time'
        WHEN message = 'no shared free time with anyone outside their team' THEN 'only-teammates'
        WHEN message LIKE 'cooldown%' THEN 'cooldown'
        WHEN message LIKE 'everyone compatible%' THEN 'all-paired'
        ELSE 'no-shared-time'
    END;
    CREATE TABLE meetings_3 (
        uid          TEXT PRIMARY KEY,
        week         TEXT NOT NULL REFERENCES rounds (week) ON DELETE CASCADE,
        start        TEXT NOT NULL,
        end          TEXT NOT NULL,
        sequence     INTEGER NOT NULL DEFAULT 0,
        status       TEXT NOT NULL DEFAULT 'planned'
                     CHECK (status IN ('planned', 'invited', 'moved', 'cancelled')),
        alternatives TEXT NOT NULL DEFAULT '[]'  -- JSON: [["…Z", "…Z"], …]
    );
    INSERT INTO meetings_3 (uid, week, start, end, sequence, status, alternatives)
        SELECT m.uid, m.week, m.start, m.end, m.sequence,
            CASE
                WHEN m.status = 'cancelled' THEN 'cancelled'
                WHEN r.status = 'planned' THEN 'planned'
                WHEN m.sequence > 0 THEN 'moved'
                ELSE 'invited'
            END,
            m.alternatives
        FROM meetings AS m LEFT JOIN rounds AS r USING (week);
    DROP TABLE meetings;
    ALTER TABLE meetings_3 RENAME TO meetings;
    CREATE INDEX meetings_week ON meetings (week);
    """,
    # 4: recovering deliveries, and honest notes. `retry_at`: a message that failed for now is
    # tried again from then on (backing off run after run). `replaced`: a message that will never
    # go out because a corrected one replaces it (the member's email was fixed). `identities`: a
    # keyed hash of each member's calendar address by email, to recognise a member whose email
    # changed in members.toml (never the address itself). `unmatched.first_next` and
    # `cooldown_ends`: what the note to a member left out may promise, decided when the round is
    # planned (the note is written when it is sent, from the stored round); older rows promise
    # nothing.
    """
    ALTER TABLE unmatched ADD COLUMN first_next INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE unmatched ADD COLUMN cooldown_ends TEXT;
    CREATE TABLE deliveries_4 (
        key          TEXT PRIMARY KEY,  -- meeting_uid|recipient|channel|kind|sequence
        week         TEXT NOT NULL,
        meeting_uid  TEXT NOT NULL,
        recipient    TEXT NOT NULL,
        channel      TEXT NOT NULL,
        kind         TEXT NOT NULL,
        sequence     INTEGER NOT NULL,
        message_id   TEXT NOT NULL,
        payload      BLOB NOT NULL,     -- the exact bytes to send (RFC 5322 message or JSON body)
        ics          BLOB,
        status       TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sent', 'failed', 'replaced')),
        attempts     INTEGER NOT NULL DEFAULT 0,
        last_error   TEXT,
        created_at   TEXT NOT NULL,
        sent_at      TEXT,
        retry_at     TEXT               -- pending: not tried again before this time
    );
    INSERT INTO deliveries_4 (key, week, meeting_uid, recipient, channel, kind, sequence,
            message_id, payload, ics, status, attempts, last_error, created_at, sent_at)
        SELECT key, week, meeting_uid, recipient, channel, kind, sequence, message_id, payload,
            ics, status, attempts, last_error, created_at, sent_at
        FROM deliveries ORDER BY rowid;
    DROP TABLE deliveries;
    ALTER TABLE deliveries_4 RENAME TO deliveries;
    CREATE INDEX deliveries_week ON deliveries (week, status);
    CREATE TABLE identities (
        email        TEXT PRIMARY KEY,
        calendar_key TEXT NOT NULL,  -- HMAC of the calendar address with the database's secret
        seen_at      TEXT NOT NULL
    );
    CREATE INDEX identities_key ON identities (calendar_key);
    """,
    # 5: the web page. Sign-ups waiting for their email to be confirmed (double opt-in) or for
    # the organizer's approval; and each member's link version, which every signed link carries:
    # asking for a new link raises it, and older links stop working.
    """
    CREATE TABLE signups (
        id           TEXT PRIMARY KEY,  -- random; named by the confirmation link's token
        email        TEXT NOT NULL,
        name         TEXT NOT NULL,
        calendar     TEXT NOT NULL,     -- the secret address: cleared once decided
        timezone     TEXT NOT NULL,
        topics       TEXT NOT NULL DEFAULT '[]',  -- JSON list
        team         TEXT,
        frequency    TEXT NOT NULL DEFAULT 'weekly',
        state        TEXT NOT NULL DEFAULT 'unconfirmed'
                     CHECK (state IN ('unconfirmed', 'pending', 'joined', 'rejected', 'expired')),
        created_at   TEXT NOT NULL,
        confirmed_at TEXT,
        decided_at   TEXT
    );
    CREATE INDEX signups_email ON signups (email, state);
    CREATE TABLE links (
        email      TEXT PRIMARY KEY,
        version    INTEGER NOT NULL DEFAULT 0,
        changed_at TEXT NOT NULL
    );
    """,
    # 6: the week between the invitation and the coffee. What each attendee said of a meeting:
    # their PARTSTAT from a calendar app's iTIP REPLY or the "can't make it" link, and whether it
    # happened ("did you meet?"); the inbox messages already handled (or reported once); and
    # who was released by a cancellation in a week (candidates for another partner).
    """
    CREATE TABLE attendance (
        uid         TEXT NOT NULL,
        email       TEXT NOT NULL,
        partstat    TEXT CHECK (partstat IN ('ACCEPTED', 'DECLINED', 'TENTATIVE')),
        sequence    INTEGER,           -- of the invitation the answer was about
        source      TEXT CHECK (source IN ('reply', 'link')),
        answered_at TEXT,
        met         TEXT CHECK (met IN ('yes', 'no')),
        met_at      TEXT,
        PRIMARY KEY (uid, email)
    );
    CREATE TABLE inbox (
        message    TEXT PRIMARY KEY,   -- the Message-ID (or a hash of the message)
        outcome    TEXT NOT NULL,      -- a code: recorded, stranger, stale, not-itip, unreadable
        detail     TEXT NOT NULL DEFAULT '',
        seen_at    TEXT NOT NULL
    );
    CREATE TABLE releases (
        week        TEXT NOT NULL,
        email       TEXT NOT NULL,
        uid         TEXT NOT NULL,     -- the cancelled meeting that released them
        released_at TEXT NOT NULL,
        outcome     TEXT,              -- rematched (a new meeting's uid in detail), told, pending
        detail      TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (week, email, uid)
    );
    """,
]
