"""Prometheus metrics of the desk (one registry per App, so tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


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
        self.messages_sent = Counter(
            "complaint_bot_messages_sent", "Outbox calls delivered", registry=self.registry)
        self.messages_failed = Counter(
            "complaint_bot_messages_failed", "Outbox calls given up for good",
            registry=self.registry)
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
