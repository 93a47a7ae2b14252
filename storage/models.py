"""SQLAlchemy 2 typed models: the whole schema of the complaint desk."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UTCDateTime, VerbatimString, VerbatimText

# Named constraints so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, int: Integer}


class Customer(Base):
    """A person who complains, keyed by their Telegram user id."""

    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(VerbatimString(128), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="zh_CN")
    name: Mapped[str | None] = mapped_column(String(128))
    phone: Mapped[str | None] = mapped_column(String(32))
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set by staff (/vip): every complaint of theirs is major from the start (PROCESS.md §4).
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Staff(Base):
    """A member of staff: steward, supervisor, manager, committee or admin."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    supervisor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("staff.id"))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    email: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class Ticket(Base):
    """One complaint, with the deadlines it was promised."""

    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(16), unique=True)
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16), default="telegram")
    category: Mapped[str] = mapped_column(String(64))
    facts: Mapped[str] = mapped_column(VerbatimText)
    desired_outcome: Mapped[str] = mapped_column(VerbatimText)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    contact_name: Mapped[str] = mapped_column(VerbatimString(128))
    phone: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(24), index=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    is_major: Mapped[bool] = mapped_column(Boolean, default=False)
    repeat_count: Mapped[int] = mapped_column(Integer, default=0)
    urge_count: Mapped[int] = mapped_column(Integer, default=0)
    previous_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    about_staff_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("staff.id"))
    assignee_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("staff.id"))
    staff_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    topic_id: Mapped[int | None] = mapped_column(BigInteger)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # Set while the staff group could not take the ticket (stewards were told by DM instead).
    handoff_failed_at: Mapped[datetime | None]
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    first_response_due: Mapped[datetime | None]
    reply_due: Mapped[datetime | None]
    # The windows promised at filing ("30m", "2 working days"); None: the desk's defaults.
    first_response_window: Mapped[str | None] = mapped_column(String(32))
    reply_window: Mapped[str | None] = mapped_column(String(32))
    # The steward whose resolution awaits a supervisor's review (审核); its note is the newest
    # resolution_proposed on the history. None: nothing awaits review.
    review_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_tickets_staff_topic", "staff_chat_id", "topic_id"),)


class TicketHistory(Base):
    """Append-only record of everything that happened to a ticket (who, when, what)."""

    __tablename__ = "ticket_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime]
    actor_kind: Mapped[str] = mapped_column(String(16))  # customer | staff | system
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    event: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TicketMessage(Base):
    """The transcript: every message on a ticket, both ways, kept in full as evidence."""

    __tablename__ = "ticket_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime]
    direction: Mapped[str] = mapped_column(String(16))  # in | out | note | system
    author_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))  # text | photo | document | voice
    text: Mapped[str | None] = mapped_column(VerbatimText)
    file_id: Mapped[str | None] = mapped_column(String(256))
    customer_message_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    staff_message_id: Mapped[int | None] = mapped_column(BigInteger, index=True)


class StaffChat(Base):
    """A staff group the bot posts tickets in, and whether it has forum topics."""

    __tablename__ = "staff_chats"
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    topics: Mapped[bool] = mapped_column(Boolean, default=True)
    notice_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Telegram upgraded this group to a supergroup with a new id: tickets go there instead.
    migrated_to: Mapped[int | None] = mapped_column(BigInteger)
    # Why the bot cannot post here now (kicked, no rights, gone), since when, and retries made.
    problem: Mapped[str | None] = mapped_column(String(256))
    problem_since: Mapped[datetime | None]
    retries: Mapped[int] = mapped_column(Integer, default=0)


class StaffPending(Base):
    """A staff action waiting for its text (a reason, a question, a resolution note)."""

    __tablename__ = "staff_pending"
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    action: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class IntakeDraft(Base):
    """Intake state of one private chat: the step and the answers so far."""

    __tablename__ = "intake_drafts"
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger)
    step: Mapped[str] = mapped_column(String(32))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]


class InboxUpdate(Base):
    """An update from Telegram, stored before it is acknowledged; update_id makes it idempotent."""

    __tablename__ = "inbox"
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(Text)  # the update's JSON exactly as received
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|done|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(256))
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_inbox_status_update", "status", "update_id"),)


class OutboxMessage(Base):
    """A Bot API call to make, written in the same transaction as the change that caused it."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)  # JSON parameters of the call
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    purpose: Mapped[str | None] = mapped_column(String(32))
    result_message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_outbox_status_id", "status", "id"),
        # The listening prompt's message id (0004): partial, rows without a purpose skip it.
        Index("ix_outbox_chat_purpose", "chat_id", "purpose", "id",
              sqlite_where=text("purpose IS NOT NULL"),
              postgresql_where=text("purpose IS NOT NULL")),
    )


class Timer(Base):
    """A durable timer: deadline checks, reminders, follow-ups, expiry."""

    __tablename__ = "timers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|done|cancelled
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_timers_status_due", "status", "due_at"),)


class MailMessage(Base):
    """An e-mail to send, written in the same transaction as the change that caused it."""

    __tablename__ = "mail"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    to_addrs: Mapped[list[str]] = mapped_column(JSON, default=list)
    cc_addrs: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(VerbatimString(512))
    body_text: Mapped[str] = mapped_column(VerbatimText)
    body_html: Mapped[str] = mapped_column(VerbatimText)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_mail_status_id", "status", "id"),)
