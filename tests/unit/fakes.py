"""An in-memory unit of work for service-level unit tests (in the style of cosmicpython's
tests/unit/test_handlers.py): rule changes are caught in milliseconds, not only over HTTP.

Only the repository methods the ticket-life services call are faked, each with the real
method's signature and sync/async-ness (test_services.py checks both against
storage/repositories.py). Rows are the real model classes used as plain objects, so attribute
names cannot drift; the real repositories are tested against SQLite and PostgreSQL elsewhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.clock import Clock
from bot.config import Config, EnvSettings, FileConfig
from bot.services.desk import Desk
from storage.models import (
    Customer,
    IntakeDraft,
    Staff,
    Ticket,
    TicketHistory,
    TicketMessage,
    Timer,
)

PENDING, CANCELLED = "pending", "cancelled"


class FakeTicketRepo:
    """Tickets, their history and transcript in lists; ids are given at flush like the database."""

    def __init__(self) -> None:
        self.rows: dict[int, Ticket] = {}
        self.unflushed: list[Ticket] = []
        self.recorded: list[TicketHistory] = []
        self.transcript: list[TicketMessage] = []

    def add(self, ticket: Ticket) -> Ticket:
        """Insert a ticket (its id is known after the next flush)."""
        self.unflushed.append(ticket)
        return ticket

    async def flush(self) -> None:
        """Write pending rows so generated ids exist."""
        self._assign_ids()

    def _assign_ids(self) -> None:
        """Give unflushed tickets the next ids (what the database does at flush)."""
        for t in self.unflushed:
            t.id = max(self.rows, default=0) + 1
            self.rows[t.id] = t
        self.unflushed.clear()

    def record(self, ticket_id: int, at: datetime, actor_kind: str, actor_id: int | None,
               event: str, details: dict[str, Any] | None = None) -> TicketHistory:
        """Append to the ticket's history (append-only: there is no update or delete)."""
        if ticket_id is None:
            # The database would refuse this row at flush (NOT NULL): say so where it happens.
            raise ValueError(f"history row {event!r} without a ticket id (not flushed yet?)")
        row = TicketHistory(
            id=len(self.recorded) + 1, ticket_id=ticket_id, at=at, actor_kind=actor_kind,
            actor_id=actor_id, event=event, details=details or {})
        self.recorded.append(row)
        return row

    def add_message(self, ticket_id: int, at: datetime, direction: str, author_id: int | None,
                    kind: str, text: str | None, file_id: str | None = None,
                    customer_message_id: int | None = None,
                    staff_message_id: int | None = None) -> TicketMessage:
        """Append to the ticket's transcript."""
        m = TicketMessage(id=len(self.transcript) + 1, ticket_id=ticket_id, at=at,
                          direction=direction, author_id=author_id, kind=kind, text=text,
                          file_id=file_id, customer_message_id=customer_message_id,
                          staff_message_id=staff_message_id)
        self.transcript.append(m)
        return m

    async def get(self, ticket_id: int) -> Ticket | None:
        """A ticket by id (system use: timers)."""
        return self.rows.get(ticket_id)

    async def get_locked(self, ticket_id: int) -> Ticket | None:
        """A ticket by id; nothing runs concurrently here, so the lock is the plain read."""
        return await self.get(ticket_id)

    async def history(self, ticket_id: int, events: frozenset[str] | None = None
                      ) -> list[TicketHistory]:
        """The ticket's history in order (optionally only some events)."""
        return [h for h in self.recorded if h.ticket_id == ticket_id
                and (events is None or h.event in events)]

    async def latest_public_reply(self, ticket_id: int) -> str | None:
        """The newest text staff sent the customer on a ticket (None: nothing yet)."""
        texts = [m.text for m in self.transcript
                 if m.ticket_id == ticket_id and m.direction == "out" and m.text is not None]
        return texts[-1] if texts else None


class FakeTimerRepo:
    """Timers in a list; cancelling marks them as the UPDATE would."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow
        self.rows: list[Timer] = []

    def add(self, kind: str, due_at: datetime, now: datetime, *, ticket_id: int | None = None,
            chat_id: int | None = None, payload: dict[str, Any] | None = None) -> Timer:
        """Schedule a timer."""
        t = Timer(id=len(self.rows) + 1, kind=kind, due_at=due_at, ticket_id=ticket_id,
                  chat_id=chat_id, payload=payload or {}, status=PENDING, attempts=0,
                  created_at=now)
        self.rows.append(t)
        self.uow.timers_added = True
        return t

    def again(self, timer: Timer, due_at: datetime, now: datetime) -> Timer:
        """The same timer (kind, ticket, chat, payload) once more, due at `due_at`."""
        return self.add(timer.kind, due_at, now, ticket_id=timer.ticket_id,
                        chat_id=timer.chat_id, payload=timer.payload)

    async def cancel(self, *, ticket_id: int | None = None, chat_id: int | None = None,
                     kinds: tuple[str, ...] = ()) -> None:
        """Cancel pending timers of a ticket or chat (optionally only some kinds)."""
        for t in self.rows:
            if (t.status == PENDING and (ticket_id is None or t.ticket_id == ticket_id)
                    and (chat_id is None or t.chat_id == chat_id)
                    and (not kinds or t.kind in kinds)):
                t.status = CANCELLED


class FakeStaffRepo:
    """The roster in a dict."""

    def __init__(self) -> None:
        self.rows: dict[int, Staff] = {}

    async def get(self, user_id: int) -> Staff | None:
        """The staff member, or None."""
        return self.rows.get(user_id)

    async def all(self) -> list[Staff]:
        """Every staff member, active or not."""
        return [self.rows[i] for i in sorted(self.rows)]

    def add(self, staff: Staff) -> Staff:
        """Add a staff member."""
        self.rows[staff.id] = staff
        return staff


class FakeCustomerRepo:
    """Customers in a dict."""

    def __init__(self) -> None:
        self.rows: dict[int, Customer] = {}

    async def get(self, user_id: int) -> Customer | None:
        """The customer, or None."""
        return self.rows.get(user_id)


class FakeDraftRepo:
    """Intake drafts (and the follow-up's "what is left over?" wait) by chat."""

    def __init__(self) -> None:
        self.rows: dict[int, IntakeDraft] = {}

    async def get(self, chat_id: int) -> IntakeDraft | None:
        """The chat's draft, or None."""
        return self.rows.get(chat_id)

    def add(self, chat_id: int, user_id: int, step: str, answers: dict[str, Any],
            now: datetime) -> IntakeDraft:
        """Start a draft."""
        d = IntakeDraft(chat_id=chat_id, user_id=user_id, step=step, answers=answers,
                        created_at=now, updated_at=now)
        self.rows[chat_id] = d
        return d

    def save(self, draft: IntakeDraft, step: str, answers: dict[str, Any],
             now: datetime) -> None:
        """Record the step and answers."""
        draft.step, draft.answers, draft.updated_at = step, answers, now

    async def delete(self, draft: IntakeDraft) -> None:
        """Forget a draft."""
        self.rows.pop(draft.chat_id, None)


class FakeRepositories:
    """The repositories the ticket-life services use; any other is an AttributeError here."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.tickets = FakeTicketRepo()
        self.timers = FakeTimerRepo(uow)
        self.staff = FakeStaffRepo()
        self.customers = FakeCustomerRepo()
        self.drafts = FakeDraftRepo()


class FakeUnitOfWork:
    """Stands in for storage.uow.UnitOfWork: the services only reach it through `repos`."""

    def __init__(self) -> None:
        self.outbox_added = False
        self.timers_added = False
        self.repos = FakeRepositories(self)


def make_desk(clock: Clock, **file: Any) -> Desk:
    """A desk from a configuration given as the TOML file's contents (a dict)."""
    config = Config(env=EnvSettings(), file=FileConfig.model_validate(file))
    return Desk.from_config(config, clock)


def add_staff(uow: FakeUnitOfWork, at: datetime, *entries: tuple[int, str, str, int | None,
                                                                  list[str]]) -> None:
    """Put (id, name, role, supervisor id, categories) people on the roster."""
    for i, name, role, boss, categories in entries:
        uow.repos.staff.add(Staff(id=i, name=name, role=role, supervisor_id=boss,
                                  categories=categories, areas=[], active=True, created_at=at))


def add_ticket(uow: FakeUnitOfWork, at: datetime, **values: Any) -> Ticket:
    """An open, unclaimed ticket already filed (ids given); `values` override any column."""
    row: dict[str, Any] = dict(
        ref="260304-ABCDE", customer_id=5001, channel="telegram", category="equipment",
        facts="The lift is broken", desired_outcome="Repair it", extra={}, contact_name="Lin",
        phone="+8613800138000", language="en", status="open", escalation_level=0,
        is_major=False, repeat_count=0, urge_count=0, unreachable=False, created_at=at,
        updated_at=at)
    t = uow.repos.tickets.add(Ticket(**{**row, **values}))
    uow.repos.tickets._assign_ids()
    return t


def pending_timers(uow: FakeUnitOfWork, ticket_id: int, kind: str | None = None
                   ) -> list[Timer]:
    """The ticket's timers still to fire (of one kind when given), in due order."""
    return sorted((t for t in uow.repos.timers.rows if t.ticket_id == ticket_id
                   and t.status == PENDING and (kind is None or t.kind == kind)),
                  key=lambda t: t.due_at)


def events(uow: FakeUnitOfWork, ticket_id: int) -> list[str]:
    """The ticket's history as event names, in order."""
    return [h.event for h in uow.repos.tickets.recorded if h.ticket_id == ticket_id]
