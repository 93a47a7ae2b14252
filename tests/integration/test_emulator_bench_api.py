"""The emulator's benchmark helpers: batch injection, the event log, call counts, latency."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.emulator import Emulator, Limits

TOKEN = "123456:TEST"


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    e = Emulator(token=TOKEN, limits=Limits.off(), record_calls=False)
    await e.start(port=0)
    yield e
    await e.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def control(http: aiohttp.ClientSession, method: str, url: str,
                  body: Any = None) -> tuple[int, Any]:
    async with http.request(method, url, json=body) as r:
        return r.status, await r.json()


async def bot_call(http: aiohttp.ClientSession, emu: Emulator, method: str,
                   **params: Any) -> tuple[int, Any]:
    async with http.post(f"{emu.base_url}/bot{TOKEN}/{method}", json=params) as r:
        return r.status, await r.json()


async def test_inject_batch_creates_users_and_queues_updates_in_order(
        emu: Emulator, http: aiohttp.ClientSession) -> None:
    items = [{"user_id": 7001, "text": "/start", "first_name": "甲", "language_code": "zh-hans"},
             {"user_id": 7002, "text": "hello"},
             {"user_id": 7001, "contact": {"phone_number": "+8613800000000"}},
             {"user_id": 7002},  # nothing to send: an error for this item only
             {"user_id": 7003, "press": {"message_id": 99, "callback_data": "x"}}]
    status, body = await control(http, "POST", f"{emu.base_url}/_emu/inject", {"items": items})
    assert status == 200 and body["ok"]
    res = body["result"]
    assert [("error" in r) for r in res] == [False, False, False, True, True]
    assert res[0]["message_id"] == 1 and res[1]["message_id"] == 1 and res[2]["message_id"] == 2
    assert res[0]["at"] <= res[1]["at"] <= res[2]["at"]
    assert "no message 99" in res[4]["error"]
    assert emu.users[7001].first_name == "甲" and emu.users[7001].language_code == "zh-hans"
    updates = list(emu.updates)
    assert [u["message"]["chat"]["id"] for u in updates] == [7001, 7002, 7001]
    assert updates[0]["message"]["entities"][0]["type"] == "bot_command"
    assert updates[2]["message"]["contact"]["user_id"] == 7001


async def test_inject_press_answers_callback_query_id(
        emu: Emulator, http: aiohttp.ClientSession) -> None:
    emu.user(7001)
    kb = {"inline_keyboard": [[{"text": "A", "callback_data": "cat:a"}]]}
    _, sent = await bot_call(http, emu, "sendMessage", chat_id=7001, text="pick",
                             reply_markup=kb)
    mid = sent["result"]["message_id"]
    _, body = await control(http, "POST", f"{emu.base_url}/_emu/inject", {"items": [
        {"user_id": 7001, "press": {"message_id": mid, "callback_data": "cat:a"}}]})
    qid = body["result"][0]["callback_query_id"]
    assert emu.updates[-1]["callback_query"]["id"] == qid
    assert emu.updates[-1]["callback_query"]["data"] == "cat:a"


async def test_event_log_records_messages_edits_answers_and_deletes(
        emu: Emulator, http: aiohttp.ClientSession) -> None:
    emu.user(7001)
    kb = {"inline_keyboard": [[{"text": "A", "callback_data": "cat:a"}]]}
    _, sent = await bot_call(http, emu, "sendMessage", chat_id=7001, text="<b>pick</b>",
                             parse_mode="HTML", reply_markup=kb)
    mid = sent["result"]["message_id"]
    qid = await emu.users[7001].press(mid, "cat:a")
    await bot_call(http, emu, "answerCallbackQuery", callback_query_id=qid, text="ok")
    await bot_call(http, emu, "editMessageText", chat_id=7001, message_id=mid, text="picked")
    await bot_call(http, emu, "deleteMessage", chat_id=7001, message_id=mid)
    _, body = await control(http, "GET", f"{emu.base_url}/_emu/events?after=0")
    events = body["result"]["events"]
    assert body["result"]["last"] == 4
    assert [e["kind"] for e in events] == ["message", "callback_answer", "edit", "delete"]
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    assert all(e["chat_id"] == 7001 for e in events)
    assert events[0]["text"] == "pick" and events[0]["message_id"] == mid
    assert events[0]["reply_markup"] == kb
    assert events[1]["callback_query_id"] == qid and events[1]["text"] == "ok"
    assert events[2]["text"] == "picked" and "reply_markup" not in events[2]
    assert events[3]["message_id"] == mid
    assert all(a["at"] <= b["at"] for a, b in zip(events, events[1:], strict=False))
    _, body = await control(http, "GET", f"{emu.base_url}/_emu/events?after=2&limit=1")
    assert [e["seq"] for e in body["result"]["events"]] == [3]


async def test_events_long_poll_wakes_on_a_send(emu: Emulator,
                                                http: aiohttp.ClientSession) -> None:
    emu.user(7001)
    poll = asyncio.create_task(
        control(http, "GET", f"{emu.base_url}/_emu/events?after=0&timeout=30"))
    await asyncio.sleep(0.05)
    assert not poll.done()
    await bot_call(http, emu, "sendMessage", chat_id=7001, text="hi")
    _, body = await asyncio.wait_for(poll, 10)
    assert [e["text"] for e in body["result"]["events"]] == ["hi"]
    # Nothing newer: a short poll answers empty rather than hanging.
    _, body = await control(http, "GET", f"{emu.base_url}/_emu/events?after=1&timeout=0.05")
    assert body["result"] == {"last": 1, "events": []}


async def test_event_log_is_bounded_and_seq_survives_trimming() -> None:
    emu = Emulator(token=TOKEN, limits=Limits.off(), event_log_size=10)
    chat = emu.create_group(-100123, "g")
    for i in range(25):
        emu.new_message(chat, emu.bot_user, None, {"text": str(i)})
    assert emu.last_event_seq == 25
    kept = emu.events(0)
    assert 10 <= len(kept) <= 20 and kept[-1]["seq"] == 25 and kept[-1]["text"] == "24"
    assert [e["seq"] for e in emu.events(22)] == [23, 24, 25]
    assert emu.events(25) == []


async def test_stats_count_calls_by_status_including_429(
        emu: Emulator, http: aiohttp.ClientSession) -> None:
    emu.user(7001)
    emu.set_limits(per_chat_per_second=1, private_burst=1)  # no burst: the 2nd is a 429
    await bot_call(http, emu, "getMe")
    assert (await bot_call(http, emu, "sendMessage", chat_id=7001, text="1"))[0] == 200
    assert (await bot_call(http, emu, "sendMessage", chat_id=7001, text="2"))[0] == 429
    assert (await bot_call(http, emu, "sendMessage", chat_id=7001))[0] == 400
    _, body = await control(http, "GET", f"{emu.base_url}/_emu/stats")
    st = body["result"]
    assert st["calls"]["getMe"] == {"200": 1}
    assert st["calls"]["sendMessage"] == {"200": 1, "429": 1, "400": 1}
    assert st["last_event"] == 1 and st["pending_updates"] == 0
    await control(http, "DELETE", f"{emu.base_url}/_emu/stats")
    _, body = await control(http, "GET", f"{emu.base_url}/_emu/stats")
    assert body["result"]["calls"] == {}


async def test_latency_setting_applies_and_calls_still_answer(
        emu: Emulator, http: aiohttp.ClientSession) -> None:
    status, body = await control(http, "POST", f"{emu.base_url}/_emu/latency", {"ms": 20})
    assert status == 200 and body["result"] == {"ms": 20}
    assert emu.latency == pytest.approx(0.02)
    status, body = await bot_call(http, emu, "getMe")
    assert status == 200 and body["ok"]
    status, _ = await control(http, "POST", f"{emu.base_url}/_emu/latency", {"ms": -1})
    assert status == 400


def test_cli_accepts_latency_ms() -> None:
    from bot.emulator.__main__ import main

    with pytest.raises(SystemExit):
        main(["--latency-ms", "-5"])
