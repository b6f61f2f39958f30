"""Plan a week's round: who takes part, who can meet whom, a maximum matching, meeting times.

The core of calroulette: no clock, no I/O. Free time, ``now`` and the history come in as arguments
and a :class:`Round` comes out; the store keeps it, invites and delivery send it.

This package exports the values a round is made of (:mod:`.model`, :mod:`.reasons`), which every
layer above reads. The planner itself, :func:`.plan.plan_round` (numpy, networkx), is imported
from :mod:`.plan` by the one operation that plans, so that reading or sending a round never
loads it.
"""

from .model import History, Meeting, MeetingStatus, Pair, Round, RoundError, RoundStatus, pair
from .reasons import Reason, Unmatched

__all__ = [
    "History",
    "Meeting",
    "MeetingStatus",
    "Pair",
    "Reason",
    "Round",
    "RoundError",
    "RoundStatus",
    "Unmatched",
    "pair",
]
