"""The closed sets of values of the desk, each defined once (DESIGN.md "Vocabulary").

They are StrEnums so that the database, callback data and the catalogs keep plain strings while
code names them; a typo is an AttributeError at import, not a silently different row.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Where a ticket is in its life (the transitions are in bot.domain.lifecycle)."""

    OPEN = "open"
    ASSIGNED = "assigned"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class Role(StrEnum):
    """A staff member's role; the first four are also the escalation levels 0-3."""

    STEWARD = "steward"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    COMMITTEE = "committee"
    ADMIN = "admin"


# Escalation levels (DESIGN.md vocabulary): 0 steward … 3 committee; admins act above them all.
LEVELS: dict[str, int] = {Role.STEWARD: 0, Role.SUPERVISOR: 1, Role.MANAGER: 2,
                          Role.COMMITTEE: 3, Role.ADMIN: 4}
TOP_LEVEL = 3


class ActorKind(StrEnum):
    """Who did something recorded on a ticket."""

    CUSTOMER = "customer"
    STAFF = "staff"
    SYSTEM = "system"


class Event(StrEnum):
    """What the append-only ticket history records."""

    FILED = "filed"
    DISPATCHED = "dispatched"
    NOT_DISPATCHED = "not_dispatched"
    STATUS_CHANGED = "status_changed"
    CLAIMED = "claimed"
    RELEASED = "released"
    TRANSFERRED = "transferred"
    ASKED_CUSTOMER = "asked_customer"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    FOLLOW_UP_SENT = "follow_up_sent"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    URGED = "urged"
    CUSTOMER_MESSAGE = "customer_message"
    CUSTOMER_EDITED = "customer_edited"
    LINKED_PREVIOUS = "linked_previous"
    REPLY_SENT = "reply_sent"
    NOTE = "note"
    DENIED = "denied"
    PHONE_SHOWN = "phone_shown"
    FLAGGED_ABOUT_STAFF = "flagged_about_staff"
    FOREIGN_BUTTON = "foreign_button"
    ABUSIVE_LANGUAGE = "abusive_language"
    CUSTOMER_UNREACHABLE = "customer_unreachable"
    STAFF_DM_FALLBACK = "staff_dm_fallback"
    STAFF_GROUP_MIGRATED = "staff_group_migrated"
    STAFF_GROUP_RETRIED = "staff_group_retried"
    DEADLINE_MISSED = "deadline_missed"
    PROGRESS_SENT = "progress_sent"
    MARKED_MAJOR = "marked_major"
    UNMARKED_MAJOR = "unmarked_major"
    VIP_SET = "vip_set"  # staff marked the ticket's customer VIP (their complaints are major)
    VIP_CLEARED = "vip_cleared"
    MAIL_FAILED = "mail_failed"
    # Review (审核): a steward's resolution put to a supervisor before the customer hears it.
    RESOLUTION_PROPOSED = "resolution_proposed"
    RESOLUTION_APPROVED = "resolution_approved"
    RESOLUTION_SENT_BACK = "resolution_sent_back"
    # The one reminder of an unanswered follow-up (回访), and the customer's answer to it.
    FOLLOW_UP_REMINDED = "follow_up_reminded"
    FOLLOW_UP_ANSWERED = "follow_up_answered"
    # Group incidents (群体性投诉): the ticket joined one; a manager's update for all reached it.
    INCIDENT_LINKED = "incident_linked"
    INCIDENT_UPDATE = "incident_update"
    # The customer came back about the ticket's matter: what they told joined it as a repeat.
    REPEAT_JOINED = "repeat_joined"


class EscalationCause(StrEnum):
    """Why a ticket went up a level (recorded with the escalation)."""

    BY_STAFF = "by_staff"
    FIRST_RESPONSE = "first_response"
    REPLY_DEADLINE = "reply_deadline"
    URGED = "urged"
    MAJOR = "major"
    # The same matter complained about again: dissatisfied at follow-up, "Not solved", left over.
    REPEAT = "repeat"


class TimerKind(StrEnum):
    """What a durable timer row is for."""

    FIRST_RESPONSE_DUE = "first_response_due"
    REPLY_DUE = "reply_due"
    INTAKE_REMINDER = "intake_reminder"
    INTAKE_EXPIRY = "intake_expiry"
    INTAKE_LISTEN = "intake_listen"
    STAFF_GROUP_RETRY = "staff_group_retry"
    # The customer's progress message, held back by quiet hours until the morning.
    PROGRESS_NOTICE = "progress_notice"
    # The satisfaction check after resolution (回访), its one reminder, and closing unanswered.
    FOLLOW_UP = "follow_up"
    FOLLOW_UP_REMINDER = "follow_up_reminder"
    FOLLOW_UP_EXPIRY = "follow_up_expiry"


# The timers that belong to one ticket's handling: the lifecycle sets and cancels these.
TICKET_TIMERS = (TimerKind.FIRST_RESPONSE_DUE, TimerKind.REPLY_DUE, TimerKind.PROGRESS_NOTICE)
# The timers of one resolution's follow-up: set by RESOLVE and FOLLOW_UP_SENT, cancelled when the
# ticket is closed, reopened or withdrawn.
FOLLOW_UP_TIMERS = (TimerKind.FOLLOW_UP, TimerKind.FOLLOW_UP_REMINDER,
                    TimerKind.FOLLOW_UP_EXPIRY)


class Purpose(StrEnum):
    """Why an outbox row was written: what the sender does with its result."""

    TOPIC = "topic"
    CARD = "card"
    TO_STAFF = "tms"
    TO_CUSTOMER = "tmc"
    ANSWER = "answer"
    DM_CARD = "dmcard"
    PROBE = "probe"
    LISTEN_PROMPT = "listen"


class Review(StrEnum):
    """Which resolutions a supervisor reviews before the customer hears them (审核)."""

    NONE = "none"
    MAJOR = "major"  # only those of major complaints
    ALL = "all"


class WithdrawReason(StrEnum):
    """Why a customer withdrew their complaint (撤诉), as they chose it."""

    SOLVED = "solved"  # it sorted itself out
    NOT_NEEDED = "unneeded"
    OTHER = "other"  # in their own words


class FollowUpAnswer(StrEnum):
    """The customer's answer to the follow-up (回访), stored as tickets.rating_label."""

    SATISFIED = "satisfied"  # 满意
    MOSTLY = "mostly"  # 基本满意
    NOT_SATISFIED = "not_satisfied"  # 不满意
    LEFT_OVER = "left_over"  # 遗留问题: something is still left over (told in their words)


class RepeatReason(StrEnum):
    """Why a resolved ticket was reopened as a repeat complaint (recorded with the reopening)."""

    NOT_SOLVED = "not_solved"  # the "Not solved" button under the resolution
    NOT_SATISFIED = "not_satisfied"  # 不满意 at the follow-up
    LEFT_OVER = "left_over"  # 遗留问题 at the follow-up
    CAME_BACK = "came_back"  # they wrote again about the same matter (asked at intake)


class IncidentStatus(StrEnum):
    """Where a group incident (群体性投诉) is: open until a manager resolves it for all."""

    OPEN = "open"
    RESOLVED = "resolved"


class BroadcastStatus(StrEnum):
    """A manager's update to every customer of an incident: previewed, then sent or dropped."""

    DRAFT = "draft"
    SENT = "sent"
    CANCELLED = "cancelled"
