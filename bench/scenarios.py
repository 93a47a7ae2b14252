"""Scenarios: what one simulated user sends, step by step.

A scenario is a generator function ``scenario(user) -> Generator[Step, list[Event], None]``.
It yields a :class:`Step` (a text, a button press or a shared contact); the driver injects it,
waits until the bot's answer satisfies ``step.expect`` and sends the answer's events back into
the generator, which uses them to choose the next step (e.g. which button to press). When the
generator ends and the user still has updates to send, the driver starts it again, so short
scenarios repeat (a customer filing several complaints).

Events are the emulator's log entries (``bot.emulator.Emulator.log_event``): dicts with
``kind`` ("message", "edit", "delete", "callback_answer"), ``chat_id``, ``message_id``, ``text``,
``reply_markup``, ``at``. Register a new scenario in :data:`SCENARIOS`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

Event = dict[str, Any]
Expect = Callable[[list[Event]], bool]


def one_message(events: list[Event]) -> bool:
    """The bot sent (at least) one new message to the chat."""
    return any(e["kind"] == "message" for e in events)


def messages(n: int) -> Expect:
    """The bot sent at least ``n`` new messages to the chat."""
    return lambda events: sum(e["kind"] == "message" for e in events) >= n


def answered_and_moved_on(events: list[Event]) -> bool:
    """A button press was answered and the bot showed the next step (new message or edit)."""
    kinds = {e["kind"] for e in events}
    return "callback_answer" in kinds and bool(kinds & {"message", "edit"})


@dataclass(frozen=True)
class Step:
    """One thing a user does; ``expect`` says when the bot has answered it.

    ``expect=None`` means the bot is not expected to answer this step (e.g. the customer's
    second message while the bot listens): the user moves on as soon as it is injected and no
    latency is recorded for it.
    """

    text: str | None = None
    press: tuple[int, str] | None = None  # (message_id, callback_data)
    contact: str | None = None  # phone number shared with the "share my number" button
    expect: Expect | None = field(default=one_message, compare=False)

    def item(self, user: SimUserInfo) -> dict[str, Any]:
        """The body item for the emulator's ``/_emu/inject``."""
        base: dict[str, Any] = {"user_id": user.id, "first_name": user.first_name,
                                "language_code": user.language_code}
        if self.text is not None:
            return {**base, "text": self.text}
        if self.press is not None:
            return {**base, "press": {"message_id": self.press[0],
                                      "callback_data": self.press[1]}}
        if self.contact is not None:
            return {**base, "contact": {"phone_number": self.contact}}
        raise ValueError("a Step needs text, press or contact")

    @property
    def kind(self) -> str:
        """"text", "press" or "contact" (for per-kind statistics)."""
        return "text" if self.text is not None else "press" if self.press else "contact"


@dataclass
class SimUserInfo:
    """Who a simulated user is; scenarios may keep their own state in ``state``."""

    id: int
    index: int
    first_name: str
    language_code: str
    rng: random.Random
    state: dict[str, Any] = field(default_factory=dict)


Scenario = Callable[[SimUserInfo], Generator[Step, list[Event], None]]


class ScenarioError(RuntimeError):
    """The bot's answer does not fit the scenario (e.g. an expected button is missing)."""


def buttons(events: list[Event]) -> list[tuple[int, str, str]]:
    """(message_id, callback_data, label) of the inline buttons in the latest keyboard."""
    for e in reversed(events):
        rows = (e.get("reply_markup") or {}).get("inline_keyboard")
        if rows and e.get("message_id") is not None:
            return [(e["message_id"], b["callback_data"], b.get("text", ""))
                    for row in rows for b in row if "callback_data" in b]
    return []


def press(events: list[Event], pick: Callable[[str, str], bool] | None = None,
          expect: Expect = answered_and_moved_on) -> Step:
    """Press the first button of the latest keyboard for which ``pick(data, label)`` holds."""
    for mid, data, label in buttons(events):
        if pick is None or pick(data, label):
            return Step(press=(mid, data), expect=expect)
    raise ScenarioError(f"no matching button in the bot's answer: {buttons(events)}")


TEXTS_ZH = ["楼上漏水,已经三天了", "电梯又坏了", "垃圾没人清理", "停车位被占",
            "噪音太大,晚上睡不着"]
TEXTS_EN = ["The lift is broken again", "Water is leaking from upstairs",
            "Nobody collected the rubbish", "My parking space is taken", "Too much noise at night"]


def start(user: SimUserInfo) -> Generator[Step, list[Event], None]:
    """/start (greeting), then four free texts: the first words start a complaint and the bot
    listens (one reaction once the customer pauses, `[intake] listen_pause`), so the texts
    expect no answer of their own."""
    texts = TEXTS_ZH if user.language_code.startswith("zh") else TEXTS_EN
    yield Step(text="/start")
    for _ in range(4):
        yield Step(text=user.rng.choice(texts), expect=None)


def intake(user: SimUserInfo) -> Generator[Step, list[Event], None]:
    """The full complaint intake of issue 3, to the acknowledgement (the e2e tests' path).

    /start → File a complaint → the story → That's all → Housing (offered first when the story
    points to it, else under "another kind") → Repair → the unit → not about staff → profile
    name → shared contact → not complained before → Confirm. A real customer's path, so its
    updates are "full complaint-flow updates" (DESIGN.md).
    """
    zh = user.language_code.startswith("zh")
    texts = TEXTS_ZH if zh else TEXTS_EN
    answer = yield Step(text="/start")
    listening = yield press(answer, lambda data, label: data == "c:file")
    # The bot listens: it reacts once the customer pauses, not to each message.
    yield Step(text=user.rng.choice(texts), expect=None)
    answer = yield press(listening, lambda data, label: data == "c:done")
    if not any(data == "c:cat:housing" for _, data, _ in buttons(answer)):
        answer = yield press(answer, lambda data, label: data == "c:cats")
    answer = yield press(answer, lambda data, label: data == "c:cat:housing")
    answer = yield press(answer, lambda data, label: data == "c:out:repair")
    answer = yield Step(text=f"{1 + user.id % 30}栋 {1 + user.id % 2000}")  # the unit
    answer = yield press(answer, lambda data, label: data == "c:abt:no")
    answer = yield press(answer, lambda data, label: data == "c:pname")
    # Sharing the number answers twice: the share keyboard is removed, then the next question.
    answer = yield Step(contact=f"+86138{user.id % 100_000_000:08d}", expect=messages(2))
    answer = yield press(answer, lambda data, label: data == "c:prev:no")
    yield press(answer, lambda data, label: data == "c:ok")
    # The acknowledgement (ticket reference, deadlines) is the answer to Confirm.


SCENARIOS: dict[str, Scenario] = {"start": start, "intake": intake}
