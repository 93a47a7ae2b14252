"""The record keeps what happened: edits while filing, presses of someone else's buttons."""

from __future__ import annotations

from typing import Any

import pytest

from bot.emulator import Emulator
from bot.i18n import t
from tests.e2e.intake_helpers import (
    Chat,
    assert_no_rejections,
    forge,
    to_confirm,
    told_to_confirm,
)


async def _ticket(app: Any, customer_id: int) -> tuple[Any, list[Any]]:
    async with app.db.uow() as uow:
        [tk] = await uow.repos.tickets.of_customer(customer_id)
        history = list(await uow.repos.tickets.history(tk.id))
        for row in [tk, *history]:  # keep their loaded values after the read-only unit of work
            uow.session.expunge(row)
        return tk, history


async def test_an_edit_while_filing_reaches_the_ticket_with_both_wordings(
        emu: Emulator, desk: Any) -> None:
    chat = Chat(emu, emu.user(5701, first_name="李雷", language_code="zh"))
    await chat.say("/start")
    await chat.press("file")
    first = await chat.user.send_text("楼上漏水,已经三天了")
    await emu.wait_for_sent(chat.id, count=len(chat.messages()) + 1)
    await chat.user.edit_text(first["message_id"], "楼上漏水,已经五天了,天花板塌了一块")
    [readback] = await told_to_confirm(chat)
    assert "已经五天了" in readback["text"] and "已经三天了" not in readback["text"]
    await chat.press("ok")
    tk, history = await _ticket(desk, 5701)
    assert tk.facts == "楼上漏水,已经五天了,天花板塌了一块"  # the customer's latest wording
    [edit] = [h for h in history if h.event == "customer_edited"]
    assert (edit.details["before"], edit.details["after"]) == (
        "楼上漏水,已经三天了", "楼上漏水,已经五天了,天花板塌了一块")  # both kept
    assert edit.details["message_id"] == first["message_id"] and edit.actor_id == 5701
    assert_no_rejections(emu)


@pytest.mark.parametrize("action", ["t", "u", "ns"])
async def test_a_forged_button_for_another_customers_ticket_is_refused_and_recorded(
        emu: Emulator, desk: Any, action: str) -> None:
    lei = Chat(emu, emu.user(5702, first_name="李雷", language_code="zh"))
    await to_confirm(lei)
    await lei.press("ok")
    tk, before = await _ticket(desk, 5702)
    mei = Chat(emu, emu.user(5703, first_name="韩梅梅", language_code="zh"))
    answer = await forge(emu, mei, f"c:{action}:{tk.id}")
    if action == "ns":  # "Not solved" answers in the chat, not in the alert
        [said] = [m for m in mei.messages() if m.get("text") == t("zh_CN", "tickets.not_yours")]
        assert said
    else:
        assert answer == t("zh_CN", "tickets.not_yours")
    _, after = await _ticket(desk, 5702)
    [forged] = [h for h in after[len(before):] if h.event == "foreign_button"]
    assert forged.actor_id == 5703 and forged.actor_kind == "customer"
    assert forged.details == {"action": action}  # who and what button, nothing they wrote
    assert (await _ticket(desk, 5702))[0].status == tk.status  # and nothing else changed


async def test_a_forged_button_for_no_ticket_at_all_is_refused_quietly(
        emu: Emulator, desk: Any) -> None:
    mei = Chat(emu, emu.user(5704, first_name="韩梅梅", language_code="zh"))
    assert await forge(emu, mei, "c:t:999999") == t("zh_CN", "tickets.not_yours")
