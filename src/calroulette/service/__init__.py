"""The operations: one function per command, named like it, over the community, the history
database and ``now``; each returns a typed result that ``render`` turns into text.

The CLI (and the web page) parse their input, call one of these, render the result and choose an
exit code; nothing else combines the edges (feeds, store, delivery) with the core. Each operation
is imported on first use: ``send`` must not pay for the planner's imports, nor ``--help`` for any.

=================  ===================================================
operation          module
=================  ===================================================
``match``          :mod:`.planning` (with ``why`` and ``history``)
``send``, ``run``  :mod:`.sending`
``cancel``         :mod:`.meetings` (with ``reschedule``)
``check``          :mod:`.health`
``slots``          :mod:`.calendars` (with ``overlap`` and ``preview``)
``members_*``      :mod:`.members` (add, remove, pause, resume, list)
``init``           :mod:`.setup`
``serve``          :mod:`.web` (with the signed links in emails)
``signup*``        :mod:`.joining` (the web page's sign-up; emails: :mod:`.notices`)
``members_pe…``    :mod:`.approval` (pending, approve, reject: sign-ups to approve)
``admin_overview`` :mod:`.admin` (the organizer's page)
``member_*``       :mod:`.selfservice` (a member's own page; with ``link_request`` and
                   ``unsubscribe``)
``stats``          :mod:`.figures` (members, meetings and rates per week; read-only)
``cant_*``         :mod:`.cant` ("can't make it": the page, move, cancel; with ``decline``
                   and ``rematch_due``, which ``replies`` and ``run`` call)
``met_answer``     :mod:`.met` ("did you meet?" answered from a follow-up's link; the
                   reminders and follow-ups are :mod:`.reminders`, which ``run`` calls)
=================  ===================================================
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .admin import admin_overview
    from .approval import members_approve, members_pending, members_reject
    from .calendars import overlap, preview, slots
    from .cant import cant_cancel, cant_move, cant_page
    from .community import load
    from .figures import stats
    from .health import check
    from .joining import signup, signup_confirm, signup_preview
    from .meetings import cancel, reschedule
    from .members import (
        members_add,
        members_list,
        members_pause,
        members_remove,
        members_resume,
    )
    from .met import met_answer
    from .planning import history, match, why
    from .selfservice import (
        link_request,
        member_calendar,
        member_leave,
        member_page,
        member_pause,
        member_resume,
        member_settings,
        member_skip,
        unsubscribe,
    )
    from .sending import run, send
    from .setup import init
    from .web import serve

OPERATIONS = {
    "admin_overview": "admin",
    "cancel": "meetings",
    "check": "health",
    "history": "planning",
    "init": "setup",
    "match": "planning",
    "members_add": "members",
    "members_list": "members",
    "members_pause": "members",
    "members_remove": "members",
    "members_resume": "members",
    "overlap": "calendars",
    "preview": "calendars",
    "reschedule": "meetings",
    "run": "sending",
    "send": "sending",
    "serve": "web",
    "slots": "calendars",
    "why": "planning",
    "signup_preview": "joining",
    "signup": "joining",
    "signup_confirm": "joining",
    "members_pending": "approval",
    "members_approve": "approval",
    "members_reject": "approval",
    "link_request": "selfservice",
    "member_calendar": "selfservice",
    "member_leave": "selfservice",
    "member_page": "selfservice",
    "member_pause": "selfservice",
    "member_resume": "selfservice",
    "member_settings": "selfservice",
    "member_skip": "selfservice",
    "unsubscribe": "selfservice",
    "met_answer": "met",
    "stats": "figures",
    "cant_page": "cant",
    "cant_move": "cant",
    "cant_cancel": "cant",
}
"""Every user-facing operation, and the module that holds it."""


def __getattr__(name: str) -> object:
    if name == "load":
        return import_module(".community", __name__).load
    if name in OPERATIONS:
        return getattr(import_module(f".{OPERATIONS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [  # noqa: RUF022 - OPERATIONS' order
    "OPERATIONS",
    "load",
    "admin_overview",
    "cancel",
    "check",
    "history",
    "init",
    "match",
    "members_add",
    "members_list",
    "members_pause",
    "members_remove",
    "members_resume",
    "overlap",
    "preview",
    "reschedule",
    "run",
    "send",
    "serve",
    "slots",
    "why",
    "signup_preview",
    "signup",
    "signup_confirm",
    "members_pending",
    "members_approve",
    "members_reject",
    "link_request",
    "member_calendar",
    "member_leave",
    "member_page",
    "member_pause",
    "member_resume",
    "member_settings",
    "member_skip",
    "unsubscribe",
    "met_answer",
    "stats",
    "cant_page",
    "cant_move",
    "cant_cancel",
]
