"""The mailer: sends queued e-mail over SMTP; what fails for now is retried, each mail sent once."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from functools import partial

import aiosmtplib

from bot.clock import Clock
from bot.config import Config
from bot.metrics import Metrics
from bot.supervise import PollingLoop
from storage.repositories import MailRow
from storage.uow import Database, UnitOfWork

log = logging.getLogger(__name__)

BACKOFF = timedelta(seconds=30)  # after the first failed try; doubled after each one
MAX_BACKOFF = timedelta(minutes=10)
# An SMTP outage of a day loses nothing (about 150 tries at the cap), yet nothing is tried for ever.
MAX_ATTEMPTS = 150


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send: [email] plus SMTP_USER / SMTP_PASSWORD."""

    host: str
    port: int
    security: str  # starttls | tls | none
    from_address: str
    timeout: float = 30.0
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, config: Config) -> SmtpSettings | None:
        """The settings, or None when [email] is absent (e-mail off)."""
        e, env = config.file.email, config.env
        if e is None:
            return None
        return cls(e.host, e.port, e.security, e.from_address, e.timeout, env.smtp_user,
                   env.smtp_password.get_secret_value() if env.smtp_password else None)


@dataclass(frozen=True)
class MailProblem:
    """What went wrong with one e-mail: given up (`delivered` False) or some recipients refused."""

    reason: str
    delivered: bool = False
    refused: tuple[str, ...] = ()


# Called in the transaction that records the problem (each in a savepoint of its own).
MailHook = Callable[[UnitOfWork, MailRow, MailProblem], Awaitable[None]]


@dataclass(frozen=True)
class _Try:
    """The outcome of one try: sent (with a problem if some refused), for now, or for good."""

    sent: bool
    problem: MailProblem | None = None
    permanent: bool = False
    connection_lost: bool = False
    label: str = ""  # what the log may say: a reply code or an exception type, no addresses


def build_message(row: MailRow, from_address: str) -> EmailMessage:
    """The MIME message: plain text and HTML alternatives, To and Cc, a stable Message-ID."""
    msg = EmailMessage()
    msg["From"] = from_address
    msg["To"] = ", ".join(row.to)
    if row.cc:
        msg["Cc"] = ", ".join(row.cc)
    msg["Subject"] = row.subject
    msg["Date"] = format_datetime(row.created_at)
    # The same on every try: if a retry duplicates a mail whose answer was lost, mail
    # clients show it once.
    stamp = int(row.created_at.timestamp())
    msg["Message-ID"] = f"<complaint-bot.{row.id}.{stamp}@{from_address.rpartition('@')[2]}>"
    msg.set_content(row.text)
    msg.add_alternative(row.html, subtype="html")
    return msg


def classify(exc: BaseException) -> _Try:
    """A failed try: 5xx on MAIL, RCPT or DATA is for good; anything else is tried again."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refused = exc.recipients
        reason = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in refused)
        return _Try(False, MailProblem(reason, refused=tuple(r.recipient for r in refused)),
                    permanent=all(r.code >= 500 for r in refused),
                    label=f"recipients refused ({', '.join(str(r.code) for r in refused)})")
    if isinstance(exc, aiosmtplib.SMTPSenderRefused | aiosmtplib.SMTPDataError):
        return _Try(False, MailProblem(f"{exc.code} {exc.message}"), permanent=exc.code >= 500,
                    label=f"{type(exc).__name__} {exc.code}")
    # Server down, timeouts, a lost connection, a refused login or STARTTLS: not this mail's
    # fault, and a configuration fixed later must still find every mail waiting.
    lost = isinstance(exc, OSError | TimeoutError | aiosmtplib.SMTPServerDisconnected)
    return _Try(False, MailProblem(f"{type(exc).__name__}: {exc}"), connection_lost=lost,
                label=type(exc).__name__)


class Mailer(PollingLoop):
    """Sends due mail rows; several instances may run against one PostgreSQL database."""

    def __init__(self, db: Database, clock: Clock, smtp: SmtpSettings, *,
                 metrics: Metrics | None = None, on_problem: list[MailHook] | None = None,
                 poll_seconds: float = 5.0, batch: int = 5, backoff: timedelta = BACKOFF,
                 max_backoff: timedelta = MAX_BACKOFF, max_attempts: int = MAX_ATTEMPTS) -> None:
        super().__init__(poll_seconds)
        self.db, self.clock, self.smtp = db, clock, smtp
        self.metrics = metrics or Metrics()
        self.on_problem = on_problem or []
        self.batch = batch
        self.backoff, self.max_backoff, self.max_attempts = backoff, max_backoff, max_attempts
        # Long enough for a whole batch at the slowest (each SMTP step may take `timeout`).
        self.lease = timedelta(seconds=max(120.0, (batch + 1) * 6 * smtp.timeout))

    async def run_due(self) -> int:
        """Try every mail due now, a batch per SMTP connection; returns how many were sent."""
        sent = 0
        while not self._stopping:
            now = self.clock.now()
            async with self.db.uow() as uow:
                rows = await uow.repos.mail.claim(now, self.batch, now + self.lease)
                await uow.commit()
            sent += await self._send_batch(rows)
            if len(rows) < self.batch:
                break
        return sent

    def _client(self) -> aiosmtplib.SMTP:
        s = self.smtp
        return aiosmtplib.SMTP(hostname=s.host, port=s.port, use_tls=s.security == "tls",
                               start_tls=s.security == "starttls", timeout=s.timeout,
                               username=s.user, password=s.password)

    async def _send_batch(self, rows: list[MailRow]) -> int:
        if not rows:
            return 0
        smtp = self._client()
        try:
            await smtp.connect()
        except Exception as exc:  # the server is unreachable: every mail waits its turn
            failed = classify(exc)
            for row in rows:
                await self._record(row, failed)
            return 0
        sent = 0
        try:
            for i, row in enumerate(rows):
                result = await self._send_one(smtp, row)
                await self._record(row, result)
                sent += result.sent
                self.heartbeat()
                if self._stopping or result.connection_lost:
                    # Not tried: free them for the next pass (or another instance) at once.
                    await self._release(rows[i + 1:])
                    break
        finally:
            with contextlib.suppress(Exception):
                await smtp.quit()
            smtp.close()
        return sent

    async def _send_one(self, smtp: aiosmtplib.SMTP, row: MailRow) -> _Try:
        try:
            refused, _ = await smtp.send_message(build_message(row, self.smtp.from_address))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return classify(exc)
        except Exception as exc:  # e.g. an address the library refuses: it never will send
            return _Try(False, MailProblem(f"{type(exc).__name__}: {exc}"), permanent=True,
                        label=type(exc).__name__)
        if refused:
            reason = "; ".join(f"{a}: {r.code} {r.message}" for a, r in refused.items())
            return _Try(True, MailProblem(reason, delivered=True, refused=tuple(refused)),
                        label=f"some recipients refused ({len(refused)})")
        return _Try(True)

    async def _record(self, row: MailRow, result: _Try) -> None:
        """Write the outcome of a try; a problem is told in the same transaction."""
        now, p = self.clock.now(), result.problem
        tries = row.attempts + 1
        gave_up = not result.sent and (result.permanent or tries >= self.max_attempts)
        async with self.db.uow() as uow:
            repo = uow.repos.mail
            if result.sent:
                await repo.mark_sent(row.id, now, p.reason if p else None)
            elif gave_up:
                assert p is not None
                if not result.permanent:
                    p = MailProblem(f"gave up after {tries} tries: {p.reason}")
                await repo.mark_failed(row.id, p.reason, now)
            else:
                assert p is not None
                wait = min(self.max_backoff, self.backoff * 2 ** (tries - 1))
                await repo.retry_later(row.id, now + wait, p.reason)
            if p is not None and (result.sent or gave_up):
                for hook in self.on_problem:
                    await uow.isolated(partial(hook, uow, row, p), f"mail hook for {row.id}")
            await uow.commit()
        kind = "sent" if result.sent else "failed for good" if gave_up else "will be retried"
        if p is not None:  # the label only: a server's answer may quote addresses
            log.warning("mail %s %s (try %d): %s", row.id, kind, tries, result.label)
        counter = (self.metrics.mail_sent if result.sent else
                   self.metrics.mail_failed if gave_up else self.metrics.mail_retried)
        counter.inc()

    async def _release(self, rows: list[MailRow]) -> None:
        if rows:
            async with self.db.uow() as uow:
                await uow.repos.mail.release([r.id for r in rows])
                await uow.commit()
