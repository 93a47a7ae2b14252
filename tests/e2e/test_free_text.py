"""Property-based: whatever a customer types is stored verbatim and rendered escaped.

RTL and zero-width characters, NUL, 10,000 characters, HTML and SQL fragments, emoji at the
4096 boundary: the emulator (strict about HTML and length) must never answer 400.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.emulator import Emulator
from bot.i18n import t
from handlers.split import utf16_len
from tests.conftest import make_config
from tests.e2e.intake_helpers import Chat, buttons, choose_category

FRAGMENTS = st.sampled_from([
    "<b>", "</i>", "<a href='x'>", "&amp;", "&", "&#0;", "<script>alert(1)</script>",
    "'; DROP TABLE tickets; --", "\" OR 1=1 --", "\u202e", "\u200f", "\u200b", "\u200d",
    "\ufeff", "\x00", "\x1b[31m", "مرحبا بالعالم", "שלום", "😀", "👨‍👩‍👧", "{facts}", "{0}",
    "%s", "\\", "\n", "\t", "c:ok", "你好", "\u3000",
])
TEXTS = st.one_of(
    st.lists(st.one_of(FRAGMENTS, st.text(max_size=12)), min_size=1, max_size=25).map("".join),
    # Emoji straddling Telegram's 4096 limit (a surrogate pair in UTF-16).
    st.builds(lambda n, e: "a" * n + e, st.integers(4088, 4096),
              st.sampled_from(["😀", "👨‍👩‍👧", "é", "\u200b"])),
    st.builds(lambda c, n: c * n, st.sampled_from(["长", "x", "😀", "ت"]),
              st.integers(9_990, 10_000)),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ids = itertools.count(6000)


def _usable(text: str) -> bool:
    # Commands and blank messages take other paths (tested elsewhere).
    return bool(text.strip()) and not text.startswith("/")


def _shown(text: str) -> str:
    """How customer text appears in a bubble: control characters replaced, nothing else."""
    return _CONTROL.sub("\ufffd", text)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=TEXTS)
async def test_free_text_is_stored_verbatim_and_rendered_escaped(
        emu: Emulator, db_url: str, desk_factory: Any, text: str) -> None:
    if not _usable(text):
        return
    if not hasattr(desk_factory, "app"):
        cfg = make_config(db_url, emu.base_url, intake={"max_facts_length": 100_000})
        desk_factory.app = await desk_factory(cfg)
    app = desk_factory.app
    uid = next(_ids)
    chat = Chat(emu, emu.user(uid, first_name=text[:64], language_code="en"))
    calls_before = len(emu.calls)
    abusive = app.deps.desk.abuse.is_abusive(text)
    await chat.say("/start")
    await chat.press("file")
    await chat.say(text, count=2 if abusive else 1)
    async with app.db.uow() as uow:
        draft = await uow.repos.drafts.get(uid)
        assert draft.answers["facts"][0]["text"] == text
    await chat.press("done")
    await choose_category(chat, "other")
    await chat.press("out", "other")
    short = text[:400]
    if short.strip() and not abusive:
        await chat.say(short)
    else:
        await chat.say("a refund")
    await chat.press("abt", "no")
    await chat.say("Ann")
    await chat.say("13812345678", count=2)
    # The read-back holds the whole story, in as many messages as it needs, buttons on the last.
    before = len(chat.messages())
    await chat.user.press(chat.last_with_buttons()["message_id"], "c:prev:no")
    await emu.wait_for_sent(uid, predicate=lambda m: "c:ok" in buttons(m))
    summary = chat.messages()[before:]
    assert all(utf16_len(m["text"]) <= 4096 for m in summary)
    assert _shown(text).strip() in "".join(m["text"] for m in summary)
    [ack] = await chat.press("ok")
    async with app.db.uow() as uow:
        [ticket] = await uow.repos.tickets.of_customer(uid)
        assert ticket.facts == text
        assert [m.text for m in await uow.repos.tickets.messages(ticket.id)] == [text]
        ref, tid = ticket.ref, ticket.id
    before = len(chat.messages())
    await chat.user.send_text(f"/ticket {ref}")
    await emu.wait_for_sent(uid, predicate=lambda m: f"c:u:{tid}" in buttons(m))
    detail = chat.messages()[before:]
    assert all(utf16_len(m["text"]) <= 4096 for m in detail)
    assert _shown(text).strip() in "".join(m["text"] for m in detail)
    rejected = [(c.method, c.description) for c in emu.calls[calls_before:] if c.status != 200]
    assert not rejected, rejected
    assert t("en", "ack.text", ref="R", category="C", first_response="F", reply="X")[:10] \
        in ack["text"]
