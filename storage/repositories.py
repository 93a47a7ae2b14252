"""Repositories: the only place SQL is written. Hot paths (inbox, outbox) use Core statements."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import flag_modified

from bot.domain.mail import addresses
from storage.models import (
    Customer,
    InboxUpdate,
    Incident,
    IncidentBroadcast,
    IntakeDraft,
    MailMessage,
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
        self.mail = MailRepo(uow)
        self.incidents = IncidentRepo(uow)


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


@dataclass(frozen=True)
class MailRow:
    """A mail row as the mailer needs it."""

    id: int
    ticket_id: int | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    text: str
    html: str
    attempts: int
    created_at: datetime


def _mail_due(now: datetime) -> tuple[Any, ...]:
    """Pending, its time come, and not leased by a live mailer."""
    return (MailMessage.status == "pending",
            or_(MailMessage.not_before.is_(None), MailMessage.not_before <= now),
            or_(MailMessage.lease_until.is_(None), MailMessage.lease_until <= now))


class MailRepo(_Repo):
    """Durable queue of e-mail: one row per message, sent by the mailer after the commit."""

    def add(self, to: list[str] | tuple[str, ...], cc: list[str] | tuple[str, ...],
            subject: str, text: str, html: str, now: datetime, *,
            ticket_id: int | None = None) -> MailMessage:
        """Queue an e-mail (ValueError on a malformed address or no To); sent after commit."""
        to_addrs = addresses(to)
        if not to_addrs:
            raise ValueError("an e-mail needs at least one To address")
        m = MailMessage(ticket_id=ticket_id, to_addrs=to_addrs,
                        cc_addrs=addresses(cc, besides=tuple(to_addrs)),
                        # One line: a line break in a header would be refused at sending.
                        subject=" ".join(subject.split())[:512], body_text=text, body_html=html,
                        status="pending", attempts=0, created_at=now)
        self.session.add(m)
        self.uow.mail_added = True
        return m

    async def claim(self, now: datetime, limit: int, lease_until: datetime) -> list[MailRow]:
        """Lease due e-mail to this mailer, oldest first; a stopped mailer's lease runs out."""
        pick = select(MailMessage.id).where(*_mail_due(now)).order_by(MailMessage.id).limit(limit)
        if self.dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        ids = list((await self.session.scalars(pick)).all())
        if not ids:
            return []
        # Conditional: a row another mailer leased since the select is not taken twice.
        m = MailMessage
        result = await self.session.execute(
            update(m).where(m.id.in_(ids), *_mail_due(now)).values(lease_until=lease_until)
            .returning(m.id, m.ticket_id, m.to_addrs, m.cc_addrs, m.subject, m.body_text,
                       m.body_html, m.attempts, m.created_at)
            .execution_options(synchronize_session=False))
        rows = [MailRow(r[0], r[1], tuple(r[2]), tuple(r[3]), *r[4:]) for r in result]
        return sorted(rows, key=lambda r: r.id)

    async def _set(self, mail_id: int, **values: Any) -> None:
        await self.session.execute(
            update(MailMessage).where(MailMessage.id == mail_id, MailMessage.status == "pending")
            .values(lease_until=None, **values).execution_options(synchronize_session=False))

    async def mark_sent(self, mail_id: int, now: datetime, error: str | None = None) -> None:
        """Record a delivered e-mail (`error`: the recipients the server refused, if some)."""
        await self._set(mail_id, status="sent", sent_at=now,
                        error=error[:256] if error else None)

    async def retry_later(self, mail_id: int, not_before: datetime, error: str) -> None:
        """Count a failed try and put the e-mail back until `not_before`."""
        await self._set(mail_id, not_before=not_before, error=error[:256],
                        attempts=MailMessage.attempts + 1)

    async def mark_failed(self, mail_id: int, error: str, now: datetime) -> None:
        """Give up on an e-mail for good (refused by the server, or too many tries)."""
        await self._set(mail_id, status="failed", error=error[:256], sent_at=now,
                        attempts=MailMessage.attempts + 1)

    async def release(self, ids: list[int]) -> None:
        """End the lease of rows claimed but not tried (stopping, or the connection broke)."""
        await self.session.execute(
            update(MailMessage).where(MailMessage.id.in_(ids), MailMessage.status == "pending")
            .values(lease_until=None).execution_options(synchronize_session=False))

    async def release_leases(self) -> None:
        """End every lease: only for an instance that knows no other can hold any (SQLite)."""
        await self.session.execute(
            update(MailMessage).where(MailMessage.status == "pending",
                                      MailMessage.lease_until.is_not(None))
            .values(lease_until=None))

    async def count_pending(self) -> int:
        """E-mail still to be delivered."""
        return int(await self.session.scalar(
            select(func.count()).select_from(MailMessage)
            .where(MailMessage.status == "pending")) or 0)

    async def rows(self, **where: Any) -> list[MailMessage]:
        """Mail rows matching column values (for reports and tests)."""
        stmt = select(MailMessage).filter_by(**where).order_by(MailMessage.id)
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

    def again(self, timer: Timer, due_at: datetime, now: datetime) -> Timer:
        """The same timer (kind, ticket, chat, payload) once more, due at `due_at`."""
        return self.add(timer.kind, due_at, now, ticket_id=timer.ticket_id,
                        chat_id=timer.chat_id, payload=timer.payload)

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

    async def finish(self, timer_id: int, lease_until: datetime, now: datetime) -> bool:
        """Mark a timer done if it still shows this worker's lease; False when another worker
        claimed it after that lease ran out (the caller must then roll back)."""
        # Not conditional on status: a handler may cancel its own timer (intake expiry cancels
        # the chat's intake timers), and that run still counts as done.
        result = await self.session.execute(
            update(Timer).where(Timer.id == timer_id, Timer.lease_until == lease_until)
            .values(status="done", done_at=now, lease_until=None).returning(Timer.id)
            .execution_options(synchronize_session=False))
        return result.scalar_one_or_none() is not None

    async def release_all_leases(self) -> None:
        """End every lease: only for an instance that knows no other can hold any (SQLite)."""
        await self.session.execute(
            update(Timer).where(Timer.status == "pending", Timer.lease_until.is_not(None))
            .values(lease_until=None))

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
               event: str, details: dict[str, Any] | None = None) -> TicketHistory:
        """Append to the ticket's history (append-only: there is no update or delete)."""
        row = TicketHistory(ticket_id=ticket_id, at=at, actor_kind=actor_kind,
                            actor_id=actor_id, event=event, details=details or {})
        self.session.add(row)
        return row

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

    async def latest_public_reply(self, ticket_id: int) -> str | None:
        """The newest text staff sent the customer on a ticket (None: nothing yet)."""
        return await self.session.scalar(
            select(TicketMessage.text)
            .where(TicketMessage.ticket_id == ticket_id, TicketMessage.direction == "out",
                   TicketMessage.text.is_not(None))
            .order_by(TicketMessage.id.desc()).limit(1))

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

    async def claim(self, ticket_id: int, staff_id: int, now: datetime, *,
                    from_statuses: Iterable[str], to_status: str) -> bool:
        """Take an unclaimed ticket in one of `from_statuses` (the lifecycle says which, and
        what it becomes); exactly one of several concurrent claims wins."""
        res = await self.session.execute(
            update(Ticket).where(Ticket.id == ticket_id, Ticket.assignee_id.is_(None),
                                 Ticket.status.in_(list(from_statuses)))
            .values(assignee_id=staff_id, status=to_status, updated_at=now)
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



class IncidentRepo(_Repo):
    """Group incidents (群体性投诉), the tickets linked to them and their broadcasts."""

    def add(self, incident: Incident) -> Incident:
        """Insert an incident (its id is known after the next flush)."""
        self.session.add(incident)
        return incident

    async def get(self, incident_id: int) -> Incident | None:
        """An incident by id."""
        return await self.session.get(Incident, incident_id)

    async def with_status(self, status: str, category: str | None = None) -> list[Incident]:
        """Incidents in a status (of one category when given), oldest first."""
        stmt = select(Incident).where(Incident.status == status)
        if category is not None:
            stmt = stmt.where(Incident.category == category)
        return list((await self.session.scalars(stmt.order_by(Incident.id))).all())

    async def unlinked_since(self, category: str, since: datetime,
                             statuses: Iterable[str]) -> list[Ticket]:
        """Tickets of a category filed since a moment, in one of `statuses` and in no incident,
        oldest first; locked on PostgreSQL, so that two instances filing the tickets that
        complete one incident at once do not open two (the second waits, then finds it)."""
        stmt = (select(Ticket).where(Ticket.category == category, Ticket.created_at >= since,
                                     Ticket.incident_id.is_(None),
                                     Ticket.status.in_(list(statuses)))
                .order_by(Ticket.id))
        if self.dialect == "postgresql":
            stmt = stmt.with_for_update()
        return list((await self.session.scalars(stmt)).all())

    async def tickets(self, incident_id: int) -> list[Ticket]:
        """The tickets linked to an incident, oldest first."""
        return list((await self.session.scalars(
            select(Ticket).where(Ticket.incident_id == incident_id).order_by(Ticket.id))).all())

    def add_broadcast(self, broadcast: IncidentBroadcast) -> IncidentBroadcast:
        """Hold a manager's update until it is confirmed or cancelled."""
        self.session.add(broadcast)
        return broadcast

    async def broadcast(self, broadcast_id: int) -> IncidentBroadcast | None:
        """A broadcast by id."""
        return await self.session.get(IncidentBroadcast, broadcast_id)

    async def decide_broadcast(self, broadcast_id: int, from_status: str, to_status: str,
                               by: int, now: datetime) -> bool:
        """Move a broadcast on from `from_status` (a conditional update: of two presses of
        Confirm exactly one wins, so the customers hear it once)."""
        res = await self.session.execute(
            update(IncidentBroadcast)
            .where(IncidentBroadcast.id == broadcast_id, IncidentBroadcast.status == from_status)
            .values(status=to_status, decided_by=by, decided_at=now)
            .execution_options(synchronize_session="fetch"))
        return res.rowcount == 1  # type: ignore[attr-defined, no-any-return]

    async def broadcasts(self, incident_id: int, status: str) -> list[IncidentBroadcast]:
        """An incident's broadcasts in a status, oldest first."""
        return list((await self.session.scalars(
            select(IncidentBroadcast).where(IncidentBroadcast.incident_id == incident_id,
                                            IncidentBroadcast.status == status)
            .order_by(IncidentBroadcast.id))).all())
