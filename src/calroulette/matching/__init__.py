"""Plan a week's round: who takes part, who can meet whom, a maximum matching, meeting times.

The core of calroulette: no clock, no I/O. Free time, ``now`` and the history come in as arguments
and a :class:`Round` comes out; the store keeps it, invites and delivery send it.
"""

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from .plan import EXACT_LIMIT, default_seed, meeting_uid, plan_round

_PLANNER = frozenset({"EXACT_LIMIT", "default_seed", "meeting_uid", "plan_round"})


def __getattr__(name: str) -> object:
    """The planner (and numpy with it) is imported on first use: the commands that only read or
    send rounds (`send`, `history`, `why` …) need the model, and numpy took ~0.15 s to import."""
    if name in _PLANNER:
        from . import plan

        return getattr(plan, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
