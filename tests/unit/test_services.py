"""The ticket-life services against an in-memory unit of work: filing, deadlines, the escalation
ladder, urging and transitions, in milliseconds (the same rules over HTTP are in tests/e2e)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from bot.clock import FrozenClock
from bot.domain.lifecycle import IllegalTransition, Transition
from bot.domain.vocabulary import (
    ActorKind,
    EscalationCause,
    Event,
    FollowUpAnswer,
    Status,
    TimerKind,
)
from bot.i18n import t as text
from bot.services import deadlines, escalation, follow_up, life, tickets
from bot.services.desk import Desk
from bot.services.intake import LEFT_OVER
from bot.services.staff_out import Button, Call, Card, Effect, Say
from storage.models import Customer, Ticket, Timer
from storage.repositories import (
    CustomerRepo,
    DraftRepo,
    Repositories,
    StaffRepo,
    TicketRepo,
    TimerRepo,
)
from storage.uow import UnitOfWork
from tests.unit.fakes import (
    FakeCustomerRepo,
    FakeDraftRepo,
    FakeStaffRepo,
    FakeTicketRepo,
    FakeTimerRepo,
    FakeUnitOfWork,
    add_staff,
    add_ticket,
    events,
    make_desk,
    pending_timers,
)

FR, RD, PN = TimerKind.FIRST_RESPONSE_DUE, TimerKind.REPLY_DUE, TimerKind.PROGRESS_NOTICE
STAFF = ActorKind.STAFF
# Wednesday 4 March 2026, a working day; the desk is in Asia/Shanghai (UTC+8).
T0 = datetime(2026, 3, 4, 7, 0, tzinfo=UTC)  # 15:00 at the desk
NIGHT = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # 23:00 at the desk, in quiet hours
MORNING = datetime(2026, 3, 5, 0, 0, tzinfo=UTC)  # 08:00 at the desk, quiet hours end
GROUP, TOPIC, CARD_MID = -1001234567890, 77, 78
SUPERVISORS_CHAT, MANAGERS_CHAT = -1002000000001, -1002000000002
CUSTOMER = 5001
WANG, ZHAO, SUN, LI, ZHOU, CHEN, BOARD = 10, 11, 12, 20, 21, 30, 40

CONFIG: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "telegram": {"staff_group_id": GROUP},
    "windows": {"first_response": "30m", "reply": "2 working days",
                "quiet_hours": "21:00-08:00"},
    "escalation": {"supervisor": {"chat_ids": [SUPERVISORS_CHAT]},
                   "manager": {"chat_ids": [MANAGERS_CHAT]}},
    "categories": [
        {"key": "equipment", "zh": "设备管理", "en": "Equipment", "first_response": "10m",
         "reply": "4h"},
        {"key": "housing", "zh": "房屋管理", "en": "Housing"},
    ],
}
# The windows the equipment category promises (stored on its tickets).
EQ_FIRST, EQ_REPLY = timedelta(minutes=10), timedelta(hours=4)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def desk(clock: FrozenClock) -> Desk:
    return make_desk(clock, **CONFIG)


@pytest.fixture
def fake() -> FakeUnitOfWork:
    """Two equipment stewards under two supervisors, a housing steward with nobody above,
    one manager, one committee member, and a customer."""
    f = FakeUnitOfWork()
    add_staff(f, T0, (WANG, "Wang", "steward", LI, ["equipment"]),
              (ZHAO, "Zhao", "steward", ZHOU, ["equipment"]),
              (SUN, "Sun", "steward", None, ["housing"]),
              (LI, "Li", "supervisor", CHEN, []), (ZHOU, "Zhou", "supervisor", CHEN, []),
              (CHEN, "Chen", "manager", BOARD, []), (BOARD, "Board", "committee", None, []))
    f.repos.customers.rows[CUSTOMER] = Customer(
        id=CUSTOMER, first_name="Lin", language="en", unreachable=False, created_at=T0,
        updated_at=T0)
    return f


@pytest.fixture
def uow(fake: FakeUnitOfWork) -> UnitOfWork:
    """The fake as the services' parameter type (it has the parts of it they use)."""
    return cast(UnitOfWork, fake)


def in_group(fake: FakeUnitOfWork, **values: Any) -> Ticket:
    """An equipment ticket with its topic and card in the staff group, windows as filed."""
    return add_ticket(fake, T0, staff_chat_id=GROUP, topic_id=TOPIC, card_message_id=CARD_MID,
                      first_response_window="10m", reply_window="4h", **values)


Handler = Callable[[UnitOfWork, Desk, Timer, datetime], Awaitable[list[Effect]]]


async def fire(handler: Handler, uow: UnitOfWork, desk: Desk, timer: Timer,
               now: datetime) -> list[Effect]:
    """Run a timer's service as the scheduler does: it is done afterwards."""
    out = await handler(uow, desk, timer, now)
    timer.status = "done"
    assert_renders(out)
    return out


def assert_renders(out: Sequence[Effect]) -> None:
    """Every text asked for exists in its catalog and gets every value it names."""
    for e in out:
        if isinstance(e, Say):
            text(e.lang, e.key, **e.values)
            for row in e.buttons:
                for b in row:
                    text(e.lang, b.label_key)


def says(out: Sequence[Effect], key: str) -> dict[int, Say]:
    """The Says of one catalog key, by chat."""
    return {e.chat_id: e for e in out if isinstance(e, Say) and e.key == key}


def details(fake: FakeUnitOfWork, ticket_id: int, event: str) -> list[dict[str, Any]]:
    return [h.details for h in fake.repos.tickets.recorded
            if h.ticket_id == ticket_id and h.event == event]


# -- the fakes stay honest ------------------------------------------------------------------

@pytest.mark.parametrize(("fake_cls", "real_cls"), [
    (FakeTicketRepo, TicketRepo), (FakeTimerRepo, TimerRepo), (FakeStaffRepo, StaffRepo),
    (FakeCustomerRepo, CustomerRepo), (FakeDraftRepo, DraftRepo)])
def test_fakes_keep_the_real_signatures(fake_cls: type, real_cls: type) -> None:
    methods = {n: f for n, f in vars(fake_cls).items()
               if not n.startswith("_") and callable(f)}
    assert methods
    for name, fn in methods.items():
        real = getattr(real_cls, name, None)
        assert real is not None, f"{real_cls.__name__} has no {name}"
        assert inspect.signature(fn) == inspect.signature(real), name
        assert inspect.iscoroutinefunction(fn) == inspect.iscoroutinefunction(real), name


def test_fake_repositories_are_named_as_the_real_ones(fake: FakeUnitOfWork) -> None:
    real = Repositories(cast(UnitOfWork, fake))
    for name, repo in vars(fake.repos).items():
        assert type(repo).__name__ == "Fake" + type(getattr(real, name)).__name__


# -- filing ----------------------------------------------------------------------------------

def answers(category: str) -> dict[str, Any]:
    return {"category": category, "outcome": "repair", "name": "Lin",
            "phone": "+8613800138000", "facts": [{"text": "The lift is broken", "mid": 7}]}


async def test_filing_keeps_the_category_windows_and_sets_their_timers(
        fake: FakeUnitOfWork, uow: UnitOfWork, desk: Desk) -> None:
    customer = fake.repos.customers.rows[CUSTOMER]
    t = await tickets.file_complaint(uow, desk, customer, answers("equipment"), T0)
    assert t.id == 1 and t.status == Status.OPEN
    assert (t.first_response_window, t.reply_window) == ("600s", "14400s")
    assert (t.first_response_due, t.reply_due) == (T0 + EQ_FIRST, T0 + EQ_REPLY)
    assert [(x.kind, x.due_at, x.payload) for x in pending_timers(fake, t.id)] == [
        (FR, T0 + EQ_FIRST, {"step": 1}), (RD, T0 + EQ_REPLY, {"step": 1})]
    assert events(fake, t.id) == [Event.FILED]
    filed = details(fake, t.id, Event.FILED)[0]
    # The record says what was promised.
    assert filed["reply_due"] == (T0 + EQ_REPLY).isoformat()
    assert [m.customer_message_id for m in fake.repos.tickets.transcript] == [7]


async def test_filing_without_category_windows_keeps_the_desk_ones(
        fake: FakeUnitOfWork, uow: UnitOfWork, desk: Desk) -> None:
    customer = fake.repos.customers.rows[CUSTOMER]
    t = await tickets.file_complaint(uow, desk, customer, answers("housing"), T0)
    assert (t.first_response_window, t.reply_window) == ("1800s", "2 working days")
    # Wednesday 15:00 + 2 working days = Friday 15:00 at the desk.
    assert t.reply_due == datetime(2026, 3, 6, 7, 0, tzinfo=UTC)
    assert t.first_response_due == T0 + timedelta(minutes=30)


async def test_filed_at_night_the_first_response_counts_from_opening(
        fake: FakeUnitOfWork, uow: UnitOfWork, desk: Desk) -> None:
    customer = fake.repos.customers.rows[CUSTOMER]
    t = await tickets.file_complaint(uow, desk, customer, answers("equipment"), NIGHT)
    # 23:00 → Thursday 09:00 + 10 minutes; the elapsed reply window runs through the night.
    assert t.first_response_due == datetime(2026, 3, 5, 1, 10, tzinfo=UTC)
    assert t.reply_due == NIGHT + EQ_REPLY


# -- first response missed -------------------------------------------------------------------

async def test_unclaimed_goes_to_the_supervisors_then_the_manager(
        fake: FakeUnitOfWork, uow: UnitOfWork, desk: Desk) -> None:
    t = in_group(fake)
    timer = fake.repos.timers.add(FR, T0, T0, ticket_id=t.id, payload={"step": 1})
    t1 = T0 + EQ_FIRST
    out = await fire(deadlines.first_response_missed, uow, desk, timer, t1)

    assert t.escalation_level == 1 and t.status == Status.OPEN
    # The supervisors of both routed stewards, and the supervisors' chat.
    assert set(says(out, "staff.dm.escalated")) == {LI, ZHOU, SUPERVISORS_CHAT}
    topic = says(out, "staff.escalated")[GROUP]
    assert topic.thread_id == TOPIC
    assert topic.buttons == ((Button("staff.btn.take_over", "claim", t.id),),)
    cards = [e for e in out if isinstance(e, Card)]
    assert [(c.message_id, c.view.level) for c in cards] == [(CARD_MID, 1)]
    assert not [e for e in out if getattr(e, "chat_id", None) == CUSTOMER]
    step2 = pending_timers(fake, t.id, FR)
    assert [(x.due_at, x.payload) for x in step2] == [(t1 + EQ_FIRST, {"step": 2})]
    assert events(fake, t.id) == [Event.DEADLINE_MISSED, Event.ESCALATED]
    assert details(fake, t.id, Event.ESCALATED)[0] | {"reason": ""} == {
        "level": 1, "from": 0, "cause": EscalationCause.FIRST_RESPONSE, "reason": ""}

    out = await fire(deadlines.first_response_missed, uow, desk, step2[0], step2[0].due_at)
    assert t.escalation_level == 2
    assert set(says(out, "staff.dm.escalated")) == {CHEN, MANAGERS_CHAT}
    assert not [e for e in out if getattr(e, "chat_id", None) == CUSTOMER]
    # The manager is the top for a slow claim: no third window.
    assert pending_timers(fake, t.id, FR) == []
    assert [d["level"] for d in details(fake, t.id, Event.ESCALATED)] == [1, 2]


async def test_a_complaint_about_a_steward_goes_past_their_supervisor_to_the_manager(
        fake: FakeUnitOfWork, uow: UnitOfWork, desk: Desk) -> None:
    # Dispatched to Wang's supervisor at level 1: a missed first response is the manager's.
    t = in_group(fake, about_staff_id=WANG, escalation_level=1)
    timer = fake.repos.timers.add(FR, T0, T0, ticket_id=t.id, payload={"step": 1})
    out = await fire(deadlines.first_response_missed, uow, desk, timer, T0)
    assert t.escalation_level == 2
    assert set(says(out, "staff.dm.escalated")) == {CHEN, MANAGERS_CHAT}
    assert pending_timers(fake, t.id) == []


async def test_a_claimed_tickets_first_response_timer_does_nothing(
        fake: FakeUnitOfWork, uow: UnitOfWork, desk: Desk) -> None:
    t = in_group(fake, status=Status.ASSIGNED, assignee_id=WANG)
    timer = fake.repos.timers.add(FR, T0, T0, ticket_id=t.id, payload={"step": 1})
    assert await fire(deadlines.first_response_missed, uow, desk, timer, T0) == []
    assert t.escalation_level == 0
    assert events(fake, t.id) == [] and pending_timers(fake, t.id) == []


# -- reply deadline --------------------------------------------------------------------------

async def test_reply_deadline_in_the_day_tells_the_customer_and_goes_up(
        fake: FakeUnitOfWork, uow: UnitOfWork, desk: Desk) -> None:
    t = in_group(fake, status=Status.ASSIGNED, assignee_id=WANG, reply_due=T0)
    fake.repos.tickets.add_message(t.id, T0 - timedelta(hours=1), "out", WANG, "text",
                                   "A technician comes tomorrow")
    timer = fake.repos.timers.add(RD, T0, T0 - EQ_REPLY, ticket_id=t.id, payload={"step": 1})
    out = await fire(deadlines.reply_due, uow, desk, timer, T0)

    assert set(says(out, "staff.dm.reply_due")) == {WANG}
    # The assignee's own supervisor, not the other steward's.
    assert set(says(out, "staff.dm.escalated")) == {LI, SUPERVISORS_CHAT}
    assert says(out, "staff.escalated")[GROUP].buttons == ()  # claimed: nothing to take over
    assert t.escalation_level == 1
    told = says(out, "customer.progress_latest")[CUSTOMER]
    assert told.lang == "en" and told.values["latest"] == "A technician comes tomorrow"
    assert told.values["due"] == desk.calendar.local(T0 + EQ_REPLY)
    # The new deadline is stored and kept like the first.
    assert t.reply_due == T0 + EQ_REPLY
    assert [x.due_at for x in pending_timers(fake, t.id, RD)] == [T0 + EQ_REPLY]
    assert events(fake, t.id) == [Event.DEADLINE_MISSED, Event.ESCALATED, Event.PROGRESS_SENT]
    assert details(fake, t.id, Event.PROGRESS_SENT)[0]["reply_due"] == (
        T0 + EQ_REPLY).isoformat()


async def test_reply_deadline_at_night_tells_staff_now_and_the_customer_at_eight(
        fake: FakeUnitOfWork, uow: UnitOfWork, desk: Desk) -> None:
    t = in_group(fake, status=Status.ASSIGNED, assignee_id=WANG, reply_due=NIGHT)
    timer = fake.repos.timers.add(RD, NIGHT, T0, ticket_id=t.id, payload={"step": 1})
    out = await fire(deadlines.reply_due, uow, desk, timer, NIGHT)

    assert set(says(out, "staff.dm.reply_due")) == {WANG}
    assert LI in says(out, "staff.dm.escalated") and t.escalation_level == 1
    assert not [e for e in out if getattr(e, "chat_id", None) == CUSTOMER]
    assert t.reply_due == NIGHT  # no new promise until it is made
    assert pending_timers(fake, t.id, RD) == []
    notice = pending_timers(fake, t.id, PN)
    assert [x.due_at for x in notice] == [MORNING]

    out = await fire(deadlines.progress_notice, uow, desk, notice[0], MORNING)
    told = says(out, "customer.progress")[CUSTOMER]
    assert told.values["due"] == desk.calendar.local(MORNING + EQ_REPLY)
    assert t.reply_due == MORNING + EQ_REPLY
    assert [x.due_at for x in pending_timers(fake, t.id, RD)] == [MORNING + EQ_REPLY]
    assert t.escalation_level == 1  # the morning message does not go up again


async def test_at_the_top_a_reply_deadline_still_tells_the_customer(
        fake: FakeUnitOfWork, uow: UnitOfWork, desk: Desk) -> None:
    t = in_group(fake, status=Status.ASSIGNED, assignee_id=WANG, escalation_level=3)
    timer = fake.repos.timers.add(RD, T0, T0, ticket_id=t.id)
    out = await fire(deadlines.reply_due, uow, desk, timer, T0)
    assert t.escalation_level == 3 and not says(out, "staff.dm.escalated")
    assert CUSTOMER in says(out, "customer.progress") and WANG in says(out, "staff.dm.reply_due")
    assert Event.ESCALATED not in events(fake, t.id)


async def test_no_progress_message_once_the_ticket_is_resolved(
        fake: FakeUnitOfWork, uow: UnitOfWork, desk: Desk) -> None:
    t = in_group(fake, status=Status.ASSIGNED, assignee_id=WANG, reply_due=NIGHT)
    timer = fake.repos.timers.add(RD, NIGHT, T0, ticket_id=t.id)
    await fire(deadlines.reply_due, uow, desk, timer, NIGHT)
    notice = pending_timers(fake, t.id, PN)[0]
    await life.move(uow, desk, t, Transition.RESOLVE, STAFF, WANG, NIGHT + timedelta(hours=1))
    assert notice.status == "cancelled"
    # Already claimed by the scheduler when the resolution committed: it still does nothing.
    assert await fire(deadlines.progress_notice, uow, desk, notice, MORNING) == []
    assert Event.PROGRESS_SENT not in events(fake, t.id)
    # What is left to fire is the follow-up (回访), never a deadline.
    assert [x.kind for x in pending_timers(fake, t.id)] == [TimerKind.FOLLOW_UP]


# -- urging ----------------------------------------------------------------------------------

async def test_every_third_urge_goes_up_a_level_and_every_urge_reaches_the_assignee(
        fake: FakeUnitOfWork, uow: UnitOfWork, desk: Desk) -> None:
    t = in_group(fake, status=Status.ASSIGNED, assignee_id=WANG, reply_due=T0 + EQ_REPLY)
    results = [await tickets.urge(uow, desk, t, CUSTOMER) for _ in range(6)]

    assert [r.escalated_to for r in results] == [None, None, 1, None, None, 2]
    assert t.urge_count == 6 and t.escalation_level == 2
    for n, r in enumerate(results, 1):
        assert_renders(r.staff)
        assert says(r.staff, "staff.dm.urged")[WANG].values["count"] == n
        assert says(r.staff, "staff.urged")[GROUP].thread_id == TOPIC
        assert (r.who, r.due) == ("Wang", desk.calendar.local(T0 + EQ_REPLY))
    assert not says(results[1].staff, "staff.dm.escalated")
    assert LI in says(results[2].staff, "staff.dm.escalated")
    assert CHEN in says(results[5].staff, "staff.dm.escalated")
    assert [(h.actor_kind, h.details["cause"]) for h in fake.repos.tickets.recorded
            if h.event == Event.ESCALATED] == [(ActorKind.CUSTOMER, EscalationCause.URGED)] * 2


# -- the ladder ------------------------------------------------------------------------------

async def test_a_level_reached_is_told_once_and_the_committee_is_the_top(
        fake: FakeUnitOfWork, uow: UnitOfWork, desk: Desk) -> None:
    t = in_group(fake, status=Status.ASSIGNED, assignee_id=WANG)

    async def up(level: int) -> list[Effect]:
        return await escalation.escalate(uow, desk, t, level, EscalationCause.BY_STAFF,
                                         "why", STAFF, WANG, T0)

    assert await up(1)
    assert await up(1) == [] and await up(0) == []
    out = await up(9)
    assert t.escalation_level == 3
    assert set(says(out, "staff.dm.escalated")) == {BOARD}
    assert await up(3) == [] and await up(4) == []
    assert [d["level"] for d in details(fake, t.id, Event.ESCALATED)] == [1, 3]


async def test_recipients_are_the_nearest_above_never_the_subject_nor_the_actor(
        fake: FakeUnitOfWork, uow: UnitOfWork) -> None:
    mine = in_group(fake, status=Status.ASSIGNED, assignee_id=WANG)
    assert await escalation.recipients(uow, mine, 1, None) == (LI,)
    assert await escalation.recipients(uow, mine, 2, None) == (CHEN,)
    assert await escalation.recipients(uow, mine, 3, None) == (BOARD,)
    # The supervisor escalating their steward's ticket is not told about it.
    assert await escalation.recipients(uow, mine, 1, LI) == ()

    about_li = add_ticket(fake, T0, status=Status.ASSIGNED, assignee_id=WANG, about_staff_id=LI)
    assert await escalation.recipients(uow, about_li, 1, None) == (CHEN,)

    unclaimed = add_ticket(fake, T0)
    assert set(await escalation.recipients(uow, unclaimed, 1, None)) == {LI, ZHOU}
    assert LI not in await escalation.recipients(uow, unclaimed, 1, LI)

    # Nobody above the housing steward: everyone at that level.
    nobody_above = add_ticket(fake, T0, category="housing")
    assert set(await escalation.recipients(uow, nobody_above, 1, None)) == {LI, ZHOU}
    assert await escalation.recipients(uow, nobody_above, 2, None) == (CHEN,)


# -- transitions -----------------------------------------------------------------------------

async def test_an_illegal_transition_raises_and_changes_nothing(
        fake: FakeUnitOfWork, uow: UnitOfWork, desk: Desk) -> None:
    customer = fake.repos.customers.rows[CUSTOMER]
    t = await tickets.file_complaint(uow, desk, customer, answers("equipment"), T0)
    before = (t.status, t.updated_at, t.first_response_due, t.reply_due,
              len(fake.repos.tickets.recorded), [(x.kind, x.status) for x in
                                                 fake.repos.timers.rows])
    with pytest.raises(IllegalTransition):
        await life.move(uow, desk, t, Transition.REOPEN, STAFF, WANG, T0 + timedelta(hours=1))
    assert (t.status, t.updated_at, t.first_response_due, t.reply_due,
            len(fake.repos.tickets.recorded), [(x.kind, x.status) for x in
                                               fake.repos.timers.rows]) == before


async def test_a_claim_cancels_the_first_response_timer_only(
        fake: FakeUnitOfWork, uow: UnitOfWork, desk: Desk) -> None:
    customer = fake.repos.customers.rows[CUSTOMER]
    t = await tickets.file_complaint(uow, desk, customer, answers("equipment"), T0)
    await life.move(uow, desk, t, Transition.CLAIM, STAFF, WANG, T0 + timedelta(minutes=5))
    assert t.status == Status.ASSIGNED
    assert [x.kind for x in pending_timers(fake, t.id)] == [RD]
    assert events(fake, t.id)[-2:] == [Event.CLAIMED, Event.STATUS_CHANGED]
    assert details(fake, t.id, Event.STATUS_CHANGED) == [{"status": Status.ASSIGNED}]


async def test_a_release_promises_a_first_response_in_the_window_stored_on_the_ticket(
        fake: FakeUnitOfWork, uow: UnitOfWork, desk: Desk) -> None:
    # Filed under a 10-minute window: the desk's 30 minutes do not apply to it.
    t = in_group(fake, status=Status.ASSIGNED, assignee_id=WANG)
    await life.move(uow, desk, t, Transition.RELEASE, STAFF, WANG, T0)
    assert t.status == Status.OPEN and t.first_response_due == T0 + EQ_FIRST
    assert [(x.kind, x.due_at) for x in pending_timers(fake, t.id)] == [(FR, T0 + EQ_FIRST)]
    assert details(fake, t.id, Event.RELEASED)[0]["first_response_due"] == (
        T0 + EQ_FIRST).isoformat()
    # A ticket filed before windows were stored on tickets keeps the desk's.
    older = add_ticket(fake, T0, status=Status.ASSIGNED, assignee_id=WANG)
    await life.move(uow, desk, older, Transition.RELEASE, STAFF, WANG, T0)
    assert older.first_response_due == T0 + timedelta(minutes=30)


# -- the follow-up (回访) and repeat complaints -------------------------------------------------

FU, FUR, FUX = TimerKind.FOLLOW_UP, TimerKind.FOLLOW_UP_REMINDER, TimerKind.FOLLOW_UP_EXPIRY
WEEK = timedelta(days=7)


async def _resolved(fake: FakeUnitOfWork, desk: Desk, at: datetime, **values: Any) -> Ticket:
    """A ticket the steward Wang resolved at `at` (its follow-up timer set)."""
    t = in_group(fake, status=Status.ASSIGNED, assignee_id=WANG, **values)
    await life.move(cast(UnitOfWork, fake), desk, t, Transition.RESOLVE, STAFF, WANG, at,
                    note="Fixed the lift.\nDetails follow.")
    t.resolved_at = at
    return t


async def _asked(fake: FakeUnitOfWork, desk: Desk, **values: Any) -> tuple[Ticket, Timer]:
    """A ticket resolved at T0 whose follow-up was sent a week later (and that follow-up)."""
    t = await _resolved(fake, desk, T0, **values)
    [timer] = pending_timers(fake, t.id, FU)
    await fire(follow_up.send, cast(UnitOfWork, fake), desk, timer, T0 + WEEK)
    return t, timer


async def test_the_follow_up_is_due_after_its_window_never_in_quiet_hours(
        fake: FakeUnitOfWork, uow: UnitOfWork, desk: Desk, clock: FrozenClock) -> None:
    day = await _resolved(fake, desk, T0)  # 15:00 at the desk: a week later, same time
    assert [x.due_at for x in pending_timers(fake, day.id)] == [T0 + WEEK]
    night = await _resolved(fake, desk, NIGHT)  # 23:00: a week later at 08:00
    assert [x.due_at for x in pending_timers(fake, night.id)] == [MORNING + WEEK]
    # Business days are allowed: Wednesday 15:00 + 2 working days is Friday 15:00.
    working = make_desk(clock, **{**CONFIG, "windows": {**CONFIG["windows"],
                                                        "follow_up_after": "2 working days"}})
    friday = await _resolved(fake, working, T0)
    assert [x.due_at for x in pending_timers(fake, friday.id)] == [T0 + timedelta(days=2)]


async def test_a_follow_up_due_in_the_night_waits_for_the_morning(
        fake: FakeUnitOfWork, uow: UnitOfWork, desk: Desk) -> None:
    t = await _resolved(fake, desk, T0)
    [timer] = pending_timers(fake, t.id, FU)
    assert await fire(follow_up.send, uow, desk, timer, NIGHT + WEEK) == []  # the bot was down
    [again] = pending_timers(fake, t.id, FU)
    assert again.due_at == MORNING + WEEK and Event.FOLLOW_UP_SENT not in events(fake, t.id)
    out = await fire(follow_up.send, uow, desk, again, MORNING + WEEK)
    ask = says(out, "follow_up.ask")[CUSTOMER]
    assert ask.values["summary"] == "Fixed the lift."  # the resolution in one line
    arg = f"{again.id}:{FollowUpAnswer.SATISFIED}"
    assert [b.arg for row in ask.buttons for b in row][0] == arg
    # Sent: one reminder and the expiry are set, each out of quiet hours.
    assert {x.kind for x in pending_timers(fake, t.id)} == {FUR, FUX}


async def test_a_timer_of_an_earlier_resolution_does_nothing(
        fake: FakeUnitOfWork, uow: UnitOfWork, desk: Desk) -> None:
    t = await _resolved(fake, desk, T0)
    [old] = pending_timers(fake, t.id, FU)
    out = await fire(follow_up.send, uow, desk, old, T0 + WEEK)
    assert says(out, "follow_up.ask")
    key, _, _ = await follow_up.answer(uow, desk, t, old.id, FollowUpAnswer.NOT_SATISFIED,
                                       STAFF, None, T0 + WEEK, "en")
    assert key == "customer.reopened" and t.status == Status.OPEN
    await life.move(uow, desk, t, Transition.RESOLVE, STAFF, WANG, T0 + WEEK + timedelta(hours=1))
    t.resolved_at = T0 + WEEK + timedelta(hours=1)
    # The earlier follow-up's reminder, claimed before the reopening cancelled it, stays quiet;
    # the earlier follow-up is not the current one.
    reminder = [x for x in fake.repos.timers.rows if x.kind == FUR][0]
    assert reminder.status == "cancelled"
    assert await fire(follow_up.remind, uow, desk, reminder, T0 + WEEK + timedelta(days=2)) == []
    assert await follow_up.current(uow, t) is None
    assert events(fake, t.id).count(Event.FOLLOW_UP_REMINDED) == 0


async def test_satisfied_closes_with_the_rating_and_closes_the_topic(
        fake: FakeUnitOfWork, uow: UnitOfWork, desk: Desk) -> None:
    t, timer = await _asked(fake, desk)
    key, values, out = await follow_up.answer(uow, desk, t, timer.id, FollowUpAnswer.MOSTLY,
                                              "customer", CUSTOMER, T0 + WEEK, "en")
    assert (key, values) == ("follow_up.thanks", {"ref": t.ref})
    assert (t.status, t.rating, t.rating_label, t.closed_at) == (
        Status.CLOSED, 4, "mostly", T0 + WEEK)
    assert details(fake, t.id, Event.CLOSED)[0] == {"reason": "mostly", "rating": 4}
    assert details(fake, t.id, Event.FOLLOW_UP_ANSWERED)[0] == {
        "follow_up": timer.id, "answer": "mostly", "rating": 4}
    assert says(out, "staff.closed_rated")
    assert any(isinstance(e, Call) and e.method == "closeForumTopic" for e in out)
    assert pending_timers(fake, t.id) == []  # no reminder, no expiry after an answer


async def test_no_answer_is_closed_without_a_rating_after_one_reminder(
        fake: FakeUnitOfWork, uow: UnitOfWork, desk: Desk) -> None:
    t, timer = await _asked(fake, desk, rating=2, rating_label="not_satisfied")
    [reminder] = pending_timers(fake, t.id, FUR)
    assert says(await fire(follow_up.remind, uow, desk, reminder, reminder.due_at),
                "follow_up.reminder")
    [expiry] = pending_timers(fake, t.id, FUX)
    out = await fire(follow_up.expire, uow, desk, expiry, expiry.due_at)
    assert says(out, "follow_up.closed_no_response") and says(out, "staff.closed_no_response")
    assert (t.status, t.rating, t.rating_label) == (Status.CLOSED, None, None)
    assert details(fake, t.id, Event.CLOSED)[0] == {"reason": "no_response", "rating": None}
    assert events(fake, t.id).count(Event.FOLLOW_UP_REMINDED) == 1


async def test_left_over_waits_for_the_words_and_the_expiry_reopens_without_them(
        fake: FakeUnitOfWork, uow: UnitOfWork, desk: Desk) -> None:
    t, timer = await _asked(fake, desk)
    fake.repos.drafts.add(CUSTOMER, CUSTOMER, LEFT_OVER,
                          {"ticket": t.id, "follow_up": timer.id, "ref": t.ref}, T0 + WEEK)
    [reminder] = pending_timers(fake, t.id, FUR)
    # They answered (something is left over): no reminder while they write it.
    assert await fire(follow_up.remind, uow, desk, reminder, reminder.due_at) == []
    [expiry] = pending_timers(fake, t.id, FUX)
    out = await fire(follow_up.expire, uow, desk, expiry, expiry.due_at)
    # They said it is not settled: reopened as a repeat at the manager level, not closed.
    assert (t.status, t.repeat_count, t.escalation_level, t.resolver_id) == (
        Status.OPEN, 1, 2, WANG)
    assert says(out, "customer.reopened")[CUSTOMER].values["due"] is not None
    assert says(out, "staff.reopened") and await fake.repos.drafts.get(CUSTOMER) is None
    assert {x.kind for x in pending_timers(fake, t.id)} == {
        TimerKind.FIRST_RESPONSE_DUE, TimerKind.REPLY_DUE}
