"""members.toml: the community's rules and its members, as frozen values (:mod:`.model`), read
with every problem reported at once (:mod:`.load`), edited in place (:mod:`.roster`) and started
from a commented template (:mod:`.template`)."""

from .address import unreadable_scheme
from .load import load_community, parse_community
from .model import (
    Community,
    Delivery,
    DeliveryMethod,
    Frequency,
    Member,
    MemberStatus,
    Replies,
    SignupMode,
    SmtpSecurity,
    Unsubscribe,
    Web,
    Weekday,
)

__all__ = [
    "Community",
    "Delivery",
    "DeliveryMethod",
    "Frequency",
    "Member",
    "MemberStatus",
    "Replies",
    "SignupMode",
    "SmtpSecurity",
    "Unsubscribe",
    "Web",
    "Weekday",
    "load_community",
    "parse_community",
    "unreadable_scheme",
]
