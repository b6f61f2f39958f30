"""Plan a week's round: who takes part, who can meet whom, a maximum matching, meeting times.

The core of calroulette: no clock, no I/O. Free time, ``now`` and the history come in as arguments
and a :class:`Round` comes out; the store keeps it, invites and delivery send it.
"""

from .model import (
    History,
    Meeting,
    Pair,
    Round,
    RoundError,
    RoundStatus,
    Unmatched,
    is_left_out_reason,
    pair,
)
from .plan import EXACT_LIMIT, default_seed, meeting_uid, plan_round

__all__ = [
    "EXACT_LIMIT",
    "History",
    "Meeting",
    "Pair",
    "Round",
    "RoundError",
    "RoundStatus",
    "Unmatched",
    "default_seed",
    "is_left_out_reason",
    "meeting_uid",
    "pair",
    "plan_round",
]
