"""aiohttp routes: ``/bot{token}/{method}``, ``/file/bot{token}/{path}`` and ``/_emu/...``."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, NoReturn

from aiohttp import web

from .emulator import CallRecord, Emulator, Fault
from .methods import HANDLERS
from .schema import BY_LOWER, ApiError, MethodSpec, Upload

EMU_KEY: web.AppKey[Emulator] = web.AppKey("emulator", Emulator)
# message-sending methods count against the rate limits
RATE_LIMITED = frozenset(
    n for n in BY_LOWER
    if (n.startswith("send") and n != "sendchataction") or n.startswith(("copymessage",
        "forwardmessage", "editmessage"))
)
_HANDLERS = {name.lower(): fn for name, fn in HANDLERS.items()}
_JSON_CT = "application/json"


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def error_response(err: ApiError) -> web.Response:
    """Telegram's error shape."""
    body: dict[str, Any] = {"ok": False, "error_code": err.code, "description": err.description}
    if err.retry_after is not None:
        body["parameters"] = {"retry_after": err.retry_after}
    if err.migrate_to_chat_id is not None:
        body["parameters"] = {"migrate_to_chat_id": err.migrate_to_chat_id}
    return web.Response(text=_dumps(body), status=err.code, content_type=_JSON_CT)


async def read_params(request: web.Request) -> dict[str, Any]:
    """Query string + JSON, form or multipart body as one dict (uploads become Upload)."""
    raw: dict[str, Any] = dict(request.query) if request.query_string else {}
    if not request.body_exists:
        return raw
    ctype = request.content_type
    if ctype == _JSON_CT:
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON request body") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: JSON request body must be an object")
        raw.update(body)
        return raw
    form = await request.post()
    for k, v in form.items():
        if isinstance(v, web.FileField):
            raw[k] = Upload(v.filename, v.content_type, v.file.read())
        else:
            raw[k] = v
    for k, v in raw.items():  # PTB may reference parts as attach://<name>
        if isinstance(v, str) and v.startswith("attach://") and isinstance(
                raw.get(v[9:]), Upload):
            raw[k] = raw[v[9:]]
    return raw


# Telegram's own answers when a chat is gone or the bot may not act in it.
_STAFF_GROUP_ERRORS = {
    "chat_not_found": (400, "Bad Request: chat not found"),
    "kicked": (403, "Forbidden: bot was kicked from the supergroup chat"),
    "not_enough_rights": (400, "Bad Request: not enough rights to create a topic"),
}


async def _apply_fault(emu: Emulator, method: str, params: dict[str, Any]) -> Fault | None:
    """Fail the call as an injected fault says; a fault that acts after the call is returned."""
    fault = emu.take_fault(method, params.get("chat_id"))
    if fault is None or fault.kind == "delivered_timeout":
        return fault
    if fault.kind == "429":
        n = fault.retry_after
        raise ApiError(429, f"Too Many Requests: retry after {n}", retry_after=n)
    if fault.kind == "5xx":
        raise ApiError(502, "Bad Gateway")
    if fault.kind == "blocked":
        raise ApiError(403, "Forbidden: bot was blocked by the user")
    if fault.kind == "query_too_old":
        raise ApiError(400, "Bad Request: query is too old and response timeout expired or "
                            "query ID is invalid")
    if fault.kind == "not_enough_rights" and method != "createforumtopic":
        raise ApiError(400, "Bad Request: not enough rights to send text messages to the chat")
    if fault.kind in _STAFF_GROUP_ERRORS:
        raise ApiError(*_STAFF_GROUP_ERRORS[fault.kind])
    if fault.kind == "migrated":
        raise ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                       migrate_to_chat_id=fault.migrate_to_chat_id)
    await _lose_answer(emu, fault)


async def _lose_answer(emu: Emulator, fault: Fault) -> NoReturn:
    """Hold the request open (without blocking others), then answer 504."""
    try:
        await asyncio.wait_for(emu.stopping.wait(), fault.delay)
    except TimeoutError:
        pass
    raise ApiError(504, "Gateway Timeout")


async def call(emu: Emulator, method: str, raw: dict[str, Any]) -> Any:
    """Validate and run one Bot API method (Python entry point); raises ApiError."""
    spec = BY_LOWER.get(method.lower())
    if spec is None:
        raise ApiError(404, "Not Found")
    return await run(emu, spec, spec.parse(raw))


async def run(emu: Emulator, spec: MethodSpec, params: dict[str, Any]) -> Any:
    """Faults, rate limits, then the handler for already-validated params."""
    low = spec.name.lower()
    after = await _apply_fault(emu, low, params) if emu.faults else None
    if low in RATE_LIMITED and "chat_id" in params:
        chat = emu.chats.get(params["chat_id"]) if isinstance(params["chat_id"], int) else None
        if chat is not None:
            emu.limiter.check(chat.id, time.monotonic())
    handler = _HANDLERS.get(low)
    if handler is None:
        if spec.returns == ["Boolean"]:
            return True
        raise ApiError(400, f"Bad Request: method {spec.name} is not supported by the emulator")
    result = await handler(emu, params)
    if after is not None:  # delivered, but the caller never hears so
        await _lose_answer(emu, after)
    return result


async def handle_api(request: web.Request) -> web.Response:
    """``/bot{token}/{method}``."""
    emu = request.app[EMU_KEY]
    method = request.match_info["method"]
    if request.match_info["token"] != emu.token:
        return error_response(ApiError(401, "Unauthorized"))
    spec = BY_LOWER.get(method.lower())
    params: dict[str, Any] = {}
    if emu.latency:  # a simulated network round trip (benchmarks); others are served meanwhile
        await asyncio.sleep(emu.latency)
    try:
        if spec is None:
            raise ApiError(404, "Not Found")
        params = await read_params(request)
        params = spec.parse(params)
        result = await run(emu, spec, params)
    except ApiError as err:
        emu.count_call(spec.name if spec else method, err.code)
        if emu.record_calls:
            emu.calls.append(CallRecord(spec.name if spec else method, params, err.code,
                                        err.description))
        return error_response(err)
    emu.count_call(spec.name, 200)
    if emu.record_calls:
        emu.calls.append(CallRecord(spec.name, params, 200))
    return web.Response(text=_dumps({"ok": True, "result": result}), content_type=_JSON_CT)


async def handle_file(request: web.Request) -> web.StreamResponse:
    """``/file/bot{token}/{file_path}``: the stored bytes."""
    emu = request.app[EMU_KEY]
    if request.match_info["token"] != emu.token:
        return error_response(ApiError(401, "Unauthorized"))
    f = emu.files_by_path.get(request.match_info["path"])
    if f is None:
        return error_response(ApiError(404, "Not Found"))
    return web.Response(body=f.data, content_type="application/octet-stream")


def build_app(emu: Emulator) -> web.Application:
    """The aiohttp application serving one emulator."""
    from .control import add_control_routes

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[EMU_KEY] = emu
    app.router.add_route("*", "/bot{token}/{method}", handle_api)
    app.router.add_get("/file/bot{token}/{path:.+}", handle_file)
    add_control_routes(app, EMU_KEY)
    return app
