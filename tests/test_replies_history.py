"""`history` and `why` show each attendee's answer (from their calendar app or the link) and
whether they met, and look as before when nothing was recorded."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from rich.console import Console

from calroulette import service
from calroulette.matching import Meeting, MeetingStatus
from calroulette.render.json import history_json
from calroulette.render.rounds import explain, history_table
from calroulette.store import AnswerSource, Met, PartStat, open_store
from calroulette.timeutil import IsoWeek
from tests.support.imap import record_meetings
from tests.support.mail import make_community

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
START = dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.UTC)
UID = "0" * 31 + "1@calroulette.example.org"
ADA, GRACE = "ada@example.org", "grace@example.org"


def setup(tmp_path: Path, *, answers: bool) -> object:
    community = make_community(tmp_path)
    meeting = Meeting(UID, (ADA, GRACE), START, START + dt.timedelta(minutes=30),
                      status=MeetingStatus.INVITED)  # fmt: skip
    record_meetings(community, "2026-W49", [meeting], NOW)
    if answers:
        with open_store(community.database) as store, store.transaction():
            store.attendance.answer(UID, "Grace@Example.org", PartStat.DECLINED, sequence=0,
                                    source=AnswerSource.REPLY, at=NOW)  # fmt: skip
            store.attendance.answer(UID, ADA, PartStat.ACCEPTED, sequence=0,
                                    source=AnswerSource.LINK, at=NOW)  # fmt: skip
            store.attendance.met(UID, ADA, Met.NO, at=NOW + dt.timedelta(days=6))
    return community


def text(renderable: object) -> str:
    out = io.StringIO()
    Console(file=out, width=400, color_system=None).print(renderable)
    return out.getvalue()


def test_history_shows_each_answer(tmp_path: Path) -> None:
    community = setup(tmp_path, answers=True)
    result = service.history(community)
    shown = text(history_table(community, result))
    assert "Ada Lovelace (accepted, did not meet) & Grace Hopper (declined)" in shown
    meeting = history_json(result)["rounds"][0]["meetings"][0]
    assert meeting["attendance"][GRACE] == {
        "answer": "declined",
        "source": "reply",
        "sequence": 0,
        "answered_at": "2026-11-26T12:00:00Z",
        "met": None,
    }
    assert meeting["attendance"][ADA]["met"] == "no"
    mine = history_json(service.history(community, GRACE))["rounds"][0]["meeting"]
    assert mine["attendance"][GRACE]["answer"] == "declined"


def test_why_says_who_answered_what(tmp_path: Path) -> None:
    community = setup(tmp_path, answers=True)
    said = text(explain(community, service.why(community, ADA, IsoWeek.parse("2026-W49"), now=NOW)))
    assert (
        "Answers: Ada Lovelace accepted (on the can't-make-it page), did not meet; "
        "Grace Hopper declined (in their calendar app)." in said
    )


def test_nothing_recorded_looks_as_before(tmp_path: Path) -> None:
    community = setup(tmp_path, answers=False)
    result = service.history(community)
    assert "Ada Lovelace & Grace Hopper" in text(history_table(community, result))
    assert "attendance" not in history_json(result)["rounds"][0]["meetings"][0]
    why = service.why(community, ADA, IsoWeek.parse("2026-W49"), now=NOW)
    assert "Answers" not in text(explain(community, why))
