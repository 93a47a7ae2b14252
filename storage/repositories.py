"""Repositories: the only place SQL is written. Hot paths (inbox, outbox) use Core statements."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import flag_modified

from storage.models import (
    Customer,
    InboxUpdate,
    IntakeDraft,
    OutboxMessage,
    Staff,
    StaffChat,
    StaffPending,
    Ticket,
    TicketHistory,
    TicketMessage,
    Timer,
)

if TYPE_CHECKING:
    from storage.uow import UnitOfWork


class Repositories:
    """All repositories of one unit of work."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.inbox = InboxRepo(uow)
        self.outbox = OutboxRepo(uow)
        self.customers = CustomerRepo(uow)
        self.staff = StaffRepo(uow)
        self.timers = TimerRepo(uow)
        self.drafts = DraftRepo(uow)
        self.tickets = TicketRepo(uow)
        self.handoff = HandoffRepo(uow)


class _Repo:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    @property
    def session(self):  # type: ignore[no-untyped-def]
        return self.uow.session

    @property
    def dialect(self) -> str:
        return self.uow.session.bind.dialect.name  # type: ignore[union-attr]

    def _insert(self, model: Any) -> Any:
        """INSERT that can say ON CONFLICT DO NOTHING on both backends."""
        return (sqlite.insert(model) if self.dialect == "sqlite" else postgresql.insert(model))


@dataclass(frozen=True)
class StoredUpdate:
    """An inbox row as the worker needs it."""

    update_id: int
    chat_id: int | None
    payload: str
    attempts: int = 0


class InboxRepo(_Repo):
    """Durable inbox of Telegram updates."""

    async def store(self, updates: list[StoredUpdate], now: datetime) -> set[int]:
        """Insert updates not seen before; return the ids that were new."""
        if not updates:
            return set()
        stmt = (
            self._insert(InboxUpdate)
            .values([
                {"update_id": u.update_id, "chat_id": u.chat_id, "payload": u.payload,
                 "status": "pending", "attempts": 0, "received_at": now}
                for u in updates
            ])
            .on_conflict_do_nothing(index_elements=["update_id"])
            .returning(InboxUpdate.update_id)
        )
        return set((await self.session.execute(stmt)).scalars().all())

    async def pending(self, limit: int, after: int = -1) -> list[StoredUpdate]:
        """Unprocessed updates in update_id order."""
        rows = await self.session.execute(
            select(InboxUpdate.update_id, InboxUpdate.chat_id, InboxUpdate.payload,
                   InboxUpdate.attempts)
            .where(InboxUpdate.status == "pending", InboxUpdate.update_id > after)
            .order_by(InboxUpdate.update_id).limit(limit)
        )
        return [StoredUpdate(*r) for r in rows]

    async def claim(self, update_ids: list[int]) -> set[int]:
        """Of these updates, the ones still pending, held by this transaction until it ends.

        Several instances may hold the same row in memory (a restarted one recovers, a live
        one takes over a dead one's rows): the first to claim it processes it. PostgreSQL
        skips rows another instance is processing right now; SQLite has one writer anyway.
        """
        stmt = select(InboxUpdate.update_id).where(InboxUpdate.update_id.in_(update_ids),
                                                   InboxUpdate.status == "pending")
        if self.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        return set((await self.session.scalars(stmt)).all())

    async def stale(self, received_before: datetime, limit: int) -> list[int]:
        """Ids of updates still pending that were stored before a moment, oldest first."""
        return list((await self.session.scalars(
            select(InboxUpdate.update_id)
            .where(InboxUpdate.status == "pending", InboxUpdate.received_at < received_before)
            .order_by(InboxUpdate.update_id).limit(limit))).all())

    async def by_ids(self, update_ids: list[int]) -> list[StoredUpdate]:
        """Pending updates by id, in update_id order."""
        rows = await self.session.execute(
            select(InboxUpdate.update_id, InboxUpdate.chat_id, InboxUpdate.payload,
                   InboxUpdate.attempts)
            .where(InboxUpdate.update_id.in_(update_ids), InboxUpdate.status == "pending")
            .order_by(InboxUpdate.update_id))
        return [StoredUpdate(*r) for r in rows]

    async def mark_done(self, update_ids: list[int], now: datetime) -> None:
        """Mark processed updates (in the same transaction as their effects)."""
        if update_ids:
            await self.session.execute(
                update(InboxUpdate).where(InboxUpdate.update_id.in_(update_ids))
                .values(status="done", processed_at=now))

    async def mark_attempt(self, update_id: int, error: str, failed: bool, now: datetime) -> None:
        """Record a failed attempt; `failed` parks the update for good (dead letter)."""
        await self.session.execute(
            update(InboxUpdate).where(InboxUpdate.update_id == update_id).values(
                attempts=InboxUpdate.attempts + 1, error=error[:256],
                status="failed" if failed else "pending",
                processed_at=now if failed else None))

    async def max_update_id(self) -> int | None:
        """Highest update id ever stored (to confirm the polling offset after a restart)."""
        return await self.session.scalar(select(func.max(InboxUpdate.update_id)))

    async def count(self, status: str) -> int:
        """Number of inbox rows with a status."""
        return int(await self.session.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.status == status)) or 0)


@dataclass
class OutboxRow:
    """An outbox row as the sender needs it."""

    id: int
    chat_id: int
    method: str
    payload: dict[str, Any]
    attempts: int
    ticket_id: int | None
    purpose: str | None
    taken_over: bool = False  # its lease had run out: a sender stopped while holding it


def _due_at(now: datetime) -> tuple[Any, ...]:
    """Pending, its time come, and not leased by a live sender."""
    return (OutboxMessage.status == "pending",
            or_(OutboxMessage.not_before.is_(None), OutboxMessage.not_before <= now),
            or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until <= now))


class OutboxRepo(_Repo):
    """Durable outbox of Bot API calls."""

    def __init__(self, uow: UnitOfWork) -> None:
        super().__init__(uow)
        self._buffer: list[dict[str, Any]] = []

    def enqueue(self, chat_id: int, method: str, payload: dict[str, Any], *,
                ticket_id: int | None = None, purpose: str | None = None) -> None:
        """Queue a call; it is written with the rest of the transaction at flush/commit."""
        self._buffer.append({
            "chat_id": chat_id, "method": method, "payload": payload,
            "ticket_id": ticket_id, "purpose": purpose,
        })
        self.uow.outbox_added = True

    def discard(self) -> None:
        """Forget queued calls (their transaction is being rolled back)."""
        self._buffer.clear()

    async def flush(self, now: datetime) -> None:
        """Write the queued calls in one statement."""
        if not self._buffer:
            return
        rows = [{**r, "payload": json.dumps(r["payload"], ensure_ascii=False),
                 "status": "pending", "attempts": 0, "created_at": now} for r in self._buffer]
        self._buffer.clear()
        await self.session.execute(insert(OutboxMessage), rows)

    async def due(self, now: datetime, limit: int,
                  methods: tuple[str, ...] = ()) -> list[OutboxRow]:
        """Pending calls whose time has come, oldest first, not leased by a live sender
        (only `methods` when given)."""
        stmt = (
            select(OutboxMessage.id, OutboxMessage.chat_id, OutboxMessage.method,
                   OutboxMessage.payload, OutboxMessage.attempts, OutboxMessage.ticket_id,
                   OutboxMessage.purpose, OutboxMessage.lease_until)
            .where(*_due_at(now)).order_by(OutboxMessage.id).limit(limit)
        )
        if methods:
            stmt = stmt.where(OutboxMessage.method.in_(methods))
        if self.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = await self.session.execute(stmt)
        return [OutboxRow(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], r[7] is not None)
                for r in rows]

    async def any_due(self, now: datetime) -> bool:
        """Whether a call is due, without locking: rows another transaction is leasing count."""
        return await self.session.scalar(
            select(OutboxMessage.id).where(*_due_at(now)).limit(1)) is not None

    async def failed_since(self, chat_id: int, since: datetime) -> list[OutboxRow]:
        """Calls to a chat given up since a moment, oldest first (to send again)."""
        rows = await self.session.execute(
            select(OutboxMessage.id, OutboxMessage.chat_id, OutboxMessage.method,
                   OutboxMessage.payload, OutboxMessage.attempts, OutboxMessage.ticket_id,
                   OutboxMessage.purpose)
            .where(OutboxMessage.chat_id == chat_id, OutboxMessage.status == "failed",
                   OutboxMessage.sent_at >= since).order_by(OutboxMessage.id))
        return [OutboxRow(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6]) for r in rows]

    async def release_all_leases(self) -> None:
        """End every lease: only for an instance that knows no other can hold any (SQLite)."""
        await self.session.execute(
            update(OutboxMessage).where(OutboxMessage.status == "pending",
                                        OutboxMessage.lease_until.is_not(None))
            .values(lease_until=None))

    async def lease(self, ids: list[int], until: datetime) -> None:
        """Lease rows to this sender until `until` (a stopped sender's rows come back then)."""
        if ids:
            await self.session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(ids),
                                            OutboxMessage.status == "pending")
                .values(lease_until=until))

    async def renew(self, held: dict[int, datetime], until: datetime) -> set[int]:
        """Extend leases this sender still holds (the row still shows the lease_until it wrote)
        and return their ids; a row taken over by another sender shows a later one."""
        kept: set[int] = set()
        by_lease: dict[datetime, list[int]] = {}
        for row_id, old in held.items():
            by_lease.setdefault(old, []).append(row_id)
        for old, ids in by_lease.items():
            result = await self.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.lease_until == old,
                       OutboxMessage.status == "pending")
                .values(lease_until=until).returning(OutboxMessage.id)
                .execution_options(synchronize_session=False))
            kept.update(result.scalars())
        return kept

    async def mark_sent(self, results: list[tuple[int, int | None]], now: datetime) -> None:
        """Record delivered calls with the message id Telegram gave them."""
        if results:
            await self.session.execute(
                update(OutboxMessage).execution_options(synchronize_session=False),
                [{"id": i, "result_message_id": mid, "status": "sent", "sent_at": now,
                  "lease_until": None} for i, mid in results])

    async def retry_later(self, row_id: int, not_before: datetime, error: str,
                          count_attempt: bool = True, release: bool = True) -> None:
        """Put a call back for a later try (rate limit, network or server error); `release`
        False keeps the lease of a sender that retries it from memory."""
        values: dict[str, Any] = {"not_before": not_before, "error": error[:256]}
        if release:
            values["lease_until"] = None
        if count_attempt:
            values["attempts"] = OutboxMessage.attempts + 1
        await self.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values))

    async def mark_failed(self, row_id: int, error: str, now: datetime) -> None:
        """Give up on a call for good (blocked bot, chat not found, bad request)."""
        await self.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == row_id).values(
                status="failed", error=error[:256], sent_at=now, lease_until=None,
                attempts=OutboxMessage.attempts + 1))

    async def count_pending(self) -> int:
        """Calls still to be delivered."""
        return int(await self.session.scalar(
            select(func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.status == "pending")) or 0)

    async def last_message_id(self, chat_id: int, purpose: str) -> int | None:
        """The Telegram message id of the newest delivered call to a chat with this purpose."""
        return await self.session.scalar(
            select(OutboxMessage.result_message_id)
            .where(OutboxMessage.chat_id == chat_id, OutboxMessage.purpose == purpose,
                   OutboxMessage.result_message_id.is_not(None))
            .order_by(OutboxMessage.id.desc()).limit(1))

    async def rows(self, **where: Any) -> list[OutboxMessage]:
        """Outbox rows matching column values (for reports and tests)."""
        stmt = select(OutboxMessage).filter_by(**where).order_by(OutboxMessage.id)
        return list((await self.session.scalars(stmt)).all())


class CustomerRepo(_Repo):
    """Customers keyed by Telegram user id."""

    async def get(self, user_id: int) -> Customer | None:
        """The customer, or None."""
        return await self.session.get(Customer, user_id)

    async def upsert(self, user_id: int, first_name: str, username: str | None,
                     language: str, now: datetime) -> Customer:
        """Create the customer on first contact; refresh their profile name afterwards."""
        c = await self.get(user_id)
        if c is None:
            c = Customer(id=user_id, first_name=first_name, username=username, language=language,
                         unreachable=False, vip=False, created_at=now, updated_at=now)
            self.session.add(c)
        elif c.first_name != first_name or c.username != username:
            c.first_name, c.username, c.updated_at = first_name, username, now
        return c


class StaffRepo(_Repo):
    """The staff roster."""

    async def get(self, user_id: int) -> Staff | None:
        """The staff member, or None."""
        return await self.session.get(Staff, user_id)

    async def all(self) -> list[Staff]:
        """Every staff member, active or not."""
        return list((await self.session.scalars(select(Staff).order_by(Staff.id))).all())

    def add(self, staff: Staff) -> Staff:
        """Add a staff member."""
        self.session.add(staff)
        return staff


class TimerRepo(_Repo):
    """Durable timers."""

    def add(self, kind: str, due_at: datetime, now: datetime, *, ticket_id: int | None = None,
            chat_id: int | None = None, payload: dict[str, Any] | None = None) -> Timer:
        """Schedule a timer."""
        t = Timer(kind=kind, due_at=due_at, ticket_id=ticket_id, chat_id=chat_id,
                  payload=payload or {}, status="pending", attempts=0, created_at=now)
        self.session.add(t)
        self.uow.timers_added = True
        return t

    async def claim_due(self, now: datetime, limit: int, lease_until: datetime) -> list[int]:
        """Lease due timers to this worker; a crashed worker's lease runs out and they return."""
        stmt = (select(Timer.id)
                .where(Timer.status == "pending", Timer.due_at <= now,
                       or_(Timer.lease_until.is_(None), Timer.lease_until <= now))
                .order_by(Timer.due_at).limit(limit))
        if self.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        ids = list((await self.session.scalars(stmt)).all())
        if ids:
            await self.session.execute(
                update(Timer).where(Timer.id.in_(ids)).values(lease_until=lease_until))
        return ids

    async def get(self, timer_id: int) -> Timer | None:
        """One timer."""
        return await self.session.get(Timer, timer_id)

    async def cancel(self, *, ticket_id: int | None = None, chat_id: int | None = None,
                     kinds: tuple[str, ...] = ()) -> None:
        """Cancel pending timers of a ticket or chat (optionally only some kinds)."""
        stmt = update(Timer).where(Timer.status == "pending")
        if ticket_id is not None:
            stmt = stmt.where(Timer.ticket_id == ticket_id)
        if chat_id is not None:
            stmt = stmt.where(Timer.chat_id == chat_id)
        if kinds:
            stmt = stmt.where(Timer.kind.in_(kinds))
        await self.session.execute(stmt.values(status="cancelled"))

    async def for_ticket(self, ticket_id: int) -> list[Timer]:
        """The timers of a ticket."""
        return list((await self.session.scalars(
            select(Timer).where(Timer.ticket_id == ticket_id).order_by(Timer.due_at))).all())


class DraftRepo(_Repo):
    """Intake drafts, one per private chat."""

    async def get(self, chat_id: int) -> IntakeDraft | None:
        """The chat's draft, or None; locked for the transaction on PostgreSQL, so a listening
        timer and the customer's next message never overwrite each other's answers."""
        return await self.session.get(IntakeDraft, chat_id, with_for_update=True)

    def add(self, chat_id: int, user_id: int, step: str, answers: dict[str, Any],
            now: datetime) -> IntakeDraft:
        """Start a draft."""
        d = IntakeDraft(chat_id=chat_id, user_id=user_id, step=step, answers=answers,
                        created_at=now, updated_at=now)
        self.session.add(d)
        return d

    def save(self, draft: IntakeDraft, step: str, answers: dict[str, Any],
             now: datetime) -> None:
        """Record the step and answers (a JSON column must be told it changed in place)."""
        draft.step, draft.answers, draft.updated_at = step, answers, now
        flag_modified(draft, "answers")

    async def delete(self, draft: IntakeDraft) -> None:
        """Forget a draft (filed, cancelled or expired)."""
        await self.session.delete(draft)


class TicketRepo(_Repo):
    """Tickets, their history and their transcript. Customer reads always filter by owner."""

    def add(self, ticket: Ticket) -> Ticket:
        """Insert a ticket (its id is known after the next flush)."""
        self.session.add(ticket)
        return ticket

    async def flush(self) -> None:
        """Write pending rows so generated ids exist."""
        await self.session.flush()

    def record(self, ticket_id: int, at: datetime, actor_kind: str, actor_id: int | None,
               event: str, details: dict[str, Any] | None = None) -> None:
        """Append to the ticket's history (append-only: there is no update or delete)."""
        self.session.add(TicketHistory(ticket_id=ticket_id, at=at, actor_kind=actor_kind,
                                       actor_id=actor_id, event=event, details=details or {}))

    def add_message(self, ticket_id: int, at: datetime, direction: str, author_id: int | None,
                    kind: str, text: str | None, file_id: str | None = None,
                    customer_message_id: int | None = None,
                    staff_message_id: int | None = None) -> TicketMessage:
        """Append to the ticket's transcript."""
        m = TicketMessage(ticket_id=ticket_id, at=at, direction=direction, author_id=author_id,
                          kind=kind, text=text, file_id=file_id,
                          customer_message_id=customer_message_id,
                          staff_message_id=staff_message_id)
        self.session.add(m)
        return m

    async def of_customer(self, customer_id: int, *, statuses: frozenset[str] | None = None,
                          limit: int = 20) -> list[Ticket]:
        """The customer's own tickets, newest first."""
        stmt = select(Ticket).where(Ticket.customer_id == customer_id)
        if statuses is not None:
            stmt = stmt.where(Ticket.status.in_(statuses))
        stmt = stmt.order_by(Ticket.id.desc()).limit(limit)
        return list((await self.session.scalars(stmt)).all())

    async def get_for_customer(self, ticket_id: int, customer_id: int) -> Ticket | None:
        """A ticket by id, only if it is this customer's."""
        t = await self.session.get(Ticket, ticket_id)
        return t if t is not None and t.customer_id == customer_id else None

    async def by_ref_for_customer(self, ref: str, customer_id: int) -> Ticket | None:
        """A ticket by reference, only if it is this customer's."""
        return await self.session.scalar(
            select(Ticket).where(Ticket.ref == ref, Ticket.customer_id == customer_id))

    async def get(self, ticket_id: int) -> Ticket | None:
        """A ticket by id (system use: timers)."""
        return await self.session.get(Ticket, ticket_id)

    async def get_locked(self, ticket_id: int) -> Ticket | None:
        """A ticket by id, as committed now and locked until the transaction ends (PostgreSQL;
        SQLite has one writer): read-then-write against a concurrent change of its status."""
        return await self.session.get(Ticket, ticket_id, with_for_update=True,
                                      populate_existing=True)

    async def history(self, ticket_id: int, events: frozenset[str] | None = None
                      ) -> list[TicketHistory]:
        """The ticket's history in order (optionally only some events)."""
        stmt = select(TicketHistory).where(TicketHistory.ticket_id == ticket_id)
        if events is not None:
            stmt = stmt.where(TicketHistory.event.in_(events))
        return list((await self.session.scalars(stmt.order_by(TicketHistory.id))).all())

    async def messages(self, ticket_id: int) -> list[TicketMessage]:
        """The ticket's transcript in order."""
        return list((await self.session.scalars(
            select(TicketMessage).where(TicketMessage.ticket_id == ticket_id)
            .order_by(TicketMessage.id))).all())


class HandoffRepo(_Repo):
    """The staff side of tickets: topics, cards, relay mapping, pending staff actions."""

    async def by_topic(self, chat_id: int, topic_id: int) -> Ticket | None:
        """The ticket whose forum topic this is."""
        return await self.session.scalar(
            select(Ticket).where(Ticket.staff_chat_id == chat_id, Ticket.topic_id == topic_id))

    async def by_staff_message(self, chat_id: int, message_id: int) -> Ticket | None:
        """The ticket a message in a staff chat belongs to (its card or a relayed message)."""
        t = await self.session.scalar(select(Ticket).where(
            Ticket.staff_chat_id == chat_id, Ticket.card_message_id == message_id))
        if t is not None:
            return t
        return await self.session.scalar(
            select(Ticket).join(TicketMessage, TicketMessage.ticket_id == Ticket.id)
            .where(Ticket.staff_chat_id == chat_id, TicketMessage.staff_message_id == message_id)
            .limit(1))

    async def line_of_customer_message(self, customer_id: int, mid: int
                                       ) -> tuple[Ticket, TicketMessage] | None:
        """The ticket and transcript line of a message in this customer's chat."""
        row = (await self.session.execute(
            select(Ticket, TicketMessage).join(TicketMessage, TicketMessage.ticket_id == Ticket.id)
            .where(Ticket.customer_id == customer_id, TicketMessage.customer_message_id == mid)
            .order_by(TicketMessage.id).limit(1))).first()
        return (row[0], row[1]) if row else None

    async def message_by_customer_mid(self, ticket_id: int, mid: int) -> TicketMessage | None:
        """The transcript line of a message in the customer's chat."""
        return await self.session.scalar(select(TicketMessage).where(
            TicketMessage.ticket_id == ticket_id, TicketMessage.customer_message_id == mid
        ).limit(1))

    async def message_by_staff_mid(self, ticket_id: int, mid: int) -> TicketMessage | None:
        """The transcript line of a message in the staff chat."""
        return await self.session.scalar(select(TicketMessage).where(
            TicketMessage.ticket_id == ticket_id, TicketMessage.staff_message_id == mid).limit(1))

    async def claim(self, ticket_id: int, staff_id: int, now: datetime) -> bool:
        """Take an unclaimed open ticket; exactly one of several concurrent claims wins."""
        res = await self.session.execute(
            update(Ticket).where(Ticket.id == ticket_id, Ticket.assignee_id.is_(None),
                                 Ticket.status == "open")
            .values(assignee_id=staff_id, status="assigned", updated_at=now)
            .execution_options(synchronize_session="fetch"))
        return res.rowcount == 1  # type: ignore[attr-defined, no-any-return]

    async def chat(self, chat_id: int) -> StaffChat:
        """What we know of a staff chat (created on first use)."""
        c = await self.session.get(StaffChat, chat_id)
        if c is None:
            c = StaffChat(chat_id=chat_id, topics=True, notice_sent=False)
            self.session.add(c)
        return c

    async def known_chat(self, chat_id: int) -> StaffChat | None:
        """What we know of a staff chat, if anything."""
        return await self.session.get(StaffChat, chat_id)

    async def move_chat(self, old_id: int, new_id: int) -> None:
        """Tickets of a group that Telegram gave a new id continue there."""
        await self.session.execute(
            update(Ticket).where(Ticket.staff_chat_id == old_id).values(staff_chat_id=new_id)
            .execution_options(synchronize_session="fetch"))

    async def unreachable_chats(self) -> list[StaffChat]:
        """Staff chats the bot cannot post in now."""
        return list((await self.session.scalars(select(StaffChat).where(
            StaffChat.problem.is_not(None)).order_by(StaffChat.chat_id))).all())

    async def awaiting_group(self, chat_id: int, limit: int | None = None) -> list[Ticket]:
        """Tickets handed over by DM because this group failed, oldest first."""
        stmt = (select(Ticket).where(Ticket.staff_chat_id == chat_id,
                                     Ticket.handoff_failed_at.is_not(None))
                .order_by(Ticket.id).limit(limit))
        return list((await self.session.scalars(stmt)).all())

    async def count_awaiting_group(self) -> int:
        """Tickets waiting for their staff group to take them."""
        return int(await self.session.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.handoff_failed_at.is_not(None))) or 0)

    async def pending(self, user_id: int) -> StaffPending | None:
        """The staff member's action waiting for its text."""
        return await self.session.get(StaffPending, user_id)

    async def set_pending(self, user_id: int, ticket_id: int, action: str,
                          target_id: int | None, now: datetime) -> None:
        """Remember that the next text of this staff member completes an action."""
        p = await self.pending(user_id)
        if p is None:
            self.session.add(StaffPending(user_id=user_id, ticket_id=ticket_id, action=action,
                                          target_id=target_id, created_at=now))
        else:
            p.ticket_id, p.action, p.target_id, p.created_at = ticket_id, action, target_id, now

    async def clear_pending(self, user_id: int) -> None:
        """Forget a waiting action."""
        p = await self.pending(user_id)
        if p is not None:
            await self.session.delete(p)

    async def active_of_customer(self, customer_id: int) -> list[Ticket]:
        """The customer's tickets still being handled."""
        return list((await self.session.scalars(select(Ticket).where(
            Ticket.customer_id == customer_id,
            Ticket.status.in_(("open", "assigned", "waiting_on_customer"))))).all())
