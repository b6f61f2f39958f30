"""``run``, every 15 minutes from cron: whatever is due, and only that.

One run, under one lock (:func:`one_run`: a second run waits for it, at most ``wait`` seconds,
then does nothing and says so), takes these steps in this order:

1. **replies**: the organizer's mailbox, when members.toml has ``[replies]``
   (:func:`.replies.read_replies`: answers from calendar apps; a decline frees the partner);
2. **rematches**: partners freed by a cancelled meeting who were not offered someone new yet
   (:func:`.cant.rematch_due`: what a run killed half-way through a decline left to do);
3. **round**: next week's round is planned and sent from ``match_day`` at ``match_time`` of the
   week before, in the community's zone (:func:`due_at`), and stays due until it is sent (a
   server down on that Tuesday plans it on Wednesday); never once its week has begun: that is
   said (:attr:`RunReport.missed`), and ``run --week W --force`` plans it anyway. ``--week`` or
   ``--force`` plans at once, whatever the schedule, as ``run`` always did;
4. **reminders**: the reminders and "did you meet?" follow-ups that are due
   (:func:`.reminders.send_due`);
5. **retries**: every message still pending in the weeks still going out, whatever its kind (the
   path ``send`` drains: :func:`calroulette.delivery.deliver_pending`).

Every step is idempotent on its own (the ledger's keys, the recorded round, the inbox and
releases tables), so whatever a killed run left is finished by the next one. A step that fails
(the mailbox or the webhook down, or a bug) is one entry of the report; the others go on.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING

from calroulette.config import Community
from calroulette.delivery import EXIT_PENDING, Report, Sending, deliver_pending
from calroulette.errors import CalrouletteError, FeedError
from calroulette.invites import DeliveryKey
from calroulette.matching import RoundStatus
from calroulette.redact import SECRETS
from calroulette.store import WeekDeliveries, open_store
from calroulette.timeutil import IsoWeek, ensure_utc, to_utc

from .community import check_plannable
from .sending import Outcome, send

if TYPE_CHECKING:
    from calroulette.availability import FreeTime

log = logging.getLogger(__name__)

RUN_WAIT = 600.0  # seconds a run waits for another one to finish before it gives up


class Step(StrEnum):
    REPLIES = "replies"
    REMATCHES = "rematches"
    ROUND = "round"
    REMINDERS = "reminders"
    RETRIES = "retries"


class StepStatus(StrEnum):
    DONE = "done"  # did something
    IDLE = "idle"  # nothing was due
    OFF = "off"  # not set up (no [replies]), or nothing to do it on (no history yet)
    FAILED = "failed"  # could not be done; the next run tries again


@dataclass(frozen=True, slots=True)
class StepOutcome:
    step: Step
    status: StepStatus
    # the step's own report: RepliesReport, RematchReport, Outcome (round), DueReport, Report
    result: object = None
    error: str = ""  # FAILED by an exception: what went wrong, secrets masked
    problems: tuple[str, ...] = ()  # what the organizer should see to (exit code 1), a line each
    notes: tuple[str, ...] = ()  # what the organizer should know, a line each


@dataclass(frozen=True, slots=True)
class RunReport:
    """What one ``run`` did, step by step, and where the week's round stands."""

    week: IsoWeek  # the round's week: --week, or next week
    due_at: dt.datetime  # when that week's round is due (UTC)
    steps: tuple[StepOutcome, ...] = ()
    # every message this run handed over (or tried to), all steps together
    report: Report = field(default_factory=Report)
    round: Outcome | None = None  # the round step's sending, when it planned or sent
    planned: bool = False  # the round was planned by this run
    state: WeekDeliveries | None = None  # the week's messages, when it has a round
    status: RoundStatus | None = None  # the week's round, if any
    missed: IsoWeek | None = None  # the week under way, begun without a sent round
    missed_news: bool = False  # this run is the first to notice ``missed``
    busy: bool = False  # another run held the lock: this one did nothing
    explicit: bool = False  # --week or --force: the round was asked for, not scheduled

    def step(self, step: Step) -> StepOutcome | None:
        return next((s for s in self.steps if s.step is step), None)

    @property
    def exit_code(self) -> int:
        """1 when a step failed or a message was refused for good this run (or, for the round
        planned or sent by this run, in its week); 75 while messages wait to be retried (and
        when another run was under way); else 0."""
        codes = [self.report.exit_code]
        if self.round is not None:
            codes.append(self.round.exit_code)
        if any(s.status is StepStatus.FAILED or s.problems for s in self.steps):
            codes.append(1)
        if self.busy:
            codes.append(EXIT_PENDING)
        return 1 if 1 in codes else max(codes)


def due_at(community: Community, week: IsoWeek) -> dt.datetime:
    """When ``week``'s round is due: ``match_day`` at ``match_time`` of the week before, in the
    community's zone (a time that does not exist that day, in a DST gap, is read with the offset
    before the gap: 02:30 on a spring-forward night is 03:30)."""
    day = week.shifted(-1).monday() + dt.timedelta(days=community.match_day.number)
    wall = dt.datetime.combine(day, community.match_time.replace(tzinfo=None))
    return to_utc(wall, community.timezone)


def current_week(community: Community, now: dt.datetime) -> IsoWeek:
    return IsoWeek.containing(ensure_utc(now).astimezone(community.timezone).date())


def run_due(
    community: Community,
    week: IsoWeek | None = None,
    *,
    now: dt.datetime,
    how: Sending | None = None,
    free: Mapping[str, FreeTime | FeedError] | None = None,
    force: bool = False,
    wait: float = RUN_WAIT,
) -> RunReport:
    """Do what is due (the module's steps), under the run lock. ``week`` (or ``force``) plans
    and sends that week (default: next week) now, whatever the schedule."""
    explicit = week is not None or force
    this_week = current_week(community, now)
    week = week if week is not None else this_week.shifted(1)
    database = community.database
    if database.exists():
        open_store(database).close()  # a file that holds no history stops the run, once
    if explicit and _status(database, week) is None:
        check_plannable(week, community, now, force=force)  # before anything else is done
    base = RunReport(week, due_at(community, week), explicit=explicit)
    with one_run(database, wait) as lock:
        if lock is None:
            return replace(base, busy=True)
        steps = [
            _replies(community, now, how),
            _rematches(community, now, how),
            _round(community, week, now=now, how=how, free=free, force=force, explicit=explicit),
            _reminders(community, now, how),
            _retries(community, week, now, how),
        ]
        missed = _missed(community, this_week) if not explicit else None
        news = missed is not None and lock.first_notice(f"missed {missed}")
    outcome = steps[2].result if isinstance(steps[2].result, Outcome) else None
    status = _status(database, week)
    state = None
    if status is not None:
        with open_store(database, readonly=True) as store:
            state = store.deliveries.summary(week)
    return replace(
        base,
        steps=tuple(steps),
        report=merge(_reports(steps)),
        round=outcome,
        planned=outcome is not None and outcome.planned,
        state=state,
        status=status,
        missed=missed,
        missed_news=news,
    )


def _attempt(step: Step, action: Callable[[], StepOutcome]) -> StepOutcome:
    """``action``, or the step FAILED with what went wrong: one step never stops the others."""
    try:
        return action()
    except CalrouletteError as error:
        return StepOutcome(step, StepStatus.FAILED, error=SECRETS.mask(str(error)))
    except Exception as error:  # a bug in one step must not stop the others: logged, reported
        log.exception("%s: unexpected error", step)
        name = type(error).__name__
        return StepOutcome(step, StepStatus.FAILED, error=f"unexpected {name} (see the log)")


def _outcome(
    step: Step, result: object, did: bool, problems: Iterable[str] = (), notes: Iterable[str] = ()
) -> StepOutcome:
    """DONE when the step did something; else FAILED when it has problems, else IDLE."""
    problems = tuple(_prefixed(step, SECRETS.mask(p)) for p in problems)
    status = StepStatus.DONE if did else StepStatus.FAILED if problems else StepStatus.IDLE
    notes = tuple(_prefixed(step, SECRETS.mask(n)) for n in notes if n)
    return StepOutcome(step, status, result, problems=problems, notes=notes)


def _prefixed(step: Step, line: str) -> str:
    return line if line.startswith(f"{step}: ") else f"{step}: {line}"


def _replies(community: Community, now: dt.datetime, how: Sending | None) -> StepOutcome:
    """The mailbox's new answers; a decline frees the partner (a mailbox that cannot be read
    is one of the report's problems, not an exception)."""
    if community.replies is None or not community.database.exists():
        return StepOutcome(Step.REPLIES, StepStatus.OFF)

    def action() -> StepOutcome:
        from .replies import read_replies

        report = read_replies(community, now=now, how=how)
        did = bool(report.notes or report.declines)
        return _outcome(Step.REPLIES, report, did, report.problems)

    return _attempt(Step.REPLIES, action)


def _rematches(community: Community, now: dt.datetime, how: Sending | None) -> StepOutcome:
    if not community.database.exists():
        return StepOutcome(Step.REMATCHES, StepStatus.OFF)

    def action() -> StepOutcome:
        from .cant import rematch_due

        report = rematch_due(community, now=now, how=how)
        did = bool(report.settled) or _tried(report.report)
        return _outcome(Step.REMATCHES, report, did, report.errors)

    return _attempt(Step.REMATCHES, action)


def _round(
    community: Community,
    week: IsoWeek,
    *,
    now: dt.datetime,
    how: Sending | None,
    free: Mapping[str, FreeTime | FeedError] | None,
    force: bool,
    explicit: bool,
) -> StepOutcome:
    """Plan ``week`` (unless it has a round) and send it: when asked (``explicit``), or when
    due and not sent yet. A sent round is left to the retries."""
    status = _status(community.database, week)
    if not explicit and (status is RoundStatus.SENT or now < due_at(community, week)):
        return StepOutcome(Step.ROUND, StepStatus.IDLE)

    def action() -> StepOutcome:
        from .planning import match

        planned = match(community, week, now=now, free=free, force=force).created
        outcome = replace(send(community, week, now=now, how=how), planned=planned)
        did = planned or bool(outcome.recorded) or _tried(outcome.report)
        return _outcome(Step.ROUND, outcome, did)

    return _attempt(Step.ROUND, action)


RUN_INTERVAL = dt.timedelta(minutes=15)  # how often the documented cron line runs `run`


def _reminders(community: Community, now: dt.datetime, how: Sending | None) -> StepOutcome:
    if not community.database.exists():
        return StepOutcome(Step.REMINDERS, StepStatus.OFF)

    def action() -> StepOutcome:
        from .reminders import send_due

        # cron runs every RUN_INTERVAL: a reminder falling due before the next run is sent now,
        # up to that much early (never late): meetings on the half hour and runs at :00, :15,
        # :30, :45 would otherwise never meet the 10 minutes before a meeting
        report = send_due(community, now=now, how=how, early=RUN_INTERVAL)
        recorded = report.reminders or report.followups or report.withdrawn or report.skipped
        did = bool(recorded) or _tried(report.report)
        return _outcome(Step.REMINDERS, report, did, notes=[report.note])

    return _attempt(Step.REMINDERS, action)


def _retries(
    community: Community, week: IsoWeek, now: dt.datetime, how: Sending | None
) -> StepOutcome:
    """Whatever is still pending from the week under way on: invitations, cancels, updates,
    reminders, follow-ups, notes, account emails (a failure for now waits for its retry time)."""
    if not community.database.exists():
        return StepOutcome(Step.RETRIES, StepStatus.OFF)

    def action() -> StepOutcome:
        with open_store(community.database) as store:
            report = deliver_pending(store, community, week, now, how or Sending())
        return _outcome(Step.RETRIES, report, _tried(report))

    return _attempt(Step.RETRIES, action)


def _tried(report: Report) -> bool:
    """A drain that handed something over, or tried to (a message that only waits for its
    retry time was not tried)."""
    attempted = [e for _, e in report.pending if e != "not attempted"]
    return bool(report.sent or report.already or report.failed or report.stopped or attempted)


def delivery_report(step: StepOutcome) -> Report | None:
    """The messages a step handed over (or tried to): one drain, or several merged."""
    result = step.result
    if isinstance(result, Report):
        return result
    found = getattr(result, "report", None)  # Outcome, RematchReport, DueReport
    if isinstance(found, Report):
        return found
    declines = getattr(result, "declines", None)  # RepliesReport: each decline's drain
    if declines:
        return merge([d.report for d in declines if isinstance(d.report, Report)])
    return None


def _reports(steps: list[StepOutcome]) -> list[Report]:
    return [r for s in steps if (r := delivery_report(s)) is not None]


def merge(reports: list[Report]) -> Report:
    """One report of the drains of one run: each message once, as the last drain that tried it
    left it; one that only waits for its retry time is listed when no drain tried it."""
    sent: dict[DeliveryKey, None] = {}
    already: dict[DeliveryKey, None] = {}
    pending: dict[DeliveryKey, str] = {}
    failed: dict[DeliveryKey, str] = {}
    deferred: dict[DeliveryKey, tuple[DeliveryKey, str, dt.datetime]] = {}
    for report in reports:
        tried = [*report.sent, *report.already, *(k for k, _ in report.pending)]
        tried += [k for k, _ in report.failed]
        for key in tried:
            for seen in (sent, already, pending, failed):
                seen.pop(key, None)
        sent.update(dict.fromkeys(report.sent))
        already.update(dict.fromkeys(report.already))
        pending.update(report.pending)
        failed.update(report.failed)
        deferred.update((key, (key, error, at)) for key, error, at in report.deferred)
    tried_now = sent.keys() | already.keys() | pending.keys() | failed.keys()
    return Report(
        sent=list(sent),
        already=list(already),
        pending=list(pending.items()),
        failed=list(failed.items()),
        deferred=[item for key, item in deferred.items() if key not in tried_now],
        stopped=next((r.stopped for r in reports if r.stopped), None),
        fatal=any(r.fatal for r in reports),
    )


def _status(database: Path, week: IsoWeek) -> RoundStatus | None:
    if not database.exists():
        return None
    with open_store(database, readonly=True) as store:
        return store.rounds.status(week)


def _missed(community: Community, this_week: IsoWeek) -> IsoWeek | None:
    """The week under way, when it began without a sent round though it was due during the week
    before, in a community that had rounds before it (a new one has missed nothing)."""
    database = community.database
    if not database.exists():
        return None
    with open_store(database, readonly=True) as store:
        if store.rounds.status(this_week) is RoundStatus.SENT:
            return None
        if not any(w < this_week for w in store.rounds.weeks()):
            return None
    return this_week


class RunLock:
    """The run lock, held: and a line of memory beside it (what a quiet run said once)."""

    def __init__(self, handle: IO[bytes] | None) -> None:
        self.handle = handle

    def first_notice(self, notice: str) -> bool:
        """True the first time ``notice`` is asked about, until another one replaces it."""
        if self.handle is None:
            return True
        self.handle.seek(0)
        if self.handle.read().decode("utf-8", "replace").strip() == notice:
            return False
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(f"{notice}\n".encode())
        self.handle.flush()
        return True


@contextmanager
def one_run(database: Path, wait: float) -> Iterator[RunLock | None]:
    """Hold ``<database>.run.lock`` (POSIX ``flock``, released by the OS if the process dies)
    for the whole run: a run from cron that overlaps a slow one (or a hand-run ``run``) waits at
    most ``wait`` seconds for it, then yields None. Planning and replies have no lock of their
    own, and two runs would both read the same mailbox; sending has its own, inside this one."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; run one at a time
        yield RunLock(None)
        return
    database.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with Path(f"{database}.run.lock").open("a+b") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield None
                    return
                time.sleep(0.1)
        try:
            yield RunLock(handle)
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
