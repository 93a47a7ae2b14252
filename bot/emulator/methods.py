"""Bot API method implementations: ``async def handler(emu, params) -> result``."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .emulator import Emulator, Webhook
from .html import HtmlError, parse_html, utf16_len
from .schema import ApiError, Upload
from .state import CONTENT_KEYS, Chat

Handler = Callable[[Emulator, dict[str, Any]], Awaitable[Any]]
HANDLERS: dict[str, Handler] = {}
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message")


def api(name: str) -> Callable[[Handler], Handler]:
    """Register a handler under its Bot API method name."""
    def deco(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn
    return deco


def bad(text: str) -> ApiError:
    """A 400 Bad Request error."""
    return ApiError(400, f"Bad Request: {text}")


# ---- shared pieces ---------------------------------------------------------------------------
def target(emu: Emulator, p: dict[str, Any], key: str = "chat_id") -> Chat:
    """The chat a call addresses; 403 if the user blocked the bot."""
    chat = emu.chat(p[key])
    if chat.blocked:
        raise ApiError(403, "Forbidden: bot was blocked by the user")
    return chat


def thread(chat: Chat, p: dict[str, Any], reply_to: dict[str, Any] | None) -> int | None:
    """The forum thread a message goes to (checked to exist)."""
    tid = p.get("message_thread_id")
    if tid is None and reply_to is not None:
        tid = reply_to.get("message_thread_id")
    if tid is None or not chat.is_forum:
        return None
    if tid not in chat.topics:
        raise bad("message thread not found")
    return int(tid)


def formatted(p: dict[str, Any], key: str, ents_key: str, limit: int,
              too_long: str) -> dict[str, Any]:
    """Parse text or caption per parse_mode; check its length; return message fields."""
    raw = p.get(key)
    if raw is None:
        return {}
    text, ents = raw, p.get(ents_key) or []
    if str(p.get("parse_mode", "")).lower() == "html":
        try:
            text, ents = parse_html(raw)
        except HtmlError as e:
            raise bad(f"can't parse entities: {e}") from None
    if key == "text" and not text.strip():
        raise bad("message text is empty")
    if utf16_len(text) > limit:  # Telegram counts UTF-16 code units, as entity offsets do
        raise bad(too_long)
    out: dict[str, Any] = {key: text}
    if ents:
        out[ents_key] = ents
    return out


def text_fields(p: dict[str, Any]) -> dict[str, Any]:
    """Message text + entities from sendMessage-like params."""
    return formatted(p, "text", "entities", 4096, "message is too long")


def caption_fields(p: dict[str, Any]) -> dict[str, Any]:
    """Caption + caption_entities from media params."""
    return formatted(p, "caption", "caption_entities", 1024, "message caption is too long")


def markup(p: dict[str, Any]) -> dict[str, Any]:
    """Check reply_markup limits; return the fields a Message carries (inline keyboards)."""
    rm = p.get("reply_markup")
    if not rm:
        return {}
    rows = rm.get("inline_keyboard")
    if rows is not None:
        if sum(len(r) for r in rows) > 100:
            raise bad("too many buttons")
        for row in rows:
            for b in row:
                cd = b.get("callback_data")
                if cd is not None and not 1 <= len(cd.encode("utf-8")) <= 64:
                    raise bad("BUTTON_DATA_INVALID")
        return {"reply_markup": {"inline_keyboard": rows}}
    if "keyboard" in rm and sum(len(r) for r in rm["keyboard"]) > 100:
        raise bad("too many buttons")
    return {}


def reply_target(chat: Chat, p: dict[str, Any]) -> dict[str, Any] | None:
    """The message replied to (reply_parameters or legacy reply_to_message_id)."""
    rp = p.get("reply_parameters") or {}
    mid = rp.get("message_id", p.get("reply_to_message_id"))
    if mid is None:
        return None
    msg = chat.messages.get(int(mid))
    if msg is None and not (rp.get("allow_sending_without_reply")
                            or p.get("allow_sending_without_reply")):
        raise bad("message to be replied not found")
    return msg


def send(emu: Emulator, p: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
    """Common tail of send*: target, thread, reply, markup; stores the bot message."""
    chat = target(emu, p)
    reply_to = reply_target(chat, p)
    tid = thread(chat, p, reply_to)
    content = {**content, **markup(p)}
    msg = emu.new_message(chat, emu.bot_user, tid, content, reply_to)
    if p.get("reply_markup") and "inline_keyboard" not in p["reply_markup"]:
        chat.fixed.add(msg["message_id"])
    return msg


def media(emu: Emulator, p: dict[str, Any], key: str) -> Any:
    """Resolve an upload or file_id into the Message field for ``key``."""
    v = p[key]
    if isinstance(v, Upload):
        if key == "photo":
            return emu.store_photo(v.data)
        if key == "voice":
            return emu.store_voice(v.data, int(p.get("duration") or 1))
        return emu.store_document(v.data, v.filename or "file", v.content_type
                                  if v.content_type != "application/octet-stream" else None)
    f = emu.files.get(v)
    if f is None and isinstance(v, str) and v.startswith(("http://", "https://")):
        name = v.rsplit("/", 1)[-1] or "file"
        return emu.store_photo(b"") if key == "photo" else emu.store_document(b"", name)
    if f is None or key not in f.meta:
        raise bad("wrong file identifier/HTTP URL specified")
    return f.meta[key]


def bot_message(emu: Emulator, p: dict[str, Any], verb: str) -> tuple[Chat, dict[str, Any]]:
    """The bot's own message addressed by chat_id + message_id, for editing."""
    if "inline_message_id" in p or "chat_id" not in p or "message_id" not in p:
        raise bad(f"message to {verb} not found")
    chat = target(emu, p)
    msg = chat.messages.get(p["message_id"])
    if msg is None:
        raise bad(f"message to {verb} not found")
    if msg["from"] is not emu.bot_user or p["message_id"] in chat.fixed:
        raise bad("message can't be edited")
    return chat, msg


def apply_edit(emu: Emulator, msg: dict[str, Any], new: dict[str, Any],
               keys: tuple[str, ...]) -> dict[str, Any]:
    """Replace ``keys`` of msg with ``new``; 400 if nothing changes."""
    if all(msg.get(k) == new.get(k) for k in keys):
        raise bad(NOT_MODIFIED[len("Bad Request: "):])
    for k in keys:
        if k in new:
            msg[k] = new[k]
        else:
            msg.pop(k, None)
    msg["edit_date"] = int(time.time())
    emu.log_event("edit", msg["chat"]["id"], msg)
    emu.notify_sent()
    return dict(msg)


# ---- methods ---------------------------------------------------------------------------------
@api("getMe")
async def get_me(emu: Emulator, p: dict[str, Any]) -> Any:
    """getMe."""
    return {**emu.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": False, "can_connect_to_business": False,
            "has_main_web_app": False}


@api("getUpdates")
async def get_updates(emu: Emulator, p: dict[str, Any]) -> Any:
    """getUpdates with offset confirmation and long polling."""
    if emu.webhook:
        raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                            "use deleteWebhook to delete the webhook first")
    if "allowed_updates" in p:
        emu.allowed_updates = p["allowed_updates"] or None
    q, offset = emu.updates, p.get("offset")
    if offset is not None and offset < 0:
        while len(q) > -offset:
            q.popleft()
    elif offset is not None:
        while q and q[0]["update_id"] < offset:
            q.popleft()
    if not q and p.get("timeout"):
        await emu.wait_updates(float(p["timeout"]))
    limit = min(max(int(p.get("limit") or 100), 1), 100)
    return [q[i] for i in range(min(limit, len(q)))]


@api("setWebhook")
async def set_webhook(emu: Emulator, p: dict[str, Any]) -> Any:
    """setWebhook (empty url removes it)."""
    url = p.get("url", "")
    hook = Webhook(url, p.get("secret_token"), p.get("allowed_updates") or None,
                   p.get("max_connections", 40)) if url else None
    await emu.set_webhook(hook, bool(p.get("drop_pending_updates")))
    return True


@api("deleteWebhook")
async def delete_webhook(emu: Emulator, p: dict[str, Any]) -> Any:
    """deleteWebhook."""
    await emu.set_webhook(None, bool(p.get("drop_pending_updates")))
    return True


@api("getWebhookInfo")
async def get_webhook_info(emu: Emulator, p: dict[str, Any]) -> Any:
    """getWebhookInfo."""
    h = emu.webhook
    info: dict[str, Any] = {"url": h.url if h else "", "has_custom_certificate": False,
                            "pending_update_count": emu.pending_updates()}
    if h:
        info["max_connections"] = h.max_connections
        if h.allowed_updates:
            info["allowed_updates"] = h.allowed_updates
        if h.last_error_date:
            info["last_error_date"] = h.last_error_date
            info["last_error_message"] = h.last_error_message
    return info


def _commands_key(p: dict[str, Any]) -> str:
    scope = p.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True) + "|" + (p.get("language_code") or "")


@api("setMyCommands")
async def set_my_commands(emu: Emulator, p: dict[str, Any]) -> Any:
    """setMyCommands."""
    emu.commands[_commands_key(p)] = p["commands"]
    return True


@api("getMyCommands")
async def get_my_commands(emu: Emulator, p: dict[str, Any]) -> Any:
    """getMyCommands."""
    return emu.commands.get(_commands_key(p), [])


@api("deleteMyCommands")
async def delete_my_commands(emu: Emulator, p: dict[str, Any]) -> Any:
    """deleteMyCommands."""
    emu.commands.pop(_commands_key(p), None)
    return True


@api("sendMessage")
async def send_message(emu: Emulator, p: dict[str, Any]) -> Any:
    """sendMessage."""
    return send(emu, p, text_fields(p))


@api("sendPhoto")
async def send_photo(emu: Emulator, p: dict[str, Any]) -> Any:
    """sendPhoto (upload or file_id)."""
    cap = caption_fields(p)
    return send(emu, p, {"photo": media(emu, p, "photo"), **cap})


@api("sendDocument")
async def send_document(emu: Emulator, p: dict[str, Any]) -> Any:
    """sendDocument (upload or file_id)."""
    cap = caption_fields(p)
    return send(emu, p, {"document": media(emu, p, "document"), **cap})


@api("sendVoice")
async def send_voice(emu: Emulator, p: dict[str, Any]) -> Any:
    """sendVoice (upload or file_id)."""
    cap = caption_fields(p)
    return send(emu, p, {"voice": media(emu, p, "voice"), **cap})


def _source(emu: Emulator, p: dict[str, Any], verb: str) -> dict[str, Any]:
    src = emu.chat(p["from_chat_id"]).messages.get(p["message_id"])
    if src is None:
        raise bad(f"message to {verb} not found")
    return src


@api("copyMessage")
async def copy_message(emu: Emulator, p: dict[str, Any]) -> Any:
    """copyMessage: same content as a new bot message; returns MessageId."""
    src = _source(emu, p, "copy")
    content = {k: src[k] for k in CONTENT_KEYS if k in src}
    if not content:
        raise bad("message can't be copied")
    if "caption" in p:
        content.pop("caption_entities", None)
        content.update(caption_fields(p))
    return {"message_id": send(emu, p, content)["message_id"]}


@api("forwardMessage")
async def forward_message(emu: Emulator, p: dict[str, Any]) -> Any:
    """forwardMessage: content plus forward_origin."""
    src = _source(emu, p, "forward")
    content = {k: src[k] for k in CONTENT_KEYS if k in src}
    content["forward_origin"] = {"type": "user", "date": src["date"], "sender_user": src["from"]}
    return send(emu, {k: v for k, v in p.items() if k != "reply_markup"}, content)


@api("editMessageText")
async def edit_message_text(emu: Emulator, p: dict[str, Any]) -> Any:
    """editMessageText (also drops the inline keyboard unless reply_markup is given)."""
    _, msg = bot_message(emu, p, "edit")
    if "text" not in msg:
        raise bad("there is no text in the message to edit")
    new = {**text_fields(p), **markup(p)}
    return apply_edit(emu, msg, new, ("text", "entities", "reply_markup"))


@api("editMessageCaption")
async def edit_message_caption(emu: Emulator, p: dict[str, Any]) -> Any:
    """editMessageCaption."""
    _, msg = bot_message(emu, p, "edit")
    new = {**caption_fields(p), **markup(p)}
    return apply_edit(emu, msg, new, ("caption", "caption_entities", "reply_markup"))


@api("editMessageReplyMarkup")
async def edit_message_reply_markup(emu: Emulator, p: dict[str, Any]) -> Any:
    """editMessageReplyMarkup (no reply_markup removes the keyboard)."""
    _, msg = bot_message(emu, p, "edit")
    return apply_edit(emu, msg, markup(p), ("reply_markup",))


@api("deleteMessage")
async def delete_message(emu: Emulator, p: dict[str, Any]) -> Any:
    """deleteMessage."""
    chat = emu.chat(p["chat_id"])
    if chat.messages.pop(p["message_id"], None) is None:
        raise bad("message to delete not found")
    emu.log_event("delete", chat.id, None, message_id=p["message_id"])
    emu.notify_sent()
    return True


@api("answerCallbackQuery")
async def answer_callback_query(emu: Emulator, p: dict[str, Any]) -> Any:
    """answerCallbackQuery: records text/show_alert/url/cache_time (once per query)."""
    q = emu.callback_queries.get(p["callback_query_id"])
    if q is None or q["answer"] is not None:
        raise bad("query is too old and response timeout expired or query ID is invalid")
    q["answer"] = {"text": p.get("text"), "show_alert": bool(p.get("show_alert")),
                   "url": p.get("url"), "cache_time": p.get("cache_time", 0)}
    query = q["query"]
    msg = query.get("message")
    emu.log_event("callback_answer", msg["chat"]["id"] if msg else query["from"]["id"], None,
                  callback_query_id=query["id"], text=p.get("text"))
    emu.notify_sent()
    return True


@api("getFile")
async def get_file(emu: Emulator, p: dict[str, Any]) -> Any:
    """getFile."""
    f = emu.files.get(p["file_id"])
    if f is None:
        raise bad("invalid file_id")
    return f.as_file()


@api("createForumTopic")
async def create_forum_topic(emu: Emulator, p: dict[str, Any]) -> Any:
    """createForumTopic."""
    chat = target(emu, p)
    topic = emu.create_topic(chat.id, p["name"], icon_color=p.get("icon_color", 7322096),
                             by_bot=True)
    if p.get("icon_custom_emoji_id"):
        topic["icon_custom_emoji_id"] = p["icon_custom_emoji_id"]
        chat.topics[topic["message_thread_id"]]["icon_custom_emoji_id"] = topic[
            "icon_custom_emoji_id"]
    return topic


def _topic(emu: Emulator, p: dict[str, Any]) -> dict[str, Any]:
    chat = target(emu, p)
    if not chat.is_forum:
        raise bad("the chat is not a forum")
    t = chat.topics.get(p["message_thread_id"])
    if t is None:
        raise bad("message thread not found")
    return t


@api("editForumTopic")
async def edit_forum_topic(emu: Emulator, p: dict[str, Any]) -> Any:
    """editForumTopic."""
    t = _topic(emu, p)
    new: dict[str, Any] = {k: p[k] for k in ("name", "icon_custom_emoji_id") if k in p}
    if all(t.get(k) == v for k, v in new.items()):
        raise bad("TOPIC_NOT_MODIFIED")
    t.update(new)
    return True


async def _set_closed(emu: Emulator, p: dict[str, Any], closed: bool) -> bool:
    t = _topic(emu, p)
    if t["is_closed"] == closed:
        raise bad("TOPIC_NOT_MODIFIED")
    t["is_closed"] = closed
    return True


@api("closeForumTopic")
async def close_forum_topic(emu: Emulator, p: dict[str, Any]) -> Any:
    """closeForumTopic."""
    return await _set_closed(emu, p, True)


@api("reopenForumTopic")
async def reopen_forum_topic(emu: Emulator, p: dict[str, Any]) -> Any:
    """reopenForumTopic."""
    return await _set_closed(emu, p, False)


@api("deleteForumTopic")
async def delete_forum_topic(emu: Emulator, p: dict[str, Any]) -> Any:
    """deleteForumTopic: removes the topic and its messages."""
    _topic(emu, p)
    chat = emu.chat(p["chat_id"])
    tid = p["message_thread_id"]
    del chat.topics[tid]
    chat.messages = {i: m for i, m in chat.messages.items()
                     if m.get("message_thread_id") != tid}
    return True


@api("sendChatAction")
async def send_chat_action(emu: Emulator, p: dict[str, Any]) -> Any:
    """sendChatAction."""
    target(emu, p)
    return True


@api("getChat")
async def get_chat(emu: Emulator, p: dict[str, Any]) -> Any:
    """getChat: a minimal ChatFullInfo."""
    chat = emu.chat(p["chat_id"])
    return {**chat.as_dict(), "accent_color_id": 0, "max_reaction_count": 11,
            "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False,
                                    "unique_gifts": False, "premium_subscription": False,
                                    "gifts_from_channels": False}}
