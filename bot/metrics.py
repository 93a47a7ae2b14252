"""Prometheus metrics of the desk (one registry per App, so tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from bot.bot_api import RiskCause

CHAT_KINDS = ("group", "private")


def chat_kind(chat_id: int) -> str:
    """The chat label of a metric: groups have negative ids."""
    return CHAT_KINDS[0] if chat_id < 0 else CHAT_KINDS[1]


class Metrics:
    """Counters and gauges exported on /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates_received = Counter(
            "complaint_bot_updates_received", "Updates stored in the inbox",
            registry=self.registry)
        self.updates_processed = Counter(
            "complaint_bot_updates_processed", "Updates processed", registry=self.registry)
        self.updates_failed = Counter(
            "complaint_bot_updates_failed", "Updates parked after a handler error",
            registry=self.registry)
        self.updates_unparseable = Counter(
            "complaint_bot_updates_unparseable",
            "Updates parked because they could not be parsed", registry=self.registry)
        self.loop_restarts = Counter(
            "complaint_bot_loop_restarts", "Long-running loops restarted after a crash",
            ["loop"], registry=self.registry)
        self.messages_sent = Counter(
            "complaint_bot_messages_sent", "Outbox calls delivered", registry=self.registry)
        self.messages_failed = Counter(
            "complaint_bot_messages_failed", "Outbox calls given up for good",
            registry=self.registry)
        self.duplicates_at_risk = Counter(
            "complaint_bot_outbox_duplicates_at_risk",
            "Posting calls sent again although the earlier try may have been delivered "
            "(cause: timeout, server_error, lease_expired; chat: group, private)",
            ["cause", "chat"], registry=self.registry)
        for cause in RiskCause:  # shown at 0 from the start: visible, never silent
            for chat in CHAT_KINDS:
                self.duplicates_at_risk.labels(cause=cause.value, chat=chat)
        self.mail_sent = Counter(
            "complaint_bot_mail_sent", "E-mails the SMTP server accepted", registry=self.registry)
        self.mail_retried = Counter(
            "complaint_bot_mail_retried",
            "E-mail tries that failed for now (server down, timeout, 4xx) and will be repeated",
            registry=self.registry)
        self.mail_failed = Counter(
            "complaint_bot_mail_failed",
            "E-mails given up for good (refused with 5xx, or too many tries)",
            registry=self.registry)
        self.mail_pending = Gauge(
            "complaint_bot_mail_pending", "E-mails waiting to be sent", registry=self.registry)
        self.inbox_pending = Gauge(
            "complaint_bot_inbox_pending", "Inbox rows waiting", registry=self.registry)
        self.outbox_pending = Gauge(
            "complaint_bot_outbox_pending", "Outbox rows waiting", registry=self.registry)
        self.staff_group_unreachable = Gauge(
            "complaint_bot_staff_group_unreachable",
            "1 for each staff group the bot cannot post in now", ["chat_id"],
            registry=self.registry)
        self.tickets_awaiting_staff_group = Gauge(
            "complaint_bot_tickets_awaiting_staff_group",
            "Tickets handed to stewards by private message, waiting for their staff group",
            registry=self.registry)
