"""The sender end to end: button answers on their own lane, late and lost answers (7.5, 7.8)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from bot.app import App
from bot.emulator import Emulator, Limits
from bot.i18n import t
from tests.conftest import make_config
from tests.e2e.handoff_helpers import (
    GROUP,
    STEWARD,
    file_config,
    file_direct,
    settle,
    staff_users,
    ticket,
)

TELEGRAM_LIMITS = {"overall_per_second": 30, "per_chat_per_second": 1, "per_group_per_minute": 20}


async def _enqueue(desk: App, chat_id: int, method: str, payloads: list[dict[str, Any]]) -> None:
    """Queue calls to one chat (an answer names no chat in its parameters)."""
    async with desk.db.uow() as uow:
        for p in payloads:
            params = p if method == "answerCallbackQuery" else {"chat_id": chat_id, **p}
            uow.repos.outbox.enqueue(chat_id, method, params)
        await uow.commit()


async def _answered(emu: Emulator, qid: str, within: float) -> dict[str, Any]:
    end = asyncio.get_running_loop().time() + within
    while (answer := emu.callback_answers(qid)) is None:
        if asyncio.get_running_loop().time() > end:
            raise AssertionError("the button was never answered")
        await asyncio.sleep(0.05)
    return answer


def _metric(desk: App, name: str, **labels: str) -> float:
    return desk.metrics.registry.get_sample_value(name, labels) or 0.0


async def test_a_claim_is_answered_before_the_groups_queued_messages(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    """12 messages wait for the staff group's 20-a-minute limit; the Claim answer does not."""
    staff_users(emu)
    emu.set_limits(Limits())  # Telegram's real limits, on both sides
    cfg = file_config()
    cfg["telegram"]["limits"] = TELEGRAM_LIMITS
    desk = await desk_factory(make_config(db_url, emu.base_url, **cfg))
    tk = await file_direct(desk, emu)
    await _enqueue(desk, GROUP, "sendMessage", [{"text": f"queued {i}"} for i in range(12)])
    qid = await emu.user(STEWARD).press(tk.card_message_id, f"s:claim:{tk.id}", chat_id=GROUP)
    # Bounded so the old behaviour (answer behind the whole queue, ~27 s) ends as a failure.
    answer = await _answered(emu, qid, within=40)
    assert answer["text"] == t("zh_CN", "staff.claimed", name="王管家")
    queued = [m for m in emu.sent(GROUP) if (m.get("text") or "").startswith("queued")]
    assert len(queued) < 12  # answered while the group's messages were still waiting
    assert not [c for c in emu.calls if c.status == 429]


async def test_a_claim_answered_too_late_stands_and_is_said_in_the_topic(
        emu: Emulator, db_url: str, desk_factory: Any) -> None:
    staff_users(emu)
    desk = await desk_factory(make_config(db_url, emu.base_url, **file_config()))
    tk = await file_direct(desk, emu)
    emu.add_fault(method="answerCallbackQuery", kind="query_too_old")
    qid = await emu.user(STEWARD).press(tk.card_message_id, f"s:claim:{tk.id}", chat_id=GROUP)
    await settle(desk, emu)
    assert emu.callback_answers(qid) is None  # Telegram refused the late answer
    assert (await ticket(desk, tk.id)).assignee_id == STEWARD  # the claim stands
    claimed = t("zh_CN", "staff.claimed", name="王管家")
    said = [m["text"] for m in emu.sent(GROUP, message_thread_id=tk.topic_id)
            if claimed in (m.get("text") or "")]
    assert said == [t("zh_CN", "staff.answer_late", text=claimed)]
    async with desk.db.uow() as uow:
        [row] = await uow.repos.outbox.rows(method="answerCallbackQuery")
        assert row.status == "sent"  # done, not a failure that alarms anyone
    assert _metric(desk, "complaint_bot_messages_failed_total") == 0


async def test_a_send_delivered_but_unanswered_is_resent_and_counted(
        emu: Emulator, desk: App) -> None:
    """A private chat: Telegram offers no check, so the rare duplicate is accepted — counted."""
    emu.user(8201)
    emu.add_fault(method="sendMessage", chat_id=8201, kind="delivered_timeout", delay=0)
    await _enqueue(desk, 8201, "sendMessage", [{"text": "your ticket"}])
    await emu.wait_for_sent(8201, count=2, timeout=10)
    await desk.sender.drain()
    assert [m["text"] for m in emu.sent(8201)] == ["your ticket", "your ticket"]
    async with aiohttp.ClientSession() as http, \
            http.get(f"http://127.0.0.1:{desk.web_port}/metrics") as resp:
        exposed = await resp.text()
    assert ('complaint_bot_outbox_duplicates_at_risk_total{cause="server_error",chat="private"} '
            '1.0') in exposed.splitlines()


async def test_an_edit_delivered_but_unanswered_repeats_harmlessly(
        emu: Emulator, desk: App) -> None:
    emu.user(8202)
    await _enqueue(desk, 8202, "sendMessage", [{"text": "card v1"}])
    [msg] = await emu.wait_for_sent(8202)
    emu.add_fault(method="editMessageText", chat_id=8202, kind="delivered_timeout", delay=0)
    await _enqueue(desk, 8202, "editMessageText",
                   [{"message_id": msg["message_id"], "text": "card v2"}])
    await desk.sender.drain()
    async with desk.db.uow() as uow:
        [row] = await uow.repos.outbox.rows(method="editMessageText")
        assert row.status == "sent"  # the retry met "message is not modified": done
    assert [m["text"] for m in emu.sent(8202)] == ["card v2"]
    assert _metric(desk, "complaint_bot_outbox_duplicates_at_risk_total",
                   cause="server_error", chat="private") == 0


async def test_an_answer_that_failed_on_the_way_is_answered_on_retry(
        emu: Emulator, desk: App) -> None:
    user = emu.user(8203)
    await _enqueue(desk, 8203, "sendMessage", [{"text": "pick", "reply_markup": {
        "inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}}])
    [msg] = await emu.wait_for_sent(8203)
    first = await user.press(msg["message_id"], "a")
    second = await user.press(msg["message_id"], "a")
    emu.add_fault(method="answerCallbackQuery", kind="5xx", times=1)
    await _enqueue(desk, 8203, "answerCallbackQuery",
                   [{"callback_query_id": q, "text": q} for q in (first, second)])
    assert (await _answered(emu, first, within=20))["text"] == first
    assert (await _answered(emu, second, within=20))["text"] == second
