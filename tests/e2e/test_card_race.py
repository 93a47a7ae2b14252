"""A card claimed before the bot knew its message id is still brought up to date."""

from __future__ import annotations

from bot.app import App
from bot.emulator import Emulator
from tests.e2e.handoff_helpers import GROUP, STEWARD, settle
from tests.e2e.intake_helpers import Chat, buttons, to_confirm


async def test_a_card_claimed_before_its_id_was_recorded_stops_offering_claim(
        emu: Emulator, staffdesk: App) -> None:
    # The card is delivered but its answer is lost, so the bot sends it again; meanwhile a
    # steward claims from the first copy — before the bot has any card id to edit.
    emu.add_fault(method="sendMessage", chat_id=GROUP, kind="delivered_timeout", times=1,
                  delay=0.5)
    chat = Chat(emu, emu.user(5701, first_name="李雷", language_code="zh"))
    await to_confirm(chat)
    await chat.press("ok")
    [first] = await emu.wait_for_sent(GROUP, predicate=lambda m: "s:claim:" in str(buttons(m)))
    claim = next(d for d in buttons(first) if d.startswith("s:claim:"))
    await emu.user(STEWARD).press(first["message_id"], claim, chat_id=GROUP)
    await settle(staffdesk, emu)
    async with staffdesk.db.uow() as uow:
        [tk] = await uow.repos.tickets.of_customer(5701)
        assert tk.status == "assigned" and tk.card_message_id is not None
        card = tk.card_message_id
    [recorded] = [m for m in emu.sent(GROUP) if m["message_id"] == card]
    assert buttons(recorded) and not any(d.startswith("s:claim:") for d in buttons(recorded))
