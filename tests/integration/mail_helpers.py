"""A real SMTP server on loopback (aiosmtpd) for the e-mail tests, and what they share."""

from __future__ import annotations

import asyncio
import email
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from storage.models import Customer, Ticket
from storage.uow import Database

HOST = "127.0.0.1"
T0 = datetime(2026, 3, 12, 1, 0, tzinfo=UTC)


def free_port() -> int:
    """A loopback port nothing listens on (now)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    """One message as the server took it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class SmtpHandler:
    """Records what arrives; answers with the code a test sets for MAIL, RCPT or DATA."""

    received: list[Received] = field(default_factory=list)
    mail_reply: str | None = None
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          options: Any) -> str:
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: Any) -> str:
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        msg = email.message_from_bytes(envelope.original_content, policy=default)
        assert isinstance(msg, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"s3cret-pw")

    async def wait_for(self, count: int, within: float = 20.0) -> list[Received]:
        """The messages received once there are `count` (fails after `within` seconds)."""
        deadline = time.monotonic() + within
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} mails arrived"
            await asyncio.sleep(0.02)
        return self.received


def start_server(handler: SmtpHandler, port: int = 0, **kw: Any) -> Controller:
    """A running aiosmtpd server on loopback (stop() it)."""
    c = Controller(handler, hostname=HOST, port=port or free_port(), server_hostname="smtp.test",
                   ready_timeout=10, **kw)
    c.start()
    return c


def self_signed(tmp: Path) -> tuple[Path, ssl.SSLContext]:
    """A certificate for 127.0.0.1 and the server context using it (skips without openssl)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return cert, ctx


async def add_ticket(db: Database, *, staff_chat_id: int | None = -1001, topic_id: int | None = 77
                     ) -> int:
    """A filed ticket with a topic in the staff group; its id."""
    async with db.uow() as uow:
        uow.session.add(Customer(id=501, first_name="Ann", language="zh_CN", unreachable=False,
                                 created_at=T0, updated_at=T0))
        t = uow.repos.tickets.add(Ticket(
            ref="260312-K7Q3M", customer_id=501, category="equipment", facts="电梯坏了",
            desired_outcome="修好", contact_name="张女士", phone="+8613800000000",
            language="zh_CN", status="open", staff_chat_id=staff_chat_id, topic_id=topic_id,
            created_at=T0, updated_at=T0))
        await uow.flush()
        await uow.commit()
        return t.id
