"""A complaint about a member of staff, named by the customer at intake, end to end."""

from __future__ import annotations

from typing import Any

from bot.app import App
from bot.emulator import Emulator
from bot.i18n import t
from storage.models import Ticket
from tests.e2e.handoff_helpers import (
    GROUP,
    OTHER,
    STEWARD,
    SUBJECT,
    SUPERVISOR,
    history,
    settle,
    ticket,
    wait_card,
)
from tests.e2e.intake_helpers import (
    Chat,
    assert_no_rejections,
    buttons,
    choose_category,
    plain,
    to_confirm,
)


async def _file_about(desk: App, chat: Chat, named: str) -> Ticket:
    """A housing complaint whose customer says it is about `named`; filed, card posted."""
    await chat.say("/start")
    await chat.press("file")
    await chat.say("管家上门时态度很差,还把门撞坏了")
    await chat.press("done")
    await choose_category(chat, "housing")
    await chat.press("out", "apology")
    [about] = await chat.say("3栋 1201")
    assert about["text"] == t("zh_CN", "intake.about.ask")
    [ask] = await chat.press("abt", "yes")
    assert ask["text"] == plain("zh_CN", "intake.about.ask_text")
    assert {"c:back", "c:cancel"} <= set(buttons(ask))
    [name] = await chat.say(named)
    assert name["text"] == t("zh_CN", "intake.name.ask")
    async with desk.db.uow() as uow:  # saved with the draft, verbatim
        draft = await uow.repos.drafts.get(chat.id)
        assert draft is not None and draft.step == "name"
        assert draft.answers["about"] == "yes" and draft.answers["about_text"] == named
    await chat.press("pname")
    await chat.contact("+8613812345678")
    [summary] = await chat.press("prev", "no")
    assert f"{t('zh_CN', 'field.about')}: {named}" in summary["text"]
    await chat.press("ok")
    async with desk.db.uow() as uow:
        [tk] = await uow.repos.tickets.of_customer(chat.id)
        ref, ticket_id = tk.ref, tk.id
    await wait_card(desk, chat.emu, ref)
    await settle(desk, chat.emu)
    return await ticket(desk, ticket_id)


def _card(emu: Emulator, tk: Ticket) -> dict[str, Any]:
    return next(m for m in emu.sent(GROUP) if m["message_id"] == tk.card_message_id)


async def test_a_named_steward_is_matched_and_routed_past(emu: Emulator, staffdesk: App) -> None:
    chat = Chat(emu, emu.user(5701, first_name="李雷", language_code="zh"))
    tk = await _file_about(staffdesk, chat, "王管家")
    assert tk.about_staff_id == STEWARD and tk.escalation_level == 1
    async with staffdesk.db.uow() as uow:
        filed = (await uow.repos.tickets.history(tk.id))[0]
        assert filed.event == "filed"
        assert filed.details["about_text"] == "王管家"
        assert filed.details["about_staff_id"] == STEWARD
    # The card is in the ticket's topic and says whom it is about.
    card = _card(emu, tk)
    assert card.get("message_thread_id") == tk.topic_id and tk.topic_id
    assert plain("zh_CN", "staff.card.about", name="王管家") in card["text"]
    assert f"tg://user?id={SUPERVISOR}" in str(card)
    assert f"tg://user?id={STEWARD}" not in str(card)
    # The supervisor is told; the steward it is about (and the other stewards) are not.
    assert [m for m in emu.sent(SUPERVISOR) if tk.ref in m["text"]]
    assert not [m for m in emu.sent(STEWARD) if tk.ref in m["text"]]
    assert not [m for m in emu.sent(OTHER) if tk.ref in m["text"]]
    # The steward it is about cannot claim it.
    q = await emu.user(STEWARD).press(tk.card_message_id, f"s:claim:{tk.id}", chat_id=GROUP)
    await settle(staffdesk, emu)
    answer = emu.callback_answers(q)
    assert answer["show_alert"] and answer["text"] == plain("zh_CN", "access.about_you")
    now = await ticket(staffdesk, tk.id)
    assert now.status == "open" and now.assignee_id is None
    async with staffdesk.db.uow() as uow:
        rows = await uow.repos.tickets.history(tk.id)
        assert history(rows)[-1] == "denied" and rows[-1].details["reason"] == "about_you"
    assert_no_rejections(emu)


async def test_an_unmatched_name_is_kept_and_shown_on_the_card(
        emu: Emulator, staffdesk: App) -> None:
    chat = Chat(emu, emu.user(5702, first_name="韩梅梅", language_code="zh"))
    tk = await _file_about(staffdesk, chat, "东门那个戴眼镜的保安")
    assert tk.about_staff_id is None and tk.escalation_level == 0
    async with staffdesk.db.uow() as uow:
        filed = (await uow.repos.tickets.history(tk.id))[0]
        assert filed.details["about_text"] == "东门那个戴眼镜的保安"
        assert filed.details["about_staff_id"] is None
    card = _card(emu, tk)
    assert plain("zh_CN", "staff.card.about_unmatched", text="东门那个戴眼镜的保安") \
        in card["text"]
    # Routed as usual (nobody to route past), so a steward can flag it with the button.
    assert [m for m in emu.sent(STEWARD) if tk.ref in m["text"]]
    labels = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert t("zh_CN", "staff.btn.about") in labels
    await emu.user(SUPERVISOR).press(tk.card_message_id, f"s:about:{tk.id}", chat_id=GROUP)
    await settle(staffdesk, emu)
    [pick] = [m for m in emu.sent(GROUP, message_thread_id=tk.topic_id)
              if "钱管家" in str(m.get("reply_markup"))]
    await emu.user(SUPERVISOR).press(pick["message_id"], f"s:ab:{tk.id}:{SUBJECT}",
                                     chat_id=GROUP)
    await settle(staffdesk, emu)
    assert (await ticket(staffdesk, tk.id)).about_staff_id == SUBJECT
    edited = _card(emu, tk)
    assert plain("zh_CN", "staff.card.about", name="钱管家") in edited["text"]
    assert "东门那个戴眼镜的保安" not in edited["text"].split(t("zh_CN", "staff.card.facts"))[0]
    assert_no_rejections(emu)


async def test_change_a_field_to_about_and_back(emu: Emulator, staffdesk: App) -> None:
    chat = Chat(emu, emu.user(5703, first_name="李雷", language_code="zh"))
    [summary] = await to_confirm(chat)
    assert f"{t('zh_CN', 'field.about')}: {t('zh_CN', 'intake.about.answer_no')}" \
        in summary["text"]
    [which] = await chat.press("chg")
    assert "c:f:about" in buttons(which)
    [ask] = await chat.press("f", "about")
    assert ask["text"] == t("zh_CN", "intake.about.ask")
    # Back while changing it: the summary, unchanged.
    [summary] = await chat.press("back")
    assert t("zh_CN", "intake.about.answer_no") in summary["text"]
    await chat.press("chg")
    await chat.press("f", "about")
    [typed] = await chat.press("abt", "yes")
    assert typed["text"] == plain("zh_CN", "intake.about.ask_text")
    [summary] = await chat.say("赵管家")
    assert f"{t('zh_CN', 'field.about')}: 赵管家" in summary["text"]
    # Changed back to "No": the name is forgotten.
    await chat.press("chg")
    await chat.press("f", "about")
    [summary] = await chat.press("abt", "no")
    assert "赵管家" not in summary["text"]
    async with staffdesk.db.uow() as uow:
        draft = await uow.repos.drafts.get(chat.id)
        assert draft is not None and "about_text" not in draft.answers
    # And once more to a name, then filed: matched on the roster.
    await chat.press("chg")
    await chat.press("f", "about")
    await chat.press("abt", "yes")
    await chat.say("赵管家")
    await chat.press("ok")
    async with staffdesk.db.uow() as uow:
        [tk] = await uow.repos.tickets.of_customer(chat.id)
        assert tk.about_staff_id == OTHER
    assert_no_rejections(emu)


async def test_back_from_the_about_steps(emu: Emulator, staffdesk: App) -> None:
    chat = Chat(emu, emu.user(5704, first_name="Lei", language_code="en"))
    await chat.say("/start")
    await chat.press("file")
    await chat.say("The guard was rude")
    await chat.press("done")
    await chat.press("cat", "other")
    [about] = await chat.press("out", "apology")
    assert about["text"] == t("en", "intake.about.ask")
    [typed] = await chat.press("abt", "yes")
    [back] = await chat.press("back")
    assert back["text"] == t("en", "intake.about.ask")
    [outcome] = await chat.press("back")
    assert outcome["text"] == t("en", "intake.outcome.ask")
    async with staffdesk.db.uow() as uow:
        draft = await uow.repos.drafts.get(chat.id)
        assert draft is not None and draft.step == "outcome"
        assert "about" not in draft.answers
    assert typed["text"] == plain("en", "intake.about.ask_text")
