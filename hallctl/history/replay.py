"""Replay a hall's history in virtual time through the real core, forecasting each ticket's wait at the
moment it was issued with the wait predictor and the simple predictors (docs/history.md, "Replay").

Each business day drives a fresh ``HallState`` with the core's own commands: the kiosk issues, the
recorded window calls that very ticket (``call_next`` when routing would have chosen it anyway, the
manager's out-of-order call otherwise), starts and finishes it. A no-show's leaving time is not recorded:
it leaves when a window that serves it calls and routing would have taken it first. The model learns only
what was known before each forecast. Days are independent once the model has learned the days before
them, so they can be replayed in parallel processes with the very same result.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field

from hallctl.config import HallConfig
from hallctl.core import admin, counter, issuing, routing
from hallctl.core.credit_code import check_character
from hallctl.core.eta import (
    head_of_line_estimate,
    last_to_enter_service_estimate,
    people_ahead_estimate,
)
from hallctl.core.model import QUEUED, Actor, Role, Ticket, TicketState
from hallctl.core.predict import predict_waits
from hallctl.core.servicetimes import WaitModel
from hallctl.core.state import HallState
from hallctl.history.events import HistoryRecord
from hallctl.history.timeline import Day, Kind, Step, learn_days, learn_step, split_days

Estimator = Callable[[HallState, float, WaitModel, Ticket], float]
FORECAST = "forecast"
#: The simple predictors the forecast is measured against (hallctl/core/eta.py), by the names figures use.
BASELINES: dict[str, Estimator] = {
    "people_ahead": people_ahead_estimate,
    "head_of_line": head_of_line_estimate,
    "last_to_enter": last_to_enter_service_estimate,
}
PREDICTORS = (FORECAST, *BASELINES)
KIOSK = Actor(Role.KIOSK, "replay kiosk")
MANAGER = Actor(Role.MANAGER, "replay")
BOOKING = Actor(Role.BOOKING, "replay")
# Any well-formed code: the enterprise channel checks the form, and replay knows no real company.
ENTERPRISE_CODE = "91350100M000100Y4" + check_character("91350100M000100Y4")
# An appointment's slot is not in the history: the citizen is taken to have come at its start.
APPOINTMENT_SLOT_SECONDS = 30 * 60.0


def clerk_at(window: int) -> Actor:
    return Actor(Role.CLERK, f"replay clerk {window}", clerk=f"replay-{window}")


@dataclass(frozen=True, slots=True)
class Prediction:
    ticket_id: str
    matter: str
    actual: float | None  # seconds from issue to first call; None for a no-show
    predicted: dict[str, float]  # predictor name -> seconds
    channel: str = "normal"


@dataclass
class ReplayCounts:
    """How closely the history fitted the hall's rules (printed on stderr, given in --json)."""

    tickets: int = 0
    routed_calls: int = 0  # recorded calls that routing would have made itself
    out_of_order_calls: int = 0  # recorded calls routing would not have made (replayed as 插队)
    inferred_no_shows: int = 0  # no-shows that left when routing reached them
    unreached_no_shows: int = 0  # no-shows routing never reached; voided at the end of their day
    overlaps: int = 0  # a window called again before its previous ticket's recorded finish

    def add(self, other: ReplayCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class ReplayResult:
    predictions: list[Prediction] = field(default_factory=list)
    counts: ReplayCounts = field(default_factory=ReplayCounts)


class DayReplay:
    """One business day replayed on its own ``HallState``."""

    def __init__(self, config: HallConfig, day: Day, model: WaitModel, seed: int) -> None:
        self.config = config
        self.day = day
        self.model = model
        self.seed = seed
        first = day.steps[0].at
        tokens = itertools.count(1)
        self.state = HallState.new(config, first, always_open=True, make_token=lambda: f"r{next(tokens)}")
        self.ids: dict[int, int] = {}  # history index -> the state's ticket id
        self.no_show_ids: set[int] = set()  # state ids of tickets the history says were never served
        self.counts = ReplayCounts()
        self.predictions: list[Prediction] = []

    def run(self) -> None:
        handlers: dict[Kind, Callable[[Step], None]] = {
            Kind.LOGIN: self._login,
            Kind.FINISH: self._finish,
            Kind.ISSUE: self._issue,
            Kind.CALL: self._call,
            Kind.FINISH_AT_CALL: self._finish,
            Kind.LOGOUT: self._logout,
            Kind.DAY_END: self._day_end,
        }
        for step in self.day.steps:
            self.state.roll_day(step.at)  # as the service does before every command
            handlers[step.kind](step)
            learn_step(self.model, step, self.day, self.config.hall.zone)

    # -- steps --------------------------------------------------------------------------------------
    def _login(self, step: Step) -> None:
        assert step.window is not None
        window = self.state.window(step.window)
        if window.clerk is None:
            counter.login(self.state, step.at, clerk_at(step.window), step.window)

    def _logout(self, step: Step) -> None:
        assert step.window is not None
        window = self.state.window(step.window)
        # (past midnight the day roll may have logged the clerk out already)
        if window.current is None and window.clerk == clerk_at(step.window).clerk:
            counter.logout(self.state, step.at, clerk_at(step.window), step.window)

    def _issue(self, step: Step) -> None:
        record = step.record
        assert record is not None
        now = step.at
        request = issuing.IssueRequest(matters=record.matters, channel=record.channel)
        if record.channel == "enterprise":
            request = issuing.IssueRequest(record.matters, "enterprise", credit_code=ENTERPRISE_CODE)
        elif record.channel == "appointment":
            code = f"replay-{step.index}"
            issuing.book(self.state, now, BOOKING, code, record.matters, now, now + APPOINTMENT_SLOT_SECONDS)
            request = issuing.IssueRequest(channel="appointment", appointment_code=code)
        ticket = issuing.issue(self.state, now, KIOSK, request).result
        assert isinstance(ticket, Ticket)
        self.ids[step.index] = ticket.id
        if not record.served:
            self.no_show_ids.add(ticket.id)
        self.counts.tickets += 1
        forecast = predict_waits(self.state, now, self.model, seed=self.seed * 1_000_003 + step.index)
        predicted = {FORECAST: forecast[ticket.id]}
        for name, estimate in BASELINES.items():
            predicted[name] = estimate(self.state, now, self.model, ticket)
        self.predictions.append(
            Prediction(record.ticket_id, record.matter_label, record.wait, predicted, record.channel)
        )

    def _call(self, step: Step) -> None:
        assert step.record is not None and step.window is not None
        now, window_id = step.at, step.window
        clerk = clerk_at(window_id)
        window = self.state.window(window_id)
        if window.clerk is None:  # past midnight the day roll logged the clerk out
            counter.login(self.state, now, clerk, window_id)
        if window.current is not None:
            # The history has the window call again before its previous ticket's finish: that one ends here.
            self.counts.overlaps += 1
            self._end_current(window_id, now)
        ticket = self.state.ticket(self.ids[step.index])
        choice = None
        for _ in range(len(self.no_show_ids) + 1):
            choice = routing.choose_next(
                window, self.state.queues, self.state.tickets, self.state.forced, now, self.state.consultation
            )
            if choice is None or choice.ticket.id not in self.no_show_ids:
                break
            # Routing would take a ticket that was never served before the recorded one: it was called
            # here and did not come.
            counter.call_next(self.state, now, clerk, window_id)
            counter.no_show(self.state, now, clerk, window_id)
            self.counts.inferred_no_shows += 1
        if choice is not None and choice.ticket is ticket:
            counter.call_next(self.state, now, clerk, window_id)
            self.counts.routed_calls += 1
        else:
            admin.call_ticket(self.state, now, MANAGER, window_id, ticket.id, "replay: the recorded call")
            self.counts.out_of_order_calls += 1
        counter.start(self.state, now, clerk, window_id)

    def _end_current(self, window_id: int, now: float) -> None:
        clerk = clerk_at(window_id)
        current = self.state.ticket(self.state.window(window_id).current or 0)
        if current.state is TicketState.CALLED:
            counter.start(self.state, now, clerk, window_id)
        counter.finish(self.state, now, clerk, window_id)

    def _finish(self, step: Step) -> None:
        assert step.window is not None
        ticket_id = self.ids[step.index]
        if self.state.window(step.window).current == ticket_id:  # else an overlap ended it already
            self._end_current(step.window, step.at)

    def _day_end(self, step: Step) -> None:
        for ticket_id in sorted(self.no_show_ids):
            if self.state.tickets[ticket_id].state in QUEUED:
                issuing.void(
                    self.state, step.at, MANAGER, ticket_id, "replay: a no-show routing never reached"
                )
                self.counts.unreached_no_shows += 1


def replay_config(config: HallConfig) -> HallConfig:
    """The hall's config as replay runs it: the history is what happened, so no daily cap refuses a
    recorded ticket and no prefix runs out of numbers (six digits)."""
    data = config.model_dump()
    data["hall"]["number_digits"] = 6
    for matter in data["matters"]:
        matter["daily_cap"] = None
    return HallConfig.model_validate(data)


def _replay_days(config: HallConfig, days: Sequence[Day], first: int, last: int, seed: int) -> ReplayResult:
    """Replay days[first:last] after learning the days before them (run in a worker process)."""
    model = WaitModel.from_config(config)
    learn_days(model, days[:first], config.hall.zone)
    result = ReplayResult()
    for day in days[first:last]:
        replay = DayReplay(config, day, model, seed)
        replay.run()
        result.predictions.extend(replay.predictions)
        result.counts.add(replay.counts)
    return result


def _chunks(days: Sequence[Day], parts: int) -> list[tuple[int, int]]:
    """Contiguous runs of days with about the same number of tickets each."""
    total = sum(len(d.records) for d in days)
    bounds: list[tuple[int, int]] = []
    start, seen = 0, 0
    for i, day in enumerate(days):
        seen += len(day.records)
        if seen * parts >= total * (len(bounds) + 1) and i + 1 < len(days):
            bounds.append((start, i + 1))
            start = i + 1
    bounds.append((start, len(days)))
    return bounds


def replay_history(
    config: HallConfig,
    records: Sequence[HistoryRecord],
    *,
    seed: int = 0,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> ReplayResult:
    """Forecasts for every ticket of the history, in issue order. ``records`` must have passed
    ``check_against_config``; ``progress(days done, days)`` hears how far it got. The result does not
    depend on ``workers``."""
    config = replay_config(config)
    days = split_days(records, config.hall.zone)
    if workers <= 1 or len(days) <= 1:
        chunks = [(i, i + 1) for i in range(len(days))]  # one at a time, the model carried along
        parts = []
        model = WaitModel.from_config(config)
        for i, day in enumerate(days):
            replay = DayReplay(config, day, model, seed)
            replay.run()
            parts.append(ReplayResult(replay.predictions, replay.counts))
            if progress:
                progress(i + 1, len(days))
    else:
        # Several runs per worker, so progress moves and an uneven day does not hold one worker up long.
        chunks = _chunks(days, min(len(days), workers * 4))
        by_chunk: dict[int, ReplayResult] = {}
        done = 0
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {
                pool.submit(_replay_days, config, days, a, b, seed): i for i, (a, b) in enumerate(chunks)
            }
            for future in as_completed(futures):
                i = futures[future]
                by_chunk[i] = future.result()
                done += chunks[i][1] - chunks[i][0]
                if progress:
                    progress(done, len(days))
        parts = [by_chunk[i] for i in range(len(chunks))]
    result = ReplayResult()
    for part in parts:
        result.predictions.extend(part.predictions)
        result.counts.add(part.counts)
    return result
