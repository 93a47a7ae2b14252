"""HTTP control API under ``/_emu/`` (JSON in, JSON out) mirroring the Python API.

Binary payloads travel base64-encoded in ``data_b64``. Errors answer
``{"ok": false, "error": "..."}`` with status 400 (404 for unknown ids); successes
``{"ok": true, "result": ...}``.

==========================================  ==================================================
``POST /_emu/users``                        ``{"id", "first_name", "language_code",
                                            "username", "last_name"}`` → User (get-or-create)
``POST /_emu/users/{id}/send_text``         ``{"text", "chat_id", "message_thread_id",
                                            "reply_to_message_id"}`` → Message
``POST /_emu/users/{id}/send_photo``        ``{"data_b64", "caption", "chat_id",
                                            "message_thread_id"}`` → Message
``POST /_emu/users/{id}/send_document``     ``{"data_b64", "file_name", "caption", "chat_id",
                                            "message_thread_id"}`` → Message
``POST /_emu/users/{id}/send_voice``        ``{"data_b64", "duration", "chat_id"}`` → Message
``POST /_emu/users/{id}/send_sticker``      ``{"emoji", "chat_id"}`` → Message
``POST /_emu/users/{id}/send_contact``      ``{"phone_number", "first_name", "chat_id"}``
``POST /_emu/users/{id}/edit_text``         ``{"message_id", "text", "chat_id"}`` → Message
``POST /_emu/users/{id}/press``             ``{"message_id", "callback_data", "chat_id"}``
                                            → callback query id
``POST /_emu/users/{id}/block``             ``{"blocked": true}``
``POST /_emu/groups``                       ``{"id", "title", "is_forum", "username"}``
``POST /_emu/topics``                       ``{"chat_id", "name", "message_thread_id"}``
``GET  /_emu/topics/{chat_id}``             → list of topics
``GET  /_emu/sent/{chat_id}``               ``?message_thread_id=`` → list of Messages
``POST /_emu/wait_for_sent``                ``{"chat_id", "count", "timeout",
                                            "message_thread_id"}`` → list (408 on timeout)
``GET  /_emu/callback_answers/{id}``        → answer or null
``POST /_emu/faults`` / ``DELETE``          ``{"method", "chat_id", "kind", "times",
                                            "retry_after", "delay", "probability",
                                            "migrate_to_chat_id"}`` / clear all
``GET  /_emu/calls`` / ``DELETE``           → ``[{"method", "params", "status",
                                            "description", "at"}]`` / reset
``GET  /_emu/pending_updates``              → int
``POST /_emu/limits``                       ``{"overall_per_second", "per_chat_per_second",
                                            "per_group_per_minute"}`` (0 disables)
``GET  /_emu/info``                         → ``{"token", "base_url", "bot", "limits"}``
``POST /_emu/inject``                       ``{"items": [{"user_id", "text"} | {"user_id",
                                            "press": {"message_id", "callback_data"}} |
                                            {"user_id", "contact": {"phone_number"}}]}``,
                                            optional ``first_name``/``language_code`` per item
                                            (users are created on first use) → list of
                                            ``{"at", "message_id"|"callback_query_id"}`` or
                                            ``{"error"}`` per item, in order
``GET  /_emu/events``                       ``?after=N&timeout=S&limit=L`` → ``{"last",
                                            "events"}``: what the bot did after seq N (long
                                            poll up to S seconds); see ``Emulator.log_event``
``GET  /_emu/stats`` / ``DELETE``           → ``{"now", "calls": {method: {status: n}},
                                            "pending_updates", "last_event"}`` / reset counts
``POST /_emu/latency``                      ``{"ms"}``: hold every Bot API call this long
==========================================  ==================================================

``inject`` and ``events`` are for benchmarks: many users' messages in one request, and the
bot's replies as one ordered stream. ``at`` values are ``time.monotonic()`` of the emulator
process, so injection-to-reply latency is measured on one clock.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from aiohttp import web

from .emulator import Emulator, EmuUser
from .schema import ApiError

Route = Callable[[Emulator, dict[str, Any], web.Request], Awaitable[Any]]


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result},
                             dumps=lambda o: json.dumps(o, ensure_ascii=False, default=repr))


def _wrap(key: web.AppKey[Emulator], fn: Route) -> Callable[[web.Request], Awaitable[Any]]:
    async def handler(request: web.Request) -> web.Response:
        body: dict[str, Any] = {}
        if request.body_exists:
            try:
                body = await request.json()
            except ValueError:
                return web.json_response({"ok": False, "error": "body must be JSON"}, status=400)
        try:
            return _ok(await fn(request.app[key], body, request))
        except TimeoutError as e:
            return web.json_response({"ok": False, "error": str(e)}, status=408)
        except KeyError as e:
            return web.json_response({"ok": False, "error": f"not found: {e}"}, status=404)
        except (ValueError, TypeError, ApiError) as e:
            return web.json_response({"ok": False, "error": str(e)}, status=400)
    return handler


def _user(emu: Emulator, req: web.Request) -> EmuUser:
    return emu.users[int(req.match_info["id"])]


def _data(b: dict[str, Any]) -> bytes:
    return base64.b64decode(b.get("data_b64", ""))


async def _users(emu: Emulator, b: dict[str, Any], r: web.Request) -> Any:
    kw = {k: b[k] for k in ("first_name", "language_code", "username", "last_name") if k in b}
    return emu.user(int(b["id"]), **kw).as_dict()


async def _user_action(emu: Emulator, b: dict[str, Any], r: web.Request) -> Any:
    u, action = _user(emu, r), r.match_info["action"]
    chat = {"chat_id": b.get("chat_id")}
    if action == "send_text":
        return await u.send_text(b["text"], b.get("chat_id"), b.get("message_thread_id"),
                                 b.get("reply_to_message_id"))
    if action == "send_photo":
        return await u.send_photo(_data(b), b.get("caption"), b.get("chat_id"),
                                  b.get("message_thread_id"))
    if action == "send_document":
        return await u.send_document(_data(b), b.get("file_name", "file.bin"), b.get("caption"),
                                     b.get("mime_type"), b.get("chat_id"),
                                     b.get("message_thread_id"))
    if action == "send_voice":
        return await u.send_voice(_data(b), b.get("duration", 1), **chat)
    if action == "send_sticker":
        return await u.send_sticker(b.get("emoji", "😀"), **chat)
    if action == "send_contact":
        return await u.send_contact(b["phone_number"], b.get("first_name"), **chat)
    if action == "edit_text":
        return await u.edit_text(int(b["message_id"]), b["text"], **chat)
    if action == "press":
        return await u.press(int(b["message_id"]), b["callback_data"], **chat)
    if action == "block":
        u.block(b.get("blocked", True))
        return True
    raise KeyError(action)


async def _groups(emu: Emulator, b: dict[str, Any], r: web.Request) -> Any:
    g = emu.create_group(int(b["id"]), b.get("title", "Group"), bool(b.get("is_forum")),
                         b.get("username"))
    return g.as_dict()


async def _create_topic(emu: Emulator, b: dict[str, Any], r: web.Request) -> Any:
    return emu.create_topic(int(b["chat_id"]), b["name"], b.get("message_thread_id"))


async def _topics(emu: Emulator, b: dict[str, Any], r: web.Request) -> Any:
    return emu.topics(int(r.match_info["chat_id"]))


def _thread_q(r: web.Request) -> int | None:
    t = r.query.get("message_thread_id")
    return int(t) if t else None


async def _sent(emu: Emulator, b: dict[str, Any], r: web.Request) -> Any:
    return emu.sent(int(r.match_info["chat_id"]), _thread_q(r))


async def _wait(emu: Emulator, b: dict[str, Any], r: web.Request) -> Any:
    return await emu.wait_for_sent(int(b["chat_id"]), int(b.get("count", 1)),
                                   float(b.get("timeout", 5.0)), b.get("message_thread_id"))


async def _answers(emu: Emulator, b: dict[str, Any], r: web.Request) -> Any:
    return emu.callback_answers(r.match_info["id"])


async def _add_fault(emu: Emulator, b: dict[str, Any], r: web.Request) -> Any:
    return asdict(emu.add_fault(**b))


async def _clear_faults(emu: Emulator, b: dict[str, Any], r: web.Request) -> Any:
    emu.clear_faults()
    return True


async def _calls(emu: Emulator, b: dict[str, Any], r: web.Request) -> Any:
    return [asdict(c) for c in emu.calls]


async def _reset_calls(emu: Emulator, b: dict[str, Any], r: web.Request) -> Any:
    emu.reset_calls()
    return True


async def _pending(emu: Emulator, b: dict[str, Any], r: web.Request) -> Any:
    return emu.pending_updates()


async def _limits(emu: Emulator, b: dict[str, Any], r: web.Request) -> Any:
    emu.set_limits(None, **{k: int(v) for k, v in b.items()})
    return asdict(emu.limits)


async def _info(emu: Emulator, b: dict[str, Any], r: web.Request) -> Any:
    return {"token": emu.token, "base_url": emu.base_url, "bot": emu.bot_user,
            "limits": asdict(emu.limits)}


async def _inject_one(emu: Emulator, item: dict[str, Any]) -> dict[str, Any]:
    kw = {k: item[k] for k in ("first_name", "language_code") if k in item}
    u = emu.user(int(item["user_id"]), **kw)
    if "text" in item:
        msg = await u.send_text(item["text"])
        return {"at": time.monotonic(), "message_id": msg["message_id"]}
    if "press" in item:
        press = item["press"]
        qid = await u.press(int(press["message_id"]), press["callback_data"])
        return {"at": time.monotonic(), "callback_query_id": qid}
    if "contact" in item:
        msg = await u.send_contact(item["contact"]["phone_number"],
                                   item["contact"].get("first_name"))
        return {"at": time.monotonic(), "message_id": msg["message_id"]}
    raise ValueError("an inject item needs text, press or contact")


async def _inject(emu: Emulator, b: dict[str, Any], r: web.Request) -> Any:
    out: list[dict[str, Any]] = []
    for item in b["items"]:
        try:
            out.append(await _inject_one(emu, item))
        except (KeyError, ValueError, TypeError, ApiError) as e:
            out.append({"error": f"{type(e).__name__}: {e}"})
    return out


async def _events(emu: Emulator, b: dict[str, Any], r: web.Request) -> Any:
    after = int(r.query.get("after", 0))
    timeout = min(float(r.query.get("timeout", 0)), 60.0)
    limit = int(r.query.get("limit", 10_000))
    events = await emu.wait_events(after, timeout, limit) if timeout > 0 else emu.events(
        after, limit)
    return {"last": emu.last_event_seq, "events": events}


async def _stats(emu: Emulator, b: dict[str, Any], r: web.Request) -> Any:
    return {"now": time.monotonic(),
            "calls": {m: {str(k): v for k, v in per.items()}
                      for m, per in emu.call_counts.items()},
            "pending_updates": emu.pending_updates(), "last_event": emu.last_event_seq}


async def _reset_stats(emu: Emulator, b: dict[str, Any], r: web.Request) -> Any:
    emu.call_counts.clear()
    return True


async def _latency(emu: Emulator, b: dict[str, Any], r: web.Request) -> Any:
    ms = float(b["ms"])
    if ms < 0:
        raise ValueError("ms must be ≥ 0")
    emu.latency = ms / 1000
    return {"ms": ms}


def add_control_routes(app: web.Application, key: web.AppKey[Emulator]) -> None:
    """Mount the ``/_emu/`` routes on ``app``."""
    routes: list[tuple[str, str, Route]] = [
        ("POST", "/_emu/users", _users),
        ("POST", "/_emu/users/{id}/{action}", _user_action),
        ("POST", "/_emu/groups", _groups),
        ("POST", "/_emu/topics", _create_topic),
        ("GET", "/_emu/topics/{chat_id}", _topics),
        ("GET", "/_emu/sent/{chat_id}", _sent),
        ("POST", "/_emu/wait_for_sent", _wait),
        ("GET", "/_emu/callback_answers/{id}", _answers),
        ("POST", "/_emu/faults", _add_fault),
        ("DELETE", "/_emu/faults", _clear_faults),
        ("GET", "/_emu/calls", _calls),
        ("DELETE", "/_emu/calls", _reset_calls),
        ("GET", "/_emu/pending_updates", _pending),
        ("POST", "/_emu/limits", _limits),
        ("GET", "/_emu/info", _info),
        ("POST", "/_emu/inject", _inject),
        ("GET", "/_emu/events", _events),
        ("GET", "/_emu/stats", _stats),
        ("DELETE", "/_emu/stats", _reset_stats),
        ("POST", "/_emu/latency", _latency),
    ]
    for method, path, fn in routes:
        app.router.add_route(method, path, _wrap(key, fn))
