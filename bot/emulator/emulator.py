"""The Emulator: state, update queue, webhook delivery and the Python control API."""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from .limits import Limits, RateLimiter
from .schema import ApiError
from .state import (
    CONTENT_KEYS,
    DEFAULT_ICON_COLOR,
    Chat,
    StoredFile,
    command_entities,
    image_size,
    strip_service,
)

log = logging.getLogger(__name__)
_FIRST_UPDATE_ID = 100_000_001
_DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# "delivered_timeout": the call takes effect, then the answer is held ``delay`` seconds and
# lost (504), as when the client's timeout fires after Telegram delivered.
# "query_too_old": answerCallbackQuery after Telegram's deadline for an answer.
FAULT_KINDS = ("429", "5xx", "timeout", "blocked", "chat_not_found", "delivered_timeout",
               "query_too_old", "kicked", "not_enough_rights", "migrated")


@dataclass
class Fault:
    """An injected failure for matching calls; ``times=None`` means forever."""

    method: str | None
    chat_id: int | str | None
    kind: str
    times: int | None = 1
    retry_after: int = 2
    delay: float = 30.0
    probability: float = 1.0  # share of matching calls it hits (chaos runs: e.g. 0.05)
    migrate_to_chat_id: int | None = None  # kind "migrated": the supergroup's new id


@dataclass
class CallRecord:
    """One Bot API call as the emulator saw it."""

    method: str
    params: dict[str, Any]
    status: int
    description: str | None = None
    at: float = field(default_factory=time.time)


@dataclass
class Webhook:
    """Webhook settings plus the delivery task's last error."""

    url: str
    secret_token: str | None = None
    allowed_updates: list[str] | None = None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None


class EmuUser:
    """A Telegram user the tests act as; owns the private chat with the same id."""

    def __init__(self, emu: Emulator, user_id: int, first_name: str, last_name: str | None,
                 username: str | None, language_code: str | None) -> None:
        self.emu, self.id = emu, user_id
        self.first_name, self.last_name = first_name, last_name
        self.username, self.language_code = username, language_code

    def as_dict(self) -> dict[str, Any]:
        """The User object."""
        d: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            d["last_name"] = self.last_name
        if self.username:
            d["username"] = self.username
        if self.language_code:
            d["language_code"] = self.language_code
        return d

    async def send_text(self, text: str, chat_id: int | None = None,
                        message_thread_id: int | None = None,
                        reply_to_message_id: int | None = None) -> dict[str, Any]:
        """Send a text message to the bot (bot_command entities added); returns the Message."""
        content: dict[str, Any] = {"text": text}
        if ents := command_entities(text):
            content["entities"] = ents
        return self.emu._user_message(self, chat_id, message_thread_id, reply_to_message_id,
                                      content)

    async def send_photo(self, data: bytes, caption: str | None = None,
                         chat_id: int | None = None,
                         message_thread_id: int | None = None) -> dict[str, Any]:
        """Send a photo; returns the Message."""
        content: dict[str, Any] = {"photo": self.emu.store_photo(data)}
        if caption:
            content["caption"] = caption
        return self.emu._user_message(self, chat_id, message_thread_id, None, content)

    async def send_document(self, data: bytes, file_name: str = "file.bin",
                            caption: str | None = None, mime_type: str | None = None,
                            chat_id: int | None = None,
                            message_thread_id: int | None = None) -> dict[str, Any]:
        """Send a document; returns the Message."""
        content: dict[str, Any] = {"document": self.emu.store_document(data, file_name,
                                                                        mime_type)}
        if caption:
            content["caption"] = caption
        return self.emu._user_message(self, chat_id, message_thread_id, None, content)

    async def send_voice(self, data: bytes, duration: int = 1,
                         chat_id: int | None = None) -> dict[str, Any]:
        """Send a voice note; returns the Message."""
        content = {"voice": self.emu.store_voice(data, duration)}
        return self.emu._user_message(self, chat_id, None, None, content)

    async def send_sticker(self, emoji: str = "😀", chat_id: int | None = None) -> dict[str, Any]:
        """Send a sticker; returns the Message."""
        f = self.emu.store_file(b"RIFF-sticker", "sticker", ".webp")
        sticker = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "type": "regular",
                   "width": 512, "height": 512, "is_animated": False, "is_video": False,
                   "emoji": emoji, "file_size": len(f.data)}
        return self.emu._user_message(self, chat_id, None, None, {"sticker": sticker})

    async def send_contact(self, phone_number: str, first_name: str | None = None,
                           chat_id: int | None = None) -> dict[str, Any]:
        """Share a contact whose user_id is this user's id; returns the Message."""
        contact = {"phone_number": phone_number, "first_name": first_name or self.first_name,
                   "user_id": self.id}
        return self.emu._user_message(self, chat_id, None, None, {"contact": contact})

    async def edit_text(self, message_id: int, text: str,
                        chat_id: int | None = None) -> dict[str, Any]:
        """Edit one of this user's messages (edited_message update); returns the Message."""
        chat = self.emu.chat(chat_id if chat_id is not None else self.id)
        msg = chat.messages[message_id]
        msg["text"], msg["edit_date"] = text, int(time.time())
        msg.pop("entities", None)
        if ents := command_entities(text):
            msg["entities"] = ents
        self.emu.push_update("edited_message", dict(msg))
        return dict(msg)

    async def press(self, message_id: int, callback_data: str,
                    chat_id: int | None = None) -> str:
        """Press an inline button of a bot message; returns the callback query id."""
        return self.emu._press(self, message_id, callback_data, chat_id)

    def block(self, blocked: bool = True) -> None:
        """Block (or unblock) the bot: sends to this user then fail with 403."""
        self.emu.chat(self.id).blocked = blocked


class Emulator:
    """A local Telegram Bot API server; see the package docstring for the API."""

    def __init__(self, token: str = "123456:TEST", limits: Limits | None = None, *,
                 bot_username: str = "emulator_bot", bot_name: str = "Emulator Bot",
                 record_calls: bool = True, latency: float = 0.0,
                 event_log_size: int = 50_000, seed: int | None = None) -> None:
        self.token = token
        self.latency = latency  # seconds every Bot API call is held before it is answered
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user = {"id": self.bot_id, "is_bot": True, "first_name": bot_name,
                         "username": bot_username}
        self.limits = limits or Limits()
        self.limiter = RateLimiter(self.limits)
        self.record_calls = record_calls
        self.users: dict[int, EmuUser] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.callback_queries: dict[str, dict[str, Any]] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.faults: list[Fault] = []
        self._rng = random.Random(seed)
        self.calls: list[CallRecord] = []
        # Always-on counters {method: {status: n}} (cheap, unlike ``calls``), for benchmarks.
        self.call_counts: dict[str, dict[int, int]] = {}
        # What the bot sent, in order, with the emulator's monotonic time (see log_event).
        self.event_log_size = event_log_size
        self._events: list[dict[str, Any]] = []
        self._events_base = 1  # seq of _events[0]
        self._next_event = 1
        self.webhook: Webhook | None = None
        self.allowed_updates: list[str] | None = None
        self.updates: deque[dict[str, Any]] = deque()
        self._next_update_id = _FIRST_UPDATE_ID
        self._next_file = 1
        self._next_query = 1
        self._update_event = asyncio.Event()
        self._sent_event = asyncio.Event()
        self.stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None
        self.base_url = ""

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 = any free port); returns and sets ``base_url``."""
        from .server import build_app

        self.stopping.clear()
        self._runner = web.AppRunner(build_app(self), access_log=None, handle_signals=False,
                                     shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        addr = self._runner.addresses[0]
        self.base_url = f"http://{host}:{addr[1]}"
        return self.base_url

    async def stop(self) -> None:
        """Stop serving; releases held long polls and timeout faults."""
        self.stopping.set()
        self._notify_updates()
        await self._stop_webhook()
        if self._http:
            await self._http.close()
            self._http = None
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        if not self.base_url:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- users, chats, files ---------------------------------------------------------------
    def user(self, user_id: int, first_name: str = "User", language_code: str | None = "en",
             username: str | None = None, last_name: str | None = None) -> EmuUser:
        """Get or create a user and its private chat."""
        u = self.users.get(user_id)
        if u is None:
            u = self.users[user_id] = EmuUser(self, user_id, first_name, last_name, username,
                                              language_code)
            self.chats[user_id] = Chat(user_id, "private", username=username,
                                       first_name=first_name, last_name=last_name)
        return u

    def create_group(self, chat_id: int, title: str = "Group", is_forum: bool = False,
                     username: str | None = None) -> Chat:
        """Create (or return) a supergroup (ids -100…) or basic group."""
        if chat_id not in self.chats:
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            self.chats[chat_id] = Chat(chat_id, kind, title=title, username=username,
                                       is_forum=is_forum and kind == "supergroup")
        return self.chats[chat_id]

    def upgrade_group(self, old_id: int, new_id: int, title: str = "Group",
                      is_forum: bool = True) -> Chat:
        """Upgrade a group to a supergroup as Telegram does: calls to the old id are refused
        with ``migrate_to_chat_id`` from now on."""
        self.add_fault(chat_id=old_id, kind="migrated", times=None, migrate_to_chat_id=new_id)
        return self.create_group(new_id, title=title, is_forum=is_forum)

    def chat(self, chat_id: int | str) -> Chat:
        """Find a chat by id or @username or raise ApiError 'chat not found'."""
        if isinstance(chat_id, str):
            name = chat_id.lstrip("@").lower()
            for c in self.chats.values():
                if c.username and c.username.lower() == name:
                    return c
            raise ApiError(400, "Bad Request: chat not found")
        found = self.chats.get(chat_id)
        if found is None:
            raise ApiError(400, "Bad Request: chat not found")
        return found

    def create_topic(self, chat_id: int, name: str, thread_id: int | None = None,
                     icon_color: int = DEFAULT_ICON_COLOR, by_bot: bool = False) -> dict[str, Any]:
        """Create a forum topic (service message id = thread id); returns the ForumTopic."""
        chat = self.chat(chat_id)
        if not chat.is_forum:
            raise ApiError(400, "Bad Request: the chat is not a forum")
        tid = thread_id if thread_id is not None else chat.new_id()
        chat.next_id = max(chat.next_id, tid + 1)
        topic = {"message_thread_id": tid, "name": name, "icon_color": icon_color}
        chat.topics[tid] = {**topic, "is_closed": False}
        chat.messages[tid] = {
            "message_id": tid, "date": int(time.time()), "chat": chat.as_dict(),
            "from": self.bot_user if by_bot else {"id": 1, "is_bot": False, "first_name": "Admin"},
            "message_thread_id": tid, "is_topic_message": True,
            "forum_topic_created": {"name": name, "icon_color": icon_color}}
        return topic

    def store_file(self, data: bytes, kind: str, ext: str = "") -> StoredFile:
        """Keep bytes under a new file_id and file_path."""
        n = self._next_file
        self._next_file += 1
        f = StoredFile(f"emu-{kind}-{n}", f"u{n}", f"{kind}s/file_{n}{ext}", data)
        self.files[f.file_id] = f
        self.files_by_path[f.file_path] = f
        return f

    def store_photo(self, data: bytes) -> list[dict[str, Any]]:
        """Store a photo; returns its PhotoSize list (thumbnail, full)."""
        w, h = image_size(data)
        full = self.store_file(data, "photo", ".jpg")
        thumb = self.store_file(data, "photo", ".jpg")
        scale = min(1.0, 90 / max(w, h, 1))
        sizes = [
            {"file_id": thumb.file_id, "file_unique_id": thumb.file_unique_id,
             "width": max(1, int(w * scale)), "height": max(1, int(h * scale)),
             "file_size": len(data)},
            {"file_id": full.file_id, "file_unique_id": full.file_unique_id, "width": w,
             "height": h, "file_size": len(data)},
        ]
        full.meta["photo"] = thumb.meta["photo"] = sizes
        return sizes

    def store_document(self, data: bytes, file_name: str,
                       mime_type: str | None = None) -> dict[str, Any]:
        """Store a document; returns the Document object."""
        f = self.store_file(data, "document", "." + file_name.rsplit(".", 1)[-1]
                            if "." in file_name else "")
        mime = mime_type or mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        doc = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_name": file_name,
               "mime_type": mime, "file_size": len(data)}
        f.meta["document"] = doc
        return doc

    def store_voice(self, data: bytes, duration: int = 1) -> dict[str, Any]:
        """Store a voice note; returns the Voice object."""
        f = self.store_file(data, "voice", ".oga")
        voice = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "duration": duration,
                 "mime_type": "audio/ogg", "file_size": len(data)}
        f.meta["voice"] = voice
        return voice

    # ---- messages and updates --------------------------------------------------------------
    def new_message(self, chat: Chat, sender: dict[str, Any], thread_id: int | None,
                    content: dict[str, Any], reply_to: dict[str, Any] | None = None,
                    ) -> dict[str, Any]:
        """Store a new message in ``chat`` and return it."""
        msg: dict[str, Any] = {"message_id": chat.new_id(), "from": sender,
                               "chat": chat.as_dict(), "date": int(time.time())}
        if thread_id is not None and chat.is_forum:
            msg["message_thread_id"] = thread_id
            msg["is_topic_message"] = True
        if reply_to is not None:
            msg["reply_to_message"] = {k: v for k, v in reply_to.items()
                                       if k != "reply_to_message"}
        msg.update(content)
        chat.messages[msg["message_id"]] = msg
        if sender is self.bot_user:
            self.log_event("message", chat.id, msg)
            self.notify_sent()
        return msg

    def _user_message(self, user: EmuUser, chat_id: int | None, thread_id: int | None,
                      reply_to_id: int | None, content: dict[str, Any]) -> dict[str, Any]:
        chat = self.chat(chat_id if chat_id is not None else user.id)
        if thread_id is not None and chat.is_forum and thread_id not in chat.topics:
            self.create_topic(chat.id, f"Topic {thread_id}", thread_id)
        reply_to = chat.messages.get(reply_to_id) if reply_to_id is not None else None
        msg = self.new_message(chat, user.as_dict(), thread_id, content, reply_to)
        self.push_update("message", msg)
        return msg

    def _press(self, user: EmuUser, message_id: int, data: str, chat_id: int | None) -> str:
        chat = self.chat(chat_id if chat_id is not None else user.id)
        msg = chat.messages.get(message_id)
        if msg is None:
            raise ValueError(f"no message {message_id} in chat {chat.id}")
        rows = msg.get("reply_markup", {}).get("inline_keyboard", [])
        if not any(b.get("callback_data") == data for row in rows for b in row):
            raise ValueError(f"message {message_id} has no button with callback_data {data!r}; "
                             f"buttons: {rows}")
        qid = f"{self.bot_id}{self._next_query:08d}"
        self._next_query += 1
        query = {"id": qid, "from": user.as_dict(), "message": dict(msg),
                 "chat_instance": str(abs(chat.id) * 7 + 1), "data": data}
        self.callback_queries[qid] = {"query": query, "answer": None}
        self.push_update("callback_query", query)
        return qid

    def push_update(self, kind: str, obj: dict[str, Any]) -> dict[str, Any] | None:
        """Queue an update for getUpdates / the webhook (unless allowed_updates filters it)."""
        allowed = self.webhook.allowed_updates if self.webhook else self.allowed_updates
        if (kind not in allowed) if allowed else (kind in _DEFAULT_EXCLUDED):
            return None
        upd = {"update_id": self._next_update_id, kind: obj}
        self._next_update_id += 1
        self.updates.append(upd)
        self._notify_updates()
        return upd

    def _notify_updates(self) -> None:
        ev, self._update_event = self._update_event, asyncio.Event()
        ev.set()

    def log_event(self, kind: str, chat_id: int, msg: dict[str, Any] | None = None,
                  **extra: Any) -> dict[str, Any]:
        """Append one bot action ("message", "edit", "delete", "callback_answer") to the log.

        Each event carries ``seq`` (1, 2, …), ``at`` (``time.monotonic()`` of this process, the
        same clock as injection times), ``kind``, ``chat_id`` and, for messages, ``message_id``,
        ``message_thread_id``, ``text``/``caption`` and ``reply_markup``. The log keeps about
        the last ``event_log_size`` events.
        """
        ev: dict[str, Any] = {"seq": self._next_event, "at": time.monotonic(), "kind": kind,
                              "chat_id": chat_id}
        self._next_event += 1
        if msg is not None:
            for k in ("message_id", "message_thread_id", "text", "caption", "reply_markup"):
                if k in msg:
                    ev[k] = msg[k]
        ev.update(extra)
        self._events.append(ev)
        if len(self._events) > 2 * self.event_log_size:
            drop = len(self._events) - self.event_log_size
            del self._events[:drop]
            self._events_base += drop
        return ev

    def events(self, after: int = 0, limit: int = 10_000) -> list[dict[str, Any]]:
        """Logged events with ``seq > after``, oldest first (at most ``limit``)."""
        start = max(0, after + 1 - self._events_base)
        return self._events[start:start + limit]

    @property
    def last_event_seq(self) -> int:
        """The seq of the newest logged event (0 before any)."""
        return self._next_event - 1

    async def wait_events(self, after: int = 0,
                          timeout: float = 5.0,  # noqa: ASYNC109 (public API name)
                          limit: int = 10_000) -> list[dict[str, Any]]:
        """Long poll: events with ``seq > after``, waiting up to ``timeout`` for the first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            ev = self._sent_event
            got = self.events(after, limit)
            left = deadline - loop.time()
            if got or left <= 0 or self.stopping.is_set():
                return got
            try:
                await asyncio.wait_for(ev.wait(), left)
            except TimeoutError:
                pass

    def count_call(self, method: str, status: int) -> None:
        """Count one Bot API call by method and HTTP status."""
        per = self.call_counts.get(method)
        if per is None:
            per = self.call_counts[method] = {}
        per[status] = per.get(status, 0) + 1

    def notify_sent(self) -> None:
        """Wake wait_for_sent callers."""
        ev, self._sent_event = self._sent_event, asyncio.Event()
        ev.set()

    async def wait_updates(self, seconds: float) -> None:
        """Wait until an update is queued, the emulator stops, or ``seconds`` pass."""
        if self.stopping.is_set():
            return
        try:
            await asyncio.wait_for(self._update_event.wait(), seconds)
        except TimeoutError:
            pass

    @property
    def last_update_id(self) -> int:
        """The id of the newest update created (0 before the first)."""
        return 0 if self._next_update_id == _FIRST_UPDATE_ID else self._next_update_id - 1

    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed/delivered."""
        return len(self.updates)

    # ---- assertions ------------------------------------------------------------------------
    def sent(self, chat_id: int, message_thread_id: int | None = None) -> list[dict[str, Any]]:
        """Messages the bot sent to ``chat_id`` (current state after edits), oldest first."""
        chat = self.chats.get(chat_id)
        if chat is None:
            return []
        out = [dict(m) for m in chat.messages.values() if m["from"] is self.bot_user]
        if message_thread_id is not None:
            out = [m for m in out if m.get("message_thread_id") == message_thread_id]
        return strip_service(out)

    async def wait_for_sent(self, chat_id: int, count: int = 1,
                            timeout: float = 5.0,  # noqa: ASYNC109 (public API name)
                            message_thread_id: int | None = None,
                            predicate: Any = None) -> list[dict[str, Any]]:
        """Wait until ≥ ``count`` matching bot messages exist in the chat; returns them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            ev = self._sent_event
            msgs = self.sent(chat_id, message_thread_id)
            if predicate is not None:
                msgs = [m for m in msgs if predicate(m)]
            if len(msgs) >= count:
                return msgs
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(self._dump(chat_id, count, msgs, timeout))
            try:
                await asyncio.wait_for(ev.wait(), left)
            except TimeoutError:
                pass

    def _dump(self, chat_id: int, count: int, got: list[dict[str, Any]], timeout: float) -> str:
        lines = [f"expected {count} bot message(s) in chat {chat_id} within {timeout}s, "
                 f"got {len(got)} matching. Bot messages in that chat:"]
        for m in self.sent(chat_id):
            body = m.get("text") or m.get("caption") or [k for k in m if k in CONTENT_KEYS]
            lines.append(f"  #{m['message_id']} thread={m.get('message_thread_id')}: {body!r}")
        lines.append(f"pending updates: {self.pending_updates()}; last calls:")
        for c in self.calls[-10:]:
            lines.append(f"  {c.method} {c.status} {c.description or ''} "
                         f"{json.dumps(c.params, default=repr, ensure_ascii=False)[:200]}")
        return "\n".join(lines)

    def callback_answers(self, callback_query_id: str) -> dict[str, Any] | None:
        """The answerCallbackQuery answer recorded for a query (None if unanswered)."""
        q = self.callback_queries.get(callback_query_id)
        return q["answer"] if q else None

    def topics(self, chat_id: int) -> list[dict[str, Any]]:
        """Forum topics of a chat (with ``is_closed``)."""
        return [dict(t) for t in self.chat(chat_id).topics.values()]

    def reset_calls(self) -> None:
        """Forget recorded calls."""
        self.calls.clear()

    # ---- faults and limits -----------------------------------------------------------------
    def add_fault(self, method: str | None = None, chat_id: int | str | None = None,
                  kind: str = "5xx", times: int | None = 1, retry_after: int = 2,
                  delay: float = 30.0, probability: float = 1.0,
                  migrate_to_chat_id: int | None = None) -> Fault:
        """Make the next ``times`` matching calls (each with ``probability``) fail with ``kind``
        (see FAULT_KINDS)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}")
        if (kind == "migrated") != (migrate_to_chat_id is not None):
            raise ValueError("migrate_to_chat_id goes with kind 'migrated', and only there")
        f = Fault(method.lower() if method else None, chat_id, kind, times, retry_after, delay,
                  probability, migrate_to_chat_id)
        self.faults.append(f)
        return f

    def clear_faults(self) -> None:
        """Remove all injected faults."""
        self.faults.clear()

    def take_fault(self, method: str, chat_id: Any) -> Fault | None:
        """The first fault matching this call, consuming one of its ``times``."""
        for f in self.faults:
            if f.method not in (None, method) or (f.chat_id is not None and f.chat_id != chat_id):
                continue
            if f.probability < 1.0 and self._rng.random() >= f.probability:
                continue
            if f.times is not None:
                f.times -= 1
                if f.times <= 0:
                    self.faults.remove(f)
            return f
        return None

    def set_limits(self, limits: Limits | None = None, **kw: int) -> None:
        """Replace the send limits (a Limits, or keyword overrides of the current ones)."""
        base = limits or self.limits
        self.limits = Limits(**{**base.__dict__, **kw})
        self.limiter = RateLimiter(self.limits)

    # ---- webhook ---------------------------------------------------------------------------
    async def set_webhook(self, hook: Webhook | None, drop_pending: bool = False) -> None:
        """Install (or with None remove) the webhook and (re)start delivery."""
        await self._stop_webhook()
        if drop_pending:
            self.updates.clear()
        self.webhook = hook
        if hook is not None:
            self._webhook_task = asyncio.create_task(self._deliver(hook))

    async def _stop_webhook(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _deliver(self, hook: Webhook) -> None:
        """POST queued updates in order, retrying each until the receiver answers 200."""
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        backoff = 0.0
        while not self.stopping.is_set():
            if not self.updates:
                await self.wait_updates(30.0)
                continue
            upd = self.updates[0]
            body = json.dumps(upd, ensure_ascii=False).encode()
            try:
                async with self._http.post(hook.url, data=body, headers=headers) as resp:
                    ok = resp.status == 200
                    err = f"Wrong response from the webhook: {resp.status} {resp.reason}"
            except (aiohttp.ClientError, TimeoutError) as e:
                ok, err = False, f"Connection failed: {e!r}"
            if ok:
                backoff = 0.0
                if self.updates and self.updates[0] is upd:
                    self.updates.popleft()
                continue
            hook.last_error_date, hook.last_error_message = int(time.time()), err
            backoff = min(max(backoff * 2, 0.05), 2.0)
            await asyncio.sleep(backoff)
