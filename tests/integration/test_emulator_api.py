"""The emulator over raw HTTP: routes, body formats, validation, state, faults, limits."""

from __future__ import annotations

import asyncio
import base64
import html as html_lib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from bot.emulator import Emulator, Limits
from bot.emulator.html import parse_html, utf16_len

TOKEN = "123456:TEST"


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    e = Emulator(token=TOKEN, limits=Limits.off())
    await e.start(port=0)
    yield e
    await e.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


class Api:
    """Tiny raw client: returns (status, body)."""

    def __init__(self, emu: Emulator, http: aiohttp.ClientSession) -> None:
        self.url, self.http = f"{emu.base_url}/bot{TOKEN}", http

    async def json(self, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
        async with self.http.post(f"{self.url}/{method}", json=params) as r:
            return r.status, await r.json()

    async def form(self, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
        data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        async with self.http.post(f"{self.url}/{method}", data=data) as r:
            return r.status, await r.json()

    async def multipart(self, method: str, files: dict[str, tuple[str, bytes]],
                        **params: Any) -> tuple[int, dict[str, Any]]:
        form = aiohttp.FormData()
        for k, v in params.items():
            form.add_field(k, v if isinstance(v, str) else json.dumps(v))
        for k, (name, data) in files.items():
            form.add_field(k, data, filename=name, content_type="application/octet-stream")
        async with self.http.post(f"{self.url}/{method}", data=form) as r:
            return r.status, await r.json()


@pytest.fixture
def api(emu: Emulator, http: aiohttp.ClientSession) -> Api:
    return Api(emu, http)


def err(body: dict[str, Any]) -> str:
    assert body["ok"] is False
    return body["description"]


# ---- routes and bodies ------------------------------------------------------------------------
async def test_get_me_get_and_case_insensitive(emu: Emulator, http: aiohttp.ClientSession):
    async with http.get(f"{emu.base_url}/bot{TOKEN}/GETME") as r:
        body = await r.json()
    assert r.status == 200 and body["ok"] and body["result"]["is_bot"] is True
    assert body["result"]["id"] == 123456


async def test_wrong_token_401(emu: Emulator, http: aiohttp.ClientSession):
    async with http.post(f"{emu.base_url}/bot999:NOPE/getMe") as r:
        assert r.status == 401
        assert await r.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_unknown_method_404(api: Api):
    status, body = await api.json("sendTelepathy", chat_id=1)
    assert status == 404 and err(body) == "Not Found" and body["error_code"] == 404


@pytest.mark.parametrize("kind", ["json", "form", "query"])
async def test_bodies_accepted(emu: Emulator, api: Api, http: aiohttp.ClientSession, kind: str):
    emu.user(5001)
    params = {"chat_id": 5001, "text": "hello",
              "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}}
    if kind == "json":
        status, body = await api.json("sendMessage", **params)
    elif kind == "form":
        status, body = await api.form("sendMessage", **params)
    else:
        q = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        async with http.get(f"{api.url}/sendMessage", params=q) as r:
            status, body = r.status, await r.json()
    assert status == 200, body
    res = body["result"]
    assert res["text"] == "hello" and res["chat"]["id"] == 5001
    assert res["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a"
    assert emu.sent(5001)[0]["message_id"] == res["message_id"]


async def test_multipart_upload_and_download(emu: Emulator, api: Api,
                                             http: aiohttp.ClientSession):
    emu.user(5001)
    data = b"%PDF-1.4 fake document bytes"
    status, body = await api.multipart("sendDocument", {"document": ("a.pdf", data)},
                                       chat_id=5001, caption="see")
    assert status == 200, body
    doc = body["result"]["document"]
    assert doc["file_name"] == "a.pdf" and doc["mime_type"] == "application/pdf"
    status, body = await api.json("getFile", file_id=doc["file_id"])
    path = body["result"]["file_path"]
    async with http.get(f"{emu.base_url}/file/bot{TOKEN}/{path}") as r:
        assert r.status == 200 and await r.read() == data
    # re-send by file_id
    status, body = await api.form("sendDocument", chat_id=5001, document=doc["file_id"])
    assert status == 200 and body["result"]["document"]["file_id"] == doc["file_id"]
    status, body = await api.form("sendDocument", chat_id=5001, document="nonsense")
    assert status == 400 and "wrong file identifier" in err(body)


# ---- validation -------------------------------------------------------------------------------
async def test_missing_params(emu: Emulator, api: Api):
    emu.user(5001)
    status, body = await api.json("sendMessage", chat_id=5001)
    assert status == 400 and err(body) == "Bad Request: message text is empty"
    status, body = await api.json("sendMessage", text="x")
    assert status == 400 and err(body) == 'Bad Request: parameter "chat_id" is required'
    status, body = await api.json("getFile")
    assert status == 400 and err(body) == 'Bad Request: parameter "file_id" is required'


async def test_mistyped_params(emu: Emulator, api: Api):
    emu.user(5001)
    status, body = await api.form("sendMessage", chat_id="abc", text="x")
    assert status == 400 and err(body) == "Bad Request: chat not found"
    status, body = await api.form("editMessageText", chat_id="5001", message_id="seven",
                                  text="x")
    assert status == 400 and "message_id" in err(body)
    status, body = await api.json("sendMessage", chat_id=5001, text="x", reply_markup=[1, 2])
    assert status == 400 and "reply_markup" in err(body)
    status, body = await api.json("sendMessage", chat_id=5001, text="x",
                                  reply_markup={"inline_keyboard": [[{"callback_data": "x"}]]})
    assert status == 400 and "reply_markup" in err(body)
    # integers as strings in form bodies are fine; @username of an unknown chat is not
    status, body = await api.form("sendMessage", chat_id="5001", text="x")
    assert status == 200
    status, body = await api.form("sendMessage", chat_id="@nobody", text="x")
    assert status == 400 and err(body) == "Bad Request: chat not found"


async def test_unknown_chat(api: Api):
    status, body = await api.json("sendMessage", chat_id=777, text="x")
    assert status == 400 and err(body) == "Bad Request: chat not found"


async def test_text_length(emu: Emulator, api: Api):
    emu.user(5001)
    status, body = await api.json("sendMessage", chat_id=5001, text="a" * 4097)
    assert status == 400 and err(body) == "Bad Request: message is too long"
    status, body = await api.json("sendMessage", chat_id=5001, text="好" * 4096)
    assert status == 200
    # tags do not count
    html = "<b>" + "a" * 4096 + "</b>"
    status, body = await api.json("sendMessage", chat_id=5001, text=html, parse_mode="HTML")
    assert status == 200 and body["result"]["entities"][0]["length"] == 4096


async def test_length_counts_utf16_units_as_telegram_does(emu: Emulator, api: Api):
    emu.user(5001)  # an emoji outside the BMP is two UTF-16 units
    status, _ = await api.json("sendMessage", chat_id=5001, text="😀" * 2048)
    assert status == 200
    status, body = await api.json("sendMessage", chat_id=5001, text="😀" * 2048 + "a")
    assert status == 400 and err(body) == "Bad Request: message is too long"
    files = {"photo": ("p.jpg", b"\xff\xd8jpeg")}
    status, body = await api.multipart("sendPhoto", files, chat_id=5001, caption="😀" * 513)
    assert status == 400 and err(body) == "Bad Request: message caption is too long"


async def test_caption_length(emu: Emulator, api: Api):
    emu.user(5001)
    files = {"photo": ("p.jpg", b"\xff\xd8jpeg")}
    status, body = await api.multipart("sendPhoto", files, chat_id=5001, caption="c" * 1025)
    assert status == 400 and err(body) == "Bad Request: message caption is too long"
    status, body = await api.multipart("sendPhoto", files, chat_id=5001, caption="c" * 1024)
    assert status == 200 and body["result"]["caption"] == "c" * 1024


async def test_callback_data_too_long(emu: Emulator, api: Api):
    emu.user(5001)
    kb = {"inline_keyboard": [[{"text": "x", "callback_data": "d" * 65}]]}
    status, body = await api.json("sendMessage", chat_id=5001, text="x", reply_markup=kb)
    assert status == 400 and err(body) == "Bad Request: BUTTON_DATA_INVALID"
    kb = {"inline_keyboard": [[{"text": "x", "callback_data": "数" * 22}]]}  # 66 bytes
    status, body = await api.json("sendMessage", chat_id=5001, text="x", reply_markup=kb)
    assert status == 400 and err(body) == "Bad Request: BUTTON_DATA_INVALID"
    kb = {"inline_keyboard": [[{"text": "x", "callback_data": "d" * 64}]]}
    status, body = await api.json("sendMessage", chat_id=5001, text="x", reply_markup=kb)
    assert status == 200


async def test_too_many_buttons(emu: Emulator, api: Api):
    emu.user(5001)
    rows = [[{"text": str(i), "callback_data": str(i)} for i in range(j * 10, j * 10 + 10)]
            for j in range(10)]
    status, _ = await api.json("sendMessage", chat_id=5001, text="x",
                               reply_markup={"inline_keyboard": rows})
    assert status == 200
    rows.append([{"text": "extra", "callback_data": "extra"}])
    status, body = await api.json("sendMessage", chat_id=5001, text="x",
                                  reply_markup={"inline_keyboard": rows})
    assert status == 400 and err(body) == "Bad Request: too many buttons"
    keyboard = [[{"text": str(i)}] for i in range(101)]
    status, body = await api.json("sendMessage", chat_id=5001, text="x",
                                  reply_markup={"keyboard": keyboard})
    assert status == 400 and err(body) == "Bad Request: too many buttons"


@pytest.mark.parametrize("html", [
    "<b>unclosed", "<b><i>x</b></i>", "<blink>x</blink>", "a < b", "Tom & Jerry", "x</b>",
    '<span class="nope">x</span>', "<b", "&bogus;",
])
async def test_broken_html(emu: Emulator, api: Api, html: str):
    emu.user(5001)
    status, body = await api.json("sendMessage", chat_id=5001, text=html, parse_mode="HTML")
    assert status == 400
    assert err(body).startswith("Bad Request: can't parse entities: ")


async def test_valid_html(emu: Emulator, api: Api):
    emu.user(5001)
    html = ('<b>工单</b> <i>x</i> <u>u</u> <s>s</s> <tg-spoiler>sp</tg-spoiler> '
            '<span class="tg-spoiler">sp2</span> <a href="https://e.com/?a=1&amp;b=2">l</a> '
            '<code>c</code> <pre><code class="language-python">p</code></pre> '
            '<blockquote expandable>q</blockquote> &lt;&gt;&amp;&quot;&#39;&#x1F600; 😀<b>!</b>')
    status, body = await api.json("sendMessage", chat_id=5001, text=html, parse_mode="HTML")
    assert status == 200, body
    res = body["result"]
    assert res["text"].startswith("工单 x u s sp sp2 l c p q <>&\"'😀 😀!")
    types = [e["type"] for e in res["entities"]]
    assert types == ["bold", "italic", "underline", "strikethrough", "spoiler", "spoiler",
                     "text_link", "code", "pre", "expandable_blockquote", "bold"]
    pre = next(e for e in res["entities"] if e["type"] == "pre")
    assert pre["language"] == "python"
    last = res["entities"][-1]  # after two astral emoji: UTF-16 offsets count them twice
    text16 = res["text"].encode("utf-16-le")
    assert text16[last["offset"] * 2:(last["offset"] + 1) * 2].decode("utf-16-le") == "!"


# ---- state: edits, forum, callbacks -----------------------------------------------------------
async def test_edit_message(emu: Emulator, api: Api):
    emu.user(5001)
    kb = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    _, body = await api.json("sendMessage", chat_id=5001, text="one", reply_markup=kb)
    mid = body["result"]["message_id"]
    status, body = await api.json("editMessageText", chat_id=5001, message_id=mid, text="one",
                                  reply_markup=kb)
    assert status == 400 and err(body).startswith("Bad Request: message is not modified: ")
    status, body = await api.json("editMessageText", chat_id=5001, message_id=mid, text="two",
                                  reply_markup=kb)
    assert status == 200 and body["result"]["text"] == "two" and "edit_date" in body["result"]
    status, body = await api.json("editMessageReplyMarkup", chat_id=5001, message_id=mid)
    assert status == 200 and "reply_markup" not in body["result"]
    status, body = await api.json("editMessageText", chat_id=5001, message_id=999, text="x")
    assert status == 400 and err(body) == "Bad Request: message to edit not found"
    [msg] = emu.sent(5001)
    assert msg["text"] == "two" and "reply_markup" not in msg
    status, body = await api.json("deleteMessage", chat_id=5001, message_id=mid)
    assert status == 200 and emu.sent(5001) == []


async def test_a_message_with_a_reply_keyboard_or_its_removal_cannot_be_edited(
        emu: Emulator, api: Api):
    # Telegram: "only possible to edit messages without reply_markup or with inline keyboards";
    # so a confirmation that takes a reply keyboard away can never gain inline buttons later.
    emu.user(5001)
    inline = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    for rm in ({"remove_keyboard": True}, {"keyboard": [[{"text": "x"}]]},
               {"force_reply": True}):
        _, body = await api.json("sendMessage", chat_id=5001, text="t", reply_markup=rm)
        mid = body["result"]["message_id"]
        for method, extra in (("editMessageReplyMarkup", {"reply_markup": inline}),
                              ("editMessageText", {"text": "u"})):
            status, body = await api.json(method, chat_id=5001, message_id=mid, **extra)
            assert status == 400 and err(body) == "Bad Request: message can't be edited", rm


async def test_message_ids_increase_per_chat(emu: Emulator, api: Api):
    emu.user(5001)
    emu.user(5002)
    ids = []
    for chat in (5001, 5002, 5001):
        _, body = await api.json("sendMessage", chat_id=chat, text="x")
        ids.append((chat, body["result"]["message_id"]))
    assert ids == [(5001, 1), (5002, 1), (5001, 2)]


async def test_forum_topics(emu: Emulator, api: Api):
    group = emu.create_group(-1001234567890, title="Staff", is_forum=True)
    plain = emu.create_group(-1009, title="Plain")
    status, body = await api.json("createForumTopic", chat_id=plain.id, name="T")
    assert status == 400 and err(body) == "Bad Request: the chat is not a forum"
    status, body = await api.json("createForumTopic", chat_id=group.id, name="工单 #1")
    assert status == 200 and body["result"]["name"] == "工单 #1"
    tid = body["result"]["message_thread_id"]
    status, body = await api.json("sendMessage", chat_id=group.id, message_thread_id=tid,
                                  text="in topic")
    assert status == 200 and body["result"]["message_thread_id"] == tid
    assert body["result"]["is_topic_message"] is True
    status, body = await api.json("sendMessage", chat_id=group.id, message_thread_id=999,
                                  text="x")
    assert status == 400 and err(body) == "Bad Request: message thread not found"
    status, _ = await api.json("editForumTopic", chat_id=group.id, message_thread_id=tid,
                               name="工单 #1 (claimed)")
    assert status == 200
    status, _ = await api.json("closeForumTopic", chat_id=group.id, message_thread_id=tid)
    assert status == 200
    status, body = await api.json("closeForumTopic", chat_id=group.id, message_thread_id=tid)
    assert status == 400 and err(body) == "Bad Request: TOPIC_NOT_MODIFIED"
    assert emu.topics(group.id) == [{"message_thread_id": tid, "name": "工单 #1 (claimed)",
                                     "icon_color": 7322096, "is_closed": True}]
    status, _ = await api.json("reopenForumTopic", chat_id=group.id, message_thread_id=tid)
    assert status == 200 and emu.topics(group.id)[0]["is_closed"] is False
    assert [m["text"] for m in emu.sent(group.id, message_thread_id=tid)] == ["in topic"]
    # a user writes into an existing topic (auto-created if unknown)
    user = emu.user(6001, first_name="Steward")
    msg = await user.send_text("hi", chat_id=group.id, message_thread_id=7)
    assert msg["message_thread_id"] == 7 and msg["chat"]["is_forum"] is True
    assert {t["message_thread_id"] for t in emu.topics(group.id)} == {tid, 7}


async def test_callback_press_and_answer(emu: Emulator, api: Api):
    user = emu.user(5001)
    kb = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}
    _, body = await api.json("sendMessage", chat_id=5001, text="ok?", reply_markup=kb)
    mid = body["result"]["message_id"]
    with pytest.raises(ValueError):
        await user.press(mid, "no")
    qid = await user.press(mid, "yes")
    _, body = await api.json("getUpdates")
    [upd] = body["result"]
    cq = upd["callback_query"]
    assert cq["id"] == qid and cq["data"] == "yes" and cq["message"]["message_id"] == mid
    assert cq["from"]["id"] == 5001
    status, _ = await api.json("answerCallbackQuery", callback_query_id=qid, text="Done",
                               show_alert=True)
    assert status == 200
    assert emu.callback_answers(qid)["text"] == "Done"
    assert emu.callback_answers(qid)["show_alert"] is True
    status, body = await api.json("answerCallbackQuery", callback_query_id="bogus")
    assert status == 400 and "query ID is invalid" in err(body)


async def test_user_messages_content(emu: Emulator, api: Api, http: aiohttp.ClientSession):
    user = emu.user(5001, first_name="李雷", language_code="zh-hans")
    msg = await user.send_text("/start ref_1")
    assert msg["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert msg["from"]["language_code"] == "zh-hans"
    photo = await user.send_photo(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"
                                  b"\x00\x00\x00\x80rest", caption="broken")
    assert photo["photo"][-1]["width"] == 256 and photo["photo"][-1]["height"] == 128
    contact = await user.send_contact("+8613812345678")
    assert contact["contact"]["user_id"] == 5001
    await user.send_voice(b"OggS")
    await user.send_sticker()
    await user.send_document(b"doc", file_name="a.pdf")
    assert emu.pending_updates() == 6
    _, body = await api.json("getFile", file_id=photo["photo"][-1]["file_id"])
    async with http.get(f"{emu.base_url}/file/bot{TOKEN}/{body['result']['file_path']}") as r:
        assert (await r.read()).startswith(b"\x89PNG")
    # copy the user's photo to a group, forward the text
    group = emu.create_group(-100555, title="Staff")
    status, body = await api.json("copyMessage", chat_id=group.id, from_chat_id=5001,
                                  message_id=photo["message_id"])
    assert status == 200 and "message_id" in body["result"]
    status, body = await api.json("forwardMessage", chat_id=group.id, from_chat_id=5001,
                                  message_id=msg["message_id"])
    assert status == 200 and body["result"]["forward_origin"]["sender_user"]["id"] == 5001
    copied, forwarded = emu.sent(group.id)
    assert copied["photo"] == photo["photo"] and forwarded["text"] == "/start ref_1"
    status, body = await api.json("copyMessage", chat_id=group.id, from_chat_id=5001,
                                  message_id=999)
    assert status == 400 and err(body) == "Bad Request: message to copy not found"


# ---- getUpdates -------------------------------------------------------------------------------
async def test_long_polling(emu: Emulator, api: Api):
    user = emu.user(5001)
    task = asyncio.create_task(api.json("getUpdates", timeout=10))
    await asyncio.sleep(0.05)
    assert not task.done()
    await user.send_text("hello")
    status, body = await task
    [upd] = body["result"]
    assert upd["message"]["text"] == "hello"
    # not confirmed yet: returned again
    _, body = await api.json("getUpdates")
    assert [u["update_id"] for u in body["result"]] == [upd["update_id"]]
    _, body = await api.json("getUpdates", offset=upd["update_id"] + 1, timeout=0)
    assert body["result"] == [] and emu.pending_updates() == 0
    await user.send_text("a")
    await user.send_text("b")
    _, body = await api.json("getUpdates", limit=1)
    assert [u["message"]["text"] for u in body["result"]] == ["a"]


async def test_long_poll_timeout_returns_empty(api: Api):
    status, body = await api.json("getUpdates", timeout=1)
    assert status == 200 and body["result"] == []


async def test_allowed_updates(emu: Emulator, api: Api):
    user = emu.user(5001)
    await api.json("getUpdates", allowed_updates=["callback_query"])
    await user.send_text("ignored")
    assert emu.pending_updates() == 0
    await api.json("getUpdates", allowed_updates=[])
    await user.send_text("seen")
    assert emu.pending_updates() == 1


# ---- webhook ----------------------------------------------------------------------------------
async def test_webhook_delivery_and_409(emu: Emulator, api: Api):
    got: list[tuple[str | None, dict[str, Any]]] = []
    fail = {"left": 2}

    async def receive(request: web.Request) -> web.Response:
        if fail["left"]:
            fail["left"] -= 1
            return web.Response(status=500)
        got.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"),
                    await request.json()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        user = emu.user(5001)
        await user.send_text("old")
        status, _ = await api.json("setWebhook", url=f"http://127.0.0.1:{port}/hook",
                                   secret_token="s3cret", drop_pending_updates=True)
        assert status == 200
        status, body = await api.json("getUpdates")
        assert status == 409 and err(body).startswith("Conflict: ")
        for t in ("one", "two", "three"):
            await user.send_text(t)
        for _ in range(200):
            if len(got) == 3:
                break
            await asyncio.sleep(0.02)
        assert [u["message"]["text"] for _, u in got] == ["one", "two", "three"]
        assert {s for s, _ in got} == {"s3cret"}
        _, body = await api.json("getWebhookInfo")
        info = body["result"]
        assert info["url"].endswith("/hook") and info["pending_update_count"] == 0
        assert "last_error_message" in info  # the two 500s
        status, _ = await api.json("deleteWebhook")
        assert status == 200
        status, body = await api.json("getUpdates")
        assert status == 200 and body["result"] == []
    finally:
        await runner.cleanup()


# ---- faults and rate limits -------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "status", "description"), [
    ("429", 429, "Too Many Requests: retry after 3"),
    ("5xx", 502, "Bad Gateway"),
    ("blocked", 403, "Forbidden: bot was blocked by the user"),
    ("chat_not_found", 400, "Bad Request: chat not found"),
])
async def test_faults(emu: Emulator, api: Api, kind: str, status: int, description: str):
    emu.user(5001)
    emu.user(5002)
    emu.add_fault(method="sendMessage", chat_id=5001, kind=kind, retry_after=3)
    st, body = await api.json("sendMessage", chat_id=5002, text="other chat")
    assert st == 200
    st, body = await api.json("sendMessage", chat_id=5001, text="x")
    assert st == status and err(body) == description and body["error_code"] == status
    if kind == "429":
        assert body["parameters"] == {"retry_after": 3}
    st, body = await api.json("sendMessage", chat_id=5001, text="x")  # times=1: used up
    assert st == 200
    assert [c.status for c in emu.calls] == [200, status, 200]
    assert emu.calls[1].method == "sendMessage" and emu.calls[1].params["chat_id"] == 5001


@pytest.mark.parametrize(("kind", "status", "description"), [
    ("chat_not_found", 400, "Bad Request: chat not found"),
    ("kicked", 403, "Forbidden: bot was kicked from the supergroup chat"),
    ("not_enough_rights", 400, "Bad Request: not enough rights to create a topic"),
])
async def test_staff_group_faults(emu: Emulator, api: Api, kind: str, status: int,
                                  description: str):
    emu.create_group(-1001, is_forum=True)
    emu.add_fault(method="createForumTopic", chat_id=-1001, kind=kind)
    st, body = await api.json("createForumTopic", chat_id=-1001, name="t")
    assert (st, err(body), body["error_code"]) == (status, description, status)
    st, _ = await api.json("createForumTopic", chat_id=-1001, name="t")
    assert st == 200


async def test_not_enough_rights_to_post(emu: Emulator, api: Api):
    emu.create_group(-1001)
    emu.add_fault(method="sendMessage", chat_id=-1001, kind="not_enough_rights")
    st, body = await api.json("sendMessage", chat_id=-1001, text="x")
    assert (st, err(body)) == (400, "Bad Request: not enough rights to send text messages "
                                    "to the chat")


async def test_upgraded_group_answers_with_its_new_id(emu: Emulator, api: Api):
    emu.create_group(-5001, title="old")
    emu.upgrade_group(-5001, -1005001, title="new")
    for _ in range(2):  # for good, like Telegram
        st, body = await api.json("sendMessage", chat_id=-5001, text="x")
        assert st == 400 and body["parameters"] == {"migrate_to_chat_id": -1005001}
        assert err(body) == "Bad Request: group chat was upgraded to a supergroup chat"
    st, body = await api.json("createForumTopic", chat_id=-1005001, name="t")
    assert st == 200


async def test_timeout_fault_does_not_block_others(emu: Emulator, api: Api,
                                                   http: aiohttp.ClientSession):
    emu.user(5001)
    emu.add_fault(method="sendMessage", kind="timeout", delay=30)
    held = asyncio.create_task(api.json("sendMessage", chat_id=5001, text="held"))
    await asyncio.sleep(0.05)
    status, _ = await api.json("getMe")
    assert status == 200 and not held.done()
    held.cancel()


async def test_delivered_timeout_sends_then_loses_the_answer(emu: Emulator, api: Api):
    emu.user(5001)
    emu.add_fault(method="sendMessage", chat_id=5001, kind="delivered_timeout", delay=0)
    status, body = await api.json("sendMessage", chat_id=5001, text="it went out")
    assert status == 504 and err(body) == "Gateway Timeout"
    assert [m["text"] for m in emu.sent(5001)] == ["it went out"]  # delivered all the same


async def test_query_too_old_fault(emu: Emulator, api: Api):
    user = emu.user(5001)
    kb = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}
    _, body = await api.json("sendMessage", chat_id=5001, text="ok?", reply_markup=kb)
    qid = await user.press(body["result"]["message_id"], "yes")
    emu.add_fault(method="answerCallbackQuery", kind="query_too_old")
    status, body = await api.json("answerCallbackQuery", callback_query_id=qid, text="late")
    assert status == 400 and "query is too old" in err(body)
    assert emu.callback_answers(qid) is None


async def test_a_fault_with_a_probability_hits_some_calls(api: Api):
    emu = Emulator(token=TOKEN, limits=Limits.off(), seed=7)
    await emu.start(port=0)
    try:
        emu.add_fault(method="getMe", kind="5xx", times=None, probability=0.5)
        statuses = [(await Api(emu, api.http).json("getMe"))[0] for _ in range(40)]
    finally:
        await emu.stop()
    assert set(statuses) == {200, 502}


async def test_blocked_user(emu: Emulator, api: Api):
    emu.user(5001).block()
    status, body = await api.json("sendMessage", chat_id=5001, text="x")
    assert status == 403 and err(body) == "Forbidden: bot was blocked by the user"


async def test_rate_limit_per_chat(emu: Emulator, api: Api):
    emu.set_limits(Limits(overall_per_second=0, per_chat_per_second=1, per_group_per_minute=0))
    emu.user(5001)
    emu.user(5002)
    for i in range(3):  # a short burst is tolerated, as Telegram does
        assert (await api.json("sendMessage", chat_id=5001, text=str(i)))[0] == 200
    status, body = await api.json("sendMessage", chat_id=5001, text="4")
    assert status == 429 and body["parameters"]["retry_after"] >= 1
    assert err(body).startswith("Too Many Requests: retry after ")
    assert (await api.json("sendMessage", chat_id=5002, text="other"))[0] == 200
    assert (await api.json("sendChatAction", chat_id=5001, action="typing"))[0] == 200


async def test_rate_limit_per_group(emu: Emulator, api: Api):
    emu.set_limits(Limits(overall_per_second=0, per_chat_per_second=1, per_group_per_minute=20))
    group = emu.create_group(-100777, title="Staff")
    statuses = [(await api.json("sendMessage", chat_id=group.id, text=str(i)))[0]
                for i in range(21)]
    assert statuses == [200] * 20 + [429]


async def test_rate_limit_overall(emu: Emulator, api: Api):
    # a small cap keeps the burst well inside one second even on a slow machine
    emu.set_limits(overall_per_second=5, per_chat_per_second=0, per_group_per_minute=0)
    for i in range(6):
        emu.user(7000 + i)
    statuses = [(await api.json("sendMessage", chat_id=7000 + i, text="x"))[0]
                for i in range(6)]
    assert statuses == [200] * 5 + [429]


async def test_limits_off(emu: Emulator, api: Api):
    emu.set_limits(Limits.off())
    emu.user(5001)
    statuses = [(await api.json("sendMessage", chat_id=5001, text="x"))[0] for _ in range(40)]
    assert set(statuses) == {200}


# ---- control API over HTTP --------------------------------------------------------------------
async def test_control_http(emu: Emulator, api: Api, http: aiohttp.ClientSession):
    base = f"{emu.base_url}/_emu"

    async def post(path: str, **body: Any) -> Any:
        async with http.post(f"{base}{path}", json=body) as r:
            data = await r.json()
            assert r.status == 200, data
            return data["result"]

    async def get(path: str) -> Any:
        async with http.get(f"{base}{path}") as r:
            return (await r.json())["result"]

    assert (await post("/users", id=8001, first_name="Han"))["first_name"] == "Han"
    msg = await post("/users/8001/send_text", text="/help")
    assert msg["entities"][0]["type"] == "bot_command"
    await post("/users/8001/send_photo", data_b64=base64.b64encode(b"img").decode())
    assert await get("/pending_updates") == 2
    await post("/groups", id=-100999, title="Staff", is_forum=True)
    topic = await post("/topics", chat_id=-100999, name="T")
    assert (await get("/topics/-100999"))[0]["name"] == "T"
    kb = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    _, body = await api.json("sendMessage", chat_id=8001, text="choose", reply_markup=kb)
    qid = await post("/users/8001/press", message_id=body["result"]["message_id"],
                     callback_data="a")
    await api.json("answerCallbackQuery", callback_query_id=qid, text="ok")
    assert (await get(f"/callback_answers/{qid}"))["text"] == "ok"
    assert [m["text"] for m in await get("/sent/8001")] == ["choose"]
    waited = await post("/wait_for_sent", chat_id=8001, count=1, timeout=1)
    assert waited[0]["text"] == "choose"
    await post("/faults", method="getMe", kind="5xx")
    assert (await api.json("getMe"))[0] == 502
    calls = await get("/calls")
    assert calls[-1]["method"] == "getMe" and calls[-1]["status"] == 502
    async with http.delete(f"{base}/calls") as r:
        assert r.status == 200
    assert await get("/calls") == []
    limits = await post("/limits", per_chat_per_second=0)
    assert limits["per_chat_per_second"] == 0
    assert (await get("/info"))["bot"]["id"] == 123456
    async with http.post(f"{base}/wait_for_sent", json={"chat_id": 8001, "count": 5,
                                                        "timeout": 0.1}) as r:
        assert r.status == 408
    assert topic["message_thread_id"] > 0


async def test_wait_for_sent_timeout_dump(emu: Emulator, api: Api):
    emu.user(5001)
    await api.json("sendMessage", chat_id=5001, text="only one")
    with pytest.raises(TimeoutError) as exc:
        await emu.wait_for_sent(5001, count=2, timeout=0.1)
    assert "only one" in str(exc.value) and "sendMessage" in str(exc.value)
    task = asyncio.create_task(emu.wait_for_sent(5001, count=2, timeout=5,
                                                 predicate=lambda m: "two" in m["text"] or
                                                 "one" in m["text"]))
    await asyncio.sleep(0.01)
    await api.json("sendMessage", chat_id=5001, text="two")
    assert [m["text"] for m in await task] == ["only one", "two"]


async def test_commands(emu: Emulator, api: Api):
    cmds = [{"command": "start", "description": "开始"}]
    assert (await api.form("setMyCommands", commands=cmds, language_code="zh"))[0] == 200
    _, body = await api.json("getMyCommands", language_code="zh")
    assert body["result"] == cmds
    _, body = await api.json("getMyCommands")
    assert body["result"] == []
    await api.json("deleteMyCommands", language_code="zh")
    _, body = await api.json("getMyCommands", language_code="zh")
    assert body["result"] == []
    # an unimplemented Boolean method just succeeds after validation
    assert (await api.json("setMyDescription", description="d"))[0] == 200


# ---- HTML parser properties -------------------------------------------------------------------
@given(st.text(max_size=200))
def test_escaped_text_always_parses(text: str):
    escaped = html_lib.escape(text, quote=False)
    plain, entities = parse_html(f"<b>{escaped}</b>")
    assert plain == text
    assert entities == ([{"type": "bold", "offset": 0, "length": utf16_len(text)}]
                        if text else [])


def test_default_limits_are_telegrams():
    assert Limits() == Limits(overall_per_second=30, per_chat_per_second=1,
                              per_group_per_minute=20, private_burst=3)
    assert Limits.off() == Limits(0, 0, 0)
