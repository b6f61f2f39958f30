"""SQLite at the edge: the history database (rounds, meetings, the deliveries ledger).

:func:`open_store` opens it and upgrades its schema; a :class:`Store` reaches its tables through
``store.rounds`` (:mod:`.rounds`) and ``store.deliveries`` (:mod:`.deliveries`).
"""

from .attendance import AnswerSource, Attendance, Attendances, Met, PartStat
from .db import Store, StoreError, open_store
from .deliveries import Deliveries, DeliveryRow, DeliveryStatus, RoundState, WeekDeliveries
from .identities import Identities
from .inbox import Inbox, InboxOutcome, InboxRow
from .links import Links
from .migrations import MIGRATIONS
from .releases import Release, ReleaseOutcome, Releases
from .rounds import SHORT_ID, FoundMeeting, Rounds, short_id
from .signups import Signup, Signups, SignupState
from .transaction import transaction

__all__ = [
    "MIGRATIONS",
    "SHORT_ID",
    "AnswerSource",
    "Attendance",
    "Attendances",
    "Deliveries",
    "DeliveryRow",
    "DeliveryStatus",
    "FoundMeeting",
    "Identities",
    "Inbox",
    "InboxOutcome",
    "InboxRow",
    "Links",
    "Met",
    "PartStat",
    "Release",
    "ReleaseOutcome",
    "Releases",
    "RoundState",
    "Rounds",
    "Signup",
    "SignupState",
    "Signups",
    "Store",
    "StoreError",
    "WeekDeliveries",
    "open_store",
    "short_id",
    "transaction",
]
