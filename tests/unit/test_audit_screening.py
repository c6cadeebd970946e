"""Audit classes and anomaly screening over journals the core's own commands write: each rule has a case
that makes it fire and one that must not, and each rule's setting moves it."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hallkit import KIOSK, MANAGER, MINUTE, NINE, SHANGHAI, at, clerk, credit_code, issue, new_hall

from hallctl.audit.anomalies import screen
from hallctl.audit.classes import GENERAL, IN_PROCESS, KEY, Classifier, Entry, OpeningHours
from hallctl.audit.findings import Anomaly, Inputs, RatingRow, TicketFacts
from hallctl.audit.rules_hours import outside_hours
from hallctl.audit.rules_issuing import hoarding
from hallctl.audit.rules_ratings import fast_ratings, high_ratings
from hallctl.audit.rules_window import no_shows, out_of_order, short_service
from hallctl.config import HallConfig
from hallctl.config_audit import Audit, AuditClasses
from hallctl.core import admin, counter, issuing, ratings
from hallctl.core.model import Actor, Change, Role, Ticket
from hallctl.core.state import HallState


class Journal:
    """A hall driven through the core's commands, its journal kept as the audit reads it from the file
    (details through JSON, as stored)."""

    def __init__(self, config: HallConfig, audit: Audit | None = None) -> None:
        self.config = config
        self.audit = audit or Audit()
        self.hall: HallState = new_hall(config, at("2026-03-02 08:00"), always_open=True)
        self.entries: list[Entry] = []
        self.ratings: list[RatingRow] = []

    def run(self, change: Change) -> Any:
        for e in change.journal:
            detail = orjson.dumps(e.detail).decode()
            row = (
                len(self.entries) + 1,
                e.at,
                e.actor,
                e.role,
                e.action,
                e.window,
                e.ticket,
                e.before,
                e.after,
            )
            self.entries.append(Entry.from_row((*row, detail, None), SHANGHAI))
        for r in change.ratings:
            self.ratings.append(
                RatingRow(r.ticket, r.window, r.clerk, r.level, r.level_name, r.armed_at, r.rated_at)
            )
        return change.result

    def login(self, now: float, *windows: int) -> None:
        for w in windows:
            self.run(counter.login(self.hall, now, clerk(w), w))

    def issue(self, now: float, matter: str = "CBDJ", **kwargs: Any) -> Ticket:
        before = len(self.hall.tickets)
        ticket = issue(self.hall, now, matter, **kwargs)
        assert len(self.hall.tickets) == before + 1
        # issue() of hallkit drops the change; journal the issue as the kiosk did
        self.entries.append(
            Entry.from_row(
                (
                    len(self.entries) + 1,
                    now,
                    KIOSK.label,
                    "kiosk",
                    "ticket.issue",
                    None,
                    ticket.id,
                    None,
                    "waiting",
                    orjson.dumps(
                        {"number": ticket.number, "matters": list(ticket.matters), "channel": ticket.channel}
                    ).decode(),
                    None,
                ),
                SHANGHAI,
            )
        )
        return ticket

    def serve(self, window: int, called: float, seconds: float = 300.0) -> Ticket:
        """Call the next ticket at a window, begin at once and finish ``seconds`` after the call."""
        ticket = self.run(counter.call_next(self.hall, called, clerk(window), window))
        assert isinstance(ticket, Ticket)
        self.run(counter.start(self.hall, called + min(10.0, seconds / 2), clerk(window), window))
        self.run(counter.finish(self.hall, called + seconds, clerk(window), window))
        return ticket

    def no_show(self, window: int, called: float) -> Ticket:
        ticket = self.run(counter.call_next(self.hall, called, clerk(window), window))
        assert isinstance(ticket, Ticket)
        self.run(counter.no_show(self.hall, called + 60, clerk(window), window))
        return ticket

    def inputs(self) -> Inputs:
        facts = {
            t.id: TicketFacts(t.number, t.credit_code, t.channel, t.issued_by)
            for t in self.hall.tickets.values()
        }
        hours = OpeningHours(self.config.hours, SHANGHAI, self.audit.grace_minutes)
        return Inputs(
            self.entries,
            facts,
            self.ratings,
            self.audit,
            Classifier(self.audit.classes, hours),
            SHANGHAI,
            "d",
        )


def rules(found: list[Anomaly]) -> list[str]:
    return [a.rule for a in found]


@pytest.fixture
def day(example_config: HallConfig) -> Journal:
    """Monday 2026-03-02 with clerks c1 and c2 at windows 1 and 2."""
    journal = Journal(example_config)
    journal.login(at("2026-03-02 08:25"), 1, 2)
    return journal


# -- audit classes --------------------------------------------------------------------------------------


def classes_of(journal: Journal) -> dict[str, list[str]]:
    inputs = journal.inputs()
    out: dict[str, list[str]] = {}
    for e in journal.entries:
        out.setdefault(e.action, []).append(inputs.classifier.classify(e)[0])
    return out


def test_the_default_classes_follow_the_reform_documents(day: Journal) -> None:
    first = day.issue(NINE)
    second = day.issue(NINE + MINUTE)
    day.issue(NINE + 2 * MINUTE)
    day.run(admin.call_ticket(day.hall, NINE + 3 * MINUTE, MANAGER, 1, second.id, "老人行动不便"))
    for n in range(3):
        day.run(counter.recall(day.hall, NINE + 4 * MINUTE + n, clerk(1), 1))
    day.run(counter.transfer(day.hall, NINE + 5 * MINUTE, clerk(1), 1, matters=("JFJS",)))
    day.run(issuing.void(day.hall, NINE + 6 * MINUTE, MANAGER, first.id, "重复取号"))
    day.run(admin.set_profile(day.hall, NINE + 7 * MINUTE, MANAGER, 2, name="integrated", reason="午间调整"))
    day.serve(2, NINE + 8 * MINUTE)
    got = classes_of(day)
    assert got["ticket.call_out_of_order"] == [KEY]
    assert got["ticket.void"] == [KEY]
    assert got["window.profile"] == [KEY]
    assert got["ticket.recall"] == [GENERAL, GENERAL, IN_PROCESS]  # only the recall beyond the second
    assert got["ticket.transfer"] == [IN_PROCESS]
    assert got["ticket.call"] == got["ticket.finish"] == [GENERAL]
    assert set(got["ticket.issue"]) == {GENERAL}


def test_actions_outside_the_hours_are_key_but_the_daemons_own_are_not(example_config: HallConfig) -> None:
    journal = Journal(example_config)
    evening = at("2026-03-02 19:00")  # the hall closes at 17:30; grace 30 minutes
    journal.login(evening, 1)
    journal.issue(evening + 60)
    inputs = journal.inputs()
    assert [inputs.classifier.classify(e) for e in journal.entries] == [
        (KEY, "outside opening hours"),
        (KEY, "outside opening hours"),
    ]
    system = Entry.from_row(
        (9, evening, "hallctl", "system", "daemon.start", None, None, None, None, "{}", None), SHANGHAI
    )
    assert inputs.classifier.classify(system) == (GENERAL, "daemon.start")


def test_the_mapping_is_configurable_with_whole_kinds(day: Journal) -> None:
    day.audit = Audit(
        classes=AuditClasses(key=("window.*",), in_process=("ticket.finish",), recalls_general=0)
    )
    day.issue(NINE)
    day.serve(1, NINE + MINUTE)
    got = classes_of(day)
    assert got["window.login"] == [KEY, KEY]
    assert got["ticket.finish"] == [IN_PROCESS]
    assert got["ticket.call"] == [GENERAL]


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        ({"key": ["ticket.void"], "in_process": ["ticket.void"]}, "both key and in_process"),
        ({"key": ["void"]}, "is not an action"),
    ],
)
def test_a_contradictory_or_malformed_mapping_is_refused(classes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Audit.model_validate({"classes": classes})


# -- out-of-order calls ---------------------------------------------------------------------------------


def test_an_out_of_order_call_with_a_managers_reason_is_no_anomaly(day: Journal) -> None:
    day.issue(NINE)
    second = day.issue(NINE + MINUTE)
    day.run(admin.call_ticket(day.hall, NINE + 2 * MINUTE, MANAGER, 1, second.id, "孕妇，行动不便"))
    day.serve(2, NINE + 3 * MINUTE)  # the first one, by the routing
    assert out_of_order(day.inputs()) == []


def test_an_out_of_order_call_with_no_real_reason_fires_with_the_ticket_passed_over(day: Journal) -> None:
    first = day.issue(NINE)
    second = day.issue(NINE + MINUTE)
    day.run(admin.call_ticket(day.hall, NINE + 2 * MINUTE, MANAGER, 1, second.id, "x"))
    found = out_of_order(day.inputs())
    assert rules(found) == ["out_of_order"]
    assert found[0].window == 1 and found[0].actor == MANAGER.label
    assert [row.get("number") for row in found[0].evidence] == [second.number, first.number]


def test_an_out_of_order_call_by_someone_not_allowed_to_approve_it_fires(day: Journal) -> None:
    day.issue(NINE)
    second = day.issue(NINE + MINUTE)
    lead = Actor(Role.CLERK, "组长", clerk="c9")
    day.run(admin.call_ticket(day.hall, NINE + 2 * MINUTE, lead, 1, second.id, "熟人"))
    assert rules(out_of_order(day.inputs())) == ["out_of_order"]
    day.audit = Audit.model_validate({"out_of_order": {"approver_roles": ["manager", "clerk"]}})
    assert out_of_order(day.inputs()) == []


def test_a_call_that_skips_an_older_ticket_of_its_own_queue_fires_and_a_routine_day_does_not(
    day: Journal,
) -> None:
    for i in range(4):
        day.issue(NINE + i * MINUTE)
    day.serve(1, NINE + 5 * MINUTE)
    day.serve(2, NINE + 6 * MINUTE)
    assert out_of_order(day.inputs()) == []
    # A journal where the routing's call took A0004 while A0003 waited (a bug, or a hand in the file)
    call = next(e for e in reversed(day.entries) if e.action == "ticket.call")
    assert call.ticket == 2
    day.entries.append(
        Entry.from_row(
            (
                99,
                NINE + 9 * MINUTE,
                "c1",
                "clerk",
                "ticket.call",
                1,
                4,
                "waiting",
                "called",
                '{"tier":2,"overtook":0}',
                None,
            ),
            SHANGHAI,
        )
    )
    found = out_of_order(day.inputs())
    assert rules(found) == ["out_of_order"] and "no reason" in found[0].summary


def test_the_out_of_order_rule_can_be_switched_off(day: Journal) -> None:
    day.issue(NINE)
    second = day.issue(NINE + MINUTE)
    day.run(admin.call_ticket(day.hall, NINE + 2 * MINUTE, MANAGER, 1, second.id, "x"))
    assert "out_of_order" in rules(screen(day.inputs()))
    day.audit = Audit.model_validate({"out_of_order": {"enabled": False}})
    assert "out_of_order" not in rules(screen(day.inputs()))


# -- very short services --------------------------------------------------------------------------------


def test_a_clerks_many_very_short_services_fire_and_ordinary_ones_do_not(day: Journal) -> None:
    for i in range(6):
        day.issue(NINE + i)
    for i in range(3):
        day.serve(1, NINE + (i + 1) * MINUTE, seconds=12)  # c1: three services of 12 s
    for i in range(3):
        day.serve(2, NINE + (i + 1) * MINUTE, seconds=240)  # c2: four minutes each
    found = short_service(day.inputs())
    assert rules(found) == ["short_service"] and found[0].actor == "c1"
    assert len(found[0].evidence) == 3


def test_fewer_short_services_than_the_setting_asks_for_do_not_fire(day: Journal) -> None:
    for i in range(2):
        day.issue(NINE + i)
        day.serve(1, NINE + (i + 1) * MINUTE, seconds=12)
    assert short_service(day.inputs()) == []
    day.audit = Audit.model_validate({"short_service": {"min_count": 2}})
    assert rules(short_service(day.inputs())) == ["short_service"]


def test_a_service_finished_quickly_after_a_resume_is_timed_from_its_call(day: Journal) -> None:
    day.audit = Audit.model_validate({"short_service": {"min_count": 1}})
    day.issue(NINE)
    day.run(counter.call_next(day.hall, NINE + MINUTE, clerk(1), 1))
    day.run(counter.suspend(day.hall, NINE + 2 * MINUTE, clerk(1), 1, "回去拿户口簿"))
    day.run(counter.resume(day.hall, NINE + 30 * MINUTE, clerk(1), 1))
    day.run(counter.start(day.hall, NINE + 30 * MINUTE + 5, clerk(1), 1))
    day.run(counter.finish(day.hall, NINE + 30 * MINUTE + 20, clerk(1), 1))  # 20 s after the resume
    assert short_service(day.inputs()) == []


# -- no-shows ---------------------------------------------------------------------------------------------


def test_a_run_of_no_shows_fires(day: Journal) -> None:
    for i in range(5):
        day.issue(NINE + i)
    for i in range(5):
        day.no_show(1, NINE + (i + 1) * 2 * MINUTE)
    found = no_shows(day.inputs())
    assert "no_show_run" in rules(found)
    run = next(a for a in found if a.rule == "no_show_run")
    assert run.actor == "c1" and len(run.evidence) == 5


def test_no_shows_broken_up_by_services_are_no_run(day: Journal) -> None:
    for i in range(8):
        day.issue(NINE + i)
    for i in range(4):
        day.no_show(1, NINE + (4 * i + 1) * MINUTE)
        day.serve(1, NINE + (4 * i + 3) * MINUTE, seconds=60)
    assert "no_show_run" not in rules(no_shows(day.inputs()))


def test_a_no_show_rate_far_above_the_halls_fires(day: Journal) -> None:
    day.audit = Audit.model_validate({"no_shows": {"min_calls": 6, "run": 10}})
    for i in range(12):
        day.issue(NINE + i)
    for i in range(3):  # c1: 3 no-shows in 6 calls, c2: 6 services
        day.no_show(1, NINE + (4 * i + 1) * MINUTE)
        day.serve(1, NINE + (4 * i + 3) * MINUTE, seconds=60)
    for i in range(6):
        day.serve(2, NINE + (3 * i + 1) * MINUTE, seconds=60)
    found = no_shows(day.inputs())
    assert rules(found) == ["no_show_rate"] and found[0].actor == "c1"
    # the same rates, but a bar of 60 % (the rest of the hall's 0 % times three is lower still)
    day.audit = Audit.model_validate(
        {"no_shows": {"min_calls": 6, "run": 10, "rate_factor": 3.0, "min_rate": 0.6}}
    )
    assert no_shows(day.inputs()) == []


# -- ticket hoarding --------------------------------------------------------------------------------------


def test_many_tickets_to_one_credit_code_within_the_hour_fire(day: Journal) -> None:
    code = credit_code()
    for i in range(4):
        day.issue(NINE + i * 5 * MINUTE, "CBDJ", channel="enterprise", credit_code=code)
    found = hoarding(day.inputs())
    assert rules(found) == ["hoarding"] and found[0].actor == code and len(found[0].evidence) == 4


def test_the_same_tickets_spread_over_the_day_or_over_codes_do_not(day: Journal) -> None:
    for i in range(4):  # one credit code, a ticket every 90 minutes
        day.issue(NINE + i * 90 * MINUTE, "CBDJ", channel="enterprise", credit_code=credit_code())
    for i, first17 in enumerate(("91350100M000100Y5", "91350100M000100Y6", "91350100M000100Y7")):
        day.issue(NINE + i, "CBDJ", channel="enterprise", credit_code=credit_code(first17))
    assert hoarding(day.inputs()) == []


# -- fast ratings ---------------------------------------------------------------------------------------


def rated(day: Journal, window: int, finished: float, after: float) -> None:
    day.run(ratings.rate(day.hall, finished + after, f"rating-{window}", window, 5))


def test_ratings_pressed_right_after_arming_again_and_again_fire(day: Journal) -> None:
    for i in range(6):
        day.issue(NINE + i)
    for i in range(3):
        called = NINE + (i + 1) * 10 * MINUTE
        day.serve(1, called)
        rated(day, 1, called + 300, 0.4)  # c1's window: pressed 0.4 s after the finish armed it
        day.serve(2, called)
        rated(day, 2, called + 300, 6.0)  # a citizen reading the keys first
    found = fast_ratings(day.inputs())
    assert rules(found) == ["fast_ratings"] and found[0].window == 1 and found[0].actor == "c1"


def test_a_fast_rating_now_and_then_does_not(day: Journal) -> None:
    for i in range(3):
        day.issue(NINE + i)
    for i in range(3):
        called = NINE + (i + 1) * 10 * MINUTE
        day.serve(1, called)
        rated(day, 1, called + 300, 0.4 if i == 0 else 5.0)
    assert fast_ratings(day.inputs()) == []


def test_a_window_rated_far_better_than_the_rest_of_the_hall_fires(day: Journal) -> None:
    day.audit = Audit.model_validate({"high_ratings": {"min_ratings": 4}})
    for i in range(8):
        day.issue(NINE + i)
    for i in range(4):
        called = NINE + (i + 1) * 10 * MINUTE
        day.serve(1, called)
        day.run(ratings.rate(day.hall, called + 305, "rating-1", 1, 5))  # window 1: all 非常满意
        day.serve(2, called)
        day.run(ratings.rate(day.hall, called + 305, "rating-2", 2, 5 if i == 0 else 4))  # window 2: 25 %
    found = high_ratings(day.inputs())
    assert rules(found) == ["high_ratings"] and found[0].window == 1 and found[0].actor == "c1"
    # 75 points above the rest is not enough for a margin of 80
    day.audit = Audit.model_validate({"high_ratings": {"min_ratings": 4, "margin": 0.8}})
    assert high_ratings(day.inputs()) == []


def test_too_few_ratings_prove_nothing(day: Journal) -> None:
    for i in range(2):
        day.issue(NINE + i)
    day.serve(1, NINE + 10 * MINUTE)
    day.run(ratings.rate(day.hall, NINE + 10 * MINUTE + 305, "rating-1", 1, 5))
    day.serve(2, NINE + 10 * MINUTE)
    day.run(ratings.rate(day.hall, NINE + 10 * MINUTE + 305, "rating-2", 2, 3))
    assert high_ratings(day.inputs()) == []  # one rating each: under the default 20


# -- outside opening hours ------------------------------------------------------------------------------


def test_actions_after_closing_beyond_the_grace_fire(example_config: HallConfig) -> None:
    journal = Journal(example_config)
    journal.login(at("2026-03-02 17:40"), 1)  # within 30 minutes of 17:30: still the working day
    journal.issue(at("2026-03-02 17:45"))
    assert outside_hours(journal.inputs()) == []
    journal.serve(1, at("2026-03-02 18:20"))
    found = outside_hours(journal.inputs())
    assert rules(found) == ["outside_hours"] and found[0].actor == "c1" and len(found[0].evidence) == 3


def test_a_sunday_is_outside_the_hours_all_day(example_config: HallConfig) -> None:
    journal = Journal(example_config)
    journal.login(at("2026-03-01 10:00"), 1)  # the example hall opens Monday to Saturday
    assert rules(outside_hours(journal.inputs())) == ["outside_hours"]
    journal.audit = Audit.model_validate({"outside_hours": {"enabled": False}})
    assert "outside_hours" not in rules(screen(journal.inputs()))


def test_a_quiet_ordinary_morning_raises_nothing(day: Journal) -> None:
    for i in range(6):
        day.issue(NINE + i * MINUTE)
    for i in range(3):
        day.serve(1, NINE + (10 + 6 * i) * MINUTE)
        rated(day, 1, NINE + (10 + 6 * i) * MINUTE + 300, 4.0)
        day.serve(2, NINE + (10 + 6 * i) * MINUTE)
    assert screen(day.inputs()) == []
